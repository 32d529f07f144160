/**
 * The PyTorch optimizers as chains of gradient transformations. Each takes the learning rate
 * (a number or a schedule) and options with torch's meanings and defaults, and returns updates to
 * ADD to the parameters.
 * @module
 */
import * as k from "../core/mod.ts";
import { chain, type GradientTransformation } from "./base.ts";
import {
  check,
  checkOptions,
  describe,
  transformation,
  typeError,
  userCallback,
} from "./_state.ts";
import { type LearningRate, type Schedule, stepTensor } from "./schedules.ts";
import {
  addDecayedWeights,
  scaleByAdagrad,
  type ScaleByAdagradOptions,
  scaleByAdam,
  type ScaleByAdamOptions,
  scaleByLearningRate,
  scaleByRms,
  type ScaleByRmsOptions,
  traceMomentum,
} from "./transforms.ts";

/**
 * Checks a learning rate; a schedule is the user's code, so it is wrapped to run in the user's
 * context (its own ops name themselves, not the optimizer). Call in the optimizer's body.
 */
function checkLr(op: string, lr: LearningRate): LearningRate {
  if (typeof lr === "number") {
    check(op, lr >= 0, "learning rate", lr);
    return lr;
  }
  if (typeof lr !== "function") {
    throw typeError(
      op,
      `the learning rate must be a number or a schedule function, got ${describe(lr)}`,
    );
  }
  return userCallback(lr);
}

/** Chains the transformations that are not skipped (`null`). */
function chainOf(...ts: (GradientTransformation | null)[]): GradientTransformation {
  return chain(...ts.filter((t): t is GradientTransformation => t !== null));
}

/** Options of {@link sgd}; PyTorch's `SGD` defaults. */
export interface SgdOptions {
  /** Momentum factor (default 0: no momentum buffer). */
  momentum?: number;
  /** Dampening of the gradient in the momentum buffer after the first step (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs `momentum > 0` and `dampening = 0`). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient: `g + weightDecay * p` (default 0). */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent, as `torch.optim.SGD`: `g = grad + wd p`; with momentum the
 * buffer is `g` at the first step, then `b = momentum b + (1 - dampening) g`, and the direction
 * is `b` (Nesterov: `g + momentum b`); the update is `-lr * direction`.
 * State `[momentum state?, lr state]` (a chain).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.sgd(0.1, { momentum: 0.9, nesterov: true });
 * ```
 */
export function sgd(learningRate: LearningRate, opts: SgdOptions = {}): GradientTransformation {
  return transformation("optim.sgd", () => {
    checkOptions("optim.sgd", opts, ["momentum", "dampening", "nesterov", "weightDecay"]);
    const { momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = opts;
    learningRate = checkLr("optim.sgd", learningRate);
    check("optim.sgd", momentum >= 0, "momentum", momentum);
    check("optim.sgd", weightDecay >= 0, "weightDecay", weightDecay);
    check(
      "optim.sgd",
      !nesterov || (momentum > 0 && dampening === 0),
      "Nesterov setting (needs " +
        "momentum > 0 and dampening = 0): nesterov",
      nesterov,
    );
    return chainOf(
      weightDecay ? addDecayedWeights(weightDecay) : null,
      momentum ? traceMomentum({ momentum, dampening, nesterov }) : null,
      scaleByLearningRate(learningRate),
    );
  });
}

/** Options of {@link adagrad}; PyTorch's `Adagrad` defaults. */
export interface AdagradOptions extends ScaleByAdagradOptions {
  /** Learning-rate decay: step `t` (from 1) uses `lr / (1 + (t - 1) lrDecay)` (default 0). */
  lrDecay?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * Adagrad, as `torch.optim.Adagrad`: `g = grad + wd p`, `s = s + g²`, update
 * `-lr / (1 + (t - 1) lrDecay) * g / (sqrt(s) + eps)` at step `t` (from 1).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.adagrad(0.01, { initialAccumulatorValue: 0.1 });
 * ```
 */
export function adagrad(
  learningRate: LearningRate,
  opts: AdagradOptions = {},
): GradientTransformation {
  return transformation("optim.adagrad", () => {
    checkOptions("optim.adagrad", opts, [
      "lrDecay",
      "weightDecay",
      "initialAccumulatorValue",
      "eps",
    ]);
    const { lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10 } = opts;
    learningRate = checkLr("optim.adagrad", learningRate);
    check("optim.adagrad", lrDecay >= 0, "lrDecay", lrDecay);
    check("optim.adagrad", weightDecay >= 0, "weightDecay", weightDecay);
    let lr = learningRate;
    if (lrDecay !== 0) {
      const base = learningRate;
      const decayed: Schedule = (step) => {
        const s = stepTensor(step);
        const denom = s.mul(lrDecay).add(1);
        return typeof base === "number" ? k.div(base, denom) : base(s).astype(s.dtype).div(denom);
      };
      lr = decayed;
    }
    return chainOf(
      weightDecay ? addDecayedWeights(weightDecay) : null,
      scaleByAdagrad({ initialAccumulatorValue, eps }),
      scaleByLearningRate(lr),
    );
  });
}

/** Options of {@link rmsprop}; PyTorch's `RMSprop` defaults. */
export interface RmspropOptions extends ScaleByRmsOptions {
  /** Momentum factor applied to the normalized gradient (default 0). */
  momentum?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * RMSprop, as `torch.optim.RMSprop`: `g = grad + wd p`, `v = decay v + (1 - decay) g²`,
 * `avg = sqrt(v) + eps` (centered: `m = decay m + (1 - decay) g`, `avg = sqrt(v - m²) + eps`);
 * without momentum the update is `-lr g / avg`, with it `b = momentum b + g / avg` and the update
 * is `-lr b`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.rmsprop(0.01, { centered: true, momentum: 0.9 });
 * ```
 */
export function rmsprop(
  learningRate: LearningRate,
  opts: RmspropOptions = {},
): GradientTransformation {
  return transformation("optim.rmsprop", () => {
    checkOptions("optim.rmsprop", opts, ["momentum", "weightDecay", "decay", "eps", "centered"]);
    const { decay = 0.99, eps = 1e-8, centered = false, momentum = 0, weightDecay = 0 } = opts;
    learningRate = checkLr("optim.rmsprop", learningRate);
    check("optim.rmsprop", momentum >= 0, "momentum", momentum);
    check("optim.rmsprop", weightDecay >= 0, "weightDecay", weightDecay);
    return chainOf(
      weightDecay ? addDecayedWeights(weightDecay) : null,
      scaleByRms({ decay, eps, centered }),
      momentum ? traceMomentum({ momentum }) : null,
      scaleByLearningRate(learningRate),
    );
  });
}

/** Options of {@link adam}: {@link ScaleByAdamOptions} plus L2 weight decay; torch's defaults. */
export interface AdamOptions extends ScaleByAdamOptions {
  /** L2 penalty added to the gradient, torch's coupled `weight_decay` (default 0). */
  weightDecay?: number;
}

/** Adam with coupled (`adam`) or decoupled (`adamw`) weight decay. */
function adamFamily(
  op: string,
  learningRate: LearningRate,
  opts: ScaleByAdamOptions,
  weightDecay: number,
  decoupled: boolean,
): GradientTransformation {
  learningRate = checkLr(op, learningRate);
  check(op, weightDecay >= 0, "weightDecay", weightDecay);
  const decay = weightDecay ? addDecayedWeights(weightDecay) : null;
  return chainOf(
    decoupled ? null : decay,
    scaleByAdam(opts),
    decoupled ? decay : null,
    scaleByLearningRate(learningRate),
  );
}

/**
 * Adam, as `torch.optim.Adam`: `g = grad + wd p`, `m = b1 m + (1 - b1) g`,
 * `v = b2 v + (1 - b2) g²`, and at step `t` (from 1) the update
 * `-lr (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.adam(1e-3);
 * ```
 */
export function adam(learningRate: LearningRate, opts: AdamOptions = {}): GradientTransformation {
  return transformation("optim.adam", () => {
    checkOptions("optim.adam", opts, ["weightDecay", "b1", "b2", "eps", "amsgrad"]);
    const { weightDecay = 0, ...rest } = opts;
    return adamFamily("optim.adam", learningRate, rest, weightDecay, false);
  });
}

/**
 * Options of {@link adamw}: {@link ScaleByAdamOptions} plus decoupled weight decay; torch's
 * defaults.
 */
export interface AdamwOptions extends ScaleByAdamOptions {
  /** Decoupled weight decay: the update includes `-lr * weightDecay * p` (default 0.01). */
  weightDecay?: number;
}

/**
 * AdamW, as `torch.optim.AdamW`: torch applies `p = p - lr wd p` and then the Adam step without
 * L2; here the update is `-lr (adamDirection + wd p)`, the same sum.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.adamw(1e-3, { weightDecay: 0.05 });
 * ```
 */
export function adamw(learningRate: LearningRate, opts: AdamwOptions = {}): GradientTransformation {
  return transformation("optim.adamw", () => {
    checkOptions("optim.adamw", opts, ["weightDecay", "b1", "b2", "eps", "amsgrad"]);
    const { weightDecay = 0.01, ...rest } = opts;
    return adamFamily("optim.adamw", learningRate, rest, weightDecay, true);
  });
}
