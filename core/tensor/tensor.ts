/**
 * The Tensor handle: an immutable, lazy value. Every op returns a new tensor; nothing runs
 * until a value is read (`await t.data()`, `t.dataSync()` on the CPU, `await t.item()`,
 * `await t.toArray()`, printing) or `k.realize(...)` is called.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import type { Node } from "../ir/node.ts";
import { disposeNode } from "../schedule/realize.ts";
import { fmt } from "../shape.ts";
import * as ew from "./elementwise.ts";
import * as mv from "./movement.ts";
import * as rd from "./reduce.ts";
import * as la from "./linalg.ts";
import * as ix from "./indexing.ts";
import { formatValues, readData, readDataSync, toNested } from "./readback.ts";
import type { TensorLike } from "./convert.ts";

/** An immutable, lazy n-dimensional array. */
export class Tensor {
  /** The graph node this handle points at (internal; shared by transforms). */
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
    return readData(this);
  }
  /** Synchronous read; CPU only (WebGPU needs `await t.data()`). @example x.dataSync() */
  dataSync(): TypedArray {
    return readDataSync(this);
  }
  /** The single value of a one-element tensor. @example await loss.item() */
  async item(): Promise<number | boolean> {
    if (this.size !== 1) {
      throw new Error(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, not 1`);
    }
    const v = (await this.data())[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }
  /** Values as nested JS arrays (a number for 0-d). @example await x.toArray() */
  async toArray(): Promise<unknown> {
    return toNested(await this.data(), this.shape, this.dtype === "bool");
  }
  /** Shape, dtype, device and values (computed synchronously on the CPU). */
  toString(): string {
    const head = `Tensor(${this.dtype}${fmt(this.shape)}, ${this.device})`;
    if (this.node.op === "disposed") return `${head} <disposed>`;
    if (this.device !== "cpu" && !this.node.realized) return `${head} <lazy>`;
    try {
      return `${head} ${formatValues(this.dataSync(), this.shape, this.dtype === "bool")}`;
    } catch (e) {
      return `${head} <${(e as Error).message}>`;
    }
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

  /** @see add */ add(y: TensorLike): Tensor {
    return ew.add(this, y);
  }
  /** @see sub */ sub(y: TensorLike): Tensor {
    return ew.sub(this, y);
  }
  /** @see mul */ mul(y: TensorLike): Tensor {
    return ew.mul(this, y);
  }
  /** @see div */ div(y: TensorLike): Tensor {
    return ew.div(this, y);
  }
  /** @see pow */ pow(y: TensorLike): Tensor {
    return ew.pow(this, y);
  }
  /** @see maximum */ maximum(y: TensorLike): Tensor {
    return ew.maximum(this, y);
  }
  /** @see minimum */ minimum(y: TensorLike): Tensor {
    return ew.minimum(this, y);
  }
  /** @see mod */ mod(y: TensorLike): Tensor {
    return ew.mod(this, y);
  }
  /** @see floorDivide */ floorDivide(y: TensorLike): Tensor {
    return ew.floorDivide(this, y);
  }
  /** @see equal */ equal(y: TensorLike): Tensor {
    return ew.equal(this, y);
  }
  /** @see notEqual */ notEqual(y: TensorLike): Tensor {
    return ew.notEqual(this, y);
  }
  /** @see less */ less(y: TensorLike): Tensor {
    return ew.less(this, y);
  }
  /** @see lessEqual */ lessEqual(y: TensorLike): Tensor {
    return ew.lessEqual(this, y);
  }
  /** @see greater */ greater(y: TensorLike): Tensor {
    return ew.greater(this, y);
  }
  /** @see greaterEqual */ greaterEqual(y: TensorLike): Tensor {
    return ew.greaterEqual(this, y);
  }
  /** Alias of `greater`. */ gt(y: TensorLike): Tensor {
    return ew.greater(this, y);
  }
  /** Alias of `less`. */ lt(y: TensorLike): Tensor {
    return ew.less(this, y);
  }
  /** @see logicalAnd */ logicalAnd(y: TensorLike): Tensor {
    return ew.logicalAnd(this, y);
  }
  /** @see logicalOr */ logicalOr(y: TensorLike): Tensor {
    return ew.logicalOr(this, y);
  }
  /** @see logicalNot */ logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  /** @see neg */ neg(): Tensor {
    return ew.neg(this);
  }
  /** @see abs */ abs(): Tensor {
    return ew.abs(this);
  }
  /** @see sign */ sign(): Tensor {
    return ew.sign(this);
  }
  /** @see exp */ exp(): Tensor {
    return ew.exp(this);
  }
  /** @see log */ log(): Tensor {
    return ew.log(this);
  }
  /** @see log1p */ log1p(): Tensor {
    return ew.log1p(this);
  }
  /** @see expm1 */ expm1(): Tensor {
    return ew.expm1(this);
  }
  /** @see sqrt */ sqrt(): Tensor {
    return ew.sqrt(this);
  }
  /** @see rsqrt */ rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  /** @see sin */ sin(): Tensor {
    return ew.sin(this);
  }
  /** @see cos */ cos(): Tensor {
    return ew.cos(this);
  }
  /** @see tanh */ tanh(): Tensor {
    return ew.tanh(this);
  }
  /** @see sigmoid */ sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  /** @see relu */ relu(): Tensor {
    return ew.relu(this);
  }
  /** @see erf */ erf(): Tensor {
    return ew.erf(this);
  }
  /** @see floor */ floor(): Tensor {
    return ew.floor(this);
  }
  /** @see ceil */ ceil(): Tensor {
    return ew.ceil(this);
  }
  /** @see round */ round(): Tensor {
    return ew.round(this);
  }
  /** @see isnan */ isnan(): Tensor {
    return ew.isnan(this);
  }
  /** @see isfinite */ isfinite(): Tensor {
    return ew.isfinite(this);
  }
  /** @see astype */ astype(dtype: DType): Tensor {
    return ew.astype(this, dtype);
  }
  /** @see clip */ clip(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return ew.clip(this, min, max);
  }

  /** @see sum */ sum(opts?: rd.ReduceOptions): Tensor {
    return rd.sum(this, opts);
  }
  /** @see mean */ mean(opts?: rd.ReduceOptions): Tensor {
    return rd.mean(this, opts);
  }
  /** @see max */ max(opts?: rd.ReduceOptions): Tensor {
    return rd.max(this, opts);
  }
  /** @see min */ min(opts?: rd.ReduceOptions): Tensor {
    return rd.min(this, opts);
  }
  /** @see prod */ prod(opts?: rd.ReduceOptions): Tensor {
    return rd.prod(this, opts);
  }
  /** @see argmax */ argmax(opts?: rd.ArgOptions): Tensor {
    return rd.argmax(this, opts);
  }
  /** @see argmin */ argmin(opts?: rd.ArgOptions): Tensor {
    return rd.argmin(this, opts);
  }
  /** @see variance */ variance(opts?: rd.VarianceOptions): Tensor {
    return rd.variance(this, opts);
  }
  /** @see std */ std(opts?: rd.VarianceOptions): Tensor {
    return rd.std(this, opts);
  }
  /** @see logsumexp */ logsumexp(opts?: rd.ReduceOptions): Tensor {
    return rd.logsumexp(this, opts);
  }
  /** @see cumsum */ cumsum(opts?: rd.CumsumOptions): Tensor {
    return rd.cumsum(this, opts);
  }
  /** @see softmax */ softmax(opts?: rd.SoftmaxOptions): Tensor {
    return rd.softmax(this, opts);
  }
  /** @see logSoftmax */ logSoftmax(opts?: rd.SoftmaxOptions): Tensor {
    return rd.logSoftmax(this, opts);
  }

  /** @see reshape */ reshape(shape: readonly number[]): Tensor {
    return mv.reshape(this, shape);
  }
  /** @see transpose */ transpose(perm?: readonly number[]): Tensor {
    return mv.transpose(this, perm);
  }
  /** @see expandDims */ expandDims(axis: number | readonly number[]): Tensor {
    return mv.expandDims(this, axis);
  }
  /** @see squeeze */ squeeze(axis?: number | readonly number[]): Tensor {
    return mv.squeeze(this, axis);
  }
  /** @see broadcastTo */ broadcastTo(shape: readonly number[]): Tensor {
    return mv.broadcastTo(this, shape);
  }
  /** @see slice */ slice(specs: readonly mv.SliceSpec[]): Tensor {
    return mv.slice(this, specs);
  }
  /** @see pad */ pad(pads: readonly (readonly [number, number])[], opts?: mv.PadOptions): Tensor {
    return mv.pad(this, pads, opts);
  }
  /** @see flip */ flip(opts?: { axis?: number | readonly number[] }): Tensor {
    return mv.flip(this, opts);
  }
  /** @see split */ split(s: number | readonly number[], opts?: mv.AxisOption): Tensor[] {
    return mv.split(this, s, opts);
  }
  /** @see tile */ tile(reps: number | readonly number[]): Tensor {
    return mv.tile(this, reps);
  }
  /** @see repeat */ repeat(repeats: number, opts?: mv.AxisOption): Tensor {
    return mv.repeat(this, repeats, opts);
  }

  /** @see matmul */ matmul(y: TensorLike): Tensor {
    return la.matmul(this, y);
  }
  /** @see dot */ dot(y: TensorLike): Tensor {
    return la.dot(this, y);
  }
  /** @see take */ take(
    indices: Tensor | number | readonly number[],
    opts?: ix.TakeOptions,
  ): Tensor {
    return ix.take(this, indices, opts);
  }
}
