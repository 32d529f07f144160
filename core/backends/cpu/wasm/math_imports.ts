/**
 * The JavaScript functions WebAssembly kernels import for float64 math (and, until vector
 * math covers them, float32 math): exactly what the JavaScript kernels compute.
 * @module
 */
import { erf, fmod } from "../../../scalar.ts";
import type { MathName } from "./ops.ts";

/** One function per math import name, on float64 values. */
export const MATH_IMPORTS: Readonly<Record<MathName, (x: number, y: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  erf,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  pow: Math.pow,
  fmod,
};
