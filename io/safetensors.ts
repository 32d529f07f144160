/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written in
 * TypeScript: an 8-byte little-endian unsigned header length `N`, a UTF-8 JSON header of `N`
 * bytes (padded with spaces to a multiple of 8), then the tensors' little-endian bytes.
 * @module
 */
import * as k from "../core/mod.ts";
import type { DType, Tensor, TypedArray } from "../core/mod.ts";
import { allocArray, itemsize } from "../core/dtype.ts";

/** A pytree of tensors (nested plain objects and arrays; `null`/`undefined` are empty). */
export type PyTree = k.tree.PyTree;

/** Options of `serialize` and `save`. */
export interface SaveOptions {
  /**
   * Extra string-to-string entries for the header's `__metadata__` (the key `kiln.tree` is
   * reserved: it records the tree's structure).
   */
  metadata?: Record<string, string>;
}

/** Options of `deserialize` and `load`. */
export interface LoadOptions<T = PyTree> {
  /**
   * A template tree (e.g. freshly initialized parameters; its tensors need not be computed). The
   * file must hold exactly its keys, each with the template's dtype and shape, or the load fails
   * with an error naming every mismatching key; the result then has the template's structure
   * (and type).
   */
  like?: T;
  /** Device for the loaded tensors (default: the current default device). */
  device?: string;
}

/** The header entry of one tensor. */
interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Safetensors dtype names of Kiln's dtypes. */
const WRITE_NAME: Record<DType, string> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  int32: "I32",
  bool: "BOOL",
};

/** Readable safetensors dtypes: byte size and the Kiln dtype they load as. */
const READ: Record<string, { size: number; dtype: DType }> = {
  F64: { size: 8, dtype: "float64" },
  F32: { size: 4, dtype: "float32" },
  F16: { size: 2, dtype: "float16" },
  BF16: { size: 2, dtype: "float32" },
  I64: { size: 8, dtype: "int32" },
  I32: { size: 4, dtype: "int32" },
  U32: { size: 4, dtype: "int32" },
  I16: { size: 2, dtype: "int32" },
  U16: { size: 2, dtype: "int32" },
  I8: { size: 1, dtype: "int32" },
  U8: { size: 1, dtype: "int32" },
  BOOL: { size: 1, dtype: "bool" },
};

/** The `__metadata__` key holding the tree's structure. */
export const TREE_KEY = "kiln.tree";
/** The reference implementation's limit on the header size. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const fmtShape = (s: readonly number[]) => `[${s.join(", ")}]`;
const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof k.Tensor) &&
  (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);

/** A tree's skeleton: tensors replaced by their names, `null`/`undefined` by `null`. */
type Skeleton = string | null | Skeleton[] | { [key: string]: Skeleton };

/** The name a root-level tensor is stored under. */
const ROOT_NAME = "tensor";

/**
 * Flattens a tree into `[name, tensor]` pairs with dotted names (`{layers: [{w}]}` gives
 * `layers.0.w`) and its skeleton. Throws on a leaf that is not a tensor, naming it.
 */
function flattenNamed(op: string, tree: unknown): { named: [string, Tensor][]; skel: Skeleton } {
  const named: [string, Tensor][] = [];
  const seen = new Map<string, string>();
  const walk = (t: unknown, path: string[]): Skeleton => {
    if (t === null || t === undefined) return null;
    if (t instanceof k.Tensor) {
      const name = path.length === 0 ? ROOT_NAME : path.join(".");
      const shown = JSON.stringify(path);
      if (seen.has(name)) {
        throw new Error(
          `${op}: the paths ${seen.get(name)} and ${shown} both flatten to the name "${name}"`,
        );
      }
      if (name === "__metadata__") throw new Error(`${op}: "__metadata__" is a reserved name`);
      seen.set(name, shown);
      named.push([name, t]);
      return name;
    }
    if (Array.isArray(t)) return t.map((c, i) => walk(c, [...path, String(i)]));
    if (isPlainObject(t)) {
      return Object.fromEntries(Object.keys(t).map((key) => [key, walk(t[key], [...path, key])]));
    }
    const what = typeof t === "object" ? (t.constructor?.name ?? "object") : typeof t;
    throw new TypeError(
      `${op}: the leaf at "${path.join(".")}" is a ${what}, not a Tensor (trees may hold ` +
        "tensors, plain objects, arrays and null)",
    );
  };
  const skel = walk(tree, []);
  return { named, skel };
}

/** Bytes of a typed array in little-endian order. */
function leBytes(data: TypedArray, dtype: DType): Uint8Array {
  if (LITTLE_ENDIAN || dtype === "bool") {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = new Uint8Array(data.length * itemsize(dtype));
  const v = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === "float64") v.setFloat64(i * 8, data[i], true);
    else if (dtype === "float32") v.setFloat32(i * 4, data[i], true);
    else if (dtype === "float16") v.setFloat16(i * 2, data[i], true);
    else v.setInt32(i * 4, data[i], true);
  }
  return out;
}

/**
 * A tree of tensors as the bytes of a safetensors file: names are the dotted paths, tensors are
 * laid out by decreasing item size then name (so each is aligned to its item size), and
 * `__metadata__` records the tree's structure under `kiln.tree` plus `opts.metadata`. Throws
 * (naming the path) on a leaf that is not a tensor.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const bytes = await k.io.serialize({ w: k.ones([2, 2]), step: k.tensor(3, { dtype: "int32" }) });
 * ```
 */
export async function serialize(tree: PyTree, opts: SaveOptions = {}): Promise<Uint8Array> {
  const op = "io.serialize";
  const { named, skel } = flattenNamed(op, tree);
  const meta: Record<string, string> = {};
  for (const [key, v] of Object.entries(opts.metadata ?? {})) {
    if (key === TREE_KEY) throw new Error(`${op}: metadata key "${TREE_KEY}" is reserved`);
    if (typeof v !== "string") {
      throw new TypeError(`${op}: metadata values must be strings, "${key}" is ${typeof v}`);
    }
    meta[key] = v;
  }
  meta[TREE_KEY] = JSON.stringify(skel);
  named.sort(([na, a], [nb, b]) =>
    itemsize(b.dtype) - itemsize(a.dtype) || (na < nb ? -1 : na > nb ? 1 : 0)
  );
  if (named.length) await k.realize(...named.map(([, t]) => t));
  const chunks: Uint8Array[] = [];
  const parts: string[] = [`"__metadata__":${JSON.stringify(meta)}`];
  let offset = 0;
  for (const [name, t] of named) {
    const bytes = leBytes(await t.data(), t.dtype);
    const entry: Entry = {
      dtype: WRITE_NAME[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    chunks.push(bytes);
    offset += bytes.length;
  }
  let header = new TextEncoder().encode(`{${parts.join(",")}}`);
  const pad = (8 - header.length % 8) % 8;
  if (pad) {
    const padded = new Uint8Array(header.length + pad).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Parses and validates a header; returns the entries, metadata and data section. */
function parse(where: string, bytes: Uint8Array): {
  entries: [string, Entry][];
  metadata: Record<string, string>;
  data: Uint8Array;
} {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${where}: expected the file's bytes as a Uint8Array`);
  }
  if (bytes.length < 8) {
    throw new Error(
      `${where}: ${bytes.length} bytes is too short for a safetensors file (the 8-byte header ` +
        "length is missing): truncated or not safetensors",
    );
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    throw new Error(
      `${where}: header length ${n} exceeds the ${bytes.length - 8} bytes after the length ` +
        "field: the file is truncated or not safetensors",
    );
  }
  if (n > BigInt(MAX_HEADER)) {
    throw new Error(`${where}: header length ${n} exceeds the format's limit of ${MAX_HEADER}`);
  }
  const hlen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)),
    );
  } catch (e) {
    throw new Error(`${where}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw new Error(`${where}: the header is not a JSON object`);
  const data = bytes.subarray(8 + hlen);
  const metadata: Record<string, string> = {};
  const entries: [string, Entry][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(raw)) throw new Error(`${where}: "__metadata__" is not an object`);
      for (const [mk, mv] of Object.entries(raw)) {
        if (typeof mv !== "string") {
          throw new Error(`${where}: "__metadata__" value "${mk}" is not a string`);
        }
        metadata[mk] = mv;
      }
      continue;
    }
    const bad = (why: string) => new Error(`${where}: tensor "${name}": ${why}`);
    if (!isPlainObject(raw)) throw bad("the header entry is not an object");
    const { dtype, shape, data_offsets: off } = raw as Partial<Entry>;
    if (typeof dtype !== "string" || !(dtype in READ)) {
      throw bad(
        `unsupported dtype ${JSON.stringify(dtype)} (readable: ${Object.keys(READ).join(", ")})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (
      !Array.isArray(off) || off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]
    ) {
      throw bad(`data_offsets ${JSON.stringify(off)} is not a pair [begin, end] with begin <= end`);
    }
    if (off[1] > data.length) {
      throw bad(
        `data_offsets [${off}] extend past the end of the data section (${data.length} bytes): ` +
          "the file is truncated",
      );
    }
    const need = numel(shape) * READ[dtype].size;
    if (off[1] - off[0] !== need) {
      throw bad(
        `data_offsets [${off}] hold ${off[1] - off[0]} bytes but ${dtype} ${
          fmtShape(shape)
        } needs ${need}`,
      );
    }
    entries.push([name, { dtype, shape, data_offsets: [off[0], off[1]] }]);
  }
  // As the reference implementation: the tensors tile the data section exactly.
  const byOffset = [...entries].sort(([, a], [, b]) =>
    a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1]
  );
  let end = 0, prev = "";
  for (const [name, e] of byOffset) {
    const [b0, b1] = e.data_offsets;
    if (b0 < end) {
      throw new Error(
        `${where}: tensor "${name}" (bytes [${b0}, ${b1})) overlaps tensor "${prev}" (ends at ${end})`,
      );
    }
    if (b0 > end) {
      throw new Error(`${where}: bytes [${end}, ${b0}) of the data section belong to no tensor`);
    }
    end = b1;
    prev = name;
  }
  if (end !== data.length) {
    throw new Error(
      `${where}: the data section has ${data.length} bytes but the tensors cover ${end}`,
    );
  }
  return { entries, metadata, data };
}

/** Decodes one tensor's bytes into a typed array of its Kiln dtype. */
function decode(where: string, name: string, e: Entry, data: Uint8Array): TypedArray {
  const [b0, b1] = e.data_offsets;
  const raw = data.subarray(b0, b1);
  const n = numel(e.shape);
  const copy = () => raw.slice().buffer;
  if (e.dtype === "BOOL") return Uint8Array.from(raw, (v) => (v ? 1 : 0));
  if (LITTLE_ENDIAN) {
    if (e.dtype === "F64") return new Float64Array(copy());
    if (e.dtype === "F32") return new Float32Array(copy());
    if (e.dtype === "F16") return new Float16Array(copy());
    if (e.dtype === "I32") return new Int32Array(copy());
  }
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const s = READ[e.dtype].size;
  const scratch = new DataView(new ArrayBuffer(4));
  const get: (i: number) => number = {
    F64: (i: number) => v.getFloat64(i * s, true),
    F32: (i: number) => v.getFloat32(i * s, true),
    F16: (i: number) => v.getFloat16(i * s, true),
    BF16: (i: number) => {
      scratch.setUint32(0, v.getUint16(i * s, true) << 16);
      return scratch.getFloat32(0);
    },
    I64: (i: number) => Number(v.getBigInt64(i * s, true)),
    I32: (i: number) => v.getInt32(i * s, true),
    U32: (i: number) => v.getUint32(i * s, true),
    I16: (i: number) => v.getInt16(i * s, true),
    U16: (i: number) => v.getUint16(i * s, true),
    I8: (i: number) => v.getInt8(i * s),
    U8: (i: number) => v.getUint8(i * s),
  }[e.dtype]!;
  const dtype = READ[e.dtype].dtype;
  const out = allocArray(dtype, n);
  for (let i = 0; i < n; i++) {
    const x = get(i);
    if (dtype === "int32" && (x < -2147483648 || x > 2147483647)) {
      throw new RangeError(
        `${where}: tensor "${name}" (${e.dtype}) holds ${x}, outside the int32 range Kiln loads it as`,
      );
    }
    out[i] = x;
  }
  return out;
}

/** Rebuilds a tree from a stored skeleton. */
function fromSkeleton(where: string, skel: unknown, tensors: Map<string, Tensor>): PyTree {
  const used = new Set<string>();
  const build = (s: unknown): unknown => {
    if (s === null) return null;
    if (typeof s === "string") {
      const t = tensors.get(s);
      if (!t) throw new Error(`${where}: "${TREE_KEY}" names tensor "${s}", which the file lacks`);
      if (used.has(s)) throw new Error(`${where}: "${TREE_KEY}" names tensor "${s}" twice`);
      used.add(s);
      return t;
    }
    if (Array.isArray(s)) return s.map(build);
    if (isPlainObject(s)) return Object.fromEntries(Object.keys(s).map((x) => [x, build(s[x])]));
    throw new Error(`${where}: "${TREE_KEY}" in __metadata__ is malformed`);
  };
  const tree = build(skel);
  for (const name of tensors.keys()) {
    if (!used.has(name)) {
      throw new Error(`${where}: tensor "${name}" is missing from "${TREE_KEY}" in __metadata__`);
    }
  }
  return tree as PyTree;
}

/**
 * Rebuilds a tree from dotted names alone (files written by other tools): `a.b` nests, and an
 * object whose keys are exactly `0 … n-1` becomes an array.
 */
function fromNames(where: string, tensors: Map<string, Tensor>): PyTree {
  const root: Record<string, unknown> = {};
  const isNode = (x: unknown): x is Record<string, unknown> => isPlainObject(x);
  for (const [name, t] of tensors) {
    const parts = name.split(".");
    let node = root;
    parts.forEach((p, i) => {
      const here = parts.slice(0, i + 1).join(".");
      if (i === parts.length - 1) {
        if (Object.hasOwn(node, p)) {
          throw new Error(`${where}: tensor "${name}" clashes with other tensors under "${here}."`);
        }
        node[p] = t;
        return;
      }
      if (!Object.hasOwn(node, p)) node[p] = Object.create(null);
      const next = node[p];
      if (!isNode(next)) {
        throw new Error(`${where}: tensor "${here}" clashes with tensor "${name}" nested under it`);
      }
      node = next;
    });
  }
  const arrays = (x: unknown): unknown => {
    if (!isNode(x)) return x;
    const keys = Object.keys(x);
    const conv = Object.fromEntries(keys.map((key) => [key, arrays(x[key])]));
    const isArray = keys.length > 0 && keys.every((key) => /^(0|[1-9][0-9]*)$/.test(key)) &&
      keys.every((key) => Number(key) < keys.length);
    return isArray ? keys.map((_, i) => conv[String(i)]) : conv;
  };
  return arrays(root) as PyTree;
}

/** Checks loaded tensors against a template and returns them in its structure. */
function matchLike<T>(where: string, like: T, tensors: Map<string, Tensor>): T {
  const { named, skel } = flattenNamed(`${where}: like`, like);
  const problems: string[] = [];
  const want = new Set<string>();
  for (const [name, t] of named) {
    want.add(name);
    const got = tensors.get(name);
    if (!got) {
      problems.push(`"${name}": expected ${t.dtype} ${fmtShape(t.shape)}, missing from the file`);
    } else if (got.dtype !== t.dtype || fmtShape(got.shape) !== fmtShape(t.shape)) {
      problems.push(
        `"${name}": expected ${t.dtype} ${fmtShape(t.shape)}, found ${got.dtype} ${
          fmtShape(got.shape)
        }`,
      );
    }
  }
  for (const [name, t] of tensors) {
    if (!want.has(name)) {
      problems.push(`"${name}": ${t.dtype} ${fmtShape(t.shape)} in the file but not in like`);
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, 20);
    if (problems.length > 20) shown.push(`… and ${problems.length - 20} more`);
    throw new Error(`${where}: the file does not match like:\n  ${shown.join("\n  ")}`);
  }
  return fromSkeleton(where, skel, tensors) as T;
}

/** The tree (or template-checked tree) in a safetensors byte buffer. */
export function decodeFile<T>(where: string, bytes: Uint8Array, opts: LoadOptions<T>): T {
  const { entries, metadata, data } = parse(where, bytes);
  const device = opts.device ?? k.defaultDevice();
  const tensors = new Map<string, Tensor>();
  for (const [name, e] of entries) {
    const arr = decode(where, name, e, data);
    tensors.set(name, k.tensor(arr, { shape: e.shape, dtype: READ[e.dtype].dtype, device }));
  }
  if (opts.like !== undefined) return matchLike(where, opts.like, tensors);
  const stored = metadata[TREE_KEY];
  if (stored === undefined) return fromNames(where, tensors) as T;
  let skel: unknown;
  try {
    skel = JSON.parse(stored);
  } catch {
    throw new Error(`${where}: "${TREE_KEY}" in __metadata__ is not valid JSON`);
  }
  return fromSkeleton(where, skel, tensors) as T;
}

/** The `__metadata__` map of a safetensors byte buffer (validating the whole header). */
export function decodeMetadata(where: string, bytes: Uint8Array): Record<string, string> {
  return parse(where, bytes).metadata;
}

/**
 * The tree held by the bytes of a safetensors file (see `load` for how the structure is
 * rebuilt, the conversions, `like` and the validation).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const bytes = await k.io.serialize({ a: [k.ones([2])] });
 * const tree = k.io.deserialize(bytes); // { a: [Tensor] }
 * ```
 */
export function deserialize<T = PyTree>(bytes: Uint8Array, opts: LoadOptions<T> = {}): T {
  return decodeFile("io.deserialize", bytes, opts);
}
