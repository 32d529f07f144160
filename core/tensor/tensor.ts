/**
 * The Tensor handle: an immutable, lazy value. Every op returns a new tensor; nothing runs
 * until a value is read (`await t.data()`, `t.dataSync()` on the CPU, `await t.item()`,
 * `await t.toArray()`, printing) or `k.realize(...)` is called.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { isKeepingGraph, type Node } from "../ir/node.ts";
import { disposeNode } from "../schedule/realize.ts";
import { findPlaceholder, tracedValueError } from "../schedule/program.ts";
import { fmt } from "../shape.ts";
import * as ew from "./elementwise.ts";
import * as mv from "./movement.ts";
import * as rd from "./reduce.ts";
import * as la from "./linalg.ts";
import * as ix from "./indexing.ts";
import * as cv from "./conv.ts";
import * as pl from "./pool.ts";
import { formatValues, readData, readDataSync, toNested } from "./readback.ts";
import type { TensorLike } from "./convert.ts";
import { registerTensorClass } from "../errors.ts";
import { bundle as displayBundle, type MimeBundle } from "./display.ts";

/** An immutable, lazy n-dimensional array. */
export class Tensor {
  /**
   * The graph node this handle points at. Internal: shared by the transforms and backends;
   * not part of the stable API.
   * @internal
   */
  readonly node: Node;

  /** Wraps a graph node. Users create tensors with `k.tensor`, `k.zeros`, … */
  constructor(node: Node) {
    this.node = node;
  }

  /** Axis sizes. */
  get shape(): readonly number[] {
    return this.node.shape;
  }
  /** Element type. */
  get dtype(): DType {
    return this.node.dtype;
  }
  /** Device name (`cpu`, `webgpu`). */
  get device(): string {
    return this.node.device;
  }
  /** Number of axes. */
  get ndim(): number {
    return this.node.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.node.shape.reduce((a, d) => a * d, 1);
  }

  /** Computes (if needed) and copies the values out. @example const v = await x.data() */
  data(): Promise<TypedArray> {
    checkConcrete(this.node);
    return readData(this);
  }
  /**
   * Whether this value depends on an input being traced (inside `jit`/`vmap`): it then has no
   * data yet, and reading it raises. @example if (!ids.isTraced) checkRange(ids.dataSync())
   */
  get isTraced(): boolean {
    return isKeepingGraph() && findPlaceholder([this.node]) !== undefined;
  }

  /** Synchronous read; CPU only (WebGPU needs `await t.data()`). @example x.dataSync() */
  dataSync(): TypedArray {
    checkConcrete(this.node);
    return readDataSync(this);
  }
  /** The single value of a one-element tensor. @example await loss.item() */
  item(): Promise<number | boolean> {
    checkConcrete(this.node);
    if (this.size !== 1) {
      return Promise.reject(
        new Error(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, not 1`),
      );
    }
    return this.data().then((d) => (this.dtype === "bool" ? d[0] !== 0 : d[0]));
  }
  /** Values as nested JS arrays (a number for 0-d). @example await x.toArray() */
  toArray(): Promise<unknown> {
    checkConcrete(this.node);
    return this.data().then((d) => toNested(d, this.shape, this.dtype === "bool"));
  }
  /**
   * A tensor is not a JS number or boolean: `+x`, `x > 0` or `${x}`-style numeric use raises
   * (read values with `await x.item()`); string conversion prints the tensor.
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint === "string") return this.toString();
    const p = isKeepingGraph() ? findPlaceholder([this.node]) : undefined;
    if (p) throw tracedValueError(p);
    throw new TypeError(
      `Tensor(${this.dtype}${fmt(this.shape)}) used as a JS ${
        hint === "number" ? "number" : "value"
      }: read it with \`await t.item()\` (or \`t.dataSync()[0]\` on the CPU); inside jit/vmap ` +
        "use k.cond / k.whileLoop, or a static argument",
    );
  }
  /** Shape, dtype, device and values (computed synchronously on the CPU). */
  toString(): string {
    const head = `Tensor(${this.dtype}${fmt(this.shape)}, ${this.device})`;
    if (this.node.op === "disposed") return `${head} <disposed>`;
    if (isKeepingGraph() && findPlaceholder([this.node])) return `${head} <traced>`;
    if (this.device !== "cpu") {
      return `${head} <${this.node.realized ? "" : "lazy; "}read with await t.data()>`;
    }
    try {
      return `${head} ${formatValues(this.dataSync(), this.shape, this.dtype === "bool")}`;
    } catch (e) {
      return `${head} <${(e as Error).message}>`;
    }
  }
  /** `console.log(t)` in Deno prints `toString()`, not the graph node. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
  /** Node's `util.inspect` (and `console.log` under Node) print `toString()` too. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  /**
   * Notebook display (Deno's Jupyter kernel): an HTML table with elision, an image view when
   * image-shaped, plain text (see `k.display.bundle`). Reads only the shown part, on any device.
   */
  [Symbol.for("Jupyter.display")](): Promise<MimeBundle> {
    return displayBundle(this);
  }
  /** Releases the device memory now (also what `using` calls). */
  dispose(): void {
    disposeNode(this.node);
  }
  /** `using x = ...` releases the buffer at scope exit. */
  [Symbol.dispose](): void {
    disposeNode(this.node);
  }

  /** Matrix transpose (all axes reversed). */
  get T(): Tensor {
    return mv.transpose(this);
  }

  /** Method form of `k.add`. */
  add(y: TensorLike): Tensor {
    return ew.add(this, y);
  }
  /** Method form of `k.sub`. */
  sub(y: TensorLike): Tensor {
    return ew.sub(this, y);
  }
  /** Method form of `k.mul`. */
  mul(y: TensorLike): Tensor {
    return ew.mul(this, y);
  }
  /** Method form of `k.div`. */
  div(y: TensorLike): Tensor {
    return ew.div(this, y);
  }
  /** Method form of `k.pow`. */
  pow(y: TensorLike): Tensor {
    return ew.pow(this, y);
  }
  /** Method form of `k.maximum`. */
  maximum(y: TensorLike): Tensor {
    return ew.maximum(this, y);
  }
  /** Method form of `k.minimum`. */
  minimum(y: TensorLike): Tensor {
    return ew.minimum(this, y);
  }
  /** Method form of `k.mod`. */
  mod(y: TensorLike): Tensor {
    return ew.mod(this, y);
  }
  /** Method form of `k.floorDivide`. */
  floorDivide(y: TensorLike): Tensor {
    return ew.floorDivide(this, y);
  }
  /** Method form of `k.equal`. */
  equal(y: TensorLike): Tensor {
    return ew.equal(this, y);
  }
  /** Method form of `k.notEqual`. */
  notEqual(y: TensorLike): Tensor {
    return ew.notEqual(this, y);
  }
  /** Method form of `k.less`. */
  less(y: TensorLike): Tensor {
    return ew.less(this, y);
  }
  /** Method form of `k.lessEqual`. */
  lessEqual(y: TensorLike): Tensor {
    return ew.lessEqual(this, y);
  }
  /** Method form of `k.greater`. */
  greater(y: TensorLike): Tensor {
    return ew.greater(this, y);
  }
  /** Method form of `k.greaterEqual`. */
  greaterEqual(y: TensorLike): Tensor {
    return ew.greaterEqual(this, y);
  }
  /** Alias of `greater`. */
  gt(y: TensorLike): Tensor {
    return ew.greater(this, y);
  }
  /** Alias of `less`. */
  lt(y: TensorLike): Tensor {
    return ew.less(this, y);
  }
  /** Method form of `k.logicalAnd`. */
  logicalAnd(y: TensorLike): Tensor {
    return ew.logicalAnd(this, y);
  }
  /** Method form of `k.logicalOr`. */
  logicalOr(y: TensorLike): Tensor {
    return ew.logicalOr(this, y);
  }
  /** Method form of `k.logicalNot`. */
  logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  /** Method form of `k.neg`. */
  neg(): Tensor {
    return ew.neg(this);
  }
  /** Method form of `k.abs`. */
  abs(): Tensor {
    return ew.abs(this);
  }
  /** Method form of `k.sign`. */
  sign(): Tensor {
    return ew.sign(this);
  }
  /** Method form of `k.exp`. */
  exp(): Tensor {
    return ew.exp(this);
  }
  /** Method form of `k.log`. */
  log(): Tensor {
    return ew.log(this);
  }
  /** Method form of `k.log1p`. */
  log1p(): Tensor {
    return ew.log1p(this);
  }
  /** Method form of `k.expm1`. */
  expm1(): Tensor {
    return ew.expm1(this);
  }
  /** Method form of `k.sqrt`. */
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  /** Method form of `k.rsqrt`. */
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  /** Method form of `k.sin`. */
  sin(): Tensor {
    return ew.sin(this);
  }
  /** Method form of `k.cos`. */
  cos(): Tensor {
    return ew.cos(this);
  }
  /** Method form of `k.tanh`. */
  tanh(): Tensor {
    return ew.tanh(this);
  }
  /** Method form of `k.sigmoid`. */
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  /** Method form of `k.relu`. */
  relu(): Tensor {
    return ew.relu(this);
  }
  /** Method form of `k.erf`. */
  erf(): Tensor {
    return ew.erf(this);
  }
  /** Method form of `k.floor`. */
  floor(): Tensor {
    return ew.floor(this);
  }
  /** Method form of `k.ceil`. */
  ceil(): Tensor {
    return ew.ceil(this);
  }
  /** Method form of `k.round`. */
  round(): Tensor {
    return ew.round(this);
  }
  /** Method form of `k.isnan`. */
  isnan(): Tensor {
    return ew.isnan(this);
  }
  /** Method form of `k.isfinite`. */
  isfinite(): Tensor {
    return ew.isfinite(this);
  }
  /** Method form of `k.astype`. */
  astype(dtype: DType): Tensor {
    return ew.astype(this, dtype);
  }
  /** Method form of `k.clip`. */
  clip(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return ew.clip(this, min, max);
  }

  /** Method form of `k.sum`. */
  sum(opts?: rd.ReduceOptions): Tensor {
    return rd.sum(this, opts);
  }
  /** Method form of `k.mean`. */
  mean(opts?: rd.ReduceOptions): Tensor {
    return rd.mean(this, opts);
  }
  /** Method form of `k.max`. */
  max(opts?: rd.ReduceOptions): Tensor {
    return rd.max(this, opts);
  }
  /** Method form of `k.min`. */
  min(opts?: rd.ReduceOptions): Tensor {
    return rd.min(this, opts);
  }
  /** Method form of `k.prod`. */
  prod(opts?: rd.ReduceOptions): Tensor {
    return rd.prod(this, opts);
  }
  /** Method form of `k.argmax`. */
  argmax(opts?: rd.ArgOptions): Tensor {
    return rd.argmax(this, opts);
  }
  /** Method form of `k.argmin`. */
  argmin(opts?: rd.ArgOptions): Tensor {
    return rd.argmin(this, opts);
  }
  /** Method form of `k.variance`. */
  variance(opts?: rd.VarianceOptions): Tensor {
    return rd.variance(this, opts);
  }
  /** Method form of `k.std`. */
  std(opts?: rd.VarianceOptions): Tensor {
    return rd.std(this, opts);
  }
  /** Method form of `k.logsumexp`. */
  logsumexp(opts?: rd.ReduceOptions): Tensor {
    return rd.logsumexp(this, opts);
  }
  /** Method form of `k.cumsum`. */
  cumsum(opts?: rd.CumsumOptions): Tensor {
    return rd.cumsum(this, opts);
  }
  /** Method form of `k.softmax`. */
  softmax(opts?: rd.SoftmaxOptions): Tensor {
    return rd.softmax(this, opts);
  }
  /** Method form of `k.logSoftmax`. */
  logSoftmax(opts?: rd.SoftmaxOptions): Tensor {
    return rd.logSoftmax(this, opts);
  }

  /** Method form of `k.reshape`. */
  reshape(shape: readonly number[]): Tensor {
    return mv.reshape(this, shape);
  }
  /** Method form of `k.transpose`. */
  transpose(perm?: readonly number[]): Tensor {
    return mv.transpose(this, perm);
  }
  /** Method form of `k.expandDims`. */
  expandDims(axis: number | readonly number[]): Tensor {
    return mv.expandDims(this, axis);
  }
  /** Method form of `k.squeeze`. */
  squeeze(axis?: number | readonly number[]): Tensor {
    return mv.squeeze(this, axis);
  }
  /** Method form of `k.broadcastTo`. */
  broadcastTo(shape: readonly number[]): Tensor {
    return mv.broadcastTo(this, shape);
  }
  /** Method form of `k.slice`. */
  slice(specs: readonly mv.SliceSpec[]): Tensor {
    return mv.slice(this, specs);
  }
  /** Method form of `k.pad`. */
  pad(pads: readonly (readonly [number, number])[], opts?: mv.PadOptions): Tensor {
    return mv.pad(this, pads, opts);
  }
  /** Method form of `k.flip`. */
  flip(opts?: { axis?: number | readonly number[] }): Tensor {
    return mv.flip(this, opts);
  }
  /** Method form of `k.split`. */
  split(s: number | readonly number[], opts?: mv.AxisOption): Tensor[] {
    return mv.split(this, s, opts);
  }
  /** Method form of `k.tile`. */
  tile(reps: number | readonly number[]): Tensor {
    return mv.tile(this, reps);
  }
  /** Method form of `k.repeat`. */
  repeat(repeats: number, opts?: mv.AxisOption): Tensor {
    return mv.repeat(this, repeats, opts);
  }

  /** Method form of `k.matmul`. */
  matmul(y: TensorLike): Tensor {
    return la.matmul(this, y);
  }
  /** Method form of `k.dot`. */
  dot(y: TensorLike): Tensor {
    return la.dot(this, y);
  }
  /** Method form of `k.take`. */
  take(
    indices: Tensor | number | readonly number[],
    opts?: ix.TakeOptions,
  ): Tensor {
    return ix.take(this, indices, opts);
  }
  /** Method form of `k.conv` (this tensor is the input). */
  conv(w: Tensor, opts?: cv.ConvOptions): Tensor {
    return cv.conv(this, w, opts);
  }
  /** Method form of `k.convTranspose`. */
  convTranspose(w: Tensor, opts?: cv.ConvTransposeOptions): Tensor {
    return cv.convTranspose(this, w, opts);
  }
  /** Method form of `k.maxPool`. */
  maxPool(window: cv.SpatialArg, opts?: pl.MaxPoolOptions): Tensor {
    return pl.maxPool(this, window, opts);
  }
  /** Method form of `k.avgPool`. */
  avgPool(window: cv.SpatialArg, opts?: pl.AvgPoolOptions): Tensor {
    return pl.avgPool(this, window, opts);
  }
}

registerTensorClass(Tensor);

/** Reading a value inside a trace raises at once (not as a rejected promise later). */
function checkConcrete(n: Node): void {
  if (!isKeepingGraph()) return;
  const p = findPlaceholder([n]);
  if (p) throw tracedValueError(p);
}
