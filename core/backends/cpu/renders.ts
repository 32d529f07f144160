/**
 * The CPU backend's JavaScript renderings, one per primitive name.
 *
 * Renderings compute in float64 and the code generator rounds each inexact result on the way
 * (`roundResult`), so a fused float32 chain is at least as accurate as op-by-op float32; int32
 * results wrap (`|0`, `Math.imul`) like two's complement. `H.*` names the runtime helpers
 * (`runtime.ts`) handed to every compiled kernel. `core/ir/evaluate.ts` evaluates the same
 * operations on constants, and a property test holds the two equal bit for bit.
 * @module
 */
import { type DType, roundSource } from "../../dtype.ts";
import type { ElementwiseName } from "../../ir/elementwise.ts";
import type { ReduceName } from "../../ir/reduce.ts";
import type { Render } from "../render.ts";

const isInt = (d: DType) => d === "int32";
const fn = (f: string): Render => ([a]) => `${f}(${a})`;
const intOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  isInt(d) ? int(a, d, i, arg) : float(a, d, i, arg);
const infix = (op: string): Render => ([a, b]) => `(${a}${op}${b})`;
/** int32: the float64 result wrapped to 32 bits. */
const wrapped = (op: string): Render => ([a, b]) => `((${a}${op}${b})|0)`;
const test = (cond: Render): Render => (a, d, i, arg) => `(${cond(a, d, i, arg)} ? 1 : 0)`;

/** JavaScript rendering of every elementwise primitive. */
export const JS_ELEMENTWISE = {
  neg: intOr(([a]) => `(-${a}|0)`, ([a]) => `(-${a})`),
  abs: intOr(([a]) => `(Math.abs(${a})|0)`, fn("Math.abs")),
  sign: fn("Math.sign"),
  exp: fn("Math.exp"),
  log: fn("Math.log"),
  log1p: fn("Math.log1p"),
  expm1: fn("Math.expm1"),
  sqrt: fn("Math.sqrt"),
  rsqrt: ([a]) => `(1/Math.sqrt(${a}))`,
  sin: fn("Math.sin"),
  cos: fn("Math.cos"),
  tanh: fn("Math.tanh"),
  sigmoid: ([a]) => `(1/(1+Math.exp(-${a})))`,
  relu: ([a]) => `(${a} > 0 ? ${a} : ${a} === ${a} ? 0 : ${a})`,
  erf: fn("H.erf"),
  floor: fn("Math.floor"),
  ceil: fn("Math.ceil"),
  round: fn("H.roundEven"),
  logicalNot: ([a]) => `(${a} ? 0 : 1)`,
  isnan: test(([a]) => `${a} !== ${a}`),
  isfinite: test(([a]) => `Number.isFinite(${a})`),
  bitNot: ([a]) => `(~${a})`,
  cast: ([a], d, from) => {
    if (d === from || d === "float64") return a;
    if (d === "float32" || d === "float16") return roundSource(d, a);
    if (d === "bool") return `(${a} !== 0 ? 1 : 0)`; // NaN is true, as in numpy
    return from === "bool" ? a : `(Math.trunc(${a})|0)`;
  },
  stopGradient: ([a]) => a,
  add: intOr(wrapped("+"), infix("+")),
  sub: intOr(wrapped("-"), infix("-")),
  mul: intOr(([a, b]) => `Math.imul(${a},${b})`, infix("*")),
  div: infix("/"),
  pow: intOr(wrapped("**"), infix("**")),
  maximum: ([a, b]) => `Math.max(${a},${b})`,
  minimum: ([a, b]) => `Math.min(${a},${b})`,
  // Floor division and modulo with the divisor's sign (Python/numpy semantics).
  idiv: intOr(([a, b]) => `(Math.floor(${a}/${b})|0)`, ([a, b]) => `Math.floor(${a}/${b})`),
  mod: intOr(([a, b]) => `H.imod(${a},${b})`, ([a, b]) => `H.fmod(${a},${b})`),
  less: test(([a, b]) => `${a} < ${b}`),
  lessEqual: test(([a, b]) => `${a} <= ${b}`),
  equal: test(([a, b]) => `${a} === ${b}`),
  notEqual: test(([a, b]) => `${a} !== ${b}`),
  logicalAnd: test(([a, b]) => `${a} && ${b}`),
  logicalOr: test(([a, b]) => `${a} || ${b}`),
  bitAnd: ([a, b]) => `(${a} & ${b})`,
  bitOr: ([a, b]) => `(${a} | ${b})`,
  bitXor: ([a, b]) => `(${a} ^ ${b})`,
  shl: ([a, b]) => `(${a} << ${b})`,
  // Logical shift right of the 32 bits, reinterpreted as int32.
  shr: ([a, b]) => `((${a} >>> ${b})|0)`,
  where: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
} satisfies Record<ElementwiseName, Render>;

/** JavaScript rendering of every reduction's combine step `(acc, value)`. */
export const JS_REDUCE = {
  sum: intOr(wrapped("+"), infix("+")),
  prod: intOr(([a, v]) => `Math.imul(${a},${v})`, infix("*")),
  max: ([a, v]) => `Math.max(${a},${v})`,
  min: ([a, v]) => `Math.min(${a},${v})`,
} satisfies Record<ReduceName, Render>;
