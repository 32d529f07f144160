/**
 * Parameter initializers, as functions `(key, shape, dtype?) → Tensor` (dtype `float32` by
 * default). Randomness comes only from the explicit key: the same key gives the same tensor.
 *
 * Fans follow JAX's convention for kernels laid out `[..., in, out]` (dense `[in, out]`, conv
 * `[h, w, in, out]`): with `receptive = product of all axes but the last two`,
 * `fanIn = shape[-2]·receptive` and `fanOut = shape[-1]·receptive`. A 1-D shape `[n]` has
 * `fanIn = fanOut = n`, a 0-d shape 1.
 *
 * The normal variants (`glorotNormal`, `heNormal`, `lecunNormal`) draw, as JAX and Flax do, from
 * a normal truncated at ±2 standard deviations and rescaled (÷ 0.8796…) so that the variance is
 * exactly the target (`2/(fanIn+fanOut)`, `2/fanIn`, `1/fanIn`): the same variance as PyTorch's
 * plain-normal `xavier_normal_`/`kaiming_normal_`, without the rare huge outliers. For PyTorch's
 * plain normal use `varianceScaling(scale, mode, "normal")`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import {
  checkNumber,
  checkOneOf,
  checkTensorArg,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "./_errors.ts";

/** Float dtypes parameters can be created in. */
export type FloatDType = "float16" | "float32" | "float64";

/** An initializer: `(key, shape, dtype?) → Tensor`. */
export type Initializer = (key: Tensor, shape: readonly number[], dtype?: FloatDType) => Tensor;

/** Which fan `varianceScaling` divides by. */
export type FanMode = "fanIn" | "fanOut" | "fanAvg";

/** The distribution `varianceScaling` draws from. */
export type Distribution = "truncatedNormal" | "normal" | "uniform";

/** Standard deviation of a standard normal truncated to (−2, 2). */
const TRUNC_STD = 0.87962566103423978;

function checkShape(op: string, shape: unknown): number[] {
  return k.errors.checkInts(op, shape, "shape", 0);
}

function checkDtype(op: string, dtype: unknown): FloatDType {
  if (dtype === "float32" || dtype === "float64" || dtype === "float16") return dtype;
  throw typeError(op, `dtype must be "float16", "float32" or "float64", got ${describe(dtype)}`);
}

/**
 * `[fanIn, fanOut]` of a shape (JAX's convention; see the module documentation).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.computeFans([3, 3, 16, 32]); // [144, 288]
 * ```
 */
export function computeFans(shape: readonly number[]): [number, number] {
  return userOp("nn.computeFans", () => {
    checkShape("nn.computeFans", shape);
    if (shape.length === 0) return [1, 1];
    if (shape.length === 1) return [shape[0], shape[0]];
    const receptive = shape.slice(0, -2).reduce((a, d) => a * d, 1);
    return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
  });
}

/**
 * The general initializer behind the named ones (JAX's `variance_scaling`): draws with variance
 * `scale / n`, `n` being `fanIn`, `fanOut` or their mean, from a `"truncatedNormal"` (at ±2σ,
 * rescaled to the exact variance), a `"normal"`, or a `"uniform"` on `±√(3·scale/n)`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * // PyTorch's kaiming_normal_ (plain normal, variance 2/fanIn):
 * const init = k.nn.varianceScaling(2, "fanIn", "normal");
 * const w = init(k.random.key(0), [784, 256]);
 * ```
 */
export function varianceScaling(
  scale: number,
  mode: FanMode,
  distribution: Distribution,
): Initializer {
  return userOp(
    "nn.varianceScaling",
    () => scaling("nn.varianceScaling", scale, mode, distribution),
  );
}

/** The initializer `varianceScaling(scale, mode, distribution)`, a public op named `name`. */
function scaling(
  name: string,
  scale: number,
  mode: FanMode,
  distribution: Distribution,
): Initializer {
  checkNumber(name, scale, "scale");
  if (!(scale > 0)) throw rangeError(name, `scale must be positive, got ${scale}`);
  checkOneOf(name, mode, ["fanIn", "fanOut", "fanAvg"], "mode");
  checkOneOf(name, distribution, ["truncatedNormal", "normal", "uniform"], "distribution");
  return publicOp(
    name,
    (key: Tensor, shape: readonly number[], dtype: FloatDType = "float32"): Tensor => {
      checkTensorArg(name, key, "key");
      const s = checkShape(name, shape);
      const d = checkDtype(name, dtype);
      const [fanIn, fanOut] = computeFans(s);
      const n = mode === "fanIn" ? fanIn : mode === "fanOut" ? fanOut : (fanIn + fanOut) / 2;
      const variance = scale / Math.max(1, n);
      if (distribution === "uniform") {
        const limit = Math.sqrt(3 * variance);
        return k.random.uniform(key, s, { minval: -limit, maxval: limit, dtype: d });
      }
      if (distribution === "normal") {
        return k.mul(k.random.normal(key, s, { dtype: d }), Math.sqrt(variance));
      }
      const std = Math.sqrt(variance) / TRUNC_STD;
      return k.mul(k.random.truncatedNormal(key, -2, 2, s, { dtype: d }), std);
    },
  );
}

/**
 * Glorot (Xavier) uniform: `U(±√(6/(fanIn+fanOut)))`, as PyTorch's `xavier_uniform_` and JAX.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.glorotUniform(k.random.key(0), [784, 256]);
 * ```
 */
export const glorotUniform: Initializer = scaling("nn.glorotUniform", 1, "fanAvg", "uniform");

/**
 * Glorot (Xavier) normal: variance `2/(fanIn+fanOut)`, truncated at ±2σ (as JAX).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.glorotNormal(k.random.key(0), [784, 256]);
 * ```
 */
export const glorotNormal: Initializer = scaling(
  "nn.glorotNormal",
  1,
  "fanAvg",
  "truncatedNormal",
);

/**
 * He (Kaiming) uniform: `U(±√(6/fanIn))`, as PyTorch's `kaiming_uniform_` (a = 0) and JAX.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.heUniform(k.random.key(0), [784, 256]);
 * ```
 */
export const heUniform: Initializer = scaling("nn.heUniform", 2, "fanIn", "uniform");

/**
 * He (Kaiming) normal: variance `2/fanIn`, truncated at ±2σ (as JAX).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.heNormal(k.random.key(0), [784, 256]);
 * ```
 */
export const heNormal: Initializer = scaling("nn.heNormal", 2, "fanIn", "truncatedNormal");

/**
 * LeCun normal: variance `1/fanIn`, truncated at ±2σ (as JAX; Flax's default kernel init).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.lecunNormal(k.random.key(0), [784, 256]);
 * ```
 */
export const lecunNormal: Initializer = scaling("nn.lecunNormal", 1, "fanIn", "truncatedNormal");

/**
 * LeCun uniform: `U(±√(3/fanIn))`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const w = k.nn.lecunUniform(k.random.key(0), [784, 256]);
 * ```
 */
export const lecunUniform: Initializer = scaling("nn.lecunUniform", 1, "fanIn", "uniform");

/**
 * An initializer filling the shape with `value` (the key is only used for its device).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const b = k.nn.constant(0.1)(k.random.key(0), [256]);
 * ```
 */
export function constant(value: number): Initializer {
  return userOp("nn.constant", () => constantNamed("nn.constant", value));
}

function constantNamed(name: string, value: number): Initializer {
  checkNumber(name, value, "value");
  return publicOp(name, (key: Tensor, shape: readonly number[], dtype: FloatDType = "float32") => {
    checkTensorArg(name, key, "key");
    const s = checkShape(name, shape);
    return k.full(s, value, { dtype: checkDtype(name, dtype), device: key.device });
  });
}

/**
 * Zeros (the key is not used), on the key's device.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const b = k.nn.zeros(k.random.key(0), [256]);
 * ```
 */
export const zeros: Initializer = constantNamed("nn.zeros", 0);

/**
 * Ones (the key is not used), on the key's device.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const scale = k.nn.ones(k.random.key(0), [256]);
 * ```
 */
export const ones: Initializer = constantNamed("nn.ones", 1);

/**
 * A random orthogonal matrix (JAX's `orthogonal`): for a shape `[..., n]` viewed as a matrix
 * `rows × n` (`rows` = product of the leading axes), the rows are orthonormal if `rows <= n`,
 * else the columns are. It is the Q factor of the QR decomposition of a standard normal matrix
 * with the signs fixed so that R has a positive diagonal (a Haar-distributed orthogonal matrix).
 * The normal draws are read back to the host and the QR runs there in float64 (Gram–Schmidt with
 * reorthogonalization), so the key must be on the CPU (move the result with `k.devicePut`);
 * cost `O(rows·n·min(rows, n))`. Needs at least 2 axes.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const q = k.nn.orthogonal(k.random.key(0), [4, 4]); // qᵀq ≈ I
 * ```
 */
export function orthogonal(
  key: Tensor,
  shape: readonly number[],
  dtype: FloatDType = "float32",
): Tensor {
  return userOp("nn.orthogonal", () => {
    checkTensorArg("nn.orthogonal", key, "key");
    const s = checkShape("nn.orthogonal", shape);
    const d = checkDtype("nn.orthogonal", dtype);
    if (s.length < 2) {
      throw shapeError(
        "nn.orthogonal",
        `needs a shape with at least 2 axes, got [${s.join(", ")}]`,
      );
    }
    if (key.device !== "cpu") {
      throw shapeError(
        "nn.orthogonal",
        `needs a key on the cpu device (the QR runs on the host and reads the normal ` +
          `draws synchronously), got one on ${key.device}; draw with a cpu key and move the ` +
          "result with k.devicePut",
      );
    }
    const cols = s[s.length - 1];
    const rows = s.slice(0, -1).reduce((a, b) => a * b, 1);
    if (rows === 0 || cols === 0) return k.zeros(s, { dtype: d, device: key.device });
    const m = Math.max(rows, cols), n = Math.min(rows, cols);
    const a = k.random.normal(key, [m, n], { dtype: "float64" }).dataSync() as Float64Array;
    const q = gramSchmidt(a, m, n);
    let out = k.tensor(q, { shape: [m, n], dtype: d, device: key.device });
    if (rows < cols) out = k.transpose(out);
    return k.reshape(out, s);
  });
}

/**
 * Orthonormalizes the columns of the row-major `m × n` matrix `a` (m >= n) by modified
 * Gram–Schmidt, applied twice per column for stability; equals the Q of a QR with positive
 * diagonal R. Returns a new row-major `m × n` array.
 */
function gramSchmidt(a: Float64Array, m: number, n: number): Float64Array {
  // Work column-major: column j is q[j*m .. j*m+m).
  const q = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[j * m + i] = a[i * n + j];
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const cp = p * m;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[cp + i] * q[cj + i];
        for (let i = 0; i < m; i++) q[cj + i] -= dot * q[cp + i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[cj + i] * q[cj + i];
    norm = Math.sqrt(norm);
    if (norm === 0) throw shapeError("nn.orthogonal", "degenerate normal draw (rank deficient)");
    for (let i = 0; i < m; i++) q[cj + i] /= norm;
  }
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = q[j * m + i];
  return out;
}
