/**
 * The part of code generation every backend shares: walking a kernel's scopes in order,
 * opening one `for` per looped axis with the work hoisted to that axis, and naming values.
 * Backends supply the syntax (literals, a statement per instruction, a loop header).
 * @module
 */
import type { DType } from "../dtype.ts";
import type { ElementwiseName } from "../ir/elementwise.ts";
import { type Instr, type KernelIR, liveSet, type Loop, type Scope } from "../ir/kernel.ts";

/**
 * Ops whose float result is exactly representable in the input's precision: backends need not
 * round their results to float32/float16 (`cast` rounds in its own rendering).
 */
export const EXACT_OPS: ReadonlySet<string> = new Set<ElementwiseName | "load">([
  "where",
  "neg",
  "abs",
  "maximum",
  "minimum",
  "relu",
  "cast",
  "sign",
  "floor",
  "ceil",
  "round",
  "stopGradient",
  "load",
]);

/** Renders the instructions and loop nests of one kernel as source lines. */
export abstract class LoopEmitter {
  readonly lines: string[] = [];
  readonly live: Set<Instr | Loop>;
  /** Names substituted for instructions (e.g. a contraction's accumulator). */
  readonly alias = new Map<Instr, string>();

  constructor(readonly ir: KernelIR) {
    this.live = liveSet(ir);
  }

  /** A constant in the target language. */
  protected abstract literal(v: number, d: DType): string;
  /** The statement defining instruction `i` (named `v<id>`). */
  protected abstract define(i: Instr): string;
  /** The header of a loop over `v` from 0 to `size` (without the opening brace). */
  protected abstract forHeader(v: string, size: number): string;

  /** The expression naming an instruction's value. */
  name = (i: Instr): string => {
    const a = this.alias.get(i);
    if (a) return a;
    return i.op === "const" ? this.literal(i.arg as number, i.dtype) : `v${i.id}`;
  };

  /** Emits one instruction (constants, loop variables and reductions have no statement). */
  emitInstr(i: Instr, pad: string): void {
    if (!this.live.has(i) || i.op === "const" || i.op === "var" || i.op === "reduce") return;
    if (this.alias.has(i)) return;
    this.lines.push(`${pad}${this.define(i)}`);
  }

  /** Emits the items of `s`, calling `onLoop` for live nested loops. */
  emitScope(s: Scope, pad: string, onLoop: (l: Loop, pad: string) => void): void {
    for (const it of s.items) {
      if ("kind" in it) {
        if (it === this.ir.out || this.live.has(it)) onLoop(it, pad);
      } else this.emitInstr(it, pad);
    }
  }

  /**
   * Emits a loop nest: per axis a `for` (size-1 axes have none) followed by the work hoisted
   * to that axis; `inner` runs in the innermost body.
   */
  emitLoop(
    l: Loop,
    pad: string,
    onLoop: (l: Loop, pad: string) => void,
    inner: (pad: string) => void,
  ): void {
    let p = pad;
    const opened: string[] = [];
    l.scopes.forEach((s, k) => {
      const v = l.vars[k];
      if (v && v.op === "var") {
        this.lines.push(`${p}${this.forHeader(`v${v.id}`, l.sizes[k])} {`);
        opened.push(p);
        p += "  ";
      }
      this.emitScope(s, p, onLoop);
    });
    inner(p);
    for (const q of opened.reverse()) this.lines.push(`${q}}`);
  }
}
