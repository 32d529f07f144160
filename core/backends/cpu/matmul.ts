/**
 * Contraction fast path for the JS backend.
 *
 * The scheduler has no matmul primitive: a contraction reaches the backend as a sum-reduction
 * whose per-iteration value is `load(X) * load(Y)` with affine indices. This file recognizes
 * that shape in the kernel IR and emits a register-blocked loop nest instead of the generic
 * one: 4×4 output tiles accumulated in 16 locals over the whole reduction (each X and Y
 * element loaded once per tile), edges in 4×1 / 1×4 / 1×1 tiles, and the fused elementwise
 * epilogue (bias, activation, …) emitted once as a local function applied per element.
 *
 * Large float32 contractions instead call the WebAssembly SIMD kernel (`wasm/sgemm.ts`) once
 * per batch index and apply the same epilogue to its results. That kernel accumulates in
 * float32, as PyTorch and numpy do; the JS tiles accumulate in float64 and round once.
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import { roundSource } from "../../dtype.ts";
import { type Access, findContraction, findGeneralContraction } from "../contraction.ts";
import { renderPacked } from "./packed.ts";
import { contiguousStrides } from "../../shape.ts";
import { JsEmitter, type KernelSource } from "./codegen.ts";
import { sgemmAvailable, sgemmFits } from "./wasm/sgemm.ts";

/**
 * Contractions with at least this many multiply-adds per batch index (M·N·K) use the wasm
 * kernel where it is available. Measured kernel alone (2-vCPU AMD EPYC): the wasm call costs
 * ~0.3 µs fixed, so the JS tiles win below ~100-250 multiply-adds and lose 2-5× from ~1000 up;
 * below 16³ either takes under ~3 µs, lost in the per-kernel overhead, so small products keep
 * the JS tiles and their float64 accumulation.
 */
export const WASM_MIN_WORK = 4096;

let wasmEnabled = true;

/**
 * Turns the WebAssembly contraction kernel on or off for kernels compiled from now on (the
 * benchmarks compare it with the JS tiles in one run); returns the previous setting.
 */
export function setWasmContractions(enabled: boolean): boolean {
  const was = wasmEnabled;
  wasmEnabled = enabled;
  return was;
}

/** Renders a blocked contraction kernel, or undefined when `ir` is not one. */
export function renderContraction(ir: KernelIR): KernelSource | undefined {
  const e = new JsEmitter(ir);
  // The epilogue is compiled once, apart from the launch, so the root may hold no computed
  // values (constants are inlined): findContraction refuses kernels with root work.
  const g = findGeneralContraction(ir, e.live, (d) => d === "float32");
  const c = findContraction(ir, e.live, (d) => d !== "int32");
  // Several axes per operand group (a convolution: channels × taps) or operands that are not
  // plain strided loads (a padded window) go through packed panels when the wasm kernel runs.
  const general = g && (g.I.length > 1 || g.J.length > 1 || g.R.length > 1 || !c);
  if (
    general && wasmEnabled &&
    g.M * g.N * g.K >= WASM_MIN_WORK && sgemmFits(g.M, g.N, g.K) && sgemmAvailable()
  ) {
    return renderPacked(ir, e, g);
  }
  if (!c) return undefined;
  const { L, X, Y, i, j, r, batch, M, N, K } = c;
  const cf = (a: Access, x: Instr | undefined) => (x ? a.coef.get(x) ?? 0 : 0);
  const size = (x: Instr) => ir.out.sizes[ir.out.vars.indexOf(x)];
  const name = (x: Instr) => `v${x.id}`;
  const lin = (a: Access, extra: string) => {
    const parts = [String(a.c), ...batch.map((b) => `${cf(a, b)}*${name(b)}`), extra];
    return parts.filter((p) => p !== "").join(" + ");
  };

  // Epilogue as a function of the inputs, output indices and the accumulated value; built once
  // per compiled kernel so its call site stays monomorphic (V8 inlines it into the tiles).
  const out = ir.out;
  const outStrides = contiguousStrides(ir.outShape);
  e.alias.set(L.result!, "acc");
  const inNames = ir.inputs.map((_, k) => `in${k}`);
  const params = ["out", ...inNames, ...[...batch, ...(i ? [i] : []), j].map(name)].join(", ");
  e.lines.push(`const epi = (${params}, acc) => {`);
  for (const sc of out.scopes) e.emitScope(sc, "  ", () => {});
  const flat = out.vars.map((x, k) => x.op === "var" ? `${outStrides[k]}*${name(x)}` : "0").join(
    " + ",
  );
  e.lines.push(`  out[${flat}] = ${e.name(ir.value)};`, "};");
  const pre = e.lines.splice(0).join("\n");
  const fixed = ["out", ...inNames].join(", ");

  const xs = `in${X.load.arg}`, ys = `in${Y.load.arg}`;
  const cxi = cf(X, i), cxr = cf(X, r), cyj = cf(Y, j), cyr = cf(Y, r);
  const tile = (R: number, C: number, pad: string): string[] => {
    const L2: string[] = [];
    const acc = (a: number, b: number) => `a${a}${b}`;
    const accs: string[] = [];
    for (let a = 0; a < R; a++) for (let b = 0; b < C; b++) accs.push(`${acc(a, b)} = 0`);
    L2.push(`${pad}let ${accs.join(", ")};`);
    L2.push(`${pad}for (let k = 0; k < ${K}; k++) {`);
    L2.push(`${pad}  const xb = xBase + k * ${cxr}, yb = yBase + k * ${cyr};`);
    for (let a = 0; a < R; a++) L2.push(`${pad}  const x${a} = ${xs}[xb + ${a * cxi}];`);
    for (let b = 0; b < C; b++) L2.push(`${pad}  const y${b} = ${ys}[yb + ${b * cyj}];`);
    for (let a = 0; a < R; a++) {
      L2.push(
        `${pad}  ${[...Array(C).keys()].map((b) => `${acc(a, b)} += x${a} * y${b};`).join(" ")}`,
      );
    }
    L2.push(`${pad}}`);
    const bargs = batch.map(name).join(", ");
    for (let a = 0; a < R; a++) {
      for (let b = 0; b < C; b++) {
        const idx = [fixed, ...(bargs ? [bargs] : []), ...(i ? [`i0 + ${a}`] : []), `j0 + ${b}`]
          .join(
            ", ",
          );
        L2.push(`${pad}epi(${idx}, ${roundSource(L.result!.dtype, acc(a, b))});`);
      }
    }
    return L2;
  };
  const cols = (R: number, pad: string): string[] => [
    `${pad}let j0 = 0;`,
    `${pad}for (; j0 + 4 <= ${N}; j0 += 4) {`,
    `${pad}  const yBase = ${lin(Y, `j0 * ${cyj}`)};`,
    ...tile(R, 4, pad + "  "),
    `${pad}}`,
    `${pad}for (; j0 < ${N}; j0++) {`,
    `${pad}  const yBase = ${lin(Y, `j0 * ${cyj}`)};`,
    ...tile(R, 1, pad + "  "),
    `${pad}}`,
  ];
  const f32 = (a: Access) => a.load.dtype === "float32";
  const wasm = wasmEnabled && f32(X) && f32(Y) && L.result!.dtype === "float32" &&
    M * N * K >= WASM_MIN_WORK && sgemmFits(M, N, K) && sgemmAvailable();
  let pad = "";
  for (const b of batch) {
    e.lines.push(`${pad}for (let ${name(b)} = 0; ${name(b)} < ${size(b)}; ${name(b)}++) {`);
    pad += "  ";
  }
  if (wasm) {
    // C for this batch index: row-major M×N, a view into wasm memory; then the epilogue.
    const args = [M, N, K, xs, lin(X, ""), cxi, cxr, ys, lin(Y, ""), cyj, cyr].join(", ");
    const bargs = batch.map(name).join(", ");
    const idx = [fixed, ...(bargs ? [bargs] : []), ...(i ? ["i0"] : []), "j0"].join(", ");
    e.lines.push(
      `${pad}const C = H.sgemm(${args});`,
      `${pad}for (let i0 = 0, p = 0; i0 < ${M}; i0++) {`,
      `${pad}  for (let j0 = 0; j0 < ${N}; j0++) epi(${idx}, C[p++]);`,
      `${pad}}`,
    );
  } else {
    e.lines.push(
      `${pad}let i0 = 0;`,
      `${pad}for (; i0 + 4 <= ${M}; i0 += 4) {`,
      `${pad}  const xBase = ${lin(X, `i0 * ${cxi}`)};`,
      ...cols(4, pad + "  "),
      `${pad}}`,
      `${pad}for (; i0 < ${M}; i0++) {`,
      `${pad}  const xBase = ${lin(X, `i0 * ${cxi}`)};`,
      ...cols(1, pad + "  "),
      `${pad}}`,
    );
  }
  for (let k = 0; k < batch.length; k++) {
    pad = pad.slice(2);
    e.lines.push(`${pad}}`);
  }
  return { pre, body: e.lines.join("\n") };
}
