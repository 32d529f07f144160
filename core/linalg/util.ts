/**
 * Small tensor helpers shared by the linear-algebra rules and functions, all over the last two
 * axes and all composed of ordinary (differentiable, fusable) ops.
 * @module
 */
import { makeLeaf } from "../ir/graph.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { castNode, wrap } from "../tensor/convert.ts";
import { matmul } from "../tensor/linalg.ts";
import { broadcastTo, expandDims, reshape, slice, transpose } from "../tensor/movement.ts";
import { add, greaterEqual, lessEqual, mul, sub, where } from "../tensor/elementwise.ts";
import { sum } from "../tensor/reduce.ts";

/** Swaps the last two axes. */
export function mT(x: Tensor): Tensor {
  const p = [...x.shape.keys()];
  const r = x.ndim;
  [p[r - 2], p[r - 1]] = [p[r - 1], p[r - 2]];
  return transpose(x, p);
}

/** Matrix product over the last two axes (batch axes broadcast). */
export const mm = (a: Tensor, b: Tensor): Tensor => matmul(a, b);

/** An int32 [rows, cols] tensor of `col - row` (for triangle and diagonal masks). */
function offsets(rows: number, cols: number, device: string): Tensor {
  const r = wrap(makeLeaf("iota", 0, [rows, cols], "int32", device));
  const c = wrap(makeLeaf("iota", 1, [rows, cols], "int32", device));
  return sub(c, r);
}

/** Lower triangle (entries with col - row <= k), the rest 0. */
export function tril(x: Tensor, k = 0): Tensor {
  const [n, m] = x.shape.slice(-2);
  return where(lessEqual(offsets(n, m, x.device), k), x, zerosOf(x));
}

/** Upper triangle (entries with col - row >= k), the rest 0. */
export function triu(x: Tensor, k = 0): Tensor {
  const [n, m] = x.shape.slice(-2);
  return where(greaterEqual(offsets(n, m, x.device), k), x, zerosOf(x));
}

/** A scalar 0 of x's dtype and device. */
export function zerosOf(x: Tensor): Tensor {
  return wrap(makeLeaf("const", 0, [], x.dtype, x.device));
}

/** The n×n identity in `like`'s dtype and device. */
export function eyeLike(n: number, like: Tensor): Tensor {
  const o = offsets(n, n, like.device);
  return wrap(castNode(lessEqual(o, 0).node, like.dtype)).mul(
    wrap(castNode(greaterEqual(o, 0).node, like.dtype)),
  );
}

/** `[..., k] -> [..., k, k]` with v on the diagonal. */
export function diagEmbed(v: Tensor): Tensor {
  const n = v.shape[v.ndim - 1];
  return mul(expandDims(v, -1), eyeLike(n, v));
}

/** Diagonal `offset` of the last two axes: `[..., n, m] -> [..., len]`. */
export function diagonalOf(x: Tensor, offset = 0): Tensor {
  const [n, m] = x.shape.slice(-2);
  const mask = wrap(castNode(offsets(n, m, x.device).equal(offset).node, x.dtype));
  const rows = sum(mul(x, mask), { axis: -1 }); // row i holds x[i, i + offset] (or 0)
  const lo = Math.max(0, -offset), hi = Math.max(lo, Math.min(n, m - offset));
  return slice(rows, [...x.shape.slice(0, -2).map(() => [0, null] as const), [lo, hi]]);
}

/** (x + xᵀ) / 2. */
export function symmetrize(x: Tensor): Tensor {
  return mul(add(x, mT(x)), 0.5);
}

/** Broadcasts the batch axes of matrices (rank ≥ 2 each) to a common shape. */
export function broadcastBatch(xs: readonly Tensor[], batch: readonly number[]): Tensor[] {
  return xs.map((x) => {
    const want = [...batch, ...x.shape.slice(-2)];
    return x.shape.join() === want.join() ? x : broadcastTo(x, want);
  });
}

/** Adds a trailing axis of size 1 (a vector as a one-column matrix). */
export const col = (v: Tensor): Tensor => reshape(v, [...v.shape, 1]);
