/**
 * Keyed, splittable pseudo-random numbers with the semantics of `jax.random` (default
 * `threefry2x32` implementation, `jax_threefry_partitionable=True`, JAX's default since 0.5).
 *
 * There is no hidden state: a *key* is an int32 tensor of shape `[2]` holding two uint32 words,
 * and every function maps `(key, …)` to the same values every time. Derive independent keys with
 * `split` or `foldIn`; never reuse a key for two purposes.
 *
 * Everything is built from lazy tensor ops (Threefry-2x32 rounds as wrapping int32 adds, shifts
 * and xors), so a draw fuses into the kernel that consumes it and no random numbers are made in
 * host loops. (A key that is itself still lazy, fresh from `split`/`foldIn`, is computed by one
 * extra tiny kernel when first used; `categorical` and `permutation` also materialize
 * intermediates, see below.) Integer results are bit-for-bit what JAX returns; float results
 * agree with JAX up to float rounding of the last steps (JAX rounds every step to float32, Kiln's
 * CPU kernels compute fused float32 chains in float64 and round once on store).
 *
 * How keys and counters map (T(k, c) is the Threefry-2x32 hash of the counter words c under the
 * key words k; flat row-major indices i are < 2^31):
 * - `key(seed)` = `[seed >> 32, seed & 0xffffffff]` (JAX's `threefry_seed` for a 64-bit seed;
 *   for 0 <= seed < 2^32 this is `[0, seed]`).
 * - `split(key, n)[i]` = T(key, [0, i]) (JAX's `_threefry_split_foldlike`: the hashed
 *   `iota_2x32_shape` counter).
 * - `foldIn(key, d)` = T(key, [0, d mod 2^32]) (JAX's `threefry_fold_in`: the hash of
 *   `threefry_seed(uint32(d))`). So `split(key, n)[i]` equals `foldIn(key, i)`, as in JAX.
 * - `bits(key, shape)[i]` = `y0 ^ y1` with `[y0, y1]` = T(key, [0, i]) (JAX's
 *   `_threefry_random_bits_partitionable`, 32-bit); 64-bit draws (float64) use `y0 << 32 | y1`.
 * - `uniform`: JAX's mantissa trick, written as `(bits >>> 9) · 2^-23` (float64:
 *   `(bits64 >>> 12) · 2^-52`), then `max(minval, u·(maxval - minval) + minval)`. With number
 *   bounds the result is also clamped below `maxval`, so rounding can never return `maxval`
 *   (JAX can return it when the scaled value rounds up).
 * - `normal`: JAX's inverse-CDF method `√2 · erfinv(u)` with `u` uniform on
 *   `[nextafter(-1, 0), 1)`. `erfinv` is Giles' single-precision polynomial (the one XLA uses for
 *   float32); float64 refines it with Newton steps on `erf` (and, in the far tails, on `log erfc`
 *   through its continued fraction).
 * - `randint`: JAX's algorithm (two 32-bit draws from `split(key)`, combined modulo the span with
 *   unsigned 32-bit arithmetic, including JAX's wrapping multiplier that drops the high draw
 *   for spans above 2^16), so it returns JAX's integers. Tensor bounds use a 32-step long
 *   division per remainder (slower than number bounds, whose modulus is known on the host).
 * - `permutation`: JAX's `_shuffle` (⌈3·ln n / ln(2^32 - 1)⌉ rounds of a stable sort by fresh
 *   32-bit keys). There is no sort primitive, so each round ranks the keys with an O(n²)
 *   comparison-count reduction and scatters by another O(n²) reduction: fine up to about 10^4
 *   elements (10^8 comparisons per reduction, about 2 s on the CPU backend), slow beyond.
 * - `categorical`: Gumbel-max, `argmax(logits - log(-log(u)))` with `u` uniform on
 *   `[tiny, 1)`, as JAX's default `mode="low"`; the noisy logits are materialized before the
 *   argmax (one kernel), then the argmax runs as usual.
 * - `truncatedNormal`: inverse CDF, `√2 · erfinv(uniform(erf(lower/√2), erf(upper/√2)))`,
 *   clipped to the open interval `(lower, upper)`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const key = k.random.key(0);
 * const [k1, k2] = k.random.split(key);
 * const x = k.random.normal(k1, [3, 4]);
 * const drop = k.random.bernoulli(k2, 0.9, [3, 4]);
 * console.log(await k.where(drop, x, 0).toArray());
 * ```
 * @module
 */
import { erf as hostErf } from "../scalar.ts";
import { isFloat, roundTo as roundToDtype } from "../dtype.ts";
import { makeLeaf } from "../ir/graph.ts";
import { broadcastShapes, checkShape, fmt, normAxis, numel, shapeEq } from "../shape.ts";
import { asTensor, type TensorLike, wrap } from "../tensor/convert.ts";
import { tensor } from "../tensor/creation.ts";
import { defaultDevice } from "../tensor/device.ts";
import {
  abs,
  add,
  astype,
  bitwiseAnd,
  bitwiseOr,
  bitwiseXor,
  clip,
  div,
  equal,
  erf,
  exp,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalOr,
  maximum,
  minimum,
  mod,
  mul,
  neg,
  shiftLeft,
  shiftRightLogical,
  sqrt,
  sub,
  where,
} from "../tensor/elementwise.ts";
import { take } from "../tensor/indexing.ts";
import { broadcastTo, expandDims, reshape, slice } from "../tensor/movement.ts";
import { argmax, sum } from "../tensor/reduce.ts";
import { Tensor } from "../tensor/tensor.ts";
import { threefry2x32 } from "./threefry.ts";

export { threefry2x32 } from "./threefry.ts";

/**
 * Float dtypes random floats can be drawn in (`float64` runs on the CPU backend only; float16
 * `uniform` draws 10 mantissa bits as JAX, `normal`/`truncatedNormal` compute in float32 and
 * round).
 */
export type FloatDType = "float16" | "float32" | "float64";

/** Options of `key`. */
export interface KeyOptions {
  /** Device of the key (default: the current default device); draws follow the key's device. */
  device?: string;
}

/** Options of `uniform`. */
export interface UniformOptions {
  /** Inclusive lower bound (default 0); a number or a tensor broadcasting to the shape. */
  minval?: TensorLike;
  /** Exclusive upper bound (default 1). */
  maxval?: TensorLike;
  /** Result dtype (default float32). */
  dtype?: FloatDType;
}

/** Options naming a float result dtype. */
export interface FloatOptions {
  /** Result dtype (default float32). */
  dtype?: FloatDType;
}

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

const TWO_32 = 4294967296;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SQRT2 = Math.SQRT2;

/**
 * `a - b`, written as `a + (-b)` (exact for floats and wrapping ints alike). Works around a CPU
 * codegen bug: a negative constant as the right operand of `sub` renders as `x--5`, which is a
 * syntax error.
 */
function minus(a: Tensor | number, b: Tensor | number): Tensor {
  return typeof b === "number" ? add(a, -b) : add(a, mul(b, -1));
}

// ---------------------------------------------------------------------------------------------
// Keys and raw bits

/**
 * A PRNG key from an integer seed: int32 `[2]` holding the uint32 words
 * `[seed >> 32, seed & 0xffffffff]` (so `[0, seed]` for `0 <= seed < 2^32`; a negative seed
 * gives `[0xffffffff, seed & 0xffffffff]`, as `jax.random.key` with 64-bit seeds).
 * @example const key = k.random.key(42); // int32 [0, 42]
 */
export function key(seed: number, opts: KeyOptions = {}): Tensor {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new TypeError(`random.key: seed must be a safe integer, got ${String(seed)}`);
  }
  const s = BigInt(seed);
  const hi = Number(BigInt.asIntN(32, s >> 32n));
  const lo = Number(BigInt.asIntN(32, s));
  return tensor(new Int32Array([hi, lo]), { device: opts.device ?? defaultDevice() });
}

function checkKey(op: string, k: unknown): Tensor {
  if (!(k instanceof Tensor) || k.dtype !== "int32" || !shapeEq(k.shape, [2])) {
    const got = k instanceof Tensor ? `${k.dtype}${fmt(k.shape)}` : typeof k;
    throw new TypeError(
      `random.${op}: key must be an int32 tensor of shape [2] (from random.key/split), got ${got}`,
    );
  }
  return k;
}

function checkShapeArg(op: string, shape: unknown): number[] {
  const s = checkShape(`random.${op}`, shape);
  if (numel(s) > INT32_MAX) {
    throw new RangeError(`random.${op}: shape ${fmt(s)} has more than 2^31 - 1 elements`);
  }
  return s;
}

/** The two key words as 0-d int32 tensors. */
function keyWords(k: Tensor): [Tensor, Tensor] {
  return [reshape(slice(k, [[0, 1]]), []), reshape(slice(k, [[1, 2]]), [])];
}

/** Row-major flat index over `shape` (int32). */
function flatIndex(shape: readonly number[], device: string): Tensor {
  return reshape(wrap(makeLeaf("iota", 0, [numel(shape)], "int32", device)), shape);
}

/** `[y0, y1]` = Threefry(key, [0, i]) for every flat index `i` of `shape`. */
function hashIndex(k: Tensor, shape: readonly number[]): [Tensor, Tensor] {
  const [k0, k1] = keyWords(k);
  return threefry2x32(k0, k1, 0, flatIndex(shape, k.device));
}

/** Keys `T(key, [0, c])` for the counters `c` of an int32 `[m]` tensor, as an int32 `[m, 2]`. */
function hashKeys(k: Tensor, counters: Tensor): Tensor {
  const m = counters.shape[0];
  const [k0, k1] = keyWords(k);
  const c = broadcastTo(reshape(counters, [m, 1]), [m, 2]);
  const [y0, y1] = threefry2x32(k0, k1, 0, c);
  const word = wrap(makeLeaf("iota", 1, [m, 2], "int32", k.device));
  return where(equal(word, 0), y0, y1);
}

/**
 * Splits a key into `n` new, independent keys (an array of int32 `[2]` tensors); key `i` is the
 * Threefry hash of the counter `[0, i]`, as `jax.random.split`.
 * @example const [key, sub] = k.random.split(k.random.key(0));
 */
export function split(key: Tensor, n = 2): Tensor[] {
  const kk = checkKey("split", key);
  if (!Number.isInteger(n) || n < 0 || n > INT32_MAX) {
    throw new RangeError(`random.split: n must be a non-negative integer, got ${n}`);
  }
  const all = hashKeys(kk, wrap(makeLeaf("iota", 0, [n], "int32", kk.device)));
  return Array.from({ length: n }, (_, i) => reshape(slice(all, [[i, i + 1]]), [2]));
}

/**
 * A new key from a key and an integer (its low 32 bits are used): the Threefry hash of the
 * counter `[0, data]`, as `jax.random.fold_in`.
 * @example const stepKey = k.random.foldIn(key, step);
 */
export function foldIn(key: Tensor, data: number): Tensor {
  const kk = checkKey("foldIn", key);
  if (typeof data !== "number" || !Number.isSafeInteger(data)) {
    throw new TypeError(`random.foldIn: data must be a safe integer, got ${String(data)}`);
  }
  const d = Number(BigInt.asIntN(32, BigInt(data)));
  const c = wrap(makeLeaf("const", d, [1], "int32", kk.device));
  return reshape(hashKeys(kk, c), [2]);
}

/**
 * Uniform random 32-bit words of the given shape, as int32 tensors holding the uint32 bit
 * patterns (`jax.random.bits` with the default 32-bit width).
 * @example const b = k.random.bits(key, [4]); // int32 bit patterns
 */
export function bits(key: Tensor, shape: readonly number[] = []): Tensor {
  const kk = checkKey("bits", key);
  const [y0, y1] = hashIndex(kk, checkShapeArg("bits", shape));
  return bitwiseXor(y0, y1);
}

// ---------------------------------------------------------------------------------------------
// Floats

function checkFloat(op: string, d: unknown): FloatDType {
  if (d === "float32" || d === "float64" || d === "float16") return d;
  throw new TypeError(
    `random.${op}: dtype must be "float16", "float32" or "float64", got ${String(d)}`,
  );
}

/** Rounds a host number to `dtype`. */
function roundTo(v: number, dtype: FloatDType): number {
  return roundToDtype(dtype, v);
}

/** The next representable `dtype` value after `v` toward `toward` (numpy `nextafter`). */
function nextAfter(v: number, toward: number, dtype: FloatDType): number {
  v = roundTo(v, dtype);
  toward = roundTo(toward, dtype);
  if (Number.isNaN(v) || Number.isNaN(toward)) return NaN;
  if (v === toward) return toward;
  const tiniest = dtype === "float32"
    ? 2 ** -149
    : dtype === "float16"
    ? 2 ** -24
    : Number.MIN_VALUE;
  if (v === 0) return (toward > 0 ? 1 : -1) * tiniest;
  const up = (toward > v) === (v > 0);
  if (dtype === "float16") {
    const f = new Float16Array([v]);
    const i = new Int16Array(f.buffer);
    i[0] += up ? 1 : -1;
    return f[0];
  }
  if (dtype === "float32") {
    const f = new Float32Array([v]);
    const i = new Int32Array(f.buffer);
    i[0] += up ? 1 : -1;
    return f[0];
  }
  const f = new Float64Array([v]);
  const i = new BigInt64Array(f.buffer);
  i[0] += up ? 1n : -1n;
  return f[0];
}

/** Uniform `[0, 1)` floats: JAX's mantissa trick as exact integer-to-float arithmetic. */
function unitFloat(k: Tensor, shape: readonly number[], dtype: FloatDType): Tensor {
  const [y0, y1] = hashIndex(k, shape);
  if (dtype === "float16") {
    // JAX draws float16 from 10 random bits: (bits >>> 22) · 2^-10, exact in float16.
    return mul(astype(shiftRightLogical(bitwiseXor(y0, y1), 22), "float16"), 2 ** -10);
  }
  if (dtype === "float32") {
    // bitcast((bits >>> 9) | bits(1.0f)) - 1 == (bits >>> 9) · 2^-23, exactly.
    return mul(astype(shiftRightLogical(bitwiseXor(y0, y1), 9), "float32"), 2 ** -23);
  }
  // 64-bit draw y0:y1; (bits64 >>> 12) · 2^-52 = y0 · 2^-32 + (y1 >>> 12) · 2^-52.
  const hi = add(
    mul(astype(shiftRightLogical(y0, 1), "float64"), 2),
    astype(bitwiseAnd(y0, 1), "float64"),
  );
  return add(mul(hi, 2 ** -32), mul(astype(shiftRightLogical(y1, 12), "float64"), 2 ** -52));
}

function floatArg(op: string, x: TensorLike, dtype: FloatDType, what: string): Tensor | number {
  if (x instanceof Tensor) return x.dtype === dtype ? x : astype(x, dtype);
  if (typeof x !== "number") {
    throw new TypeError(`random.${op}: ${what} must be a number or a tensor`);
  }
  return roundTo(x, dtype);
}

function checkBroadcast(op: string, shape: readonly number[], ...xs: TensorLike[]): void {
  const shapes = xs.filter((x): x is Tensor => x instanceof Tensor).map((t) => t.shape);
  const b = broadcastShapes(`random.${op}`, shape, ...shapes);
  if (!shapeEq(b, shape)) {
    throw new Error(
      `random.${op}: parameter shapes ${shapes.map(fmt).join(", ")} do not broadcast to the ` +
        `requested shape ${fmt(shape)}`,
    );
  }
}

/** `max(lo, u·(hi - lo) + lo)` as JAX, plus a clamp below `hi` for number bounds. */
function scaleUnit(
  u: Tensor,
  lo: Tensor | number,
  hi: Tensor | number,
  dtype: FloatDType,
  shape: readonly number[],
): Tensor {
  if (typeof lo === "number" && typeof hi === "number") {
    const span = roundTo(hi - lo, dtype);
    let out = u;
    if (span !== 1) out = mul(out, span);
    if (lo !== 0) out = add(out, lo);
    out = maximum(out, lo);
    if (hi > lo && Number.isFinite(hi)) out = minimum(out, nextAfter(hi, -Infinity, dtype));
    return out;
  }
  const out = maximum(add(mul(u, minus(hi, lo)), lo), lo);
  return out.shape.length === shape.length ? out : broadcastTo(out, shape);
}

/**
 * Uniform floats in `[minval, maxval)` (default `[0, 1)`), JAX's `uniform`: the top 23 bits of
 * a random word as the mantissa of a float in `[0, 1)`, then scaled.
 * @example const u = k.random.uniform(key, [2, 3], { minval: -1, maxval: 1 });
 */
export function uniform(
  key: Tensor,
  shape: readonly number[] = [],
  opts: UniformOptions = {},
): Tensor {
  const kk = checkKey("uniform", key);
  const s = checkShapeArg("uniform", shape);
  const dtype = checkFloat("uniform", opts.dtype ?? "float32");
  const lo = floatArg("uniform", opts.minval ?? 0, dtype, "minval");
  const hi = floatArg("uniform", opts.maxval ?? 1, dtype, "maxval");
  checkBroadcast("uniform", s, lo, hi);
  return scaleUnit(unitFloat(kk, s, dtype), lo, hi, dtype, s);
}

// Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision:
// the coefficients XLA's ErfInv uses for float32.
const ERFINV_CENTRAL = [
  2.81022636e-08,
  3.43273939e-07,
  -3.5233877e-06,
  -4.39150654e-06,
  0.00021858087,
  -0.00125372503,
  -0.00417768164,
  0.246640727,
  1.50140941,
];
const ERFINV_TAIL = [
  -0.000200214257,
  0.000100950558,
  0.00134934322,
  -0.00367342844,
  0.00573950773,
  -0.0076224613,
  0.00943887047,
  1.00167406,
  2.83297682,
];

/** Giles' single-precision erfinv on (-1, 1) (no edge handling). */
function erfinvGiles(x: Tensor): Tensor {
  const w0 = neg(log1p(neg(mul(x, x))));
  const central = less(w0, 5);
  const w = where(central, sub(w0, 2.5), sub(sqrt(w0), 3));
  let p: Tensor | number = 0;
  for (let i = 0; i < ERFINV_CENTRAL.length; i++) {
    const c = where(central, ERFINV_CENTRAL[i], ERFINV_TAIL[i]);
    p = i === 0 ? c : add(mul(p, w), c);
  }
  return mul(p as Tensor, x);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
/** Below this `1 - |x|` (|erfinv| > 3), float64 refines on `log erfc` instead of `erf`. */
const TAIL_Q = 2e-5;

/** `F(y)` with `erfc(y) = e^(-y²) / (√π F(y))`, by its continued fraction (y >= 3). */
function erfcFraction(y: Tensor): Tensor {
  let f = y;
  for (let n = 60; n >= 1; n--) f = add(y, div(n / 2, f));
  return f;
}

/** Inverse error function for float64: Giles' estimate refined by Newton steps. */
function erfinv64(x: Tensor): Tensor {
  // Central part: Newton on erf(y) = x from Giles' float32-accurate estimate.
  let y = erfinvGiles(x);
  for (let i = 0; i < 2; i++) {
    y = sub(y, div(sub(erf(y), x), mul(exp(neg(mul(y, y))), TWO_OVER_SQRT_PI)));
  }
  // Tails (|y| > 3): erf(y) - x cancels, so solve log erfc(t) = log q for q = 1 - |x| with
  // erfc(t) = e^(-t²) / (√π F(t)) and d/dt log erfc(t) = -2 F(t), starting from the asymptote.
  const q = minimum(sub(1, abs(x)), TAIL_Q);
  const L = neg(log(q));
  let t = sqrt(sub(L, log(sqrt(mul(L, Math.PI)))));
  for (let i = 0; i < 3; i++) {
    const F = erfcFraction(t);
    const h = add(sub(L, mul(t, t)), neg(log(mul(F, Math.sqrt(Math.PI)))));
    t = add(t, div(h, mul(F, 2)));
  }
  const tail = where(less(x, 0), neg(t), t);
  return where(less(sub(1, abs(x)), TAIL_Q), tail, y);
}

/** `erfinv` with `erfinv(±1) = ±∞`. */
function erfinv(x: Tensor, dtype: FloatDType): Tensor {
  const y = dtype === "float32" ? erfinvGiles(x) : erfinv64(x);
  return where(equal(abs(x), 1), mul(x, Infinity), y);
}

/**
 * Standard normal floats (mean 0, variance 1) by JAX's inverse-CDF method, `√2·erfinv(u)` with
 * `u` uniform on `(-1, 1)`. @example const z = k.random.normal(key, [1000]);
 */
export function normal(
  key: Tensor,
  shape: readonly number[] = [],
  opts: FloatOptions = {},
): Tensor {
  const kk = checkKey("normal", key);
  const s = checkShapeArg("normal", shape);
  const dtype = checkFloat("normal", opts.dtype ?? "float32");
  // float16 has too few bits for the inverse CDF's tails: compute in float32, round once.
  if (dtype === "float16") return astype(normal(key, shape, { dtype: "float32" }), "float16");
  const lo = nextAfter(-1, 0, dtype);
  const u = scaleUnit(unitFloat(kk, s, dtype), lo, 1, dtype, s);
  return mul(erfinv(u, dtype), SQRT2);
}

/**
 * Standard normal floats truncated to the open interval `(lower, upper)` (numbers or tensors
 * broadcasting to `shape`; `shape` defaults to their broadcast shape), by the inverse CDF as
 * `jax.random.truncated_normal`. Tensor bounds clip to the closed interval.
 * @example const w = k.random.truncatedNormal(key, -2, 2, [256, 128]);
 */
export function truncatedNormal(
  key: Tensor,
  lower: TensorLike,
  upper: TensorLike,
  shape?: readonly number[],
  opts: FloatOptions = {},
): Tensor {
  const kk = checkKey("truncatedNormal", key);
  const dtype = checkFloat("truncatedNormal", opts.dtype ?? "float32");
  if (dtype === "float16") {
    // Computed in float32; rounding may reach a bound, so clip again inside it in float16.
    const wide = (v: TensorLike) => v instanceof Tensor ? astype(v, "float32") : v;
    const r = astype(
      truncatedNormal(key, wide(lower), wide(upper), shape, { dtype: "float32" }),
      "float16",
    );
    const l16 = floatArg("truncatedNormal", lower, dtype, "lower");
    const u16 = floatArg("truncatedNormal", upper, dtype, "upper");
    return clip(
      r,
      typeof l16 === "number" ? nextAfter(l16, Infinity, dtype) : l16,
      typeof u16 === "number" ? nextAfter(u16, -Infinity, dtype) : u16,
    );
  }
  const lo = floatArg("truncatedNormal", lower, dtype, "lower");
  const hi = floatArg("truncatedNormal", upper, dtype, "upper");
  const bshape = broadcastShapes(
    "random.truncatedNormal",
    ...[lo, hi].filter((x): x is Tensor => x instanceof Tensor).map((t) => t.shape),
  );
  const s = shape === undefined ? bshape : checkShapeArg("truncatedNormal", shape);
  checkBroadcast("truncatedNormal", s, lo, hi);
  // Number bounds: the CDF values are host constants, so the draw stays one kernel.
  const cdf = (v: Tensor | number): Tensor | number =>
    v instanceof Tensor ? erf(div(v, SQRT2)) : roundTo(hostErf(roundTo(v / SQRT2, dtype)), dtype);
  const a = cdf(lo), b = cdf(hi);
  const span = typeof a === "number" && typeof b === "number" ? roundTo(b - a, dtype) : minus(b, a);
  const u = maximum(add(mul(unitFloat(kk, s, dtype), span), a), a);
  const out = mul(erfinv(u, dtype), SQRT2);
  const min = typeof lo === "number" ? nextAfter(lo, Infinity, dtype) : lo;
  const max = typeof hi === "number" ? nextAfter(hi, -Infinity, dtype) : hi;
  const r = clip(out, min, max);
  return r.shape.length === s.length ? r : broadcastTo(r, s);
}

// ---------------------------------------------------------------------------------------------
// Discrete

/**
 * Booleans that are true with probability `p` (a number or a float tensor; default 0.5), of
 * `shape` (default: `p`'s shape), as `jax.random.bernoulli`: `uniform(key, shape) < p`.
 * @example const keep = k.random.bernoulli(key, 0.9, [32, 128]);
 */
export function bernoulli(key: Tensor, p: TensorLike = 0.5, shape?: readonly number[]): Tensor {
  const kk = checkKey("bernoulli", key);
  const pt = p instanceof Tensor ? p : null;
  if (!pt && typeof p !== "number") {
    throw new TypeError("random.bernoulli: p must be a number or a float tensor");
  }
  const dtype: FloatDType = pt?.dtype === "float64" ? "float64" : "float32";
  const pp = pt ? (isFloat(pt.dtype) ? pt : astype(pt, "float32")) : p;
  const s = shape === undefined ? [...(pt?.shape ?? [])] : checkShapeArg("bernoulli", shape);
  checkBroadcast("bernoulli", s, pp);
  return less(unitFloat(kk, s, dtype), pp);
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
    throw new TypeError(`random.${op}: ${what} must be an integer or an int32 tensor`);
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
  const kk = checkKey("categorical", key);
  let l = asTensor("random.categorical", logits, "logits");
  if (l.ndim === 0) throw new Error("random.categorical: logits must have at least one axis");
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
    throw new Error(
      `random.categorical: shape ${fmt(shape)} is not compatible with the batch shape ` +
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
  let kk = checkKey("permutation", key);
  if (x instanceof Tensor) {
    if (x.ndim === 0) throw new Error("random.permutation: x must have at least one axis");
    const axis = normAxis("random.permutation", opts.axis ?? 0, x.ndim);
    return take(x, permutation(kk, x.shape[axis]), { axis });
  }
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > INT32_MAX) {
    throw new TypeError(
      `random.permutation: x must be a non-negative integer or a tensor, got ${String(x)}`,
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
}
