/** Turning user values into graph nodes: scalars, casts, broadcasting. @module */
import { defaultDtype, type DType, promote, roundTo, weakScalarDtype } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import { broadcastShapes, fmt, shapeEq } from "../shape.ts";
import { checkTensorLikeArg, shapeError } from "../errors.ts";
import { Tensor } from "./tensor.ts";
import { defaultDevice } from "./device.ts";

/** A tensor or a JavaScript scalar standing for one. */
export type TensorLike = Tensor | number | boolean;

/** Wraps a node in a Tensor handle. */
export function wrap(n: Node): Tensor {
  return new Tensor(n);
}

/** A scalar constant node. */
export function scalarNode(v: number | boolean, dtype: DType, device: string): Node {
  return makeLeaf("const", castScalar(Number(v), dtype), [], dtype, device);
}

/** A JS number converted to dtype `d` as a cast would (truncating to int32, rounding floats). */
export function castScalar(v: number, d: DType): number {
  if (d === "bool") return v !== 0 ? 1 : 0;
  if (d === "int32") return Math.trunc(v) | 0;
  return roundTo(d, v);
}

/** Casts a node, folding constants. */
export function castNode(n: Node, dtype: DType): Node {
  if (n.dtype === dtype) return n;
  if (n.op === "const") {
    return makeLeaf("const", castScalar(n.arg as number, dtype), n.shape, dtype, n.device);
  }
  return makeNode("cast", [n], dtype);
}

/** Broadcasts a node to `shape` (reshape to the rank, then expand). */
export function broadcastNode(n: Node, shape: readonly number[]): Node {
  if (shapeEq(n.shape, shape)) return n;
  if (n.op === "const") return makeLeaf("const", n.arg, shape, n.dtype, n.device);
  let x = n;
  if (x.shape.length < shape.length) {
    x = makeNode("reshape", [x], [...Array(shape.length - x.shape.length).fill(1), ...x.shape]);
  }
  return makeNode("expand", [x], [...shape]);
}

/** The dtype several operands promote to (JS numbers are weak). */
export function resultDtype(xs: readonly TensorLike[]): DType {
  const ts = xs.filter((x): x is Tensor => x instanceof Tensor);
  if (ts.length === 0) {
    return xs.some((x) => typeof x === "number") ? defaultDtype(0) : "bool";
  }
  let d = ts.map((t) => t.dtype).reduce(promote);
  for (const x of xs) if (!(x instanceof Tensor)) d = weakScalarDtype(x, d);
  return d;
}

/** Checks that `x` is a tensor or scalar. */
export function checkLike(op: string, x: unknown, what: string): TensorLike {
  if (x instanceof Tensor || typeof x === "number" || typeof x === "boolean") return x;
  return checkTensorLikeArg<TensorLike>(op, x, what);
}

/**
 * Converts operands to nodes of one dtype and one broadcast shape.
 * `dtype` overrides the promoted dtype; `device0` is the device of all-scalar operands
 * (default: the default device).
 */
export function align(
  op: string,
  xs: readonly TensorLike[],
  dtype?: DType,
  device0?: string,
): { nodes: Node[]; dtype: DType; shape: number[] } {
  xs.forEach((x, i) => checkLike(op, x, xs.length <= 2 ? ["x", "y"][i] : `argument ${i}`));
  const d = dtype ?? resultDtype(xs);
  const ts = xs.filter((x): x is Tensor => x instanceof Tensor);
  const device = ts[0]?.device ?? device0 ?? defaultDevice();
  sameDevice(op, ts);
  const shape = broadcastShapes(op, ...ts.map((t) => t.shape));
  const nodes = xs.map((x) => {
    const n = x instanceof Tensor ? castNode(x.node, d) : scalarNode(x, d, device);
    return broadcastNode(n, shape);
  });
  return { nodes, dtype: d, shape };
}

/** Throws, naming the user-level op and the devices, unless all tensors share one device. */
export function sameDevice(op: string, ts: readonly Tensor[]): void {
  if (ts.some((t) => t.device !== ts[0].device)) {
    throw shapeError(
      op,
      `operands are on different devices (${
        ts.map((t) => t.device).join(", ")
      }); move them with k.devicePut`,
    );
  }
}

/** A tensor from a TensorLike (scalars become 0-d tensors). */
export function asTensor(op: string, x: TensorLike, what = "x"): Tensor {
  checkLike(op, x, what);
  if (x instanceof Tensor) return x;
  return wrap(scalarNode(x, defaultDtype(x), defaultDevice()));
}

/** Error helper: shapes in brackets. */
export { fmt };
