/**
 * Sliding windows as a pair of adjoint movement primitives, the views convolutions and pools
 * are built from (the form tinygrad uses: a windowed view times the kernel, summed).
 *
 * Both act on the trailing `2n` axes, `n` spatial axes followed by `n` kernel-offset axes:
 * - `rewindow` `[..., S…, K…] → [..., O…, K…]` reads `src[..., o·s + κ·d, κ]`: the window
 *   starting at output position `o`, offset `κ` (stride `s`, dilation `d`). The usual window
 *   view of `x [..., S…]` is `rewindow(expand(x[..., S…, 1…]))`.
 * - `unwindow` `[..., O…, K…] → [..., S…, K…]` is its transpose: `dst[..., p, κ]` is
 *   `src[..., (p − κ·d)/s, κ]` where that is a whole window index in range, else 0. Summed over
 *   `K…` it scatters every window back onto the input: col2im, the input gradient of a
 *   convolution and the body of a transposed convolution.
 *
 * Each is the other's VJP, and both are linear, so their JVPs apply themselves to the tangent.
 * The indices of `rewindow` are affine, so a convolution's contraction keeps plain strided
 * loads; `unwindow` with a stride has a divisibility mask, as a pad has a bounds mask.
 * @module
 */
import type { Instr } from "./kernel.ts";
import { type Primitive, register, type VjpRule } from "./primitive.ts";
import { makeNode } from "./graph.ts";
import { batchWithArg } from "./batching.ts";

/** Argument of both window primitives (one entry per spatial axis). */
export interface WindowArg {
  /** Stride between window starts. */
  readonly stride: readonly number[];
  /** Spacing between a window's taps. */
  readonly dilation: readonly number[];
  /** The spatial sizes on the other side: `O…` for `rewindow`, `S…` for `unwindow`. */
  readonly to: readonly number[];
}

/** Both primitives replace the spatial sizes with `to` and keep the rest. */
function windowShape([s]: readonly (readonly number[])[], arg: unknown): number[] {
  const { to } = arg as WindowArg;
  return [...s.slice(0, s.length - 2 * to.length), ...to, ...s.slice(s.length - to.length)];
}

/** The VJP of one primitive is the other, mapping back to the source's spatial sizes. */
function adjoint(other: string): VjpRule {
  return (ct, e) => {
    const { stride, dilation } = e.arg as WindowArg;
    const n = stride.length, src = e.src[0].shape;
    return [makeNode(other, [ct], { stride, dilation, to: src.slice(src.length - 2 * n, -n) })];
  };
}

/** `[..., S…, K…] → [..., O…, K…]`: the window at `o` reads `o·s + κ·d`. */
export const REWINDOW: Primitive<"rewindow"> = {
  name: "rewindow",
  kind: "movement",
  batch: batchWithArg((a) => a),
  shape: windowShape,
  index(b, idx, node) {
    const { stride, dilation, to } = node.arg as WindowArg;
    const n = to.length, at = idx.length - 2 * n;
    const out = [...idx];
    for (let i = 0; i < n; i++) {
      out[at + i] = b.add(b.mul(idx[at + i], stride[i]), b.mul(idx[at + n + i], dilation[i]));
    }
    return { idx: out };
  },
  vjp: adjoint("unwindow"),
  jvp: ([t], e) => t && makeNode("rewindow", [t], e.arg),
};

/** `[..., O…, K…] → [..., S…, K…]`: the transpose of `rewindow` (zero where no window reads). */
export const UNWINDOW: Primitive<"unwindow"> = {
  name: "unwindow",
  kind: "movement",
  batch: batchWithArg((a) => a),
  shape: windowShape,
  index(b, idx, node) {
    const { stride, dilation, to } = node.arg as WindowArg;
    const n = to.length, at = idx.length - 2 * n;
    const srcShape = node.src[0].shape;
    const out = [...idx];
    let valid: Instr | undefined;
    const and = (c: Instr) => valid = valid ? b.op("logicalAnd", [valid, c], "bool") : c;
    for (let i = 0; i < n; i++) {
      const O = srcShape[at + i], s = stride[i];
      // q = p − κ·d: the offset of the window start that would read p through tap κ.
      const q = b.add(idx[at + i], b.mul(idx[at + n + i], -dilation[i]));
      and(b.op("lessEqual", [b.const(0), q], "bool"));
      and(b.op("less", [q, b.const(O * s)], "bool"));
      // Clamp so the (discarded) read stays in bounds on every backend.
      const qc = b.op("maximum", [q, b.const(0)], "int32");
      if (s > 1) and(b.op("equal", [b.mod(qc, s), b.const(0)], "bool"));
      const o = s > 1 ? b.idiv(qc, s) : qc;
      out[at + i] = b.op(
        "minimum",
        [b.op("maximum", [o, b.const(0)], "int32"), b.const(O - 1)],
        "int32",
      );
    }
    return { idx: out, valid, fill: 0 };
  },
  vjp: adjoint("rewindow"),
  jvp: ([t], e) => t && makeNode("unwindow", [t], e.arg),
};

register(REWINDOW, UNWINDOW);
