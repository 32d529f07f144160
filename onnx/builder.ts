/**
 * A small ONNX graph builder: nodes with fresh names, attributes, deduplicated int64 and scalar
 * constants, and shape vectors that follow a dynamic batch dimension (`Shape` of the first
 * input, times and plus constants).
 * @module
 */
import type { DType } from "../core/dtype.ts";
import { ATTR_TYPE, type AttrMsg, DATA_TYPE, type NodeMsg, type TensorMsg } from "./schema.ts";
import type { SymShape } from "./trace.ts";

/** An attribute value: int, ints, float (`{f}`), string, or tensor. */
export type AttrValue = number | number[] | { f: number } | string | TensorMsg;

/** ONNX element type of a Kiln dtype. */
export function onnxType(d: DType): number {
  switch (d) {
    case "float32":
      return DATA_TYPE.FLOAT;
    case "float64":
      return DATA_TYPE.DOUBLE;
    case "int32":
      return DATA_TYPE.INT32;
    case "bool":
      return DATA_TYPE.BOOL;
    case "float16":
      return DATA_TYPE.FLOAT16;
  }
}

/** Raw little-endian bytes of values in a Kiln dtype (float16 given as float32 values). */
export function rawBytes(values: ArrayLike<number>, d: DType): Uint8Array {
  switch (d) {
    case "float32":
      return new Uint8Array(Float32Array.from(values).buffer);
    case "float64":
      return new Uint8Array(Float64Array.from(values).buffer);
    case "int32":
      return new Uint8Array(Int32Array.from(values).buffer);
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "float16": {
      const h = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) h[i] = toHalf(values[i]);
      return new Uint8Array(h.buffer);
    }
  }
}

function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, man = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) return e < -10 ? sign : sign | ((man | 0x800000) >> (14 - e));
  return sign | (e << 10) | (man >> 13);
}

function attr(name: string, v: AttrValue): AttrMsg {
  if (typeof v === "number") return { name, type: ATTR_TYPE.INT, i: v };
  if (typeof v === "string") {
    return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v) };
  }
  if (Array.isArray(v)) return { name, type: ATTR_TYPE.INTS, ints: v };
  if ("f" in v && typeof v.f === "number") return { name, type: ATTR_TYPE.FLOAT, f: v.f };
  return { name, type: ATTR_TYPE.TENSOR, t: v as TensorMsg };
}

/** Accumulates the nodes and initializers of one ONNX graph. */
export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly inits: TensorMsg[] = [];
  private used = new Set<string>();
  private consts = new Map<string, string>();
  private shapes = new Map<string, string>();
  private batchName: string | null = null;

  constructor(readonly opset: number, private batchSource: string | null) {}

  /** A name not used yet, based on `base`. */
  fresh(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_.:/-]/g, "_") || "v";
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node and returns its (first) output name. */
  op(type: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    const out = this.fresh(`${type.toLowerCase()}_${this.nodes.length}`);
    this.nodes.push({
      opType: type,
      name: `${type}_${this.nodes.length}`,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return out;
  }

  /** An initializer with raw data; returns its name. */
  init(name: string, dims: readonly number[], d: DType, values: ArrayLike<number>): string {
    const n = this.fresh(name);
    this.inits.push({
      name: n,
      dims: [...dims],
      dataType: onnxType(d),
      rawData: rawBytes(values, d),
    });
    return n;
  }

  /** A deduplicated int64 constant (1-D unless `scalar`). */
  i64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar}:${values.join(",")}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.fresh("const_i64");
      const raw = new Uint8Array(8 * values.length);
      const view = new DataView(raw.buffer);
      values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
      this.inits.push({
        name: n,
        dims: scalar ? [] : [values.length],
        dataType: DATA_TYPE.INT64,
        rawData: raw,
      });
      this.consts.set(key, n);
    }
    return n;
  }

  /** A deduplicated scalar constant of a Kiln dtype. */
  scalar(v: number, d: DType): string {
    const key = `${d}:${Object.is(v, -0) ? "-0" : String(v)}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.init(`const_${d}`, [], d, [v]);
      this.consts.set(key, n);
    }
    return n;
  }

  /** The batch size as an int64 `[1]` tensor, read from the first input's shape. */
  private batch(): string {
    if (this.batchName) return this.batchName;
    if (this.batchSource === null) throw new Error("internal: symbolic shape without a batch");
    this.batchName = this.opset >= 15
      ? this.op("Shape", [this.batchSource], { start: 0, end: 1 })
      : this.op("Slice", [this.op("Shape", [this.batchSource]), this.i64([0]), this.i64([1])]);
    return this.batchName;
  }

  /** A 1-D int64 tensor holding `shape` (dynamic dimensions computed from the batch). */
  shape(shape: SymShape): string {
    if (shape.every((d) => typeof d === "number")) return this.i64(shape as number[]);
    const key = JSON.stringify(shape);
    let n = this.shapes.get(key);
    if (n) return n;
    const parts: string[] = [];
    let run: number[] = [];
    for (const d of shape) {
      if (typeof d === "number") {
        run.push(d);
        continue;
      }
      if (run.length) parts.push(this.i64(run));
      run = [];
      let v = this.batch();
      if (d.c !== 1) v = this.op("Mul", [v, this.i64([d.c])]);
      if (d.d !== 0) v = this.op("Add", [v, this.i64([d.d])]);
      parts.push(v);
    }
    if (run.length) parts.push(this.i64(run));
    n = parts.length === 1 ? parts[0] : this.op("Concat", parts, { axis: 0 });
    this.shapes.set(key, n);
    return n;
  }

  /** `Squeeze`/`Unsqueeze` with axes as an input (opset 13+). */
  axesOp(type: "Squeeze" | "Unsqueeze", x: string, axes: readonly number[]): string {
    return axes.length ? this.op(type, [x, this.i64([...axes])]) : x;
  }

  /** A reduction keeping the reduced axes (axes as input where the opset takes them so). */
  reduce(type: string, x: string, axes: readonly number[]): string {
    const asInput = type === "ReduceSum" ? this.opset >= 13 : this.opset >= 18;
    return asInput
      ? this.op(type, [x, this.i64([...axes])], { keepdims: 1 })
      : this.op(type, [x], { axes: [...axes], keepdims: 1 });
  }
}
