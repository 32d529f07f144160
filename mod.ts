/**
 * Kiln: a functional machine-learning library for Deno. Immutable lazy tensors, a fusing
 * scheduler, CPU and WebGPU backends, and JAX-style transforms (`grad`, `vmap`, `jit`, `scan`)
 * that compose in any order.
 *
 * Everything is on one namespace: the tensor ops and transforms of the core, and the modules
 * `k.nn` (layers, losses), `k.optim` (optimizers, schedules), `k.data` (datasets, batching),
 * `k.io` (checkpoints, images), `k.plot` (SVG plots) and `k.onnx` (ONNX export and import).
 * The guide (`docs/` in the repository) walks through them in order.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const x = k.tensor([[1, 2], [3, 4]]);
 * const y = k.relu(x.mul(1.5).add(0.5)).sum({ axis: 1 }); // lazy: nothing has run yet
 * console.log(k.schedule(y).length); // 1: the whole expression is one kernel
 * console.log(await y.toArray()); // [5.5, 11.5]
 * const slope = k.grad((w: k.Tensor) => k.relu(x.mul(w)).sum())(k.tensor(2));
 * console.log(await slope.item()); // 10: the sum of x
 * ```
 * @module
 */
export * from "./core/mod.ts";
/** Pure neural-network building blocks: layers, activations, losses, initializers. */
export * as nn from "./nn/mod.ts";
/** Optax-style optimizers and learning-rate schedules. */
export * as optim from "./optim/mod.ts";
/** Datasets, file readers and batching. */
export * as data from "./data/mod.ts";
/** Checkpoints: safetensors save/load. */
export * as io from "./io/mod.ts";
/** Small SVG plots: line, scatter, density2d. */
export * as plot from "./plot/mod.ts";
/** ONNX export (`exportModel`, `save`) and import (`importModel`): serve with ONNX Runtime. */
export * as onnx from "./onnx/mod.ts";
