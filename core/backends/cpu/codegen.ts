/**
 * Kernel IR -> JavaScript source. Each instruction is one `const`, each loop a `for` nest; the
 * output loop stores one element per innermost iteration. Contractions take the blocked path
 * of `matmul.ts` instead.
 * @module
 */
import { type DType, roundSource, roundTo } from "../../dtype.ts";
import type { Instr, KernelIR, Loop } from "../../ir/kernel.ts";
import { EXACT_OPS, LoopEmitter } from "../emitter.ts";
import { prim } from "../../ir/primitive.ts";
import { renderOf } from "../render.ts";
import { JS_ELEMENTWISE, JS_REDUCE } from "./renders.ts";

/** A literal for a constant of dtype `d`. */
export function literal(v: number, d: DType): string {
  if (d === "float32" || d === "float16") v = roundTo(d, v);
  // Parenthesized when negative: renders put literals right after `-` (`x - (-5)`).
  if (Object.is(v, -0)) return "(-0)";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  return v < 0 ? `(${v})` : String(v);
}

/**
 * float32/float16 semantics: every inexact result is rounded to its dtype (`Math.fround`,
 * `Math.f16round`), so a fused kernel computes exactly what op-by-op float32 or float16 (and
 * WebGPU) would, and a value compared with its own materialized copy (`x == max(x)`) matches.
 */
export function roundResult(i: Instr, e: string): string {
  return EXACT_OPS.has(i.op) ? e : roundSource(i.dtype, e);
}

/** Renders instruction `i` as an expression over already-defined names. */
export function expr(i: Instr, name: (i: Instr) => string): string {
  if (i.op === "load") return `in${i.arg}[${name(i.args[0])}]`;
  const r = renderOf(JS_ELEMENTWISE, i.op, "the JavaScript renderer");
  return r(i.args.map(name), i.dtype, i.args[0]?.dtype ?? i.dtype, i.arg);
}

/** Shared rendering state for one kernel. */
export class JsEmitter extends LoopEmitter {
  protected literal(v: number, d: DType): string {
    return literal(v, d);
  }
  protected define(i: Instr): string {
    return `const v${i.id} = ${roundResult(i, expr(i, this.name))};`;
  }
  protected forHeader(v: string, size: number): string {
    return `for (let ${v} = 0; ${v} < ${size}; ${v}++)`;
  }

  /** A reduction loop with a scalar accumulator. */
  emitReduce = (l: Loop, pad: string): void => {
    const acc = `v${l.result!.id}`;
    const d = l.result!.dtype;
    const combine = renderOf(JS_REDUCE, l.reduceOp!, "the JavaScript renderer");
    this.lines.push(`${pad}let ${acc} = ${literal(prim(l.reduceOp!).identity!(d), d)};`);
    this.emitLoop(l, pad, this.emitReduce, (inner) => {
      this.lines.push(`${inner}${acc} = ${combine([acc, this.name(l.value!)], d, d, 0)};`);
    });
    // Accumulate in float64 (more accurate), round once like a float32/float16 result.
    const r = roundSource(d, acc);
    if (r !== acc) this.lines.push(`${pad}${acc} = ${r};`);
  };
}

/** Kernel source in two parts: `pre` runs once per compile, `body` per launch. */
export interface KernelSource {
  readonly pre: string;
  readonly body: string;
}

/** Generic rendering: nested loops over the output, reductions as inner loops. */
export function renderGeneric(ir: KernelIR): KernelSource {
  const e = new JsEmitter(ir);
  e.lines.push("let oi = 0;");
  e.emitScope(ir.root, "", (l, pad) => {
    if (l !== ir.out) return e.emitReduce(l, pad);
    e.emitLoop(
      l,
      pad,
      e.emitReduce,
      (inner) => e.lines.push(`${inner}out[oi++] = ${e.name(ir.value)};`),
    );
  });
  return { pre: "", body: e.lines.join("\n") };
}

/** The factory source the backend compiles: `pre` once, then the per-launch function. */
export function wrap(ir: KernelIR, src: KernelSource): string {
  const ins = ir.inputs.map((_, i) => `in${i} = ins[${i}]`).join(", ");
  return `${src.pre}\nreturn function kernel(out, ins) {\n${
    ins ? `const ${ins};\n` : ""
  }${src.body}\n};`;
}
