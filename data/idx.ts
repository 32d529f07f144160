/**
 * The IDX file format (the MNIST family): a 4-byte magic `00 00 <type> <ndim>`, `ndim` big-endian
 * uint32 axis sizes, then the values in row-major order, big-endian.
 * @module
 */
import * as k from "../core/mod.ts";
import { checkBytes, readMaybeGzip } from "./_io.ts";
import { checkString, shapeError } from "./_errors.ts";

/** IDX element types by code: byte size and the Kiln dtype the values are returned as. */
const IDX_TYPES: Record<number, { name: string; size: number; dtype: k.DType }> = {
  0x08: { name: "ubyte", size: 1, dtype: "int32" },
  0x09: { name: "byte", size: 1, dtype: "int32" },
  0x0b: { name: "short", size: 2, dtype: "int32" },
  0x0c: { name: "int", size: 4, dtype: "int32" },
  0x0d: { name: "float", size: 4, dtype: "float32" },
  0x0e: { name: "double", size: 8, dtype: "float64" },
};

/** A parsed IDX header: element type code, shape and where the values start. */
export interface IdxHeader {
  /** Element type code (`0x08` ubyte … `0x0e` double). */
  code: number;
  /** Axis sizes. */
  shape: number[];
  /** Byte offset of the first value. */
  offset: number;
  /** Number of values. */
  count: number;
}

/**
 * Checks and parses an IDX header; errors start with `name` (the file or the caller).
 * Truncated data and trailing bytes are errors.
 */
export function parseIdxHeader(bytes: Uint8Array, name: string): IdxHeader {
  if (bytes.length < 4) {
    throw shapeError(name, `not an IDX file: ${bytes.length} bytes, shorter than the magic`);
  }
  const hex = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const code = bytes[2], ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(code in IDX_TYPES)) {
    throw shapeError(
      name,
      `not an IDX file: bad magic ${hex} (expected 00 00 <type 08/09/0b/0c/0d/0e> <ndim>)`,
    );
  }
  const offset = 4 + 4 * ndim;
  if (bytes.length < offset) {
    throw shapeError(
      name,
      `truncated IDX header: ${ndim} axes need ${offset} header bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, d) => a * d, 1);
  const want = offset + count * IDX_TYPES[code].size;
  if (bytes.length !== want) {
    const what = bytes.length < want ? "truncated IDX data" : "IDX file has trailing bytes";
    throw shapeError(
      name,
      `${what}: shape [${shape}] of ${IDX_TYPES[code].name} needs ${want} bytes, ` +
        `got ${bytes.length}`,
    );
  }
  return { code, shape, offset, count };
}

/** Decodes the big-endian values of a checked header into a typed array. */
function decodeValues(bytes: Uint8Array, h: IdxHeader): Int32Array | Float32Array | Float64Array {
  const body = bytes.subarray(h.offset, h.offset + h.count * IDX_TYPES[h.code].size);
  switch (h.code) {
    case 0x08:
      return new Int32Array(body);
    case 0x09:
      return new Int32Array(new Int8Array(body.buffer, body.byteOffset, body.length));
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = h.count;
  switch (h.code) {
    case 0x0b: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 0x0c: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 0x0d: {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    default: {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

/** `data.readIdx` with the name used in error messages. */
export function decodeIdx(bytes: Uint8Array, name: string): k.Tensor {
  const h = parseIdxHeader(bytes, name);
  return k.tensor(decodeValues(bytes, h), { shape: h.shape, dtype: IDX_TYPES[h.code].dtype });
}

/**
 * Parses an uncompressed IDX file (the MNIST family's format) into a tensor of the stored shape.
 * Element types map to Kiln dtypes as: `0x08` unsigned byte, `0x09` signed byte, `0x0B` short
 * and `0x0C` int → `int32` (exact values: an unsigned byte gives 0..255, not a bool); `0x0D`
 * float → `float32`; `0x0E` double → `float64`. Bad magic, truncated data and trailing bytes
 * throw. Gzipped bytes must be decompressed first (`data.loadIdx` does that).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * // magic 00 00 08 01, one axis of size 3, then the bytes 1 2 3
 * const t = k.data.readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]));
 * console.log(t.dtype, t.shape); // int32 [3]
 * ```
 */
export function readIdx(bytes: Uint8Array): k.Tensor {
  checkBytes("data.readIdx", bytes);
  return decodeIdx(bytes, "data.readIdx");
}

/**
 * Reads an IDX file (see `data.readIdx` for the dtypes), gunzipping it first when it starts with the
 * gzip magic `1f 8b` (so `train-images-idx3-ubyte.gz` and its unpacked form both work). Errors
 * name the file.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const labels = await k.data.loadIdx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
 * console.log(labels.shape); // [10000]
 * ```
 */
export async function loadIdx(path: string): Promise<k.Tensor> {
  checkString("data.loadIdx", path, "path");
  return decodeIdx(await readMaybeGzip("data.loadIdx", path), `data.loadIdx: ${path}`);
}
