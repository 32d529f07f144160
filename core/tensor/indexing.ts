/** Indexing: `take` (a fused gather) and `oneHot`. @module */
import type { DType } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import { fmt, normAxis } from "../shape.ts";
import { asTensor, castNode, sameDevice, type TensorLike, wrap } from "./convert.ts";
import { equal } from "./elementwise.ts";
import { expandDims, reshape } from "./movement.ts";
import { Tensor } from "./tensor.ts";
import { tensor } from "./creation.ts";

/** Options of `take`. */
export interface TakeOptions {
  /** Axis to index (default: the flattened tensor). */
  axis?: number;
}

/**
 * Picks entries along `axis` by int32 indices (`numpy.take`): the result's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from the end;
 * out-of-range ones are clamped. @example k.take(embeddings, tokenIds, {axis: 0})
 */
export function take(
  x: TensorLike,
  indices: Tensor | number | readonly number[],
  opts: TakeOptions = {},
): Tensor {
  let t = asTensor("take", x);
  const ind = indices instanceof Tensor
    ? indices
    : tensor(indices as number[], { dtype: "int32", device: t.device });
  sameDevice("take", [t, ind]);
  if (ind.dtype !== "int32") {
    throw new TypeError(`take: indices must be int32, got ${ind.dtype} ${fmt(ind.shape)}`);
  }
  if (opts.axis === undefined) t = reshape(t, [t.size]);
  const axis = normAxis("take", opts.axis ?? 0, t.ndim);
  if (t.shape[axis] === 0) {
    throw new Error(`take: cannot index the empty axis ${axis} of ${fmt(t.shape)}`);
  }
  return wrap(makeNode("gather", [t.node, ind.node], axis));
}

/** Options of `oneHot`. */
export interface OneHotOptions {
  /** Result dtype (default float32). */
  dtype?: DType;
}

/** One-hot encodes int labels into a trailing axis of size `n`. @example k.oneHot(labels, 10) */
export function oneHot(labels: TensorLike, n: number, opts: OneHotOptions = {}): Tensor {
  const l = asTensor("oneHot", labels, "labels");
  if (l.dtype !== "int32") throw new TypeError(`oneHot: labels must be int32, got ${l.dtype}`);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`oneHot: n must be a positive integer, got ${n}`);
  }
  const iota = wrap(makeLeaf("iota", 0, [n], "int32", l.device));
  return wrap(castNode(equal(expandDims(l, -1), iota).node, opts.dtype ?? "float32"));
}
