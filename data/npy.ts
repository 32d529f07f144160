/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, a version, a
 * little-endian header length, a Python-literal header dict, then the raw values.
 * @module
 */
import * as k from "../core/mod.ts";
import { checkBytes, readFileBytes, writeFileAtomic } from "./_io.ts";
import { checkString, checkTensorArg, shapeError } from "./_errors.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y

/** Every typed array here is read and written in host order, which must be little-endian. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** How each supported `descr` kind/size decodes: the array type and the Kiln dtype. */
type Decoder = (buf: ArrayBuffer, n: number, name: string) => k.TypedArray;

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** Checks that wide integers fit int32 and narrows them. */
function narrow(src: ArrayLike<number | bigint>, name: string, what: string): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (v < INT32_MIN || v > INT32_MAX) {
      throw shapeError(name, `${what} value ${src[i]} at flat index ${i} does not fit int32`);
    }
    out[i] = v;
  }
  return out;
}

/** Supported descriptors by kind and byte size (`f4`, `i8`, …). */
const DECODERS: Record<string, { dtype: k.DType; decode: Decoder }> = {
  f4: { dtype: "float32", decode: (b, n) => new Float32Array(b, 0, n) },
  f2: { dtype: "float16", decode: (b, n) => new Float16Array(b, 0, n) },
  f8: { dtype: "float64", decode: (b, n) => new Float64Array(b, 0, n) },
  i4: { dtype: "int32", decode: (b, n) => new Int32Array(b, 0, n) },
  i2: { dtype: "int32", decode: (b, n) => new Int32Array(new Int16Array(b, 0, n)) },
  i1: { dtype: "int32", decode: (b, n) => new Int32Array(new Int8Array(b, 0, n)) },
  u1: { dtype: "int32", decode: (b, n) => new Int32Array(new Uint8Array(b, 0, n)) },
  u2: { dtype: "int32", decode: (b, n) => new Int32Array(new Uint16Array(b, 0, n)) },
  u4: { dtype: "int32", decode: (b, n, name) => narrow(new Uint32Array(b, 0, n), name, "<u4") },
  i8: { dtype: "int32", decode: (b, n, name) => narrow(new BigInt64Array(b, 0, n), name, "<i8") },
  b1: {
    dtype: "bool",
    decode: (b, n) => new Uint8Array(b, 0, n).map((v) => v !== 0 ? 1 : 0),
  },
};

/** The `descr` Kiln writes for each dtype. */
const DESCR_OF: Record<k.DType, string> = {
  float16: "<f2",
  float32: "<f4",
  float64: "<f8",
  int32: "<i4",
  bool: "|b1",
};

/** A header field's raw text: `'key': value` in the dict literal. */
function headerField(header: string, key: string, value: string): RegExpExecArray | null {
  return new RegExp(`["']${key}["']\\s*:\\s*${value}`).exec(header);
}

/** `data.parseNpy` with the name used in error messages. */
function decodeNpy(bytes: Uint8Array, name: string): k.Tensor {
  if (!HOST_LE) throw shapeError(name, `.npy needs a little-endian host`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw shapeError(name, `not a .npy file (bad magic; expected \\x93NUMPY)`);
  }
  const major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3) {
    throw shapeError(name, `unsupported .npy format version ${major}.${minor}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) throw shapeError(name, `truncated .npy header`);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenSize, dataStart = start + hlen;
  if (bytes.length < dataStart) {
    throw shapeError(name, `truncated .npy header: needs ${hlen} bytes after the length`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, dataStart),
  );
  const descrM = headerField(header, "descr", `["']([^"']*)["']`);
  const fortranM = headerField(header, "fortran_order", "(True|False)");
  const shapeM = headerField(header, "shape", "\\(([^)]*)\\)");
  if (!descrM || !fortranM || !shapeM) {
    const what = !descrM ? "descr" : !fortranM ? "fortran_order" : "shape";
    throw shapeError(name, `.npy header has no valid '${what}': ${header.trim()}`);
  }
  if (fortranM[1] === "True") {
    throw shapeError(
      name,
      `fortran_order True (column-major) .npy files are not supported; save a ` +
        `C-ordered array (numpy.ascontiguousarray)`,
    );
  }
  const shapeText = shapeM[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  const shape = shapeText.map((s) => {
    if (!/^\d+L?$/.test(s)) throw shapeError(name, `bad .npy shape (${shapeM[1]})`);
    return parseInt(s, 10);
  });
  const descr = descrM[1];
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const entry = m ? DECODERS[m[2] + m[3]] : undefined;
  const size = m ? Number(m[3]) : 0;
  if (!m || !entry || (m[1] === ">" && size > 1)) {
    throw shapeError(
      name,
      `unsupported .npy dtype ${JSON.stringify(descr)} (supported: little-endian ` +
        `<f2 <f4 <f8 <i4 <i8 <i2 <u2 <u4, and |b1 |u1 |i1)`,
    );
  }
  const count = shape.reduce((a, d) => a * d, 1);
  const have = bytes.length - dataStart, want = count * size;
  if (have !== want) {
    throw shapeError(
      name,
      `${have < want ? "truncated .npy data" : ".npy file has trailing bytes"}: ` +
        `shape (${shape}) of ${descr} needs ${want} data bytes, got ${have}`,
    );
  }
  // A copy at offset 0 of a fresh buffer, so that every typed-array view is aligned.
  const buf = bytes.slice(dataStart).buffer;
  return k.tensor(entry.decode(buf, count, name), { shape, dtype: entry.dtype });
}

/**
 * Parses a NumPy `.npy` file's bytes (format 1.0, 2.0 or 3.0; C order) into a tensor of the
 * stored shape. dtypes: `<f4` → float32, `<f8` → float64, `<i4` → int32, `|b1` → bool;
 * `|u1 |i1 <i2 <u2` → int32; `<i8` and `<u4` → int32 when every value fits (else an error).
 * Big-endian data, structured dtypes and `fortran_order: True` throw, as do truncated files.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const bytes = await k.data.encodeNpy(k.tensor([[1, 2], [3, 4]]));
 * const t = k.data.parseNpy(bytes); // float32 [2, 2]
 * ```
 */
export function parseNpy(bytes: Uint8Array): k.Tensor {
  checkBytes("data.parseNpy", bytes);
  return decodeNpy(bytes, "data.parseNpy");
}

/**
 * Reads a `.npy` file (see `data.parseNpy`); errors name the file.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const w = await k.data.loadNpy("weights.npy");
 * ```
 */
export async function loadNpy(path: string): Promise<k.Tensor> {
  checkString("data.loadNpy", path, "path");
  return decodeNpy(await readFileBytes("data.loadNpy", path), `data.loadNpy: ${path}`);
}

/**
 * The `.npy` bytes of a tensor: format 1.0 (2.0 when the header needs more than 65535 bytes),
 * C order, `descr` `<f4`, `<f8`, `<i4` or `|b1` by dtype, header padded so that the data starts
 * at a multiple of 64 bytes, as NumPy writes it.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const bytes = await k.data.encodeNpy(k.arange(6).reshape([2, 3]));
 * ```
 */
export async function encodeNpy(t: k.Tensor): Promise<Uint8Array> {
  checkTensorArg("data.encodeNpy", t, "t");
  if (!HOST_LE) throw shapeError("data.encodeNpy", ".npy needs a little-endian host");
  const values = await t.data();
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  const dict = `{'descr': '${DESCR_OF[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1;
  let pre = 10;
  let padded = pad(dict, pre);
  if (padded.length > 0xffff) {
    major = 2;
    pre = 12;
    padded = pad(dict, pre);
  }
  const out = new Uint8Array(pre + padded.length + values.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), pre);
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), pre + padded.length);
  return out;
}

/** The header dict padded with spaces and ended by `\n` so that `pre + length` is 64-aligned. */
function pad(dict: string, pre: number): string {
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  return dict + " ".repeat(total - pre - dict.length - 1) + "\n";
}

/**
 * Writes a tensor as a `.npy` file (see `data.encodeNpy`) atomically: a temporary file in the same
 * folder, then a rename.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * await k.data.saveNpy("x.npy", k.tensor([1, 2, 3]));
 * ```
 */
export async function saveNpy(path: string, t: k.Tensor): Promise<void> {
  checkString("data.saveNpy", path, "path");
  checkTensorArg("data.saveNpy", t, "t");
  const bytes = await encodeNpy(t);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw shapeError("data.saveNpy", `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
