/**
 * `exportModel`: a Kiln function to the bytes of an ONNX `ModelProto`.
 * @module
 */
import type { Node } from "../core/ir/node.ts";
import { between } from "../core/transforms/trace.ts";
import { prim } from "../core/ir/primitive.ts";
import { flattenWithPath, keystr, type PyTree } from "../core/transforms/tree.ts";
import { Tensor } from "../core/tensor/tensor.ts";
import {
  checkFunction,
  checkInt,
  checkOptions,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
} from "../core/errors.ts";
import { GraphBuilder, onnxType } from "./builder.ts";
import { emitDeps, emitNode } from "./emit.ts";
import { encodeModel, type ValueInfoMsg } from "./schema.ts";
import {
  OP,
  STACK,
  symbolicShapes,
  type SymShape,
  topoOrder,
  TRACE_BATCHES,
  type Traced,
  traceForExport,
} from "./trace.ts";

/** Options of `exportModel` and `save`. */
export interface ExportOptions {
  /** Names of the graph inputs, one per tensor leaf of the arguments (default `input_0`, ...). */
  inputNames?: readonly string[];
  /** Names of the graph outputs, one per tensor leaf of the result (default `output_0`, ...). */
  outputNames?: readonly string[];
  /** ONNX opset version, 13 to 21 (default 17). */
  opset?: number;
  /**
   * Make axis 0 of every input and of the outputs that follow it a symbolic `batch`
   * dimension (default false: every shape is fixed to the example's). The function is traced
   * at two batch sizes and every shape that changes with the batch is computed from the input's
   * shape in the graph; a function whose graph changes otherwise is refused.
   */
  dynamicBatch?: boolean;
  /**
   * A pytree of the parameters the function closes over (e.g. `params`): initializers holding
   * these tensors are named by their paths (`layers.0.w`) instead of `param_0`, ...
   */
  params?: PyTree<unknown>;
  /** Free text stored as the model's `doc_string`. */
  docString?: string;
}

const KNOWN = ["inputNames", "outputNames", "opset", "dynamicBatch", "params", "docString"];

/** How a node enters the ONNX graph. */
type Role = "input" | "init" | "op";

function checkNames(what: string, v: unknown, n: number): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s === "")) {
    throw typeError(OP, `${what} must be an array of non-empty strings, got ${describe(v)}`);
  }
  if (v.length !== n) {
    throw rangeError(
      OP,
      `${what} has ${v.length} names but there are ${n} ${
        what === "inputNames" ? "input tensors" : "output tensors"
      }`,
    );
  }
  if (new Set(v).size !== v.length) throw rangeError(OP, `${what} has duplicate names`);
  return v as string[];
}

/**
 * Roles of the nodes a traced graph needs, and their listing in emission order. Inputs are
 * graph inputs; values that do not depend on them are initializers (computed once) except
 * constants, views of constants (a broadcast bias stays small) and, with a dynamic batch,
 * values whose shape follows the batch (a zero initial RNN state and what is computed from it).
 */
function plan(
  t: Traced,
  batchShaped: ReadonlySet<Node>,
): { roles: Map<Node, Role>; order: Node[] } {
  const inputs = new Set(t.inputs);
  const live = new Set(between(t.outputs, inputs));
  const roles = new Map<Node, Role>();
  const role = (n: Node): Role => {
    let r = roles.get(n);
    if (r) return r;
    if (inputs.has(n)) r = "input";
    else if (live.has(n)) r = "op";
    else if (n.realized) r = "init";
    else if (n.op === "const" || n.op === "iota" || n.op === STACK) r = "op";
    else if (batchShaped.has(n)) r = "op";
    else r = prim(n.op).kind === "movement" && n.src.length === 1 ? "op" : "init";
    roles.set(n, r);
    return r;
  };
  const order = topoOrder(t.outputs, (n) => (role(n) === "op" ? emitDeps(n) : []));
  return { roles, order };
}

/** Nodes of each trace whose shape changes with the batch (the traces paired node by node). */
function batchShaped(t1: Traced, t2: Traced): [Set<Node>, Set<Node>] {
  const deps = (n: Node) => (n.realized ? [] : n.src);
  const o1 = topoOrder(t1.outputs, deps), o2 = topoOrder(t2.outputs, deps);
  if (o1.length !== o2.length) {
    throw shapeError(OP, "dynamicBatch: the function's graph changes with the batch size");
  }
  const s1 = new Set<Node>(), s2 = new Set<Node>();
  o1.forEach((a, i) => {
    if (a.shape.join() !== o2[i].shape.join()) {
      s1.add(a);
      s2.add(o2[i]);
    }
  });
  return [s1, s2];
}

/**
 * Traces `fn` on `exampleArgs` (as `jit` does) and returns the bytes of an ONNX model
 * computing it. Tensors the function closes over become initializers; every tensor leaf of
 * the arguments (pytrees allowed) becomes a graph input, every tensor leaf of the result a
 * graph output. `scan` (LSTM/GRU layers) is unrolled over its length. Reads the initializers'
 * values, hence async.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.mlp.init(k.random.key(0), [4, 8, 3]);
 * const bytes = await k.onnx.exportModel((x: k.Tensor) => k.nn.mlp.apply(params, x),
 *   [k.zeros([1, 4])], { inputNames: ["x"], outputNames: ["logits"], dynamicBatch: true });
 * ```
 */
export const exportModel: (
  fn: (...args: never[]) => unknown,
  exampleArgs: readonly unknown[],
  opts?: ExportOptions,
) => Promise<Uint8Array> = publicOp(OP, (fn, exampleArgs, opts = {}) => {
  checkFunction(OP, fn, "fn");
  if (!Array.isArray(exampleArgs)) {
    throw typeError(
      OP,
      `exampleArgs must be an array of the function's arguments, got ${describe(exampleArgs)}`,
    );
  }
  checkOptions(OP, opts, KNOWN);
  const opset = opts.opset === undefined ? 17 : checkInt(OP, opts.opset, "opset");
  if (opset < 13 || opset > 21) throw rangeError(OP, `opset must be 13 to 21, got ${opset}`);
  const dynamic = opts.dynamicBatch ?? false;
  if (typeof dynamic !== "boolean") {
    throw typeError(OP, `dynamicBatch must be true or false, got ${describe(dynamic)}`);
  }
  const f = fn as unknown as (...a: unknown[]) => unknown;
  const t1 = traceForExport(f, exampleArgs, dynamic ? TRACE_BATCHES[0] : null);
  const inNames = checkNames("inputNames", opts.inputNames, t1.inputs.length) ??
    t1.inputs.map((_, i) => `input_${i}`);
  const outNames = checkNames("outputNames", opts.outputNames, t1.outputs.length) ??
    t1.outputs.map((_, i) => `output_${i}`);
  let sym = new Map<Node, SymShape>();
  const t2 = dynamic ? traceForExport(f, exampleArgs, TRACE_BATCHES[1]) : null;
  const [b1, b2] = t2 ? batchShaped(t1, t2) : [new Set<Node>(), new Set<Node>()];
  const { roles, order } = plan(t1, b1);
  if (t2) sym = symbolicShapes(order, plan(t2, b2).order, (n) => roles.get(n) === "init");
  return build(t1, roles, order, sym, inNames, outNames, opset, opts);
});

async function build(
  t: Traced,
  roles: Map<Node, Role>,
  order: readonly Node[],
  sym: Map<Node, SymShape>,
  inNames: readonly string[],
  outNames: readonly string[],
  opset: number,
  opts: ExportOptions,
): Promise<Uint8Array> {
  const paramNames = new Map<Node, string>();
  if (opts.params !== undefined) {
    const [paths, leaves] = flattenWithPath(opts.params);
    leaves.forEach((l, i) => {
      if (l instanceof Tensor) {
        paramNames.set(l.node, keystr(paths[i]).replace(/^\./, "").replace(/\[(\d+)\]/g, ".$1"));
      }
    });
  }
  const dynamic = sym.size > 0;
  const g = new GraphBuilder(opset, dynamic ? inNames[0] : null);
  inNames.forEach((n) => g.fresh(n));
  outNames.forEach((n) => g.fresh(n));
  const names = new Map<Node, string>();
  t.inputs.forEach((p, i) => names.set(p, inNames[i]));
  const shape = (n: Node): SymShape => sym.get(n) ?? n.shape;
  let k = 0;
  for (const n of order) {
    const r = roles.get(n);
    if (r === "input") continue;
    if (r === "init") {
      const data = await new Tensor(n).data();
      names.set(n, g.init(paramNames.get(n) ?? `param_${k++}`, n.shape, n.dtype, data));
      continue;
    }
    if (n.op === "iota") {
      names.set(n, iota(g, n, shape(n)));
      continue;
    }
    if (n.op === "const") {
      const s = g.scalar(Number(n.arg), n.dtype);
      names.set(n, n.shape.length ? g.op("Expand", [s, g.shape(shape(n))]) : s);
      continue;
    }
    names.set(n, emitNode(g, n, (s) => names.get(s)!, shape));
  }
  t.outputs.forEach((o, i) =>
    g.nodes.push({
      opType: "Identity",
      name: `output_${i}`,
      input: [names.get(o)!],
      output: [outNames[i]],
    })
  );
  const info = (name: string, n: Node, s: SymShape): ValueInfoMsg => ({
    name,
    type: {
      tensorType: {
        elemType: onnxType(n.dtype),
        shape: {
          dim: s.map((d) =>
            typeof d === "number" ? { dimValue: d } : {
              dimParam: d.c === 1 && d.d === 0 ? "batch" : `batch*${d.c}+${d.d}`,
            }
          ),
        },
      },
    },
  });
  const inputs = t.inputs.map((p, i) =>
    info(inNames[i], p, dynamic ? [{ c: 1, d: 0 }, ...p.shape.slice(1)] : p.shape)
  );
  const outputs = t.outputs.map((o, i) => info(outNames[i], o, shape(o)));
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "kiln",
    producerVersion: "0.1.0",
    docString: opts.docString ?? "",
    graph: {
      name: "kiln",
      node: g.nodes,
      initializer: g.inits,
      input: inputs,
      output: outputs,
    },
  });
}

/** `iota` as a `Range` broadcast along the other axes. */
function iota(g: GraphBuilder, n: Node, s: SymShape): string {
  const axis = n.arg as number;
  const len = s[axis];
  if (typeof len !== "number") {
    throw typeError(
      OP,
      "dynamicBatch: an index sequence (iota) along the batch axis has no export",
    );
  }
  const d = n.dtype === "bool" ? "int32" : n.dtype;
  let r = g.op("Range", [g.scalar(0, d), g.scalar(len, d), g.scalar(1, d)]);
  r = g.op("Reshape", [r, g.i64(n.shape.map((x, i) => (i === axis ? x : 1)))]);
  r = g.op("Expand", [r, g.shape(s)]);
  return n.dtype === "bool" ? g.op("Cast", [r], { to: onnxType("bool") }) : r;
}

/**
 * `exportModel`, written to `path` (atomically: a temporary file renamed into place).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.linear.init(k.random.key(0), 4, 2);
 * await k.onnx.save("model.onnx", (x: k.Tensor) => k.nn.linear.apply(params, x), [k.zeros([1, 4])]);
 * ```
 */
export const save: (
  path: string,
  fn: (...args: never[]) => unknown,
  exampleArgs: readonly unknown[],
  opts?: ExportOptions,
) => Promise<void> = publicOp("onnx.save", async (path, fn, exampleArgs, opts) => {
  if (typeof path !== "string" || path === "") {
    throw typeError("onnx.save", `path must be a non-empty string, got ${describe(path)}`);
  }
  const bytes = await exportModel(fn, exampleArgs, opts);
  const tmp = `${path}.tmp-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`onnx.save: cannot write ${JSON.stringify(path)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
});
