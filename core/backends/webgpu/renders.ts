/**
 * The WebGPU backend's WGSL renderings, one per primitive name.
 *
 * float32 computes as `f32` (float16 too, rounded by the code generator), int32 and bool as
 * `i32` (bool as 0/1: storage cannot hold `bool`); float64 never reaches WGSL (the backend
 * refuses it first). `k_*` helpers (bit-exact NaN tests, JavaScript-exact integer division, …)
 * come from the prelude (`prelude.ts`), which includes the ones a kernel's source names.
 * @module
 */
import { type DType, isFloat } from "../../dtype.ts";
import type { ElementwiseName } from "../../ir/elementwise.ts";
import type { ReduceName } from "../../ir/reduce.ts";
import type { Render } from "../render.ts";

const fn = (f: string): Render => ([a]) => `${f}(${a})`;
const intOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  isFloat(d) ? float(a, d, i, arg) : int(a, d, i, arg);
/** JavaScript truthiness (NaN is falsy) as a WGSL `bool`. */
const truthy = (a: string, d: DType) =>
  isFloat(d) ? `(${a} != 0.0f && !k_isnan(${a}))` : `(${a} != 0i)`;
const infix = (op: string): Render => ([a, b]) => `(${a} ${op} ${b})`;
/** Comparisons: floats through the prelude's NaN-exact helpers. */
const compare = (op: string, f: string): Render => ([a, b], _d, i) =>
  isFloat(i) ? `${f}(${a}, ${b})` : `i32(${a} ${op} ${b})`;
const same: Render = ([a]) => a;

/** WGSL rendering of every elementwise primitive. */
export const WGSL_ELEMENTWISE = {
  neg: ([a]) => `(-${a})`,
  abs: fn("abs"),
  sign: intOr(fn("k_sign_i"), fn("k_sign_f")),
  exp: fn("exp"),
  log: fn("k_log"),
  log1p: fn("k_log1p"),
  expm1: fn("k_expm1"),
  sqrt: fn("k_sqrt"),
  rsqrt: ([a]) => `(1.0f / k_sqrt(${a}))`,
  sin: fn("k_sin"),
  cos: fn("k_cos"),
  tanh: fn("k_tanh"),
  sigmoid: fn("k_sigmoid"),
  relu: intOr(([a]) => `max(${a}, 0i)`, fn("k_relu")),
  erf: fn("k_erf"),
  floor: intOr(same, fn("floor")),
  ceil: intOr(same, fn("ceil")),
  round: intOr(same, fn("round")),
  logicalNot: ([a], _d, i) => `i32(!${truthy(a, i)})`,
  isnan: ([a]) => `i32(k_isnan(${a}))`,
  isfinite: ([a]) => `i32(k_isfinite(${a}))`,
  bitNot: ([a]) => `(~${a})`,
  // float -> int truncates and wraps modulo 2^32 as JavaScript's `|0` (WGSL's `i32()` clamps).
  cast: ([a], d, from) => {
    if (d === from) return a;
    if (d === "float32") return `f32(${a})`;
    if (d === "bool") {
      return `i32(${isFloat(from) ? `${a} != 0.0f || k_isnan(${a})` : `${a} != 0i`})`;
    }
    return isFloat(from) ? `k_f2i(${a})` : a;
  },
  stopGradient: same,
  add: infix("+"),
  sub: infix("-"),
  mul: infix("*"),
  div: infix("/"),
  pow: intOr(([a, b]) => `k_ipow(${a}, ${b})`, ([a, b]) => `k_pow(${a}, ${b})`),
  maximum: intOr(([a, b]) => `max(${a}, ${b})`, ([a, b]) => `k_max(${a}, ${b})`),
  minimum: intOr(([a, b]) => `min(${a}, ${b})`, ([a, b]) => `k_min(${a}, ${b})`),
  idiv: intOr(([a, b]) => `k_idiv(${a}, ${b})`, ([a, b]) => `floor(${a} / ${b})`),
  mod: intOr(([a, b]) => `k_imod(${a}, ${b})`, ([a, b]) => `k_fmod(${a}, ${b})`),
  less: compare("<", "k_lt"),
  lessEqual: compare("<=", "k_le"),
  equal: compare("==", "k_eq"),
  notEqual: compare("!=", "k_ne"),
  logicalAnd: ([a, b], d) => `i32(${truthy(a, d)} && ${truthy(b, d)})`,
  logicalOr: ([a, b], d) => `i32(${truthy(a, d)} || ${truthy(b, d)})`,
  bitAnd: infix("&"),
  bitOr: infix("|"),
  bitXor: infix("^"),
  shl: ([a, b]) => `(${a} << (u32(${b}) & 31u))`,
  // Logical shift right of the 32 bits, reinterpreted as int32.
  shr: ([a, b]) => `bitcast<i32>(bitcast<u32>(${a}) >> (u32(${b}) & 31u))`,
  where: ([c, a, b], _d, i) => `select(${b}, ${a}, ${truthy(c, i)})`,
} satisfies Record<ElementwiseName, Render>;

/** WGSL rendering of every reduction's combine step `(acc, value)`. */
export const WGSL_REDUCE = {
  sum: infix("+"),
  prod: infix("*"),
  max: ([a, v], d) => d === "float32" ? `k_max(${a}, ${v})` : `max(${a}, ${v})`,
  min: ([a, v], d) => d === "float32" ? `k_min(${a}, ${v})` : `min(${a}, ${v})`,
} satisfies Record<ReduceName, Render>;
