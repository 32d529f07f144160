/**
 * Elementwise primitive records (unary, binary, ternary, cast), with their derivatives.
 *
 * JS renderings compute in float64 and round on store, so a fused float32 chain is at least as
 * accurate as op-by-op float32; int32 results wrap (`|0`, `Math.imul`) like two's complement.
 * Helpers the renderings call (`H.erf`, `H.roundEven`) live in the CPU backend's runtime.
 *
 * Derivatives: a unary op gives `d(x, y)` = dy/dx and a binary op its two partials; VJP and
 * JVP both follow from those (`ct·d`, `t·d`). Ties of `maximum`/`minimum` split the gradient
 * evenly (as JAX); `relu'(0) = 0`; comparisons, rounding and integer ops have none.
 * @module
 */
import { type DType, isFloat, roundSource } from "../dtype.ts";
import * as B from "./build.ts";
import type { Node } from "./node.ts";
import { type Eqn, type Primitive, register, type Render } from "./primitive.ts";
import { batchElementwise as batch } from "./batching.ts";

const isInt = (d: DType) => d === "int32";
const toBool = (): DType => "bool";

type Deriv = (x: Node, y: Node) => Node;
type Partials = (a: Node, b: Node, y: Node) => [Node | null, Node | null];

/** Explicitly zero derivatives (piecewise-constant ops): distinct from a missing rule. */
const ZERO = { vjp: () => [null], jvp: () => null, batch };

/** A primitive's renderings: JavaScript (CPU backend) and WGSL (WebGPU backend). */
interface Renders {
  readonly js: Render;
  readonly wgsl: Render;
}

function unary<N extends string>(
  name: N,
  r: Renders,
  deriv?: Deriv,
  dtype?: Primitive["dtype"],
): Primitive<N> {
  const { js, wgsl } = r;
  if (!deriv) return { name, kind: "elementwise", arity: 1, js, wgsl, dtype, ...ZERO };
  const d = (e: Eqn) => deriv(e.src[0], e.out);
  return {
    name,
    kind: "elementwise",
    arity: 1,
    js,
    wgsl,
    dtype,
    batch,
    vjp: (ct, e) => [B.mul(ct, d(e))],
    jvp: ([t], e) => (t ? B.mul(t, d(e)) : null),
  };
}

function binary<N extends string>(
  name: N,
  r: Renders,
  partials?: Partials,
  dtype?: Primitive["dtype"],
): Primitive<N> {
  const { js, wgsl } = r;
  if (!partials) {
    return {
      name,
      kind: "elementwise",
      arity: 2,
      js,
      wgsl,
      dtype,
      batch,
      vjp: () => [null, null],
      jvp: () => null,
    };
  }
  const scale = (g: Node, p: Node | null) => (p === null ? null : B.mul(g, p));
  return {
    name,
    kind: "elementwise",
    arity: 2,
    js,
    wgsl,
    dtype,
    batch,
    vjp: (ct, e) => {
      const [pa, pb] = partials(e.src[0], e.src[1], e.out);
      return [scale(ct, pa), scale(ct, pb)];
    },
    jvp: ([ta, tb], e) => {
      const [pa, pb] = partials(e.src[0], e.src[1], e.out);
      return B.addOpt(ta && pa ? B.mul(ta, pa) : null, tb && pb ? B.mul(tb, pb) : null);
    },
  };
}

/** Linear ops: the rule applies the op itself to cotangents/tangents. */
function linear<N extends string>(
  p: Primitive<N>,
  vjp: Primitive["vjp"],
  jvp: Primitive["jvp"],
): Primitive<N> {
  return { ...p, vjp, jvp };
}

const fn = (f: string): Render => ([a]) => `${f}(${a})`;
const intOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  isInt(d) ? int(a, d, i, arg) : float(a, d, i, arg);
const one = (x: Node) => B.konst(1, x);

// WGSL renderings: float32 is `f32`, int32 and bool are `i32` (bool as 0/1: storage cannot hold
// `bool`); float64 never reaches WGSL (the backend refuses it first). `k_*` helpers (bit-exact
// NaN tests, JS-exact integer division, …) come from the WebGPU backend's prelude.
const wIsF = isFloat;
const wIntOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  wIsF(d) ? float(a, d, i, arg) : int(a, d, i, arg);
/** JavaScript truthiness (NaN is falsy) as a WGSL `bool`. */
const wTruthy = (a: string, d: DType) =>
  wIsF(d) ? `(${a} != 0.0f && !k_isnan(${a}))` : `(${a} != 0i)`;
const wBin = (op: string): Render => ([a, b]) => `(${a} ${op} ${b})`;
const wCmp = (op: string, f: string): Render => ([a, b], _d, i) =>
  wIsF(i) ? `${f}(${a}, ${b})` : `i32(${a} ${op} ${b})`;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Unary math. */
export const UNARY = [
  linear(
    unary("neg", { js: intOr(([a]) => `(-${a}|0)`, ([a]) => `(-${a})`), wgsl: ([a]) => `(-${a})` }),
    (ct) => [B.neg(ct)],
    ([t]) => (t ? B.neg(t) : null),
  ),
  unary(
    "abs",
    { js: intOr(([a]) => `(Math.abs(${a})|0)`, fn("Math.abs")), wgsl: fn("abs") },
    (x) => B.sign(x),
  ),
  unary("sign", { js: fn("Math.sign"), wgsl: wIntOr(fn("k_sign_i"), fn("k_sign_f")) }),
  unary("exp", { js: fn("Math.exp"), wgsl: fn("exp") }, (_x, y) => y),
  unary("log", { js: fn("Math.log"), wgsl: fn("k_log") }, (x) => B.div(1, x)),
  unary("log1p", { js: fn("Math.log1p"), wgsl: fn("k_log1p") }, (x) => B.div(1, B.add(x, 1))),
  unary("expm1", { js: fn("Math.expm1"), wgsl: fn("k_expm1") }, (_x, y) => B.add(y, 1)),
  unary("sqrt", { js: fn("Math.sqrt"), wgsl: fn("k_sqrt") }, (_x, y) => B.div(0.5, y)),
  unary(
    "rsqrt",
    { js: ([a]) => `(1/Math.sqrt(${a}))`, wgsl: ([a]) => `(1.0f / k_sqrt(${a}))` },
    (_x, y) => B.mul(B.mul(B.mul(y, y), y), -0.5),
  ),
  unary("sin", { js: fn("Math.sin"), wgsl: fn("k_sin") }, (x) => B.cos(x)),
  unary("cos", { js: fn("Math.cos"), wgsl: fn("k_cos") }, (x) => B.neg(B.sin(x))),
  unary("tanh", { js: fn("Math.tanh"), wgsl: fn("k_tanh") }, (_x, y) => B.sub(1, B.mul(y, y))),
  unary(
    "sigmoid",
    { js: ([a]) => `(1/(1+Math.exp(-${a})))`, wgsl: fn("k_sigmoid") },
    (_x, y) => B.mul(y, B.sub(1, y)),
  ),
  unary(
    "relu",
    {
      js: ([a]) => `(${a} > 0 ? ${a} : ${a} === ${a} ? 0 : ${a})`,
      wgsl: wIntOr(([a]) => `max(${a}, 0i)`, fn("k_relu")),
    },
    (x) => B.where(B.less(0, x), one(x), 0),
  ),
  unary(
    "erf",
    { js: fn("H.erf"), wgsl: fn("k_erf") },
    (x) => B.mul(B.exp(B.neg(B.mul(x, x))), TWO_OVER_SQRT_PI),
  ),
  unary("floor", { js: fn("Math.floor"), wgsl: wIntOr(([a]) => a, fn("floor")) }),
  unary("ceil", { js: fn("Math.ceil"), wgsl: wIntOr(([a]) => a, fn("ceil")) }),
  unary("round", { js: fn("H.roundEven"), wgsl: wIntOr(([a]) => a, fn("round")) }),
  unary("logicalNot", {
    js: ([a]) => `(${a} ? 0 : 1)`,
    wgsl: ([a], _d, i) => `i32(!${wTruthy(a, i)})`,
  }),
  unary(
    "isnan",
    { js: ([a]) => `(${a} !== ${a} ? 1 : 0)`, wgsl: ([a]) => `i32(k_isnan(${a}))` },
    undefined,
    toBool,
  ),
  unary(
    "isfinite",
    { js: ([a]) => `(Number.isFinite(${a}) ? 1 : 0)`, wgsl: ([a]) => `i32(k_isfinite(${a}))` },
    undefined,
    toBool,
  ),
  unary("bitNot", { js: ([a]) => `(~${a})`, wgsl: ([a]) => `(~${a})` }),
] as const;

/** `cast`: arg is the target dtype. Differentiable between float dtypes. */
export const CAST: Primitive<"cast"> = {
  name: "cast",
  kind: "elementwise",
  arity: 1,
  dtype: (_src, arg) => arg as DType,
  batch,
  js: ([a], d, from) => {
    if (d === from || d === "float64") return a;
    if (d === "float32" || d === "float16") return roundSource(d, a);
    if (d === "bool") return `(${a} !== 0 ? 1 : 0)`; // NaN is true, as in numpy
    return from === "bool" ? a : `(Math.trunc(${a})|0)`;
  },
  // float -> int truncates and wraps modulo 2^32 as JavaScript's `|0` (WGSL's `i32()` clamps).
  wgsl: ([a], d, from) => {
    if (d === from) return a;
    if (d === "float32") return `f32(${a})`;
    if (d === "bool") return `i32(${wIsF(from) ? `${a} != 0.0f || k_isnan(${a})` : `${a} != 0i`})`;
    return wIsF(from) ? `k_f2i(${a})` : a;
  },
  vjp: (
    ct,
    e,
  ) => [isFloat(e.src[0].dtype) && isFloat(e.out.dtype) ? B.cast(ct, e.src[0].dtype) : null],
  jvp: ([t], e) => (t && isFloat(e.out.dtype) ? B.cast(t, e.out.dtype) : null),
};

/** `stopGradient`: the identity whose derivative is zero in both modes. */
export const STOP_GRADIENT: Primitive<"stopGradient"> = {
  name: "stopGradient",
  kind: "elementwise",
  arity: 1,
  js: ([a]) => a,
  wgsl: ([a]) => a,
  ...ZERO,
};

const tie = (a: Node, b: Node, win: (a: Node, b: Node) => Node): [Node, Node] => {
  // 1 where `a` wins, 0.5 on ties, 0 where it loses; `b` gets the complement.
  const pa = B.where(win(a, b), one(a), B.where(B.equal(a, b), B.konst(0.5, a), 0));
  return [pa, B.sub(1, pa)];
};

/** Binary arithmetic, comparisons, logic and bit ops. */
export const BINARY = [
  linear(
    binary("add", {
      js: intOr(([a, b]) => `((${a}+${b})|0)`, ([a, b]) => `(${a}+${b})`),
      wgsl: wBin("+"),
    }),
    (ct) => [ct, ct],
    ([ta, tb]) => B.addOpt(ta, tb),
  ),
  linear(
    binary("sub", {
      js: intOr(([a, b]) => `((${a}-${b})|0)`, ([a, b]) => `(${a}-${b})`),
      wgsl: wBin("-"),
    }),
    (ct) => [ct, B.neg(ct)],
    ([ta, tb]) => B.addOpt(ta, tb && B.neg(tb)),
  ),
  binary(
    "mul",
    { js: intOr(([a, b]) => `Math.imul(${a},${b})`, ([a, b]) => `(${a}*${b})`), wgsl: wBin("*") },
    (a, b) => [b, a],
  ),
  binary(
    "div",
    { js: ([a, b]) => `(${a}/${b})`, wgsl: wBin("/") },
    (_a, b, y) => [B.div(1, b), B.neg(B.div(y, b))],
  ),
  binary(
    "pow",
    {
      js: intOr(([a, b]) => `((${a}**${b})|0)`, ([a, b]) => `(${a}**${b})`),
      wgsl: wIntOr(([a, b]) => `k_ipow(${a}, ${b})`, ([a, b]) => `k_pow(${a}, ${b})`),
    },
    // d/da = b·a^(b-1); d/db = y·log(a), with log(0) replaced by 0 (as JAX) so 0^b stays finite.
    (a, b, y) => [
      // 0 where b = 0 (d/da a⁰ = 0, also at a = 0), as JAX.
      B.where(B.equal(b, 0), 0, B.mul(b, B.pow(a, B.sub(b, 1)))),
      B.mul(y, B.log(B.where(B.equal(a, 0), one(a), a))),
    ],
  ),
  binary("maximum", {
    js: ([a, b]) => `Math.max(${a},${b})`,
    wgsl: wIntOr(([a, b]) => `max(${a}, ${b})`, ([a, b]) => `k_max(${a}, ${b})`),
  }, (a, b) => tie(a, b, (x, y) => B.less(y, x))),
  binary("minimum", {
    js: ([a, b]) => `Math.min(${a},${b})`,
    wgsl: wIntOr(([a, b]) => `min(${a}, ${b})`, ([a, b]) => `k_min(${a}, ${b})`),
  }, (a, b) => tie(a, b, (x, y) => B.less(x, y))),
  // Floor division and modulo with the divisor's sign (Python/numpy semantics).
  binary(
    "idiv",
    {
      js: intOr(([a, b]) => `(Math.floor(${a}/${b})|0)`, ([a, b]) => `Math.floor(${a}/${b})`),
      wgsl: wIntOr(([a, b]) => `k_idiv(${a}, ${b})`, ([a, b]) => `floor(${a} / ${b})`),
    },
  ),
  binary(
    "mod",
    {
      js: intOr(([a, b]) => `H.imod(${a},${b})`, ([a, b]) => `H.fmod(${a},${b})`),
      wgsl: wIntOr(([a, b]) => `k_imod(${a}, ${b})`, ([a, b]) => `k_fmod(${a}, ${b})`),
    },
    (a, b) => [one(a), B.neg(B.floor(B.div(a, b)))],
  ),
  binary(
    "less",
    { js: ([a, b]) => `(${a} < ${b} ? 1 : 0)`, wgsl: wCmp("<", "k_lt") },
    undefined,
    toBool,
  ),
  binary(
    "lessEqual",
    { js: ([a, b]) => `(${a} <= ${b} ? 1 : 0)`, wgsl: wCmp("<=", "k_le") },
    undefined,
    toBool,
  ),
  binary(
    "equal",
    { js: ([a, b]) => `(${a} === ${b} ? 1 : 0)`, wgsl: wCmp("==", "k_eq") },
    undefined,
    toBool,
  ),
  binary(
    "notEqual",
    { js: ([a, b]) => `(${a} !== ${b} ? 1 : 0)`, wgsl: wCmp("!=", "k_ne") },
    undefined,
    toBool,
  ),
  binary("logicalAnd", {
    js: ([a, b]) => `(${a} && ${b} ? 1 : 0)`,
    wgsl: ([a, b], d) => `i32(${wTruthy(a, d)} && ${wTruthy(b, d)})`,
  }),
  binary("logicalOr", {
    js: ([a, b]) => `(${a} || ${b} ? 1 : 0)`,
    wgsl: ([a, b], d) => `i32(${wTruthy(a, d)} || ${wTruthy(b, d)})`,
  }),
  binary("bitAnd", { js: ([a, b]) => `(${a} & ${b})`, wgsl: wBin("&") }),
  binary("bitOr", { js: ([a, b]) => `(${a} | ${b})`, wgsl: wBin("|") }),
  binary("bitXor", { js: ([a, b]) => `(${a} ^ ${b})`, wgsl: wBin("^") }),
  binary("shl", {
    js: ([a, b]) => `(${a} << ${b})`,
    wgsl: ([a, b]) => `(${a} << (u32(${b}) & 31u))`,
  }),
  // Logical shift right of the 32 bits, reinterpreted as int32.
  binary("shr", {
    js: ([a, b]) => `((${a} >>> ${b})|0)`,
    wgsl: ([a, b]) => `bitcast<i32>(bitcast<u32>(${a}) >> (u32(${b}) & 31u))`,
  }),
] as const;

/** `where(cond, x, y)`: the cotangent goes to the taken branch only. */
export const WHERE: Primitive<"where"> = {
  name: "where",
  kind: "elementwise",
  arity: 3,
  js: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
  wgsl: ([c, a, b], _d, i) => `select(${b}, ${a}, ${wTruthy(c, i)})`,
  dtype: (src) => src[1],
  batch,
  vjp: (ct, e) => [null, B.where(e.src[0], ct, 0), B.where(e.src[0], 0, ct)],
  jvp: ([, ta, tb], e) => {
    if (!ta && !tb) return null;
    return B.where(e.src[0], ta ?? B.konst(0, e.out), tb ?? B.konst(0, e.out));
  },
};

/** Names of the unary math primitives. */
export type UnaryName = (typeof UNARY)[number]["name"];
/** Names of the binary primitives. */
export type BinaryName = (typeof BINARY)[number]["name"];
/**
 * Every elementwise primitive's name, derived from the records: backends key their rendering
 * tables by it (`satisfies Record<ElementwiseName, …>`), so a new op without a rendering fails
 * `deno check`.
 */
export type ElementwiseName =
  | UnaryName
  | BinaryName
  | typeof CAST.name
  | typeof STOP_GRADIENT.name
  | typeof WHERE.name;

const ELEMENTWISE = [...UNARY, CAST, STOP_GRADIENT, ...BINARY, WHERE] as const;

/** Every elementwise primitive's name, in record order (for tests and tables). */
export const ELEMENTWISE_NAMES: readonly ElementwiseName[] = ELEMENTWISE.map((p) => p.name);

register(...ELEMENTWISE);
