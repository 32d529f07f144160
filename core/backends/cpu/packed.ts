/**
 * General float32 contractions on the CPU: operands packed into panels, then the WebAssembly
 * SIMD matrix product.
 *
 * A convolution reaches the backend as a sum over channels and kernel taps of a masked,
 * windowed load times a weight load: several output and reduction axes, and an operand that
 * is an expression rather than a strided load. Per batch index this kernel evaluates one
 * operand into the `A` panel (`M×K`, row- or column-major) and the other into the `B` panel
 * (`K×N`, row-major) in wasm memory — im2col, as PyTorch's CPU convolutions do — runs `sgemm`
 * on the panels, and applies the fused epilogue to the results in output order.
 *
 * Packing costs `O(MK + KN)` against the product's `O(MNK)`, but it is JavaScript: each
 * instruction is evaluated at the outermost loop it depends on (a window's row mask once per
 * row), and the roles and panel layout are chosen so that the innermost packing loops are long
 * (a 3×3 kernel's taps make a poor innermost loop; an image row a good one).
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import { contiguousStrides } from "../../shape.ts";
import type { GeneralContraction } from "../contraction.ts";
import { expr, type JsEmitter, type KernelSource, roundResult } from "./codegen.ts";

/** A packing plan: which operand goes where, and in which loop order. */
interface Plan {
  /** Operand value and its instructions, its output variables, for `A` and for `B`. */
  a: { v: Instr; chain: readonly Instr[]; own: readonly Instr[] };
  b: { v: Instr; chain: readonly Instr[]; own: readonly Instr[] };
  /** `A` stored `K×M` (reduction outer) rather than `M×K`. */
  aT: boolean;
}

/**
 * Picks roles and A's layout: fewest short innermost packing loops, weighted by panel size,
 * and an epilogue that reads C contiguously (the output's innermost axis a column of C: a
 * transposed read of C costs about as much as the product itself).
 */
function plan(g: GeneralContraction, lastOut: Instr | undefined): Plan {
  const len = (xs: readonly Instr[]) => (xs.length ? g.size.get(xs[xs.length - 1])! : 1);
  const cost = (elems: number, inner: number) => elems * (1 + 8 / Math.min(inner, 64));
  const X = { v: g.x, chain: g.xChain, own: g.I }, Y = { v: g.y, chain: g.yChain, own: g.J };
  let best: Plan | undefined, bestCost = Infinity;
  for (const [a, b] of [[X, Y], [Y, X]]) {
    const m = a.own.reduce((p, x) => p * g.size.get(x)!, 1);
    const n = b.own.reduce((p, x) => p * g.size.get(x)!, 1);
    const epi = m * n * (lastOut === undefined || b.own[b.own.length - 1] === lastOut ? 1 : 8);
    for (const aT of [false, true]) {
      const c = cost(m * g.K, aT ? len(a.own) : len(g.R)) + cost(n * g.K, len(b.own)) + epi;
      if (c < bestCost) [best, bestCost] = [{ a, b, aT }, c];
    }
  }
  return best!;
}

/** An offset carried through a loop nest: `base + Σ coef(x)·x`. */
interface Offset {
  readonly name: string;
  readonly base: string;
  readonly coef: (x: Instr) => number;
}

/** Renders `g` as packed panels + `H.sgemmPacked` (the caller checked the wasm kernel fits). */
export function renderPacked(ir: KernelIR, e: JsEmitter, g: GeneralContraction): KernelSource {
  const { L, batch, R, K } = g;
  const outVars = ir.out.vars.filter((x) => x.op === "var" && !batch.includes(x));
  const { a, b: bOp, aT } = plan(g, outVars[outVars.length - 1]);
  const size = (xs: readonly Instr[]) => xs.reduce((p, x) => p * g.size.get(x)!, 1);
  const M = size(a.own), N = size(bOp.own);
  const name = (x: Instr) => `v${x.id}`;
  const lines: string[] = [];
  let pad = "";
  const open = (x: Instr) => {
    lines.push(`${pad}for (let ${name(x)} = 0; ${name(x)} < ${g.size.get(x)}; ${name(x)}++) {`);
    pad += "  ";
  };
  const close = (n: number) => {
    for (let k = 0; k < n; k++) {
      pad = pad.slice(2);
      lines.push(`${pad}}`);
    }
  };

  /**
   * Loops over `order` (row-major). Each instruction of `chain` is defined at the outermost
   * loop it depends on (`late` ones innermost); `offsets` accumulate per loop; `inner` gets the
   * innermost offsets and returns the innermost statements.
   */
  const nest = (
    order: readonly Instr[],
    chain: readonly Instr[],
    offsets: readonly Offset[],
    inner: (offs: string[]) => { before: string; after: string },
    late?: Instr,
  ) => {
    const innermost = order.length - 1;
    const level = new Map<Instr, number>();
    for (const c of chain) {
      let l = -1;
      for (const x of c.args) {
        const lx = x === late ? innermost : x.op === "var" ? order.indexOf(x) : level.get(x) ?? -1;
        l = Math.max(l, lx);
      }
      level.set(c, l);
    }
    const define = (lvl: number) => {
      for (const c of chain) {
        if (level.get(c) === lvl) {
          lines.push(`${pad}const ${name(c)} = ${roundResult(c, expr(c, e.name))};`);
        }
      }
    };
    lines.push(`${pad}{`);
    pad += "  ";
    let offs = offsets.map((o) => o.base);
    for (let k = -1; k <= innermost; k++) {
      if (k >= 0) {
        const x = order[k];
        open(x);
        offs = offsets.map((o, j) => {
          const c = o.coef(x);
          if (c === 0) return offs[j];
          lines.push(`${pad}const ${o.name}${k} = ${offs[j]} + ${c} * ${name(x)};`);
          return `${o.name}${k}`;
        });
      }
      const io = k === innermost ? inner(offs) : undefined;
      if (io?.before) lines.push(`${pad}${io.before}`);
      define(k);
      if (io) lines.push(`${pad}${io.after}`);
    }
    close(order.length + 1);
  };
  // Row-major strides of a variable list.
  const strides = (xs: readonly Instr[]) => {
    const st = new Map<Instr, number>();
    let s = 1;
    for (let i = xs.length - 1; i >= 0; i--) {
      st.set(xs[i], s);
      s *= g.size.get(xs[i])!;
    }
    return st;
  };

  batch.forEach(open);
  lines.push(`${pad}const P = H.sgemmPanels(${M}, ${N}, ${K}), F = P.f32;`, `${pad}let p = P.a;`);
  nest(aT ? [...R, ...a.own] : [...a.own, ...R], a.chain, [], () => ({
    before: "",
    after: `F[p++] = ${e.name(a.v)};`,
  }));
  lines.push(`${pad}p = P.b;`);
  nest([...R, ...bOp.own], bOp.chain, [], () => ({
    before: "",
    after: `F[p++] = ${e.name(bOp.v)};`,
  }));
  lines.push(`${pad}const C = H.sgemmPacked(${M}, ${N}, ${K}, ${aT});`);

  // The epilogue, in output order (contiguous stores): C[m·N + n] is this element's sum.
  e.alias.set(L.result!, "acc");
  const sa = strides(a.own), sb = strides(bOp.own);
  const st = contiguousStrides(ir.outShape);
  const outStride = (x: Instr) => st[ir.out.vars.indexOf(x)];
  const outBase = batch.map((x) => `${outStride(x)} * ${name(x)}`).join(" + ") || "0";
  nest(
    outVars,
    epilogueChain(ir.value, L.result!),
    [
      { name: "c", base: "0", coef: (x) => (sa.get(x) ?? 0) * N + (sb.get(x) ?? 0) },
      { name: "o", base: outBase, coef: outStride },
    ],
    ([c, o]) => ({ before: `const acc = C[${c}];`, after: `out[${o}] = ${e.name(ir.value)};` }),
    L.result!,
  );
  close(batch.length);
  return { pre: "", body: lines.join("\n") };
}

/** The instructions `value` depends on, stopping at the reduction result (dependency order). */
function epilogueChain(value: Instr, result: Instr): Instr[] {
  const seen = new Set<Instr>();
  const chain: Instr[] = [];
  const stack = [value];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x) || x === result) continue;
    seen.add(x);
    if (x.op !== "var" && x.op !== "const") chain.push(x);
    stack.push(...x.args);
  }
  return chain.sort((p, q) => p.id - q.id);
}
