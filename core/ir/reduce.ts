/**
 * Reduction primitives. `arg` is the sorted list of reduced axes; the output keeps them with
 * size 1 (the API's `keepdims: false` is a reshape on top), which keeps index rules trivial.
 * @module
 */
import type { DType } from "../dtype.ts";
import { type Primitive, register } from "./primitive.ts";

const keep = ([s]: readonly (readonly number[])[], arg: unknown) =>
  s.map((d, i) => (arg as number[]).includes(i) ? 1 : d);

const lowest = (d: DType) => d === "int32" ? -2147483648 : d === "bool" ? 0 : -Infinity;
const highest = (d: DType) => d === "int32" ? 2147483647 : d === "bool" ? 1 : Infinity;

/** Reduction records; `js` renders the combine step `(acc, value)`. */
export const REDUCES: Primitive[] = [
  {
    name: "sum",
    kind: "reduce",
    shape: keep,
    identity: () => 0,
    js: ([a, v], d) => d === "int32" ? `((${a}+${v})|0)` : `(${a}+${v})`,
  },
  {
    name: "prod",
    kind: "reduce",
    shape: keep,
    identity: () => 1,
    js: ([a, v], d) => d === "int32" ? `Math.imul(${a},${v})` : `(${a}*${v})`,
  },
  {
    name: "max",
    kind: "reduce",
    shape: keep,
    identity: lowest,
    js: ([a, v]) => `Math.max(${a},${v})`,
  },
  {
    name: "min",
    kind: "reduce",
    shape: keep,
    identity: highest,
    js: ([a, v]) => `Math.min(${a},${v})`,
  },
];

register(...REDUCES);
