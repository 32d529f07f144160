/**
 * `k.nn.layers`: configured layers for `k.nn.sequential`. Each function takes what PyTorch's
 * module constructor takes (`layers.conv2d(1, 32, 3, {padding: 1})` is `nn.Conv2d(1, 32, 3,
 * padding=1)`) and returns a `Layer` whose `init(key)`/`apply(params, state, x, ctx)` call the
 * pure pair of the same name (`k.nn.conv2d`, `k.nn.batchNorm`, …) with that configuration.
 * Parameters and state are created on the init key's device (the normalization layers, which
 * draw nothing, take the key's device too, unless `device` is given).
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import {
  avgPool2d as avgPool2dFn,
  type AvgPool2dOptions,
  type ConvApplyOptions,
  type ConvInitOptions,
  type ConvParams,
  type ConvTransposeApplyOptions,
  flatten as flattenFn,
  type FlattenOptions,
  maxPool2d as maxPool2dFn,
  type MaxPool2dOptions,
  type Spatial,
} from "./conv.ts";
import * as conv from "./conv.ts";
import { dropout as dropoutFn, linear as linearPair, type LinearInitOptions } from "./layers.ts";
import type { LinearParams } from "./layers.ts";
import * as norm from "./normalization.ts";
import type {
  AffineNormInitOptions,
  BatchNormInitOptions,
  BatchNormState,
  LayerNormInitOptions,
  NormParams,
} from "./normalization.ts";
import { type Empty, fn, type Layer } from "./sequential.ts";

export { fn } from "./sequential.ts";
export { sequential } from "./sequential.ts";

const args = (...a: unknown[]) => a.map((v) => JSON.stringify(v)).join(", ");

/** A parameter-free layer from `f(x)`, named `name`. */
function stateless(name: string, f: (x: Tensor) => Tensor): Layer<Empty, Empty> {
  return fn(f, name);
}

/** A layer with parameters and no state, from an `init(key)` and an `apply(params, x)`. */
function withParams<P>(
  name: string,
  init: (key: Tensor) => P,
  apply: (params: P, x: Tensor) => Tensor,
): Layer<P, Empty> {
  init(k.random.key(0, { device: "cpu" })); // validates the configuration now, not at init
  return {
    name,
    init: (key) => ({ params: init(key), state: {} }),
    apply: (params, state, x) => [apply(params, x), state],
  };
}

/**
 * `nn.Linear(inFeatures, outFeatures)`: `x @ w + b` with `w [in, out]` (see `k.nn.linear`).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const head = k.nn.layers.linear(128, 10);
 * ```
 */
export function linear(
  inFeatures: number,
  outFeatures: number,
  opts: LinearInitOptions = {},
): Layer<LinearParams, Empty> {
  return withParams(
    `linear(${args(inFeatures, outFeatures)})`,
    (key) => linearPair.init(key, inFeatures, outFeatures, opts),
    linearPair.apply,
  );
}

/** Options of the convolution layers: `k.nn.conv2d.init`'s and `apply`'s together. */
export type ConvLayerOptions = ConvInitOptions & ConvApplyOptions;
/** Options of `layers.convTranspose2d`: `init`'s and `apply`'s together. */
export type ConvTransposeLayerOptions = ConvInitOptions & ConvTransposeApplyOptions;

function convLayer(name: "conv1d" | "conv2d" | "conv3d") {
  return (
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts: ConvLayerOptions = {},
  ): Layer<ConvParams, Empty> => {
    const { stride, padding, dilation, groups } = opts;
    return withParams(
      `${name}(${args(inChannels, outChannels, kernelSize)})`,
      (key) => conv[name].init(key, inChannels, outChannels, kernelSize, opts),
      (p, x) => conv[name].apply(p, x, { stride, padding, dilation, groups }),
    );
  };
}

/**
 * `nn.Conv1d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv1d(4, 8, 3, { padding: "same" });
 * ```
 */
export const conv1d: (
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts?: ConvLayerOptions,
) => Layer<ConvParams, Empty> = convLayer("conv1d");

/**
 * `nn.Conv2d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv2d(1, 32, 3, { padding: 1 });
 * ```
 */
export const conv2d: (
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts?: ConvLayerOptions,
) => Layer<ConvParams, Empty> = convLayer("conv2d");

/**
 * `nn.Conv3d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv3d(2, 4, 3);
 * ```
 */
export const conv3d: (
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts?: ConvLayerOptions,
) => Layer<ConvParams, Empty> = convLayer("conv3d");

/**
 * `nn.ConvTranspose2d(inChannels, outChannels, kernelSize, {stride, padding, outputPadding,
 * dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const up = k.nn.layers.convTranspose2d(16, 8, 4, { stride: 2, padding: 1 });
 * ```
 */
export function convTranspose2d(
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts: ConvTransposeLayerOptions = {},
): Layer<ConvParams, Empty> {
  const { stride, padding, outputPadding, dilation, groups } = opts;
  return withParams(
    `convTranspose2d(${args(inChannels, outChannels, kernelSize)})`,
    (key) => conv.convTranspose2d.init(key, inChannels, outChannels, kernelSize, opts),
    (p, x) =>
      conv.convTranspose2d.apply(p, x, {
        stride,
        padding,
        outputPadding,
        dilation,
        groups: groups ?? 1,
      }),
  );
}

/** Options of `layers.batchNorm`: `init`'s and `apply`'s (momentum, eps) together. */
export interface BatchNormLayerOptions extends BatchNormInitOptions {
  /** Running-average weight of a new batch (default 0.1); `null`: cumulative average. */
  momentum?: number | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * `nn.BatchNorm1d/2d/3d(numFeatures, {momentum, eps, affine})`: batch statistics in training
 * (`ctx.training`), running statistics in evaluation; the running statistics are the state.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const bn = k.nn.layers.batchNorm(32);
 * ```
 */
export function batchNorm(
  numFeatures: number,
  opts: BatchNormLayerOptions = {},
): Layer<NormParams, BatchNormState> {
  const { momentum, eps } = opts;
  norm.batchNorm.init(numFeatures, { ...opts, device: "cpu" }); // validate now
  return {
    name: `batchNorm(${numFeatures})`,
    init: (key) => norm.batchNorm.init(numFeatures, { ...opts, device: opts.device ?? key.device }),
    apply: (params, state, x, ctx) =>
      norm.batchNorm.apply(params, state, x, { training: ctx.training, momentum, eps }),
  };
}

/**
 * `nn.LayerNorm(normalizedShape, {eps, elementwiseAffine})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const ln = k.nn.layers.layerNorm(64);
 * ```
 */
export function layerNorm(
  normalizedShape: number | readonly number[],
  opts: LayerNormInitOptions & { eps?: number } = {},
): Layer<NormParams, Empty> {
  const { eps } = opts;
  return withParams(
    `layerNorm(${args(normalizedShape)})`,
    (key) => norm.layerNorm.init(normalizedShape, { ...opts, device: opts.device ?? key.device }),
    (p, x) => norm.layerNorm.apply(p, x, { eps, normalizedShape }),
  );
}

/**
 * `nn.GroupNorm(numGroups, numChannels, {eps, affine})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const gn = k.nn.layers.groupNorm(8, 64);
 * ```
 */
export function groupNorm(
  numGroups: number,
  numChannels: number,
  opts: AffineNormInitOptions & { eps?: number } = {},
): Layer<NormParams, Empty> {
  const { eps } = opts;
  return withParams(
    `groupNorm(${args(numGroups, numChannels)})`,
    (key) =>
      norm.groupNorm.init(numGroups, numChannels, { ...opts, device: opts.device ?? key.device }),
    (p, x) => norm.groupNorm.apply(p, x, { numGroups, eps }),
  );
}

/**
 * `nn.InstanceNorm1d/2d/3d(numFeatures, {eps, affine})` (affine off by default, as torch).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const inorm = k.nn.layers.instanceNorm(16, { affine: true });
 * ```
 */
export function instanceNorm(
  numFeatures: number,
  opts: AffineNormInitOptions & { eps?: number } = {},
): Layer<NormParams, Empty> {
  const { eps } = opts;
  return withParams(
    `instanceNorm(${args(numFeatures)})`,
    (key) => norm.instanceNorm.init(numFeatures, { ...opts, device: opts.device ?? key.device }),
    (p, x) => norm.instanceNorm.apply(p, x, { eps }),
  );
}

/**
 * `nn.MaxPool2d(kernelSize, {stride, padding, dilation})` (stride defaults to the window).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pool = k.nn.layers.maxPool2d(2);
 * ```
 */
export function maxPool2d(kernelSize: Spatial, opts: MaxPool2dOptions = {}): Layer<Empty, Empty> {
  return stateless(`maxPool2d(${args(kernelSize)})`, (x) => maxPool2dFn(x, kernelSize, opts));
}

/**
 * `nn.AvgPool2d(kernelSize, {stride, padding, countIncludePad})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pool = k.nn.layers.avgPool2d(2);
 * ```
 */
export function avgPool2d(kernelSize: Spatial, opts: AvgPool2dOptions = {}): Layer<Empty, Empty> {
  return stateless(`avgPool2d(${args(kernelSize)})`, (x) => avgPool2dFn(x, kernelSize, opts));
}

/**
 * `nn.AdaptiveAvgPool2d(outputSize)`: `k.adaptiveAvgPool` (1 gives global average pooling).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const gap = k.nn.layers.adaptiveAvgPool2d(1); // [N, C, H, W] -> [N, C, 1, 1]
 * ```
 */
export function adaptiveAvgPool2d(
  outputSize: number | readonly (number | null)[],
): Layer<Empty, Empty> {
  return stateless(
    `adaptiveAvgPool2d(${args(outputSize)})`,
    (x) => k.adaptiveAvgPool(x, outputSize),
  );
}

/**
 * `nn.Flatten({startAxis = 1, endAxis = -1})`: `[N, C, H, W] → [N, C·H·W]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const f = k.nn.layers.flatten();
 * ```
 */
export function flatten(opts: FlattenOptions = {}): Layer<Empty, Empty> {
  return stateless("flatten", (x) => flattenFn(x, opts));
}

/**
 * `nn.Dropout(rate)`: inverted dropout in training (needs `ctx.key`), identity in evaluation.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const drop = k.nn.layers.dropout(0.25);
 * ```
 */
export function dropout(rate: number): Layer<Empty, Empty> {
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`layers.dropout: rate must be in [0, 1], got ${String(rate)}`);
  }
  const name = `dropout(${rate})`;
  return {
    name,
    init: () => ({ params: {}, state: {} }),
    apply(_params, state, x, ctx) {
      if (!ctx.training || rate === 0) return [x, state];
      if (ctx.key === undefined) {
        throw new TypeError(
          `${name}: training needs a key: apply(params, state, x, {training: true, key})`,
        );
      }
      return [dropoutFn(ctx.key, x, rate), state];
    },
  };
}
