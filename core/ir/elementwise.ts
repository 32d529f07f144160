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
import type { DType } from "../dtype.ts";
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

function unary(name: string, js: Render, deriv?: Deriv, dtype?: Primitive["dtype"]): Primitive {
  if (!deriv) return { name, kind: "elementwise", arity: 1, js, dtype, ...ZERO };
  const d = (e: Eqn) => deriv(e.src[0], e.out);
  return {
    name,
    kind: "elementwise",
    arity: 1,
    js,
    dtype,
    batch,
    vjp: (ct, e) => [B.mul(ct, d(e))],
    jvp: ([t], e) => (t ? B.mul(t, d(e)) : null),
  };
}

function binary(
  name: string,
  js: Render,
  partials?: Partials,
  dtype?: Primitive["dtype"],
): Primitive {
  if (!partials) {
    return {
      name,
      kind: "elementwise",
      arity: 2,
      js,
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
function linear(p: Primitive, vjp: Primitive["vjp"], jvp: Primitive["jvp"]): Primitive {
  return { ...p, vjp, jvp };
}

const fn = (f: string): Render => ([a]) => `${f}(${a})`;
const intOr = (int: Render, float: Render): Render => (a, d, i, arg) =>
  isInt(d) ? int(a, d, i, arg) : float(a, d, i, arg);
const one = (x: Node) => B.konst(1, x);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Unary math. */
export const UNARY: Primitive[] = [
  linear(
    unary("neg", intOr(([a]) => `(-${a}|0)`, ([a]) => `(-${a})`)),
    (ct) => [B.neg(ct)],
    ([t]) => (t ? B.neg(t) : null),
  ),
  unary("abs", intOr(([a]) => `(Math.abs(${a})|0)`, fn("Math.abs")), (x) => B.sign(x)),
  unary("sign", fn("Math.sign")),
  unary("exp", fn("Math.exp"), (_x, y) => y),
  unary("log", fn("Math.log"), (x) => B.div(1, x)),
  unary("log1p", fn("Math.log1p"), (x) => B.div(1, B.add(x, 1))),
  unary("expm1", fn("Math.expm1"), (_x, y) => B.add(y, 1)),
  unary("sqrt", fn("Math.sqrt"), (_x, y) => B.div(0.5, y)),
  unary("rsqrt", ([a]) => `(1/Math.sqrt(${a}))`, (_x, y) => B.mul(B.mul(B.mul(y, y), y), -0.5)),
  unary("sin", fn("Math.sin"), (x) => B.cos(x)),
  unary("cos", fn("Math.cos"), (x) => B.neg(B.sin(x))),
  unary("tanh", fn("Math.tanh"), (_x, y) => B.sub(1, B.mul(y, y))),
  unary("sigmoid", ([a]) => `(1/(1+Math.exp(-${a})))`, (_x, y) => B.mul(y, B.sub(1, y))),
  unary(
    "relu",
    ([a]) => `(${a} > 0 ? ${a} : ${a} === ${a} ? 0 : ${a})`,
    (x) => B.where(B.less(0, x), one(x), 0),
  ),
  unary("erf", fn("H.erf"), (x) => B.mul(B.exp(B.neg(B.mul(x, x))), TWO_OVER_SQRT_PI)),
  unary("floor", fn("Math.floor")),
  unary("ceil", fn("Math.ceil")),
  unary("round", fn("H.roundEven")),
  unary("logicalNot", ([a]) => `(${a} ? 0 : 1)`),
  unary("isnan", ([a]) => `(${a} !== ${a} ? 1 : 0)`, undefined, toBool),
  unary("isfinite", ([a]) => `(Number.isFinite(${a}) ? 1 : 0)`, undefined, toBool),
  unary("bitNot", ([a]) => `(~${a})`),
];

const isFloatD = (d: DType) => d === "float32" || d === "float64";

/** `cast`: arg is the target dtype. Differentiable between float dtypes. */
export const CAST: Primitive = {
  name: "cast",
  kind: "elementwise",
  arity: 1,
  dtype: (_src, arg) => arg as DType,
  batch,
  js: ([a], d, from) => {
    if (d === from || d === "float64") return a;
    if (d === "float32") return `Math.fround(${a})`;
    if (d === "bool") return `(${a} !== 0 ? 1 : 0)`; // NaN is true, as in numpy
    return from === "bool" ? a : `(Math.trunc(${a})|0)`;
  },
  vjp: (
    ct,
    e,
  ) => [isFloatD(e.src[0].dtype) && isFloatD(e.out.dtype) ? B.cast(ct, e.src[0].dtype) : null],
  jvp: ([t], e) => (t && isFloatD(e.out.dtype) ? B.cast(t, e.out.dtype) : null),
};

/** `stopGradient`: the identity whose derivative is zero in both modes. */
export const STOP_GRADIENT: Primitive = {
  name: "stopGradient",
  kind: "elementwise",
  arity: 1,
  js: ([a]) => a,
  ...ZERO,
};

const tie = (a: Node, b: Node, win: (a: Node, b: Node) => Node): [Node, Node] => {
  // 1 where `a` wins, 0.5 on ties, 0 where it loses; `b` gets the complement.
  const pa = B.where(win(a, b), one(a), B.where(B.equal(a, b), B.konst(0.5, a), 0));
  return [pa, B.sub(1, pa)];
};

/** Binary arithmetic, comparisons, logic and bit ops. */
export const BINARY: Primitive[] = [
  linear(
    binary("add", intOr(([a, b]) => `((${a}+${b})|0)`, ([a, b]) => `(${a}+${b})`)),
    (ct) => [ct, ct],
    ([ta, tb]) => B.addOpt(ta, tb),
  ),
  linear(
    binary("sub", intOr(([a, b]) => `((${a}-${b})|0)`, ([a, b]) => `(${a}-${b})`)),
    (ct) => [ct, B.neg(ct)],
    ([ta, tb]) => B.addOpt(ta, tb && B.neg(tb)),
  ),
  binary(
    "mul",
    intOr(([a, b]) => `Math.imul(${a},${b})`, ([a, b]) => `(${a}*${b})`),
    (a, b) => [b, a],
  ),
  binary("div", ([a, b]) => `(${a}/${b})`, (_a, b, y) => [B.div(1, b), B.neg(B.div(y, b))]),
  binary(
    "pow",
    intOr(([a, b]) => `((${a}**${b})|0)`, ([a, b]) => `(${a}**${b})`),
    // d/da = b·a^(b-1); d/db = y·log(a), with log(0) replaced by 0 (as JAX) so 0^b stays finite.
    (a, b, y) => [
      // 0 where b = 0 (d/da a⁰ = 0, also at a = 0), as JAX.
      B.where(B.equal(b, 0), 0, B.mul(b, B.pow(a, B.sub(b, 1)))),
      B.mul(y, B.log(B.where(B.equal(a, 0), one(a), a))),
    ],
  ),
  binary("maximum", ([a, b]) => `Math.max(${a},${b})`, (a, b) => tie(a, b, (x, y) => B.less(y, x))),
  binary("minimum", ([a, b]) => `Math.min(${a},${b})`, (a, b) => tie(a, b, (x, y) => B.less(x, y))),
  // Floor division and modulo with the divisor's sign (Python/numpy semantics).
  binary(
    "idiv",
    intOr(([a, b]) => `(Math.floor(${a}/${b})|0)`, ([a, b]) => `Math.floor(${a}/${b})`),
  ),
  binary(
    "mod",
    intOr(([a, b]) => `H.imod(${a},${b})`, ([a, b]) => `H.fmod(${a},${b})`),
    (a, b) => [one(a), B.neg(B.floor(B.div(a, b)))],
  ),
  binary("less", ([a, b]) => `(${a} < ${b} ? 1 : 0)`, undefined, toBool),
  binary("lessEqual", ([a, b]) => `(${a} <= ${b} ? 1 : 0)`, undefined, toBool),
  binary("equal", ([a, b]) => `(${a} === ${b} ? 1 : 0)`, undefined, toBool),
  binary("notEqual", ([a, b]) => `(${a} !== ${b} ? 1 : 0)`, undefined, toBool),
  binary("logicalAnd", ([a, b]) => `(${a} && ${b} ? 1 : 0)`),
  binary("logicalOr", ([a, b]) => `(${a} || ${b} ? 1 : 0)`),
  binary("bitAnd", ([a, b]) => `(${a} & ${b})`),
  binary("bitOr", ([a, b]) => `(${a} | ${b})`),
  binary("bitXor", ([a, b]) => `(${a} ^ ${b})`),
  binary("shl", ([a, b]) => `(${a} << ${b})`),
  // Logical shift right of the 32 bits, reinterpreted as int32.
  binary("shr", ([a, b]) => `((${a} >>> ${b})|0)`),
];

/** `where(cond, x, y)`: the cotangent goes to the taken branch only. */
export const WHERE: Primitive = {
  name: "where",
  kind: "elementwise",
  arity: 3,
  js: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
  dtype: (src) => src[1],
  batch,
  vjp: (ct, e) => [null, B.where(e.src[0], ct, 0), B.where(e.src[0], 0, ct)],
  jvp: ([, ta, tb], e) => {
    if (!ta && !tb) return null;
    return B.where(e.src[0], ta ?? B.konst(0, e.out), tb ?? B.konst(0, e.out));
  },
};

register(...UNARY, CAST, STOP_GRADIENT, ...BINARY, WHERE);
