/**
 * Convolutions, as in `torch.nn.functional.conv1d/2d/3d` and `conv_transpose1d/2d/3d` (NCHW).
 *
 * There is no convolution primitive. `conv` is a windowed view of the (padded) input times the
 * kernel, summed over channels and taps: one broadcast multiply and one sum, which the
 * scheduler fuses with its epilogue (bias, activation) into one kernel and the backends run
 * on their tiled contraction paths. Autodiff of that graph gives the two backward passes as
 * contractions too: the weight gradient sums over batch and positions, the input gradient
 * contracts the output gradient with the kernel into columns that `unwindow` folds back onto
 * the input (col2im). `convTranspose` is that same fold, so it is the exact adjoint of `conv`.
 * @module
 */
import { type DType, isFloat, promote } from "../dtype.ts";
import { makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import * as B from "../ir/build.ts";
import type { WindowArg } from "../ir/window.ts";
import { fmt } from "../shape.ts";
import { checkOptions, describe, rangeError, shapeError, typeError, userOp } from "../errors.ts";
import { asTensor, castNode, sameDevice, wrap } from "./convert.ts";
import type { Tensor } from "./tensor.ts";

/** A number for every spatial axis, or one number per spatial axis. */
export type SpatialArg = number | readonly number[];

/**
 * Convolution padding: `"valid"` (none), `"same"` (output size = input size; stride 1), a
 * number for every side, one number per spatial axis, or `[lo, hi]` per spatial axis.
 */
export type ConvPadding =
  | "valid"
  | "same"
  | number
  | readonly (number | readonly [number, number])[];

/** Options of `conv`. */
export interface ConvOptions {
  /** Step between windows (default 1). */
  stride?: SpatialArg;
  /** Zero padding (default `"valid"`). */
  padding?: ConvPadding;
  /** Spacing between kernel taps (default 1). */
  dilation?: SpatialArg;
  /** Channel groups: input and output channels split into `groups` independent blocks. */
  groups?: number;
}

/** Options of `convTranspose`. */
export interface ConvTransposeOptions {
  /** Stride of the convolution this transposes (default 1). */
  stride?: SpatialArg;
  /** Padding of the convolution this transposes: cropped from the output (default 0). */
  padding?: SpatialArg;
  /** Extra size added on the high side of each output axis (< stride or dilation). */
  outputPadding?: SpatialArg;
  /** Spacing between kernel taps (default 1). */
  dilation?: SpatialArg;
  /** Channel groups (default 1). */
  groups?: number;
}

/** One integer per spatial axis from a number or a list, each at least `min`. */
export function perAxis(
  op: string,
  what: string,
  v: SpatialArg | undefined,
  n: number,
  dflt: number,
  min: number,
): number[] {
  const list = v === undefined ? Array(n).fill(dflt) : typeof v === "number" ? Array(n).fill(v) : v;
  if (!Array.isArray(list)) {
    throw typeError(op, `${what} must be a number or an array of ${n}, got ${describe(v)}`);
  }
  if (list.length !== n) {
    throw rangeError(
      op,
      `${what} has ${list.length} entries (${fmt(list as number[])}) but there are ${n} ` +
        `spatial axes`,
    );
  }
  for (const x of list) {
    if (typeof x !== "number") {
      throw typeError(op, `${what} must be integers, got ${describe(v)}`);
    }
    if (!Number.isInteger(x) || x < min) {
      throw rangeError(
        op,
        `${what} must be integers >= ${min}, got ${Array.isArray(v) ? fmt(v) : String(v)}`,
      );
    }
  }
  return [...list] as number[];
}

/** The float dtype two operands compute in; rejects integer and bool operands. */
function floatDtype(op: string, x: Tensor, w: Tensor, xs = "x", ws = "w"): DType {
  const d = promote(x.dtype, w.dtype);
  if (!isFloat(x.dtype) || !isFloat(w.dtype)) {
    throw typeError(op, `${xs} and ${ws} must be float tensors, got ${x.dtype} and ${w.dtype}`);
  }
  return d;
}

/** Batched input `[N, C, ...spatial]` (unbatched `[C, ...spatial]` gains N = 1). */
function batchedInput(op: string, x: Tensor, w: Tensor, n: number): [Node, boolean] {
  if (n < 1 || n > 3) {
    throw rangeError(
      op,
      `w must be [out, in/groups, ...kernel] with 1 to 3 spatial axes, got w ${fmt(w.shape)}`,
    );
  }
  if (x.ndim === n + 1) return [B.reshape(x.node, [1, ...x.shape]), true];
  if (x.ndim !== n + 2) {
    throw shapeError(
      op,
      `x ${fmt(x.shape)} must be [N, C, ...spatial] (or [C, ...spatial]) with ${n} ` +
        `spatial axes to match w ${fmt(w.shape)}`,
    );
  }
  return [x.node, false];
}

function checkGroups(op: string, groups: unknown): number {
  if (typeof groups !== "number") {
    throw typeError(op, `groups must be a positive integer, got ${describe(groups)}`);
  }
  if (!Number.isInteger(groups) || groups < 1) {
    throw rangeError(op, `groups must be a positive integer, got ${String(groups)}`);
  }
  return groups;
}

/** `[lo, hi]` zero padding per spatial axis. */
function convPads(
  op: string,
  padding: ConvPadding | undefined,
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): [number, number][] {
  const n = kernel.length;
  if (padding === undefined || padding === "valid") return kernel.map(() => [0, 0]);
  if (padding === "same") {
    if (stride.some((s) => s !== 1)) {
      throw rangeError(op, `padding "same" needs stride 1, got stride ${fmt(stride)}`);
    }
    // As torch: the extra pad of an even-sized (dilated) kernel goes on the high side.
    return kernel.map((k, i) => {
      const total = dilation[i] * (k - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  if (typeof padding === "number") {
    return perAxis(op, "padding", padding, n, 0, 0).map((p) => [p, p]);
  }
  if (!Array.isArray(padding)) {
    throw typeError(
      op,
      `padding must be "valid", "same", a number or an array, got ${typeof padding}`,
    );
  }
  if (padding.length !== n) {
    throw rangeError(op, `padding has ${padding.length} entries but there are ${n} spatial axes`);
  }
  return padding.map((p) => {
    const pair = typeof p === "number" ? [p, p] : p;
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      pair.some((v) => typeof v !== "number" || !Number.isInteger(v) || v < 0)
    ) {
      throw rangeError(
        op,
        `padding entries must be non-negative integers or [lo, hi] pairs, got ${
          JSON.stringify(padding)
        }`,
      );
    }
    return [pair[0], pair[1]] as [number, number];
  });
}

/**
 * The window view of `x [..., S…]` over its trailing `kernel.length` axes:
 * `[..., O…, K…]`, reading `x[..., o·stride + κ·dilation]`. Windows that tile the input
 * (stride = kernel, no dilation: 2×2 pooling, patch embeddings) are a plain reshape and
 * permute, so gradients flow back through free views instead of a col2im fold.
 */
export function windowNode(
  x: Node,
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
  out: readonly number[],
): Node {
  const n = kernel.length, lead = x.shape.slice(0, x.shape.length - n);
  if (kernel.every((k, i) => stride[i] === k && dilation[i] === 1)) {
    const used = out.map((o, i) => o * kernel[i]);
    let v = x;
    if (used.some((u, i) => u !== x.shape[lead.length + i])) {
      v = makeNode("shrink", [v], [...lead.map((d) => [0, d, 1]), ...used.map((u) => [0, u, 1])]);
    }
    v = B.reshape(v, [...lead, ...out.flatMap((o, i) => [o, kernel[i]])]);
    const at = lead.length;
    const perm = [
      ...lead.keys(),
      ...out.map((_, i) => at + 2 * i),
      ...out.map((_, i) => at + 2 * i + 1),
    ];
    return makeNode("permute", [v], perm);
  }
  const ones = kernel.map(() => 1);
  const xe = B.expand(B.reshape(x, [...x.shape, ...ones]), [...x.shape, ...kernel]);
  const arg: WindowArg = { stride: [...stride], dilation: [...dilation], to: [...out] };
  return makeNode("rewindow", [xe], arg);
}

/** Output size of a window along one axis of (padded) size `size`. */
export function windowCount(size: number, k: number, s: number, d: number): number {
  return Math.floor((size - d * (k - 1) - 1) / s) + 1;
}

const range = (a: number, b: number) => [...Array(b - a).keys()].map((i) => i + a);

/**
 * N-dimensional convolution (cross-correlation) exactly as `torch.nn.functional.conv1d/2d/3d`:
 * `x [N, C, ...spatial]` (or unbatched `[C, ...spatial]`), `w [O, C/groups, ...kernel]`; the
 * number of spatial axes (1 to 3) follows from `w`. Result `[N, O, ...out]`.
 * @example k.conv(x, w, { stride: 1, padding: 1 }) // [32,1,28,28] * [16,1,3,3] -> [32,16,28,28]
 */
export function conv(x: Tensor, w: Tensor, opts: ConvOptions = {}): Tensor {
  return userOp("conv", () => {
    const op = "conv";
    opts = checkOptions(op, opts, ["stride", "padding", "dilation", "groups"]);
    const xt = asTensor(op, x, "x"), wt = asTensor(op, w, "w");
    sameDevice(op, [xt, wt]);
    const n = wt.ndim - 2;
    const [xb, unbatched] = batchedInput(op, xt, wt, n);
    const dtype = floatDtype(op, xt, wt);
    const groups = checkGroups(op, opts.groups ?? 1);
    const [N, C, ...S] = xb.shape;
    const [O, Cg, ...K] = wt.shape;
    if (Cg * groups !== C) {
      throw shapeError(
        op,
        `x ${fmt(xt.shape)} has ${C} channels but w ${fmt(wt.shape)} expects ${Cg * groups}` +
          (groups > 1 ? ` (${Cg} per group × ${groups} groups)` : ""),
      );
    }
    if (O % groups !== 0) {
      throw shapeError(
        op,
        `groups ${groups} does not divide the ${O} output channels of w ${fmt(wt.shape)}`,
      );
    }
    if (K.some((k) => k < 1)) throw rangeError(op, `w ${fmt(wt.shape)} has an empty kernel`);
    const stride = perAxis(op, "stride", opts.stride, n, 1, 1);
    const dilation = perAxis(op, "dilation", opts.dilation, n, 1, 1);
    const pads = convPads(op, opts.padding, K, stride, dilation);
    const Sp = S.map((s, i) => s + pads[i][0] + pads[i][1]);
    const Osz = Sp.map((s, i) => windowCount(s, K[i], stride[i], dilation[i]));
    Osz.forEach((o, i) => {
      if (o < 1) {
        throw rangeError(
          op,
          `the dilated kernel (${dilation[i] * (K[i] - 1) + 1}) is larger than the padded ` +
            `input (${Sp[i]}) along spatial axis ${i}: x ${fmt(xt.shape)}, w ${fmt(wt.shape)}`,
        );
      }
    });
    const G = groups, Og = O / G;
    let xn = castNode(xb, dtype);
    if (pads.some(([a, b]) => a || b)) {
      xn = makeNode("pad", [xn], { pads: [[0, 0], [0, 0], ...pads], value: 0 });
    }
    // Product axes [N, G, Og, Cg, K…, O…], summed over Cg and K…. Output positions last: the
    // columns of the input gradient then come out [.., C, K…, O…], and folding them back
    // (col2im) reads along image rows.
    const win = windowNode(xn, K, stride, dilation, Osz); // [N, C, O…, K…]
    const xg = B.reshape(win, [N, G, 1, Cg, ...Osz, ...K]);
    const full = [N, G, Og, Cg, ...K, ...Osz];
    const xp = makeNode("permute", [xg], [
      0,
      1,
      2,
      3,
      ...range(4 + n, 4 + 2 * n),
      ...range(4, 4 + n),
    ]);
    const xe = B.expand(xp, full);
    const wn = castNode(wt.node, dtype);
    const we = B.expand(B.reshape(wn, [1, G, Og, Cg, ...K, ...Osz.map(() => 1)]), full);
    const prod = makeNode("mul", [xe, we]);
    const summed = makeNode("sum", [prod], range(3, 4 + n));
    let y = B.reshape(summed, [N, O, ...Osz]);
    if (unbatched) y = B.reshape(y, [O, ...Osz]);
    return wrap(y);
  });
}

/**
 * Transposed convolution exactly as `torch.nn.functional.conv_transpose1d/2d/3d`: the adjoint
 * of `conv` with the same `w [C, O/groups, ...kernel]`, stride, padding and dilation.
 * `x [N, C, ...spatial]` (or unbatched); output size per axis
 * `(in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1`.
 * @example k.convTranspose(z, w, { stride: 2, padding: 1, outputPadding: 1 }) // upsample 2×
 */
export function convTranspose(x: Tensor, w: Tensor, opts: ConvTransposeOptions = {}): Tensor {
  return userOp("convTranspose", () => {
    const op = "convTranspose";
    opts = checkOptions(op, opts, ["stride", "padding", "outputPadding", "dilation", "groups"]);
    const xt = asTensor(op, x, "x"), wt = asTensor(op, w, "w");
    sameDevice(op, [xt, wt]);
    const n = wt.ndim - 2;
    const [xb, unbatched] = batchedInput(op, xt, wt, n);
    const dtype = floatDtype(op, xt, wt);
    const groups = checkGroups(op, opts.groups ?? 1);
    const [N, C, ...H] = xb.shape;
    const [Cw, Og, ...K] = wt.shape;
    if (Cw !== C) {
      throw shapeError(
        op,
        `x ${fmt(xt.shape)} has ${C} channels but w ${fmt(wt.shape)} expects ${Cw}`,
      );
    }
    if (C % groups !== 0) {
      throw shapeError(
        op,
        `groups ${groups} does not divide the ${C} input channels of x ${fmt(xt.shape)}`,
      );
    }
    if (K.some((k) => k < 1)) throw rangeError(op, `w ${fmt(wt.shape)} has an empty kernel`);
    const stride = perAxis(op, "stride", opts.stride, n, 1, 1);
    const dilation = perAxis(op, "dilation", opts.dilation, n, 1, 1);
    const padding = perAxis(op, "padding", opts.padding, n, 0, 0);
    const outPad = perAxis(op, "outputPadding", opts.outputPadding, n, 0, 0);
    outPad.forEach((p, i) => {
      if (p >= Math.max(stride[i], dilation[i])) {
        throw rangeError(
          op,
          `outputPadding ${fmt(outPad)} must be smaller than stride ${fmt(stride)} or ` +
            `dilation ${fmt(dilation)} along each axis`,
        );
      }
    });
    // The conv this transposes reads a padded input of size `full`; its output is cropped.
    const full = H.map((h, i) => (h - 1) * stride[i] + dilation[i] * (K[i] - 1) + 1 + outPad[i]);
    const out = full.map((f, i) => f - 2 * padding[i]);
    out.forEach((o, i) => {
      if (o < 1) {
        throw rangeError(
          op,
          `padding ${fmt(padding)} leaves no output along spatial axis ${i}: x ${
            fmt(xt.shape)
          }, w ${fmt(wt.shape)}`,
        );
      }
    });
    const G = groups, Cg = C / G, O = G * Og;
    // Columns [N, G, Og, H…, K…] = Σ_cg x[N, G, cg, H…] · w[G, cg, Og, K…]; product axes
    // [N, G, Og, H…, K…, Cg].
    const prodShape = [N, G, Og, ...H, ...K, Cg];
    const ones = K.map(() => 1);
    const xg = B.reshape(castNode(xb, dtype), [N, G, Cg, ...H]);
    const xp = makeNode("permute", [xg], [0, 1, ...range(3, 3 + n), 2]);
    const xe = B.expand(B.reshape(xp, [N, G, 1, ...H, ...ones, Cg]), prodShape);
    const wg = B.reshape(castNode(wt.node, dtype), [G, Cg, Og, ...K]);
    const wp = makeNode("permute", [wg], [0, 2, ...range(3, 3 + n), 1]);
    const we = B.expand(B.reshape(wp, [1, G, Og, ...H.map(() => 1), ...K, Cg]), prodShape);
    const cols = makeNode("sum", [makeNode("mul", [xe, we])], [prodShape.length - 1]);
    const colsO = B.reshape(cols, [N, O, ...H, ...K]);
    const arg: WindowArg = { stride, dilation, to: full };
    const folded = makeNode("sum", [makeNode("unwindow", [colsO], arg)], range(2 + n, 2 + 2 * n));
    let y = B.reshape(folded, [N, O, ...full]);
    if (padding.some((p) => p) || outPad.some((p) => p)) {
      y = makeNode("shrink", [y], [
        [0, N, 1],
        [0, O, 1],
        ...out.map((o, i) => [padding[i], padding[i] + o, 1]),
      ]);
    }
    if (unbatched) y = B.reshape(y, [O, ...out]);
    return wrap(y);
  });
}
