/**
 * Reduction primitives. `arg` is the sorted list of reduced axes; the output keeps them with
 * size 1 (the API's `keepdims: false` is a reshape on top), which keeps index rules trivial.
 * @module
 */
import type { DType } from "../dtype.ts";
import { type Eqn, register, type RuledPrimitive } from "./primitive.ts";
import type { Node } from "./node.ts";
import * as B from "./build.ts";
import { batchReduce as batch } from "./batching.ts";

const axesOf = (e: Eqn) => e.arg as number[];
const up = (n: Node, e: Eqn) => B.expand(n, e.src[0].shape);
/** Where the extreme value sits, each tie weighted 1/count (ties share the gradient, as JAX). */
const share = (e: Eqn): Node => {
  const x = e.src[0];
  const hit = B.cast(B.equal(x, up(e.out, e)), x.dtype);
  return B.div(hit, up(B.sumKeep(hit, axesOf(e)), e));
};
const extremeRules = {
  vjp: (ct: Node, e: Eqn) => [B.mul(up(ct, e), share(e))],
  jvp: ([t]: readonly (Node | null)[], e: Eqn) => t && B.sumKeep(B.mul(t, share(e)), axesOf(e)),
};

/** A reduction record: its identity element is required (accumulators start there). */
type Reduction = RuledPrimitive & {
  readonly kind: "reduce";
  readonly identity: (d: DType) => number;
};

const keep = ([s]: readonly (readonly number[])[], arg: unknown) =>
  s.map((d, i) => (arg as number[]).includes(i) ? 1 : d);

const lowest = (d: DType) => d === "int32" ? -2147483648 : d === "bool" ? 0 : -Infinity;
const highest = (d: DType) => d === "int32" ? 2147483647 : d === "bool" ? 1 : Infinity;

/** Reduction records (each backend renders the combine step `(acc, value)` from its table). */
export const REDUCES = [
  {
    name: "sum",
    kind: "reduce",
    shape: keep,
    batch,
    identity: () => 0,
    vjp: (ct, e) => [up(ct, e)],
    jvp: ([t], e) => t && B.sumKeep(t, axesOf(e)),
  },
  {
    name: "prod",
    kind: "reduce",
    shape: keep,
    batch,
    identity: () => 1,
    // d prod / d x_i = prod / x_i (undefined where x_i = 0; documented limitation).
    vjp: (ct, e) => [B.div(B.mul(up(ct, e), up(e.out, e)), e.src[0])],
    jvp: ([t], e) => t && B.sumKeep(B.div(B.mul(t, up(e.out, e)), e.src[0]), axesOf(e)),
  },
  {
    name: "max",
    kind: "reduce",
    shape: keep,
    batch,
    identity: lowest,
    ...extremeRules,
  },
  {
    name: "min",
    kind: "reduce",
    shape: keep,
    batch,
    identity: highest,
    ...extremeRules,
  },
] as const satisfies readonly Reduction[];

/** Every reduction's name, derived from the records (backends key their combine steps by it). */
export type ReduceName = (typeof REDUCES)[number]["name"];

/** Every reduction's name, in record order. */
export const REDUCE_NAMES: readonly ReduceName[] = REDUCES.map((p) => p.name);

register(...REDUCES);
