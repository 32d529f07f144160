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
