/**
 * TensorFlow.js with its `wasm` backend (XNNPACK WebAssembly, SIMD), in its own process, for `bench/peers/run.ts`.
 *
 *   npx -y deno@2.9.6 run -A --config bench/peers/deno.json bench/peers/tfjs_wasm.ts [--quick]
 * @module
 */
import { sizesFromArgs } from "./common.ts";
import { runTfjs } from "./_tfjs.ts";

await runTfjs("wasm", sizesFromArgs(Deno.args));
