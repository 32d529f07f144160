/**
 * `multiHeadAttention` with the semantics, parameter layout and defaults of
 * `torch.nn.MultiheadAttention` (packed `in_proj_weight [3E, E]`, `out_proj`, time-first
 * input unless `batchFirst`, boolean masks where **true means "do not attend"**), so a
 * PyTorch state dict loads by renaming its keys.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { attend, broadcastsTo, causalMask, fmt } from "./attention.ts";
import type { FloatDType } from "./initializers.ts";

const E = k.errors;

/**
 * Parameters of `multiHeadAttention` (torch's names in camelCase; no biases with `bias: false`):
 * the packed `inProjWeight` when keys and values have the embedding size, else (`kdim`/`vdim`)
 * the separate `qProjWeight`, `kProjWeight`, `vProjWeight`, as torch.
 */
export type MultiHeadAttentionParams = {
  /** Packed query, key and value projections, `[3E, E]` (torch's `in_proj_weight`). */
  inProjWeight?: Tensor;
  /** `[E, E]` (torch's `q_proj_weight`), with `kdim`/`vdim` only. */
  qProjWeight?: Tensor;
  /** `[E, kdim]` (torch's `k_proj_weight`), with `kdim`/`vdim` only. */
  kProjWeight?: Tensor;
  /** `[E, vdim]` (torch's `v_proj_weight`), with `kdim`/`vdim` only. */
  vProjWeight?: Tensor;
  /** `[3E]`, zeros at init (`in_proj_bias`). */
  inProjBias?: Tensor;
  /** `[E, E]` (`out_proj.weight`, `[out, in]`). */
  outProjWeight: Tensor;
  /** `[E]`, zeros at init (`out_proj.bias`). */
  outProjBias?: Tensor;
};

/** Options of `multiHeadAttention.init`. */
export interface MultiHeadAttentionInitOptions {
  /** Projection biases (default true). */
  bias?: boolean;
  /** Feature size of `key` (default `embedDim`); torch's `kdim`. */
  kdim?: number;
  /** Feature size of `value` (default `embedDim`); torch's `vdim`. */
  vdim?: number;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/** Options of `multiHeadAttention.apply`. */
export interface MultiHeadAttentionApplyOptions {
  /** Number of heads; must divide the embedding size. Required (the params do not record it). */
  numHeads: number;
  /** Inputs are `[batch, seq, E]` (default false: `[seq, batch, E]`, torch's default). */
  batchFirst?: boolean;
  /** `[B, S]`: bool, true = padding (ignored key), or float added to the scores. */
  keyPaddingMask?: Tensor;
  /** `[L, S]` or `[B·numHeads, L, S]`: bool, true = not allowed, or float added to the scores. */
  attnMask?: Tensor;
  /** Adds the causal mask (query `i` sees keys `j <= i`). */
  causal?: boolean;
  /** Average the returned weights over heads (default true, as torch). */
  averageAttnWeights?: boolean;
  /** Dropout probability on the attention weights (default 0); applied only with `key`. */
  dropout?: number;
  /** Key of the dropout draw (training). */
  key?: Tensor;
}

/** The `multiHeadAttention` layer: `init` and `apply`. */
export interface MultiHeadAttention {
  /** torch's init: `in_proj_weight` Xavier-uniform, `out_proj.weight` `U(±1/√E)`, biases 0. */
  init(
    key: Tensor,
    embedDim: number,
    opts?: MultiHeadAttentionInitOptions,
  ): MultiHeadAttentionParams;
  /**
   * `[output, weights]`: output `[L, B, E]` (`[B, L, E]` batch-first, `[L, E]` unbatched) and
   * the attention weights `[B, L, S]` averaged over heads (`[B, heads, L, S]` without averaging).
   * The weights are lazy: they cost nothing unless used.
   */
  apply(
    params: MultiHeadAttentionParams,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiHeadAttentionApplyOptions,
  ): [Tensor, Tensor];
}

const FLOATS = ["float16", "float32", "float64"] as const;

function mhaInit(
  key: Tensor,
  embedDim: number,
  opts: MultiHeadAttentionInitOptions = {},
): MultiHeadAttentionParams {
  const op = "nn.multiHeadAttention.init";
  const e = E.checkInt(op, embedDim, "embedDim", 1);
  const o = E.checkOptions(op, opts, ["bias", "dtype", "kdim", "vdim"]);
  const kd = o.kdim === undefined ? e : E.checkInt(op, o.kdim, "kdim", 1);
  const vd = o.vdim === undefined ? e : E.checkInt(op, o.vdim, "vdim", 1);
  const dtype = o.dtype === undefined ? "float32" : E.checkOneOf(op, o.dtype, FLOATS, "dtype");
  const bias = o.bias === undefined ? true : E.checkBool(op, o.bias, "bias");
  const [k1, k2, k3, k4] = k.random.split(key, 4);
  const u = (kk: Tensor, shape: number[], b: number) =>
    k.random.uniform(kk, shape, { minval: -b, maxval: b, dtype });
  // Xavier-uniform of each projection matrix, `U(±√(6/(fanIn + fanOut)))`.
  const xav = (kk: Tensor, out: number, inp: number) =>
    u(kk, [out, inp], Math.sqrt(6 / (out + inp)));
  const p: MultiHeadAttentionParams = kd === e && vd === e
    ? { inProjWeight: xav(k1, 3 * e, e), outProjWeight: u(k2, [e, e], 1 / Math.sqrt(e)) }
    : {
      qProjWeight: xav(k1, e, e),
      kProjWeight: xav(k3, e, kd),
      vProjWeight: xav(k4, e, vd),
      outProjWeight: u(k2, [e, e], 1 / Math.sqrt(e)),
    };
  if (bias) {
    p.inProjBias = k.zeros([3 * e], { dtype, device: key.device });
    p.outProjBias = k.zeros([e], { dtype, device: key.device });
  }
  return p;
}

/** `x @ wᵀ + b` for a torch-layout weight `[out, in]`. @internal */
export function torchLinear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = k.matmul(x, k.transpose(w));
  return b ? k.add(y, b) : y;
}

/** Splits a torch mask into the boolean "attend" part and the float additive part. */
function maskParts(m: Tensor): { valid?: Tensor; bias?: Tensor } {
  return m.dtype === "bool" ? { valid: k.logicalNot(m) } : { bias: m };
}

/** The four projection weights `[wq, wk, wv, wo]`, packed or separate, checked. */
function projections(op: string, params: unknown): Tensor[] {
  const p = (E.isPlainObject(params) ? params : {}) as MultiHeadAttentionParams;
  const packed = E.isTensorValue(p.inProjWeight);
  const ws = packed ? [] : [p.qProjWeight, p.kProjWeight, p.vProjWeight];
  if (!E.isTensorValue(p.outProjWeight) || !(packed || ws.every(E.isTensorValue))) {
    throw E.typeError(
      op,
      `params must be {inProjWeight, inProjBias, outProjWeight, outProjBias} (or q/k/vProjWeight), got ${
        E.describe(params)
      }`,
    );
  }
  const wo = p.outProjWeight, e = wo.shape[0];
  const shapes = packed ? fmt(p.inProjWeight!.shape) : ws.map((w) => fmt(w!.shape)).join(", ");
  const ok = wo.ndim === 2 && wo.shape[1] === e &&
    (packed
      ? p.inProjWeight!.ndim === 2 && fmt(p.inProjWeight!.shape) === fmt([3 * e, e])
      : ws.every((w) => w!.ndim === 2 && w!.shape[0] === e) && ws[0]!.shape[1] === e);
  if (!ok) {
    throw E.shapeError(
      op,
      `params: outProjWeight ${
        fmt(wo.shape)
      } needs inProjWeight [3E, E] (or qProjWeight [E, E], kProjWeight [E, kdim], vProjWeight [E, vdim]) with E = ${e}, got ${shapes}`,
    );
  }
  if (p.inProjBias !== undefined && fmt(p.inProjBias.shape) !== fmt([3 * e])) {
    throw E.shapeError(op, `params.inProjBias must be [${3 * e}], got ${fmt(p.inProjBias.shape)}`);
  }
  return [...(packed ? k.split(p.inProjWeight!, 3, { axis: 0 }) : ws as Tensor[]), wo];
}

function mhaApply(
  params: MultiHeadAttentionParams,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  opts: MultiHeadAttentionApplyOptions,
): [Tensor, Tensor] {
  const op = "nn.multiHeadAttention.apply";
  const o = E.checkOptions(op, opts, [
    "numHeads",
    "batchFirst",
    "keyPaddingMask",
    "attnMask",
    "causal",
    "averageAttnWeights",
    "dropout",
    "key",
  ]);
  const [wq, wk, wv, wo] = projections(op, params);
  const e = wo.shape[0], kd = wk.shape[1], vd = wv.shape[1];
  const h = E.checkInt(op, o.numHeads, "numHeads", 1);
  if (e % h !== 0) throw E.shapeError(op, `numHeads ${h} does not divide the embedding size ${e}`);
  const bf = o.batchFirst === undefined ? false : E.checkBool(op, o.batchFirst, "batchFirst");
  const [q0, k0, v0] = (["query", "key", "value"] as const).map((n, i) =>
    E.checkTensorArg<Tensor>(op, [query, key, value][i], n)
  );
  const shapes = `query ${fmt(q0.shape)}, key ${fmt(k0.shape)}, value ${fmt(v0.shape)}`;
  const rank = q0.ndim;
  if ((rank !== 2 && rank !== 3) || k0.ndim !== rank || v0.ndim !== rank) {
    throw E.shapeError(
      op,
      `query, key and value must all be [L, E] or [L, B, E] (batchFirst: [B, L, E]), got ${shapes}`,
    );
  }
  // Internally batch-first: [B, seq, E].
  const bfirst = (t: Tensor) =>
    rank === 2 ? k.expandDims(t, 0) : bf ? t : k.transpose(t, [1, 0, 2]);
  const [q, kk, v] = [q0, k0, v0].map(bfirst);
  if (q.shape[2] !== e || kk.shape[2] !== kd || v.shape[2] !== vd) {
    throw E.shapeError(
      op,
      `query, key and value must end with the embedding size ${e}, kdim ${kd} and vdim ${vd}: ${shapes}`,
    );
  }
  const [b, l, s] = [q.shape[0], q.shape[1], kk.shape[1]];
  if (kk.shape[0] !== b || v.shape[0] !== b || v.shape[1] !== s) {
    throw E.shapeError(op, `batch sizes or key/value lengths differ: ${shapes}`);
  }
  if (l === 0 || s === 0) throw E.shapeError(op, `sequence length 0: ${shapes}`);
  const [bq, bk, bv] = params.inProjBias ? k.split(params.inProjBias, 3) : [];
  const hd = e / h;
  const heads = (t: Tensor, n: number) => k.transpose(k.reshape(t, [b, n, h, hd]), [0, 2, 1, 3]);
  // Self-attention with packed weights: one [3E]-wide projection, as torch.
  const [pq, pk, pv] = q0 === k0 && k0 === v0 && params.inProjWeight
    ? k.split(torchLinear(q, params.inProjWeight, params.inProjBias), 3, { axis: -1 })
    : [torchLinear(q, wq, bq), torchLinear(kk, wk, bk), torchLinear(v, wv, bv)];
  const [qh, kh, vh] = [heads(pq, l), heads(pk, s), heads(pv, s)];
  let valid: Tensor | undefined, bias: Tensor | undefined;
  const add = (p: { valid?: Tensor; bias?: Tensor }) => {
    if (p.valid) valid = valid ? k.logicalAnd(valid, p.valid) : p.valid;
    if (p.bias) bias = bias ? k.add(bias, p.bias) : p.bias;
  };
  if (o.keyPaddingMask !== undefined) {
    const m = E.checkTensorArg<Tensor>(op, o.keyPaddingMask, "keyPaddingMask");
    const want = rank === 2 ? [s] : [b, s];
    if (m.ndim !== want.length || m.shape.some((d, i) => d !== want[i])) {
      throw E.shapeError(
        op,
        `keyPaddingMask must be ${fmt(want)}, got ${fmt(m.shape)} (${shapes})`,
      );
    }
    add(maskParts(k.reshape(m, [b, 1, 1, s])));
  }
  if (o.attnMask !== undefined) {
    const m = E.checkTensorArg<Tensor>(op, o.attnMask, "attnMask");
    const ok = (m.ndim === 2 && broadcastsTo(m.shape, [l, s])) ||
      (m.ndim === 3 && broadcastsTo(m.shape, [b * h, l, s]));
    if (!ok) {
      throw E.shapeError(
        op,
        `attnMask must be [L, S] = ${fmt([l, s])} or [B·numHeads, L, S] = ${
          fmt([b * h, l, s])
        }, got ${fmt(m.shape)}`,
      );
    }
    add(
      maskParts(
        m.ndim === 3 && m.shape[0] === b * h ? k.reshape(m, [b, h, ...m.shape.slice(1)]) : m,
      ),
    );
  }
  if (o.causal !== undefined && E.checkBool(op, o.causal, "causal")) {
    add({ valid: causalMask(l, s, q.device) });
  }
  const rate = o.dropout === undefined ? 0 : E.checkNumber(op, o.dropout, "dropout");
  if (!(rate >= 0 && rate <= 1)) throw E.rangeError(op, `dropout must be in [0, 1], got ${rate}`);
  const [out, weights] = attend(qh, kh, vh, {
    valid,
    bias,
    scale: 1 / Math.sqrt(hd),
    dropoutRate: rate,
    key: o.key,
  });
  const merged = k.reshape(k.transpose(out, [0, 2, 1, 3]), [b, l, e]);
  const y = torchLinear(merged, wo, params.outProjBias);
  const avg = o.averageAttnWeights === undefined
    ? true
    : E.checkBool(op, o.averageAttnWeights, "averageAttnWeights");
  const wts = avg ? k.mean(weights, { axis: 1 }) : weights;
  if (rank === 2) return [k.squeeze(y, 0), k.squeeze(wts, 0)];
  return [bf ? y : k.transpose(y, [1, 0, 2]), wts];
}

/**
 * Multi-head attention as `torch.nn.MultiheadAttention` (self-attention: pass the same tensor
 * as query, key and value; cross-attention: key and value from the encoder). Fully masked
 * query rows give zeros (torch gives NaN).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.multiHeadAttention.init(k.random.key(0), 16);
 * const x = k.random.normal(k.random.key(1), [5, 2, 16]); // [seq, batch, E]
 * const [y] = k.nn.multiHeadAttention.apply(p, x, x, x, { numHeads: 4, causal: true });
 * ```
 */
export const multiHeadAttention: MultiHeadAttention = {
  init: E.publicOp("nn.multiHeadAttention.init", mhaInit),
  apply: E.publicOp("nn.multiHeadAttention.apply", mhaApply),
};
