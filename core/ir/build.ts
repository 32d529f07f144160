/**
 * Node-level op builders for derivative rules. Rules emit primitives directly (as JAX's rules
 * emit lax ops), so derivative graphs fuse like any other graph and can be differentiated
 * again. Operands must already share shape and dtype; a JS number becomes a constant like the
 * other operand.
 * @module
 */
import type { DType } from "../dtype.ts";
import { makeLeaf, makeNode } from "./graph.ts";
import type { Node } from "./node.ts";

/** A node or a number standing for a constant of the other operand's shape and dtype. */
export type N = Node | number;

/** A constant shaped like `like`. */
export function konst(v: number, like: Node, dtype: DType = like.dtype): Node {
  return makeLeaf("const", v, like.shape, dtype, like.device);
}

const pair = (a: N, b: N): [Node, Node] => {
  const an = typeof a === "number" ? konst(a, b as Node) : a;
  const bn = typeof b === "number" ? konst(b, an) : b;
  return [an, bn];
};

const bin = (op: string) => (a: N, b: N): Node => makeNode(op, pair(a, b));
const un = (op: string) => (a: Node): Node => makeNode(op, [a]);

export const add: (a: N, b: N) => Node = bin("add");
export const sub: (a: N, b: N) => Node = bin("sub");
export const mul: (a: N, b: N) => Node = bin("mul");
export const div: (a: N, b: N) => Node = bin("div");
export const pow: (a: N, b: N) => Node = bin("pow");
export const less: (a: N, b: N) => Node = bin("less");
export const equal: (a: N, b: N) => Node = bin("equal");
export const neg: (a: Node) => Node = un("neg");
export const exp: (a: Node) => Node = un("exp");
export const log: (a: Node) => Node = un("log");
export const sin: (a: Node) => Node = un("sin");
export const cos: (a: Node) => Node = un("cos");
export const sign: (a: Node) => Node = un("sign");
export const floor: (a: Node) => Node = un("floor");

/** `cond ? a : b`. */
export function where(c: Node, a: N, b: N): Node {
  const like = typeof a === "number" ? (typeof b === "number" ? undefined : b) : a;
  const an = typeof a === "number" ? konst(a, like ?? c, like?.dtype ?? "float32") : a;
  const bn = typeof b === "number" ? konst(b, an) : b;
  return makeNode("where", [c, an, bn]);
}

/** Cast (identity when the dtype already matches). */
export function cast(a: Node, d: DType): Node {
  return a.dtype === d ? a : makeNode("cast", [a], d);
}

/** Sum over `axes`, keeping them (size 1). */
export function sumKeep(a: Node, axes: number[]): Node {
  return axes.length ? makeNode("sum", [a], axes) : a;
}

/** Expand size-1 axes to `shape` (same rank). */
export function expand(a: Node, shape: readonly number[]): Node {
  return a.shape.every((d, i) => d === shape[i]) ? a : makeNode("expand", [a], [...shape]);
}

/** Sums a broadcast value back down to `shape` (same rank, 1 where it was broadcast). */
export function sumTo(a: Node, shape: readonly number[]): Node {
  return sumKeep(a, a.shape.flatMap((d, i) => (shape[i] === 1 && d !== 1 ? [i] : [])));
}

/** Reshape. */
export function reshape(a: Node, shape: readonly number[]): Node {
  return a.shape.length === shape.length && a.shape.every((d, i) => d === shape[i])
    ? a
    : makeNode("reshape", [a], [...shape]);
}

/** Adds two possibly-null (zero) values. */
export function addOpt(a: Node | null, b: Node | null): Node | null {
  return a === null ? b : b === null ? a : add(a, b);
}
