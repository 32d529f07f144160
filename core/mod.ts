/**
 * The public core API: tensors, ops, transforms, random numbers. `nn`, `optim`, `data` and
 * `io` build on this module only (never on core internals).
 *
 * Tensors are immutable and lazy: ops build a graph, and reading a value (`await t.data()`,
 * `t.item()`, `t.toArray()`, printing, `k.realize`) runs it as a few fused kernels. The
 * transforms `grad`, `vmap` and `jit` take and return plain functions and compose freely.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const f = (x: k.Tensor) => k.sin(x).mul(x).sum(); // f(x) = Σ x·sin(x)
 * const df = k.jit(k.vmap(k.grad(f))); // per-row gradients, compiled once
 * const g = await df(k.tensor([[0, 1], [2, 3]])).toArray();
 * console.log(g); // [[0, 1.3818], [0.077, -2.8289]]: sin(x) + x·cos(x)
 * ```
 * @module
 */
export { Tensor } from "./tensor/tensor.ts";
export { KilnError } from "./errors.ts";
/**
 * The error mechanism, for code that builds on Kiln (nn, optim, data, your own ops):
 * `publicOp`/`userOp`/`userCallback` carry the user-level name, validators check arguments.
 */
export * as errors from "./errors.ts";
export type { TensorLike } from "./tensor/convert.ts";
export type { DType, FloatInfo, IntInfo, TypedArray } from "./dtype.ts";
export { finfo, iinfo, promoteTypes } from "./dtype.ts";
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
} from "./tensor/creation.ts";
export * from "./tensor/elementwise.ts";
export * from "./tensor/reduce.ts";
export * from "./tensor/movement.ts";
export * from "./tensor/linalg.ts";
export * from "./tensor/indexing.ts";
export {
  scatterAdd,
  type ScatterAddOptions,
  type ScatterMode,
  segmentSum,
} from "./tensor/scatter.ts";
export {
  conv,
  type ConvOptions,
  type ConvPadding,
  convTranspose,
  type ConvTransposeOptions,
  type SpatialArg,
} from "./tensor/conv.ts";
export {
  adaptiveAvgPool,
  avgPool,
  type AvgPoolOptions,
  maxPool,
  type MaxPoolOptions,
} from "./tensor/pool.ts";
export { realize } from "./tensor/readback.ts";
export { type KernelInfo, memoryStats, schedule } from "./tensor/inspect.ts";
export type { MemoryStats } from "./backends/backend.ts";
export {
  defaultDevice,
  type DeviceInfo,
  devicePut,
  devices,
  ready,
  setDefaultDevice,
} from "./tensor/device.ts";
export {
  grad,
  type GradOptions,
  jvp,
  stopGradient,
  valueAndGrad,
  vjp,
} from "./transforms/autodiff.ts";
/** Pytree utilities: flatten, unflatten, map, leaves. */
export * as tree from "./transforms/tree.ts";
export { hessian, jacfwd, type JacOptions, jacrev, type TensorFn } from "./transforms/jacobian.ts";
/** Testing utilities: `checkGrads`. */
export * as testing from "./transforms/testing.ts";
export { type AnyFn, customJvp, customVjp, type CustomVjpRules } from "./transforms/custom.ts";
export * as random from "./random/random.ts";
export { vmap, type VmapOptions } from "./transforms/vmap.ts";
export { jit, type JitOptions, type Jitted, type Lowered } from "./transforms/jit.ts";
export { scan, type ScanOptions } from "./transforms/control/scan.ts";
export { checkpoint, type CheckpointOptions } from "./transforms/checkpoint.ts";
export { cond, switchCase } from "./transforms/control/branch.ts";
export { foriLoop, whileLoop } from "./transforms/control/loop.ts";
export { debugNans, type DebugNansMode, FloatingPointError } from "./debug.ts";
/** Linear algebra (`k.linalg.solve`, `eigh`, `svd`, ...): numpy/JAX names, batched. */
export * as linalg from "./linalg/mod.ts";
/** Notebook display of tensors (Jupyter): `bundle`, `setImageEncoder`. */
export * as display from "./tensor/display.ts";
