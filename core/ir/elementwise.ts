/**
 * Elementwise primitive records (unary, binary, ternary, cast), with their derivatives.
 *
 * The records hold semantics only: each backend renders them from its own table keyed by
 * `ElementwiseName` (`core/backends/cpu/renders.ts`, `core/backends/webgpu/renders.ts`), and
 * constant folding evaluates them with `evaluate.ts`.
 *
 * Derivatives: a unary op gives `d(x, y)` = dy/dx and a binary op its two partials; VJP and
 * JVP both follow from those (`ct·d`, `t·d`). Ties of `maximum`/`minimum` split the gradient
 * evenly (as JAX); `relu'(0) = 0`; comparisons, rounding and integer ops have none.
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";
import { TWO_OVER_SQRT_PI } from "../scalar.ts";
import * as B from "./build.ts";
import type { Node } from "./node.ts";
import {
  type Eqn,
  type JvpRule,
  type Primitive,
  register,
  type RuledPrimitive as Ruled,
  type VjpRule,
} from "./primitive.ts";
import { batchElementwise as batch } from "./batching.ts";

const toBool = (): DType => "bool";

type Deriv = (x: Node, y: Node) => Node;
type Partials = (a: Node, b: Node, y: Node) => [Node | null, Node | null];

/** Explicitly zero derivatives (piecewise-constant ops): distinct from a missing rule. */
const ZERO = { vjp: () => [null], jvp: () => null, batch };

function unary<N extends string>(
  name: N,
  deriv?: Deriv,
  dtype?: Primitive["dtype"],
): Ruled<N> {
  if (!deriv) return { name, kind: "elementwise", arity: 1, dtype, ...ZERO };
  const d = (e: Eqn) => deriv(e.src[0], e.out);
  return {
    name,
    kind: "elementwise",
    arity: 1,
    dtype,
    batch,
    vjp: (ct, e) => [B.mul(ct, d(e))],
    jvp: ([t], e) => (t ? B.mul(t, d(e)) : null),
  };
}

function binary<N extends string>(
  name: N,
  partials?: Partials,
  dtype?: Primitive["dtype"],
): Ruled<N> {
  if (!partials) {
    return {
      name,
      kind: "elementwise",
      arity: 2,
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
function linear<N extends string>(p: Ruled<N>, vjp: VjpRule, jvp: JvpRule): Ruled<N> {
  return { ...p, vjp, jvp };
}

const one = (x: Node) => B.konst(1, x);

/** Unary math. */
export const UNARY = [
  linear(unary("neg"), (ct) => [B.neg(ct)], ([t]) => (t ? B.neg(t) : null)),
  unary("abs", (x) => B.sign(x)),
  unary("sign"),
  unary("exp", (_x, y) => y),
  unary("log", (x) => B.div(1, x)),
  unary("log1p", (x) => B.div(1, B.add(x, 1))),
  unary("expm1", (_x, y) => B.add(y, 1)),
  unary("sqrt", (_x, y) => B.div(0.5, y)),
  unary("rsqrt", (_x, y) => B.mul(B.mul(B.mul(y, y), y), -0.5)),
  unary("sin", (x) => B.cos(x)),
  unary("cos", (x) => B.neg(B.sin(x))),
  unary("tanh", (_x, y) => B.sub(1, B.mul(y, y))),
  unary("sigmoid", (_x, y) => B.mul(y, B.sub(1, y))),
  unary("relu", (x) => B.where(B.less(0, x), one(x), 0)),
  unary("erf", (x) => B.mul(B.exp(B.neg(B.mul(x, x))), TWO_OVER_SQRT_PI)),
  unary("floor"),
  unary("ceil"),
  // Half to even (numpy / PyTorch).
  unary("round"),
  unary("logicalNot"),
  unary("isnan", undefined, toBool),
  unary("isfinite", undefined, toBool),
  unary("bitNot"),
] as const;

/**
 * `cast`: arg is the target dtype. Differentiable between float dtypes. Float to int truncates
 * and wraps modulo 2^32 (JavaScript's `|0`); to bool, NaN is true (numpy).
 */
export const CAST: Ruled<"cast"> = {
  name: "cast",
  kind: "elementwise",
  arity: 1,
  dtype: (_src, arg) => arg as DType,
  batch,
  vjp: (
    ct,
    e,
  ) => [isFloat(e.src[0].dtype) && isFloat(e.out.dtype) ? B.cast(ct, e.src[0].dtype) : null],
  jvp: ([t], e) => (t && isFloat(e.out.dtype) ? B.cast(t, e.out.dtype) : null),
};

/** `stopGradient`: the identity whose derivative is zero in both modes. */
export const STOP_GRADIENT: Ruled<"stopGradient"> = {
  name: "stopGradient",
  kind: "elementwise",
  arity: 1,
  ...ZERO,
};

const tie = (a: Node, b: Node, win: (a: Node, b: Node) => Node): [Node, Node] => {
  // 1 where `a` wins, 0.5 on ties, 0 where it loses; `b` gets the complement.
  const pa = B.where(win(a, b), one(a), B.where(B.equal(a, b), B.konst(0.5, a), 0));
  return [pa, B.sub(1, pa)];
};

/** Binary arithmetic, comparisons, logic and bit ops. */
export const BINARY = [
  linear(binary("add"), (ct) => [ct, ct], ([ta, tb]) => B.addOpt(ta, tb)),
  linear(binary("sub"), (ct) => [ct, B.neg(ct)], ([ta, tb]) => B.addOpt(ta, tb && B.neg(tb))),
  binary("mul", (a, b) => [b, a]),
  binary("div", (_a, b, y) => [B.div(1, b), B.neg(B.div(y, b))]),
  // d/da = b·a^(b-1); d/db = y·log(a), with log(0) replaced by 0 (as JAX) so 0^b stays finite.
  binary("pow", (a, b, y) => [
    // 0 where b = 0 (d/da a⁰ = 0, also at a = 0), as JAX.
    B.where(B.equal(b, 0), 0, B.mul(b, B.pow(a, B.sub(b, 1)))),
    B.mul(y, B.log(B.where(B.equal(a, 0), one(a), a))),
  ]),
  binary("maximum", (a, b) => tie(a, b, (x, y) => B.less(y, x))),
  binary("minimum", (a, b) => tie(a, b, (x, y) => B.less(x, y))),
  // Floor division and modulo with the divisor's sign (Python/numpy semantics).
  binary("idiv"),
  binary("mod", (a, b) => [one(a), B.neg(B.floor(B.div(a, b)))]),
  binary("less", undefined, toBool),
  binary("lessEqual", undefined, toBool),
  binary("equal", undefined, toBool),
  binary("notEqual", undefined, toBool),
  binary("logicalAnd"),
  binary("logicalOr"),
  binary("bitAnd"),
  binary("bitOr"),
  binary("bitXor"),
  binary("shl"),
  // Logical shift right of the 32 bits, reinterpreted as int32.
  binary("shr"),
] as const;

/** `where(cond, x, y)`: the cotangent goes to the taken branch only. */
export const WHERE: Ruled<"where"> = {
  name: "where",
  kind: "elementwise",
  arity: 3,
  dtype: (src) => src[1],
  batch,
  vjp: (ct, e) => [null, B.where(e.src[0], ct, 0), B.where(e.src[0], 0, ct)],
  jvp: ([, ta, tb], e) => {
    if (!ta && !tb) return null;
    return B.where(e.src[0], ta ?? B.konst(0, e.out), tb ?? B.konst(0, e.out));
  },
};

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
