/** Indexing: `take` (a fused gather) and `oneHot`. @module */
import type { DType } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import { fmt, normAxis } from "../shape.ts";
import { asTensor, castNode, sameDevice, type TensorLike, wrap } from "./convert.ts";
import { equal } from "./elementwise.ts";
import { expandDims, reshape } from "./movement.ts";
import { Tensor } from "./tensor.ts";
import { tensor } from "./creation.ts";
import { checkDtype } from "../dtype.ts";
import { checkInt, checkOptions, describe, shapeError, typeError, userOp } from "../errors.ts";

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
  return userOp("take", () => {
    let t = asTensor("take", x);
    const axisArg = checkOptions("take", opts, ["axis"]).axis;
    const ind = indices instanceof Tensor ? indices : indexTensor(indices, t.device);
    sameDevice("take", [t, ind]);
    if (ind.dtype !== "int32") {
      throw typeError("take", `indices must be int32, got ${ind.dtype} ${fmt(ind.shape)}`);
    }
    if (axisArg === undefined) t = reshape(t, [t.size]);
    const axis = normAxis("take", axisArg ?? 0, t.ndim);
    if (t.shape[axis] === 0) {
      throw shapeError("take", `cannot index the empty axis ${axis} of ${fmt(t.shape)}`);
    }
    return wrap(makeNode("gather", [t.node, ind.node], axis));
  });
}

/** JS indices (an integer or nested arrays of integers) as an int32 tensor. */
function indexTensor(indices: unknown, device: string): Tensor {
  if (typeof indices !== "number" && !Array.isArray(indices)) {
    throw typeError(
      "take",
      `indices must be an int32 Tensor, an integer or an array of integers, got ${
        describe(indices)
      }`,
    );
  }
  const flat = [indices].flat(Infinity);
  for (const v of flat) {
    if (typeof v !== "number") {
      throw typeError("take", `indices must be integers, got ${describe(v)}`);
    }
    checkInt("take", v, "index");
  }
  return tensor(indices as number[], { dtype: "int32", device });
}

/** Options of `oneHot`. */
export interface OneHotOptions {
  /** Result dtype (default float32). */
  dtype?: DType;
}

/** One-hot encodes int labels into a trailing axis of size `n`. @example k.oneHot(labels, 10) */
export function oneHot(labels: TensorLike, n: number, opts: OneHotOptions = {}): Tensor {
  return userOp("oneHot", () => {
    const l = asTensor("oneHot", labels, "labels");
    if (l.dtype !== "int32") {
      throw typeError("oneHot", `labels must be int32, got ${l.dtype}${fmt(l.shape)}`);
    }
    checkInt("oneHot", n, "n", 1);
    const o = checkOptions("oneHot", opts, ["dtype"]);
    const d = o.dtype === undefined ? "float32" : checkDtype("oneHot", o.dtype);
    const iota = wrap(makeLeaf("iota", 0, [n], "int32", l.device));
    return wrap(castNode(equal(expandDims(l, -1), iota).node, d));
  });
}
