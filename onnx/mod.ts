/**
 * ONNX in and out (`k.onnx`): `exportModel` traces a Kiln function (as `jit` does) into the
 * bytes of an ONNX model that ONNX Runtime and other engines serve; `importModel` turns an ONNX
 * model (Kiln's own, or one written by PyTorch's exporter) back into a pure Kiln function of
 * `(params, ...inputs)` that `jit`, `grad` and `vmap` transform like any other.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.mlp.init(k.random.key(0), [4, 8, 3]);
 * const bytes = await k.onnx.exportModel((x: k.Tensor) => k.nn.mlp.apply(params, x),
 *   [k.zeros([2, 4])], { inputNames: ["x"], outputNames: ["logits"], dynamicBatch: true });
 * const { fn, params: p } = k.onnx.importModel(bytes);
 * console.log((fn(p, k.ones([5, 4])) as k.Tensor).shape); // [5, 3]
 * ```
 * @module
 */
export { exportModel, type ExportOptions, save } from "./export.ts";
export { IMPORTED_OPS, type ImportedModel, importModel } from "./import.ts";
export { EXPORTED_PRIMITIVES } from "./emit.ts";
