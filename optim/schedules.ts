/**
 * Schedules: scalar values (learning rates, …) as functions of the step count, with Optax's
 * meanings. Every schedule is made of tensor ops, so it accepts a traced int32 step tensor.
 * @module
 */
import * as k from "../core/mod.ts";
import { check, checkOptions, describe, scheduleOp, typeError, userOp } from "./_state.ts";

/**
 * A function of the step count (a JS number or a scalar tensor, int or float) to a scalar tensor.
 * The result is float64 when the step is a float64 tensor and float32 otherwise; it lives on the
 * step tensor's device (the default device for a JS number). Optimizers call it with their step
 * count before incrementing it, so the first update uses `schedule(0)`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const halve: k.optim.Schedule = (step) => k.pow(0.5, k.optim.stepTensor(step)).mul(0.1);
 * ```
 */
export type Schedule = (step: number | k.Tensor) => k.Tensor;

/**
 * A learning rate: a constant number or a {@link Schedule}.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr: k.optim.LearningRate = k.optim.cosineDecay({ init: 0.1, decaySteps: 1000 });
 * ```
 */
export type LearningRate = number | Schedule;

/**
 * A step as a float scalar tensor: a JS number becomes float32, an int or bool tensor is cast to
 * float32 and a float tensor is returned as it is. Handy for writing schedules.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const s = k.optim.stepTensor(3); // float32 scalar 3
 * ```
 */
export function stepTensor(step: number | k.Tensor): k.Tensor {
  return userOp("optim.stepTensor", () => {
    if (step instanceof k.Tensor) {
      return step.dtype === "float64" || step.dtype === "float32" ? step : step.astype("float32");
    }
    if (typeof step !== "number") {
      throw typeError(
        "optim.stepTensor",
        `the step must be a number or a Tensor, got ${describe(step)}`,
      );
    }
    return k.full([], step, { dtype: "float32" });
  });
}

/** A scalar of the step's dtype and device. */
function like(s: k.Tensor, value: number): k.Tensor {
  return k.full([], value, { dtype: s.dtype, device: s.device });
}

/**
 * The same value at every step.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.constant(0.01); // lr(0) = lr(1000) = 0.01
 * ```
 */
export function constant(value: number): Schedule {
  return scheduleOp("optim.constant", () => {
    check("optim.constant", true, "value", value);
    return (step: number | k.Tensor): k.Tensor => like(stepTensor(step), value);
  });
}

/** Options of {@link linearSchedule}. */
export interface LinearScheduleOptions {
  /** Value up to step `transitionBegin`. */
  init: number;
  /** Value from step `transitionBegin + transitionSteps` on. */
  end: number;
  /** Length of the linear ramp; `<= 0` gives the constant `init`. */
  transitionSteps: number;
  /** Step at which the ramp starts (default 0; negative counts as 0). */
  transitionBegin?: number;
}

/**
 * Linear ramp from `init` to `end`: `init + (end - init) * clip((step - begin) / T, 0, 1)`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const warm = k.optim.linearSchedule({ init: 0, end: 0.1, transitionSteps: 100 }); // warm(50) = 0.05
 * ```
 */
export function linearSchedule(opts: LinearScheduleOptions): Schedule {
  return scheduleOp("optim.linearSchedule", () => {
    checkOptions("optim.linearSchedule", opts ?? required("optim.linearSchedule"), [
      "init",
      "end",
      "transitionSteps",
      "transitionBegin",
    ]);
    const { init, end, transitionSteps } = opts;
    const begin = Math.max(0, opts.transitionBegin ?? 0);
    if (!(transitionSteps > 0)) return constant(init);
    return (step: number | k.Tensor): k.Tensor => {
      const s = stepTensor(step);
      const frac = k.clip(s.sub(begin), 0, transitionSteps).div(transitionSteps);
      return frac.mul(end - init).add(init);
    };
  });
}

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayOptions {
  /** Value up to step `transitionBegin`. */
  init: number;
  /** Factor applied every `transitionSteps` steps; 0 gives the constant `init`. */
  decayRate: number;
  /** Steps per factor of `decayRate`; `<= 0` gives the constant `init`. */
  transitionSteps: number;
  /** Step at which the decay starts (default 0; negative counts as 0). */
  transitionBegin?: number;
  /** Decay in whole multiples of `transitionSteps` (floor of the exponent; default false). */
  staircase?: boolean;
  /** Bound: a lower bound when `decayRate < 1`, an upper bound otherwise (default none). */
  endValue?: number;
}

/**
 * `init * decayRate ** ((step - transitionBegin) / transitionSteps)`, held at `init` up to
 * `transitionBegin`, the exponent floored with `staircase`, bounded by `endValue` (Optax's
 * `exponential_decay`).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 100 });
 * // lr(0) = 0.1, lr(100) = 0.05, lr(200) = 0.025
 * ```
 */
export function exponentialDecay(opts: ExponentialDecayOptions): Schedule {
  return scheduleOp("optim.exponentialDecay", () => {
    checkOptions("optim.exponentialDecay", opts ?? required("optim.exponentialDecay"), [
      "init",
      "decayRate",
      "transitionSteps",
      "transitionBegin",
      "staircase",
      "endValue",
    ]);
    const { init, decayRate, transitionSteps, staircase = false, endValue } = opts;
    const begin = Math.max(0, opts.transitionBegin ?? 0);
    if (!(transitionSteps > 0) || decayRate === 0) return constant(init);
    return (step: number | k.Tensor): k.Tensor => {
      const s = stepTensor(step);
      const since = s.sub(begin);
      let p = since.div(transitionSteps);
      if (staircase) p = p.floor();
      let v = k.where(k.lessEqual(since, 0), init, k.pow(decayRate, p).mul(init));
      if (endValue !== undefined) {
        v = decayRate < 1 ? k.maximum(v, endValue) : k.minimum(v, endValue);
      }
      return v;
    };
  });
}

/** Options of {@link cosineDecay}. */
export interface CosineDecayOptions {
  /** Value at step 0. */
  init: number;
  /** Steps over which the value decays (must be positive); it stays at `alpha * init` after. */
  decaySteps: number;
  /** Final value as a fraction of `init` (default 0). */
  alpha?: number;
  /** Power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * Cosine decay: `init * ((1 - alpha) * c ** exponent + alpha)` with
 * `c = (1 + cos(pi * min(step, decaySteps) / decaySteps)) / 2` (Optax's `cosine_decay_schedule`).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.cosineDecay({ init: 0.1, decaySteps: 1000 }); // lr(500) = 0.05, lr(1000) = 0
 * ```
 */
export function cosineDecay(opts: CosineDecayOptions): Schedule {
  return scheduleOp("optim.cosineDecay", () => {
    checkOptions("optim.cosineDecay", opts ?? required("optim.cosineDecay"), [
      "init",
      "decaySteps",
      "alpha",
      "exponent",
    ]);
    const { init, decaySteps, alpha = 0, exponent = 1 } = opts;
    check("optim.cosineDecay", decaySteps > 0, "decaySteps (must be positive)", decaySteps);
    return (step: number | k.Tensor): k.Tensor => {
      const t = k.minimum(stepTensor(step), decaySteps);
      let c = k.cos(t.mul(Math.PI).div(decaySteps)).add(1).mul(0.5);
      if (exponent !== 1) c = c.pow(exponent);
      return c.mul(1 - alpha).add(alpha).mul(init);
    };
  });
}

/** Options of {@link warmupCosineDecay}. */
export interface WarmupCosineDecayOptions {
  /** Value at step 0. */
  init: number;
  /** Value reached at the end of the warmup. */
  peak: number;
  /** Length of the linear warmup from `init` to `peak`. */
  warmupSteps: number;
  /** Total length, warmup included: the cosine runs over `decaySteps - warmupSteps` steps. */
  decaySteps: number;
  /** Final value (default 0). */
  end?: number;
  /** Power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * Linear warmup from `init` to `peak` over `warmupSteps`, then cosine decay from `peak` to `end`
 * over the remaining `decaySteps - warmupSteps` steps (Optax's `warmup_cosine_decay_schedule`).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.warmupCosineDecay({ init: 0, peak: 1e-3, warmupSteps: 100, decaySteps: 1000 });
 * ```
 */
export function warmupCosineDecay(opts: WarmupCosineDecayOptions): Schedule {
  return scheduleOp("optim.warmupCosineDecay", () => {
    checkOptions("optim.warmupCosineDecay", opts ?? required("optim.warmupCosineDecay"), [
      "init",
      "peak",
      "warmupSteps",
      "decaySteps",
      "end",
      "exponent",
    ]);
    const { init, peak, warmupSteps, decaySteps, end = 0, exponent = 1 } = opts;
    check(
      "optim.warmupCosineDecay",
      decaySteps - warmupSteps > 0,
      "decaySteps (must exceed warmupSteps)",
      decaySteps,
    );
    const warm = linearSchedule({ init, end: peak, transitionSteps: warmupSteps });
    const alpha = peak === 0 ? 0 : end / peak;
    const cos = cosineDecay({ init: peak, decaySteps: decaySteps - warmupSteps, alpha, exponent });
    return joinSchedules([warm, cos], [warmupSteps]);
  });
}

/** Options of {@link piecewiseConstant}. */
export interface PiecewiseConstantOptions {
  /** Value before the first boundary. */
  init: number;
  /** `{step: scale}`: from `step` on (inclusive), the value is multiplied by `scale` (>= 0). */
  boundariesAndScales?: Record<number, number>;
}

/**
 * `init` times the product of the scales of every boundary `b <= step` (Optax's
 * `piecewise_constant_schedule`).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.piecewiseConstant({ init: 0.1, boundariesAndScales: { 100: 0.1, 200: 0.1 } });
 * // lr(99) = 0.1, lr(100) = 0.01, lr(250) = 0.001
 * ```
 */
export function piecewiseConstant(opts: PiecewiseConstantOptions): Schedule {
  return scheduleOp("optim.piecewiseConstant", () => {
    checkOptions("optim.piecewiseConstant", opts ?? required("optim.piecewiseConstant"), [
      "init",
      "boundariesAndScales",
    ]);
    const pairs = Object.entries(opts.boundariesAndScales ?? {})
      .map(([b, s]) => [Number(b), s] as const)
      .sort((a, b) => a[0] - b[0]);
    for (const [b, s] of pairs) {
      check("optim.piecewiseConstant", Number.isFinite(b), "boundary", b);
      check("optim.piecewiseConstant", s >= 0, `scale at boundary ${b} (must be >= 0)`, s);
    }
    return (step: number | k.Tensor): k.Tensor => {
      const s = stepTensor(step);
      let v = like(s, opts.init);
      for (const [b, scale] of pairs) v = k.where(k.greaterEqual(s, b), v.mul(scale), v);
      return v;
    };
  });
}

/**
 * Runs `schedules[i]` from `boundaries[i - 1]` (or 0) to `boundaries[i]`, each one called with
 * the steps since its start (Optax's `join_schedules`).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const lr = k.optim.joinSchedules(
 *   [k.optim.constant(0.1), k.optim.exponentialDecay({ init: 0.1, decayRate: 0.9, transitionSteps: 10 })],
 *   [500],
 * );
 * ```
 */
export function joinSchedules(
  schedules: readonly Schedule[],
  boundaries: readonly number[],
): Schedule {
  return scheduleOp("optim.joinSchedules", () => {
    if (!Array.isArray(schedules) || schedules.some((f) => typeof f !== "function")) {
      throw typeError(
        "optim.joinSchedules",
        `schedules must be an array of schedule functions, got ${describe(schedules)}`,
      );
    }
    if (!Array.isArray(boundaries)) {
      throw typeError(
        "optim.joinSchedules",
        `boundaries must be an array of steps, got ${describe(boundaries)}`,
      );
    }
    boundaries.forEach((b) => check("optim.joinSchedules", true, "boundary", b));
    check(
      "optim.joinSchedules",
      schedules.length === boundaries.length + 1,
      `number of boundaries (needs ${schedules.length - 1})`,
      boundaries.length,
    );
    return (step: number | k.Tensor): k.Tensor => {
      const s = stepTensor(step);
      let v = schedules[0](s).astype(s.dtype);
      boundaries.forEach((b, i) => {
        v = k.where(k.greaterEqual(s, b), schedules[i + 1](s.sub(b)).astype(s.dtype), v);
      });
      return v;
    };
  });
}

/** Throws: a schedule's options are required. */
function required(op: string): never {
  throw typeError(op, "needs its options object (see its documentation)");
}
