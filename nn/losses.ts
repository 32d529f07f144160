/**
 * Losses and metrics. The class axis is the **last** axis of `logits` (as JAX/Optax; PyTorch
 * puts it second). Every loss takes `{reduction}` with PyTorch's meaning:
 * - `"mean"` (default): the mean of the per-example losses (per element for the elementwise
 *   losses `mse` and `sigmoidBinaryCrossEntropy`), a 0-d tensor;
 * - `"sum"`: their sum, a 0-d tensor;
 * - `"none"`: the unreduced losses, of shape `logits.shape[:-1]` for the classification losses
 *   and of the input's shape for the elementwise ones.
 * @module
 */
import * as k from "../core/mod.ts";
import { softplus } from "./activations.ts";
import type { Tensor } from "../core/mod.ts";
import {
  checkNumber,
  checkOptions,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "./_errors.ts";

/** How a loss reduces its per-example values (PyTorch's `reduction`). */
export type Reduction = "mean" | "sum" | "none";

/** Options shared by all losses. */
export interface LossOptions {
  /** `"mean"` (default), `"sum"` or `"none"`; see the module documentation. */
  reduction?: Reduction;
}

/** Options of `softmaxCrossEntropy`. */
export interface SoftmaxCrossEntropyOptions extends LossOptions {
  /**
   * Label smoothing ε in `[0, 1]` (default 0), as PyTorch: the target distribution becomes
   * `(1 − ε)·target + ε/C` for `C` classes.
   */
  labelSmoothing?: number;
}

/** Options of `hinge`. */
export interface HingeOptions extends LossOptions {
  /** The margin (default 1, as PyTorch's `MultiMarginLoss`). */
  margin?: number;
}

function reduce(op: string, loss: Tensor, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? "mean") {
    case "mean":
      return k.mean(loss);
    case "sum":
      return k.sum(loss);
    case "none":
      return loss;
    default:
      throw typeError(op, `reduction must be "mean", "sum" or "none", got ${describe(reduction)}`);
  }
}

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const isFloat = (t: Tensor) => t.dtype === "float32" || t.dtype === "float64";

function checkTensor(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof k.Tensor)) {
    throw typeError(op, `${what} must be a Tensor, got ${describe(x)}`);
  }
  return x;
}

function checkLogits(op: string, logits: unknown): Tensor {
  const t = checkTensor(op, logits, "logits");
  if (t.ndim === 0) throw shapeError(op, `logits must have a class axis, got shape []`);
  return isFloat(t) ? t : k.astype(t, "float32");
}

/**
 * The one-hot (or probability) targets of a classification loss: int32 labels of shape
 * `logits.shape[:-1]` are one-hot encoded; float labels must have the shape of `logits`.
 */
function targets(op: string, logits: Tensor, labels: unknown, allowProbs: boolean): Tensor {
  const l = checkTensor(op, labels, "labels");
  const batch = logits.shape.slice(0, -1);
  const c = logits.shape[logits.ndim - 1];
  if (l.dtype === "int32") {
    if (!sameShape(l.shape, batch)) {
      throw shapeError(
        op,
        `int32 labels must have shape ${fmt(batch)} (logits ${
          fmt(logits.shape)
        } without the class axis), got ${fmt(l.shape)}`,
      );
    }
    return k.oneHot(l, c, { dtype: logits.dtype });
  }
  if (isFloat(l) && allowProbs) {
    if (!sameShape(l.shape, logits.shape)) {
      throw shapeError(
        op,
        `float (one-hot or probability) labels must have the logits' shape ${
          fmt(logits.shape)
        }, got ${fmt(l.shape)}`,
      );
    }
    return l.dtype === logits.dtype ? l : k.astype(l, logits.dtype);
  }
  throw typeError(
    op,
    `labels must be int32 class indices${
      allowProbs ? " or float one-hot/probabilities" : ""
    }, got ${l.dtype} ${fmt(l.shape)}`,
  );
}

/**
 * Softmax cross-entropy between `logits [..., C]` and `labels`, which are either int32 class
 * indices of shape `[...]` or float one-hot vectors / probabilities of shape `[..., C]` (told
 * apart by dtype). Per example: `−Σ_c target_c · logSoftmax(logits)_c` (terms with a zero target
 * count as 0, so a `−inf` logit of an impossible class gives no NaN). Indices outside `[0, C)`
 * select no class and give a loss of 0 (not checked, which would need a device read). PyTorch's
 * `CrossEntropyLoss` with the class axis last.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const logits = k.tensor([[2, 0, 0], [0, 3, 0]]);
 * const loss = k.nn.softmaxCrossEntropy(logits, k.tensor([0, 1], { dtype: "int32" }));
 * // same as with one-hot labels:
 * k.nn.softmaxCrossEntropy(logits, k.tensor([[1, 0, 0], [0, 1, 0]]));
 * ```
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  labels: Tensor,
  opts: SoftmaxCrossEntropyOptions = {},
): Tensor {
  return userOp("nn.softmaxCrossEntropy", () => {
    const op = "nn.softmaxCrossEntropy";
    checkOptions(op, opts, ["reduction", "labelSmoothing"]);
    const x = checkLogits(op, logits);
    let t = targets(op, x, labels, true);
    const eps = opts.labelSmoothing ?? 0;
    if (!(eps >= 0 && eps <= 1)) {
      throw rangeError(op, `labelSmoothing must be in [0, 1], got ${eps}`);
    }
    if (eps > 0) t = k.add(k.mul(t, 1 - eps), eps / x.shape[x.ndim - 1]);
    const logp = k.logSoftmax(x, { axis: -1 });
    const terms = k.where(k.equal(t, 0), 0, k.mul(t, logp));
    return reduce(op, k.neg(k.sum(terms, { axis: -1 })), opts.reduction);
  });
}

/**
 * Binary cross-entropy on logits, elementwise, in the stable form
 * `max(x, 0) − x·t + log1p(e^(−|x|))` (finite for any finite logit; PyTorch's
 * `BCEWithLogitsLoss`). `targets` are floats in `[0, 1]` of the logits' shape; `"mean"`
 * averages over all elements.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.sigmoidBinaryCrossEntropy(k.tensor([0, 100]), k.tensor([1, 0])); // mean of [0.693…, 100]
 * ```
 */
export function sigmoidBinaryCrossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: LossOptions = {},
): Tensor {
  return userOp("nn.sigmoidBinaryCrossEntropy", () => {
    const op = "nn.sigmoidBinaryCrossEntropy";
    checkOptions(op, opts, ["reduction"]);
    const x = checkTensor(op, logits, "logits");
    const xf = isFloat(x) ? x : k.astype(x, "float32");
    const t = checkTensor(op, targets, "targets");
    if (!sameShape(t.shape, x.shape)) {
      throw shapeError(
        op,
        `targets must have the logits' shape ${fmt(x.shape)}, got ${fmt(t.shape)}`,
      );
    }
    const tf = k.astype(t, xf.dtype);
    // softplus(x) − x·t: softplus carries the derivative σ(x), so second derivatives are exact
    // at x = 0 too (Newton's method on logistic regression starts there).
    const loss = k.sub(softplus(xf), k.mul(xf, tf));
    return reduce(op, loss, opts.reduction);
  });
}

/**
 * Mean squared error, elementwise `(pred − target)²` (PyTorch's `MSELoss`; `"mean"` averages
 * over all elements). The shapes must be equal: no silent broadcasting of `[N, 1]` against `[N]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.mse(k.tensor([1, 2]), k.tensor([0, 0])); // 2.5
 * ```
 */
export function mse(pred: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  return userOp("nn.mse", () => {
    checkOptions("nn.mse", opts, ["reduction"]);
    const p = checkTensor("nn.mse", pred, "pred");
    const t = checkTensor("nn.mse", target, "target");
    if (!sameShape(p.shape, t.shape)) {
      throw shapeError(
        "nn.mse",
        `pred ${fmt(p.shape)} and target ${fmt(t.shape)} must have the same shape`,
      );
    }
    const d = k.sub(p, t);
    return reduce("nn.mse", k.mul(d, d), opts.reduction);
  });
}

/**
 * Multiclass hinge (SVM) loss with PyTorch's `MultiMarginLoss` semantics (Weston–Watkins, p=1):
 * per example `Σ_{j≠y} max(0, margin − x_y + x_j) / C`, for `logits [..., C]` and int32 labels
 * `[...]`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.hinge(k.tensor([[0.1, 0.2, 0.4, 0.8]]), k.tensor([3], { dtype: "int32" })); // 0.325
 * ```
 */
export function hinge(logits: Tensor, labels: Tensor, opts: HingeOptions = {}): Tensor {
  return userOp("nn.hinge", () => {
    const op = "nn.hinge";
    checkOptions(op, opts, ["reduction", "margin"]);
    if (opts.margin !== undefined) checkNumber(op, opts.margin, "margin");
    const x = checkLogits(op, logits);
    const onehot = targets(op, x, labels, false);
    const c = x.shape[x.ndim - 1];
    const xy = k.sum(k.mul(onehot, x), { axis: -1, keepdims: true });
    const m = k.relu(k.add(k.sub(x, xy), opts.margin ?? 1));
    const loss = k.div(k.sum(k.where(k.equal(onehot, 1), 0, m), { axis: -1 }), c);
    return reduce(op, loss, opts.reduction);
  });
}

/**
 * Fraction of examples whose highest logit is the label: a float32 0-d tensor in `[0, 1]`.
 * `labels` are int32 class indices `[...]` or one-hot/probabilities `[..., C]` (their argmax is
 * used). Ties go to the lowest class index.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const acc = k.nn.accuracy(k.tensor([[2, 1], [0, 3]]), k.tensor([0, 0], { dtype: "int32" }));
 * await acc.item(); // 0.5
 * ```
 */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  return userOp("nn.accuracy", () => {
    const x = checkLogits("nn.accuracy", logits);
    const l = checkTensor("nn.accuracy", labels, "labels");
    let idx: Tensor;
    if (l.dtype === "int32") {
      targets("nn.accuracy", x, l, false);
      idx = l;
    } else {
      targets("nn.accuracy", x, l, true);
      idx = k.argmax(l, { axis: -1 });
    }
    return k.astype(k.mean(k.equal(k.argmax(x, { axis: -1 }), idx)), "float32");
  });
}
