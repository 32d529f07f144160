/**
 * Convolution layers (`conv1d`, `conv2d`, `conv3d`, `convTranspose2d`) as pure `init`/`apply`
 * pairs over `k.conv` / `k.convTranspose`, with PyTorch's layouts (NCHW input, weight
 * `[O, C/groups, ...kernel]`, transposed weight `[C, O/groups, ...kernel]`) and default
 * initialization; pooling helpers and `flatten`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { FloatDType, Initializer } from "./initializers.ts";

/** A number for every spatial axis, or one number per spatial axis. */
export type Spatial = number | readonly number[];

/** `k.conv`'s padding: `"valid"`, `"same"`, a number, one per axis, or `[lo, hi]` per axis. */
export type Padding = "valid" | "same" | number | readonly (number | readonly [number, number])[];

/**
 * Parameters of a convolution layer: `w` (`[O, C/groups, ...kernel]`, or `[C, O/groups,
 * ...kernel]` for the transposed one) and `b [O]`, absent when the layer has no bias.
 */
export type ConvParams = {
  /** The kernel. */
  w: Tensor;
  /** The bias, `[outChannels]`; absent with `bias: false`. */
  b?: Tensor;
};

/** Options of the convolution layers' `init`. */
export interface ConvInitOptions {
  /** Channel groups (default 1); must divide both channel counts. */
  groups?: number;
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
  /** Weight initializer (default PyTorch's: `U(±1/√fanIn)`). */
  wInit?: Initializer;
  /** Bias initializer (default PyTorch's: `U(±1/√fanIn)`). */
  bInit?: Initializer;
}

/** Options of `conv1d/2d/3d.apply` (as `k.conv`). */
export interface ConvApplyOptions {
  /** Step between windows (default 1). */
  stride?: Spatial;
  /** Zero padding (default `"valid"`, i.e. 0). */
  padding?: Padding;
  /** Spacing between kernel taps (default 1). */
  dilation?: Spatial;
  /**
   * Channel groups (default 1, as `torch.nn.functional.conv2d`): pass the `groups` the layer
   * was initialized with. Not inferred from shapes: a wrong input would then silently become a
   * grouped convolution instead of a channel-mismatch error.
   */
  groups?: number;
}

/** Options of `convTranspose2d.apply` (as `k.convTranspose`). */
export interface ConvTransposeApplyOptions {
  /** Stride of the convolution this transposes (default 1). */
  stride?: Spatial;
  /** Padding of the convolution this transposes, cropped from the output (default 0). */
  padding?: Spatial;
  /** Extra size on the high side of each output axis (default 0). */
  outputPadding?: Spatial;
  /** Spacing between kernel taps (default 1). */
  dilation?: Spatial;
  /** Channel groups (default 1): pass the `groups` the layer was initialized with. */
  groups?: number;
}

/** A convolution layer: `init` and `apply`. */
export interface Conv {
  /**
   * Parameters of a layer from `inChannels` to `outChannels` with `kernelSize` (a number or one
   * per spatial axis). Default init is PyTorch's (`kaiming_uniform_(a=√5)`): `w` and `b` from
   * `U(±1/√fanIn)`, `fanIn = inChannels/groups · prod(kernelSize)`.
   */
  init(
    key: Tensor,
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts?: ConvInitOptions,
  ): ConvParams;
  /** `k.conv(x, w, opts) + b` for `x [N, C, ...spatial]` (or unbatched `[C, ...spatial]`). */
  apply(params: ConvParams, x: Tensor, opts?: ConvApplyOptions): Tensor;
}

/** A transposed convolution layer: `init` and `apply`. */
export interface ConvTranspose {
  /**
   * Parameters `w [inChannels, outChannels/groups, ...kernel]`, `b [outChannels]`; default init
   * PyTorch's: `U(±1/√fanIn)` with torch's `fanIn = outChannels/groups · prod(kernelSize)`.
   */
  init(
    key: Tensor,
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts?: ConvInitOptions,
  ): ConvParams;
  /** `k.convTranspose(x, w, opts) + b`. */
  apply(params: ConvParams, x: Tensor, opts?: ConvTransposeApplyOptions): Tensor;
}

const E = k.errors;
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** A number or `dims` integers, each `>= min` (kernel sizes, strides, …). @internal */
export function checkSpatial(
  op: string,
  v: unknown,
  what: string,
  dims: number,
  min: number,
): number[] {
  if (typeof v === "number") return new Array(dims).fill(E.checkInt(op, v, what, min));
  const a = E.checkInts(op, v, what, min);
  if (a.length !== dims) {
    throw E.rangeError(op, `${what} must be a number or ${dims} numbers, got ${fmt(a)}`);
  }
  return a;
}

/** `k.conv`'s padding: `"valid"`, `"same"`, a number, or per axis a number or `[lo, hi]`. @internal */
export function checkPadding(op: string, v: unknown, dims: number): void {
  if (typeof v === "string") {
    E.checkOneOf(op, v, ["valid", "same"], "padding");
    return;
  }
  if (typeof v === "number") {
    E.checkInt(op, v, "padding", 0);
    return;
  }
  if (!Array.isArray(v) || v.length !== dims) {
    throw E.typeError(
      op,
      `padding must be "valid", "same", a number, or ${dims} numbers or [lo, hi] pairs, got ${
        E.describe(v)
      }`,
    );
  }
  for (const p of v) {
    if (Array.isArray(p)) {
      if (p.length !== 2) {
        throw E.rangeError(op, `padding pairs must be [lo, hi], got ${E.describe(p)}`);
      }
      E.checkInts(op, p, "padding", 0);
    } else E.checkInt(op, p, "padding", 0);
  }
}

const INIT_KEYS = ["groups", "bias", "dtype", "wInit", "bInit"] as const;

function checkInitOptions(op: string, opts: ConvInitOptions | undefined): ConvInitOptions {
  const o = E.checkOptions(op, opts, INIT_KEYS);
  if (o.groups !== undefined) E.checkInt(op, o.groups, "groups", 1);
  if (o.bias !== undefined) E.checkBool(op, o.bias, "bias");
  if (o.dtype !== undefined) E.checkOneOf(op, o.dtype, ["float16", "float32", "float64"], "dtype");
  if (o.wInit !== undefined) E.checkFunction(op, o.wInit, "wInit");
  if (o.bInit !== undefined) E.checkFunction(op, o.bInit, "bInit");
  return o;
}

/** Validates apply options of a `dims`-d (transposed) convolution. @internal */
export function checkApplyOptions<T extends ConvApplyOptions | ConvTransposeApplyOptions>(
  op: string,
  opts: T | undefined,
  dims: number,
  transposed: boolean,
): T {
  const keys = transposed
    ? ["stride", "padding", "outputPadding", "dilation", "groups"]
    : ["stride", "padding", "dilation", "groups"];
  const o = E.checkOptions(op, opts, keys) as Record<string, unknown>;
  if (o.stride !== undefined) checkSpatial(op, o.stride, "stride", dims, 1);
  if (o.dilation !== undefined) checkSpatial(op, o.dilation, "dilation", dims, 1);
  if (o.groups !== undefined) E.checkInt(op, o.groups, "groups", 1);
  if (o.outputPadding !== undefined) checkSpatial(op, o.outputPadding, "outputPadding", dims, 0);
  if (o.padding !== undefined) {
    if (transposed) checkSpatial(op, o.padding, "padding", dims, 0);
    else checkPadding(op, o.padding, dims);
  }
  return o as T;
}

/** PyTorch's conv default (`kaiming_uniform_(a=√5)` and its bias rule): `U(±1/√fanIn)`. */
function torchUniform(fanIn: number): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return (key, shape, dtype = "float32") =>
    k.random.uniform(key, shape, { minval: -bound, maxval: bound, dtype });
}

function makeInit(name: string, dims: number, transposed: boolean) {
  const op = `nn.${name}.init`;
  return E.publicOp(op, (
    key: Tensor,
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts?: ConvInitOptions,
  ): ConvParams => {
    const cin = E.checkInt(op, inChannels, "inChannels", 1);
    const cout = E.checkInt(op, outChannels, "outChannels", 1);
    const ks = checkSpatial(op, kernelSize, "kernelSize", dims, 1);
    const o = checkInitOptions(op, opts);
    const g = o.groups ?? 1;
    if (cin % g !== 0 || cout % g !== 0) {
      throw E.shapeError(op, `groups ${g} must divide inChannels ${cin} and outChannels ${cout}`);
    }
    const shape = transposed ? [cin, cout / g, ...ks] : [cout, cin / g, ...ks];
    const fanIn = shape[1] * ks.reduce((a, d) => a * d, 1);
    const dtype = o.dtype ?? "float32";
    const [kw, kb] = k.random.split(key);
    const w = (o.wInit ?? torchUniform(fanIn))(kw, shape, dtype);
    if (o.bias === false) return { w };
    return { w, b: (o.bInit ?? torchUniform(fanIn))(kb, [cout], dtype) };
  });
}

function checkParams(op: string, params: unknown, dims: number): [Tensor, Tensor | undefined] {
  if (!E.isPlainObject(params)) {
    throw E.typeError(op, `params must be {w, b} (from init), got ${E.describe(params)}`);
  }
  const { w, b } = params as ConvParams;
  const kernel = E.checkTensorArg<Tensor>(op, w, "params.w");
  if (kernel.ndim !== dims + 2) {
    throw E.shapeError(op, `params.w must be a rank-${dims + 2} kernel, got ${fmt(kernel.shape)}`);
  }
  if (b !== undefined && E.checkTensorArg<Tensor>(op, b, "params.b").ndim !== 1) {
    throw E.shapeError(op, `params.b must be a vector [outChannels], got ${fmt(b.shape)}`);
  }
  return [kernel, b];
}

function checkInput(op: string, x: unknown, dims: number): Tensor {
  const t = E.checkTensorArg<Tensor>(op, x, "x");
  if (t.ndim !== dims + 2 && t.ndim !== dims + 1) {
    throw E.shapeError(
      op,
      `x must be [N, C, ${dims}-d spatial] or unbatched [C, ${dims}-d spatial], got ${
        fmt(t.shape)
      }`,
    );
  }
  return t;
}

/** Adds `b [O]` along the channel axis of `y` (axis 1, or 0 when unbatched). */
function addBias(y: Tensor, b: Tensor | undefined, dims: number): Tensor {
  if (b === undefined) return y;
  return k.add(y, k.reshape(b, [b.shape[0], ...new Array(dims).fill(1)]));
}

function makeApply(name: string, dims: number) {
  const op = `nn.${name}.apply`;
  return E.publicOp(op, (params: ConvParams, x: Tensor, opts?: ConvApplyOptions): Tensor => {
    const [w, b] = checkParams(op, params, dims);
    const t = checkInput(op, x, dims);
    const o = checkApplyOptions(op, opts, dims, false);
    return addBias(k.conv(t, w, { ...o, groups: o.groups ?? 1 }), b, dims);
  });
}

/**
 * 1-D convolution layer (torch's `nn.Conv1d`): `x [N, C, L]`, `w [O, C/groups, k]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.conv1d.init(k.random.key(0), 4, 8, 3);
 * const y = k.nn.conv1d.apply(p, k.zeros([2, 4, 20]), { padding: 1 }); // [2, 8, 20]
 * ```
 */
export const conv1d: Conv = { init: makeInit("conv1d", 1, false), apply: makeApply("conv1d", 1) };

/**
 * 2-D convolution layer (torch's `nn.Conv2d`): `x [N, C, H, W]`, `w [O, C/groups, kh, kw]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.conv2d.init(k.random.key(0), 1, 32, 3);
 * const y = k.nn.conv2d.apply(p, k.zeros([8, 1, 28, 28]), { padding: 1 }); // [8, 32, 28, 28]
 * ```
 */
export const conv2d: Conv = { init: makeInit("conv2d", 2, false), apply: makeApply("conv2d", 2) };

/**
 * 3-D convolution layer (torch's `nn.Conv3d`): `x [N, C, D, H, W]`, `w [O, C/groups, kd, kh, kw]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.conv3d.init(k.random.key(0), 2, 4, [3, 3, 3]);
 * const y = k.nn.conv3d.apply(p, k.zeros([1, 2, 8, 8, 8]), { stride: 2 }); // [1, 4, 3, 3, 3]
 * ```
 */
export const conv3d: Conv = { init: makeInit("conv3d", 3, false), apply: makeApply("conv3d", 3) };

const convTranspose2dApply = E.publicOp(
  "nn.convTranspose2d.apply",
  (params: ConvParams, x: Tensor, opts?: ConvTransposeApplyOptions): Tensor => {
    const op = "nn.convTranspose2d.apply";
    const [w, b] = checkParams(op, params, 2);
    const t = checkInput(op, x, 2);
    const o = checkApplyOptions(op, opts, 2, true);
    const groups = o.groups ?? 1;
    if (b && b.shape[0] !== w.shape[1] * groups) {
      throw E.shapeError(
        op,
        `bias ${fmt(b.shape)} does not match w ${fmt(w.shape)} with groups ${groups} ` +
          `(expected ${w.shape[1] * groups} output channels)`,
      );
    }
    return addBias(k.convTranspose(t, w, { ...o, groups }), b, 2);
  },
);

/**
 * 2-D transposed convolution layer (torch's `nn.ConvTranspose2d`): `w [C, O/groups, kh, kw]`;
 * output size `(H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.convTranspose2d.init(k.random.key(0), 16, 8, 4);
 * const y = k.nn.convTranspose2d.apply(p, k.zeros([2, 16, 7, 7]), { stride: 2, padding: 1 }); // [2, 8, 14, 14]
 * ```
 */
export const convTranspose2d: ConvTranspose = {
  init: makeInit("convTranspose2d", 2, true),
  apply: convTranspose2dApply,
};

function checkImages(op: string, x: unknown): Tensor {
  const t = E.checkTensorArg<Tensor>(op, x, "x");
  if (t.ndim !== 3 && t.ndim !== 4) {
    throw E.shapeError(op, `x must be [N, C, H, W] or [C, H, W], got ${fmt(t.shape)}`);
  }
  return t;
}

/** Validates a 2-d pooling window and its options. @internal */
export function checkPool2d(
  op: string,
  kernelSize: unknown,
  opts: MaxPool2dOptions | AvgPool2dOptions | undefined,
  max: boolean,
): Record<string, unknown> {
  checkSpatial(op, kernelSize, "kernelSize", 2, 1);
  const keys = max ? ["stride", "padding", "dilation"] : ["stride", "padding", "countIncludePad"];
  const o = E.checkOptions(op, opts as Record<string, unknown> | undefined, keys);
  if (o.stride !== undefined) checkSpatial(op, o.stride, "stride", 2, 1);
  if (o.padding !== undefined) checkSpatial(op, o.padding, "padding", 2, 0);
  if (o.dilation !== undefined) checkSpatial(op, o.dilation, "dilation", 2, 1);
  if (o.countIncludePad !== undefined) E.checkBool(op, o.countIncludePad, "countIncludePad");
  return o;
}

/** Options of `maxPool2d` (as `k.maxPool`). */
export interface MaxPool2dOptions {
  /** Step between windows (default: the window, as torch). */
  stride?: Spatial;
  /** Implicit `-inf` padding on each side (default 0). */
  padding?: Spatial;
  /** Spacing between window taps (default 1). */
  dilation?: Spatial;
}

/** Options of `avgPool2d` (as `k.avgPool`). */
export interface AvgPool2dOptions {
  /** Step between windows (default: the window, as torch). */
  stride?: Spatial;
  /** Implicit zero padding on each side (default 0). */
  padding?: Spatial;
  /** Whether padded zeros count in the average (default true, as torch). */
  countIncludePad?: boolean;
}

/**
 * 2-D max pooling (torch's `nn.MaxPool2d`) of `x [N, C, H, W]` or `[C, H, W]`: `k.maxPool`
 * with a check that the input is an image batch.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const y = k.nn.maxPool2d(k.zeros([8, 32, 28, 28]), 2); // [8, 32, 14, 14]
 * ```
 */
export const maxPool2d: (x: Tensor, kernelSize: Spatial, opts?: MaxPool2dOptions) => Tensor = E
  .publicOp("nn.maxPool2d", (x: Tensor, kernelSize: Spatial, opts?: MaxPool2dOptions): Tensor => {
    const t = checkImages("nn.maxPool2d", x);
    return k.maxPool(t, kernelSize, checkPool2d("nn.maxPool2d", kernelSize, opts, true));
  });

/**
 * 2-D average pooling (torch's `nn.AvgPool2d`) of `x [N, C, H, W]` or `[C, H, W]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const y = k.nn.avgPool2d(k.zeros([8, 32, 28, 28]), 2); // [8, 32, 14, 14]
 * ```
 */
export const avgPool2d: (x: Tensor, kernelSize: Spatial, opts?: AvgPool2dOptions) => Tensor = E
  .publicOp("nn.avgPool2d", (x: Tensor, kernelSize: Spatial, opts?: AvgPool2dOptions): Tensor => {
    const t = checkImages("nn.avgPool2d", x);
    return k.avgPool(t, kernelSize, checkPool2d("nn.avgPool2d", kernelSize, opts, false));
  });

/** Options of `flatten`. */
export interface FlattenOptions {
  /** First axis merged (default 1: keep the batch axis, as torch's `nn.Flatten`). */
  startAxis?: number;
  /** Last axis merged (default -1). */
  endAxis?: number;
}

/**
 * Merges axes `startAxis..endAxis` into one (torch's `nn.Flatten`: by default every axis
 * but the first, `[N, C, H, W] → [N, C·H·W]`).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const y = k.nn.flatten(k.zeros([8, 64, 7, 7])); // [8, 3136]
 * ```
 */
export const flatten: (x: Tensor, opts?: FlattenOptions) => Tensor = E.publicOp(
  "nn.flatten",
  (x: Tensor, opts?: FlattenOptions): Tensor => {
    const op = "nn.flatten";
    const t = E.checkTensorArg<Tensor>(op, x, "x");
    const o = checkFlattenOptions(op, opts);
    if (t.ndim === 0) return k.reshape(t, [1]);
    const s = E.checkAxis(op, o.startAxis ?? 1, t.ndim, "startAxis");
    const e = E.checkAxis(op, o.endAxis ?? -1, t.ndim, "endAxis");
    if (s > e) throw E.rangeError(op, `startAxis ${s} is after endAxis ${e} for x ${fmt(t.shape)}`);
    const merged = t.shape.slice(s, e + 1).reduce((a, d) => a * d, 1);
    return k.reshape(t, [...t.shape.slice(0, s), merged, ...t.shape.slice(e + 1)]);
  },
);

/** Validates `flatten`'s options. @internal */
export function checkFlattenOptions(op: string, opts: FlattenOptions | undefined): FlattenOptions {
  const o = E.checkOptions(op, opts, ["startAxis", "endAxis"]);
  if (o.startAxis !== undefined) E.checkInt(op, o.startAxis, "startAxis");
  if (o.endAxis !== undefined) E.checkInt(op, o.endAxis, "endAxis");
  return o;
}
