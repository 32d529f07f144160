/** Creating tensors: from data, constants, ranges. Options come last (`{dtype, device}`). @module */
import { allocArray, checkDtype, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { getBackend } from "../backends/backend.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { checkShape, fmt, numel } from "../shape.ts";
import { bindBuffer } from "../schedule/realize.ts";
import { castNode, castScalar, wrap } from "./convert.ts";
import { deviceArg } from "./device.ts";
import {
  checkBool,
  checkInt,
  checkNumber,
  checkOptions,
  checkSize,
  checkTensorArg,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "../errors.ts";
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
        throw typeError(
          op,
          `data must hold numbers or booleans: expected a number at depth ${depth}, got ${
            Array.isArray(x) ? "an array (ragged nesting)" : describe(x)
          }`,
        );
      }
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw shapeError(
        op,
        `ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${
          Array.isArray(x) ? `length ${x.length}` : describe(x)
        }`,
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
  checkOptions("tensor", opts, TENSOR_OPTIONS);
  const device = deviceArg("tensor", opts.device);
  const given = opts.shape === undefined ? undefined : checkShape("tensor", opts.shape);
  const d0 = opts.dtype === undefined ? undefined : checkDtype("tensor", opts.dtype);
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    if (!own) throw typeError("tensor", `unsupported typed array ${data.constructor.name}`);
    const shape = given ?? [data.length];
    if (numel(shape) !== data.length) {
      throw shapeError(
        "tensor",
        `shape ${fmt(shape)} needs ${numel(shape)} elements, got ${data.length}`,
      );
    }
    const d = d0 ?? own;
    if (d === own) return fromArray(data as TypedArray, shape, d, device);
    const conv = allocArray(d, data.length);
    const src = data as TypedArray;
    for (let i = 0; i < src.length; i++) {
      conv[i] = d === "bool" ? (src[i] !== 0 ? 1 : 0) : d === "int32" ? Math.trunc(src[i]) : src[i];
    }
    return fromArray(conv, shape, d, device);
  }
  if (typeof data !== "number" && typeof data !== "boolean" && !Array.isArray(data)) {
    throw typeError(
      "tensor",
      `data must be a number, a boolean, nested arrays or a typed array, got ${describe(data)}`,
    );
  }
  const shape = inferShape(data as NestedArray, "tensor");
  const flat = shape.length === 0
    ? [data]
    : (data as unknown[]).flat(Infinity as 1) as (number | boolean)[];
  if (given && numel(given) !== flat.length) {
    throw shapeError(
      "tensor",
      `shape ${fmt(given)} needs ${numel(given)} elements, data ${fmt(shape)} has ${flat.length}`,
    );
  }
  const isBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
  const d = d0 ?? (isBool ? "bool" : "float32");
  const arr = allocArray(d, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = Number(flat[i]);
    arr[i] = d === "bool" ? (v !== 0 ? 1 : 0) : d === "int32" ? Math.trunc(v) : v;
  }
  return fromArray(arr, given ?? shape, d, device);
}

const TENSOR_OPTIONS = ["dtype", "device", "shape"];
const CREATE_OPTIONS = ["dtype", "device"];

/** Checks creation options; returns the dtype (if given) and the device. */
function createArgs(
  op: string,
  opts: CreateOptions | undefined,
  known: readonly string[] = CREATE_OPTIONS,
): { dtype: DType | undefined; device: string } {
  const o = checkOptions(op, opts, known);
  return {
    dtype: o.dtype === undefined ? undefined : checkDtype(op, o.dtype),
    device: deviceArg(op, o.device),
  };
}

/** A tensor filled with `value` (lazy: no memory until used). @example k.full([2, 3], 0.5, {dtype: "float64"}) */
export function full(
  shape: readonly number[],
  value: number | boolean,
  opts: CreateOptions = {},
): Tensor {
  const s = checkShape("full", shape);
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw typeError("full", `value must be a number or a boolean, got ${describe(value)}`);
  }
  const { dtype, device } = createArgs("full", opts);
  const d = dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  return wrap(makeLeaf("const", castScalar(Number(value), d), s, d, device));
}

/** Zeros. @example k.zeros([3, 4]) */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return userOp("zeros", () => full(shape, 0, opts));
}

/** Ones. @example k.ones([3], {dtype: "int32"}) */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return userOp("ones", () => full(shape, 1, opts));
}

/** Zeros with `x`'s shape, dtype and device. @example k.zerosLike(x) */
export function zerosLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return userOp("zerosLike", () => likeOf(x, 0, opts));
}

function likeOf(x: Tensor, value: number, opts: CreateOptions): Tensor {
  checkTensorArg("zerosLike", x);
  checkOptions("zerosLike", opts, CREATE_OPTIONS);
  return full(x.shape, value, { dtype: opts.dtype ?? x.dtype, device: opts.device ?? x.device });
}

/** Ones with `x`'s shape, dtype and device. @example k.onesLike(x) */
export function onesLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return userOp("onesLike", () => likeOf(x, 1, opts));
}

/**
 * Evenly spaced values in `[start, stop)` (`arange(n)` is `0..n-1`); int32 when all arguments
 * are integers, else float32 (as `jnp.arange`). @example k.arange(0, 1, 0.25) // [0, .25, .5, .75]
 */
export function arange(
  start: number,
  stop?: number | null,
  step = 1,
  opts: CreateOptions = {},
): Tensor {
  return userOp("arange", () => arangeImpl(start, stop, step, opts));
}

function arangeImpl(
  start: number,
  stop: number | null | undefined,
  step: number,
  opts: CreateOptions,
): Tensor {
  checkNumber("arange", start, stop === undefined || stop === null ? "stop" : "start");
  if (stop === undefined || stop === null) [start, stop] = [0, start];
  checkNumber("arange", stop, "stop");
  checkNumber("arange", step, "step");
  if (step === 0) throw rangeError("arange", `step must be non-zero, got ${step}`);
  const { dtype, device } = createArgs("arange", opts);
  const allInt = [start, stop, step].every(Number.isInteger);
  const d = dtype ?? (allInt ? "int32" : "float32");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > MAX_LENGTH) {
    throw rangeError("arange", `[${start}, ${stop}) by ${step} has ${n} elements (too many)`);
  }
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
  return userOp("linspace", () => linspaceImpl(start, stop, num, opts));
}

function linspaceImpl(start: number, stop: number, num: number, opts: LinspaceOptions): Tensor {
  checkNumber("linspace", start, "start");
  checkNumber("linspace", stop, "stop");
  checkInt("linspace", num, "num", 0, MAX_LENGTH);
  const { dtype, device } = createArgs("linspace", opts, ["dtype", "device", "endpoint"]);
  const endpoint = opts.endpoint === undefined
    ? true
    : checkBool("linspace", opts.endpoint, "endpoint");
  const div = endpoint ? Math.max(num - 1, 1) : num;
  const d = dtype ?? "float32";
  const iota = wrap(makeLeaf("iota", 0, [num], d === "float64" ? "float64" : "float32", device));
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
export function eye(n: number, m?: number | null, opts: EyeOptions = {}): Tensor {
  return userOp("eye", () => {
    checkSize("eye", n, "n");
    const cols = m === undefined || m === null ? n : checkSize("eye", m, "m");
    const { dtype, device } = createArgs("eye", opts, ["dtype", "device", "k"]);
    const diag = opts.k === undefined ? 0 : checkInt("eye", opts.k, "k");
    const r = wrap(makeLeaf("iota", 0, [n, cols], "int32", device));
    const c = wrap(makeLeaf("iota", 1, [n, cols], "int32", device));
    return wrap(castNode(equal(add(r, diag), c).node, dtype ?? "float32"));
  });
}

/** The longest 1-D range `arange`/`linspace` build (int32 indexing). */
const MAX_LENGTH = 2 ** 31 - 1;
