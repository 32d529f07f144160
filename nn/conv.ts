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

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** A shape/dtype mismatch (`KilnError`); `msg` starts with `op: `. */
const mismatch = (msg: string) => new k.KilnError(msg.slice(0, msg.indexOf(":")), msg);

function positive(op: string, n: unknown, what: string): number {
  if (!Number.isInteger(n) || (n as number) <= 0) {
    const Cls = typeof n === "number" ? RangeError : TypeError;
    throw new Cls(`${op}: ${what} must be a positive integer, got ${String(n)}`);
  }
  return n as number;
}

function kernelShape(op: string, kernelSize: unknown, dims: number): number[] {
  const ks = typeof kernelSize === "number" ? new Array(dims).fill(kernelSize) : kernelSize;
  if (!Array.isArray(ks) || ks.length !== dims) {
    throw new TypeError(
      `${op}: kernelSize must be a number or ${dims} numbers, got ${JSON.stringify(kernelSize)}`,
    );
  }
  return ks.map((d, i) => positive(op, d, `kernelSize[${i}]`));
}

/** PyTorch's conv default (`kaiming_uniform_(a=√5)` and its bias rule): `U(±1/√fanIn)`. */
function torchUniform(fanIn: number): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return (key, shape, dtype = "float32") =>
    k.random.uniform(key, shape, { minval: -bound, maxval: bound, dtype });
}

function makeInit(name: string, dims: number, transposed: boolean) {
  const op = `${name}.init`;
  return (
    key: Tensor,
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts: ConvInitOptions = {},
  ): ConvParams => {
    const cin = positive(op, inChannels, "inChannels");
    const cout = positive(op, outChannels, "outChannels");
    const g = positive(op, opts.groups ?? 1, "groups");
    if (cin % g !== 0 || cout % g !== 0) {
      throw mismatch(
        `${op}: groups ${g} must divide inChannels ${cin} and outChannels ${cout}`,
      );
    }
    const ks = kernelShape(op, kernelSize, dims);
    const shape = transposed ? [cin, cout / g, ...ks] : [cout, cin / g, ...ks];
    const fanIn = shape[1] * ks.reduce((a, d) => a * d, 1);
    const dtype = opts.dtype ?? "float32";
    const [kw, kb] = k.random.split(key);
    const w = (opts.wInit ?? torchUniform(fanIn))(kw, shape, dtype);
    if (opts.bias === false) return { w };
    return { w, b: (opts.bInit ?? torchUniform(fanIn))(kb, [cout], dtype) };
  };
}

function checkParams(op: string, params: ConvParams, dims: number): [Tensor, Tensor | undefined] {
  const { w, b } = params ?? {};
  if (!(w instanceof k.Tensor) || w.ndim !== dims + 2) {
    const got = w instanceof k.Tensor ? fmt(w.shape) : typeof w;
    throw new TypeError(`${op}: params.w must be a rank-${dims + 2} kernel, got ${got}`);
  }
  if (b !== undefined && (!(b instanceof k.Tensor) || b.ndim !== 1)) {
    const got = b instanceof k.Tensor ? fmt(b.shape) : typeof b;
    throw new TypeError(`${op}: params.b must be a vector [outChannels] or absent, got ${got}`);
  }
  return [w, b];
}

function checkInput(op: string, x: unknown, dims: number): Tensor {
  if (!(x instanceof k.Tensor)) throw new TypeError(`${op}: x must be a Tensor, got ${typeof x}`);
  if (x.ndim !== dims + 2 && x.ndim !== dims + 1) {
    throw mismatch(
      `${op}: x must be [N, C, ${dims}-d spatial] or unbatched [C, ${dims}-d spatial], got ${
        fmt(x.shape)
      }`,
    );
  }
  return x;
}

/** Adds `b [O]` along the channel axis of `y` (axis 1, or 0 when unbatched). */
function addBias(y: Tensor, b: Tensor | undefined, dims: number): Tensor {
  if (b === undefined) return y;
  return k.add(y, k.reshape(b, [b.shape[0], ...new Array(dims).fill(1)]));
}

function makeApply(name: string, dims: number) {
  const op = `${name}.apply`;
  return (params: ConvParams, x: Tensor, opts: ConvApplyOptions = {}): Tensor => {
    const [w, b] = checkParams(op, params, dims);
    checkInput(op, x, dims);
    const y = k.conv(x, w, { ...opts, groups: opts.groups ?? 1 });
    return addBias(y, b, dims);
  };
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

function convTranspose2dApply(
  params: ConvParams,
  x: Tensor,
  opts: ConvTransposeApplyOptions = {},
): Tensor {
  const op = "convTranspose2d.apply";
  const [w, b] = checkParams(op, params, 2);
  checkInput(op, x, 2);
  const groups = opts.groups ?? 1;
  if (b && b.shape[0] !== w.shape[1] * groups) {
    throw mismatch(
      `${op}: bias ${fmt(b.shape)} does not match w ${fmt(w.shape)} with groups ${groups} ` +
        `(expected ${w.shape[1] * groups} output channels)`,
    );
  }
  return addBias(k.convTranspose(x, w, { ...opts, groups }), b, 2);
}

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
  if (!(x instanceof k.Tensor) || (x.ndim !== 3 && x.ndim !== 4)) {
    const got = x instanceof k.Tensor ? fmt(x.shape) : typeof x;
    throw mismatch(`${op}: x must be [N, C, H, W] or [C, H, W], got ${got}`);
  }
  return x;
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
export function maxPool2d(x: Tensor, kernelSize: Spatial, opts: MaxPool2dOptions = {}): Tensor {
  return k.maxPool(checkImages("maxPool2d", x), kernelSize, opts);
}

/**
 * 2-D average pooling (torch's `nn.AvgPool2d`) of `x [N, C, H, W]` or `[C, H, W]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const y = k.nn.avgPool2d(k.zeros([8, 32, 28, 28]), 2); // [8, 32, 14, 14]
 * ```
 */
export function avgPool2d(x: Tensor, kernelSize: Spatial, opts: AvgPool2dOptions = {}): Tensor {
  return k.avgPool(checkImages("avgPool2d", x), kernelSize, opts);
}

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
export function flatten(x: Tensor, opts: FlattenOptions = {}): Tensor {
  const op = "flatten";
  if (!(x instanceof k.Tensor)) throw new TypeError(`${op}: x must be a Tensor, got ${typeof x}`);
  const r = Math.max(x.ndim, 1);
  const norm = (a: unknown, what: string) => {
    if (!Number.isInteger(a) || (a as number) < -r || (a as number) >= r) {
      throw new RangeError(`${op}: ${what} ${String(a)} is out of range for x ${fmt(x.shape)}`);
    }
    return (a as number) < 0 ? (a as number) + r : (a as number);
  };
  const s = norm(opts.startAxis ?? 1, "startAxis"), e = norm(opts.endAxis ?? -1, "endAxis");
  if (x.ndim === 0) return k.reshape(x, [1]);
  if (s > e) {
    throw new RangeError(`${op}: startAxis ${s} is after endAxis ${e} for x ${fmt(x.shape)}`);
  }
  const merged = x.shape.slice(s, e + 1).reduce((a, d) => a * d, 1);
  return k.reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}
