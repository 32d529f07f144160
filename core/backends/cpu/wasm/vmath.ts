/**
 * Vectorized transcendental functions for the CPU backend's WebAssembly kernels: each entry of
 * {@link VMATH_F32} builds a function `(v128) -> v128` (`pow`: `(v128, v128) -> v128`) that
 * computes its function on the four float32 lanes, with no memory access and no calls, for a kernel
 * to `call` (or copy) where the JavaScript path calls `Math.f`.
 *
 * **Accuracy**: each function returns `Math.fround(Math.f(x))` (sigmoid: `1/(1+Math.exp(-x))`, pow:
 * `x ** y` in float64, erf: the float64 erf) within **1 ulp** for every float32 input (sigmoid: **2
 * ulp**), and exactly (sign of zero included) at the special values: NaN → NaN; ±inf; ±0 (tanh,
 * sin, expm1, log1p, erf keep −0); subnormal inputs and outputs; the overflow and underflow
 * thresholds (exp(88.72283) = 3.4028235e38 and inf from the next float32 on, exp(−104) → 0 through
 * the subnormals); log of a negative → NaN, log(±0) = −inf; pow's special cases as JavaScript's
 * `**` (pow(x, ±0) = 1 even for a NaN x, pow(±1, ±inf) = NaN, pow(1, NaN) = NaN, a negative base
 * with an odd/even integer exponent, NaN with a non-integer one, ±0 and ±inf bases). sin and cos
 * reduce their argument exactly over the whole float32 range (|x| up to 3.4e38): Cody–Waite below
 * 2^17, Payne–Hanek above. tests/vmath_test.ts checks all this over ~10^6 inputs per function;
 * tests/vmath_exhaustive.ts runs every float32 of a range (results off Math.fround(Math.f) by 1
 * ulp, 2 ulp): exp, all finite results (545M inputs): 3.3%, 0; tanh [1e-10, 100] and [−2, −0.5]
 * (351M): 2.1%, 0; sigmoid [−104, 18] (526M): 24%, 0.05%; log, every positive float32 (2139M):
 * 0.63%, 0; log1p, every float32 from −1 up (3204M): 0.52%, 0; expm1 [−20, 89] (648M): 1964, 0;
 * erf, the subnormals and [1e-10, 4.5] (331M): 6.1%, 0; sin and cos [1e-10, 2^24], [1e30,
 * 1.001e30], [3.4e38, max] (481M each): ~100, 0.
 *
 * **How**: exp, log, log1p, sigmoid, tanh and erf, the functions of softmax, losses, softplus,
 * gates and GELU, run in float32 lanes (`vmath_f32.ts`: four lanes an instruction). The others
 * widen each pair of lanes to float64 (`vmath_f64.ts`), evaluate a polynomial there after an
 * argument reduction (minimax fits made by tests/make_vmath_coeffs.py, relative error ≤ 2^-38) and
 * round once to float32: half the lanes, but a one-rounding bound (results nearly always equal to
 * the JavaScript path's), float32 subnormals that are normal numbers, and float32's overflow
 * thresholds far from float64's, so special cases cost a few selects. Every lane is computed on its
 * own (branch-free selects); the one branch, sin/cos's Payne–Hanek reduction, runs only when some
 * lane has |x| ≥ 2^17, and each lane's result is the same whichever lanes surround it.
 *
 * Throughput (one run of `KILN_VMATH_BENCH=1` tests/vmath_test.ts: 2^20 elements, one core of the
 * shared 2-vCPU machine, ns/element, against a JavaScript loop of `Math.f` into a Float32Array):
 * exp 1.9 (JS 8.3), log 2.6 (16), sigmoid 2.5 (21), tanh 3.7 (30), erf 4.9 (78), sin 4.5 (32), cos
 * 4.5 (32), log1p 2.8 (43; float64 lanes were 4.9), expm1 5.1 (25), pow 15 (36).
 * @module
 */
import { FuncBuilder, V128 } from "./assembler.ts";
import { expm1Core, powCore, sinCosCore } from "./vmath_f64.ts";
import { erf32, exp32, log1p32, log32, sigmoid32, tanh32 } from "./vmath_f32.ts";
import { bind, demote, type Ex, get, hoistConstants, promoteLow, shuffle } from "./vmath_ops.ts";

/** The functions {@link VMATH_F32} provides. */
export type VecMathName =
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "tanh"
  | "sigmoid"
  | "sin"
  | "cos"
  | "erf"
  | "pow";

/** Lanes 2 and 3 moved to lanes 0 and 1. */
const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Lanes 0 and 1 of each operand. */
const JOIN = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** A float32x4 function from a float32x4 kernel. */
function native(core: (f: FuncBuilder, x: Ex) => Ex): () => FuncBuilder {
  return () => {
    const f = new FuncBuilder([V128], [V128]);
    core(f, get(0))(f);
    hoistConstants(f);
    return f;
  };
}

/** A float32x4 function from a float64x2 kernel of `arity` operands, run on both halves. */
function f32x4(arity: 1 | 2, core: (f: FuncBuilder, ...xs: Ex[]) => Ex): () => FuncBuilder {
  return () => {
    const f = new FuncBuilder(arity === 1 ? [V128] : [V128, V128], [V128]);
    const args = Array.from({ length: arity }, (_, i) => get(i));
    const lo = args.map((a) => bind(f, promoteLow(a)));
    const hi = args.map((a) => bind(f, promoteLow(shuffle(a, a, HIGH))));
    const rLo = bind(f, demote(core(f, ...lo)));
    const rHi = bind(f, demote(core(f, ...hi)));
    shuffle(rLo, rHi, JOIN)(f);
    hoistConstants(f);
    return f;
  };
}

/**
 * Builders of the float32x4 functions: each call returns a fresh {@link FuncBuilder} of type
 * `(v128) -> v128` (`pow`: `(v128, v128) -> v128`), within 1 ulp of `Math.fround(Math.f(x))`.
 * @example
 * ```ts
 * import { assembleModule } from "./assembler.ts";
 * const bytes = assembleModule([{ name: "exp4", body: VMATH_F32.exp() }]);
 * ```
 */
export const VMATH_F32: Readonly<Record<VecMathName, () => FuncBuilder>> = {
  exp: native(exp32),
  log: native(log32),
  log1p: native(log1p32),
  expm1: f32x4(1, expm1Core),
  tanh: native(tanh32),
  sigmoid: native(sigmoid32),
  sin: f32x4(1, (f, x) => sinCosCore(f, x, false)),
  cos: f32x4(1, (f, x) => sinCosCore(f, x, true)),
  erf: native(erf32),
  pow: f32x4(2, powCore),
};
