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
export { bits, foldIn, key, type KeyOptions, split } from "./keys.ts";
export {
  type FloatDType,
  type FloatOptions,
  normal,
  truncatedNormal,
  uniform,
  type UniformOptions,
} from "./floats.ts";
export {
  bernoulli,
  categorical,
  type CategoricalOptions,
  permutation,
  type PermutationOptions,
  randint,
} from "./discrete.ts";
export { threefry2x32 } from "./threefry.ts";
