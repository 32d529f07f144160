/**
 * Source primitives (realized buffers, constants, iota) and gather.
 * @module
 */
import { type Eqn, type Primitive, register } from "./primitive.ts";
import { makeLeaf, makeNode } from "./graph.ts";
import type { Node } from "./node.ts";
import * as B from "./build.ts";
import { front, moveBatch } from "./batching.ts";
import { placeholderLike } from "./call.ts";

/**
 * Gather's former VJP, kept as a reference for tests and benches: a masked reduction where
 * `ct_x[.., v, ..]` sums the cotangents of every position whose (clamped) index is `v`, so it
 * costs O(n·|indices|) per row. The VJP now is a `scatterAdd` (O(|indices|) per row).
 */
export function maskedScatterAdd(ct: Node, e: Eqn): Node {
  const [x, ind] = e.src;
  const a = e.arg as number;
  const n = x.shape[a], r = ind.shape.length;
  const pre = x.shape.slice(0, a), post = x.shape.slice(a + 1);
  const full = [...pre, n, ...ind.shape, ...post];
  let i = B.where(B.less(ind, 0), B.add(ind, n), ind);
  i = makeNode("minimum", [makeNode("maximum", [i, B.konst(0, i)]), B.konst(n - 1, i)]);
  const iFull = B.expand(
    B.reshape(i, [...pre.map(() => 1), 1, ...ind.shape, ...post.map(() => 1)]),
    full,
  );
  const gFull = B.expand(B.reshape(ct, [...pre, 1, ...ind.shape, ...post]), full);
  const v = makeLeaf("iota", a, full, "int32", x.device);
  const picked = B.where(B.equal(iFull, v), gFull, 0);
  const axes = [...Array(r).keys()].map((k) => a + 1 + k);
  return B.reshape(B.sumKeep(picked, axes), x.shape);
}

/** Realized data. */
export const BUFFER: Primitive<"buffer"> = { name: "buffer", kind: "source" };
/** A constant of any shape: `arg` is the value. */
export const CONST: Primitive<"const"> = { name: "const", kind: "source" };
/** Index along axis `arg`: `iota([2,3], 1)` is `[[0,1,2],[0,1,2]]`. */
export const IOTA: Primitive<"iota"> = { name: "iota", kind: "source" };

/**
 * `gather(x, indices)` along axis `arg`: output shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from the end;
 * out-of-range indices are clamped (JAX's `mode="clip"`).
 */
export const GATHER: Primitive<"gather"> = {
  name: "gather",
  kind: "gather",
  shape: ([x, ind], arg) => {
    const a = arg as number;
    return [...x.slice(0, a), ...ind, ...x.slice(a + 1)];
  },
  // The transpose of a clamping gather: a scatter-add that clamps the same way.
  vjp: (ct, e) => [
    makeNode("scatterAdd", [B.konst(0, e.src[0]), e.src[1], ct], { axis: e.arg, mode: "clip" }),
    null,
  ],
  jvp: ([t], e) => t && makeNode("gather", [t, e.src[1]], e.arg),
  batch: ([[x, dx], [ind, di]], e, { size }) => {
    const a = e.arg as number;
    if (di === null) return [makeNode("gather", [front([x, dx], size), ind], a + 1), 0];
    const i0 = front([ind, di], size);
    if (dx === null) return [makeNode("gather", [x, i0], a), a];
    // Both batched: fold the batch axis into the gathered one and offset each example's
    // (normalized) indices by its row, so one gather serves the whole batch.
    const xs = moveBatch(x, dx, a, size);
    const len = xs.shape[a + 1];
    const merged = B.reshape(xs, [...xs.shape.slice(0, a), size * len, ...xs.shape.slice(a + 2)]);
    let i = B.where(B.less(i0, 0), B.add(i0, len), i0);
    i = makeNode("minimum", [makeNode("maximum", [i, B.konst(0, i)]), B.konst(len - 1, i)]);
    const row = makeLeaf("iota", 0, i.shape, "int32", i.device);
    return [makeNode("gather", [merged, B.add(i, B.mul(row, len))], a), a];
  },
};

register(BUFFER, CONST, IOTA, GATHER);

/** Rules supplied at call time by `customVjp` / `customJvp` (held in the node's `arg`). */
export interface CustomRule {
  readonly name: string;
  readonly vjp: (ct: Node, e: Eqn) => (Node | null)[];
  readonly jvp: (tangents: readonly (Node | null)[], e: Eqn) => Node | null;
}

/**
 * `custom(value, ...inputs)`: evaluates to `value` (sources after the first only tie the
 * user's inputs into the graph), differentiated by the rule in `arg` instead of through
 * `value`'s own graph.
 */
export const CUSTOM: Primitive<"custom"> = {
  name: "custom",
  kind: "movement",
  index: (_b, idx) => ({ idx }),
  vjp: (ct, e) => (e.arg as CustomRule).vjp(ct, e),
  jvp: (ts, e) => (e.arg as CustomRule).jvp(ts, e),
  // The batched node keeps a custom rule: the original rule is applied to per-example
  // stand-ins and the result is batched by the running vmap.
  batch: (src, e, ctx) => {
    const orig = e.arg as CustomRule;
    const lift = (holes: Map<Node, readonly [Node, number]>, outs: readonly (Node | null)[]) => {
      const live = outs.filter((o): o is Node => o !== null);
      const done = ctx.rewrite(live, holes);
      let k = 0;
      return outs.map((o) => (o === null ? null : front(done[k++], ctx.size)));
    };
    const rule: CustomRule = {
      name: orig.name,
      vjp: (ct) => {
        const hole = placeholderLike(e.out, "vmap");
        return lift(new Map([[hole, [ct, 0] as const]]), orig.vjp(hole, e));
      },
      jvp: (ts) => {
        const holes = new Map<Node, readonly [Node, number]>();
        const per = ts.map((t, i) => {
          if (!t) return null;
          const h = placeholderLike(e.src[i], "vmap");
          holes.set(h, [t, 0]);
          return h;
        });
        return lift(holes, [orig.jvp(per, e)])[0];
      },
    };
    return [makeNode("custom", src.map((s) => front(s, ctx.size)), rule), 0];
  },
};

register(CUSTOM);
