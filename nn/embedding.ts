/**
 * Token and position embeddings: `embedding` (torch's `nn.Embedding`: `weight [num, dim]`,
 * `N(0, 1)` init, optional `paddingIdx`), the fixed `sinusoidalPositionalEncoding` of
 * "Attention Is All You Need", and a learned `positionalEmbedding`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { fmt } from "./attention.ts";
import type { FloatDType } from "./initializers.ts";

const E = k.errors;
const FLOATS = ["float16", "float32", "float64"] as const;

/** Parameters of `embedding` and `positionalEmbedding`: torch's `weight [num, dim]`. */
export type EmbeddingParams = {
  /** One row per token (or position). */
  weight: Tensor;
};

/** Options of `embedding.init`. */
export interface EmbeddingInitOptions {
  /** This row starts at zero (torch's `padding_idx`; negative counts from the end). */
  paddingIdx?: number;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/** Options of `embedding.apply`. */
export interface EmbeddingApplyOptions {
  /** Positions with this id get no gradient into their row (torch's `padding_idx`). */
  paddingIdx?: number;
}

/** The `embedding` layer: `init` and `apply`. */
export interface Embedding {
  /** `{weight: [numEmbeddings, embeddingDim]}` from `N(0, 1)`, the `paddingIdx` row zero. */
  init(
    key: Tensor,
    numEmbeddings: number,
    embeddingDim: number,
    opts?: EmbeddingInitOptions,
  ): EmbeddingParams;
  /** Rows of `weight` for int32 `ids` of any shape: `[...ids.shape, dim]`. */
  apply(params: EmbeddingParams, ids: Tensor, opts?: EmbeddingApplyOptions): Tensor;
}

function padIndex(op: string, v: unknown, n: number): number {
  const p = E.checkInt(op, v, "paddingIdx");
  if (p < -n || p >= n) throw E.rangeError(op, `paddingIdx must be in [${-n}, ${n}), got ${p}`);
  return p < 0 ? p + n : p;
}

function checkWeight(op: string, params: unknown): Tensor {
  const w = E.isPlainObject(params) ? params.weight : undefined;
  if (!E.isTensorValue(w) || (w as Tensor).ndim !== 2) {
    throw E.typeError(op, `params must be {weight: Tensor [num, dim]}, got ${E.describe(params)}`);
  }
  return w as Tensor;
}

const embeddingInit = E.publicOp(
  "nn.embedding.init",
  (
    key: Tensor,
    numEmbeddings: number,
    embeddingDim: number,
    opts: EmbeddingInitOptions = {},
  ): EmbeddingParams => {
    const op = "nn.embedding.init";
    const n = E.checkInt(op, numEmbeddings, "numEmbeddings", 1);
    const d = E.checkInt(op, embeddingDim, "embeddingDim", 1);
    const o = E.checkOptions(op, opts, ["paddingIdx", "dtype"]);
    const dtype = o.dtype === undefined ? "float32" : E.checkOneOf(op, o.dtype, FLOATS, "dtype");
    let w = k.random.normal(key, [n, d], { dtype });
    if (o.paddingIdx !== undefined) {
      const p = padIndex(op, o.paddingIdx, n);
      const row = k.reshape(k.equal(k.arange(n, null, 1, { device: key.device }), p), [n, 1]);
      w = k.where(row, 0, w);
    }
    return { weight: w };
  },
);

/**
 * Ids outside `[0, n)` are an error where their values are at hand (concrete CPU tensors, as
 * torch's `Embedding` raises); inside `jit`/`vmap`, and on WebGPU (no synchronous read), the
 * lookup follows `k.take` (negative ids count from the end, the rest are clamped).
 */
function checkIds(op: string, ids: Tensor, n: number): void {
  if (ids.device !== "cpu" || ids.isTraced) return;
  const v = ids.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= n) {
      throw E.rangeError(
        op,
        `ids must be in [0, ${n}) for a table of ${n} rows, got ${v[i]} at flat position ${i} ` +
          `of ids ${fmt(ids.shape)}`,
      );
    }
  }
}

const embeddingApply = E.publicOp(
  "nn.embedding.apply",
  (params: EmbeddingParams, ids: Tensor, opts: EmbeddingApplyOptions = {}): Tensor => {
    const op = "nn.embedding.apply";
    const w = checkWeight(op, params);
    const o = E.checkOptions(op, opts, ["paddingIdx"]);
    const t = E.checkTensorArg<Tensor>(op, ids, "ids");
    if (t.dtype !== "int32") {
      throw E.typeError(op, `ids must be int32, got ${t.dtype} ${fmt(t.shape)}`);
    }
    checkIds(op, t, w.shape[0]);
    const rows = k.take(w, t, { axis: 0 });
    if (o.paddingIdx === undefined) return rows;
    // torch keeps the padding row out of the gradient; its value is whatever the row holds.
    const pad = k.expandDims(k.equal(t, padIndex(op, o.paddingIdx, w.shape[0])), -1);
    return k.where(pad, k.stopGradient(rows), rows);
  },
);

/**
 * A lookup table (torch's `nn.Embedding`): `apply` picks rows of `weight` by int32 ids with
 * `k.take`. Out-of-range ids are clamped, as `k.take` does (no device read to check them).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.embedding.init(k.random.key(0), 100, 16, { paddingIdx: 0 });
 * const x = k.nn.embedding.apply(p, k.tensor([[1, 5, 0]], { dtype: "int32" })); // [1, 3, 16]
 * ```
 */
export const embedding: Embedding = { init: embeddingInit, apply: embeddingApply };

/** Options of `sinusoidalPositionalEncoding`. */
export interface SinusoidalOptions {
  /** Result dtype (default float32). */
  dtype?: FloatDType;
  /** Result device (default: the default device). */
  device?: string;
  /** The wavelength base (default 10000). */
  base?: number;
}

/**
 * The fixed positional encoding `[length, dModel]` of Vaswani et al.: for position `p`,
 * column `2i` is `sin(p / base^(2i/dModel))` and column `2i + 1` the matching `cos`
 * (interleaved, as the PyTorch tutorial's `PositionalEncoding`). Add it to `[T, B, dModel]`
 * inputs as `k.expandDims(pe, 1)`, to batch-first ones as it is.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const pe = k.nn.sinusoidalPositionalEncoding(50, 16); // [50, 16]
 * ```
 */
export function sinusoidalPositionalEncoding(
  length: number,
  dModel: number,
  opts: SinusoidalOptions = {},
): Tensor {
  const op = "nn.sinusoidalPositionalEncoding";
  return E.userOp(op, () => {
    const l = E.checkInt(op, length, "length", 1);
    const d = E.checkInt(op, dModel, "dModel", 1);
    const o = E.checkOptions(op, opts, ["dtype", "device", "base"]);
    const dtype = o.dtype === undefined ? "float32" : E.checkOneOf(op, o.dtype, FLOATS, "dtype");
    const base = o.base === undefined ? 10000 : E.checkNumber(op, o.base, "base");
    const v = new Float64Array(l * d);
    for (let p = 0; p < l; p++) {
      for (let j = 0; j < d; j++) {
        const a = p / Math.pow(base, (j - (j % 2)) / d);
        v[p * d + j] = j % 2 === 0 ? Math.sin(a) : Math.cos(a);
      }
    }
    return k.tensor(v, { shape: [l, d], dtype, device: o.device });
  });
}

/** Options of `positionalEmbedding.apply`. */
export interface PositionalEmbeddingApplyOptions {
  /** `x` is `[B, T, d]` (default false: `[T, B, d]`, or `[T, d]` unbatched). */
  batchFirst?: boolean;
  /** Position of the first step (default 0), for decoding one step at a time. */
  offset?: number;
}

/** The learned `positionalEmbedding`: `init` and `apply`. */
export interface PositionalEmbedding {
  /** `{weight: [maxLength, dModel]}` from `N(0, 1)` (an `nn.Embedding` of positions). */
  init(
    key: Tensor,
    maxLength: number,
    dModel: number,
    opts?: { dtype?: FloatDType },
  ): EmbeddingParams;
  /** `x` plus the rows `offset … offset + T − 1` of `weight`, broadcast over the batch. */
  apply(params: EmbeddingParams, x: Tensor, opts?: PositionalEmbeddingApplyOptions): Tensor;
}

/**
 * Learned absolute positions (as GPT's `wpe`): a `[maxLength, dModel]` table whose first `T`
 * rows are added to a length-`T` sequence.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.positionalEmbedding.init(k.random.key(0), 128, 16);
 * const y = k.nn.positionalEmbedding.apply(p, k.zeros([4, 10, 16]), { batchFirst: true });
 * ```
 */
export const positionalEmbedding: PositionalEmbedding = {
  init: E.publicOp(
    "nn.positionalEmbedding.init",
    (key: Tensor, maxLength: number, dModel: number, opts: { dtype?: FloatDType } = {}) => {
      const op = "nn.positionalEmbedding.init";
      const o = E.checkOptions(op, opts, ["dtype"]);
      return embeddingInit(key, E.checkInt(op, maxLength, "maxLength", 1), dModel, {
        dtype: o.dtype,
      });
    },
  ),
  apply: E.publicOp(
    "nn.positionalEmbedding.apply",
    (params: EmbeddingParams, x: Tensor, opts: PositionalEmbeddingApplyOptions = {}) => {
      const op = "nn.positionalEmbedding.apply";
      const w = checkWeight(op, params);
      const o = E.checkOptions(op, opts, ["batchFirst", "offset"]);
      const t = E.checkTensorArg<Tensor>(op, x, "x");
      const bf = o.batchFirst !== undefined && E.checkBool(op, o.batchFirst, "batchFirst");
      const off = o.offset === undefined ? 0 : E.checkInt(op, o.offset, "offset", 0);
      const [maxLen, d] = w.shape;
      const tAxis = t.ndim === 3 && bf ? 1 : 0;
      if ((t.ndim !== 2 && t.ndim !== 3) || t.shape[t.ndim - 1] !== d) {
        throw E.shapeError(
          op,
          `x must be [T, B, ${d}], [B, T, ${d}] (batchFirst) or [T, ${d}], got ${fmt(t.shape)}`,
        );
      }
      const len = t.shape[tAxis];
      if (off + len > maxLen) {
        throw E.shapeError(
          op,
          `positions ${off}..${off + len - 1} exceed the table's ${maxLen} rows (x ${
            fmt(t.shape)
          })`,
        );
      }
      const rows = k.slice(w, [[off, off + len]]);
      return k.add(t, t.ndim === 3 && !bf ? k.expandDims(rows, 1) : rows);
    },
  ),
};
