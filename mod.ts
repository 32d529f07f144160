/**
 * Kiln: a functional machine-learning library for Deno. Immutable lazy tensors, a fusing
 * scheduler, CPU and WebGPU backends.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const x = k.tensor([[1, 2], [3, 4]]);
 * const y = k.relu(x.mul(1.5).add(0.5)).sum({ axis: 1 });
 * console.log(await y.toArray()); // [5.5, 11.5]
 * ```
 * @module
 */
export { Tensor } from "./core/tensor/tensor.ts";
export type { TensorLike } from "./core/tensor/convert.ts";
export type { DType, TypedArray } from "./core/dtype.ts";
export {
  arange,
  type CreateOptions,
  eye,
  type EyeOptions,
  full,
  linspace,
  type LinspaceOptions,
  type NestedArray,
  ones,
  onesLike,
  tensor,
  zeros,
  zerosLike,
} from "./core/tensor/creation.ts";
export * from "./core/tensor/elementwise.ts";
export * from "./core/tensor/reduce.ts";
export * from "./core/tensor/movement.ts";
export * from "./core/tensor/linalg.ts";
export * from "./core/tensor/indexing.ts";
export { realize } from "./core/tensor/readback.ts";
export { type KernelInfo, memoryStats, schedule } from "./core/tensor/inspect.ts";
export type { MemoryStats } from "./core/backends/backend.ts";
export { defaultDevice, setDefaultDevice } from "./core/tensor/device.ts";
export {
  grad,
  type GradOptions,
  jvp,
  stopGradient,
  valueAndGrad,
  vjp,
} from "./core/transforms/autodiff.ts";
/** Pytree utilities: flatten, unflatten, map, leaves. */
export * as tree from "./core/transforms/tree.ts";
export {
  hessian,
  jacfwd,
  type JacOptions,
  jacrev,
  type TensorFn,
} from "./core/transforms/jacobian.ts";
/** Testing utilities: `checkGrads`. */
export * as testing from "./core/transforms/testing.ts";
export { type AnyFn, customJvp, customVjp, type CustomVjpRules } from "./core/transforms/custom.ts";
export * as random from "./core/random/random.ts";
