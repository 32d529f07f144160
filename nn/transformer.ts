/**
 * `transformerEncoderLayer` and `transformerDecoderLayer`: torch's `nn.TransformerEncoderLayer`
 * / `nn.TransformerDecoderLayer` (post-norm by default, `normFirst` for pre-norm, relu or gelu,
 * layerNorm eps 1e-5, time-first unless `batchFirst`) with torch's parameter names and layouts
 * (`linear1.weight [F, E]`, …), so a state dict loads by renaming keys. Dropout runs only when
 * `apply` gets a `key` (training); without one the layer is in evaluation mode.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { gelu } from "./activations.ts";
import type { FloatDType } from "./initializers.ts";
import { dropout as dropoutFn } from "./layers.ts";
import { multiHeadAttention, type MultiHeadAttentionParams, torchLinear } from "./multihead.ts";
import { layerNorm, type NormParams } from "./normalization.ts";

const E = k.errors;

/** A linear map in torch's layout: `weight [out, in]`, `bias [out]`. */
export type TorchLinearParams = {
  /** `[out, in]`. */
  weight: Tensor;
  /** `[out]`. */
  bias?: Tensor;
};

/** Parameters of `transformerEncoderLayer` (torch's submodule names). */
export type TransformerEncoderLayerParams = {
  /** Self-attention. */
  selfAttn: MultiHeadAttentionParams;
  /** `[F, E]` feed-forward input. */
  linear1: TorchLinearParams;
  /** `[E, F]` feed-forward output. */
  linear2: TorchLinearParams;
  /** LayerNorm of the attention block. */
  norm1: NormParams;
  /** LayerNorm of the feed-forward block. */
  norm2: NormParams;
};

/** Parameters of `transformerDecoderLayer`: the encoder's plus cross-attention and `norm3`. */
export type TransformerDecoderLayerParams = TransformerEncoderLayerParams & {
  /** Cross-attention over the memory (torch's `multihead_attn`). */
  multiheadAttn: MultiHeadAttentionParams;
  /** LayerNorm of the feed-forward block (`norm2` is the cross-attention's). */
  norm3: NormParams;
};

/** Options of the transformer layers' `init`. */
export interface TransformerInitOptions {
  /** Hidden size of the feed-forward block (default 2048, as torch). */
  dimFeedforward?: number;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/** Options shared by the transformer layers' `apply`. */
export interface TransformerApplyOptions {
  /** Number of attention heads (required: the params do not record it). */
  numHeads: number;
  /** Pre-norm: `x + f(norm(x))` (default false: post-norm `norm(x + f(x))`, torch's default). */
  normFirst?: boolean;
  /** `"relu"` (default), `"gelu"` (exact), or a function. */
  activation?: "relu" | "gelu" | ((x: Tensor) => Tensor);
  /** LayerNorm eps (default 1e-5). */
  eps?: number;
  /** `[B, T, E]` inputs and outputs (default false: `[T, B, E]`). */
  batchFirst?: boolean;
  /** Dropout probability (default 0.1, torch's), applied only when `key` is given. */
  dropout?: number;
  /** Key of the dropout draws: pass one in training, none in evaluation. */
  key?: Tensor;
}

/** Options of `transformerEncoderLayer.apply`. */
export interface TransformerEncoderApplyOptions extends TransformerApplyOptions {
  /** `[T, T]` (or `[B·heads, T, T]`) attention mask, torch's meaning (bool true = blocked). */
  srcMask?: Tensor;
  /** `[B, T]`, true = padding. */
  srcKeyPaddingMask?: Tensor;
  /** Causal self-attention. */
  causal?: boolean;
}

/** Options of `transformerDecoderLayer.apply`. */
export interface TransformerDecoderApplyOptions extends TransformerApplyOptions {
  /** Self-attention mask over the target (torch's `tgt_mask`). */
  tgtMask?: Tensor;
  /** Cross-attention mask (torch's `memory_mask`). */
  memoryMask?: Tensor;
  /** `[B, T]`, true = padding in the target. */
  tgtKeyPaddingMask?: Tensor;
  /** `[B, S]`, true = padding in the memory. */
  memoryKeyPaddingMask?: Tensor;
  /** Causal self-attention over the target. */
  causal?: boolean;
}

/** The `transformerEncoderLayer`: `init` and `apply`. */
export interface TransformerEncoderLayer {
  /** torch's init: attention as `multiHeadAttention`, linears `U(±1/√in)`, norms ones/zeros. */
  init(
    key: Tensor,
    dModel: number,
    numHeads: number,
    opts?: TransformerInitOptions,
  ): TransformerEncoderLayerParams;
  /** Self-attention block then feed-forward block, each with residual and layerNorm. */
  apply(
    params: TransformerEncoderLayerParams,
    src: Tensor,
    opts: TransformerEncoderApplyOptions,
  ): Tensor;
}

/** The `transformerDecoderLayer`: `init` and `apply`. */
export interface TransformerDecoderLayer {
  /** As the encoder layer's, plus `multiheadAttn` and `norm3`. */
  init(
    key: Tensor,
    dModel: number,
    numHeads: number,
    opts?: TransformerInitOptions,
  ): TransformerDecoderLayerParams;
  /** Self-attention over `tgt`, cross-attention over `memory`, feed-forward. */
  apply(
    params: TransformerDecoderLayerParams,
    tgt: Tensor,
    memory: Tensor,
    opts: TransformerDecoderApplyOptions,
  ): Tensor;
}

const FLOATS = ["float16", "float32", "float64"] as const;

function initCommon(
  op: string,
  key: Tensor,
  dModel: number,
  numHeads: number,
  opts: TransformerInitOptions,
  n: number,
) {
  const e = E.checkInt(op, dModel, "dModel", 1);
  const h = E.checkInt(op, numHeads, "numHeads", 1);
  if (e % h !== 0) throw E.shapeError(op, `numHeads ${h} does not divide dModel ${e}`);
  const o = E.checkOptions(op, opts, ["dimFeedforward", "dtype"]);
  const f = o.dimFeedforward === undefined
    ? 2048
    : E.checkInt(op, o.dimFeedforward, "dimFeedforward", 1);
  const dtype = o.dtype === undefined ? "float32" : E.checkOneOf(op, o.dtype, FLOATS, "dtype");
  const ks = k.random.split(key, n + 4);
  const lin = (i: number, out: number, inp: number): TorchLinearParams => {
    const b = 1 / Math.sqrt(inp), u = { minval: -b, maxval: b, dtype };
    return {
      weight: k.random.uniform(ks[i], [out, inp], u),
      bias: k.random.uniform(ks[i + 1], [out], u),
    };
  };
  const norm = () => layerNorm.init(e, { dtype, device: key.device });
  const attn = (i: number) => multiHeadAttention.init(ks[4 + i], e, { dtype });
  return { linear1: lin(0, f, e), linear2: lin(2, e, f), norm, attn };
}

function activationOf(op: string, a: unknown): (x: Tensor) => Tensor {
  if (a === undefined || a === "relu") return k.relu;
  if (a === "gelu") return (x) => gelu(x);
  if (typeof a === "function") return E.userCallback(a as (x: Tensor) => Tensor);
  throw E.typeError(op, `activation must be "relu", "gelu" or a function, got ${E.describe(a)}`);
}

/** The parts every layer's apply shares: dropout, norms, feed-forward, a residual block. */
function blocks(op: string, p: TransformerEncoderLayerParams, o: TransformerApplyOptions) {
  if (!E.isPlainObject(p) || !E.isPlainObject(p.linear1) || !E.isPlainObject(p.linear2)) {
    throw E.typeError(
      op,
      `params must be {selfAttn, linear1, linear2, norm1, norm2, ...} (from ${
        op.replace(".apply", ".init")
      }), got ${E.describe(p)}`,
    );
  }
  const rate = o.dropout === undefined ? 0.1 : E.checkNumber(op, o.dropout, "dropout");
  if (!(rate >= 0 && rate <= 1)) throw E.rangeError(op, `dropout must be in [0, 1], got ${rate}`);
  const key = o.key === undefined ? undefined : E.checkTensorArg<Tensor>(op, o.key, "key");
  const eps = o.eps === undefined ? 1e-5 : E.checkNumber(op, o.eps, "eps");
  const pre = o.normFirst !== undefined && E.checkBool(op, o.normFirst, "normFirst");
  const act = activationOf(op, o.activation);
  let n = 0;
  const drop = (x: Tensor) => key && rate > 0 ? dropoutFn(k.random.foldIn(key, n++), x, rate) : x;
  const attnOpts = () => ({
    numHeads: o.numHeads,
    batchFirst: true,
    dropout: rate,
    key: key && k.random.foldIn(key, 100 + n++),
  });
  const norm = (np: NormParams, x: Tensor) => layerNorm.apply(np, x, { eps });
  const ff = (x: Tensor) =>
    drop(
      torchLinear(
        drop(act(torchLinear(x, p.linear1.weight, p.linear1.bias))),
        p.linear2.weight,
        p.linear2.bias,
      ),
    );
  /** One residual block: pre-norm `x + f(norm(x))` or post-norm `norm(x + f(x))`. */
  const residual = (x: Tensor, np: NormParams, f: (y: Tensor) => Tensor) =>
    pre ? k.add(x, f(norm(np, x))) : norm(np, k.add(x, f(x)));
  const bf = o.batchFirst !== undefined && E.checkBool(op, o.batchFirst, "batchFirst");
  // Internally batch-first; unbatched [T, E] passes through as it is.
  const toBf = (x: Tensor) => x.ndim === 3 && !bf ? k.transpose(x, [1, 0, 2]) : x;
  return { drop, attnOpts, ff, residual, toBf };
}

const encoderInit = (
  key: Tensor,
  dModel: number,
  numHeads: number,
  opts: TransformerInitOptions = {},
) => {
  const c = initCommon("nn.transformerEncoderLayer.init", key, dModel, numHeads, opts, 1);
  return {
    selfAttn: c.attn(0),
    linear1: c.linear1,
    linear2: c.linear2,
    norm1: c.norm(),
    norm2: c.norm(),
  };
};

function encoderApply(
  p: TransformerEncoderLayerParams,
  src: Tensor,
  opts: TransformerEncoderApplyOptions,
): Tensor {
  const op = "nn.transformerEncoderLayer.apply";
  const o = E.checkOptions(op, opts, [
    "numHeads",
    "normFirst",
    "activation",
    "eps",
    "batchFirst",
    "dropout",
    "key",
    "srcMask",
    "srcKeyPaddingMask",
    "causal",
  ]);
  const b = blocks(op, p, o);
  const x = b.toBf(E.checkTensorArg<Tensor>(op, src, "src"));
  const sa = (y: Tensor) =>
    b.drop(
      multiHeadAttention.apply(p.selfAttn, y, y, y, {
        ...b.attnOpts(),
        attnMask: o.srcMask,
        keyPaddingMask: o.srcKeyPaddingMask,
        causal: o.causal,
      })[0],
    );
  return b.toBf(b.residual(b.residual(x, p.norm1, sa), p.norm2, b.ff));
}

const decoderInit = (
  key: Tensor,
  dModel: number,
  numHeads: number,
  opts: TransformerInitOptions = {},
) => {
  const c = initCommon("nn.transformerDecoderLayer.init", key, dModel, numHeads, opts, 2);
  return {
    selfAttn: c.attn(0),
    multiheadAttn: c.attn(1),
    linear1: c.linear1,
    linear2: c.linear2,
    norm1: c.norm(),
    norm2: c.norm(),
    norm3: c.norm(),
  };
};

function decoderApply(
  p: TransformerDecoderLayerParams,
  tgt: Tensor,
  memory: Tensor,
  opts: TransformerDecoderApplyOptions,
): Tensor {
  const op = "nn.transformerDecoderLayer.apply";
  const o = E.checkOptions(op, opts, [
    "numHeads",
    "normFirst",
    "activation",
    "eps",
    "batchFirst",
    "dropout",
    "key",
    "tgtMask",
    "memoryMask",
    "tgtKeyPaddingMask",
    "memoryKeyPaddingMask",
    "causal",
  ]);
  const b = blocks(op, p, o);
  const x = b.toBf(E.checkTensorArg<Tensor>(op, tgt, "tgt"));
  const mem = b.toBf(E.checkTensorArg<Tensor>(op, memory, "memory"));
  if (mem.ndim !== x.ndim) {
    throw E.shapeError(
      op,
      `tgt [${tgt.shape}] and memory [${memory.shape}] must both be batched or both unbatched`,
    );
  }
  const sa = (y: Tensor) =>
    b.drop(
      multiHeadAttention.apply(p.selfAttn, y, y, y, {
        ...b.attnOpts(),
        attnMask: o.tgtMask,
        keyPaddingMask: o.tgtKeyPaddingMask,
        causal: o.causal,
      })[0],
    );
  const ca = (y: Tensor) =>
    b.drop(
      multiHeadAttention.apply(p.multiheadAttn, y, mem, mem, {
        ...b.attnOpts(),
        attnMask: o.memoryMask,
        keyPaddingMask: o.memoryKeyPaddingMask,
      })[0],
    );
  return b.toBf(b.residual(b.residual(b.residual(x, p.norm1, sa), p.norm2, ca), p.norm3, b.ff));
}

/**
 * torch's `nn.TransformerEncoderLayer`: `x = norm1(x + sa(x)); x = norm2(x + ff(x))`
 * (pre-norm with `normFirst`), `ff = linear2(dropout(act(linear1(x))))`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.transformerEncoderLayer.init(k.random.key(0), 16, 4, { dimFeedforward: 32 });
 * const y = k.nn.transformerEncoderLayer.apply(p, k.ones([7, 2, 16]), { numHeads: 4, causal: true });
 * ```
 */
export const transformerEncoderLayer: TransformerEncoderLayer = {
  init: E.publicOp("nn.transformerEncoderLayer.init", encoderInit),
  apply: E.publicOp("nn.transformerEncoderLayer.apply", encoderApply),
};

/**
 * torch's `nn.TransformerDecoderLayer`: self-attention (`norm1`), cross-attention over
 * `memory` (`norm2`), feed-forward (`norm3`), post- or pre-norm.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.transformerDecoderLayer.init(k.random.key(0), 16, 4, { dimFeedforward: 32 });
 * const y = k.nn.transformerDecoderLayer.apply(p, k.ones([5, 2, 16]), k.ones([7, 2, 16]), {
 *   numHeads: 4,
 *   causal: true,
 * });
 * ```
 */
export const transformerDecoderLayer: TransformerDecoderLayer = {
  init: E.publicOp("nn.transformerDecoderLayer.init", decoderInit),
  apply: E.publicOp("nn.transformerDecoderLayer.apply", decoderApply),
};
