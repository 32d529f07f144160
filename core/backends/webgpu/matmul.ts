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
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import { type Access, findContraction } from "../contraction.ts";
import { contiguousStrides } from "../../shape.ts";
import { assemble, WgslEmitter, type WgslKernel } from "./wgsl.ts";

const TILE = 32, BK = 16, T = 4, THREADS = (TILE / T) * (TILE / T);

/**
 * Renders a tiled contraction kernel, or undefined when `ir` is not a (large enough) one. With
 * `staged` (hardware GPUs) each K step of 16 goes through workgroup memory; without (software
 * adapters, where a workgroup barrier is expensive: 4-5× faster on llvmpipe) each invocation
 * reads its 4 rows and 4 columns straight from global memory.
 */
export function renderContraction(ir: KernelIR, staged = true): WgslKernel | undefined {
  const e = new WgslEmitter(ir);
  const c = findContraction(ir, e.live, (d) => d === "float32" || d === "float16");
  if (!c) return undefined;
  const { L, X, Y, i, j, r, batch, M, N, K } = c;
  // Small outputs (matrix-vector, dot products) are better served by the reduction kernels.
  if (M < 8 || N < 8) return undefined;
  const size = (x: Instr) => ir.out.sizes[ir.out.vars.indexOf(x)];
  const nBatch = batch.reduce((a, b) => a * size(b), 1);
  if (nBatch > 65535) return undefined;
  const cf = (a: Access, x: Instr | undefined) => (x ? a.coef.get(x) ?? 0 : 0);
  const name = (x: Instr) => `v${x.id}`;

  // The epilogue: output-scope work with the reduction's result bound to `acc`.
  // float16 products accumulate in float32 (as PyTorch's), rounded once.
  e.alias.set(L.result!, L.result!.dtype === "float16" ? "k_f16r(acc)" : "acc");
  const params = [...batch, ...(i ? [i] : []), j].map((x) => `${name(x)}: i32`);
  e.lines.push(`fn epi(${[...params, "acc: f32"].join(", ")}) {`);
  for (const sc of ir.out.scopes) {
    e.emitScope(sc, "  ", (l) => {
      if (l !== L) throw new Error("internal: contraction epilogue with a loop");
    });
  }
  const st = contiguousStrides(ir.outShape);
  const flat = ir.out.vars.map((x, k) => x.op === "var" ? `${st[k]} * ${name(x)}` : "")
    .filter((s) => s).join(" + ") || "0";
  e.lines.push(`  dst[${flat}] = ${e.store(e.name(ir.value))};`, "}");
  const epi = e.lines.splice(0);

  const decls = [
    ...(staged
      ? [
        `var<workgroup> xs: array<f32, ${BK * TILE}>;`,
        `var<workgroup> ys: array<f32, ${BK * TILE}>;`,
      ]
      : []),
    ...epi,
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
  const base = (a: Access) =>
    [String(a.c), ...batch.map((x) => `${cf(a, x)} * ${name(x)}`)].join(" + ");
  b.push(`${pad}let xBase = ${base(X)};`, `${pad}let yBase = ${base(Y)};`);
  const accs: string[] = [];
  for (let a = 0; a < T; a++) for (let q = 0; q < T; q++) accs.push(`a${a}${q}`);
  for (const a of accs) b.push(`${pad}var ${a}: f32 = 0.0f;`);
  if (staged) {
    // Staging: consecutive invocations read consecutive addresses where the layout allows.
    const stage = (
      arr: string,
      acc: Access,
      outer: Instr | undefined,
      limit: number,
      o0: string,
    ) => {
      const co = cf(acc, outer), cr = cf(acc, r);
      const kFast = cr === 1;
      const kk = kFast ? `t % ${BK}` : `t / ${TILE}`;
      const oo = kFast ? `t / ${BK}` : `t % ${TILE}`;
      return [
        `${pad}  for (var t: i32 = i32(lid); t < ${BK * TILE}; t += ${THREADS}) {`,
        `${pad}    let kk = ${kk};`,
        `${pad}    let oo = ${oo};`,
        `${pad}    let go = ${o0} + oo;`,
        `${pad}    let gk = k0 + kk;`,
        `${pad}    var v = 0.0f;`,
        `${pad}    if (go < ${limit} && gk < ${K}) { v = ${
          e.load(
            acc.load.arg as number,
            `${acc === X ? "xBase" : "yBase"} + go * ${co} + gk * ${cr}`,
          )
        }; }`,
        `${pad}    ${arr}[kk * ${TILE} + oo] = v;`,
        `${pad}  }`,
      ];
    };
    b.push(
      `${pad}for (var k0: i32 = 0; k0 < ${K}; k0 += ${BK}) {`,
      ...stage("xs", X, i, M, "m0"),
      ...stage("ys", Y, j, N, "n0"),
      `${pad}  workgroupBarrier();`,
      `${pad}  for (var kk: i32 = 0; kk < ${BK}; kk++) {`,
    );
    for (let a = 0; a < T; a++) {
      b.push(`${pad}    let x${a} = xs[kk * ${TILE} + ty * ${T} + ${a}];`);
    }
    for (let q = 0; q < T; q++) {
      b.push(`${pad}    let y${q} = ys[kk * ${TILE} + tx * ${T} + ${q}];`);
    }
    for (let a = 0; a < T; a++) {
      b.push(
        `${pad}    ${
          [...Array(T).keys()].map((q) => `a${a}${q} = a${a}${q} + x${a} * y${q};`).join(" ")
        }`,
      );
    }
    b.push(`${pad}  }`, `${pad}  workgroupBarrier();`, `${pad}}`);
  } else {
    // Register tiling straight from global memory (rows/columns past the edge are clamped: their
    // results are never stored).
    for (let a = 0; a < T; a++) {
      b.push(`${pad}let xr${a} = xBase + min(m0 + ty * ${T} + ${a}, ${M - 1}) * ${cf(X, i)};`);
    }
    for (let q = 0; q < T; q++) {
      b.push(`${pad}let yc${q} = yBase + min(n0 + tx * ${T} + ${q}, ${N - 1}) * ${cf(Y, j)};`);
    }
    b.push(`${pad}for (var kk: i32 = 0; kk < ${K}; kk++) {`);
    for (let a = 0; a < T; a++) {
      b.push(`${pad}  let x${a} = ${e.load(X.load.arg as number, `xr${a} + kk * ${cf(X, r)}`)};`);
    }
    for (let q = 0; q < T; q++) {
      b.push(`${pad}  let y${q} = ${e.load(Y.load.arg as number, `yc${q} + kk * ${cf(Y, r)}`)};`);
    }
    for (let a = 0; a < T; a++) {
      b.push(
        `${pad}  ${
          [...Array(T).keys()].map((q) => `a${a}${q} = a${a}${q} + x${a} * y${q};`).join(" ")
        }`,
      );
    }
    b.push(`${pad}}`);
  }
  const bargs = batch.map(name);
  for (let a = 0; a < T; a++) {
    for (let q = 0; q < T; q++) {
      const m = `m0 + ty * ${T} + ${a}`, n = `n0 + tx * ${T} + ${q}`;
      const args = [...bargs, ...(i ? [m] : []), n, `a${a}${q}`].join(", ");
      b.push(`${pad}if (${m} < ${M} && ${n} < ${N}) { epi(${args}); }`);
    }
  }
  const dispatch: [number, number, number] = [
    Math.ceil(N / TILE),
    Math.ceil(M / TILE),
    nBatch,
  ];
  return { source: assemble(e, decls, THREADS, b), dispatch };
}
