/**
 * Graph neural networks with sparse message passing: a graph is an edge list (`src`, `dst`,
 * optional per-edge `weight`) over `numNodes` nodes, never a dense N×N matrix. Messages are
 * gathered from the source rows (`take`) and summed into the destination rows (`segmentSum`),
 * so memory and work grow with the number of edges. `graphConv` is the GCN layer of Kipf &
 * Welling (2017), `H' = D^-1/2 (A + I) D^-1/2 H W + b`, as PyTorch Geometric's `GCNConv`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { FloatDType } from "./initializers.ts";
import { glorotUniform } from "./initializers.ts";

const E = k.errors;

/**
 * A directed edge list: edge `e` carries a message from node `src[e]` to node `dst[e]`
 * (an undirected graph lists each edge both ways). `weight` scales each message (default 1).
 */
export type Graph = {
  /** Source node of each edge, int32 `[E]`. */
  src: Tensor;
  /** Destination node of each edge, int32 `[E]`. */
  dst: Tensor;
  /** Number of nodes (ids run from 0 to `numNodes - 1`). */
  numNodes: number;
  /** Per-edge weight `[E]` (default 1 for every edge). */
  weight?: Tensor;
};

/** Options of `messagePassing`. */
export interface MessagePassingOptions {
  /** How a node combines its incoming messages: `"sum"` (default) or `"mean"`. */
  aggregate?: "sum" | "mean";
}

/** A validated graph (`numEdges` read from `src`). */
function checkGraph(op: string, g: unknown): Graph & { numEdges: number } {
  if (!E.isPlainObject(g)) {
    throw E.typeError(op, `graph must be {src, dst, numNodes, weight?}, got ${E.describe(g)}`);
  }
  E.checkOptions(op, g, ["src", "dst", "numNodes", "weight"], "graph");
  const numNodes = E.checkInt(op, g.numNodes, "graph.numNodes", 1);
  const src = E.checkTensorArg<Tensor>(op, g.src, "graph.src");
  const dst = E.checkTensorArg<Tensor>(op, g.dst, "graph.dst");
  for (const [t, name] of [[src, "src"], [dst, "dst"]] as const) {
    if (t.dtype !== "int32" || t.ndim !== 1) {
      throw E.shapeError(
        op,
        `graph.${name} must be int32 [E], got ${t.dtype} [${t.shape.join(",")}]`,
      );
    }
  }
  if (src.shape[0] !== dst.shape[0]) {
    throw E.shapeError(op, `graph.src [${src.shape}] and graph.dst [${dst.shape}] differ`);
  }
  let weight: Tensor | undefined;
  if (g.weight !== undefined) {
    weight = E.checkTensorArg<Tensor>(op, g.weight, "graph.weight");
    if (weight.ndim !== 1 || weight.shape[0] !== src.shape[0]) {
      throw E.shapeError(
        op,
        `graph.weight must be [${src.shape[0]}] (one per edge), got [${weight.shape.join(",")}]`,
      );
    }
  }
  return { src, dst, numNodes, weight, numEdges: src.shape[0] };
}

function checkNodes(op: string, x: unknown, numNodes: number): Tensor {
  const t = E.checkTensorArg<Tensor>(op, x, "x");
  if (t.ndim < 1 || t.shape[0] !== numNodes) {
    throw E.shapeError(
      op,
      `x must have one row per node, [${numNodes}, ...], got [${t.shape.join(",")}]`,
    );
  }
  return t;
}

function propagate(x: Tensor, g: Graph, aggregate: "sum" | "mean"): Tensor {
  let msg = k.take(x, g.src, { axis: 0 }); // [E, ...features]
  if (g.weight) {
    msg = msg.mul(g.weight.astype(x.dtype).reshape([-1, ...x.shape.slice(1).map(() => 1)]));
  }
  const out = k.segmentSum(msg, g.dst, g.numNodes);
  if (aggregate === "sum") return out;
  const count = k.segmentSum(k.onesLike(g.dst).astype(x.dtype), g.dst, g.numNodes);
  return out.div(k.maximum(count, 1).reshape([-1, ...x.shape.slice(1).map(() => 1)]));
}

/**
 * One round of message passing: every node receives `weight[e] * x[src[e]]` along each edge
 * `e` into it and sums them (or averages, `{aggregate: "mean"}`; a node without incoming edges
 * gets zeros). `x` is `[numNodes, ...features]`; the result has the same shape. Gather and
 * scatter-add only: cost grows with the edges, and gradients flow to `x` and `graph.weight`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const graph = { src: k.tensor([0, 1, 1], { dtype: "int32" }), dst: k.tensor([1, 0, 2], { dtype: "int32" }), numNodes: 3 };
 * k.nn.messagePassing(k.tensor([[1], [2], [4]]), graph); // [[2], [1], [2]]
 * ```
 */
export const messagePassing: (x: Tensor, graph: Graph, opts?: MessagePassingOptions) => Tensor = E
  .publicOp("nn.messagePassing", (x: Tensor, graph: Graph, opts: MessagePassingOptions = {}) => {
    const op = "nn.messagePassing";
    const xt = E.checkTensorArg<Tensor>(op, x, "x");
    const g = checkGraph(op, graph);
    checkNodes(op, xt, g.numNodes);
    const o = E.checkOptions(op, opts, ["aggregate"]);
    const agg = o.aggregate === undefined
      ? "sum"
      : E.checkOneOf(op, o.aggregate, ["sum", "mean"] as const, "aggregate");
    return propagate(xt, g, agg);
  });

/** Options of `gcnNorm`. */
export interface GcnNormOptions {
  /** Add an edge from every node to itself first, `A + I` (default true, as Kipf & Welling). */
  addSelfLoops?: boolean;
  /** Dtype of the weights (default: the edge weights' float dtype, else float32). */
  dtype?: FloatDType;
}

/**
 * The GCN normalization `D^-1/2 (A + I) D^-1/2` as an edge list: self-loops appended (unless
 * `{addSelfLoops: false}`), then each edge weighted by `w_e / sqrt(deg[src] deg[dst])`, where
 * `deg` is the weighted in-degree (self-loop included). Nodes of degree 0 get weight 0.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const g = { src: k.tensor([0, 1], { dtype: "int32" }), dst: k.tensor([1, 0], { dtype: "int32" }), numNodes: 2 };
 * const norm = k.nn.gcnNorm(g); // 4 edges, every weight 1/2
 * ```
 */
export const gcnNorm: (graph: Graph, opts?: GcnNormOptions) => Graph = E.publicOp(
  "nn.gcnNorm",
  (graph: Graph, opts: GcnNormOptions = {}): Graph => {
    const op = "nn.gcnNorm";
    const g = checkGraph(op, graph);
    const o = E.checkOptions(op, opts, ["addSelfLoops", "dtype"]);
    const dtype = o.dtype === undefined
      ? undefined
      : E.checkOneOf(op, o.dtype, ["float16", "float32", "float64"] as const, "dtype");
    const loops = o.addSelfLoops === undefined
      ? true
      : E.checkBool(op, o.addSelfLoops, "addSelfLoops");
    return normalize(g, loops, dtype);
  },
);

/** `gcnNorm`'s work; weights in `dtype` (default: the edge weights', else float32). */
function normalize(g: Graph & { numEdges: number }, loops: boolean, dtype?: k.DType): Graph {
  dtype ??= g.weight && g.weight.dtype !== "int32" && g.weight.dtype !== "bool"
    ? g.weight.dtype
    : "float32";
  const device = g.src.device;
  let src = g.src, dst = g.dst;
  let w = g.weight ? g.weight.astype(dtype) : k.ones([g.numEdges], { dtype, device });
  if (loops) {
    const ids = k.arange(g.numNodes, null, 1, { dtype: "int32", device });
    src = k.concatenate([src, ids]);
    dst = k.concatenate([dst, ids]);
    w = k.concatenate([w, k.ones([g.numNodes], { dtype, device })]);
  }
  const deg = k.segmentSum(w, dst, g.numNodes);
  const inv = k.where(deg.gt(0), k.rsqrt(k.maximum(deg, 1e-30)), 0);
  const weight = k.take(inv, src).mul(w).mul(k.take(inv, dst));
  return { src, dst, numNodes: g.numNodes, weight };
}

/** Parameters of `graphConv`: `w [in, out]` and `b [out]` (as `linear`). */
export type GraphConvParams = {
  /** The weight matrix `[inFeatures, outFeatures]`. */
  w: Tensor;
  /** The bias `[outFeatures]`. */
  b: Tensor;
};

/** Options of `graphConv.init`. */
export interface GraphConvInitOptions {
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/** Options of `graphConv.apply`. */
export interface GraphConvApplyOptions {
  /**
   * Normalize the graph with `gcnNorm` on each call (default true). Pass `false` with a graph
   * already normalized once by `k.nn.gcnNorm` (cheaper in a training loop).
   */
  normalize?: boolean;
}

/** The `graphConv` layer: `init` and `apply`. */
export interface GraphConv {
  /** Glorot-uniform `w [in, out]`, zero `b` (PyTorch Geometric's `GCNConv` defaults). */
  init(
    key: Tensor,
    inFeatures: number,
    outFeatures: number,
    opts?: GraphConvInitOptions,
  ): GraphConvParams;
  /** `D^-1/2 (A + I) D^-1/2 (x @ w) + b` for node features `x [numNodes, in]`. */
  apply(params: GraphConvParams, x: Tensor, graph: Graph, opts?: GraphConvApplyOptions): Tensor;
}

/**
 * The graph convolution of Kipf & Welling, "Semi-Supervised Classification with Graph
 * Convolutional Networks" (ICLR 2017): each node averages its neighbours' (and its own)
 * transformed features with symmetric-degree weights, by sparse message passing.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const graph = { src: k.tensor([0, 1, 1, 2], { dtype: "int32" }), dst: k.tensor([1, 0, 2, 1], { dtype: "int32" }), numNodes: 3 };
 * const params = k.nn.graphConv.init(k.random.key(0), 4, 2);
 * const h = k.nn.graphConv.apply(params, k.ones([3, 4]), graph); // [3, 2]
 * ```
 */
export const graphConv: GraphConv = {
  init: E.publicOp(
    "nn.graphConv.init",
    (
      key: Tensor,
      inFeatures: number,
      outFeatures: number,
      opts: GraphConvInitOptions = {},
    ): GraphConvParams => {
      const op = "nn.graphConv.init";
      E.checkTensorArg(op, key, "key");
      const nIn = E.checkInt(op, inFeatures, "inFeatures", 1);
      const nOut = E.checkInt(op, outFeatures, "outFeatures", 1);
      const o = E.checkOptions(op, opts, ["dtype"]);
      const dtype = o.dtype === undefined
        ? "float32"
        : E.checkOneOf(op, o.dtype, ["float16", "float32", "float64"] as const, "dtype");
      return {
        w: glorotUniform(key, [nIn, nOut], dtype),
        b: k.zeros([nOut], { dtype, device: key.device }),
      };
    },
  ),
  apply: E.publicOp(
    "nn.graphConv.apply",
    (
      params: GraphConvParams,
      x: Tensor,
      graph: Graph,
      opts: GraphConvApplyOptions = {},
    ): Tensor => {
      const op = "nn.graphConv.apply";
      const w = (E.isPlainObject(params) ? params.w : undefined) as Tensor;
      const b = (E.isPlainObject(params) ? params.b : undefined) as Tensor;
      if (!E.isTensorValue(w) || !E.isTensorValue(b) || w.ndim !== 2 || b.ndim !== 1) {
        throw E.typeError(op, `params must be {w: Tensor [in, out], b: Tensor [out]}`);
      }
      const xt = E.checkTensorArg<Tensor>(op, x, "x");
      const g = checkGraph(op, graph);
      checkNodes(op, xt, g.numNodes);
      if (xt.ndim !== 2 || xt.shape[1] !== w.shape[0]) {
        throw E.shapeError(
          op,
          `x must be [${g.numNodes}, ${w.shape[0]}] to match w [${w.shape}], got [${xt.shape}]`,
        );
      }
      const o = E.checkOptions(op, opts, ["normalize"]);
      const norm = o.normalize === undefined ? true : E.checkBool(op, o.normalize, "normalize");
      const h = k.matmul(xt, w);
      return propagate(h, norm ? normalize(g, true, h.dtype) : g, "sum").add(b);
    },
  ),
};
