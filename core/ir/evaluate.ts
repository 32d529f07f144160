/**
 * Elementwise primitives evaluated on numbers: constant folding's semantics, one plain function
 * per primitive name (exhaustive over `ElementwiseName`, so an op added without one fails
 * `deno check`).
 *
 * Each function computes what the CPU backend's JavaScript rendering of the op computes
 * (`core/backends/cpu/renders.ts`: float64 arithmetic, int32 wrapping with `|0`/`Math.imul`,
 * comparisons as 0/1), and `evaluate` rounds the result to a float32/float16 dtype as the
 * generated code does, so a folded constant is bit for bit the value an unfolded kernel would
 * compute (`tests/evaluate_test.ts` checks it against real kernel runs).
 * @module
 */
import { type DType, roundTo } from "../dtype.ts";
import { erf, fmod, imod, roundEven } from "../scalar.ts";
import type { ElementwiseName } from "./elementwise.ts";

/** Evaluates one op: operand values, the result's dtype, the first operand's dtype, `arg`. */
export type Evaluator = (args: number[], dtype: DType, inDtype: DType, arg: unknown) => number;

type Fn = (...x: number[]) => number;
const isInt = (d: DType) => d === "int32";
/** Applies `f` to the operands. */
const on = (f: Fn): Evaluator => (x) => f(...x);
/** `int` for int32 results, `float` otherwise. */
const intOr = (int: Fn, float: Fn): Evaluator => (x, d) => isInt(d) ? int(...x) : float(...x);
const bit = (b: boolean) => (b ? 1 : 0);

/** The value of every elementwise primitive on numbers (before rounding to the dtype). */
export const EVALUATE = {
  neg: intOr((a) => -a | 0, (a) => -a),
  abs: intOr((a) => Math.abs(a) | 0, Math.abs),
  sign: on(Math.sign),
  exp: on(Math.exp),
  log: on(Math.log),
  log1p: on(Math.log1p),
  expm1: on(Math.expm1),
  sqrt: on(Math.sqrt),
  rsqrt: on((a) => 1 / Math.sqrt(a)),
  sin: on(Math.sin),
  cos: on(Math.cos),
  tanh: on(Math.tanh),
  sigmoid: on((a) => 1 / (1 + Math.exp(-a))),
  // NaN stays NaN; -0 becomes 0.
  relu: on((a) => (a > 0 ? a : a === a ? 0 : a)),
  erf: on(erf),
  floor: on(Math.floor),
  ceil: on(Math.ceil),
  round: on(roundEven),
  // JavaScript truthiness: 0 and NaN are false.
  logicalNot: on((a) => (a ? 0 : 1)),
  isnan: on((a) => bit(a !== a)),
  isfinite: on((a) => bit(Number.isFinite(a))),
  bitNot: on((a) => ~a),
  cast: ([a], d, from) => {
    if (d === from || d === "float64" || d === "float32" || d === "float16") return a;
    if (d === "bool") return bit(a !== 0); // NaN is true, as in numpy
    return from === "bool" ? a : Math.trunc(a) | 0;
  },
  stopGradient: on((a) => a),
  add: intOr((a, b) => (a + b) | 0, (a, b) => a + b),
  sub: intOr((a, b) => (a - b) | 0, (a, b) => a - b),
  mul: intOr(Math.imul, (a, b) => a * b),
  div: on((a, b) => a / b),
  pow: intOr((a, b) => (a ** b) | 0, (a, b) => a ** b),
  maximum: on(Math.max),
  minimum: on(Math.min),
  idiv: intOr((a, b) => Math.floor(a / b) | 0, (a, b) => Math.floor(a / b)),
  mod: intOr(imod, fmod),
  less: on((a, b) => bit(a < b)),
  lessEqual: on((a, b) => bit(a <= b)),
  equal: on((a, b) => bit(a === b)),
  notEqual: on((a, b) => bit(a !== b)),
  logicalAnd: on((a, b) => bit(!!(a && b))),
  logicalOr: on((a, b) => bit(!!(a || b))),
  bitAnd: on((a, b) => a & b),
  bitOr: on((a, b) => a | b),
  bitXor: on((a, b) => a ^ b),
  shl: on((a, b) => a << b),
  shr: on((a, b) => (a >>> b) | 0),
  where: on((c, a, b) => (c ? a : b)),
} satisfies Record<ElementwiseName, Evaluator>;

/**
 * Elementwise op `op` on constant operands (already values of their dtypes), with the result
 * rounded to `dtype` as the CPU backend rounds it (float32/float16; int32 wraps in the op).
 * @example
 * ```ts
 * evaluate("add", [0.1, 0.2], "float32", "float32"); // Math.fround(0.1 + 0.2)
 * evaluate("mod", [-7, 3], "int32", "int32"); // 2
 * ```
 */
export function evaluate(
  op: ElementwiseName,
  args: readonly number[],
  dtype: DType,
  inDtype: DType,
  arg?: unknown,
): number {
  const v = EVALUATE[op]([...args], dtype, inDtype, arg);
  return dtype === "float32" || dtype === "float16" ? roundTo(dtype, v) : v;
}

/** Whether `op` names an elementwise primitive (one `evaluate` knows). */
export function isElementwiseName(op: string): op is ElementwiseName {
  return Object.hasOwn(EVALUATE, op);
}
