/**
 * Helpers that generated JavaScript kernels call as `H.*`: scalar functions, and the
 * WebAssembly SIMD matmul that large float32 contractions call.
 * @module
 */

import { erf, fmod, imod, roundEven } from "../../scalar.ts";
import { sgemm, sgemmPacked, sgemmPanels } from "./wasm/sgemm.ts";

// The scalar helpers live in core/scalar.ts, shared with constant folding (core/ir/evaluate.ts).
export { erf, fmod, imod, roundEven, sgemm, sgemmPacked, sgemmPanels };

/** The helper object handed to every compiled kernel. */
export const H: {
  erf: typeof erf;
  roundEven: typeof roundEven;
  imod: typeof imod;
  fmod: typeof fmod;
  sgemm: typeof sgemm;
  sgemmPanels: typeof sgemmPanels;
  sgemmPacked: typeof sgemmPacked;
} = { erf, roundEven, imod, fmod, sgemm, sgemmPanels, sgemmPacked };
