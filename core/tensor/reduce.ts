/**
 * Reductions and the softmax family. `axis` is a number, a list, or omitted/null for all axes;
 * negative axes count from the end. `keepdims` keeps reduced axes with size 1.
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import { fmt, normAxes, normAxis } from "../shape.ts";
import {
  add,
  div,
  equal,
  exp,
  isnan,
  lessEqual,
  log,
  logicalOr,
  mul,
  sqrt,
  sub,
  where,
} from "./elementwise.ts";
import { asTensor, broadcastNode, castNode, type TensorLike, wrap } from "./convert.ts";
import { flip, reshape, transpose } from "./movement.ts";
import type { Tensor } from "./tensor.ts";
import { checkBool, checkInt, checkOptions, shapeError, userOp } from "../errors.ts";

const REDUCE = ["axis", "keepdims"];
const VARIANCE = ["axis", "keepdims", "ddof"];

/** Checks a reduction's options (known names, `keepdims` a boolean). */
function reduceArgs<T extends ReduceOptions>(op: string, opts: T | undefined, known = REDUCE): T {
  const o = checkOptions(op, opts, known);
  if (o.keepdims !== undefined) checkBool(op, o.keepdims, "keepdims");
  return o;
}

/** Options of reductions. */
export interface ReduceOptions {
  /** Axis or axes to reduce (default: all). */
  axis?: number | readonly number[] | null;
  /** Keep reduced axes with size 1 (default false). */
  keepdims?: boolean;
}

/** Options of `variance` and `std`. */
export interface VarianceOptions extends ReduceOptions {
  /** Delta degrees of freedom: divide by `n - ddof` (default 0, population variance). */
  ddof?: number;
}

function reduceOp(
  prim: string,
  op: string,
  x: TensorLike,
  opts: ReduceOptions,
  dtype?: DType,
): Tensor {
  let t = asTensor(op, x);
  const axes = normAxes(op, opts.axis, t.ndim);
  if (dtype && t.dtype !== dtype) t = wrap(castNode(t.node, dtype));
  if ((prim === "max" || prim === "min") && axes.some((a) => t.shape[a] === 0)) {
    throw shapeError(op, `cannot reduce an empty axis of ${fmt(t.shape)} (no identity)`);
  }
  const r = axes.length ? wrap(makeNode(prim, [t.node], axes)) : t;
  return opts.keepdims ? r : reshape(r, t.shape.filter((_, i) => !axes.includes(i)));
}

const sumDtype = (d: DType): DType => d === "bool" ? "int32" : d;
const meanDtype = (d: DType): DType => isFloat(d) ? d : "float32";

/** Sum (bool counts as int32). @example k.sum(x, {axis: 1}) */
export function sum(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("sum", () => {
    const t = asTensor("sum", x);
    return reduceOp("sum", "sum", t, reduceArgs("sum", opts), sumDtype(t.dtype));
  });
}

/** Product. @example k.prod(x, {axis: 0}) */
export function prod(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("prod", () => {
    const t = asTensor("prod", x);
    return reduceOp("prod", "prod", t, reduceArgs("prod", opts), sumDtype(t.dtype));
  });
}

/** Maximum (NaN propagates). @example k.max(x, {axis: -1, keepdims: true}) */
export function max(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("max", () => reduceOp("max", "max", x, reduceArgs("max", opts)));
}

/** Minimum (NaN propagates). @example k.min(x) */
export function min(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("min", () => reduceOp("min", "min", x, reduceArgs("min", opts)));
}

function count(t: Tensor, opts: ReduceOptions, op: string): number {
  return normAxes(op, opts.axis, t.ndim).reduce((a, i) => a * t.shape[i], 1);
}

/** Arithmetic mean (ints give float32). @example k.mean(x, {axis: 0}) */
export function mean(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("mean", () => {
    const t = asTensor("mean", x);
    const o = reduceArgs("mean", opts);
    const s = reduceOp("sum", "mean", t, o, meanDtype(t.dtype));
    return div(s, count(t, o, "mean"));
  });
}

/** Variance, `mean((x - mean(x))²)·n/(n-ddof)`. @example k.variance(x, {axis: 0}) */
export function variance(x: TensorLike, opts: VarianceOptions = {}): Tensor {
  return userOp("variance", () => varianceImpl("variance", x, opts));
}

function varianceImpl(op: string, x: TensorLike, opts: VarianceOptions): Tensor {
  const t = asTensor(op, x);
  const o = reduceArgs(op, opts, VARIANCE);
  const ddof = o.ddof === undefined ? 0 : checkInt(op, o.ddof, "ddof", 0);
  const m = mean(t, { axis: o.axis, keepdims: true });
  const d = sub(t, m);
  const n = count(t, o, op);
  const s = reduceOp("sum", op, mul(d, d), o);
  return div(s, Math.max(n - ddof, 0));
}

/** Standard deviation, `sqrt(variance)`. @example k.std(x) */
export function std(x: TensorLike, opts: VarianceOptions = {}): Tensor {
  return userOp("std", () => sqrt(varianceImpl("std", x, opts)));
}

/** `log(sum(exp(x)))`, computed stably (shifted by the max). @example k.logsumexp(x, {axis: -1}) */
export function logsumexp(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return userOp("logsumexp", () => logsumexpImpl(x, reduceArgs("logsumexp", opts)));
}

function logsumexpImpl(x: TensorLike, opts: ReduceOptions): Tensor {
  const t = asTensor("logsumexp", x);
  const f = isFloat(t.dtype) ? t : wrap(castNode(t.node, "float32"));
  const m = shift(f, opts.axis);
  const safe = where(isnan(m), 0, where(m.isfinite(), m, 0));
  const s = log(sum(exp(sub(f, safe)), { axis: opts.axis, keepdims: true }));
  const r = add(s, safe);
  return opts.keepdims
    ? r
    : reshape(r, t.shape.filter((_, i) => !normAxes("logsumexp", opts.axis, t.ndim).includes(i)));
}

/** Options naming one axis for softmax-like ops. */
export interface SoftmaxOptions {
  /** The axis to normalize over (default -1). */
  axis?: number;
}

/**
 * The max shift of the softmax family: its gradient is exactly zero mathematically, so it is
 * stopped (as JAX does), which also spares the backward pass the max's tie-sharing kernels.
 */
function shift(t: Tensor, axis: number | readonly number[] | null | undefined): Tensor {
  return wrap(makeNode("stopGradient", [max(t, { axis, keepdims: true }).node]));
}

/** `exp(x) / sum(exp(x))` along `axis`, stable for large inputs. @example k.softmax(x, {axis: -1}) */
export function softmax(x: TensorLike, opts: SoftmaxOptions = {}): Tensor {
  return userOp("softmax", () => {
    const t = asTensor("softmax", x);
    const axis = normAxis("softmax", checkOptions("softmax", opts, ["axis"]).axis ?? -1, t.ndim);
    const e = exp(sub(t, shift(t, axis)));
    return div(e, sum(e, { axis, keepdims: true }));
  });
}

/** `x - logsumexp(x)` along `axis`. @example k.logSoftmax(x, {axis: -1}) */
export function logSoftmax(x: TensorLike, opts: SoftmaxOptions = {}): Tensor {
  return userOp("logSoftmax", () => {
    const t = asTensor("logSoftmax", x);
    const o = checkOptions("logSoftmax", opts, ["axis"]);
    const axis = normAxis("logSoftmax", o.axis ?? -1, t.ndim);
    const s = sub(t, shift(t, axis));
    return sub(s, log(sum(exp(s), { axis, keepdims: true })));
  });
}

/** Options of `argmax`/`argmin`. */
export interface ArgOptions {
  /** The axis (default: over the flattened tensor). */
  axis?: number;
  /** Keep the reduced axis with size 1 (default false). */
  keepdims?: boolean;
}

function argReduce(op: "argmax" | "argmin", x: TensorLike, opts: ArgOptions): Tensor {
  let t = asTensor(op, x);
  opts = reduceArgs(op, opts);
  if (opts.axis === undefined || opts.axis === null) t = reshape(t, [t.size]);
  const axis = normAxis(op, opts.axis ?? 0, t.ndim);
  const n = t.shape[axis];
  if (n === 0) throw shapeError(op, `axis ${axis} of ${fmt(t.shape)} is empty`);
  const best = (op === "argmax" ? max : min)(t, { axis, keepdims: true });
  let hit = equal(t, best);
  if (isFloat(t.dtype)) hit = logicalOr(hit, isnan(t));
  const iota = wrap(makeLeaf("iota", axis, t.shape, "int32", t.device));
  // The first index where the extreme value (or a NaN) occurs.
  const idx = reduceOp("min", op, where(hit, iota, n), { axis, keepdims: true });
  if (opts.keepdims) {
    return opts.axis === undefined ? reshape(idx, asTensor(op, x).shape.map(() => 1)) : idx;
  }
  return reshape(idx, t.shape.filter((_, i) => i !== axis));
}

/** Index of the maximum (first on ties; NaN counts as maximal). @example k.argmax(logits, {axis: -1}) */
export function argmax(x: TensorLike, opts: ArgOptions = {}): Tensor {
  return userOp("argmax", () => argReduce("argmax", x, opts));
}

/** Index of the minimum (first on ties). @example k.argmin(x, {axis: 0}) */
export function argmin(x: TensorLike, opts: ArgOptions = {}): Tensor {
  return userOp("argmin", () => argReduce("argmin", x, opts));
}

/** Options of `cumsum`. */
export interface CumsumOptions {
  /** Axis (default: over the flattened tensor). */
  axis?: number;
  /** Accumulate from the end. */
  reverse?: boolean;
}

/**
 * Inclusive cumulative sum. Lowered to a triangular masked reduction (one fused kernel,
 * O(n²) along the axis). @example k.cumsum(x, {axis: 1})
 */
export function cumsum(x: TensorLike, opts: CumsumOptions = {}): Tensor {
  return userOp("cumsum", () => cumsumImpl(x, opts));
}

function cumsumImpl(x: TensorLike, opts: CumsumOptions): Tensor {
  let t = asTensor("cumsum", x);
  opts = checkOptions("cumsum", opts, ["axis", "reverse"]);
  if (opts.reverse !== undefined) checkBool("cumsum", opts.reverse, "reverse");
  if (opts.axis === undefined) t = reshape(t, [t.size]);
  if (t.dtype === "bool") t = wrap(castNode(t.node, "int32"));
  const axis = normAxis("cumsum", opts.axis ?? 0, t.ndim);
  if (opts.reverse) t = flip(t, { axis });
  const perm = [...Array(t.ndim).keys()].filter((i) => i !== axis).concat([axis]);
  const moved = transpose(t, perm);
  const n = t.shape[axis];
  const lead = moved.shape.slice(0, -1);
  const full = [...lead, n, n];
  const xs = wrap(broadcastNode(reshape(moved, [...lead, 1, n]).node, full));
  const i = wrap(makeLeaf("iota", full.length - 2, full, "int32", t.device));
  const j = wrap(makeLeaf("iota", full.length - 1, full, "int32", t.device));
  const masked = where(lessEqual(j, i), xs, 0);
  let r = sum(masked, { axis: -1 });
  const inv = perm.map((_, k) => perm.indexOf(k));
  r = transpose(r, inv);
  return opts.reverse ? flip(r, { axis }) : r;
}
