/**
 * Random floats for `random.ts`: `uniform`, `normal` and `truncatedNormal`, and the float helpers
 * (`unitFloat`, `scaleUnit`, `checkBroadcast`) that the discrete draws build on.
 * @module
 */
import { erf as hostErf } from "../scalar.ts";
import { roundTo as roundToDtype } from "../dtype.ts";
import { broadcastShapes, fmt, shapeEq } from "../shape.ts";
import type { TensorLike } from "../tensor/convert.ts";
import {
  add,
  astype,
  bitwiseAnd,
  bitwiseXor,
  clip,
  div,
  erf,
  maximum,
  minimum,
  mul,
  shiftRightLogical,
} from "../tensor/elementwise.ts";
import { broadcastTo } from "../tensor/movement.ts";
import { Tensor } from "../tensor/tensor.ts";
import { erfinv } from "./erfinv.ts";
import { checkKey, checkShapeArg, hashIndex, minus } from "./keys.ts";
import { checkOptions, describe, shapeError, typeError, userOp } from "../errors.ts";

/**
 * Float dtypes random floats can be drawn in (`float64` runs on the CPU backend only; float16
 * `uniform` draws 10 mantissa bits as JAX, `normal`/`truncatedNormal` compute in float32 and
 * round).
 */
export type FloatDType = "float16" | "float32" | "float64";

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

const SQRT2 = Math.SQRT2;

function checkFloat(op: string, d: unknown): FloatDType {
  if (d === "float32" || d === "float64" || d === "float16") return d;
  throw typeError(
    `random.${op}`,
    `dtype must be "float16", "float32" or "float64", got ${describe(d)}`,
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
export function unitFloat(k: Tensor, shape: readonly number[], dtype: FloatDType): Tensor {
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
    throw typeError(`random.${op}`, `${what} must be a number or a tensor, got ${describe(x)}`);
  }
  return roundTo(x, dtype);
}

/** Checks that the tensors among `xs` broadcast to `shape`. */
export function checkBroadcast(op: string, shape: readonly number[], ...xs: TensorLike[]): void {
  const shapes = xs.filter((x): x is Tensor => x instanceof Tensor).map((t) => t.shape);
  const b = broadcastShapes(`random.${op}`, shape, ...shapes);
  if (!shapeEq(b, shape)) {
    throw shapeError(
      `random.${op}`,
      `parameter shapes ${shapes.map(fmt).join(", ")} do not broadcast to the ` +
        `requested shape ${fmt(shape)}`,
    );
  }
}

/** `max(lo, u·(hi - lo) + lo)` as JAX, plus a clamp below `hi` for number bounds. */
export function scaleUnit(
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
  return userOp("random.uniform", () => {
    const kk = checkKey("uniform", key);
    checkOptions("random.uniform", opts, ["minval", "maxval", "dtype"]);
    const s = checkShapeArg("uniform", shape);
    const dtype = checkFloat("uniform", opts.dtype ?? "float32");
    const lo = floatArg("uniform", opts.minval ?? 0, dtype, "minval");
    const hi = floatArg("uniform", opts.maxval ?? 1, dtype, "maxval");
    checkBroadcast("uniform", s, lo, hi);
    return scaleUnit(unitFloat(kk, s, dtype), lo, hi, dtype, s);
  });
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
  return userOp("random.normal", () => {
    const kk = checkKey("normal", key);
    checkOptions("random.normal", opts, ["dtype"]);
    const s = checkShapeArg("normal", shape);
    const dtype = checkFloat("normal", opts.dtype ?? "float32");
    // float16 has too few bits for the inverse CDF's tails: compute in float32, round once.
    if (dtype === "float16") return astype(normal(key, shape, { dtype: "float32" }), "float16");
    const lo = nextAfter(-1, 0, dtype);
    const u = scaleUnit(unitFloat(kk, s, dtype), lo, 1, dtype, s);
    return mul(erfinv(u, dtype), SQRT2);
  });
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
  return userOp("random.truncatedNormal", () => {
    const kk = checkKey("truncatedNormal", key);
    checkOptions("random.truncatedNormal", opts, ["dtype"]);
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
    const span = typeof a === "number" && typeof b === "number"
      ? roundTo(b - a, dtype)
      : minus(b, a);
    const u = maximum(add(mul(unitFloat(kk, s, dtype), span), a), a);
    const out = mul(erfinv(u, dtype), SQRT2);
    const min = typeof lo === "number" ? nextAfter(lo, Infinity, dtype) : lo;
    const max = typeof hi === "number" ? nextAfter(hi, -Infinity, dtype) : hi;
    const r = clip(out, min, max);
    return r.shape.length === s.length ? r : broadcastTo(r, s);
  });
}
