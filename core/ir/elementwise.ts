/**
 * Elementwise primitive records (unary, binary, ternary, cast).
 *
 * JS renderings compute in float64 and round on store, so a fused float32 chain is at least as
 * accurate as op-by-op float32; int32 results wrap (`|0`, `Math.imul`) like two's complement.
 * Helpers the renderings call (`H.erf`, `H.roundEven`) live in the CPU backend's runtime.
 * @module
 */
import type { DType } from "../dtype.ts";
import { type Primitive, register, type Render } from "./primitive.ts";

const isInt = (d: DType) => d === "int32";
const toBool = (): DType => "bool";

function unary(name: string, js: Render, dtype?: Primitive["dtype"]): Primitive {
  return { name, kind: "elementwise", arity: 1, js, dtype };
}
function binary(name: string, js: Render, dtype?: Primitive["dtype"]): Primitive {
  return { name, kind: "elementwise", arity: 2, js, dtype };
}
const fn = (f: string): Render => ([a]) => `${f}(${a})`;
const intOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  isInt(d) ? int(a, d, i, arg) : float(a, d, i, arg);

/** Unary math. */
export const UNARY: Primitive[] = [
  unary("neg", intOr(([a]) => `(-${a}|0)`, ([a]) => `(-${a})`)),
  unary("abs", intOr(([a]) => `(Math.abs(${a})|0)`, fn("Math.abs"))),
  unary("sign", fn("Math.sign")),
  unary("exp", fn("Math.exp")),
  unary("log", fn("Math.log")),
  unary("log1p", fn("Math.log1p")),
  unary("expm1", fn("Math.expm1")),
  unary("sqrt", fn("Math.sqrt")),
  unary("rsqrt", ([a]) => `(1/Math.sqrt(${a}))`),
  unary("sin", fn("Math.sin")),
  unary("cos", fn("Math.cos")),
  unary("tanh", fn("Math.tanh")),
  unary("sigmoid", ([a]) => `(1/(1+Math.exp(-${a})))`),
  unary("relu", ([a]) => `(${a} > 0 ? ${a} : ${a} === ${a} ? 0 : ${a})`),
  unary("erf", fn("H.erf")),
  unary("floor", fn("Math.floor")),
  unary("ceil", fn("Math.ceil")),
  unary("round", fn("H.roundEven")),
  unary("logicalNot", ([a]) => `(${a} ? 0 : 1)`),
  unary("isnan", ([a]) => `(${a} !== ${a} ? 1 : 0)`, toBool),
  unary("isfinite", ([a]) => `(Number.isFinite(${a}) ? 1 : 0)`, toBool),
  unary("bitNot", ([a]) => `(~${a})`),
];

/** `cast`: arg is the target dtype. */
export const CAST: Primitive = unary("cast", ([a], d, from) => {
  if (d === from || d === "float64") return a;
  if (d === "float32") return `Math.fround(${a})`;
  if (d === "bool") return `(${a} ? 1 : 0)`;
  return from === "bool" ? a : `(Math.trunc(${a})|0)`;
}, (_src, arg) => arg as DType);

/** Binary arithmetic, comparisons, logic and bit ops. */
export const BINARY: Primitive[] = [
  binary("add", intOr(([a, b]) => `((${a}+${b})|0)`, ([a, b]) => `(${a}+${b})`)),
  binary("sub", intOr(([a, b]) => `((${a}-${b})|0)`, ([a, b]) => `(${a}-${b})`)),
  binary("mul", intOr(([a, b]) => `Math.imul(${a},${b})`, ([a, b]) => `(${a}*${b})`)),
  binary("div", ([a, b]) => `(${a}/${b})`),
  binary("pow", intOr(([a, b]) => `((${a}**${b})|0)`, ([a, b]) => `(${a}**${b})`)),
  binary("maximum", ([a, b]) => `Math.max(${a},${b})`),
  binary("minimum", ([a, b]) => `Math.min(${a},${b})`),
  // Floor division and modulo with the divisor's sign (Python/numpy semantics).
  binary(
    "idiv",
    intOr(([a, b]) => `(Math.floor(${a}/${b})|0)`, ([a, b]) => `Math.floor(${a}/${b})`),
  ),
  binary("mod", intOr(([a, b]) => `H.imod(${a},${b})`, ([a, b]) => `H.fmod(${a},${b})`)),
  binary("less", ([a, b]) => `(${a} < ${b} ? 1 : 0)`, toBool),
  binary("lessEqual", ([a, b]) => `(${a} <= ${b} ? 1 : 0)`, toBool),
  binary("equal", ([a, b]) => `(${a} === ${b} ? 1 : 0)`, toBool),
  binary("notEqual", ([a, b]) => `(${a} !== ${b} ? 1 : 0)`, toBool),
  binary("logicalAnd", ([a, b]) => `(${a} && ${b} ? 1 : 0)`),
  binary("logicalOr", ([a, b]) => `(${a} || ${b} ? 1 : 0)`),
  binary("bitAnd", ([a, b]) => `(${a} & ${b})`),
  binary("bitOr", ([a, b]) => `(${a} | ${b})`),
  binary("bitXor", ([a, b]) => `(${a} ^ ${b})`),
  binary("shl", ([a, b]) => `(${a} << ${b})`),
  // Logical shift right of the 32 bits, reinterpreted as int32.
  binary("shr", ([a, b]) => `((${a} >>> ${b})|0)`),
];

/** `where(cond, x, y)`. */
export const WHERE: Primitive = {
  name: "where",
  kind: "elementwise",
  arity: 3,
  js: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
  dtype: (src) => src[1],
};

register(...UNARY, CAST, ...BINARY, WHERE);
