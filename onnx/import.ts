/**
 * `importModel`: ONNX model bytes to a pure Kiln function of `(params, ...inputs)`.
 *
 * The file is untrusted: it is parsed by protobufjs (which checks every length against the
 * buffer), then every initializer's dtype, dims and data size are checked before anything is
 * decoded, every node's operator must be supported and every input defined before use, and
 * every shape an operator creates (Expand, Tile, Pad, ConstantOfShape, Range) is bounded before
 * Kiln builds it.
 * @module
 */
import * as k from "../core/mod.ts";
import { publicOp } from "../core/errors.ts";
import { decodeModel, type GraphMsg, type ModelMsg, type NodeMsg } from "./schema.ts";
import {
  decodeTensor,
  IMPORT,
  isStatic,
  kilnType,
  OpContext,
  RUN,
  type Static,
  staticOf,
  toTensor,
  type Val,
} from "./values.ts";
import { BASIC_OPS, FOLDABLE, type OpImpl } from "./ops_basic.ts";
import { NN_OPS } from "./ops_nn.ts";
import { RNN_OPS } from "./ops_rnn.ts";

const OPS: Record<string, OpImpl> = { ...BASIC_OPS, ...NN_OPS, ...RNN_OPS };

/** Every ONNX operator `importModel` accepts. */
export const IMPORTED_OPS: readonly string[] = Object.keys(OPS).sort();

/** Most nodes and initializers a graph may have. */
const MAX_NODES = 1_000_000;

/** What `importModel` returns. */
export interface ImportedModel {
  /**
   * The model as a pure function: `fn(params, ...inputs)` gives the output tensor, or an array
   * of them when the graph has several outputs. Built from Kiln ops, so `jit`, `grad` (with
   * respect to `params`) and `vmap` apply.
   */
  readonly fn: (params: Record<string, k.Tensor>, ...inputs: k.Tensor[]) => k.Tensor | k.Tensor[];
  /**
   * The floating-point initializers with at least one axis (the trainable weights), by their
   * ONNX names; scalar initializers are constants of the function.
   */
  readonly params: Record<string, k.Tensor>;
  /** Names of the graph inputs, in the order `fn` takes them. */
  readonly inputNames: readonly string[];
  /** Names of the graph outputs, in the order `fn` returns them. */
  readonly outputNames: readonly string[];
}

function parse(bytes: Uint8Array): ModelMsg {
  try {
    return decodeModel(bytes);
  } catch (e) {
    throw new TypeError(`${IMPORT}: not a valid ONNX model (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Checks the node list: supported operators, inputs defined before use, bounded counts. */
function validate(g: GraphMsg, defined: Set<string>): void {
  const nodes = g.node ?? [];
  if (nodes.length > MAX_NODES || (g.initializer ?? []).length > MAX_NODES) {
    throw new RangeError(`${IMPORT}: the graph has more than ${MAX_NODES} nodes or initializers`);
  }
  for (const n of nodes) {
    const label = `${n.opType} node ${JSON.stringify(n.name ?? "")}`;
    if (n.domain && n.domain !== "ai.onnx") {
      throw new TypeError(`${IMPORT}: ${label} is in domain "${n.domain}", which is not supported`);
    }
    if (!n.opType || !Object.hasOwn(OPS, n.opType)) {
      throw new TypeError(
        `${IMPORT}: unsupported operator ${label} (supported: ${IMPORTED_OPS.join(", ")})`,
      );
    }
    for (const i of n.input ?? []) {
      if (i && !defined.has(i)) {
        throw new RangeError(`${IMPORT}: ${label} reads "${i}", which is not defined before it`);
      }
    }
    for (const o of n.output ?? []) if (o) defined.add(o);
  }
  for (const o of g.output ?? []) {
    if (!defined.has(o.name ?? "")) {
      throw new RangeError(`${IMPORT}: graph output "${o.name}" is not computed by any node`);
    }
  }
}

/** Runs a node (on the host when every input is a host constant and the op folds). */
function runNode(n: NodeMsg, ins: (Val | undefined)[], opset: number): Val[] {
  const impl = OPS[n.opType!];
  const fold = FOLDABLE.has(n.opType!) && ins.every((v) => v === undefined || isStatic(v)) &&
    ins.some((v) => v !== undefined);
  if (fold) {
    const out = [impl(new OpContext(n, ins, opset, true))].flat();
    return out.map((t) =>
      isStatic(t) ? t : staticOf(Array.from(t.dataSync() as ArrayLike<number>), t.shape, t.dtype)
    );
  }
  return [impl(new OpContext(n, ins, opset))].flat();
}

/**
 * Reads an ONNX model (bytes of a `ModelProto`) into a pure Kiln function and its weights.
 * Supports the operators Kiln exports and the common inference operators (see
 * `IMPORTED_OPS`); shape computations (`Shape`, `Gather`, `Concat`, ...) are folded while
 * tracing, so dynamic-batch models from PyTorch's exporter work at any batch size.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const { fn, params } = k.onnx.importModel(await Deno.readFile("model.onnx"));
 * const y = fn(params, k.zeros([1, 4])) as k.Tensor;
 * const g = k.grad((p: typeof params) => k.sum(fn(p, k.zeros([1, 4])) as k.Tensor))(params);
 * ```
 */
export const importModel: (bytes: Uint8Array) => ImportedModel = publicOp(IMPORT, (bytes) => {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${IMPORT}: bytes must be a Uint8Array, got ${k.errors.describe(bytes)}`);
  }
  const m = parse(bytes);
  const g = m.graph;
  if (!g) throw new TypeError(`${IMPORT}: the model has no graph`);
  const opset = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version ??
    1;
  const params: Record<string, k.Tensor> = {};
  const statics = new Map<string, Static>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? "";
    const d = decodeTensor(t, `initializer ${JSON.stringify(name)}`);
    // Scalars stay host constants (pad values, scales): the weights are the float arrays.
    if ((d.dtype === "float32" || d.dtype === "float64") && d.shape.length) {
      params[name] = k.tensor(d.data as Float32Array, { dtype: d.dtype, shape: d.shape });
    } else statics.set(name, staticOf(Array.from(d.data), d.shape, d.dtype));
  }
  const inputs = (g.input ?? []).filter((i) =>
    !Object.hasOwn(params, i.name ?? "") && !statics.has(i.name ?? "")
  );
  const defined = new Set([
    ...Object.keys(params),
    ...statics.keys(),
    ...inputs.map((i) => i.name ?? ""),
  ]);
  validate(g, defined);
  const inputNames = inputs.map((i) => i.name ?? "");
  const outputNames = (g.output ?? []).map((o) => o.name ?? "");
  const types = inputs.map((i) => {
    const tt = i.type?.tensorType;
    return {
      dtype: kilnType(tt?.elemType),
      dims: tt?.shape?.dim?.map((d) => (d.dimValue !== undefined ? d.dimValue : null)),
    };
  });
  const nodes = g.node ?? [];
  const fn = publicOp(
    RUN,
    (p: Record<string, k.Tensor>, ...xs: k.Tensor[]): k.Tensor | k.Tensor[] => {
      if (typeof p !== "object" || p === null) {
        throw new TypeError(
          `${RUN}: params must be the object importModel returned, got ${k.errors.describe(p)}`,
        );
      }
      if (xs.length !== inputNames.length) {
        throw new RangeError(
          `${RUN}: the model takes ${inputNames.length} input(s) (${
            inputNames.join(", ")
          }), got ${xs.length}`,
        );
      }
      const env = new Map<string, Val>(statics);
      for (const name of Object.keys(params)) {
        const t = p[name];
        if (!(t instanceof k.Tensor)) {
          throw new TypeError(
            `${RUN}: params["${name}"] must be a Tensor, got ${k.errors.describe(t)}`,
          );
        }
        env.set(name, t);
      }
      xs.forEach((x, i) => {
        const { dtype, dims } = types[i];
        const want = dims ? `[${dims.map((d) => d ?? "?").join(",")}]` : "";
        if (!(x instanceof k.Tensor)) {
          throw new TypeError(
            `${RUN}: input "${inputNames[i]}" must be a Tensor, got ${k.errors.describe(x)}`,
          );
        }
        if (
          dims && (dims.length !== x.ndim || dims.some((d, j) => d !== null && d !== x.shape[j]))
        ) {
          throw new RangeError(
            `${RUN}: input "${inputNames[i]}" must have shape ${want}, got [${x.shape.join(",")}]`,
          );
        }
        env.set(inputNames[i], dtype && dtype !== x.dtype ? k.astype(x, dtype) : x);
      });
      for (const n of nodes) {
        const ins = (n.input ?? []).map((i) => (i ? env.get(i) : undefined));
        const outs = runNode(n, ins, opset);
        (n.output ?? []).forEach((o, j) => {
          if (o && outs[j] !== undefined) env.set(o, outs[j]);
        });
      }
      const res = outputNames.map((o) => toTensor(env.get(o)!));
      return res.length === 1 ? res[0] : res;
    },
  );
  return { fn, params, inputNames, outputNames };
});
