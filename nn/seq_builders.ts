/**
 * Configured sequence layers for `k.nn.sequential` (re-exported by `k.nn.layers`): each takes
 * what the PyTorch module's constructor takes and returns a `Layer` over one input `x`.
 * Recurrent layers return their output sequence (not the final carry), attention layers attend
 * over `x` itself; dropout runs in training (`ctx.training` with `ctx.key`) only.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import {
  embedding as embeddingPair,
  type EmbeddingInitOptions,
  type EmbeddingParams,
  positionalEmbedding as posPair,
  sinusoidalPositionalEncoding as sinusoid,
} from "./embedding.ts";
import type { FloatDType } from "./initializers.ts";
import {
  multiHeadAttention as mhaPair,
  type MultiHeadAttentionInitOptions,
  type MultiHeadAttentionParams,
} from "./multihead.ts";
import * as rec from "./recurrent.ts";
import type { RecurrentInitOptions, RecurrentParams } from "./recurrent.ts";
import type { ApplyContext, Empty, Layer } from "./sequential.ts";
import {
  transformerEncoderLayer as encoderPair,
  type TransformerEncoderLayerParams,
  type TransformerInitOptions,
} from "./transformer.ts";

const E = k.errors;
const args = (...a: unknown[]) => a.map((v) => JSON.stringify(v)).join(", ");

/** A stateless-params layer; `init` runs once on a CPU key now, so bad configs fail here. */
function layer<P>(
  name: string,
  init: (key: Tensor) => P,
  apply: (params: P, x: Tensor, ctx: ApplyContext) => Tensor,
): Layer<P, Empty> {
  init(k.random.key(0, { device: "cpu" }));
  return {
    name,
    init: (key) => ({ params: init(key), state: {} }),
    apply: (params, state, x, ctx) => [apply(params, x, ctx), state],
  };
}

/** The dropout key of a call: `ctx.key` in training, none in evaluation. */
const trainKey = (ctx: ApplyContext): Tensor | undefined => ctx?.training ? ctx.key : undefined;

/**
 * `nn.Embedding(numEmbeddings, embeddingDim, {paddingIdx})`: int32 ids → `[..., dim]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const emb = k.nn.layers.embedding(100, 32, { paddingIdx: 0 });
 * ```
 */
export const embedding: (
  numEmbeddings: number,
  embeddingDim: number,
  opts?: EmbeddingInitOptions,
) => Layer<EmbeddingParams, Empty> = E.publicOp(
  "nn.layers.embedding",
  (numEmbeddings: number, embeddingDim: number, opts: EmbeddingInitOptions = {}) =>
    layer(
      `embedding(${args(numEmbeddings, embeddingDim)})`,
      (key) => embeddingPair.init(key, numEmbeddings, embeddingDim, opts),
      (p, ids) => embeddingPair.apply(p, ids, { paddingIdx: opts.paddingIdx }),
    ),
);

/** Options of `layers.rnn`/`lstm`/`gru`: `init`'s and the apply configuration together. */
export interface RecurrentLayerOptions extends RecurrentInitOptions {
  /** `[B, T, in]` input (default false: `[T, B, in]`). */
  batchFirst?: boolean;
  /** Dropout between stacked layers in training (default 0). */
  dropout?: number;
  /** `rnn` only: `"tanh"` (default) or `"relu"`. */
  nonlinearity?: "tanh" | "relu";
}

function recurrentLayer(kind: "rnn" | "lstm" | "gru") {
  return E.publicOp(
    `nn.layers.${kind}`,
    (inputSize: number, hiddenSize: number, opts: RecurrentLayerOptions = {}) => {
      const op = `nn.layers.${kind}`;
      const o = E.checkOptions(op, opts, [
        "numLayers",
        "bidirectional",
        "bias",
        "dtype",
        "batchFirst",
        "dropout",
        ...(kind === "rnn" ? ["nonlinearity"] : []),
      ]);
      const { batchFirst, dropout, nonlinearity, ...initOpts } = o;
      const pair = rec[kind] as rec.Recurrent<unknown>;
      return layer<RecurrentParams>(
        `${kind}(${args(inputSize, hiddenSize)})`,
        (key) => pair.init(key, inputSize, hiddenSize, initOpts),
        (p, x, ctx) =>
          pair.apply(p, x, {
            batchFirst,
            dropout,
            key: trainKey(ctx),
            ...(kind === "rnn" ? { nonlinearity } : {}),
          })[0],
      );
    },
  );
}

/** A configured recurrent layer constructor. */
export type RecurrentBuilder = (
  inputSize: number,
  hiddenSize: number,
  opts?: RecurrentLayerOptions,
) => Layer<RecurrentParams, Empty>;

/**
 * `nn.RNN(inputSize, hiddenSize, {numLayers, nonlinearity, bidirectional, batchFirst, dropout})`;
 * the layer's output is the sequence `y`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const r = k.nn.layers.rnn(8, 16, { nonlinearity: "relu" });
 * ```
 */
export const rnn: RecurrentBuilder = recurrentLayer("rnn");
/**
 * `nn.LSTM(inputSize, hiddenSize, {numLayers, bidirectional, batchFirst, dropout})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const model = k.nn.sequential([k.nn.layers.lstm(8, 32, { batchFirst: true }), k.nn.layers.linear(32, 8)]);
 * ```
 */
export const lstm: RecurrentBuilder = recurrentLayer("lstm");
/**
 * `nn.GRU(inputSize, hiddenSize, {numLayers, bidirectional, batchFirst, dropout})`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const g = k.nn.layers.gru(8, 16, { numLayers: 2 });
 * ```
 */
export const gru: RecurrentBuilder = recurrentLayer("gru");

/** Options of `layers.multiHeadAttention`. */
export interface MultiHeadAttentionLayerOptions extends MultiHeadAttentionInitOptions {
  /** `[B, T, E]` input (default false: `[T, B, E]`). */
  batchFirst?: boolean;
  /** Causal self-attention. */
  causal?: boolean;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
}

/**
 * `nn.MultiheadAttention(embedDim, numHeads, {bias, batchFirst, dropout})` as self-attention
 * over `x` (optionally causal); the layer's output is the attention output.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const sa = k.nn.layers.multiHeadAttention(32, 4, { causal: true });
 * ```
 */
export const multiHeadAttention: (
  embedDim: number,
  numHeads: number,
  opts?: MultiHeadAttentionLayerOptions,
) => Layer<MultiHeadAttentionParams, Empty> = E.publicOp(
  "nn.layers.multiHeadAttention",
  (embedDim: number, numHeads: number, opts: MultiHeadAttentionLayerOptions = {}) => {
    const o = E.checkOptions("nn.layers.multiHeadAttention", opts, [
      "bias",
      "dtype",
      "batchFirst",
      "causal",
      "dropout",
    ]);
    const { batchFirst, causal, dropout, ...initOpts } = o;
    const op = "nn.layers.multiHeadAttention";
    const e = E.checkInt(op, embedDim, "embedDim", 1);
    const h = E.checkInt(op, numHeads, "numHeads", 1);
    if (e % h !== 0) throw E.rangeError(op, `numHeads ${h} does not divide embedDim ${e}`);
    return layer<MultiHeadAttentionParams>(
      `multiHeadAttention(${args(embedDim, numHeads)})`,
      (key) => mhaPair.init(key, embedDim, initOpts),
      (p, x, ctx) =>
        mhaPair.apply(p, x, x, x, { numHeads, batchFirst, causal, dropout, key: trainKey(ctx) })[0],
    );
  },
);

/** Options of `layers.transformerEncoderLayer`. */
export interface TransformerEncoderLayerOptions extends TransformerInitOptions {
  /** Dropout probability in training (default 0.1). */
  dropout?: number;
  /** `"relu"` (default) or `"gelu"`. */
  activation?: "relu" | "gelu";
  /** Pre-norm (default false). */
  normFirst?: boolean;
  /** `[B, T, E]` input (default false). */
  batchFirst?: boolean;
  /** Causal self-attention (a decoder-only language model). */
  causal?: boolean;
  /** LayerNorm eps (default 1e-5). */
  eps?: number;
}

/**
 * `nn.TransformerEncoderLayer(dModel, numHeads, {dimFeedforward, dropout, activation, normFirst,
 * batchFirst})`, plus `causal` for decoder-only models.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const block = k.nn.layers.transformerEncoderLayer(64, 4, { dimFeedforward: 256, causal: true });
 * ```
 */
export const transformerEncoderLayer: (
  dModel: number,
  numHeads: number,
  opts?: TransformerEncoderLayerOptions,
) => Layer<TransformerEncoderLayerParams, Empty> = E.publicOp(
  "nn.layers.transformerEncoderLayer",
  (dModel: number, numHeads: number, opts: TransformerEncoderLayerOptions = {}) => {
    const o = E.checkOptions("nn.layers.transformerEncoderLayer", opts, [
      "dimFeedforward",
      "dtype",
      "dropout",
      "activation",
      "normFirst",
      "batchFirst",
      "causal",
      "eps",
    ]);
    const { dimFeedforward, dtype, ...applyOpts } = o;
    return layer<TransformerEncoderLayerParams>(
      `transformerEncoderLayer(${args(dModel, numHeads)})`,
      (key) => encoderPair.init(key, dModel, numHeads, { dimFeedforward, dtype }),
      (p, x, ctx) => encoderPair.apply(p, x, { ...applyOpts, numHeads, key: trainKey(ctx) }),
    );
  },
);

/** Options of the positional layers. */
export interface PositionalLayerOptions {
  /** `[B, T, d]` input (default false: `[T, B, d]`). */
  batchFirst?: boolean;
  /** Parameter dtype of the learned table (default float32). */
  dtype?: FloatDType;
}

/**
 * Learned positions added to `x` (`k.nn.positionalEmbedding`), at most `maxLength` steps.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pos = k.nn.layers.positionalEmbedding(256, 64, { batchFirst: true });
 * ```
 */
export const positionalEmbedding: (
  maxLength: number,
  dModel: number,
  opts?: PositionalLayerOptions,
) => Layer<EmbeddingParams, Empty> = E.publicOp(
  "nn.layers.positionalEmbedding",
  (maxLength: number, dModel: number, opts: PositionalLayerOptions = {}) => {
    const o = E.checkOptions("nn.layers.positionalEmbedding", opts, ["batchFirst", "dtype"]);
    return layer<EmbeddingParams>(
      `positionalEmbedding(${args(maxLength, dModel)})`,
      (key) => posPair.init(key, maxLength, dModel, { dtype: o.dtype }),
      (p, x) => posPair.apply(p, x, { batchFirst: o.batchFirst }),
    );
  },
);

/**
 * The fixed sinusoidal encoding added to `x` (`k.nn.sinusoidalPositionalEncoding`); no params.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pos = k.nn.layers.sinusoidalPositionalEncoding(64, { batchFirst: true });
 * ```
 */
export const sinusoidalPositionalEncoding: (
  dModel: number,
  opts?: { batchFirst?: boolean },
) => Layer<Empty, Empty> = E.publicOp(
  "nn.layers.sinusoidalPositionalEncoding",
  (dModel: number, opts: { batchFirst?: boolean } = {}) => {
    const op = "nn.layers.sinusoidalPositionalEncoding";
    const d = E.checkInt(op, dModel, "dModel", 1);
    const bf = E.checkOptions(op, opts, ["batchFirst"]).batchFirst === true;
    return layer<Empty>(`sinusoidalPositionalEncoding(${d})`, () => ({}), (_p, x) => {
      const t = E.checkTensorArg<Tensor>(op, x, "x");
      if (t.ndim < 2 || t.shape[t.ndim - 1] !== d) {
        throw E.shapeError(
          op,
          `x must be [T, B, ${d}], [B, T, ${d}] or [T, ${d}], got [${t.shape}]`,
        );
      }
      const len = t.shape[t.ndim === 3 && bf ? 1 : 0];
      const pe = sinusoid(len, d, { dtype: t.dtype as FloatDType, device: t.device });
      return k.add(t, t.ndim === 3 && !bf ? k.expandDims(pe, 1) : pe);
    });
  },
);
