/**
 * Scatter-add: the transpose of gather. `scatterAdd(x, indices, updates)` along axis `a` is `x`
 * with `updates[p, i, q]` added at `[p, indices[i], q]` (`p` the axes before `a`, `i` the
 * indices' axes, `q` the axes after), duplicates accumulating. Its output positions depend on
 * data, so the scheduler gives it a kernel of its own: a copy of `x`, then one pass over the
 * updates (see `lower.ts` and each backend's scatter rendering).
 * @module
 */
import { type Eqn, type Primitive, register } from "./primitive.ts";
import { makeLeaf, makeNode } from "./graph.ts";
import type { Node } from "./node.ts";
import * as B from "./build.ts";
import { front, moveBatch } from "./batching.ts";

/**
 * What happens to an index outside `[-n, n)` (negative ones count from the end first):
 * `clip` clamps it to the nearest end (the exact transpose of gather, which clamps), `drop`
 * ignores its update (JAX's scatter default, `segment_sum`).
 */
export type ScatterMode = "clip" | "drop";

/** Argument of `scatterAdd`. */
export interface ScatterArg {
  readonly axis: number;
  readonly mode: ScatterMode;
}

/** Negative indices wrapped by `n`. */
const wrapNeg = (i: Node, n: number): Node => B.where(B.less(i, 0), B.add(i, n), i);

/** Whether each (wrapped) index lies in `[0, n)`. */
function inRange(i: Node, n: number): Node {
  return makeNode("logicalAnd", [
    makeNode("lessEqual", [B.konst(0, i), i]),
    B.less(i, n),
  ]);
}

/** The shape updates must have: `x.shape[:a] + indices.shape + x.shape[a+1:]`. */
export function updatesShape(
  x: readonly number[],
  ind: readonly number[],
  axis: number,
): number[] {
  return [...x.slice(0, axis), ...ind, ...x.slice(axis + 1)];
}

/** `ct` gathered at the updates' positions (zero where `drop` mode ignored the update). */
function gatherBack(ct: Node, e: Eqn): Node {
  const { axis, mode } = e.arg as ScatterArg;
  const ind = e.src[1];
  const g = makeNode("gather", [ct, ind], axis);
  if (mode === "clip") return g;
  const ok = inRange(wrapNeg(ind, ct.shape[axis]), ct.shape[axis]);
  const pre = ct.shape.slice(0, axis).map(() => 1), post = ct.shape.slice(axis + 1).map(() => 1);
  return B.where(B.expand(B.reshape(ok, [...pre, ...ind.shape, ...post]), g.shape), g, 0);
}

/** `scatterAdd(x, indices, updates)` along `arg.axis`: shape and dtype of `x`. */
export const SCATTER_ADD: Primitive<"scatterAdd"> = {
  name: "scatterAdd",
  kind: "scatter",
  // Linear in (x, updates): the cotangent passes through to x and is gathered for updates.
  vjp: (ct, e) => [ct, null, gatherBack(ct, e)],
  jvp: ([tx, , tu], e) => {
    if (!tx && !tu) return null;
    const [x, ind, upd] = e.src;
    return makeNode("scatterAdd", [tx ?? B.konst(0, x), ind, tu ?? B.konst(0, upd)], e.arg);
  },
  batch: ([[x, dx], [ind, di], [upd, du]], e, { size }) => {
    const { axis: a, mode } = e.arg as ScatterArg;
    if (di === null) {
      const arg: ScatterArg = { axis: a + 1, mode };
      return [makeNode("scatterAdd", [front([x, dx], size), ind, front([upd, du], size)], arg), 0];
    }
    // Batched indices: fold the batch axis into the scattered one ([.., B, n, ..] -> [.., B·n,
    // ..]) and offset each example's indices by its row, so one scatter serves the batch.
    const xs = moveBatch(x, dx, a, size);
    const n = xs.shape[a + 1];
    const merged = B.reshape(xs, [...xs.shape.slice(0, a), size * n, ...xs.shape.slice(a + 2)]);
    const i0 = wrapNeg(front([ind, di], size), n);
    const row = B.mul(makeLeaf("iota", 0, i0.shape, "int32", i0.device), n);
    const i = mode === "clip"
      ? B.add(
        makeNode("minimum", [makeNode("maximum", [i0, B.konst(0, i0)]), B.konst(n - 1, i0)]),
        row,
      )
      // Out-of-range indices must stay out of range after the offset: send them past the end.
      : B.where(inRange(i0, n), B.add(i0, row), size * n);
    const us = moveBatch(upd, du, a, size);
    const out = makeNode("scatterAdd", [merged, i, us], { axis: a, mode } satisfies ScatterArg);
    return [B.reshape(out, xs.shape), a];
  },
};

register(SCATTER_ADD);
