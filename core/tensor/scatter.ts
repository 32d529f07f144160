/**
 * Scatter-add ops: `scatterAdd` (numpy's `np.add.at` / JAX's `x.at[idx].add(u)` along one
 * axis) and `segmentSum` (`jax.ops.segment_sum`), both one `scatterAdd` primitive: a kernel
 * that copies `x` and then adds each update at its index, O(|updates|) work.
 * @module
 */
import type { DType } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { type ScatterArg, type ScatterMode, updatesShape } from "../ir/scatter.ts";
import { broadcastShapes, fmt, normAxis, shapeEq } from "../shape.ts";
import {
  asTensor,
  broadcastNode,
  castNode,
  sameDevice,
  scalarNode,
  type TensorLike,
  wrap,
} from "./convert.ts";
import { Tensor } from "./tensor.ts";
import { tensor } from "./creation.ts";
import {
  checkInt,
  checkOneOf,
  checkOptions,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "../errors.ts";

export type { ScatterMode };

/** Options of `scatterAdd`. */
export interface ScatterAddOptions {
  /** The axis of `x` the indices pick along (default 0). */
  axis?: number;
  /**
   * Indices outside `[-n, n)`: `"drop"` (default, as JAX's scatter) ignores their updates,
   * `"clip"` adds them at the nearest end (the transpose of `take`, which clamps).
   */
  mode?: ScatterMode;
}

const DTYPES: readonly DType[] = ["float32", "float64", "float16", "int32"];

/** int32 indices from a tensor, an integer or nested arrays of integers. */
function indexNode(op: string, indices: unknown, device: string, what: string): Tensor {
  if (indices instanceof Tensor) {
    if (indices.dtype !== "int32") {
      throw typeError(op, `${what} must be int32, got ${indices.dtype} ${fmt(indices.shape)}`);
    }
    return indices;
  }
  if (typeof indices !== "number" && !Array.isArray(indices)) {
    throw typeError(
      op,
      `${what} must be an int32 Tensor, an integer or an array of integers, got ${
        describe(indices)
      }`,
    );
  }
  for (const v of [indices].flat(Infinity)) {
    if (typeof v !== "number") throw typeError(op, `${what} must be integers, got ${describe(v)}`);
    checkInt(op, v, what.replace(/s$/, ""));
  }
  return tensor(indices as number[], { dtype: "int32", device });
}

/** The dtype check shared by both ops. */
function checkValueDtype(op: string, t: Tensor, what: string): void {
  if (!DTYPES.includes(t.dtype)) {
    throw typeError(op, `${what} must be float32, float64, float16 or int32, got ${t.dtype}`);
  }
}

/** Updates as a node of exactly `shape` and `x`'s dtype (broadcasting allowed). */
function updatesNode(
  op: string,
  u: TensorLike,
  x: Tensor,
  shape: readonly number[],
  ind: Tensor,
): Node {
  if (typeof u === "number") return broadcastNode(scalarNode(u, x.dtype, x.device), shape);
  const t = asTensor(op, u, "updates");
  sameDevice(op, [x, t]);
  if (t.dtype !== x.dtype) {
    throw shapeError(op, `updates have dtype ${t.dtype} but x has ${x.dtype}; cast one of them`);
  }
  let ok = t.ndim <= shape.length;
  if (ok) {
    try {
      ok = shapeEq(broadcastShapes(op, t.shape, shape), shape);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw shapeError(
      op,
      `updates ${fmt(t.shape)} do not broadcast to ${fmt(shape)}, the shape x ${
        fmt(x.shape)
      } indexed by indices ${fmt(ind.shape)} gives`,
    );
  }
  return broadcastNode(castNode(t.node, x.dtype), shape);
}

/**
 * Returns `x` with `updates` added at `indices` along `axis` (default 0), as numpy's
 * `np.add.at` and JAX's `x.at[indices].add(updates)`: repeated indices accumulate. `updates`
 * has (or broadcasts to) the shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`, as
 * `take(x, indices, {axis})` would return. Negative indices count from the end (as in
 * `take`); indices still out of range are dropped (`mode: "clip"` clamps them instead).
 * Differentiable in `x` and `updates`; `x` is not modified.
 * @example k.scatterAdd(k.zeros([4]), k.tensor([0, 2, 0], {dtype: "int32"}), k.tensor([1, 2, 3]))
 * // [4, 0, 2, 0]
 */
export function scatterAdd(
  x: Tensor,
  indices: Tensor | number | readonly number[],
  updates: TensorLike,
  opts: ScatterAddOptions = {},
): Tensor {
  return userOp("scatterAdd", () => {
    const t = asTensor("scatterAdd", x);
    const o = checkOptions("scatterAdd", opts, ["axis", "mode"]);
    checkValueDtype("scatterAdd", t, "x");
    if (t.ndim === 0) throw shapeError("scatterAdd", "x must have at least one axis, got a scalar");
    const axis = normAxis("scatterAdd", o.axis ?? 0, t.ndim);
    const mode = o.mode === undefined ? "drop" : checkOneOf("scatterAdd", o.mode, [
      "drop",
      "clip",
    ], "mode");
    const ind = indexNode("scatterAdd", indices, t.device, "indices");
    sameDevice("scatterAdd", [t, ind]);
    if (mode === "clip" && t.shape[axis] === 0) {
      throw shapeError(
        "scatterAdd",
        `cannot clip indices to the empty axis ${axis} of ${fmt(t.shape)}`,
      );
    }
    const shape = updatesShape(t.shape, ind.shape, axis);
    if (updates === undefined || updates === null) {
      throw typeError(
        "scatterAdd",
        `updates must be a tensor or a number, got ${describe(updates)}`,
      );
    }
    const u = updatesNode("scatterAdd", updates, t, shape, ind);
    const arg: ScatterArg = { axis, mode };
    return wrap(makeNode("scatterAdd", [t.node, ind.node, u], arg));
  });
}

/**
 * Sums the rows of `data` that share a segment id, as `jax.ops.segment_sum`: `segmentIds`
 * (int32) has the shape of the leading axes of `data`, and the result has shape
 * `[numSegments, ...data.shape[segmentIds.ndim:]]` with row `s` the sum of the entries whose id
 * is `s` (zero for a segment no entry names). Ids outside `[0, numSegments)`, negative ones
 * included, are dropped. Differentiable in `data`.
 * @example k.segmentSum(k.tensor([1, 2, 3, 4]), k.tensor([0, 0, 2, 0], {dtype: "int32"}), 3)
 * // [7, 0, 3]
 */
export function segmentSum(
  data: TensorLike,
  segmentIds: Tensor | number | readonly number[],
  numSegments: number,
): Tensor {
  return userOp("segmentSum", () => {
    const d = asTensor("segmentSum", data, "data");
    checkValueDtype("segmentSum", d, "data");
    const ids = indexNode("segmentSum", segmentIds, d.device, "segmentIds");
    sameDevice("segmentSum", [d, ids]);
    if (typeof numSegments !== "number") {
      throw typeError(
        "segmentSum",
        `numSegments must be a positive integer, got ${describe(numSegments)}`,
      );
    }
    if (!Number.isInteger(numSegments) || numSegments < 1) {
      throw rangeError("segmentSum", `numSegments must be a positive integer, got ${numSegments}`);
    }
    const r = ids.ndim;
    if (r > d.ndim || !shapeEq(ids.shape, d.shape.slice(0, r))) {
      throw shapeError(
        "segmentSum",
        `segmentIds ${fmt(ids.shape)} must have the shape of data's leading axes (data ${
          fmt(d.shape)
        })`,
      );
    }
    const rest = d.shape.slice(r);
    const zeros = makeLeaf("const", 0, [numSegments, ...rest], d.dtype, d.device);
    // Negative ids are dropped, not counted from the end: move them past the last segment.
    const neg = makeNode("less", [ids.node, makeLeaf("const", 0, ids.shape, "int32", d.device)]);
    const big = makeLeaf("const", numSegments, ids.shape, "int32", d.device);
    const i = makeNode("where", [neg, big, ids.node]);
    const arg: ScatterArg = { axis: 0, mode: "drop" };
    return wrap(makeNode("scatterAdd", [zeros, i, d.node], arg));
  });
}
