/**
 * Pooling over the spatial axes of `[N, C, ...spatial]`, as `torch.nn.functional`'s
 * `max_pool*d`, `avg_pool*d` and `adaptive_avg_pool*d`: a window view (`rewindow`) reduced
 * over its kernel axes. Gradients come from the reduction's rule and fold back through the
 * window (col2im), so overlapping windows accumulate.
 * @module
 */
import { isFloat } from "../dtype.ts";
import { makeLeaf, makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import * as B from "../ir/build.ts";
import { fmt } from "../shape.ts";
import { checkOptions, describe, rangeError, typeError, userOp } from "../errors.ts";
import { asTensor, wrap } from "./convert.ts";
import { perAxis, type SpatialArg, windowCount, windowNode } from "./conv.ts";
import { matmul } from "./linalg.ts";
import { tensor } from "./creation.ts";
import type { Tensor } from "./tensor.ts";

/** Options of `maxPool`. */
export interface MaxPoolOptions {
  /** Step between windows (default: the window size, as torch). */
  stride?: SpatialArg;
  /** Implicit `-inf` padding on both sides of each spatial axis (≤ half the window). */
  padding?: SpatialArg;
  /** Spacing between window taps (default 1). */
  dilation?: SpatialArg;
}

/** Options of `avgPool`. */
export interface AvgPoolOptions {
  /** Step between windows (default: the window size, as torch). */
  stride?: SpatialArg;
  /** Implicit zero padding on both sides of each spatial axis (≤ half the window). */
  padding?: SpatialArg;
  /** Whether padded zeros count in the average (default true, as torch). */
  countIncludePad?: boolean;
}

interface Windowed {
  readonly node: Node;
  readonly n: number;
  readonly kernel: number[];
  readonly stride: number[];
  readonly dilation: number[];
  readonly pads: number[];
  readonly out: number[];
}

/** Validates a pool call and returns the window geometry (spatial axes = rank − 2). */
function geometry(
  op: string,
  x: Tensor,
  window: SpatialArg,
  opts: { stride?: SpatialArg; padding?: SpatialArg; dilation?: SpatialArg },
): Windowed {
  const n = x.ndim - 2;
  if (n < 1 || n > 3) {
    throw rangeError(
      op,
      `x must be [N, C, ...spatial] with 1 to 3 spatial axes, got ${fmt(x.shape)}`,
    );
  }
  if (!isFloat(x.dtype)) {
    throw typeError(op, `x must be a float tensor, got ${x.dtype}`);
  }
  const kernel = perAxis(op, "window", window, n, 1, 1);
  const stride = perAxis(op, "stride", opts.stride ?? kernel, n, 1, 1);
  const dilation = perAxis(op, "dilation", opts.dilation, n, 1, 1);
  const pads = perAxis(op, "padding", opts.padding, n, 0, 0);
  pads.forEach((p, i) => {
    if (2 * p > kernel[i]) {
      throw rangeError(op, `padding ${fmt(pads)} must be at most half the window ${fmt(kernel)}`);
    }
  });
  const S = x.shape.slice(2);
  const out = S.map((s, i) => windowCount(s + 2 * pads[i], kernel[i], stride[i], dilation[i]));
  out.forEach((o, i) => {
    if (o < 1) {
      throw rangeError(
        op,
        `the window (${dilation[i] * (kernel[i] - 1) + 1}) is larger than the padded ` +
          `input (${S[i] + 2 * pads[i]}) along spatial axis ${i} of x ${fmt(x.shape)}`,
      );
    }
  });
  return { node: x.node, n, kernel, stride, dilation, pads, out };
}

/** The windows `[N, C, O…, K…]` of `g.node` padded with `fill`. */
function windows(g: Windowed, fill: number, node: Node = g.node): Node {
  let x = node;
  if (g.pads.some((p) => p)) {
    x = makeNode("pad", [x], { pads: [[0, 0], [0, 0], ...g.pads.map((p) => [p, p])], value: fill });
  }
  return windowNode(x, g.kernel, g.stride, g.dilation, g.out);
}

const kernelAxes = (g: Windowed) => [...Array(g.n).keys()].map((i) => 2 + g.n + i);
const outShape = (x: Tensor, g: Windowed) => [...x.shape.slice(0, 2), ...g.out];

/**
 * Max pooling as `torch.nn.functional.max_pool1d/2d/3d` (padding is `-inf`). The gradient goes
 * to the maximum of each window; where several elements tie for it, it is split evenly among
 * them (the rule of `k.max`, as JAX; PyTorch gives it all to the first).
 * @example k.maxPool(x, 2) // [32,16,28,28] -> [32,16,14,14]
 */
export function maxPool(x: Tensor, window: SpatialArg, opts: MaxPoolOptions = {}): Tensor {
  return userOp("maxPool", () => {
    const xt = asTensor("maxPool", x, "x");
    opts = checkOptions("maxPool", opts, ["stride", "padding", "dilation"]);
    const g = geometry("maxPool", xt, window, opts);
    const m = makeNode("max", [windows(g, -Infinity)], kernelAxes(g));
    return wrap(B.reshape(m, outShape(xt, g)));
  });
}

/**
 * Average pooling as `torch.nn.functional.avg_pool1d/2d/3d`; with `countIncludePad: false`
 * each window divides by its number of unpadded elements.
 * @example k.avgPool(x, 2, { stride: 2 }) // [32,16,28,28] -> [32,16,14,14]
 */
export function avgPool(x: Tensor, window: SpatialArg, opts: AvgPoolOptions = {}): Tensor {
  return userOp("avgPool", () => {
    const xt = asTensor("avgPool", x, "x");
    opts = checkOptions("avgPool", opts, ["stride", "padding", "countIncludePad"]);
    if (opts.countIncludePad !== undefined && typeof opts.countIncludePad !== "boolean") {
      throw typeError(
        "avgPool",
        `countIncludePad must be a boolean, got ${describe(opts.countIncludePad)}`,
      );
    }
    const g = geometry("avgPool", xt, window, { stride: opts.stride, padding: opts.padding });
    const s = makeNode("sum", [windows(g, 0)], kernelAxes(g));
    const size = g.kernel.reduce((a, b) => a * b, 1);
    let count: Node;
    if (opts.countIncludePad ?? true) count = B.konst(size, s);
    else {
      // Unpadded elements per window: the same windows over ones (a constant graph, fused).
      const ones = makeLeaf("const", 1, [1, 1, ...xt.shape.slice(2)], xt.dtype, xt.device);
      const c = makeNode("sum", [windows(g, 0, ones)], kernelAxes(g));
      count = B.expand(c, s.shape);
    }
    return wrap(B.reshape(makeNode("div", [s, count]), outShape(xt, g)));
  });
}

/**
 * Adaptive average pooling as `torch.nn.functional.adaptive_avg_pool1d/2d/3d`: output cell `i`
 * of an axis of size `n → m` averages inputs `⌊i·n/m⌋ … ⌈(i+1)·n/m⌉ − 1`. Computed as one small
 * averaging matrix per axis (a contraction each). `outputSize` entries may be `null` (keep).
 * @example k.adaptiveAvgPool(x, 1) // global average pooling: [N,C,H,W] -> [N,C,1,1]
 */
export function adaptiveAvgPool(
  x: Tensor,
  outputSize: number | readonly (number | null)[],
): Tensor {
  return userOp("adaptiveAvgPool", () => {
    const op = "adaptiveAvgPool";
    let t = asTensor(op, x, "x");
    const n = t.ndim - 2;
    if (n < 1 || n > 3) {
      throw rangeError(
        op,
        `x must be [N, C, ...spatial] with 1 to 3 spatial axes, got ${fmt(t.shape)}`,
      );
    }
    if (!isFloat(t.dtype)) throw typeError(op, `x must be a float tensor, got ${t.dtype}`);
    const spec = typeof outputSize === "number" ? Array(n).fill(outputSize) : outputSize;
    if (!Array.isArray(spec)) {
      throw typeError(op, `outputSize must be a number or an array, got ${describe(outputSize)}`);
    }
    if (spec.length !== n) {
      throw rangeError(
        op,
        `outputSize must be a number or ${n} entries, got ${JSON.stringify(outputSize)}`,
      );
    }
    const sizes = spec.map((m, i) => m ?? t.shape[2 + i]);
    for (const m of sizes) {
      if (typeof m !== "number") {
        throw typeError(op, `outputSize entries must be integers or null, got ${describe(m)}`);
      }
      if (!Number.isInteger(m) || m < 1) {
        throw rangeError(op, `outputSize must be positive integers, got ${fmt(sizes)}`);
      }
    }
    for (let i = 0; i < n; i++) {
      const inSize = t.shape[2 + i], m = sizes[i];
      if (inSize === m) continue;
      // Averaging matrix [in, m], applied to axis 2+i moved last.
      const a = new Float64Array(inSize * m);
      for (let o = 0; o < m; o++) {
        const lo = Math.floor((o * inSize) / m), hi = Math.ceil(((o + 1) * inSize) / m);
        for (let j = lo; j < hi; j++) a[j * m + o] = 1 / (hi - lo);
      }
      const mat = tensor(a, { shape: [inSize, m], dtype: t.dtype, device: t.device });
      const perm = [...Array(t.ndim).keys()].filter((d) => d !== 2 + i).concat(2 + i);
      const moved = wrap(makeNode("permute", [t.node], perm));
      const r = matmul(moved, mat);
      const back = [...Array(t.ndim).keys()].map((d) =>
        d < 2 + i ? d : d === 2 + i ? t.ndim - 1 : d - 1
      );
      t = wrap(makeNode("permute", [r.node], back));
    }
    return t;
  });
}
