/**
 * `k.nn.layers`: configured layers for `k.nn.sequential`. Each function takes what PyTorch's
 * module constructor takes (`layers.conv2d(1, 32, 3, {padding: 1})` is `nn.Conv2d(1, 32, 3,
 * padding=1)`) and returns a `Layer` whose `init(key)`/`apply(params, state, x, ctx)` call the
 * pure pair of the same name (`k.nn.conv2d`, `k.nn.batchNorm`, …) with that configuration.
 * Parameters and state are created on the init key's device (the normalization layers, which
 * draw nothing, take the key's device too, unless `device` is given).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const layer = k.nn.layers.linear(3, 2); // torch.nn.Linear(3, 2)
 * const { params, state } = layer.init(k.random.key(0));
 * const [y] = layer.apply(params, state, k.ones([4, 3]), { training: false });
 * console.log(y.shape); // [4, 2]
 * ```
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import {
  avgPool2d as avgPool2dFn,
  type AvgPool2dOptions,
  checkApplyOptions,
  checkFlattenOptions,
  checkPool2d,
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
import type { AffineNormInitOptions, LayerNormInitOptions, NormParams } from "./normalization.ts";
import { checkEps } from "./normalization.ts";
import { batchNorm as batchNormPair } from "./batch_norm.ts";
import type { BatchNormInitOptions, BatchNormState } from "./batch_norm.ts";
import { type Empty, fnLayer, type Layer } from "./sequential.ts";

export { fn, sequential } from "./sequential.ts";

const E = k.errors;
const args = (...a: unknown[]) => a.map((v) => JSON.stringify(v)).join(", ");

/** Splits validated options into those of `init` (names in `initKeys`) and the rest. */
function split<T extends object>(
  op: string,
  opts: T | undefined,
  initKeys: readonly string[],
  applyKeys: readonly string[],
): [Record<string, unknown>, Record<string, unknown>] {
  const o = E.checkOptions(op, opts, [...initKeys, ...applyKeys]) as Record<string, unknown>;
  const pick = (keys: readonly string[]) =>
    Object.fromEntries(Object.entries(o).filter(([key]) => keys.includes(key)));
  return [pick(initKeys), pick(applyKeys)];
}

/** A parameter-free layer from `f(x)`, named `name`. */
function stateless(name: string, f: (x: Tensor) => Tensor): Layer<Empty, Empty> {
  return fnLayer(name, f, name);
}

/**
 * A layer with parameters and no state, from an `init(key)` and an `apply(params, x)`. `init`
 * runs once on a CPU key now, so a bad configuration fails here and not at `model.init`.
 */
function withParams<P>(
  name: string,
  init: (key: Tensor) => P,
  apply: (params: P, x: Tensor) => Tensor,
): Layer<P, Empty> {
  init(k.random.key(0, { device: "cpu" }));
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
export const linear: (
  inFeatures: number,
  outFeatures: number,
  opts?: LinearInitOptions,
) => Layer<LinearParams, Empty> = E.publicOp(
  "nn.layers.linear",
  (inFeatures: number, outFeatures: number, opts?: LinearInitOptions) =>
    withParams(
      `linear(${args(inFeatures, outFeatures)})`,
      (key) => linearPair.init(key, inFeatures, outFeatures, opts),
      linearPair.apply,
    ),
);

/** Options of the convolution layers: `k.nn.conv2d.init`'s and `apply`'s together. */
export type ConvLayerOptions = ConvInitOptions & ConvApplyOptions;
/** Options of `layers.convTranspose2d`: `init`'s and `apply`'s together. */
export type ConvTransposeLayerOptions = ConvInitOptions & ConvTransposeApplyOptions;

const CONV_INIT = ["groups", "bias", "dtype", "wInit", "bInit"];
const CONV_APPLY = ["stride", "padding", "dilation"];

/** The builder of a conv layer with `dims` spatial axes. */
type ConvBuilder = (
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts?: ConvLayerOptions,
) => Layer<ConvParams, Empty>;

function convLayer(name: "conv1d" | "conv2d" | "conv3d", dims: number): ConvBuilder {
  const op = `nn.layers.${name}`;
  return E.publicOp(op, (
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts?: ConvLayerOptions,
  ) => {
    const [io, ao] = split(op, opts, CONV_INIT, CONV_APPLY);
    const applyOpts = checkApplyOptions<ConvApplyOptions>(
      op,
      { ...ao, groups: io.groups as number | undefined },
      dims,
      false,
    );
    return withParams(
      `${name}(${args(inChannels, outChannels, kernelSize)})`,
      (key) => conv[name].init(key, inChannels, outChannels, kernelSize, io),
      (p, x) => conv[name].apply(p, x, applyOpts),
    );
  });
}

/**
 * `nn.Conv1d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv1d(4, 8, 3, { padding: "same" });
 * ```
 */
export const conv1d: ConvBuilder = convLayer("conv1d", 1);

/**
 * `nn.Conv2d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv2d(1, 32, 3, { padding: 1 });
 * ```
 */
export const conv2d: ConvBuilder = convLayer("conv2d", 2);

/**
 * `nn.Conv3d(inChannels, outChannels, kernelSize, {stride, padding, dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const c = k.nn.layers.conv3d(2, 4, 3);
 * ```
 */
export const conv3d: ConvBuilder = convLayer("conv3d", 3);

/**
 * `nn.ConvTranspose2d(inChannels, outChannels, kernelSize, {stride, padding, outputPadding,
 * dilation, groups, bias})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const up = k.nn.layers.convTranspose2d(16, 8, 4, { stride: 2, padding: 1 });
 * ```
 */
export const convTranspose2d: (
  inChannels: number,
  outChannels: number,
  kernelSize: Spatial,
  opts?: ConvTransposeLayerOptions,
) => Layer<ConvParams, Empty> = E.publicOp(
  "nn.layers.convTranspose2d",
  (
    inChannels: number,
    outChannels: number,
    kernelSize: Spatial,
    opts?: ConvTransposeLayerOptions,
  ) => {
    const op = "nn.layers.convTranspose2d";
    const [io, ao] = split(op, opts, CONV_INIT, [...CONV_APPLY, "outputPadding"]);
    const applyOpts = checkApplyOptions<ConvTransposeApplyOptions>(
      op,
      { ...ao, groups: (io.groups as number | undefined) ?? 1 },
      2,
      true,
    );
    return withParams(
      `convTranspose2d(${args(inChannels, outChannels, kernelSize)})`,
      (key) => conv.convTranspose2d.init(key, inChannels, outChannels, kernelSize, io),
      (p, x) => conv.convTranspose2d.apply(p, x, applyOpts),
    );
  },
);

/** Options of `layers.batchNorm`: `init`'s and `apply`'s (momentum, eps) together. */
export interface BatchNormLayerOptions extends BatchNormInitOptions {
  /** Running-average weight of a new batch (default 0.1); `null`: cumulative average. */
  momentum?: number | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** The device of `opts`, else the init key's. */
const onKeyDevice = <T extends { device?: string }>(o: T, key: Tensor): T => ({
  ...o,
  device: o.device ?? key.device,
});

/**
 * `nn.BatchNorm1d/2d/3d(numFeatures, {momentum, eps, affine})`: batch statistics in training
 * (`ctx.training`), running statistics in evaluation; the running statistics are the state.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const bn = k.nn.layers.batchNorm(32);
 * ```
 */
export const batchNorm: (
  numFeatures: number,
  opts?: BatchNormLayerOptions,
) => Layer<NormParams, BatchNormState> = E.publicOp(
  "nn.layers.batchNorm",
  (numFeatures: number, opts?: BatchNormLayerOptions) => {
    const op = "nn.layers.batchNorm";
    const [io, ao] = split(op, opts, ["affine", "dtype", "device"], ["momentum", "eps"]);
    const eps = checkEps(op, ao.eps);
    const momentum = ao.momentum as number | null | undefined;
    if (momentum !== undefined && momentum !== null) {
      const m = E.checkNumber(op, momentum, "momentum");
      if (!(m >= 0 && m <= 1)) throw E.rangeError(op, `momentum must be in [0, 1], got ${m}`);
    }
    batchNormPair.init(numFeatures, io); // validates now (lazy tensors, never computed)
    return {
      name: `batchNorm(${numFeatures})`,
      init: (key) => batchNormPair.init(numFeatures, onKeyDevice(io, key)),
      apply: (params, state, x, ctx) =>
        batchNormPair.apply(params, state, x, { training: ctx.training, momentum, eps }),
    };
  },
);

/**
 * `nn.LayerNorm(normalizedShape, {eps, elementwiseAffine})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const ln = k.nn.layers.layerNorm(64);
 * ```
 */
export const layerNorm: (
  normalizedShape: number | readonly number[],
  opts?: LayerNormInitOptions & { eps?: number },
) => Layer<NormParams, Empty> = E.publicOp(
  "nn.layers.layerNorm",
  (normalizedShape: number | readonly number[], opts?: LayerNormInitOptions & { eps?: number }) => {
    const op = "nn.layers.layerNorm";
    const [io, ao] = split(op, opts, ["elementwiseAffine", "dtype", "device"], ["eps"]);
    const eps = checkEps(op, ao.eps);
    return withParams(
      `layerNorm(${args(normalizedShape)})`,
      (key) => norm.layerNorm.init(normalizedShape, onKeyDevice(io, key)),
      (p, x) => norm.layerNorm.apply(p, x, { eps, normalizedShape }),
    );
  },
);

/**
 * `nn.GroupNorm(numGroups, numChannels, {eps, affine})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const gn = k.nn.layers.groupNorm(8, 64);
 * ```
 */
export const groupNorm: (
  numGroups: number,
  numChannels: number,
  opts?: AffineNormInitOptions & { eps?: number },
) => Layer<NormParams, Empty> = E.publicOp(
  "nn.layers.groupNorm",
  (numGroups: number, numChannels: number, opts?: AffineNormInitOptions & { eps?: number }) => {
    const op = "nn.layers.groupNorm";
    const [io, ao] = split(op, opts, ["affine", "dtype", "device"], ["eps"]);
    const eps = checkEps(op, ao.eps);
    return withParams(
      `groupNorm(${args(numGroups, numChannels)})`,
      (key) => norm.groupNorm.init(numGroups, numChannels, onKeyDevice(io, key)),
      (p, x) => norm.groupNorm.apply(p, x, { numGroups, eps }),
    );
  },
);

/**
 * `nn.InstanceNorm1d/2d/3d(numFeatures, {eps, affine})` (affine off by default, as torch).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const inorm = k.nn.layers.instanceNorm(16, { affine: true });
 * ```
 */
export const instanceNorm: (
  numFeatures: number,
  opts?: AffineNormInitOptions & { eps?: number },
) => Layer<NormParams, Empty> = E.publicOp(
  "nn.layers.instanceNorm",
  (numFeatures: number, opts?: AffineNormInitOptions & { eps?: number }) => {
    const op = "nn.layers.instanceNorm";
    const [io, ao] = split(op, opts, ["affine", "dtype", "device"], ["eps"]);
    const eps = checkEps(op, ao.eps);
    return withParams(
      `instanceNorm(${args(numFeatures)})`,
      (key) => norm.instanceNorm.init(numFeatures, onKeyDevice(io, key)),
      (p, x) => norm.instanceNorm.apply(p, x, { eps }),
    );
  },
);

/**
 * `nn.MaxPool2d(kernelSize, {stride, padding, dilation})` (stride defaults to the window).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pool = k.nn.layers.maxPool2d(2);
 * ```
 */
export const maxPool2d: (kernelSize: Spatial, opts?: MaxPool2dOptions) => Layer<Empty, Empty> = E
  .publicOp("nn.layers.maxPool2d", (kernelSize: Spatial, opts?: MaxPool2dOptions) => {
    const o = checkPool2d("nn.layers.maxPool2d", kernelSize, opts, true);
    return stateless(`maxPool2d(${args(kernelSize)})`, (x) => maxPool2dFn(x, kernelSize, o));
  });

/**
 * `nn.AvgPool2d(kernelSize, {stride, padding, countIncludePad})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pool = k.nn.layers.avgPool2d(2);
 * ```
 */
export const avgPool2d: (kernelSize: Spatial, opts?: AvgPool2dOptions) => Layer<Empty, Empty> = E
  .publicOp("nn.layers.avgPool2d", (kernelSize: Spatial, opts?: AvgPool2dOptions) => {
    const o = checkPool2d("nn.layers.avgPool2d", kernelSize, opts, false);
    return stateless(`avgPool2d(${args(kernelSize)})`, (x) => avgPool2dFn(x, kernelSize, o));
  });

/**
 * `nn.AdaptiveAvgPool2d(outputSize)`: `k.adaptiveAvgPool` (1 gives global average pooling).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const gap = k.nn.layers.adaptiveAvgPool2d(1); // [N, C, H, W] -> [N, C, 1, 1]
 * ```
 */
export const adaptiveAvgPool2d: (
  outputSize: number | readonly (number | null)[],
) => Layer<Empty, Empty> = E.publicOp(
  "nn.layers.adaptiveAvgPool2d",
  (outputSize: number | readonly (number | null)[]) => {
    const op = "nn.layers.adaptiveAvgPool2d";
    if (typeof outputSize === "number") E.checkInt(op, outputSize, "outputSize", 1);
    else if (!Array.isArray(outputSize) || outputSize.length !== 2) {
      throw E.typeError(
        op,
        `outputSize must be a number or [h, w] (null keeps a size), got ${E.describe(outputSize)}`,
      );
    } else outputSize.forEach((d) => d === null || E.checkInt(op, d, "outputSize", 1));
    return stateless(
      `adaptiveAvgPool2d(${args(outputSize)})`,
      (x) => k.adaptiveAvgPool(x, outputSize),
    );
  },
);

/**
 * `nn.Flatten({startAxis = 1, endAxis = -1})`: `[N, C, H, W] → [N, C·H·W]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const f = k.nn.layers.flatten();
 * ```
 */
export const flatten: (opts?: FlattenOptions) => Layer<Empty, Empty> = E.publicOp(
  "nn.layers.flatten",
  (opts?: FlattenOptions) => {
    const o = checkFlattenOptions("nn.layers.flatten", opts);
    return stateless("flatten", (x) => flattenFn(x, o));
  },
);

/**
 * `nn.Dropout(rate)`: inverted dropout in training (needs `ctx.key`), identity in evaluation.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const drop = k.nn.layers.dropout(0.25);
 * ```
 */
export const dropout: (rate: number) => Layer<Empty, Empty> = E.publicOp(
  "nn.layers.dropout",
  (rate: number) => {
    const op = "nn.layers.dropout";
    const r = E.checkNumber(op, rate, "rate");
    if (!(r >= 0 && r <= 1)) throw E.rangeError(op, `rate must be in [0, 1], got ${r}`);
    const name = `dropout(${r})`;
    return {
      name,
      init: () => ({ params: {}, state: {} }),
      apply(_params, state, x, ctx) {
        if (!ctx.training || r === 0) return [x, state];
        if (ctx.key === undefined) {
          throw E.typeError(
            name,
            "training needs a key: apply(params, state, x, {training: true, key})",
          );
        }
        return [dropoutFn(ctx.key, x, r), state];
      },
    } as Layer<Empty, Empty>;
  },
);

/* Sequence layers: embedding, rnn/lstm/gru, multiHeadAttention, transformerEncoderLayer, positions. */
export * from "./seq_builders.ts";
