/**
 * Element types and the promotion lattice.
 *
 * Promotion follows numpy/JAX with JavaScript numbers treated as *weak* scalars (as JAX treats
 * Python scalars): `bool < int32 < float32 < float64`; a JS number adopts the tensor's dtype,
 * except that an integer number meeting a bool tensor gives `int32` and a non-integer number
 * meeting an int or bool tensor gives `float32`. A JS boolean adopts the tensor's dtype.
 * @module
 */

/** The element types Kiln supports. `float64` runs on the CPU backend only. */
export type DType = "float32" | "float64" | "int32" | "bool";

/** Every dtype, in promotion order. */
export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** A typed array that can back a tensor. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Whether `d` is a floating-point dtype. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64";
}

/** Bytes per element. */
export function itemsize(d: DType): number {
  return d === "float64" ? 8 : d === "bool" ? 1 : 4;
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
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  return undefined;
}

/** Throws unless `d` names a dtype. */
export function checkDtype(op: string, d: unknown): DType {
  if (typeof d === "string" && d in RANK) return d as DType;
  throw new TypeError(`${op}: unknown dtype ${JSON.stringify(d)} (expected one of ${DTYPES})`);
}
