/** Building graph nodes from primitive records. @module */
import type { DType } from "../dtype.ts";
import { shapeError } from "../errors.ts";
import { Node } from "./node.ts";
import { prim } from "./primitive.ts";
import "./elementwise.ts";
import "./movement.ts";
import "./window.ts";
import "./reduce.ts";
import "./source.ts";
import "./scatter.ts";
import "./call.ts";

/** Creates a node for primitive `op`, inferring shape and dtype from its record. */
export function makeNode(op: string, src: Node[], arg?: unknown): Node {
  const p = prim(op);
  const device = src[0].device;
  for (const s of src) {
    if (s.device !== device) {
      throw shapeError(
        op,
        `operands are on different devices (${
          src.map((x) => x.device).join(", ")
        }); move them with k.devicePut`,
      );
    }
  }
  const dtype: DType = p.dtype ? p.dtype(src.map((s) => s.dtype), arg) : src[0].dtype;
  const shape = p.shape ? p.shape(src.map((s) => s.shape), arg) : src[0].shape;
  return new Node(op, src, arg, shape, dtype, device);
}

/** A leaf node (`const`, `iota`) with explicit shape, dtype and device. */
export function makeLeaf(
  op: "const" | "iota",
  arg: unknown,
  shape: readonly number[],
  dtype: DType,
  device: string,
): Node {
  return new Node(op, [], arg, shape, dtype, device);
}
