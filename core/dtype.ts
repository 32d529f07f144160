/**
 * Element types and the promotion lattice.
 *
 * Promotion follows numpy/JAX with JavaScript numbers treated as *weak* scalars (as JAX treats
 * Python scalars): `bool < int32 < float16 < float32 < float64` (so `int32 + float16` is
 * `float16`, as in JAX and PyTorch); a JS number adopts the tensor's dtype,
 * except that an integer number meeting a bool tensor gives `int32` and a non-integer number
 * meeting an int or bool tensor gives `float32`. A JS boolean adopts the tensor's dtype.
 * @module
 */
import { describe, typeError } from "./errors.ts";

/**
 * The element types Kiln supports. `float64` runs on the CPU backend only; `float16` is a
 * storage type (IEEE binary16) whose arithmetic is computed in wider precision and rounded to
 * float16 after every op, on WebGPU where the adapter offers `shader-f16`.
 */
export type DType = "float16" | "float32" | "float64" | "int32" | "bool";

/** Every dtype, in promotion order. */
export const DTYPES: readonly DType[] = ["bool", "int32", "float16", "float32", "float64"];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/** A typed array that can back a tensor. */
export type TypedArray = Float16Array | Float32Array | Float64Array | Int32Array | Uint8Array;

/** Whether `d` is a floating-point dtype. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16";
}

/** Bytes per element. */
export function itemsize(d: DType): number {
  return d === "float64" ? 8 : d === "bool" ? 1 : d === "float16" ? 2 : 4;
}

/** `v` rounded to the nearest value of dtype `d` (float rounding; int32 wraps). */
export function roundTo(d: DType, v: number): number {
  switch (d) {
    case "float32":
      return Math.fround(v);
    case "float16":
      return Math.f16round(v);
    case "int32":
      return v | 0;
    default:
      return v;
  }
}

/**
 * JavaScript source rounding expression `e` to float dtype `d` (`Math.fround` for float32,
 * `Math.f16round` for float16), or `e` itself where JS numbers are already exact.
 */
export function roundSource(d: DType, e: string): string {
  return d === "float32" ? `Math.fround(${e})` : d === "float16" ? `Math.f16round(${e})` : e;
}

/** The smallest dtype both `a` and `b` convert to without loss of kind. */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a JS number adopts next to a tensor of dtype `d` (weak-scalar rule). */
export function weakScalarDtype(value: number | boolean, d: DType): DType {
  if (typeof value === "boolean") return d;
  if (!isFloat(d) && !Number.isInteger(value)) return "float32";
  if (d === "bool") return "int32";
  return d;
}

/** The default dtype of a lone JS value. */
export function defaultDtype(value: number | boolean): DType {
  return typeof value === "boolean" ? "bool" : "float32";
}

/** Allocates a zeroed typed array of `n` elements for dtype `d`. */
export function allocArray(d: DType, n: number): TypedArray {
  switch (d) {
    case "float16":
      return new Float16Array(n);
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** The dtype matching a typed array. */
export function dtypeOfArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float16Array) return "float16";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  return undefined;
}

/** Throws unless `d` names a dtype. */
export function checkDtype(op: string, d: unknown): DType {
  if (typeof d === "string" && d in RANK) return d as DType;
  throw typeError(
    op,
    `unknown dtype ${typeof d === "string" ? JSON.stringify(d) : describe(d)} (expected one of ${
      DTYPES.join(", ")
    })`,
  );
}

/** Machine limits of a float dtype (as `jnp.finfo` / `torch.finfo`). */
export interface FloatInfo {
  /** The dtype described. */
  readonly dtype: DType;
  /** Storage bits. */
  readonly bits: number;
  /** Distance from 1 to the next larger value. */
  readonly eps: number;
  /** Largest finite value. */
  readonly max: number;
  /** Most negative finite value (`-max`). */
  readonly min: number;
  /** Smallest positive normal value. */
  readonly tiny: number;
  /** Smallest positive subnormal value. */
  readonly smallestSubnormal: number;
}

const FINFO: Record<string, [bits: number, mant: number, emin: number, max: number]> = {
  float16: [16, 10, -14, 65504],
  float32: [32, 23, -126, 3.4028234663852886e38],
  float64: [64, 52, -1022, Number.MAX_VALUE],
};

/**
 * Limits of a float dtype. @example k.finfo("float16").eps // 0.0009765625
 */
export function finfo(d: DType): FloatInfo {
  const f = FINFO[checkDtype("finfo", d)];
  if (!f) throw typeError("finfo", `${d} is not a float dtype (use iinfo for int32)`);
  const [bits, mant, emin, max] = f;
  return {
    dtype: d,
    bits,
    eps: 2 ** -mant,
    max,
    min: -max,
    tiny: 2 ** emin,
    smallestSubnormal: 2 ** (emin - mant),
  };
}

/** Limits of an integer dtype (as `jnp.iinfo`). */
export interface IntInfo {
  /** The dtype described. */
  readonly dtype: DType;
  /** Storage bits. */
  readonly bits: number;
  /** Smallest value. */
  readonly min: number;
  /** Largest value. */
  readonly max: number;
}

/** Limits of `int32` (or `bool`). @example k.iinfo("int32").max // 2147483647 */
export function iinfo(d: DType): IntInfo {
  checkDtype("iinfo", d);
  if (d === "int32") return { dtype: d, bits: 32, min: -2147483648, max: 2147483647 };
  if (d === "bool") return { dtype: d, bits: 8, min: 0, max: 1 };
  throw typeError("iinfo", `${d} is not an integer dtype (use finfo for floats)`);
}

/** The dtype two dtypes promote to (as `jnp.promote_types`). @example k.promoteTypes("int32", "float16") // "float16" */
export function promoteTypes(a: DType, b: DType): DType {
  return promote(checkDtype("promoteTypes", a), checkDtype("promoteTypes", b));
}
