/**
 * General float32 contractions on the CPU: operands packed into panels, then the WebAssembly
 * SIMD matrix product.
 *
 * A convolution reaches the backend as a sum over channels and kernel taps of a masked,
 * windowed load times a weight load: several output and reduction axes, and an operand that
 * is an expression rather than a strided load. Per batch index this kernel evaluates the `X`
 * operand over `(i…, r…)` straight into a row-major `M×K` panel in wasm memory (im2col, as
 * PyTorch's CPU convolutions do), `Y` over `(r…, j…)` into a `K×N` panel, runs `sgemm` on the
 * panels, and applies the fused epilogue to each result. Packing costs `O(MK + KN)` against
 * the product's `O(MNK)`; each operand instruction is evaluated at the outermost loop it
 * depends on, so a window's index arithmetic is mostly hoisted out of the inner loop.
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import { contiguousStrides } from "../../shape.ts";
import type { GeneralContraction } from "../contraction.ts";
import { expr, type JsEmitter, type KernelSource, roundResult } from "./codegen.ts";

/** Renders `g` as packed panels + `H.sgemmPacked` (the caller checked the wasm kernel fits). */
export function renderPacked(ir: KernelIR, e: JsEmitter, g: GeneralContraction): KernelSource {
  const { L, batch, I, J, R, M, N, K } = g;
  const name = (x: Instr) => `v${x.id}`;
  const outVars = ir.out.vars.filter((x) => x.op === "var");

  // The epilogue: a function of the output indices and the accumulated value, compiled once.
  e.alias.set(L.result!, "acc");
  const inNames = ir.inputs.map((_, k) => `in${k}`);
  const fixed = ["out", ...inNames].join(", ");
  e.lines.push(`const epi = (${[fixed, ...outVars.map(name)].join(", ")}, acc) => {`);
  for (const sc of ir.out.scopes) e.emitScope(sc, "  ", () => {});
  const st = contiguousStrides(ir.outShape);
  const flat = ir.out.vars.map((x, k) => x.op === "var" ? `${st[k]}*${name(x)}` : "0").join(" + ");
  e.lines.push(`  out[${flat}] = ${e.name(ir.value)};`, "};");
  const pre = e.lines.splice(0).join("\n");

  const b: string[] = [];
  let pad = "";
  const open = (x: Instr) => {
    b.push(`${pad}for (let ${name(x)} = 0; ${name(x)} < ${g.size.get(x)}; ${name(x)}++) {`);
    pad += "  ";
  };
  const close = (n: number) => {
    for (let k = 0; k < n; k++) {
      pad = pad.slice(2);
      b.push(`${pad}}`);
    }
  };
  // Writes `value` for every index of `order` (row-major) at F[p++], each instruction of
  // `chain` at the outermost loop it depends on.
  const pack = (order: readonly Instr[], chain: readonly Instr[], value: Instr, at: string) => {
    const level = new Map<Instr, number>();
    for (const c of chain) {
      let l = -1;
      for (const a of c.args) {
        l = Math.max(l, a.op === "var" ? order.indexOf(a) : level.get(a) ?? -1);
      }
      level.set(c, l);
    }
    const define = (lvl: number) => {
      for (const c of chain) {
        if (level.get(c) === lvl) {
          b.push(`${pad}const ${name(c)} = ${roundResult(c, expr(c, e.name))};`);
        }
      }
    };
    b.push(`${pad}{`, `${pad}  let p = ${at};`);
    pad += "  ";
    define(-1);
    order.forEach((x, k) => {
      open(x);
      define(k);
    });
    b.push(`${pad}F[p++] = ${e.name(value)};`);
    close(order.length + 1);
  };

  batch.forEach(open);
  b.push(`${pad}const P = H.sgemmPanels(${M}, ${N}, ${K}), F = P.f32;`);
  pack([...I, ...R], g.xChain, g.x, "P.a");
  pack([...R, ...J], g.yChain, g.y, "P.b");
  b.push(`${pad}const C = H.sgemmPacked(${M}, ${N}, ${K});`, `${pad}let q = 0;`);
  [...I, ...J].forEach(open);
  b.push(`${pad}epi(${[fixed, ...outVars.map(name)].join(", ")}, C[q++]);`);
  close(I.length + J.length);
  close(batch.length);
  return { pre, body: b.join("\n") };
}
