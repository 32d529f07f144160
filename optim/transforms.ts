/**
 * Gradient transformations: the building blocks that the optimizers chain. Each follows the
 * formula of the PyTorch optimizer it is part of; none of them negates except
 * `scaleByLearningRate`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { GradientTransformation, OptState, Params } from "./base.ts";
import {
  check,
  checkFunction,
  checkOptions,
  countOf,
  describe,
  field,
  incrementCount,
  initCount,
  leavesOf,
  map,
  movingAverage,
  needParams,
  perDtype,
  stateFull,
  transformation,
  typeError,
  userCallback,
  userOp,
  widenTo,
} from "./_state.ts";
import type { LearningRate, Schedule } from "./schedules.ts";

const empty = (_params: Params): OptState => ({});

/**
 * Multiplies updates by a constant `factor` (empty state).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const plainSgd = k.optim.scale(-0.1); // updates = -0.1 * grads
 * ```
 */
export function scale(factor: number): GradientTransformation {
  return transformation("optim.scale", () => {
    check("optim.scale", true, "factor", factor);
    return {
      init: empty,
      update: (updates: Params, state: OptState): [Params, OptState] => [
        map("optim.scale", (u) => u.mul(factor), updates),
        state,
      ],
    };
  });
}

/**
 * Multiplies updates by `schedule(count)` and increments `count` (state `{count}`): the first
 * update uses `schedule(0)`. The schedule is evaluated in each leaf's float dtype.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const t = k.optim.scaleBySchedule(k.optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 }));
 * ```
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation {
  return transformation("optim.scaleBySchedule", () => {
    checkFunction("optim.scaleBySchedule", schedule, "schedule");
    schedule = userCallback(schedule); // the user's code: its ops name themselves
    return {
      init: (params: Params): OptState => ({ count: initCount(params) }),
      update: (updates: Params, state: OptState): [Params, OptState] => {
        const count = countOf("optim.scaleBySchedule", state);
        const factor = perDtype((d) => schedule(count.astype(d)).astype(d));
        return [map("optim.scaleBySchedule", (u) => u.mul(factor(u.dtype)), updates), {
          count: incrementCount(count),
        }];
      },
    };
  });
}

/**
 * Multiplies updates by `-learningRate` (a number, or a schedule of the step count): the last
 * step of every optimizer, which makes updates something to add to the parameters.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.chain(k.optim.scaleByAdam(), k.optim.scaleByLearningRate(1e-3)); // = adam(1e-3)
 * ```
 */
export function scaleByLearningRate(learningRate: LearningRate): GradientTransformation {
  return transformation("optim.scaleByLearningRate", () => {
    if (typeof learningRate === "number") {
      check("optim.scaleByLearningRate", true, "learningRate", learningRate);
      return scale(-learningRate);
    }
    if (typeof learningRate !== "function") {
      throw typeError(
        "optim.scaleByLearningRate",
        `learningRate must be a number or a schedule function, got ${describe(learningRate)}`,
      );
    }
    const user = userCallback(learningRate);
    return scaleBySchedule((step) => k.neg(user(step)));
  });
}

/** Options of {@link scaleByAdam}; PyTorch's `Adam` defaults. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment, torch's `betas[0]` (default 0.9). */
  b1?: number;
  /** Decay of the second moment, torch's `betas[1]` (default 0.999). */
  b2?: number;
  /** Added to the bias-corrected root of the second moment (default 1e-8). */
  eps?: number;
  /** Divide by the running maximum of the second moment (AMSGrad; default false). */
  amsgrad?: boolean;
}

/**
 * Adam's direction, as torch: with `t = count + 1`, `m = b1 m + (1 - b1) g`,
 * `v = b2 v + (1 - b2) g²` and `u = (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)`
 * (AMSGrad: `vMax = max(vMax, v)` in place of `v` in the denominator). State
 * `{count, mu, nu}` (plus `nuMax` with AMSGrad).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const t = k.optim.scaleByAdam({ b1: 0.9, b2: 0.99 });
 * ```
 */
export function scaleByAdam(opts: ScaleByAdamOptions = {}): GradientTransformation {
  return transformation("optim.scaleByAdam", () => {
    checkOptions("optim.scaleByAdam", opts, ["b1", "b2", "eps", "amsgrad"]);
    const { b1 = 0.9, b2 = 0.999, eps = 1e-8, amsgrad = false } = opts;
    check("optim.scaleByAdam", b1 >= 0 && b1 < 1, "b1", b1);
    check("optim.scaleByAdam", b2 >= 0 && b2 < 1, "b2", b2);
    check("optim.scaleByAdam", eps >= 0, "eps", eps);
    const op = "optim.scaleByAdam";
    return {
      init: (params: Params): OptState => {
        const zeros = map(op, (p) => stateFull(p), params);
        return amsgrad
          ? { count: initCount(params), mu: zeros, nu: zeros, nuMax: zeros }
          : { count: initCount(params), mu: zeros, nu: zeros };
      },
      update: (updates: Params, state: OptState): [Params, OptState] => {
        const count = countOf(op, state);
        const mu = movingAverage(op, updates, field(op, state, "mu"), b1, 1);
        const nu = movingAverage(op, updates, field(op, state, "nu"), b2, 2);
        const nuMax = amsgrad ? map(op, k.maximum, field(op, state, "nuMax"), nu) : undefined;
        const t = perDtype((d) => count.astype(d).add(1));
        // 1 - b^t as -expm1(t ln b): accurate in float32 too, where 1 - 0.999^t cancels badly.
        const bc1 = perDtype((d) => k.expm1(t(d).mul(Math.log(b1))).neg());
        const bc2Sqrt = perDtype((d) => k.expm1(t(d).mul(Math.log(b2))).neg().sqrt());
        const out = map(
          op,
          (m, v) => m.div(bc1(m.dtype)).div(v.sqrt().div(bc2Sqrt(v.dtype)).add(eps)),
          mu,
          nuMax ?? nu,
        );
        const next = incrementCount(count);
        return [out, nuMax ? { count: next, mu, nu, nuMax } : { count: next, mu, nu }];
      },
    };
  });
}

/** Options of {@link scaleByRms}; PyTorch's `RMSprop` defaults. */
export interface ScaleByRmsOptions {
  /** Decay of the running averages, torch's `alpha` (default 0.99). */
  decay?: number;
  /** Added to the root of the average (default 1e-8). */
  eps?: number;
  /** Subtract the squared running mean of the gradients (default false). */
  centered?: boolean;
}

/**
 * RMSprop's direction, as torch: `v = decay v + (1 - decay) g²`, `u = g / (sqrt(v) + eps)`;
 * centered: `m = decay m + (1 - decay) g` and `u = g / (sqrt(v - m²) + eps)`. Averages start
 * at 0. State `{nu}` (plus `mu` when centered).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const t = k.optim.scaleByRms({ decay: 0.9, centered: true });
 * ```
 */
export function scaleByRms(opts: ScaleByRmsOptions = {}): GradientTransformation {
  return transformation("optim.scaleByRms", () => {
    checkOptions("optim.scaleByRms", opts, ["decay", "eps", "centered"]);
    const { decay = 0.99, eps = 1e-8, centered = false } = opts;
    check("optim.scaleByRms", decay >= 0, "decay", decay);
    check("optim.scaleByRms", eps >= 0, "eps", eps);
    const op = "optim.scaleByRms";
    return {
      init: (params: Params): OptState => {
        const zeros = map(op, (p) => stateFull(p), params);
        return centered ? { nu: zeros, mu: zeros } : { nu: zeros };
      },
      update: (updates: Params, state: OptState): [Params, OptState] => {
        const nu = movingAverage(op, updates, field(op, state, "nu"), decay, 2);
        if (!centered) {
          return [map(op, (g, v) => g.div(v.sqrt().add(eps)), updates, nu), { nu }];
        }
        const mu = movingAverage(op, updates, field(op, state, "mu"), decay, 1);
        const out = map(
          op,
          (g, v, m) => g.div(v.sub(m.mul(m)).sqrt().add(eps)),
          updates,
          nu,
          mu,
        );
        return [out, { nu, mu }];
      },
    };
  });
}

/** Options of {@link scaleByAdagrad}; PyTorch's `Adagrad` defaults. */
export interface ScaleByAdagradOptions {
  /** Starting value of the sum of squared gradients (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the root of the sum (default 1e-10). */
  eps?: number;
}

/**
 * Adagrad's direction, as torch: `s = s + g²`, `u = g / (sqrt(s) + eps)`, the sum starting at
 * `initialAccumulatorValue`. State `{sum}`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const t = k.optim.scaleByAdagrad({ initialAccumulatorValue: 0.1 });
 * ```
 */
export function scaleByAdagrad(opts: ScaleByAdagradOptions = {}): GradientTransformation {
  return transformation("optim.scaleByAdagrad", () => {
    checkOptions("optim.scaleByAdagrad", opts, ["initialAccumulatorValue", "eps"]);
    const { initialAccumulatorValue = 0, eps = 1e-10 } = opts;
    check(
      "optim.scaleByAdagrad",
      initialAccumulatorValue >= 0,
      "initialAccumulatorValue",
      initialAccumulatorValue,
    );
    check("optim.scaleByAdagrad", eps >= 0, "eps", eps);
    return {
      init: (params: Params): OptState => ({
        sum: map(
          "optim.scaleByAdagrad",
          (p) => stateFull(p, initialAccumulatorValue),
          params,
        ),
      }),
      update: (updates: Params, state: OptState): [Params, OptState] => {
        const sum = map(
          "optim.scaleByAdagrad",
          (g, s) => {
            const x = widenTo(g, s);
            return s.add(x.mul(x));
          },
          updates,
          field("optim.scaleByAdagrad", state, "sum"),
        );
        return [map("optim.scaleByAdagrad", (g, s) => g.div(s.sqrt().add(eps)), updates, sum), {
          sum,
        }];
      },
    };
  });
}

/** Options of {@link traceMomentum}; PyTorch's `SGD` momentum options. */
export interface TraceMomentumOptions {
  /** Momentum factor (default 0.9). */
  momentum?: number;
  /** Dampening of the incoming updates after the first step (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs `dampening = 0`). */
  nesterov?: boolean;
}

/**
 * Momentum, as torch's SGD: the buffer is the first update at the first step, then
 * `b = momentum b + (1 - dampening) u`; the output is `b`, or `u + momentum b` with Nesterov.
 * State `{count, trace}`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const t = k.optim.traceMomentum({ momentum: 0.9, nesterov: true });
 * ```
 */
export function traceMomentum(opts: TraceMomentumOptions = {}): GradientTransformation {
  return transformation("optim.traceMomentum", () => {
    checkOptions("optim.traceMomentum", opts, ["momentum", "dampening", "nesterov"]);
    const { momentum = 0.9, dampening = 0, nesterov = false } = opts;
    check("optim.traceMomentum", momentum >= 0, "momentum", momentum);
    check("optim.traceMomentum", !nesterov || dampening === 0, "dampening for Nesterov", dampening);
    const op = "optim.traceMomentum";
    return {
      init: (params: Params): OptState => ({
        count: initCount(params),
        trace: map(op, (p) => stateFull(p), params),
      }),
      update: (updates: Params, state: OptState): [Params, OptState] => {
        const count = countOf(op, state);
        // The buffer starts at 0, so `momentum * 0 + coef * u` is `u` itself when coef = 1: that
        // is the first step, or every step without dampening.
        const coef = perDtype((d) => k.sub(1, k.notEqual(count, 0).astype(d).mul(dampening)));
        const trace = map(
          op,
          (u, b) => b.mul(momentum).add(dampening === 0 ? u : u.mul(coef(u.dtype))),
          updates,
          field(op, state, "trace"),
        );
        const out = nesterov ? map(op, (u, b) => u.add(b.mul(momentum)), updates, trace) : trace;
        return [out, { count: incrementCount(count), trace }];
      },
    };
  });
}

/**
 * Adds `weightDecay * params` to the updates (empty state; `update` needs the params). Before
 * an optimizer's direction it is torch's L2 `weight_decay`; between the direction and the
 * learning rate it is AdamW's decoupled decay.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.chain(k.optim.addDecayedWeights(1e-4), k.optim.sgd(0.1));
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation {
  return transformation("optim.addDecayedWeights", () => {
    check("optim.addDecayedWeights", true, "weightDecay", weightDecay);
    return {
      init: empty,
      update: (updates: Params, state: OptState, params?: Params): [Params, OptState] => {
        if (weightDecay === 0) return [updates, state];
        const ps = needParams("optim.addDecayedWeights", params);
        return [
          map("optim.addDecayedWeights", (u, p) => u.add(p.mul(weightDecay)), updates, ps),
          state,
        ];
      },
    };
  });
}

/**
 * The Euclidean norm of all leaves together, `sqrt(Σ x²)` (in the widest float dtype among the
 * leaves; 0 for an empty tree).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const n = k.optim.globalNorm({ a: k.tensor([3]), b: k.tensor([4]) }); // 5
 * ```
 */
export function globalNorm(tree: Params): k.Tensor {
  return userOp("optim.globalNorm", () => {
    const leaves = leavesOf("optim.globalNorm", tree);
    if (leaves.length === 0) return k.zeros([]);
    return leaves.map((x) => x.mul(x).sum()).reduce((a, b) => a.add(b)).sqrt();
  });
}

/**
 * Rescales all updates together so that their {@link globalNorm} is at most `maxNorm`:
 * `u * maxNorm / max(norm, maxNorm)` (unchanged when the norm is within bounds; empty state).
 * As Optax, there is no epsilon (torch's `clip_grad_norm_` adds 1e-6 to the norm).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.chain(k.optim.clipByGlobalNorm(1), k.optim.adamw(1e-3));
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  return transformation("optim.clipByGlobalNorm", () => {
    check("optim.clipByGlobalNorm", true, "maxNorm", maxNorm);
    check("optim.clipByGlobalNorm", maxNorm > 0, "maxNorm (must be positive)", maxNorm);
    return {
      init: empty,
      update: (updates: Params, state: OptState): [Params, OptState] => {
        if (leavesOf("optim.clipByGlobalNorm", updates).length === 0) return [updates, state];
        const norm = globalNorm(updates);
        const factor = perDtype((d) => {
          const n = norm.astype(d);
          return k.div(maxNorm, k.maximum(n, maxNorm));
        });
        return [map("optim.clipByGlobalNorm", (u) => u.mul(factor(u.dtype)), updates), state];
      },
    };
  });
}
