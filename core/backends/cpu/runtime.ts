/**
 * Helpers that generated JavaScript kernels call as `H.*`: scalar functions, and the
 * WebAssembly SIMD matmul that large float32 contractions call.
 * @module
 */

import { erf } from "../../scalar.ts";
import { sgemm, sgemmPacked, sgemmPanels } from "./wasm/sgemm.ts";

export { erf, sgemm, sgemmPacked, sgemmPanels };

/** Round half to even (numpy / PyTorch `round`). */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Integer modulo with the divisor's sign; `x mod 0` is 0. */
export function imod(a: number, b: number): number {
  if (b === 0) return 0;
  const r = a % b;
  return (r !== 0 && (r < 0) !== (b < 0) ? r + b : r) | 0;
}

/** Float modulo with the divisor's sign (numpy `mod`). */
export function fmod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

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
