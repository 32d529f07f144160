/**
 * Shared pieces of batching (`vmap`) rules. Rules move batch axes to the front (a free
 * `permute` view) and broadcast unbatched operands with a free `expand`, so a batched graph
 * fuses exactly like the per-example one.
 * @module
 */
import type { Batched, BatchRule } from "./primitive.ts";
import type { Node } from "./node.ts";
import { makeNode } from "./graph.ts";
import * as B from "./build.ts";

/** Moves the batch axis of `n` from `d` to `to`; an unbatched value is broadcast there. */
export function moveBatch(n: Node, d: number | null, to: number, size: number): Node {
  if (d === null) {
    const shape = [...n.shape];
    shape.splice(to, 0, 1);
    const full = [...n.shape];
    full.splice(to, 0, size);
    return B.expand(B.reshape(n, shape), full);
  }
  if (d === to) return n;
  const perm = [...n.shape.keys()].filter((i) => i !== d);
  perm.splice(to, 0, d);
  return makeNode("permute", [n], perm);
}

/** Batch axis first. */
export const front = ([n, d]: Batched, size: number): Node => moveBatch(n, d, 0, size);

/** Elementwise ops: every operand batched at axis 0 (unbatched ones broadcast). */
export const batchElementwise: BatchRule = (src, eq, ctx) => [
  makeNode(eq.out.op, src.map((s) => front(s, ctx.size)), eq.arg),
  0,
];

/** A unary op whose `arg` gains a leading entry for the batch axis. */
export function batchWithArg(f: (arg: unknown, size: number) => unknown): BatchRule {
  return ([s], eq, ctx) => [makeNode(eq.out.op, [front(s, ctx.size)], f(eq.arg, ctx.size)), 0];
}

/** Reductions: `arg` is the list of reduced axes, shifted past the batch axis. */
export const batchReduce: BatchRule = batchWithArg((axes) => (axes as number[]).map((a) => a + 1));
