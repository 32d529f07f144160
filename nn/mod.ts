/**
 * Pure neural-network building blocks on the public core API: layers as `init`/`apply` pairs
 * over plain parameter objects (`linear`, `mlp`, `dropout`), activations, losses and metrics,
 * and initializers `(key, shape, dtype?) → Tensor`. Nothing here holds state or hidden
 * randomness: every random draw takes an explicit key.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.mlp.init(k.random.key(0), [4, 16, 3]);
 * const x = k.random.normal(k.random.key(1), [8, 4]);
 * const y = k.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: "int32" });
 * const loss = (p: typeof params) => k.nn.softmaxCrossEntropy(k.nn.mlp.apply(p, x), y);
 * const [value, grads] = k.valueAndGrad(loss)(params);
 * console.log(await value.item(), await k.nn.accuracy(k.nn.mlp.apply(params, x), y).item());
 * ```
 * @module
 */
export {
  elu,
  gelu,
  type GeluOptions,
  leakyRelu,
  relu,
  sigmoid,
  silu,
  softplus,
  tanh,
} from "./activations.ts";
export {
  accuracy,
  hinge,
  type HingeOptions,
  type LossOptions,
  mse,
  type Reduction,
  sigmoidBinaryCrossEntropy,
  softmaxCrossEntropy,
  type SoftmaxCrossEntropyOptions,
} from "./losses.ts";
export {
  computeFans,
  constant,
  type Distribution,
  type FanMode,
  type FloatDType,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  type Initializer,
  lecunNormal,
  lecunUniform,
  ones,
  orthogonal,
  varianceScaling,
  zeros,
} from "./initializers.ts";
export {
  dropout,
  type DropoutOptions,
  type Linear,
  linear,
  type LinearInitOptions,
  type LinearParams,
  type Mlp,
  mlp,
  type MlpApplyOptions,
  type MlpParams,
} from "./layers.ts";
export {
  type BatchNorm,
  batchNorm,
  type BatchNormApplyOptions,
  type BatchNormInitOptions,
  type BatchNormState,
} from "./batch_norm.ts";
export {
  type AffineNormInitOptions,
  type GroupNorm,
  groupNorm,
  type GroupNormApplyOptions,
  type InstanceNorm,
  instanceNorm,
  type InstanceNormApplyOptions,
  type LayerNorm,
  layerNorm,
  type LayerNormApplyOptions,
  type LayerNormInitOptions,
  type NormInitOptions,
  type NormParams,
} from "./normalization.ts";
export {
  avgPool2d,
  type AvgPool2dOptions,
  type Conv,
  conv1d,
  conv2d,
  conv3d,
  type ConvApplyOptions,
  type ConvInitOptions,
  type ConvParams,
  type ConvTranspose,
  convTranspose2d,
  type ConvTransposeApplyOptions,
  flatten,
  type FlattenOptions,
  maxPool2d,
  type MaxPool2dOptions,
  type Padding,
  type Spatial,
} from "./conv.ts";
export {
  type ApplyContext,
  type Empty,
  type Layer,
  type LayerLike,
  type LayerVariables,
  type ParamsOf,
  type Sequential,
  sequential,
  type StateOf,
} from "./sequential.ts";
/** Configured layers for `sequential` (`layers.conv2d(1, 32, 3, {padding: 1})`, …). */
export * as layers from "./layer_builders.ts";
export { dotProductAttention, type DotProductAttentionOptions } from "./attention.ts";
export {
  type MultiHeadAttention,
  multiHeadAttention,
  type MultiHeadAttentionApplyOptions,
  type MultiHeadAttentionInitOptions,
  type MultiHeadAttentionParams,
} from "./multihead.ts";
export {
  type Cell,
  type CellInitOptions,
  type CellParams,
  gruCell,
  type LstmCarry,
  lstmCell,
  rnnCell,
  type RnnCellApplyOptions,
} from "./recurrent_cells.ts";
export {
  gru,
  lstm,
  type Recurrent,
  type RecurrentApplyOptions,
  type RecurrentInitOptions,
  type RecurrentParams,
  rnn,
} from "./recurrent.ts";
export {
  type Embedding,
  embedding,
  type EmbeddingApplyOptions,
  type EmbeddingInitOptions,
  type EmbeddingParams,
  type PositionalEmbedding,
  positionalEmbedding,
  type PositionalEmbeddingApplyOptions,
  type SinusoidalOptions,
  sinusoidalPositionalEncoding,
} from "./embedding.ts";
export {
  type TorchLinearParams,
  type TransformerApplyOptions,
  type TransformerDecoderApplyOptions,
  type TransformerDecoderLayer,
  transformerDecoderLayer,
  type TransformerDecoderLayerParams,
  type TransformerEncoderApplyOptions,
  type TransformerEncoderLayer,
  transformerEncoderLayer,
  type TransformerEncoderLayerParams,
  type TransformerInitOptions,
} from "./transformer.ts";
export {
  gcnNorm,
  type GcnNormOptions,
  type Graph,
  type GraphConv,
  graphConv,
  type GraphConvApplyOptions,
  type GraphConvInitOptions,
  type GraphConvParams,
  messagePassing,
  type MessagePassingOptions,
} from "./graph.ts";
