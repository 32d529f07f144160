/**
 * Tracing for export: run the user's function on placeholders (as `jit` does), inline every
 * call primitive (`jit`, `checkpoint`, custom derivatives) and unroll `scan` into straight-line
 * nodes, then list the graph in a deterministic topological order. Tracing twice at two batch
 * sizes and comparing the two listings tells which dimensions follow the batch (affinely).
 * @module
 */
import { Node } from "../core/ir/node.ts";
import { makeNode } from "../core/ir/graph.ts";
import { type CallArg, type Graph, placeholder, type ProjArg } from "../core/ir/call.ts";
import { prim } from "../core/ir/primitive.ts";
import { evalGraph, withTracing } from "../core/transforms/trace.ts";
import { flattenWithPath, keystr, type PyTree, unflatten } from "../core/transforms/tree.ts";
import { Tensor } from "../core/tensor/tensor.ts";
import { fmt } from "../core/shape.ts";
import { shapeError, typeError, userCallback } from "../core/errors.ts";

/** The op name all export errors carry. */
export const OP = "onnx.exportModel";

/** Stacks its sources (same shape) along a new leading axis: the ys of an unrolled scan. */
export const STACK = "onnx.stack";

/** A function traced for export. */
export interface Traced {
  /** One placeholder per tensor leaf of the arguments, in flattening order. */
  readonly inputs: Node[];
  /** Labels of the inputs (`argument 0.x`). */
  readonly labels: string[];
  /** The output tensors, calls inlined. */
  readonly outputs: Node[];
}

/** Traces `fn` on placeholders shaped like the tensor leaves of `args` (`batch` replaces axis 0). */
export function traceForExport(
  fn: (...a: unknown[]) => unknown,
  args: readonly unknown[],
  batch: number | null,
): Traced {
  const inputs: Node[] = [];
  const labels: string[] = [];
  const rebuilt = args.map((a, ai) => {
    const [paths, leaves, def] = flattenWithPath(a as PyTree<unknown>);
    const ls = leaves.map((l, li) => {
      if (!(l instanceof Tensor)) return l;
      const label = `argument ${ai}${keystr(paths[li])}`;
      const shape = [...l.shape];
      if (batch !== null) {
        if (!shape.length) {
          throw shapeError(
            OP,
            `dynamicBatch needs every input to have a batch axis; ${label} is a scalar`,
          );
        }
        shape[0] = batch;
      }
      const p = placeholder(shape, l.dtype, l.device, OP, label);
      inputs.push(p);
      labels.push(label);
      return new Tensor(p);
    });
    return unflatten(def, ls);
  });
  const call = userCallback(fn);
  const out = withTracing(() => call(...rebuilt));
  if (out instanceof Promise) {
    out.catch(() => {});
    throw typeError(OP, "fn returned a Promise; an exported function must be synchronous");
  }
  const outs = flattenWithPath(out as PyTree<unknown>)[1].filter((l) => l instanceof Tensor);
  if (!outs.length) throw typeError(OP, "fn returned no tensor");
  return { inputs, labels, outputs: inline(outs.map((t) => (t as Tensor).node)) };
}

interface ScanLike extends CallArg {
  readonly body: Graph;
  readonly nCarry: number;
  readonly nXs: number;
  readonly length: number;
  readonly reverse: boolean;
}

/** Rewrites `outs` with every call primitive inlined and every scan unrolled. */
function inline(outs: readonly Node[]): Node[] {
  const memo = new Map<Node, Node>();
  const calls = new Map<Node, Node[]>();
  const unrollScan = (a: ScanLike, src: Node[]): Node[] => {
    let carry = src.slice(0, a.nCarry);
    const xs = src.slice(a.nCarry, a.nCarry + a.nXs);
    const consts = src.slice(a.nCarry + a.nXs);
    const ys: Node[][] = [];
    for (let t = 0; t < a.length; t++) {
      const i = a.reverse ? a.length - 1 - t : t;
      const xi = xs.map((x) => {
        const s = makeNode(
          "shrink",
          [x],
          x.shape.map((d, j) => (j === 0 ? [i, i + 1, 1] : [0, d, 1])),
        );
        return makeNode("reshape", [s], x.shape.slice(1));
      });
      const o = evalGraph(a.body, [...carry, ...xi, ...consts]).map(flat);
      carry = o.slice(0, a.nCarry);
      ys[i] = o.slice(a.nCarry);
    }
    const ny = a.body.outputs.length - a.nCarry;
    const stacked = Array.from({ length: ny }, (_, j) => {
      const parts = ys.map((y) => y[j]);
      const y0 = a.body.outputs[a.nCarry + j];
      return new Node(STACK, parts, undefined, [a.length, ...y0.shape], y0.dtype, y0.device);
    });
    return [...carry, ...stacked];
  };
  const expandCall = (c: Node): Node[] => {
    let r = calls.get(c);
    if (r) return r;
    const src = c.src.map(flat);
    const a = c.arg as CallArg & { graph?: Graph; body?: Graph };
    if (c.op === "scan") r = unrollScan(a as ScanLike, src);
    else if (c.op === "jit" && a.graph) r = evalGraph(a.graph, src).map(flat);
    else if (c.op === "checkpoint" && a.body) r = evalGraph(a.body, src).map(flat);
    else {
      throw typeError(
        OP,
        `the primitive "${c.op}" has no ONNX export (supported: straight-line graphs, jit, ` +
          "checkpoint and scan, which is unrolled)",
      );
    }
    calls.set(c, r);
    return r;
  };
  function flat(n: Node): Node {
    const m = memo.get(n);
    if (m) return m;
    let r: Node;
    if (n.realized || !n.src.length) r = n;
    else if (n.op === "proj") r = expandCall(n.src[0])[(n.arg as ProjArg).index];
    else if (n.op === "custom") r = flat(n.src[0]);
    else if (n.op === STACK) r = n;
    else if (prim(n.op).kind === "call") throw new Error(`internal: bare call node ${n.op}`);
    else {
      const src = n.src.map(flat);
      r = src.every((s, i) => s === n.src[i])
        ? n
        : new Node(n.op, src, n.arg, n.shape, n.dtype, n.device);
    }
    memo.set(n, r);
    return r;
  }
  return outs.map(flat);
}

/** Nodes reachable from `outs` through `deps`, sources before users, deterministic. */
export function topoOrder(outs: readonly Node[], deps: (n: Node) => readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  const stack: [Node, number, readonly Node[]][] = [];
  const visit = (n: Node) => {
    seen.add(n);
    stack.push([n, 0, deps(n)]);
  };
  for (const o of outs) {
    if (seen.has(o)) continue;
    visit(o);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i, src] = top;
      if (i < src.length) {
        top[1]++;
        if (!seen.has(src[i])) visit(src[i]);
        continue;
      }
      stack.pop();
      order.push(n);
    }
  }
  return order;
}

/** A dimension that follows the batch: `c·batch + d`. */
export interface SymDim {
  readonly c: number;
  readonly d: number;
}

/** A shape whose entries are sizes or batch-dependent dimensions. */
export type SymShape = readonly (number | SymDim)[];

const B1 = 2, B2 = 3;
/** The two batch sizes a dynamic-batch export traces at. */
export const TRACE_BATCHES: readonly [number, number] = [B1, B2];

/** Whether the node at this place in the listing is full-range on every axis `shrink` keeps. */
function argsAgree(a: Node, b: Node): string | null {
  if (a.op === "reshape" || a.op === "expand" || a.op === STACK) return null;
  if (a.op === "shrink") {
    const sa = a.arg as number[][], sb = b.arg as number[][];
    for (let i = 0; i < sa.length; i++) {
      const fullA = sa[i][0] === 0 && sa[i][1] === a.src[0].shape[i] && sa[i][2] === 1;
      const fullB = sb[i][0] === 0 && sb[i][1] === b.src[0].shape[i] && sb[i][2] === 1;
      if (fullA && fullB) continue;
      if (sa[i].join() !== sb[i].join()) return `slice ${JSON.stringify(sa[i])}`;
    }
    return null;
  }
  if (a.op === "placeholder" || a.realized) return null;
  const ja = JSON.stringify(a.arg), jb = JSON.stringify(b.arg);
  return ja === jb ? null : `argument ${ja}`;
}

/**
 * Symbolic shapes of the first listing from two traces at batch sizes 2 and 3 (same structure
 * required): a dimension that differs becomes `c·batch + d`.
 */
export function symbolicShapes(
  o1: readonly Node[],
  o2: readonly Node[],
  isData: (n: Node) => boolean,
): Map<Node, SymShape> {
  const fail = (why: string) =>
    shapeError(
      OP,
      `dynamicBatch: the function is not batch-polymorphic (${why}); export with a fixed ` +
        "batch size instead",
    );
  if (o1.length !== o2.length) fail("its graph changes with the batch size");
  const out = new Map<Node, SymShape>();
  const idx1 = new Map(o1.map((n, i) => [n, i]));
  const idx2 = new Map(o2.map((n, i) => [n, i]));
  o1.forEach((a, i) => {
    const b = o2[i];
    const data = isData(a);
    const sameSrc = a.src.length === b.src.length &&
      a.src.every((s, j) => idx1.get(s) === idx2.get(b.src[j]));
    if (a.op !== b.op || a.shape.length !== b.shape.length || (!data && !sameSrc)) {
      throw fail(`its graph changes with the batch size at ${a.op}`);
    }
    const why = argsAgree(a, b);
    if (why) throw fail(`${a.op} has ${why} that changes with the batch size`);
    out.set(
      a,
      a.shape.map((d, j) => {
        const e = b.shape[j];
        if (d === e) return d;
        if (data) {
          throw fail(`a constant ${a.dtype}${fmt(a.shape)} changes shape with the batch size`);
        }
        const c = (e - d) / (B2 - B1);
        return { c, d: d - c * B1 };
      }),
    );
  });
  return out;
}
