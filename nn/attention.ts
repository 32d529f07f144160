/**
 * Scaled dot-product attention, `softmax(q·kᵀ·scale + bias, masked) · v`, in the layout of
 * `torch.nn.functional.scaled_dot_product_attention`: `[..., heads, seq, dim]`. The softmax is
 * max-shifted, and its normalization is applied after the product with `v` (a division of
 * `[..., L, Dv]` instead of `[..., L, S]`), which keeps the causal forward at 5 kernels.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { dropout } from "./layers.ts";

const E = k.errors;

/** `[2,3,4]`, for messages. @internal */
export const fmt = (s: readonly number[]): string => `[${s.join(",")}]`;

/** The broadcast of two shapes (numpy rules), or null when they do not broadcast. @internal */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Whether `s` broadcasts to `target` without changing it. @internal */
export function broadcastsTo(s: readonly number[], target: readonly number[]): boolean {
  const b = broadcastShapes(s, target);
  return b !== null && b.length === target.length && b.every((d, i) => d === target[i]);
}

/** What `attend` needs besides q, k, v: the combined mask (true = attend) and additive bias. */
export interface AttendOptions {
  /** Boolean, broadcastable to the scores; true where a query may attend to a key. */
  valid?: Tensor;
  /** Float, broadcastable to the scores, added before the softmax. */
  bias?: Tensor;
  /** Multiplies `q·kᵀ`. */
  scale: number;
  /** Dropout on the attention weights (needs `key`). */
  dropoutRate?: number;
  /** Key of the dropout draw. */
  key?: Tensor;
}

/**
 * The attention output `[..., L, Dv]` and the attention weights `[..., L, S]` (lazy: the
 * weights cost nothing unless they are used). Rows without any valid key give zeros. @internal
 */
export function attend(q: Tensor, kk: Tensor, v: Tensor, o: AttendOptions): [Tensor, Tensor] {
  let s = k.mul(k.matmul(q, k.transpose(kk, swapLast(kk.ndim))), o.scale);
  if (o.bias) s = k.add(s, o.bias);
  let e: Tensor;
  if (o.valid) {
    // Masked entries never reach exp (nor its gradient): a masked score far above the row's
    // max would overflow to inf, and 0·inf is NaN in the backward pass.
    const fill = k.finfo(s.dtype).min;
    const m = finite(
      k.stopGradient(k.max(k.where(o.valid, s, fill), { axis: -1, keepdims: true })),
    );
    e = k.where(o.valid, k.exp(k.where(o.valid, k.sub(s, m), 0)), 0);
  } else {
    const m = k.stopGradient(k.max(s, { axis: -1, keepdims: true }));
    e = k.exp(k.sub(s, o.bias ? finite(m) : m));
  }
  let den = k.sum(e, { axis: -1, keepdims: true });
  // A row whose keys are all masked (or all -inf bias) sums to 0: divide by 1 and give zeros.
  if (o.valid || o.bias) den = k.where(k.greater(den, 0), den, 1);
  const p = k.div(e, den);
  const ed = o.dropoutRate && o.key ? dropout(o.key, e, o.dropoutRate) : e;
  return [k.div(k.matmul(ed, v), den), o.dropoutRate && o.key ? k.div(ed, den) : p];
}

const finite = (m: Tensor): Tensor => k.where(k.isfinite(m), m, 0);
const swapLast = (n: number): number[] =>
  [...Array(n).keys()].map((i) => i === n - 2 ? n - 1 : i === n - 1 ? n - 2 : i);

/** The causal mask `[L, S]`: query `i` sees keys `j <= i` (top-left aligned, as torch). @internal */
export function causalMask(l: number, s: number, device: string): Tensor {
  const i = k.reshape(k.arange(l, undefined, undefined, { device }), [l, 1]);
  const j = k.reshape(k.arange(s, undefined, undefined, { device }), [1, s]);
  return k.greaterEqual(i, j);
}

/** Options of `dotProductAttention`. */
export interface DotProductAttentionOptions {
  /**
   * Boolean, broadcastable to `[..., heads, L, S]`: **true where a query may attend to a key**
   * (the meaning of torch's boolean `attn_mask` in `scaled_dot_product_attention`).
   */
  mask?: Tensor;
  /** Query `i` attends only to keys `j <= i` (torch's `is_causal`, top-left aligned). */
  causal?: boolean;
  /** Multiplies `q·kᵀ` (default `1/√dim`). */
  scale?: number;
  /** Float, broadcastable to `[..., heads, L, S]`, added to the scores (torch's float `attn_mask`). */
  bias?: Tensor;
  /** Dropout probability on the attention weights (default 0); applied only with `key`. */
  dropoutRate?: number;
  /** Key of the dropout draw. */
  key?: Tensor;
}

function checkFloat(op: string, t: Tensor, what: string): void {
  if (!["float16", "float32", "float64"].includes(t.dtype)) {
    throw E.typeError(op, `${what} must be a float tensor, got ${t.dtype} ${fmt(t.shape)}`);
  }
}

/**
 * Scaled dot-product attention in torch's layout: `q [..., heads, L, D]`, `k [..., heads, S, D]`,
 * `v [..., heads, S, Dv]` give `[..., heads, L, Dv]` (leading axes broadcast; any rank >= 2).
 * Values match `torch.nn.functional.scaled_dot_product_attention`, except that a query with
 * no key to attend to gives zeros (torch gives NaN). Forward: 5 kernels, masked or not.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const [a, b, c] = k.random.split(k.random.key(0), 3);
 * const q = k.random.normal(a, [2, 4, 10, 16]), kk = k.random.normal(b, [2, 4, 10, 16]);
 * const y = k.nn.dotProductAttention(q, kk, k.random.normal(c, [2, 4, 10, 16]), { causal: true });
 * ```
 */
export function dotProductAttention(
  q: Tensor,
  key: Tensor,
  value: Tensor,
  opts: DotProductAttentionOptions = {},
): Tensor {
  const op = "nn.dotProductAttention";
  return E.userOp(op, () => {
    const o = E.checkOptions(op, opts, ["mask", "causal", "scale", "bias", "dropoutRate", "key"]);
    const [qt, kt, vt] = (["q", "k", "v"] as const).map((w, i) => {
      const t = E.checkTensorArg<Tensor>(op, [q, key, value][i], w);
      checkFloat(op, t, w);
      if (t.ndim < 2) throw E.shapeError(op, `${w} must be [..., seq, dim], got ${fmt(t.shape)}`);
      return t;
    });
    const shapes = `q ${fmt(qt.shape)}, k ${fmt(kt.shape)}, v ${fmt(vt.shape)}`;
    const d = qt.shape[qt.ndim - 1], l = qt.shape[qt.ndim - 2], s = kt.shape[kt.ndim - 2];
    if (kt.shape[kt.ndim - 1] !== d) throw E.shapeError(op, `q and k differ in dim: ${shapes}`);
    if (vt.shape[vt.ndim - 2] !== s) {
      throw E.shapeError(op, `k and v differ in sequence length: ${shapes}`);
    }
    if (l === 0 || s === 0) throw E.shapeError(op, `sequence length 0: ${shapes}`);
    const lead = [qt, kt, vt].map((t) => t.shape.slice(0, -2)).reduce<number[] | null>(
      (a, b) => a && broadcastShapes(a, b),
      [],
    );
    if (lead === null) throw E.shapeError(op, `leading axes do not broadcast: ${shapes}`);
    const scores = [...lead, l, s];
    let valid: Tensor | undefined;
    if (o.mask !== undefined) {
      const m = E.checkTensorArg<Tensor>(op, o.mask, "mask");
      if (m.dtype !== "bool") {
        throw E.typeError(
          op,
          `mask must be bool (true = attend), got ${m.dtype}; pass float masks as bias`,
        );
      }
      if (!broadcastsTo(m.shape, scores)) {
        throw E.shapeError(
          op,
          `mask ${fmt(m.shape)} does not broadcast to the scores ${fmt(scores)} (${shapes})`,
        );
      }
      valid = m;
    }
    if (o.causal !== undefined && E.checkBool(op, o.causal, "causal")) {
      const c = causalMask(l, s, qt.device);
      valid = valid ? k.logicalAnd(valid, c) : c;
    }
    let bias: Tensor | undefined;
    if (o.bias !== undefined) {
      bias = E.checkTensorArg<Tensor>(op, o.bias, "bias");
      checkFloat(op, bias, "bias");
      if (!broadcastsTo(bias.shape, scores)) {
        throw E.shapeError(
          op,
          `bias ${fmt(bias.shape)} does not broadcast to the scores ${fmt(scores)} (${shapes})`,
        );
      }
    }
    const scale = o.scale === undefined ? 1 / Math.sqrt(d) : E.checkNumber(op, o.scale, "scale");
    const rate = o.dropoutRate === undefined ? 0 : E.checkNumber(op, o.dropoutRate, "dropoutRate");
    if (!(rate >= 0 && rate <= 1)) {
      throw E.rangeError(op, `dropoutRate must be in [0, 1], got ${rate}`);
    }
    return attend(qt, kt, vt, { valid, bias, scale, dropoutRate: rate, key: o.key })[0];
  });
}
