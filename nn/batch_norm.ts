/**
 * `batchNorm` (torch's `BatchNorm1d/2d/3d`) with its running statistics as explicit state, and
 * a closed-form backward pass in training mode. Pure functions over plain pytrees; nothing
 * reads values back to the host, so it runs under `k.jit`, `k.grad` and `k.vmap`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import {
  affine,
  affineInit,
  checkCount,
  checkEps,
  checkInitOptions,
  checkParams,
  checkX,
  fmt,
  type NormInitOptions,
  type NormParams,
  range,
} from "./normalization.ts";

const E = k.errors;

/** Running statistics of `batchNorm` (PyTorch's buffers, same names). */
export type BatchNormState = {
  /** Exponential moving average of the batch means, `[C]`, zeros at init. */
  runningMean: Tensor;
  /** Moving average of the unbiased batch variances, `[C]`, ones at init. */
  runningVar: Tensor;
  /** Training steps taken so far, an int32 scalar. */
  numBatchesTracked: Tensor;
};

/** Options of `batchNorm.init`. */
export interface BatchNormInitOptions extends NormInitOptions {
  /** Learnable `weight` and `bias` (default true, as torch). */
  affine?: boolean;
}

/** Options of `batchNorm.apply`. */
export interface BatchNormApplyOptions {
  /**
   * Training mode: normalize by the batch statistics and update the running ones. Evaluation
   * mode (`false`): normalize by the running statistics, state unchanged. Required, because
   * the wrong mode fails silently.
   */
  training: boolean;
  /**
   * Weight of the new batch statistic in the running average (default 0.1, as torch);
   * `null` gives the cumulative average over all batches so far (torch's `momentum=None`).
   */
  momentum?: number | null;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/** The `batchNorm` layer: `init` and `apply`. */
export interface BatchNorm {
  /** `{params: {weight: ones [C], bias: zeros [C]}, state}` (params `{}` when not affine). */
  init(
    numFeatures: number,
    opts?: BatchNormInitOptions,
  ): { params: NormParams; state: BatchNormState };
  /** Normalizes `x [N, C, ...]` per channel `C`; returns `[y, newState]`. */
  apply(
    params: NormParams,
    state: BatchNormState,
    x: Tensor,
    opts: BatchNormApplyOptions,
  ): [Tensor, BatchNormState];
}

function batchNormInit(
  numFeatures: number,
  opts?: BatchNormInitOptions,
): { params: NormParams; state: BatchNormState } {
  const op = "nn.batchNorm.init";
  const c = checkCount(op, numFeatures, "numFeatures");
  const io = checkInitOptions(op, opts, "affine");
  const o = { dtype: io.dtype ?? "float32", device: io.device };
  return {
    params: affineInit(io.affine ?? true, [c], io),
    state: {
      runningMean: k.zeros([c], o),
      runningVar: k.ones([c], o),
      numBatchesTracked: k.zeros([], { dtype: "int32", device: io.device }),
    },
  };
}

function checkState(op: string, state: unknown): BatchNormState {
  const s = E.isPlainObject(state) ? state as BatchNormState : undefined;
  const ok = s && [s.runningMean, s.runningVar, s.numBatchesTracked].every(E.isTensorValue) &&
    s.runningMean.ndim === 1 && s.runningVar.shape.join() === s.runningMean.shape.join();
  if (!ok) {
    throw E.typeError(
      op,
      `state must be {runningMean [C], runningVar [C], numBatchesTracked} (from batchNorm.init), got ${
        E.describe(state)
      }`,
    );
  }
  return s!;
}

function batchNormApply(
  params: NormParams,
  state: BatchNormState,
  x: Tensor,
  opts: BatchNormApplyOptions,
): [Tensor, BatchNormState] {
  const op = "nn.batchNorm.apply";
  const o = E.checkOptions(op, opts, ["training", "momentum", "eps"]);
  const { runningMean, runningVar, numBatchesTracked } = checkState(op, state);
  checkX(op, x, 2, "[N, C, ...]");
  E.checkBool(op, o.training, "o.training");
  const c = runningMean.shape[0];
  if (x.shape[1] !== c) {
    throw E.shapeError(
      op,
      `x ${fmt(x.shape)} has ${x.shape[1]} channels (axis 1) but the state has ${c} features`,
    );
  }
  checkParams(op, params, c);
  const eps = checkEps(op, o.eps);
  const view = [c, ...range(2, x.ndim).map(() => 1)];
  if (!o.training) {
    const inv = k.rsqrt(k.add(k.reshape(runningVar, view), eps));
    const y = k.mul(k.sub(x, k.reshape(runningMean, view)), inv);
    return [affine(op, params, y, view), state];
  }
  const axes = [0, ...range(2, x.ndim)];
  const n = axes.reduce((a, i) => a * x.shape[i], 1);
  if (n <= 1) {
    throw E.shapeError(op, `training needs more than one value per channel, got x ${fmt(x.shape)}`);
  }
  const momentum = o.momentum === undefined || o.momentum === null
    ? o.momentum
    : E.checkNumber(op, o.momentum, "momentum");
  if (typeof momentum === "number" && !(momentum >= 0 && momentum <= 1)) {
    throw E.rangeError(op, `momentum must be in [0, 1] or null, got ${momentum}`);
  }
  const mean = k.mean(x, { axis: axes, keepdims: true });
  const centered = k.sub(x, mean);
  const v = k.mean(k.mul(centered, centered), { axis: axes, keepdims: true });
  const rstd = k.rsqrt(k.add(v, eps));
  const y = batchNormTrain(op, params, x, mean, rstd, axes, view);
  // The running statistics are not differentiated through (as torch's buffers).
  const dt = runningMean.dtype;
  const batchMean = k.astype(k.stopGradient(k.reshape(mean, [c])), dt);
  const batchVar = k.astype(k.stopGradient(k.reshape(v, [c])), dt);
  const steps = k.add(numBatchesTracked, 1);
  // Cumulative average: the new batch weighs 1/steps (a traced value, no host read).
  const m: number | Tensor = momentum === undefined
    ? 0.1
    : momentum ?? k.div(1, k.astype(steps, dt));
  const ema = (old: Tensor, batch: Tensor) => k.add(old, k.mul(k.sub(batch, old), m));
  const newState: BatchNormState = {
    runningMean: ema(runningMean, batchMean),
    runningVar: ema(runningVar, k.mul(batchVar, n / (n - 1))),
    numBatchesTracked: steps,
  };
  return [y, newState];
}

/**
 * `(x − mean)·rstd·weight + bias` with batchNorm's closed-form VJP: autodiff of the plain graph
 * sums over `[N, ...spatial]` four times (bias, weight, and the paths through the mean and the
 * variance); `dx = weight·rstd·(g − mean(g) − x̂·mean(g·x̂))` needs only the two sums that
 * `dbias` and `dweight` are anyway. `mean` and `rstd` (computed from `x`) get no cotangent: their
 * contribution is inside `dx`. Forward mode and second derivatives differentiate the graphs.
 */
function batchNormTrain(
  op: string,
  params: NormParams,
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  axes: number[],
  view: number[],
): Tensor {
  const n = axes.reduce((a, i) => a * x.shape[i], 1);
  const hasAffine = params?.weight !== undefined;
  const fwd = (xx: Tensor, m: Tensor, r: Tensor, w?: Tensor, b?: Tensor): [Tensor, Tensor[]] => {
    const xhat = k.mul(k.sub(xx, m), r);
    const y = w && b ? affine(op, { weight: w, bias: b }, xhat, view) : xhat;
    return [y, [xhat, r, ...(w ? [k.reshape(w, view)] : [])]];
  };
  const bwd = ([xhat, r, w]: Tensor[], g: Tensor): (Tensor | null)[] => {
    const db = k.sum(g, { axis: axes, keepdims: true });
    const dw = k.sum(k.mul(g, xhat), { axis: axes, keepdims: true });
    const scale = w ? k.mul(w, r) : r;
    const dx = k.mul(scale, k.sub(k.sub(g, k.div(db, n)), k.mul(xhat, k.div(dw, n))));
    const c = view[0];
    return hasAffine ? [dx, null, null, k.reshape(dw, [c]), k.reshape(db, [c])] : [dx, null, null];
  };
  if (hasAffine) {
    const f = k.customVjp(
      (xx: Tensor, m: Tensor, r: Tensor, w: Tensor, b: Tensor) => fwd(xx, m, r, w, b)[0],
      {
        fwd: fwd as (...a: never[]) => [unknown, unknown],
        bwd: bwd as (r: never, g: never) => unknown[],
      },
    );
    affine(op, params, x, view); // validates the params' shapes before tracing the rule
    return f(x, mean, rstd, params.weight!, params.bias!);
  }
  const f = k.customVjp((xx: Tensor, m: Tensor, r: Tensor) => fwd(xx, m, r)[0], {
    fwd: fwd as (...a: never[]) => [unknown, unknown],
    bwd: bwd as (r: never, g: never) => unknown[],
  });
  return f(x, mean, rstd);
}

/**
 * Batch normalization (torch's `BatchNorm1d/2d/3d`) over `[N, C]` or `[N, C, ...spatial]`:
 * each channel is standardized by the batch's mean and biased variance in training, by the
 * running statistics in evaluation; running statistics follow torch (momentum 0.1, unbiased
 * variance, eps 1e-5) and are state passed in and returned, never mutated.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const { params, state } = k.nn.batchNorm.init(16);
 * const x = k.random.normal(k.random.key(0), [8, 16, 5, 5]);
 * const [y, state2] = k.nn.batchNorm.apply(params, state, x, { training: true });
 * const [yEval] = k.nn.batchNorm.apply(params, state2, x, { training: false });
 * ```
 */
export const batchNorm: BatchNorm = {
  init: E.publicOp("nn.batchNorm.init", batchNormInit),
  apply: E.publicOp("nn.batchNorm.apply", batchNormApply),
};
