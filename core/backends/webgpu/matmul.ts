/**
 * Contractions on WebGPU: register-tiled, workgroup-tiled WGSL with the epilogue fused.
 *
 * The scheduler has no matmul primitive: a contraction arrives as a sum-reduction whose value
 * is `load(X) * load(Y)` with affine indices (see `cpu/matmul.ts`, which recognizes the same
 * shape). Here each workgroup of 8×8 invocations computes a 32×32 output tile, each invocation
 * a 4×4 block held in 16 registers; per step of 16 along the reduction, the workgroup stages a
 * 32×16 slice of X and a 16×32 slice of Y in workgroup memory (each element read from global
 * memory once per tile). The fused epilogue (bias, activation, …) is a WGSL function applied
 * to each accumulated value. Batch axes map to the third dispatch dimension. On software
 * adapters the staging is skipped (see `renderContraction`).
 *
 * Contractions in general form (a convolution: several axes per operand group, operands that
 * are expressions such as a padded window) use the same tiles: each operand becomes a WGSL
 * function of the batch indices, its row (or column) and its reduction index, which decodes
 * them into the axes and evaluates the operand — an implicit GEMM, no im2col buffer.
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import {
  type Access,
  findContraction,
  findGeneralContraction,
  type GeneralContraction,
} from "../contraction.ts";
import { contiguousStrides } from "../../shape.ts";
import { assemble, WgslEmitter, type WgslKernel } from "./wgsl.ts";

const TILE = 32, BK = 16, T = 4, THREADS = (TILE / T) * (TILE / T);

/** How the tiled body reads operands and hands results to the epilogue. */
interface Tiling {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly batch: readonly Instr[];
  /** Batch-dependent setup lines (after the batch indices are decoded). */
  readonly setup: string[];
  /** WGSL reading X at row `m`, reduction index `k` (in range), and Y at column `n`. */
  readX(m: string, k: string): string;
  readY(n: string, k: string): string;
  /** Whether consecutive `k` are adjacent in memory (staging then walks `k` fastest). */
  readonly xkFast: boolean;
  readonly ykFast: boolean;
  /** Arguments of `epi` for output row `m`, column `n` (the accumulator follows). */
  epiArgs(m: string, n: string): string[];
}

/**
 * Renders a tiled contraction kernel, or undefined when `ir` is not a (large enough) one. With
 * `staged` (hardware GPUs) each K step of 16 goes through workgroup memory; without (software
 * adapters, where a workgroup barrier is expensive: 4-5× faster on llvmpipe) each invocation
 * reads its 4 rows and 4 columns straight from global memory.
 */
export function renderContraction(ir: KernelIR, staged = true): WgslKernel | undefined {
  const e = new WgslEmitter(ir);
  const accept = (d: string) => d === "float32" || d === "float16";
  const c = findContraction(ir, e.live, accept);
  const g = findGeneralContraction(ir, e.live, accept);
  const simple = c && g && g.I.length <= 1 && g.J.length <= 1 && g.R.length === 1;
  if (simple || (c && !g)) return renderSimple(ir, e, c!, staged);
  if (g) return renderGeneral(ir, e, g, staged);
  return undefined;
}

const name = (x: Instr) => `v${x.id}`;

/** The epilogue function: output-scope work with the reduction's result bound to `acc`. */
function epilogue(ir: KernelIR, e: WgslEmitter, L: Instr, params: string[], pre: string[]) {
  // float16 products accumulate in float32 (as PyTorch's), rounded once.
  e.alias.set(L, L.dtype === "float16" ? "k_f16r(acc)" : "acc");
  e.lines.push(`fn epi(${[...params, "acc: f32"].join(", ")}) {`, ...pre);
  for (const sc of ir.out.scopes) {
    e.emitScope(sc, "  ", (l) => {
      if (l.result !== L) throw new Error("internal: contraction epilogue with a loop");
    });
  }
  const st = contiguousStrides(ir.outShape);
  const flat = ir.out.vars.map((x, k) => x.op === "var" ? `${st[k]} * ${name(x)}` : "")
    .filter((s) => s).join(" + ") || "0";
  e.lines.push(`  dst[${flat}] = ${e.store(e.name(ir.value))};`, "}");
  return e.lines.splice(0);
}

/** A matmul-shaped contraction: one axis per group, plain strided loads. */
function renderSimple(
  ir: KernelIR,
  e: WgslEmitter,
  c: NonNullable<ReturnType<typeof findContraction>>,
  staged: boolean,
): WgslKernel | undefined {
  const { L, X, Y, i, j, r, batch, M, N, K } = c;
  // Small outputs (matrix-vector, dot products) are better served by the reduction kernels.
  if (M < 8 || N < 8) return undefined;
  const cf = (a: Access, x: Instr | undefined) => (x ? a.coef.get(x) ?? 0 : 0);
  const epi = epilogue(
    ir,
    e,
    L.result!,
    [...batch, ...(i ? [i] : []), j].map((x) => `${name(x)}: i32`),
    [],
  );
  const base = (a: Access) =>
    [String(a.c), ...batch.map((x) => `${cf(a, x)} * ${name(x)}`)].join(" + ");
  return tiled(ir, e, epi, staged, {
    M,
    N,
    K,
    batch,
    setup: [`let xBase = ${base(X)};`, `let yBase = ${base(Y)};`],
    readX: (m, k) =>
      e.load(X.load.arg as number, `xBase + ${m} * ${cf(X, i)} + ${k} * ${cf(X, r)}`),
    readY: (n, k) =>
      e.load(Y.load.arg as number, `yBase + ${n} * ${cf(Y, j)} + ${k} * ${cf(Y, r)}`),
    xkFast: cf(X, r) === 1,
    ykFast: cf(Y, r) === 1,
    epiArgs: (m, n) => [...batch.map(name), ...(i ? [m] : []), n],
  });
}

/** Decodes a row-major flat index `f` over `vars` into `let` statements. */
function decode(vars: readonly Instr[], size: ReadonlyMap<Instr, number>, f: string): string[] {
  const out: string[] = [];
  let stride = vars.reduce((p, x) => p * size.get(x)!, 1);
  for (const x of vars) {
    stride /= size.get(x)!;
    out.push(`  let ${name(x)} = (${f} / ${stride}) % ${size.get(x)};`);
  }
  return out;
}

/** Whether the operand's first load moves by one element along the last of `vars`. */
function unitAlong(chain: readonly Instr[], vars: readonly Instr[]): boolean {
  const ld = chain.find((x) => x.op === "load");
  const last = vars[vars.length - 1];
  if (!ld || !last) return false;
  // A mask or clamp hides the affine index; look through min/max to the underlying terms.
  let idx = ld.args[0];
  while (idx.op === "minimum" || idx.op === "maximum") idx = idx.args[0];
  const seen = new Set<Instr>();
  const walk = (x: Instr): number | undefined => {
    if (x === last) return 1;
    if (seen.has(x)) return undefined;
    seen.add(x);
    if (x.op === "add") return walk(x.args[0]) ?? walk(x.args[1]);
    if (x.op === "minimum" || x.op === "maximum") return walk(x.args[0]);
    if (x.op === "mul" && x.args[1].op === "const") {
      const w = walk(x.args[0]);
      return w === undefined ? undefined : w * (x.args[1].arg as number);
    }
    return undefined;
  };
  return walk(idx) === 1;
}

/** A contraction in general form: operands as functions of (batch, row/column, k). */
function renderGeneral(
  ir: KernelIR,
  e: WgslEmitter,
  g: GeneralContraction,
  staged: boolean,
): WgslKernel | undefined {
  const { L, batch, I, J, R, M, N, K, size } = g;
  if (M < 8 || N < 8) return undefined;
  // The epilogue below is emitted from the output scopes only: no work hoisted to the root.
  const rootWork = ir.root.items.some((it) =>
    it !== ir.out && e.live.has(it) && !("kind" in it) && it.op !== "const"
  );
  if (rootWork) return undefined;
  const bParams = batch.map((x) => `${name(x)}: i32`);
  const operand = (fn: string, own: readonly Instr[], chain: readonly Instr[], v: Instr) => [
    `fn ${fn}(${[...bParams, "m: i32", "k: i32"].join(", ")}) -> f32 {`,
    ...decode(own, size, "m"),
    ...decode(R, size, "k"),
    ...chain.map((x) => `  ${e.statement(x)}`),
    `  return ${e.name(v)};`,
    "}",
  ];
  const ops = [
    ...operand("opX", I, g.xChain, g.x),
    ...operand("opY", J, g.yChain, g.y),
  ];
  const epi = epilogue(ir, e, L.result!, [...bParams, "m: i32", "n: i32"], [
    ...decode(I, size, "m"),
    ...decode(J, size, "n"),
  ]);
  const bargs = batch.map(name);
  return tiled(ir, e, [...ops, ...epi], staged, {
    M,
    N,
    K,
    batch,
    setup: [],
    readX: (m, k) => `opX(${[...bargs, m, k].join(", ")})`,
    readY: (n, k) => `opY(${[...bargs, n, k].join(", ")})`,
    xkFast: !unitAlong(g.xChain, I) && unitAlong(g.xChain, R),
    ykFast: !unitAlong(g.yChain, J) && unitAlong(g.yChain, R),
    epiArgs: (m, n) => [...bargs, m, n],
  });
}

/** The tiled kernel body shared by both forms. */
function tiled(
  ir: KernelIR,
  e: WgslEmitter,
  fns: string[],
  staged: boolean,
  t: Tiling,
): WgslKernel | undefined {
  const { M, N, K, batch } = t;
  const size = (x: Instr) => ir.out.sizes[ir.out.vars.indexOf(x)];
  const nBatch = batch.reduce((a, b) => a * size(b), 1);
  if (nBatch > 65535) return undefined;
  const decls = [
    ...(staged
      ? [
        `var<workgroup> xs: array<f32, ${BK * TILE}>;`,
        `var<workgroup> ys: array<f32, ${BK * TILE}>;`,
      ]
      : []),
    ...fns,
  ].join("\n");
  const b: string[] = [];
  const pad = "  ";
  b.push(
    `${pad}let tx = i32(lid % ${TILE / T}u);`,
    `${pad}let ty = i32(lid / ${TILE / T}u);`,
    `${pad}let n0 = i32(wid.x) * ${TILE};`,
    `${pad}let m0 = i32(wid.y) * ${TILE};`,
    `${pad}let bz = i32(wid.z);`,
  );
  let stride = nBatch;
  for (const x of batch) {
    stride /= size(x);
    b.push(`${pad}let ${name(x)} = (bz / ${stride}) % ${size(x)};`);
  }
  for (const line of t.setup) b.push(`${pad}${line}`);
  const accs: string[] = [];
  for (let a = 0; a < T; a++) for (let q = 0; q < T; q++) accs.push(`a${a}${q}`);
  for (const a of accs) b.push(`${pad}var ${a}: f32 = 0.0f;`);
  const fma = (p: string) => {
    for (let a = 0; a < T; a++) {
      b.push(
        `${p}${
          [...Array(T).keys()].map((q) => `a${a}${q} = a${a}${q} + x${a} * y${q};`).join(" ")
        }`,
      );
    }
  };
  if (staged) {
    // Staging: consecutive invocations read consecutive addresses where the layout allows.
    const stage = (
      arr: string,
      kFast: boolean,
      limit: number,
      o0: string,
      read: typeof t.readX,
    ) => {
      const kk = kFast ? `t % ${BK}` : `t / ${TILE}`;
      const oo = kFast ? `t / ${BK}` : `t % ${TILE}`;
      return [
        `${pad}  for (var t: i32 = i32(lid); t < ${BK * TILE}; t += ${THREADS}) {`,
        `${pad}    let kk = ${kk};`,
        `${pad}    let oo = ${oo};`,
        `${pad}    let go = ${o0} + oo;`,
        `${pad}    let gk = k0 + kk;`,
        `${pad}    var v = 0.0f;`,
        `${pad}    if (go < ${limit} && gk < ${K}) { v = ${read("go", "gk")}; }`,
        `${pad}    ${arr}[kk * ${TILE} + oo] = v;`,
        `${pad}  }`,
      ];
    };
    b.push(
      `${pad}for (var k0: i32 = 0; k0 < ${K}; k0 += ${BK}) {`,
      ...stage("xs", t.xkFast, M, "m0", t.readX),
      ...stage("ys", t.ykFast, N, "n0", t.readY),
      `${pad}  workgroupBarrier();`,
      `${pad}  for (var kk: i32 = 0; kk < ${BK}; kk++) {`,
    );
    for (let a = 0; a < T; a++) {
      b.push(`${pad}    let x${a} = xs[kk * ${TILE} + ty * ${T} + ${a}];`);
    }
    for (let q = 0; q < T; q++) {
      b.push(`${pad}    let y${q} = ys[kk * ${TILE} + tx * ${T} + ${q}];`);
    }
    fma(`${pad}    `);
    b.push(`${pad}  }`, `${pad}  workgroupBarrier();`, `${pad}}`);
  } else {
    // Register tiling straight from global memory (rows/columns past the edge are clamped: their
    // results are never stored).
    for (let a = 0; a < T; a++) b.push(`${pad}let xr${a} = min(m0 + ty * ${T} + ${a}, ${M - 1});`);
    for (let q = 0; q < T; q++) b.push(`${pad}let yc${q} = min(n0 + tx * ${T} + ${q}, ${N - 1});`);
    b.push(`${pad}for (var kk: i32 = 0; kk < ${K}; kk++) {`);
    for (let a = 0; a < T; a++) b.push(`${pad}  let x${a} = ${t.readX(`xr${a}`, "kk")};`);
    for (let q = 0; q < T; q++) b.push(`${pad}  let y${q} = ${t.readY(`yc${q}`, "kk")};`);
    fma(`${pad}  `);
    b.push(`${pad}}`);
  }
  for (let a = 0; a < T; a++) {
    for (let q = 0; q < T; q++) {
      const m = `m0 + ty * ${T} + ${a}`, n = `n0 + tx * ${T} + ${q}`;
      const args = [...t.epiArgs(m, n), `a${a}${q}`].join(", ");
      b.push(`${pad}if (${m} < ${M} && ${n} < ${N}) { epi(${args}); }`);
    }
  }
  const dispatch: [number, number, number] = [Math.ceil(N / TILE), Math.ceil(M / TILE), nBatch];
  return { source: assemble(e, decls, THREADS, b), dispatch };
}
