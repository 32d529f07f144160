/**
 * Normalization layers with PyTorch's semantics and defaults: `layerNorm`, `groupNorm`,
 * `instanceNorm` (and the helpers `batch_norm.ts` shares). Each is a pair of pure functions
 * over plain pytrees; nothing reads values back to the host, so every layer runs under
 * `k.jit`, `k.grad` and `k.vmap`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { FloatDType } from "./initializers.ts";

/**
 * Affine parameters of a normalization layer: `weight` (scale, ones at init) and `bias` (shift,
 * zeros at init), PyTorch's names; an empty object when the layer is not affine.
 */
export type NormParams = {
  /** Per-feature scale, ones at init. */
  weight?: Tensor;
  /** Per-feature shift, zeros at init. */
  bias?: Tensor;
};

/** Options shared by the `init` functions of the normalization layers. */
export interface NormInitOptions {
  /** Parameter (and running statistic) dtype (default float32). */
  dtype?: FloatDType;
  /** Device of the created tensors (default: the default device). */
  device?: string;
}

const E = k.errors;
const FLOAT_DTYPES = ["float16", "float32", "float64"] as const;

/** `[2,3,4]`, for messages. @internal */
export const fmt = (s: readonly number[]): string => `[${s.join(",")}]`;

/** `[a, a+1, …, b-1]`. @internal */
export const range = (a: number, b: number): number[] =>
  Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/** A positive integer count (features, channels, groups). @internal */
export function checkCount(op: string, n: unknown, what: string): number {
  return E.checkInt(op, n, what, 1);
}

/** A float tensor of rank at least `minRank`. @internal */
export function checkX(op: string, x: unknown, minRank: number, layout: string): Tensor {
  const t = E.checkTensorArg<Tensor>(op, x, "x");
  if (t.ndim < minRank) {
    throw E.shapeError(op, `x must be ${layout} (rank >= ${minRank}), got ${fmt(t.shape)}`);
  }
  if (!(FLOAT_DTYPES as readonly string[]).includes(t.dtype)) {
    throw E.shapeError(op, `x must be a float tensor, got ${t.dtype} ${fmt(t.shape)}`);
  }
  return t;
}

/** A non-negative finite eps (default 1e-5). @internal */
export function checkEps(op: string, eps: unknown): number {
  if (eps === undefined) return 1e-5;
  const e = E.checkNumber(op, eps, "eps");
  if (e < 0) throw E.rangeError(op, `eps must be >= 0, got ${e}`);
  return e;
}

/** Validates the init options every normalization layer shares, plus `flag` (affine). @internal */
export function checkInitOptions<T extends NormInitOptions>(
  op: string,
  opts: T | undefined,
  flag: string,
): T {
  const o = E.checkOptions(op, opts, ["dtype", "device", flag]);
  if (o.dtype !== undefined) E.checkOneOf(op, o.dtype, FLOAT_DTYPES, "dtype");
  // Creating a (lazy, never computed) scalar checks that the device exists.
  if (o.device !== undefined) k.zeros([], { device: E.checkString(op, o.device, "device") });
  const f = (o as Record<string, unknown>)[flag];
  if (f !== undefined) E.checkBool(op, f, flag);
  return o;
}

/** `{weight: ones, bias: zeros}` of `shape`, or `{}`. @internal */
export function affineInit(affine: boolean, shape: number[], opts: NormInitOptions): NormParams {
  if (!affine) return {};
  const o = { dtype: opts.dtype ?? "float32", device: opts.device };
  return { weight: k.ones(shape, o), bias: k.zeros(shape, o) };
}

/** Checks `params` (`{}` or `{weight, bias}` of `want` elements); whether it is affine. @internal */
export function checkParams(
  op: string,
  params: unknown,
  want: number,
): params is Required<NormParams> {
  if (!E.isPlainObject(params)) {
    throw E.typeError(
      op,
      `params must be an object {weight, bias} or {}, got ${E.describe(params)}`,
    );
  }
  const { weight, bias } = params as NormParams;
  if (weight === undefined && bias === undefined) return false;
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    E.checkTensorArg(op, t, `params.${name}`);
    if (t!.size !== want) {
      throw E.shapeError(
        op,
        `params.${name} must have ${want} elements for x, got ${fmt(t!.shape)}`,
      );
    }
  }
  return true;
}

/** `x·weight + bias` with the per-feature vectors viewed as `shape`; `{}` params: `x`. @internal */
export function affine(op: string, params: NormParams, x: Tensor, shape: number[]): Tensor {
  if (!checkParams(op, params, shape.reduce((a, d) => a * d, 1))) return x;
  return k.add(k.mul(x, k.reshape(params.weight, shape)), k.reshape(params.bias, shape));
}

/** `(x − mean)/√(var + eps)` over `axes` (biased variance). */
function standardize(x: Tensor, axes: number[], eps: number): Tensor {
  const mean = k.mean(x, { axis: axes, keepdims: true });
  const centered = k.sub(x, mean);
  const v = k.mean(k.mul(centered, centered), { axis: axes, keepdims: true });
  return k.mul(centered, k.rsqrt(k.add(v, eps)));
}

/** Options of `layerNorm.init`. */
export interface LayerNormInitOptions extends NormInitOptions {
  /** Learnable `weight` and `bias` of shape `normalizedShape` (default true, as torch). */
  elementwiseAffine?: boolean;
}

/** Options of `layerNorm.apply`. */
export interface LayerNormApplyOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** The trailing shape normalized over; required when params are `{}` (no affine). */
  normalizedShape?: number | readonly number[];
}

/** The `layerNorm` layer: `init` and `apply`. */
export interface LayerNorm {
  /** `{weight: ones, bias: zeros}` of shape `normalizedShape` (`{}` without affine). */
  init(normalizedShape: number | readonly number[], opts?: LayerNormInitOptions): NormParams;
  /** Standardizes `x` over its trailing `normalizedShape` axes, then applies the affine map. */
  apply(params: NormParams, x: Tensor, opts?: LayerNormApplyOptions): Tensor;
}

function shapeArg(op: string, s: unknown): number[] {
  if (typeof s === "number") return [E.checkInt(op, s, "normalizedShape", 1)];
  const a = E.checkInts(op, s, "normalizedShape", 1);
  if (a.length === 0) throw E.rangeError(op, "normalizedShape must not be empty");
  return a;
}

const layerNormInit = E.publicOp(
  "nn.layerNorm.init",
  (normalizedShape: number | readonly number[], opts?: LayerNormInitOptions): NormParams => {
    const op = "nn.layerNorm.init";
    const shape = shapeArg(op, normalizedShape);
    const o = checkInitOptions(op, opts, "elementwiseAffine");
    return affineInit(o.elementwiseAffine ?? true, shape, o);
  },
);

const layerNormApply = E.publicOp(
  "nn.layerNorm.apply",
  (params: NormParams, x: Tensor, opts?: LayerNormApplyOptions): Tensor => {
    const op = "nn.layerNorm.apply";
    const o = E.checkOptions(op, opts, ["eps", "normalizedShape"]);
    const t = checkX(op, x, 1, "[..., ...normalizedShape]");
    const w = E.isPlainObject(params) ? (params as NormParams).weight : undefined;
    const shape = o.normalizedShape !== undefined
      ? shapeArg(op, o.normalizedShape)
      : E.isTensorValue(w)
      ? [...(w as Tensor).shape]
      : null;
    if (shape === null) throw E.typeError(op, "without affine params, pass opts.normalizedShape");
    const tail = t.shape.slice(t.ndim - shape.length);
    if (shape.length > t.ndim || tail.some((d, i) => d !== shape[i])) {
      throw E.shapeError(op, `x ${fmt(t.shape)} does not end with normalizedShape ${fmt(shape)}`);
    }
    checkParams(op, params, shape.reduce((a, d) => a * d, 1));
    const xhat = standardize(t, range(t.ndim - shape.length, t.ndim), checkEps(op, o.eps));
    return affine(op, params, xhat, shape);
  },
);

/**
 * Layer normalization (torch's `LayerNorm`): standardizes over the trailing `normalizedShape`
 * axes (biased variance, eps 1e-5) and applies an elementwise affine map of that shape.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.layerNorm.init(64);
 * const y = k.nn.layerNorm.apply(p, k.random.normal(k.random.key(0), [8, 10, 64]));
 * ```
 */
export const layerNorm: LayerNorm = { init: layerNormInit, apply: layerNormApply };

/** Options of `groupNorm.init` and `instanceNorm.init`. */
export interface AffineNormInitOptions extends NormInitOptions {
  /** Learnable per-channel `weight` and `bias` (default: true for groupNorm, false for instanceNorm, as torch). */
  affine?: boolean;
}

/** Options of `groupNorm.apply`. */
export interface GroupNormApplyOptions {
  /** Number of channel groups; must divide `C`. Required (the params do not record it). */
  numGroups: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** The `groupNorm` layer: `init` and `apply`. */
export interface GroupNorm {
  /** `{weight: ones [C], bias: zeros [C]}` (`{}` with `affine: false`). */
  init(numGroups: number, numChannels: number, opts?: AffineNormInitOptions): NormParams;
  /** Standardizes each group of `C/numGroups` channels of `x [N, C, ...]` per example. */
  apply(params: NormParams, x: Tensor, opts: GroupNormApplyOptions): Tensor;
}

const groupNormInit = E.publicOp(
  "nn.groupNorm.init",
  (numGroups: number, numChannels: number, opts?: AffineNormInitOptions): NormParams => {
    const op = "nn.groupNorm.init";
    const g = checkCount(op, numGroups, "numGroups");
    const c = checkCount(op, numChannels, "numChannels");
    const o = checkInitOptions(op, opts, "affine");
    if (c % g !== 0) throw E.shapeError(op, `numGroups ${g} does not divide numChannels ${c}`);
    return affineInit(o.affine ?? true, [c], o);
  },
);

const groupNormApply = E.publicOp(
  "nn.groupNorm.apply",
  (params: NormParams, x: Tensor, opts: GroupNormApplyOptions): Tensor => {
    const op = "nn.groupNorm.apply";
    const t = checkX(op, x, 2, "[N, C, ...]");
    const o = E.checkOptions(op, opts, ["numGroups", "eps"]);
    const g = checkCount(op, o.numGroups, "opts.numGroups");
    const [n, c, ...rest] = t.shape;
    if (c % g !== 0) {
      throw E.shapeError(
        op,
        `numGroups ${g} does not divide the ${c} channels of x ${fmt(t.shape)}`,
      );
    }
    const view = [c, ...rest.map(() => 1)];
    checkParams(op, params, c);
    const grouped = k.reshape(t, [n, g, c / g, ...rest]);
    const xhat = standardize(grouped, range(2, grouped.ndim), checkEps(op, o.eps));
    return affine(op, params, k.reshape(xhat, t.shape), view);
  },
);

/**
 * Group normalization (torch's `GroupNorm`): the channels of `x [N, C, ...]` are split into
 * `numGroups` groups, each standardized over its channels and spatial positions per example,
 * then a per-channel affine map.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.groupNorm.init(4, 32);
 * const y = k.nn.groupNorm.apply(p, k.ones([2, 32, 8, 8]), { numGroups: 4 });
 * ```
 */
export const groupNorm: GroupNorm = { init: groupNormInit, apply: groupNormApply };

/** Options of `instanceNorm.apply`. */
export interface InstanceNormApplyOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** The `instanceNorm` layer: `init` and `apply`. */
export interface InstanceNorm {
  /** `{}` by default (torch's `affine=False`); `{weight, bias}` of `[C]` with `affine: true`. */
  init(numFeatures: number, opts?: AffineNormInitOptions): NormParams;
  /** Standardizes each channel of each example of `x [N, C, ...spatial]` over its spatial axes. */
  apply(params: NormParams, x: Tensor, opts?: InstanceNormApplyOptions): Tensor;
}

const instanceNormInit = E.publicOp(
  "nn.instanceNorm.init",
  (numFeatures: number, opts?: AffineNormInitOptions): NormParams => {
    const op = "nn.instanceNorm.init";
    const c = checkCount(op, numFeatures, "numFeatures");
    const o = checkInitOptions(op, opts, "affine");
    return affineInit(o.affine ?? false, [c], o);
  },
);

const instanceNormApply = E.publicOp(
  "nn.instanceNorm.apply",
  (params: NormParams, x: Tensor, opts?: InstanceNormApplyOptions): Tensor => {
    const op = "nn.instanceNorm.apply";
    const t = checkX(op, x, 3, "[N, C, ...spatial]");
    const o = E.checkOptions(op, opts, ["eps"]);
    checkParams(op, params, t.shape[1]);
    const xhat = standardize(t, range(2, t.ndim), checkEps(op, o.eps));
    return affine(op, params, xhat, [t.shape[1], ...range(2, t.ndim).map(() => 1)]);
  },
);

/**
 * Instance normalization (torch's `InstanceNorm1d/2d/3d` without running statistics): each
 * channel of each example is standardized over its spatial axes; affine is off by default.
 * Input must be batched, `[N, C, ...spatial]` with at least one spatial axis.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.instanceNorm.init(3, { affine: true });
 * const y = k.nn.instanceNorm.apply(p, k.random.normal(k.random.key(0), [2, 3, 16, 16]));
 * ```
 */
export const instanceNorm: InstanceNorm = { init: instanceNormInit, apply: instanceNormApply };
