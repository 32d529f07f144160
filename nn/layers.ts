/**
 * Layers as pairs of pure functions: `init(key, …) → params` (a plain object of tensors) and
 * `apply(params, x)`. Params are ordinary pytrees, so `k.grad`, `k.tree.map`, optimizers and
 * `k.io.save` work on them directly.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { FloatDType, Initializer } from "./initializers.ts";
import {
  checkFunction,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkSize,
  checkTensorArg,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
  userOp,
} from "./_errors.ts";

/**
 * Parameters of a linear layer: `w [in, out]`, `b [out]`. (A type alias rather than an interface,
 * so that it is assignable to `k.tree.PyTree` for `k.tree.map`, `k.io.save`, ….)
 */
export type LinearParams = {
  /** The weight matrix, `[inFeatures, outFeatures]`. */
  w: Tensor;
  /** The bias, `[outFeatures]`. */
  b: Tensor;
};

/** Options of `linear.init` and `mlp.init`. */
export interface LinearInitOptions {
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
  /** Weight initializer (default PyTorch's: `U(±1/√in)`). */
  wInit?: Initializer;
  /** Bias initializer (default PyTorch's: `U(±1/√in)` with the layer's `in`). */
  bInit?: Initializer;
}

/** The `linear` layer: `init` and `apply`. */
export interface Linear {
  /**
   * Parameters of a layer mapping `inFeatures` to `outFeatures`. By default both `w` and `b`
   * are drawn from `U(±1/√inFeatures)`, PyTorch's `nn.Linear` default (so results line up with
   * PyTorch code and tutorials); pass `{wInit: k.nn.lecunNormal, bInit: k.nn.zeros}` for Flax's.
   */
  init(
    key: Tensor,
    inFeatures: number,
    outFeatures: number,
    opts?: LinearInitOptions,
  ): LinearParams;
  /** `x @ w + b` for `x [..., in]`, giving `[..., out]`. */
  apply(params: LinearParams, x: Tensor): Tensor;
}

function checkFeatures(op: string, n: unknown, what: string): number {
  return checkSize(op, n, what);
}

/** PyTorch's `nn.Linear` default: `U(±1/√fanIn)` (0 when `fanIn` is 0). */
function torchUniform(fanIn: number): Initializer {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return (key, shape, dtype = "float32") =>
    k.random.uniform(key, shape, { minval: -bound, maxval: bound, dtype });
}

function linearInit(
  key: Tensor,
  inFeatures: number,
  outFeatures: number,
  opts: LinearInitOptions = {},
): LinearParams {
  const nIn = checkFeatures("nn.linear.init", inFeatures, "inFeatures");
  const nOut = checkFeatures("nn.linear.init", outFeatures, "outFeatures");
  checkOptions("nn.linear.init", opts, ["dtype", "wInit", "bInit"]);
  const dtype = opts.dtype === undefined
    ? "float32"
    : checkOneOf("nn.linear.init", opts.dtype, ["float16", "float32", "float64"], "dtype");
  if (opts.wInit !== undefined) checkFunction("nn.linear.init", opts.wInit, "wInit");
  if (opts.bInit !== undefined) checkFunction("nn.linear.init", opts.bInit, "bInit");
  const [kw, kb] = k.random.split(key);
  const wInit = opts.wInit ?? torchUniform(nIn);
  const bInit = opts.bInit ?? torchUniform(nIn);
  return { w: wInit(kw, [nIn, nOut], dtype), b: bInit(kb, [nOut], dtype) };
}

function linearApply(params: LinearParams, x: Tensor): Tensor {
  const { w, b } = params ?? {};
  if (!(w instanceof k.Tensor) || !(b instanceof k.Tensor) || w.ndim !== 2 || b.ndim !== 1) {
    throw typeError("nn.linear.apply", "params must be {w: Tensor [in, out], b: Tensor [out]}");
  }
  if (!(x instanceof k.Tensor) || x.ndim === 0 || x.shape[x.ndim - 1] !== w.shape[0]) {
    const got = x instanceof k.Tensor ? `[${x.shape.join(", ")}]` : describe(x);
    throw shapeError(
      "nn.linear.apply",
      `x must have shape [..., ${w.shape[0]}] to match w [${w.shape.join(", ")}], got ${got}`,
    );
  }
  return k.add(k.matmul(x, w), b);
}

/**
 * A fully connected layer, `y = x @ w + b`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const params = k.nn.linear.init(k.random.key(0), 784, 10);
 * const y = k.nn.linear.apply(params, k.zeros([32, 784])); // [32, 10]
 * ```
 */
export const linear: Linear = {
  init: publicOp("nn.linear.init", linearInit),
  apply: publicOp("nn.linear.apply", linearApply),
};

/** Parameters of an MLP: one linear layer per pair of consecutive sizes (a pytree). */
export type MlpParams = {
  /** The layers, first to last. */
  layers: LinearParams[];
};

/** Options of `mlp.apply`. */
export interface MlpApplyOptions {
  /** Applied after every layer but the last (default `relu`). */
  activation?: (x: Tensor) => Tensor;
}

/** The `mlp` model: `init` and `apply`. */
export interface Mlp {
  /**
   * Parameters for layer sizes such as `[784, 256, 256, 10]` (input, hidden…, output); layer
   * `i` uses the key `split(key, n)[i]` and `linear.init` with `opts`.
   */
  init(key: Tensor, sizes: readonly number[], opts?: LinearInitOptions): MlpParams;
  /** The layers in turn, with the activation between them and none after the last. */
  apply(params: MlpParams, x: Tensor, opts?: MlpApplyOptions): Tensor;
}

function mlpInit(key: Tensor, sizes: readonly number[], opts: LinearInitOptions = {}): MlpParams {
  if (!Array.isArray(sizes) || sizes.length < 2) {
    throw shapeError(
      "nn.mlp.init",
      `sizes must list at least an input and an output size, got ${JSON.stringify(sizes)}`,
    );
  }
  const n = sizes.length - 1;
  const keys = k.random.split(key, n);
  return {
    layers: keys.map((kk, i) => linearInit(kk, sizes[i], sizes[i + 1], opts)),
  };
}

function mlpApply(params: MlpParams, x: Tensor, opts: MlpApplyOptions = {}): Tensor {
  const layers = params?.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw typeError("nn.mlp.apply", "params must be {layers: [{w, b}, ...]} (from mlp.init)");
  }
  checkOptions("nn.mlp.apply", opts, ["activation"]);
  const act = opts.activation === undefined ? k.relu : userCallback(
    checkFunction<(x: Tensor) => Tensor>("nn.mlp.apply", opts.activation, "activation"),
  );
  let h = x;
  layers.forEach((p, i) => {
    h = linearApply(p, h);
    if (i < layers.length - 1) h = act(h);
  });
  return h;
}

/**
 * A multilayer perceptron: linear layers with an activation (default ReLU) between them.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const params = k.nn.mlp.init(k.random.key(0), [784, 256, 256, 10]);
 * const logits = k.nn.mlp.apply(params, k.zeros([32, 784]), { activation: k.nn.gelu });
 * ```
 */
export const mlp: Mlp = {
  init: publicOp("nn.mlp.init", mlpInit),
  apply: publicOp("nn.mlp.apply", mlpApply),
};

/** Options of `dropout`. */
export interface DropoutOptions {
  /** When true, return `x` unchanged (evaluation mode). Default false. */
  deterministic?: boolean;
}

/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the kept ones by
 * `1/(1 − rate)`, so the expected value is unchanged; `rate = 1` gives zeros; with
 * `{deterministic: true}` (or `rate = 0`) it is the identity. Use a fresh key per step.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const h = k.nn.dropout(k.random.key(1), k.ones([4, 8]), 0.5); // entries 0 or 2
 * ```
 */
export function dropout(key: Tensor, x: Tensor, rate: number, opts: DropoutOptions = {}): Tensor {
  return userOp("nn.dropout", () => {
    checkTensorArg("nn.dropout", x, "x");
    checkOptions("nn.dropout", opts, ["deterministic"]);
    checkNumber("nn.dropout", rate, "rate");
    if (!(rate >= 0 && rate <= 1)) {
      throw rangeError("nn.dropout", `rate must be in [0, 1], got ${rate}`);
    }
    const kk = checkTensorArg<Tensor>("nn.dropout", key, "key");
    if (kk.dtype !== "int32" || kk.shape.length !== 1 || kk.shape[0] !== 2) {
      throw typeError("nn.dropout", `key must be an int32 [2] key, got ${describe(kk)}`);
    }
    if (opts.deterministic || rate === 0) return x;
    if (rate === 1) return k.zerosLike(x);
    const keep = k.random.bernoulli(key, 1 - rate, x.shape);
    return k.where(keep, k.div(x, 1 - rate), 0);
  });
}
