/**
 * ONNX neural-network operators on Kiln ops: Gemm, Conv, pools, normalizations, activations.
 * Layouts are ONNX's (NCHW, `[out, in/groups, k…]` kernels), which are Kiln's and PyTorch's.
 * @module
 */
import * as k from "../core/mod.ts";
import { elu, gelu, leakyRelu, softplus } from "../nn/activations.ts";
import type { OpContext } from "./values.ts";
import type { OpImpl } from "./ops_basic.ts";

/** Per-axis `[begin, end]` padding from `pads`/`auto_pad` for `n` spatial axes. */
function padsOf(
  c: OpContext,
  x: k.Tensor,
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): [number, number][] {
  const n = kernel.length;
  const auto = c.str("auto_pad", "NOTSET");
  if (auto === "NOTSET") {
    const p = c.ints("pads") ?? new Array(2 * n).fill(0);
    return kernel.map((_, i) => [p[i], p[i + n]]);
  }
  if (auto === "VALID") return kernel.map(() => [0, 0]);
  if (auto !== "SAME_UPPER" && auto !== "SAME_LOWER") throw c.error(`unknown auto_pad ${auto}`);
  return kernel.map((kk, i) => {
    const size = x.shape[2 + i];
    const out = Math.ceil(size / stride[i]);
    const total = Math.max(0, (out - 1) * stride[i] + (kk - 1) * dilation[i] + 1 - size);
    const small = Math.floor(total / 2);
    return auto === "SAME_UPPER" ? [small, total - small] : [total - small, small];
  });
}

/** Spatial attributes of a conv or pool node. */
function geometry(c: OpContext, x: k.Tensor, kernel: readonly number[]) {
  const n = kernel.length;
  const stride = c.ints("strides") ?? new Array(n).fill(1);
  const dilation = c.ints("dilations") ?? new Array(n).fill(1);
  const pads = padsOf(c, x, kernel, stride, dilation);
  return { stride, dilation, pads };
}

/** Extra end padding so that floor-mode pooling gives ceil mode's sizes (torch's rule). */
function ceilPads(
  x: k.Tensor,
  kernel: readonly number[],
  g: { stride: number[]; dilation: number[]; pads: [number, number][] },
): [number, number][] {
  return kernel.map((kk, i) => {
    const [b, e] = g.pads[i], size = x.shape[2 + i], s = g.stride[i];
    const span = (kk - 1) * g.dilation[i] + 1;
    let out = Math.ceil((size + b + e - span) / s) + 1;
    if ((out - 1) * s >= size + b) out--;
    return [b, Math.max(e, (out - 1) * s + span - size - b)];
  });
}

function conv(c: OpContext): k.Tensor {
  const x = c.t(0), w = c.t(1);
  const kernel = c.ints("kernel_shape") ?? w.shape.slice(2);
  const g = geometry(c, x, kernel);
  let y = k.conv(x, w, {
    stride: g.stride,
    dilation: g.dilation,
    padding: g.pads,
    groups: c.int("group", 1),
  });
  if (c.opt(2)) y = k.add(y, k.reshape(c.t(2), [1, -1, ...kernel.map(() => 1)]));
  return y;
}

function convTranspose(c: OpContext): k.Tensor {
  const x = c.t(0), w = c.t(1);
  if (c.has("output_shape")) throw c.error("output_shape is not supported (give pads)");
  const kernel = c.ints("kernel_shape") ?? w.shape.slice(2);
  const n = kernel.length;
  const stride = c.ints("strides") ?? new Array(n).fill(1);
  const dilation = c.ints("dilations") ?? new Array(n).fill(1);
  const auto = c.str("auto_pad", "NOTSET");
  if (auto !== "NOTSET" && auto !== "VALID") throw c.error(`auto_pad ${auto} is not supported`);
  const p = auto === "VALID"
    ? new Array(2 * n).fill(0)
    : c.ints("pads") ?? new Array(2 * n).fill(0);
  let y = k.convTranspose(x, w, {
    stride,
    dilation,
    groups: c.int("group", 1),
    outputPadding: c.ints("output_padding") ?? new Array(n).fill(0),
  });
  // ONNX pads crop the full output, possibly unevenly.
  if (p.some((v) => v)) {
    y = k.slice(y, [
      [0, y.shape[0]],
      [0, y.shape[1]],
      ...kernel.map((_, i) => [p[i], y.shape[2 + i] - p[i + n]]),
    ]);
  }
  if (c.opt(2)) y = k.add(y, k.reshape(c.t(2), [1, -1, ...kernel.map(() => 1)]));
  return y;
}

function maxPool(c: OpContext): k.Tensor {
  if ((c.node.output ?? []).length > 1 && c.node.output![1]) {
    throw c.error("the Indices output is not supported");
  }
  let x = c.t(0);
  const kernel = c.ints("kernel_shape") ?? [];
  const g = geometry(c, x, kernel);
  const pads = c.int("ceil_mode", 0) ? ceilPads(x, kernel, g) : g.pads;
  if (pads.some(([b, e]) => b || e)) {
    x = k.pad(x, [[0, 0], [0, 0], ...pads], { value: -Infinity });
  }
  return k.maxPool(x, kernel, { stride: g.stride, dilation: g.dilation });
}

function avgPool(c: OpContext): k.Tensor {
  const x = c.t(0);
  const kernel = c.ints("kernel_shape") ?? [];
  const g = geometry(c, x, kernel);
  if (c.int("ceil_mode", 0)) throw c.error("ceil_mode is not supported");
  const include = c.int("count_include_pad", 0) === 1;
  const sym = g.pads.every(([b, e]) => b === e);
  if (sym) {
    return k.avgPool(x, kernel, {
      stride: g.stride,
      padding: g.pads.map(([b]) => b),
      countIncludePad: include,
    });
  }
  if (!include) throw c.error("asymmetric pads need count_include_pad = 1");
  return k.avgPool(k.pad(x, [[0, 0], [0, 0], ...g.pads]), kernel, { stride: g.stride });
}

/** `x` normalized per channel (axis 1) with the given statistics, scaled and shifted. */
function affine(
  x: k.Tensor,
  mean: k.Tensor,
  v: k.Tensor,
  scale: k.Tensor,
  bias: k.Tensor,
  eps: number,
) {
  const sh = (t: k.Tensor) => k.reshape(t, [1, -1, ...x.shape.slice(2).map(() => 1)]);
  const inv = k.mul(k.rsqrt(k.add(sh(v), eps)), sh(scale));
  return k.add(k.mul(k.sub(x, sh(mean)), inv), sh(bias));
}

function layerNorm(c: OpContext): k.Tensor {
  const x = c.t(0);
  const axis0 = c.int("axis", -1);
  const axis = axis0 < 0 ? axis0 + x.ndim : axis0;
  const axes = x.shape.slice(axis).map((_, i) => axis + i);
  const eps = c.float("epsilon", 1e-5);
  const mean = k.mean(x, { axis: axes, keepdims: true });
  const d = k.sub(x, mean);
  const v = k.mean(k.mul(d, d), { axis: axes, keepdims: true });
  let y = k.mul(d, k.rsqrt(k.add(v, eps)));
  y = k.mul(y, c.t(1));
  return c.opt(2) ? k.add(y, c.t(2)) : y;
}

/** The neural-network operator table. */
export const NN_OPS: Record<string, OpImpl> = {
  Gemm: (c) => {
    let a = c.t(0), b = c.t(1);
    if (c.int("transA", 0)) a = k.transpose(a, [1, 0]);
    if (c.int("transB", 0)) b = k.transpose(b, [1, 0]);
    let y = k.matmul(a, b);
    const alpha = c.float("alpha", 1), beta = c.float("beta", 1);
    if (alpha !== 1) y = k.mul(y, alpha);
    if (c.opt(2)) y = k.add(y, beta === 1 ? c.t(2) : k.mul(c.t(2), beta));
    return y;
  },
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: avgPool,
  GlobalAveragePool: (c) => {
    const x = c.t(0);
    return k.mean(x, { axis: x.shape.slice(2).map((_, i) => i + 2), keepdims: true });
  },
  GlobalMaxPool: (c) => {
    const x = c.t(0);
    return k.max(x, { axis: x.shape.slice(2).map((_, i) => i + 2), keepdims: true });
  },
  BatchNormalization: (c) => {
    if (c.int("training_mode", 0)) throw c.error("training_mode = 1 is not supported");
    return affine(c.t(0), c.t(3), c.t(4), c.t(1), c.t(2), c.float("epsilon", 1e-5));
  },
  LayerNormalization: layerNorm,
  Gelu: (c) => gelu(c.t(0), { approximate: c.str("approximate", "none") === "tanh" }),
  LeakyRelu: (c) => leakyRelu(c.t(0), c.float("alpha", 0.01)),
  Elu: (c) => elu(c.t(0), c.float("alpha", 1)),
  Softplus: (c) => softplus(c.t(0)),
  HardSigmoid: (c) =>
    k.clip(k.add(k.mul(c.t(0), c.float("alpha", 0.2)), c.float("beta", 0.5)), 0, 1),
};
