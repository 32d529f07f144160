/**
 * Discrete random draws for `random.ts`: `bernoulli`, `randint`, `categorical` and `permutation`.
 * @module
 */
import { isFloat } from "../dtype.ts";
import { makeLeaf } from "../ir/graph.ts";
import { broadcastShapes, fmt, normAxis, shapeEq } from "../shape.ts";
import { asTensor, type TensorLike, wrap } from "../tensor/convert.ts";
import {
  add,
  astype,
  bitwiseAnd,
  bitwiseOr,
  bitwiseXor,
  equal,
  greaterEqual,
  less,
  lessEqual,
  log,
  logicalAnd,
  logicalOr,
  mod,
  mul,
  neg,
  shiftLeft,
  shiftRightLogical,
  where,
} from "../tensor/elementwise.ts";
import { take } from "../tensor/indexing.ts";
import { broadcastTo, expandDims, reshape, slice } from "../tensor/movement.ts";
import { argmax, sum } from "../tensor/reduce.ts";
import { Tensor } from "../tensor/tensor.ts";
import { checkBroadcast, type FloatDType, scaleUnit, unitFloat } from "./floats.ts";
import {
  bits,
  checkKey,
  checkShapeArg,
  INT32_MAX,
  INT32_MIN,
  minus,
  split,
  TWO_32,
} from "./keys.ts";
import { checkOptions, describe, shapeError, typeError, userOp } from "../errors.ts";

/** Options of `categorical`. */
export interface CategoricalOptions {
  /** The axis of `logits` holding the categories (default -1). */
  axis?: number;
  /**
   * Result shape (default: `logits.shape` without `axis`); it must end with a shape that the
   * batch shape broadcasts to, and leading axes draw independent samples.
   */
  shape?: readonly number[];
}

/** Options of `permutation`. */
export interface PermutationOptions {
  /** Axis of a tensor argument to permute (default 0). */
  axis?: number;
}

/**
 * Booleans that are true with probability `p` (a number or a float tensor; default 0.5), of
 * `shape` (default: `p`'s shape), as `jax.random.bernoulli`: `uniform(key, shape) < p`.
 * @example const keep = k.random.bernoulli(key, 0.9, [32, 128]);
 */
export function bernoulli(key: Tensor, p: TensorLike = 0.5, shape?: readonly number[]): Tensor {
  return userOp("random.bernoulli", () => {
    const kk = checkKey("bernoulli", key);
    const pt = p instanceof Tensor ? p : null;
    if (!pt && typeof p !== "number") {
      throw typeError("random.bernoulli", "p must be a number or a float tensor");
    }
    const dtype: FloatDType = pt?.dtype === "float64" ? "float64" : "float32";
    const pp = pt ? (isFloat(pt.dtype) ? pt : astype(pt, "float32")) : p;
    const s = shape === undefined ? [...(pt?.shape ?? [])] : checkShapeArg("bernoulli", shape);
    checkBroadcast("bernoulli", s, pp);
    return less(unitFloat(kk, s, dtype), pp);
  });
}

/** Unsigned 32-bit `a mod s` of uint32 bit patterns in int32 tensors; `s = 0` gives `a` (XLA). */
function urem(a: Tensor, s: Tensor | number): Tensor {
  /** `x >= s` as unsigned words: signed comparison with the sign bits flipped. */
  const sFlip = typeof s === "number" ? (s ^ INT32_MIN) : bitwiseXor(s, INT32_MIN);
  const uge = (x: Tensor) => greaterEqual(bitwiseXor(x, INT32_MIN), sFlip);
  const negS = typeof s === "number" ? -(s | 0) : mul(s, -1);
  if (typeof s === "number") {
    // `s` is a uint32 value known on the host.
    if (s === 0) return a;
    if ((s & (s - 1)) === 0) return bitwiseAnd(a, (s - 1) | 0);
    if (s > 2 ** 30) {
      // The quotient is at most 3: subtract `s` while the remainder is still >= s.
      let r = a;
      for (let i = 0; i < (s >= 2 ** 31 ? 1 : 3); i++) r = where(uge(r), add(r, negS), r);
      return r;
    }
    // Horner over chunks of `a` from the top: with s <= 2^b, r < s and a c-bit chunk,
    // r·2^c + chunk < 2^(b+c) <= 2^31 stays a non-negative int32, so signed `mod` is exact.
    const c = 31 - (32 - Math.clz32(s - 1));
    let r: Tensor | null = null;
    for (let pos = 32; pos > 0;) {
      const width = r === null ? ((32 - 1) % c) + 1 : c;
      pos -= width;
      const chunk = bitwiseAnd(shiftRightLogical(a, pos), (1 << width) - 1);
      r = mod(r === null ? chunk : bitwiseOr(shiftLeft(r, width), chunk), s);
    }
    return r!;
  }
  // Binary long division, one bit of `a` per step. `r` stays below `s` after every step; when
  // `r` has its top bit set, `2r + bit` overflows 32 bits and certainly exceeds `s`.
  let r: Tensor | null = null;
  for (let bit = 31; bit >= 0; bit--) {
    const next = bitwiseAnd(shiftRightLogical(a, bit), 1);
    const r2 = r === null ? next : bitwiseOr(shiftLeft(r, 1), next);
    const over = r === null ? uge(r2) : logicalOr(less(r, 0), uge(r2));
    r = where(over, add(r2, negS), r2);
  }
  return r!;
}

function intBound(op: string, x: TensorLike, what: string): Tensor | number {
  if (x instanceof Tensor) return x.dtype === "int32" ? x : astype(x, "int32");
  if (typeof x !== "number" || Number.isNaN(x)) {
    throw typeError(
      `random.${op}`,
      `${what} must be an integer or an int32 tensor, got ${describe(x)}`,
    );
  }
  return Math.trunc(x);
}

/**
 * Uniform int32 integers in `[minval, maxval)` (numbers or tensors broadcasting to `shape`),
 * bit-for-bit `jax.random.randint` (a slightly biased modulo of 64 random bits when the span is
 * not a power of two; `maxval <= minval` gives `minval`).
 * @example const idx = k.random.randint(key, [8], 0, 10);
 */
export function randint(
  key: Tensor,
  shape: readonly number[],
  minval: TensorLike,
  maxval: TensorLike,
): Tensor {
  return userOp("random.randint", () => {
    const kk = checkKey("randint", key);
    const s = checkShapeArg("randint", shape);
    const lo = intBound("randint", minval, "minval");
    const hi = intBound("randint", maxval, "maxval");
    checkBroadcast("randint", s, lo, hi);
    const [k1, k2] = split(kk, 2);
    const higher = bits(k1, s), lower = bits(k2, s);
    let offset: Tensor;
    let base: TensorLike;
    if (typeof lo === "number" && typeof hi === "number") {
      const outOfRange = hi > INT32_MAX;
      const a = Math.min(Math.max(lo, INT32_MIN), INT32_MAX);
      const b = Math.min(Math.max(hi, INT32_MIN), INT32_MAX);
      let span = b <= a ? 1 : b - a;
      if (outOfRange && b > a) span = (span + 1) % TWO_32;
      // multiplier = 2^32 mod span via (2^16 mod span)² mod span, with JAX's wrapping uint32
      // product (so spans above 2^16 get multiplier 0 and only the low draw counts, as in JAX).
      const m1 = span === 0 ? 0 : 65536 % span;
      const mult = span === 0 ? 0 : (Math.imul(m1, m1) >>> 0) % span;
      const mixed = add(mul(urem(higher, span), mult | 0), urem(lower, span));
      offset = urem(mixed, span);
      base = a;
    } else {
      const a = lo instanceof Tensor ? lo : wrap(makeLeaf("const", lo, [], "int32", kk.device));
      const b = hi instanceof Tensor ? hi : wrap(makeLeaf("const", hi, [], "int32", kk.device));
      const span = where(lessEqual(b, a), 1, minus(b, a));
      const m1 = urem(
        broadcastTo(wrap(makeLeaf("const", 65536, [], "int32", kk.device)), span.shape),
        span,
      );
      const mult = urem(mul(m1, m1), span);
      offset = urem(add(mul(urem(higher, span), mult), urem(lower, span)), span);
      base = a;
    }
    const out = add(base, offset);
    return out.shape.length === s.length ? out : broadcastTo(out, s);
  });
}

/** Forces `t` into its own kernel output (a broadcast of a computed value is materialized). */
function materialize(t: Tensor): Tensor {
  // Kiln's argmax compares a recomputed float32 expression (evaluated in float64 inside a
  // kernel) with the stored, rounded row maximum, so on a fused input it can miss every index.
  // Reading the values from one buffer makes the comparison exact.
  const b = broadcastTo(expandDims(t, 0), [2, ...t.shape]);
  return reshape(slice(b, [[0, 1]]), t.shape);
}

/**
 * Samples category indices (int32) from unnormalized log-probabilities along `axis`, by the
 * Gumbel-max trick `argmax(logits + gumbel)`, as `jax.random.categorical`.
 * @example const tokens = k.random.categorical(key, logits, { axis: -1 });
 */
export function categorical(
  key: Tensor,
  logits: TensorLike,
  opts: CategoricalOptions = {},
): Tensor {
  return userOp("random.categorical", () => {
    const kk = checkKey("categorical", key);
    checkOptions("random.categorical", opts, ["axis", "shape"]);
    let l = asTensor("random.categorical", logits, "logits");
    if (l.ndim === 0) throw shapeError("random.categorical", "logits must have at least one axis");
    // float16 logits draw their Gumbel noise in float32 (float16's tiniest normal is too coarse).
    if (!isFloat(l.dtype) || l.dtype === "float16") l = astype(l, "float32");
    const dtype = l.dtype as FloatDType;
    const axis = normAxis("random.categorical", opts.axis ?? -1, l.ndim);
    const batch = l.shape.filter((_, i) => i !== axis);
    const shape = opts.shape === undefined ? batch : checkShapeArg("categorical", opts.shape);
    if (
      shape.length < batch.length ||
      !shapeEq(broadcastShapes("random.categorical", shape, batch), shape)
    ) {
      throw shapeError(
        "random.categorical",
        `shape ${fmt(shape)} is not compatible with the batch shape ` +
          `${fmt(batch)} of logits ${fmt(l.shape)} (axis ${axis})`,
      );
    }
    const prefix = shape.slice(0, shape.length - batch.length);
    const noiseShape = [...prefix, ...shape.slice(prefix.length)];
    noiseShape.splice(prefix.length + axis, 0, l.shape[axis]);
    const tiny = dtype === "float32" ? 2 ** -126 : 2 ** -1022;
    const u = scaleUnit(unitFloat(kk, noiseShape, dtype), tiny, 1, dtype, noiseShape);
    const gumbel = neg(log(neg(log(u))));
    const lx = reshape(l, [...prefix.map(() => 1), ...l.shape]);
    const z = add(gumbel, lx);
    return argmax(materialize(z), { axis: prefix.length + axis });
  });
}

/**
 * Stable sort of `x` (int32 `[n]`) by the unsigned words `keys`: rank every element by an
 * O(n²) comparison count, then gather by rank with a second O(n²) reduction.
 */
function sortByKeys(keys: Tensor, x: Tensor): Tensor {
  const n = x.shape[0];
  const dev = x.device;
  const sk = bitwiseXor(keys, INT32_MIN); // unsigned order as signed order
  const sq = [n, n];
  const si = broadcastTo(reshape(sk, [1, n]), sq); // [j, i] -> key i
  const sj = broadcastTo(reshape(sk, [n, 1]), sq); // [j, i] -> key j
  const ii = wrap(makeLeaf("iota", 1, sq, "int32", dev));
  const jj = wrap(makeLeaf("iota", 0, sq, "int32", dev));
  const before = logicalOr(less(si, sj), logicalAnd(equal(si, sj), less(ii, jj)));
  const rank = sum(before, { axis: 1 }); // int32 [n]: final position of element j
  const hit = equal(broadcastTo(reshape(rank, [1, n]), sq), jj); // [r, j]: rank_j == r
  return sum(where(hit, broadcastTo(reshape(x, [1, n]), sq), 0), { axis: 1 });
}

/**
 * A random permutation of `0..n-1` (int32), or of a tensor along `axis`, as
 * `jax.random.permutation` (same rounds of key sorting, same result). O(n²) work per round:
 * fine up to about 10^4 elements. @example const order = k.random.permutation(key, 100);
 */
export function permutation(
  key: Tensor,
  x: number | Tensor,
  opts: PermutationOptions = {},
): Tensor {
  return userOp("random.permutation", () => {
    let kk = checkKey("permutation", key);
    checkOptions("random.permutation", opts, ["axis"]);
    if (x instanceof Tensor) {
      if (x.ndim === 0) throw shapeError("random.permutation", "x must have at least one axis");
      const axis = normAxis("random.permutation", opts.axis ?? 0, x.ndim);
      return take(x, permutation(kk, x.shape[axis]), { axis });
    }
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > INT32_MAX) {
      throw typeError(
        "random.permutation",
        `x must be a non-negative integer or a tensor, got ${describe(x)}`,
      );
    }
    const n = x;
    let out = wrap(makeLeaf("iota", 0, [n], "int32", kk.device));
    const rounds = Math.ceil(3 * Math.log(Math.max(1, n)) / Math.log(TWO_32 - 1));
    for (let r = 0; r < rounds; r++) {
      const [next, subkey] = split(kk, 2);
      kk = next;
      out = sortByKeys(bits(subkey, [n]), out);
    }
    return out;
  });
}
