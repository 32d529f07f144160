/** Creating tensors: from data, constants, ranges. Options come last (`{dtype, device}`). @module */
import { allocArray, checkDtype, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { getBackend } from "../backends/backend.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { checkShape, numel } from "../shape.ts";
import { bindBuffer } from "../schedule/realize.ts";
import { castNode, castScalar, wrap } from "./convert.ts";
import { defaultDevice } from "./device.ts";
import { add, equal, mul } from "./elementwise.ts";
import type { Tensor } from "./tensor.ts";

/** Options of creation functions. */
export interface CreateOptions {
  /** Element type (default float32; bool for booleans; the typed array's own for typed arrays). */
  dtype?: DType;
  /** Device (default: the current default device). */
  device?: string;
}

/** Nested JS arrays of numbers/booleans. */
export type NestedArray = number | boolean | readonly NestedArray[];

function inferShape(data: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0] as NestedArray;
    if (d === undefined) break;
  }
  const check = (x: NestedArray, depth: number) => {
    if (depth === shape.length) {
      if (typeof x !== "number" && typeof x !== "boolean") {
        throw new TypeError(
          `${op}: expected a number at depth ${depth}, got ${
            Array.isArray(x) ? "an array (ragged nesting)" : typeof x
          }`,
        );
      }
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new Error(
        `${op}: ragged nested array: expected length ${shape[depth]} at depth ${depth}`,
      );
    }
    for (const y of x) check(y, depth + 1);
  };
  check(data, 0);
  return shape;
}

/** Uploads a typed array as a realized tensor. */
export function fromArray(
  data: TypedArray,
  shape: readonly number[],
  dtype: DType,
  device: string,
): Tensor {
  const n = new Node("buffer", [], undefined, [...shape], dtype, device);
  bindBuffer(n, getBackend(device).upload(dtype, data));
  return wrap(n);
}

/**
 * A tensor from nested arrays, a typed array (flat, with `shape` taken from `opts.shape` or 1-D),
 * or a scalar. @example k.tensor([[1, 2], [3, 4]]) ; k.tensor([1, 2], {dtype: "int32"})
 */
export function tensor(
  data: NestedArray | TypedArray,
  opts: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  const device = opts.device ?? defaultDevice();
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    if (!own) throw new TypeError(`tensor: unsupported typed array ${data.constructor.name}`);
    const shape = opts.shape ? checkShape("tensor", opts.shape) : [data.length];
    if (numel(shape) !== data.length) {
      throw new Error(
        `tensor: shape [${shape}] needs ${numel(shape)} elements, got ${data.length}`,
      );
    }
    const d = opts.dtype ? checkDtype("tensor", opts.dtype) : own;
    if (d === own) return fromArray(data as TypedArray, shape, d, device);
    const conv = allocArray(d, data.length);
    const src = data as TypedArray;
    for (let i = 0; i < src.length; i++) {
      conv[i] = d === "bool" ? (src[i] !== 0 ? 1 : 0) : d === "int32" ? Math.trunc(src[i]) : src[i];
    }
    return fromArray(conv, shape, d, device);
  }
  const shape = inferShape(data as NestedArray, "tensor");
  const flat = shape.length === 0
    ? [data]
    : (data as unknown[]).flat(Infinity as 1) as (number | boolean)[];
  const isBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
  const d = opts.dtype ? checkDtype("tensor", opts.dtype) : isBool ? "bool" : "float32";
  const arr = allocArray(d, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = Number(flat[i]);
    arr[i] = d === "bool" ? (v !== 0 ? 1 : 0) : d === "int32" ? Math.trunc(v) : v;
  }
  return fromArray(arr, opts.shape ? checkShape("tensor", opts.shape) : shape, d, device);
}

/** A tensor filled with `value` (lazy: no memory until used). @example k.full([2, 3], 0.5, {dtype: "float64"}) */
export function full(
  shape: readonly number[],
  value: number | boolean,
  opts: CreateOptions = {},
): Tensor {
  const s = checkShape("full", shape);
  const d = opts.dtype
    ? checkDtype("full", opts.dtype)
    : typeof value === "boolean"
    ? "bool"
    : "float32";
  return wrap(
    makeLeaf("const", castScalar(Number(value), d), s, d, opts.device ?? defaultDevice()),
  );
}

/** Zeros. @example k.zeros([3, 4]) */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** Ones. @example k.ones([3], {dtype: "int32"}) */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Zeros with `x`'s shape, dtype and device. @example k.zerosLike(x) */
export function zerosLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return full(x.shape, 0, { dtype: opts.dtype ?? x.dtype, device: opts.device ?? x.device });
}

/** Ones with `x`'s shape, dtype and device. @example k.onesLike(x) */
export function onesLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return full(x.shape, 1, { dtype: opts.dtype ?? x.dtype, device: opts.device ?? x.device });
}

/**
 * Evenly spaced values in `[start, stop)` (`arange(n)` is `0..n-1`); int32 when all arguments
 * are integers, else float32 (as `jnp.arange`). @example k.arange(0, 1, 0.25) // [0, .25, .5, .75]
 */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new Error(`arange: step must be finite and non-zero, got ${step}`);
  }
  const allInt = [start, stop, step].every(Number.isInteger);
  const d = opts.dtype ?? (allInt ? "int32" : "float32");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const device = opts.device ?? defaultDevice();
  const iota = wrap(
    makeLeaf("iota", 0, [n], "float64" === d ? "float64" : allInt ? "int32" : "float32", device),
  );
  const v = add(mul(iota, step), start);
  return wrap(castNode(v.node, d));
}

/** Options of `linspace`. */
export interface LinspaceOptions extends CreateOptions {
  /** Include `stop` (default true). */
  endpoint?: boolean;
}

/** `num` evenly spaced values from `start` to `stop`. @example k.linspace(0, 1, 5) */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  opts: LinspaceOptions = {},
): Tensor {
  if (!Number.isInteger(num) || num < 0) {
    throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  }
  const endpoint = opts.endpoint ?? true;
  const div = endpoint ? Math.max(num - 1, 1) : num;
  const d = opts.dtype ?? "float32";
  const iota = wrap(
    makeLeaf(
      "iota",
      0,
      [num],
      d === "float64" ? "float64" : "float32",
      opts.device ?? defaultDevice(),
    ),
  );
  const step = (stop - start) / div;
  let v = add(mul(iota, step), start);
  if (endpoint && num > 1) {
    // Hit `stop` exactly at the last point.
    const last = equal(iota, num - 1);
    v = wrap(
      makeNode("where", [
        last.node,
        full([num], stop, { dtype: v.dtype, device: v.device }).node,
        v.node,
      ]),
    );
  }
  return wrap(castNode(v.node, d));
}

/** Options of `eye`. */
export interface EyeOptions extends CreateOptions {
  /** Diagonal offset (default 0). */
  k?: number;
}

/** Identity-like matrix `[n, m]` with ones on diagonal `k`. @example k.eye(3) */
export function eye(n: number, m?: number, opts: EyeOptions = {}): Tensor {
  const cols = m ?? n;
  checkShape("eye", [n, cols]);
  const device = opts.device ?? defaultDevice();
  const r = wrap(makeLeaf("iota", 0, [n, cols], "int32", device));
  const c = wrap(makeLeaf("iota", 1, [n, cols], "int32", device));
  return wrap(castNode(equal(add(r, opts.k ?? 0), c).node, opts.dtype ?? "float32"));
}
