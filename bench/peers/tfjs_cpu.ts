/**
 * TensorFlow.js with its `cpu` backend (plain JavaScript), in its own process, for `bench/peers/run.ts`.
 *
 *   npx -y deno@2.9.6 run -A --config bench/peers/deno.json bench/peers/tfjs_cpu.ts [--quick]
 * @module
 */
import { sizesFromArgs } from "./common.ts";
import { runTfjs } from "./_tfjs.ts";

await runTfjs("cpu", sizesFromArgs(Deno.args));
