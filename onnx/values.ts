/**
 * Values of an imported graph while it runs: tensors, or small host-side constants (`Static`)
 * for shape arithmetic (`Shape` → `Gather` → `Concat` → `Reshape`), folded on the host so that
 * shapes stay plain numbers under `jit`, `grad` and `vmap`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { DType } from "../core/dtype.ts";
import type { AttrMsg, NodeMsg, TensorMsg } from "./schema.ts";
import { DATA_TYPE } from "./schema.ts";

/** The op name of errors raised while importing. */
export const IMPORT = "onnx.importModel";
/** The op name of errors raised by an imported model's function. */
export const RUN = "onnx.model";

/** Largest element count a shape may have (untrusted files: checked before any allocation). */
export const MAX_ELEMENTS: number = 2 ** 28;

/** A host-side constant: int64/int32 values become `int32`, bool stays `bool`. */
export interface Static {
  readonly static: true;
  readonly shape: readonly number[];
  readonly data: readonly number[];
  readonly dtype: DType;
}

/** A value in the graph. */
export type Val = k.Tensor | Static;

/** Whether a value is a host constant. */
export const isStatic = (v: Val): v is Static => !(v instanceof k.Tensor);

/** A host constant. */
export function staticOf(data: readonly number[], shape: readonly number[], dtype: DType): Static {
  return { static: true, data, shape, dtype };
}

const I32_MIN = -(2 ** 31), I32_MAX = 2 ** 31 - 1;

/** A value as a tensor (int64 values clamped to the int32 range). */
export function toTensor(v: Val, device?: string): k.Tensor {
  if (!isStatic(v)) return v;
  const data = v.dtype === "int32"
    ? v.data.map((x) => Math.min(I32_MAX, Math.max(I32_MIN, x)))
    : v.data;
  return k.tensor([...data], { dtype: v.dtype, shape: v.shape, device });
}

/** The number of elements of a shape. */
export const numel = (s: readonly number[]): number => s.reduce((a, d) => a * d, 1);

/** Throws unless `shape` is a list of sizes whose product is at most MAX_ELEMENTS. */
export function checkShapeBound(op: string, where: string, shape: readonly number[]): number[] {
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0 || d > I32_MAX)) {
    throw new RangeError(`${op}: ${where}: invalid shape [${shape.join(",")}]`);
  }
  if (numel(shape) > MAX_ELEMENTS) {
    throw new RangeError(
      `${op}: ${where}: shape [${shape.join(",")}] has more than ${MAX_ELEMENTS} elements`,
    );
  }
  return [...shape];
}

/** Kiln dtype of an ONNX element type (null: unsupported). */
export function kilnType(t: number | undefined): DType | null {
  switch (t) {
    case DATA_TYPE.FLOAT:
    case DATA_TYPE.FLOAT16:
      return "float32";
    case DATA_TYPE.DOUBLE:
      return "float64";
    case DATA_TYPE.INT32:
    case DATA_TYPE.INT64:
    case DATA_TYPE.INT8:
    case DATA_TYPE.UINT8:
      return "int32";
    case DATA_TYPE.BOOL:
      return "bool";
  }
  return null;
}

const ELEM_BYTES: Record<number, number> = {
  [DATA_TYPE.FLOAT]: 4,
  [DATA_TYPE.FLOAT16]: 2,
  [DATA_TYPE.DOUBLE]: 8,
  [DATA_TYPE.INT32]: 4,
  [DATA_TYPE.INT64]: 8,
  [DATA_TYPE.INT8]: 1,
  [DATA_TYPE.UINT8]: 1,
  [DATA_TYPE.BOOL]: 1,
};

/** Element `i` of little-endian raw data, per ONNX element type. */
const READERS: Record<number, (v: DataView, i: number) => number> = {
  [DATA_TYPE.FLOAT]: (v, i) => v.getFloat32(4 * i, true),
  [DATA_TYPE.FLOAT16]: (v, i) => half(v.getUint16(2 * i, true)),
  [DATA_TYPE.DOUBLE]: (v, i) => v.getFloat64(8 * i, true),
  [DATA_TYPE.INT32]: (v, i) => v.getInt32(4 * i, true),
  [DATA_TYPE.INT64]: (v, i) => Number(v.getBigInt64(8 * i, true)),
  [DATA_TYPE.INT8]: (v, i) => v.getInt8(i),
  [DATA_TYPE.UINT8]: (v, i) => v.getUint8(i),
  [DATA_TYPE.BOOL]: (v, i) => v.getUint8(i),
};

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decodes a `TensorProto` after checking its dtype, its dims and that its data holds exactly
 * that many elements (so nothing is allocated beyond what the file contains).
 */
export function decodeTensor(
  t: TensorMsg,
  where: string,
): { dtype: DType; shape: number[]; data: ArrayLike<number> } {
  const dtype = kilnType(t.dataType);
  if (!dtype) throw new TypeError(`${IMPORT}: ${where}: unsupported data type ${t.dataType}`);
  if (t.dataLocation === 1) {
    throw new TypeError(
      `${IMPORT}: ${where}: external data is not supported (save with the weights inside the file)`,
    );
  }
  const shape = checkShapeBound(IMPORT, where, t.dims ?? []);
  const n = numel(shape);
  const code = t.dataType!;
  const raw = t.rawData;
  if (raw && raw.length) {
    const size = ELEM_BYTES[code];
    if (raw.length !== n * size) {
      throw new RangeError(
        `${IMPORT}: ${where}: raw data has ${raw.length} bytes, the shape [${
          shape.join(",")
        }] needs ${n * size}`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = dtype === "float64"
      ? new Float64Array(n)
      : dtype === "float32"
      ? new Float32Array(n)
      : new Int32Array(n);
    const read = READERS[code];
    for (let i = 0; i < n; i++) out[i] = read(view, i);
    return { dtype, shape, data: out };
  }
  const field = code === DATA_TYPE.FLOAT
    ? t.floatData
    : code === DATA_TYPE.DOUBLE
    ? t.doubleData
    : code === DATA_TYPE.INT64
    ? t.int64Data
    : t.int32Data;
  const data = field ?? [];
  if (data.length !== n) {
    throw new RangeError(
      `${IMPORT}: ${where}: holds ${data.length} values, the shape [${shape.join(",")}] needs ${n}`,
    );
  }
  return { dtype, shape, data: code === DATA_TYPE.FLOAT16 ? Array.from(data, half) : data };
}

/** What an operator's implementation sees of its node. */
export class OpContext {
  private attrs: Map<string, AttrMsg>;
  constructor(
    readonly node: NodeMsg,
    readonly inputs: readonly (Val | undefined)[],
    readonly opset: number,
    /** Folding on the host: tensors are made on the CPU. */
    readonly fold = false,
  ) {
    this.attrs = new Map((node.attribute ?? []).map((a) => [a.name, a]));
  }
  /** `Conv "conv1"`: how errors name the node. */
  get label(): string {
    return `${this.node.opType} node ${JSON.stringify(this.node.name ?? "")}`;
  }
  /** An error naming the node. */
  error(msg: string): Error {
    return new RangeError(`${RUN}: ${this.label}: ${msg}`);
  }
  has(name: string): boolean {
    return this.attrs.has(name);
  }
  int(name: string, dflt: number): number {
    const a = this.attrs.get(name);
    return a?.i ?? dflt;
  }
  float(name: string, dflt: number): number {
    const a = this.attrs.get(name);
    return a?.f ?? dflt;
  }
  ints(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a ? [...(a.ints ?? [])] : undefined;
  }
  str(name: string, dflt: string): string {
    const s = this.attrs.get(name)?.s;
    return s ? new TextDecoder().decode(s) : dflt;
  }
  attr(name: string): AttrMsg | undefined {
    return this.attrs.get(name);
  }
  /** Input `i`, or undefined when absent (optional input left empty). */
  opt(i: number): Val | undefined {
    return this.inputs[i];
  }
  /** Input `i` as a tensor. */
  t(i: number): k.Tensor {
    const v = this.inputs[i];
    if (v === undefined) throw this.error(`input ${i} is missing`);
    return toTensor(v, this.device());
  }
  /** Input `i` as host numbers (shapes, axes, slice bounds must be constants). */
  host(i: number, what: string): number[] {
    const v = this.inputs[i];
    if (v === undefined) throw this.error(`${what} (input ${i}) is missing`);
    if (!isStatic(v)) {
      throw this.error(`${what} (input ${i}) must be a constant known when the model is traced`);
    }
    return [...v.data];
  }
  /** The device of the first tensor input (statics follow it). */
  device(): string | undefined {
    if (this.fold) return "cpu";
    for (const v of this.inputs) if (v && !isStatic(v)) return v.device;
    return undefined;
  }
}
