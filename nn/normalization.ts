/**
 * Normalization layers with PyTorch's semantics and defaults: `batchNorm` (running statistics
 * as explicit state), `layerNorm`, `groupNorm`, `instanceNorm`. Each is a pair of pure
 * functions over plain pytrees; nothing reads values back to the host, so every layer runs
 * under `k.jit`, `k.grad` and `k.vmap`.
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

/** Running statistics of `batchNorm` (PyTorch's buffers, same names). */
export type BatchNormState = {
  /** Exponential moving average of the batch means, `[C]`, zeros at init. */
  runningMean: Tensor;
  /** Moving average of the unbiased batch variances, `[C]`, ones at init. */
  runningVar: Tensor;
  /** Training steps taken so far, an int32 scalar. */
  numBatchesTracked: Tensor;
};

/** Options of `batchNorm.init`. */
export interface BatchNormInitOptions extends NormInitOptions {
  /** Learnable `weight` and `bias` (default true, as torch). */
  affine?: boolean;
}

/** Options of `batchNorm.apply`. */
export interface BatchNormApplyOptions {
  /**
   * Training mode: normalize by the batch statistics and update the running ones. Evaluation
   * mode (`false`): normalize by the running statistics, state unchanged. Required, because
   * the wrong mode fails silently.
   */
  training: boolean;
  /**
   * Weight of the new batch statistic in the running average (default 0.1, as torch);
   * `null` gives the cumulative average over all batches so far (torch's `momentum=None`).
   */
  momentum?: number | null;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/** The `batchNorm` layer: `init` and `apply`. */
export interface BatchNorm {
  /** `{params: {weight: ones [C], bias: zeros [C]}, state}` (params `{}` when not affine). */
  init(
    numFeatures: number,
    opts?: BatchNormInitOptions,
  ): { params: NormParams; state: BatchNormState };
  /** Normalizes `x [N, C, ...]` per channel `C`; returns `[y, newState]`. */
  apply(
    params: NormParams,
    state: BatchNormState,
    x: Tensor,
    opts: BatchNormApplyOptions,
  ): [Tensor, BatchNormState];
}

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** A shape/dtype mismatch (`KilnError`); `msg` starts with `op: `. */
const mismatch = (msg: string) => new k.KilnError(msg.slice(0, msg.indexOf(":")), msg);
const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

function checkCount(op: string, n: unknown, what: string): number {
  if (!Number.isInteger(n) || (n as number) <= 0) {
    const Cls = typeof n === "number" ? RangeError : TypeError;
    throw new Cls(`${op}: ${what} must be a positive integer, got ${String(n)}`);
  }
  return n as number;
}

function checkX(op: string, x: unknown, minRank: number, layout: string): Tensor {
  if (!(x instanceof k.Tensor)) throw new TypeError(`${op}: x must be a Tensor, got ${typeof x}`);
  if (x.ndim < minRank) {
    throw mismatch(`${op}: x must be ${layout} (rank >= ${minRank}), got ${fmt(x.shape)}`);
  }
  if (!["float16", "float32", "float64"].includes(x.dtype)) {
    throw mismatch(`${op}: x must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
  }
  return x;
}

function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== "number" || !(eps >= 0)) {
    throw new RangeError(`${op}: eps must be a non-negative number, got ${String(eps)}`);
  }
  return eps;
}

function affineInit(affine: boolean, shape: number[], opts: NormInitOptions): NormParams {
  if (!affine) return {};
  const o = { dtype: opts.dtype ?? "float32", device: opts.device };
  return { weight: k.ones(shape, o), bias: k.zeros(shape, o) };
}

/** `x·weight + bias` with the per-feature vectors viewed as `shape`; `{}` params: `x`. */
function affine(op: string, params: NormParams, x: Tensor, shape: number[]): Tensor {
  const { weight, bias } = params ?? {};
  if ((weight === undefined) !== (bias === undefined)) {
    throw new TypeError(`${op}: params must hold both weight and bias, or neither`);
  }
  if (weight === undefined || bias === undefined) return x;
  const want = shape.reduce((a, d) => a * d, 1);
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (!(t instanceof k.Tensor) || t.size !== want) {
      const got = t instanceof k.Tensor ? fmt(t.shape) : typeof t;
      throw mismatch(`${op}: params.${name} must have ${want} elements for x, got ${got}`);
    }
  }
  return k.add(k.mul(x, k.reshape(weight, shape)), k.reshape(bias, shape));
}

/** `(x − mean)/√(var + eps)` over `axes` (biased variance); also returns mean and variance. */
function standardize(x: Tensor, axes: number[], eps: number): [Tensor, Tensor, Tensor] {
  const mean = k.mean(x, { axis: axes, keepdims: true });
  const centered = k.sub(x, mean);
  const v = k.mean(k.mul(centered, centered), { axis: axes, keepdims: true });
  return [k.mul(centered, k.rsqrt(k.add(v, eps))), mean, v];
}

function batchNormInit(
  numFeatures: number,
  opts: BatchNormInitOptions = {},
): { params: NormParams; state: BatchNormState } {
  const c = checkCount("batchNorm.init", numFeatures, "numFeatures");
  const o = { dtype: opts.dtype ?? "float32", device: opts.device };
  return {
    params: affineInit(opts.affine ?? true, [c], opts),
    state: {
      runningMean: k.zeros([c], o),
      runningVar: k.ones([c], o),
      numBatchesTracked: k.zeros([], { dtype: "int32", device: opts.device }),
    },
  };
}

function batchNormApply(
  params: NormParams,
  state: BatchNormState,
  x: Tensor,
  opts: BatchNormApplyOptions,
): [Tensor, BatchNormState] {
  const op = "batchNorm.apply";
  checkX(op, x, 2, "[N, C, ...]");
  if (typeof opts?.training !== "boolean") {
    throw new TypeError(
      `${op}: opts.training must be true or false, got ${String(opts?.training)}`,
    );
  }
  const { runningMean, runningVar, numBatchesTracked } = state ?? {};
  if (!(runningMean instanceof k.Tensor) || !(runningVar instanceof k.Tensor)) {
    throw new TypeError(`${op}: state must be {runningMean, runningVar, numBatchesTracked}`);
  }
  const c = runningMean.shape[0];
  if (x.shape[1] !== c) {
    throw mismatch(
      `${op}: x ${fmt(x.shape)} has ${
        x.shape[1]
      } channels (axis 1) but the state has ${c} features`,
    );
  }
  const eps = checkEps(op, opts.eps ?? 1e-5);
  const view = [c, ...range(2, x.ndim).map(() => 1)];
  if (!opts.training) {
    const inv = k.rsqrt(k.add(k.reshape(runningVar, view), eps));
    const y = k.mul(k.sub(x, k.reshape(runningMean, view)), inv);
    return [affine(op, params, y, view), state];
  }
  const axes = [0, ...range(2, x.ndim)];
  const n = axes.reduce((a, i) => a * x.shape[i], 1);
  if (n <= 1) {
    throw mismatch(
      `${op}: training needs more than one value per channel, got x ${fmt(x.shape)}`,
    );
  }
  const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  if (momentum !== null && (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))) {
    throw new RangeError(`${op}: momentum must be in [0, 1] or null, got ${String(momentum)}`);
  }
  const mean = k.mean(x, { axis: axes, keepdims: true });
  const centered = k.sub(x, mean);
  const v = k.mean(k.mul(centered, centered), { axis: axes, keepdims: true });
  const rstd = k.rsqrt(k.add(v, eps));
  const y = batchNormTrain(op, params, x, mean, rstd, axes, view);
  // The running statistics are not differentiated through (as torch's buffers).
  const dt = runningMean.dtype;
  const batchMean = k.astype(k.stopGradient(k.reshape(mean, [c])), dt);
  const batchVar = k.astype(k.stopGradient(k.reshape(v, [c])), dt);
  const steps = k.add(numBatchesTracked, 1);
  // Cumulative average: the new batch weighs 1/steps (a traced value, no host read).
  const m: number | Tensor = momentum ?? k.div(1, k.astype(steps, dt));
  const ema = (old: Tensor, batch: Tensor) => k.add(old, k.mul(k.sub(batch, old), m));
  const newState: BatchNormState = {
    runningMean: ema(runningMean, batchMean),
    runningVar: ema(runningVar, k.mul(batchVar, n / (n - 1))),
    numBatchesTracked: steps,
  };
  return [y, newState];
}

/**
 * `(x − mean)·rstd·weight + bias` with batchNorm's closed-form VJP: autodiff of the plain graph
 * sums over `[N, ...spatial]` four times (bias, weight, and the paths through the mean and the
 * variance); `dx = weight·rstd·(g − mean(g) − x̂·mean(g·x̂))` needs only the two sums that
 * `dbias` and `dweight` are anyway. `mean` and `rstd` (computed from `x`) get no cotangent: their
 * contribution is inside `dx`. Forward mode and second derivatives differentiate the graphs.
 */
function batchNormTrain(
  op: string,
  params: NormParams,
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  axes: number[],
  view: number[],
): Tensor {
  const n = axes.reduce((a, i) => a * x.shape[i], 1);
  const hasAffine = params?.weight !== undefined;
  const fwd = (xx: Tensor, m: Tensor, r: Tensor, w?: Tensor, b?: Tensor): [Tensor, Tensor[]] => {
    const xhat = k.mul(k.sub(xx, m), r);
    const y = w && b ? affine(op, { weight: w, bias: b }, xhat, view) : xhat;
    return [y, [xhat, r, ...(w ? [k.reshape(w, view)] : [])]];
  };
  const bwd = ([xhat, r, w]: Tensor[], g: Tensor): (Tensor | null)[] => {
    const db = k.sum(g, { axis: axes, keepdims: true });
    const dw = k.sum(k.mul(g, xhat), { axis: axes, keepdims: true });
    const scale = w ? k.mul(w, r) : r;
    const dx = k.mul(scale, k.sub(k.sub(g, k.div(db, n)), k.mul(xhat, k.div(dw, n))));
    const c = view[0];
    return hasAffine ? [dx, null, null, k.reshape(dw, [c]), k.reshape(db, [c])] : [dx, null, null];
  };
  if (hasAffine) {
    const f = k.customVjp(
      (xx: Tensor, m: Tensor, r: Tensor, w: Tensor, b: Tensor) => fwd(xx, m, r, w, b)[0],
      {
        fwd: fwd as (...a: never[]) => [unknown, unknown],
        bwd: bwd as (r: never, g: never) => unknown[],
      },
    );
    affine(op, params, x, view); // validates the params' shapes before tracing the rule
    return f(x, mean, rstd, params.weight!, params.bias!);
  }
  const f = k.customVjp((xx: Tensor, m: Tensor, r: Tensor) => fwd(xx, m, r)[0], {
    fwd: fwd as (...a: never[]) => [unknown, unknown],
    bwd: bwd as (r: never, g: never) => unknown[],
  });
  return f(x, mean, rstd);
}

/**
 * Batch normalization (torch's `BatchNorm1d/2d/3d`) over `[N, C]` or `[N, C, ...spatial]`:
 * each channel is standardized by the batch's mean and biased variance in training, by the
 * running statistics in evaluation; running statistics follow torch (momentum 0.1, unbiased
 * variance, eps 1e-5) and are state passed in and returned, never mutated.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const { params, state } = k.nn.batchNorm.init(16);
 * const x = k.random.normal(k.random.key(0), [8, 16, 5, 5]);
 * const [y, state2] = k.nn.batchNorm.apply(params, state, x, { training: true });
 * const [yEval] = k.nn.batchNorm.apply(params, state2, x, { training: false });
 * ```
 */
export const batchNorm: BatchNorm = { init: batchNormInit, apply: batchNormApply };

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
  const a = typeof s === "number" ? [s] : s;
  if (!Array.isArray(a) || a.length === 0 || !a.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(
      `${op}: normalizedShape must be a positive integer or a non-empty list of them, got ${
        JSON.stringify(s)
      }`,
    );
  }
  return [...a];
}

function layerNormApply(params: NormParams, x: Tensor, opts: LayerNormApplyOptions = {}): Tensor {
  const op = "layerNorm.apply";
  checkX(op, x, 1, "[..., ...normalizedShape]");
  const w = params?.weight;
  const shape = opts.normalizedShape !== undefined
    ? shapeArg(op, opts.normalizedShape)
    : w instanceof k.Tensor
    ? [...w.shape]
    : null;
  if (shape === null) {
    throw new TypeError(`${op}: without affine params, pass opts.normalizedShape`);
  }
  const tail = x.shape.slice(x.ndim - shape.length);
  if (shape.length > x.ndim || tail.some((d, i) => d !== shape[i])) {
    throw mismatch(`${op}: x ${fmt(x.shape)} does not end with normalizedShape ${fmt(shape)}`);
  }
  const axes = range(x.ndim - shape.length, x.ndim);
  const [xhat] = standardize(x, axes, checkEps(op, opts.eps ?? 1e-5));
  return affine(op, params, xhat, shape);
}

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
export const layerNorm: LayerNorm = {
  init: (normalizedShape, opts = {}) =>
    affineInit(
      opts.elementwiseAffine ?? true,
      shapeArg("layerNorm.init", normalizedShape),
      opts,
    ),
  apply: layerNormApply,
};

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

function groupNormApply(params: NormParams, x: Tensor, opts: GroupNormApplyOptions): Tensor {
  const op = "groupNorm.apply";
  checkX(op, x, 2, "[N, C, ...]");
  const g = checkCount(op, opts?.numGroups, "opts.numGroups");
  const [n, c, ...rest] = x.shape;
  if (c % g !== 0) {
    throw mismatch(`${op}: numGroups ${g} does not divide the ${c} channels of x ${fmt(x.shape)}`);
  }
  const grouped = k.reshape(x, [n, g, c / g, ...rest]);
  const [xhat] = standardize(grouped, range(2, grouped.ndim), checkEps(op, opts.eps ?? 1e-5));
  return affine(op, params, k.reshape(xhat, x.shape), [c, ...rest.map(() => 1)]);
}

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
export const groupNorm: GroupNorm = {
  init(numGroups, numChannels, opts = {}) {
    const g = checkCount("groupNorm.init", numGroups, "numGroups");
    const c = checkCount("groupNorm.init", numChannels, "numChannels");
    if (c % g !== 0) {
      throw mismatch(`groupNorm.init: numGroups ${g} does not divide numChannels ${c}`);
    }
    return affineInit(opts.affine ?? true, [c], opts);
  },
  apply: groupNormApply,
};

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
export const instanceNorm: InstanceNorm = {
  init: (numFeatures, opts = {}) =>
    affineInit(
      opts.affine ?? false,
      [checkCount("instanceNorm.init", numFeatures, "numFeatures")],
      opts,
    ),
  apply(params, x, opts = {}) {
    const op = "instanceNorm.apply";
    checkX(op, x, 3, "[N, C, ...spatial]");
    const [xhat] = standardize(x, range(2, x.ndim), checkEps(op, opts.eps ?? 1e-5));
    return affine(op, params, xhat, [x.shape[1], ...range(2, x.ndim).map(() => 1)]);
  },
};
