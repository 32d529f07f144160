/**
 * Movement primitives: free views. Each maps an output index to a source index inside the
 * consuming kernel, so chains of them never copy data.
 * @module
 */
import { contiguousStrides } from "../shape.ts";
import type { Instr, KernelBuilder } from "./kernel.ts";
import type { Node } from "./node.ts";
import { type Primitive, register } from "./primitive.ts";
import { makeNode } from "./graph.ts";
import * as B from "./build.ts";
import { batchWithArg } from "./batching.ts";

/** `pad` argument: `[before, after]` per axis and the fill value. */
export interface PadArg {
  readonly pads: readonly (readonly [number, number])[];
  readonly value: number;
}

const srcShape = (n: Node) => n.src[0].shape;

/** Reshape: row-major re-interpretation; the index algebra collapses split/merged axes. */
export const RESHAPE: Primitive<"reshape"> = {
  name: "reshape",
  kind: "movement",
  batch: batchWithArg((a, n) => [n, ...(a as number[])]),
  shape: (_s, arg) => [...(arg as number[])],
  index(b: KernelBuilder, idx: Instr[], node: Node) {
    const outStrides = contiguousStrides(node.shape);
    let flat: Instr = b.const(0);
    idx.forEach((v, i) => flat = b.add(flat, b.mul(v, outStrides[i])));
    const ss = srcShape(node);
    const st = contiguousStrides(ss);
    return {
      idx: ss.map((n, j) => n === 1 ? b.const(0) : b.mod(b.idiv(flat, st[j]), n)),
    };
  },
  vjp: (ct, e) => [B.reshape(ct, e.src[0].shape)],
  jvp: ([t], e) => t && B.reshape(t, e.out.shape),
};

/** Permute (transpose): `arg[i]` is the source axis of output axis `i`. */
export const PERMUTE: Primitive<"permute"> = {
  name: "permute",
  kind: "movement",
  batch: batchWithArg((a) => [0, ...(a as number[]).map((p) => p + 1)]),
  shape: ([s], arg) => (arg as number[]).map((p) => s[p]),
  index(_b, idx, node) {
    const perm = node.arg as number[];
    const out = new Array<Instr>(idx.length);
    perm.forEach((p, i) => out[p] = idx[i]);
    return { idx: out };
  },
  vjp: (ct, e) => {
    const perm = e.arg as number[];
    return [makeNode("permute", [ct], perm.map((_, i) => perm.indexOf(i)))];
  },
  jvp: ([t], e) => t && makeNode("permute", [t], e.arg),
};

/** Expand (broadcast) size-1 axes to the target shape of the same rank. */
export const EXPAND: Primitive<"expand"> = {
  name: "expand",
  kind: "movement",
  batch: batchWithArg((a, n) => [n, ...(a as number[])]),
  shape: (_s, arg) => [...(arg as number[])],
  index(b, idx, node) {
    const ss = srcShape(node);
    return { idx: idx.map((v, i) => ss[i] === 1 ? b.const(0) : v) };
  },
  vjp: (ct, e) => [B.sumTo(ct, e.src[0].shape)],
  jvp: ([t], e) => t && B.expand(t, e.out.shape),
};

/** Pad each axis by `[before, after]` with a constant. */
export const PAD: Primitive<"pad"> = {
  name: "pad",
  kind: "movement",
  batch: batchWithArg((a) => ({
    pads: [[0, 0], ...(a as PadArg).pads],
    value: (a as PadArg).value,
  })),
  shape: ([s], arg) => s.map((d, i) => d + (arg as PadArg).pads[i][0] + (arg as PadArg).pads[i][1]),
  index(b, idx, node) {
    const { pads } = node.arg as PadArg;
    const ss = srcShape(node);
    let valid: Instr | undefined;
    const out = idx.map((v, i) => {
      const [lo, hi] = pads[i];
      if (lo === 0 && hi === 0) return v;
      const shifted = b.addc(v, -lo);
      const ok = b.op(
        "logicalAnd",
        [
          b.op("lessEqual", [b.const(0), shifted], "bool"),
          b.op("less", [shifted, b.const(ss[i])], "bool"),
        ],
        "bool",
      );
      valid = valid ? b.op("logicalAnd", [valid, ok], "bool") : ok;
      // Clamp so the (discarded) read stays in bounds on every backend.
      return b.op(
        "minimum",
        [b.op("maximum", [shifted, b.const(0)], "int32"), b.const(ss[i] - 1)],
        "int32",
      );
    });
    return { idx: out, valid, fill: (node.arg as PadArg).value };
  },
  vjp: (ct, e) => {
    const { pads } = e.arg as PadArg;
    return [
      makeNode("shrink", [ct], e.src[0].shape.map((n, i) => [pads[i][0], pads[i][0] + n, 1])),
    ];
  },
  jvp: ([t], e) => t && makeNode("pad", [t], { pads: (e.arg as PadArg).pads, value: 0 }),
};

/** Strided slice: `[start, stop, step]` per axis, step > 0. */
export const SHRINK: Primitive<"shrink"> = {
  name: "shrink",
  kind: "movement",
  batch: batchWithArg((a, n) => [[0, n, 1], ...(a as number[][])]),
  shape: (_s, arg) =>
    (arg as [number, number, number][]).map(([a, z, st]) => Math.max(0, Math.ceil((z - a) / st))),
  index(b, idx, node) {
    const arg = node.arg as [number, number, number][];
    return { idx: idx.map((v, i) => b.addc(b.mul(v, arg[i][2]), arg[i][0])) };
  },
  vjp: (ct, e) => {
    // Scatter back: interleave step-1 zeros after each element, then pad to the source size.
    const arg = e.arg as [number, number, number][];
    const ss = e.src[0].shape;
    let g = ct;
    if (arg.some(([, , st]) => st > 1)) {
      g = B.reshape(g, g.shape.flatMap((d) => [d, 1]));
      g = makeNode("pad", [g], {
        pads: arg.flatMap(([, , st]) => [[0, 0], [0, st - 1]]),
        value: 0,
      });
      g = B.reshape(g, ct.shape.map((d, i) => d * arg[i][2]));
    }
    const before = arg.map(([a]) => a);
    const after = g.shape.map((d, i) => ss[i] - before[i] - d);
    if (after.some((x) => x < 0)) {
      g = makeNode("shrink", [g], g.shape.map((d, i) => [0, d + Math.min(0, after[i]), 1]));
    }
    return [
      makeNode("pad", [g], { pads: before.map((a, i) => [a, Math.max(0, after[i])]), value: 0 }),
    ];
  },
  jvp: ([t], e) => t && makeNode("shrink", [t], e.arg),
};

/** Reverse the axes whose flag is set. */
export const FLIP: Primitive<"flip"> = {
  name: "flip",
  kind: "movement",
  batch: batchWithArg((a) => [false, ...(a as boolean[])]),
  index(b, idx, node) {
    const flags = node.arg as boolean[];
    return {
      idx: idx.map((v, i) => flags[i] ? b.op("sub", [b.const(node.shape[i] - 1), v], "int32") : v),
    };
  },
  vjp: (ct, e) => [makeNode("flip", [ct], e.arg)],
  jvp: ([t], e) => t && makeNode("flip", [t], e.arg),
};

register(RESHAPE, PERMUTE, EXPAND, PAD, SHRINK, FLIP);
