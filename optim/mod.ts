/**
 * Optax-style optimizers (`k.optim`): pure gradient transformations over pytrees, PyTorch's
 * optimizer formulas and defaults, and learning-rate schedules.
 *
 * A transformation is `{init(params), update(grads, state, params?)}`; `update` returns
 * `[updates, newState]` where the updates are to be ADDED to the parameters (optimizers negate
 * them). The state is a pytree of tensors, so it can be saved, mapped over and threaded through
 * traced functions.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const x = k.tensor([[1, 2], [3, 4]]), y = k.tensor([1, 0]);
 * const loss = (p: { w: k.Tensor }) => x.matmul(p.w).sub(y).pow(2).sum();
 * const opt = k.optim.chain(k.optim.clipByGlobalNorm(1), k.optim.adam(0.1));
 * let params = { w: k.zeros([2]) };
 * let state = opt.init(params);
 * for (let i = 0; i < 200; i++) {
 *   const grads = k.grad(loss)(params);
 *   let updates;
 *   [updates, state] = opt.update(grads, state, params);
 *   params = k.optim.applyUpdates(params, updates) as typeof params;
 *   await k.realize(...k.tree.leaves<k.Tensor>([params, state])); // keep the graph one step deep
 * }
 * console.log(await params.w.toArray()); // [-2, 1.5]: the least-squares solution
 * ```
 * @module
 */
export {
  applyUpdates,
  chain,
  type GradientTransformation,
  identity,
  type OptState,
  type Params,
} from "./base.ts";
export {
  addDecayedWeights,
  clipByGlobalNorm,
  globalNorm,
  scale,
  scaleByAdagrad,
  type ScaleByAdagradOptions,
  scaleByAdam,
  type ScaleByAdamOptions,
  scaleByLearningRate,
  scaleByRms,
  type ScaleByRmsOptions,
  scaleBySchedule,
  traceMomentum,
  type TraceMomentumOptions,
} from "./transforms.ts";
export {
  adagrad,
  type AdagradOptions,
  adam,
  type AdamOptions,
  adamw,
  type AdamwOptions,
  rmsprop,
  type RmspropOptions,
  sgd,
  type SgdOptions,
} from "./optimizers.ts";
export {
  constant,
  cosineDecay,
  type CosineDecayOptions,
  exponentialDecay,
  type ExponentialDecayOptions,
  joinSchedules,
  type LearningRate,
  linearSchedule,
  type LinearScheduleOptions,
  piecewiseConstant,
  type PiecewiseConstantOptions,
  type Schedule,
  stepTensor,
  warmupCosineDecay,
  type WarmupCosineDecayOptions,
} from "./schedules.ts";
