/**
 * Shared pieces of the control-flow primitives: tracing a body over node lists, checking that
 * traced outputs keep their shapes and dtypes, identity wrappers to differentiate through a
 * body, and merging the captured values of several bodies.
 * @module
 */
import { isFloat } from "../../dtype.ts";
import { makeLeaf, makeNode } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import { type Aval, type Graph, placeholder, placeholderLike } from "../../ir/call.ts";
import { fmt } from "../../shape.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { closeOver, withTracing } from "../trace.ts";
import { flatten, formatDef, type PyTree, type TreeDef } from "../tree.ts";
import { shapeError, typeError } from "../../errors.ts";

/** A JS function over lists of nodes (what the rules trace). */
export type NodeFn = (ins: Node[]) => Node[];

/** Traces `fn` on placeholders with the given avals. */
export function traceNodes(
  transform: string,
  avals: readonly Aval[],
  device: string,
  labels: readonly string[],
  fn: NodeFn,
): Graph {
  const ins = avals.map((a, i) => placeholder(a.shape, a.dtype, device, transform, labels[i]));
  const outputs = withTracing(() => fn(ins));
  return { inputs: ins, outputs };
}

/** Shape and dtype of a node. */
export const avalOf = (n: Node): Aval => ({ shape: n.shape, dtype: n.dtype });

const sameAval = (a: Aval, b: Aval) => a.dtype === b.dtype && a.shape.join() === b.shape.join();
const showAval = (a: Aval) => `${a.dtype}${fmt(a.shape)}`;

/** Raises unless `got` has the avals `want` (e.g. a loop body must keep its carry's type). */
export function checkAvals(
  op: string,
  what: string,
  got: readonly Aval[],
  want: readonly Aval[],
  labels: readonly string[],
): void {
  if (got.length !== want.length) {
    throw shapeError(op, `${what} has ${got.length} leaves, expected ${want.length}`);
  }
  got.forEach((g, i) => {
    if (!sameAval(g, want[i])) {
      throw shapeError(
        op,
        `${what} ${labels[i] ?? i} is ${showAval(g)}, expected ${showAval(want[i])}`,
      );
    }
  });
}

/** A fresh identity node: differentiating with respect to it differentiates the use site. */
export const wrap = (n: Node): Node => makeNode("cast", [n], n.dtype);

/** A zero of the given aval. */
export const zeros = (a: Aval, device: string): Node =>
  makeLeaf("const", 0, a.shape, a.dtype, device);

/** Indices of the float entries (the differentiable ones). */
export const floats = (ns: readonly Aval[]): number[] =>
  ns.flatMap((n, i) => (isFloat(n.dtype) ? [i] : []));

/**
 * Closes several bodies over one shared list of captured values: each graph gets the same
 * extra inputs (unused ones are simply not read), so one call node feeds them all.
 */
export function closeAll(graphs: readonly Graph[], transform: string): {
  graphs: Graph[];
  consts: Node[];
} {
  const closed = graphs.map((g) => closeOver(g, transform));
  const consts: Node[] = [];
  for (const c of closed) for (const k of c.consts) if (!consts.includes(k)) consts.push(k);
  const out = closed.map((c, gi) => {
    const own = new Map(c.consts.map((k, i) => [k, c.graph.inputs[graphs[gi].inputs.length + i]]));
    return {
      inputs: [
        ...graphs[gi].inputs,
        ...consts.map((k) => own.get(k) ?? placeholderLike(k, transform, "captured value")),
      ],
      outputs: c.graph.outputs,
    };
  });
  return { graphs: out, consts };
}

/** Tensor leaves of a user tree (numbers are not allowed: loops need fixed dtypes). */
export function tensorLeaves(op: string, what: string, tree: unknown): [Node[], TreeDef] {
  const [leaves, def] = flatten(tree as PyTree<unknown>);
  const nodes = leaves.map((l, i) => {
    if (!(l instanceof Tensor)) {
      throw typeError(
        op,
        `${what} leaf ${i} of ${
          formatDef(def)
        } is ${typeof l}, not a Tensor (wrap JS numbers with k.tensor)`,
      );
    }
    return l.node;
  });
  return [nodes, def];
}

/** The device of the first node, else the given default. */
export const deviceOf = (nodes: readonly Node[], fallback: string): string =>
  nodes[0]?.device ?? fallback;
