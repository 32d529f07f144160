/**
 * What the WebAssembly renderings of the elementwise primitives share (`ops_scalar.ts`,
 * `ops_vector.ts`, used by the kernel compiler `lower.ts`): the context a rendering gets, the
 * opcodes, and the float → int32 conversion. Each rendering pushes its arguments through the
 * context (`c.arg(k)`, any number of times: arguments live in locals) and appends the
 * instructions that leave its result on the stack.
 *
 * Semantics are the JavaScript renderings' (`../renders.ts`), bit for bit: float32 `+ − × ÷ √`
 * are correctly rounded in WebAssembly as `Math.fround` of the float64 result is; ops that
 * JavaScript computes in float64 before rounding (`rsqrt`, float floor-division, `sigmoid`)
 * are computed in float64 here too; int32 arithmetic wraps; float → int32 casts truncate and
 * wrap modulo 2^32 like `|0`; transcendental functions call the vector math of `vmath.ts`
 * (≤ 2 ulp, special values exact) or, for float64, JavaScript's own `Math` functions.
 *
 * Value representation: float32 `f32`/`f32x4`, float64 `f64`, int32 `i32`/`i32x4`, bool
 * `i32` 0/1 as a scalar and an all-ones/zero lane mask as a vector (what comparisons give and
 * `v128.bitselect` takes).
 * @module
 */
import type { DType } from "../../../dtype.ts";
import type { FuncBuilder } from "./assembler.ts";

/** What a rendering may ask of the kernel compiler. */
export interface OpContext {
  readonly f: FuncBuilder;
  /** Pushes argument `k` (in the current mode: scalar, or vector with bools as masks). */
  arg(k: number): void;
  /** The argument dtypes and the result dtype. */
  readonly argTypes: readonly DType[];
  readonly dtype: DType;
  /** A scratch local of a wasm type (`i32`, `i64`, `f64`, `v128`), valid during this op. */
  temp(t: "i32" | "i64" | "f64" | "v128"): number;
  /** Calls math function `name` on f64 scalars (JavaScript's `Math`: exact JS semantics). */
  callF64(name: MathName): void;
  /** Calls the f32x4 vector math function `name` (lane-wise). */
  callV(name: MathName): void;
}

/** Transcendental functions: JavaScript imports (f64) and vector math (f32x4). */
export type MathName =
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sin"
  | "cos"
  | "tanh"
  | "erf"
  | "sigmoid"
  | "pow"
  | "fmod";

/** A rendering: pushes its result, reading arguments through the context. */
export type Emit = (c: OpContext) => void;

// ---------------------------------------------------------------- opcodes (binary format) --
/** Scalar float opcodes, per type. */
export const FOPS = {
  f32: {
    eq: 0x5b,
    ne: 0x5c,
    lt: 0x5d,
    gt: 0x5e,
    le: 0x5f,
    ge: 0x60,
    abs: 0x8b,
    neg: 0x8c,
    ceil: 0x8d,
    floor: 0x8e,
    trunc: 0x8f,
    nearest: 0x90,
    sqrt: 0x91,
    add: 0x92,
    sub: 0x93,
    mul: 0x94,
    div: 0x95,
    min: 0x96,
    max: 0x97,
  },
  f64: {
    eq: 0x61,
    ne: 0x62,
    lt: 0x63,
    gt: 0x64,
    le: 0x65,
    ge: 0x66,
    abs: 0x99,
    neg: 0x9a,
    ceil: 0x9b,
    floor: 0x9c,
    trunc: 0x9d,
    nearest: 0x9e,
    sqrt: 0x9f,
    add: 0xa0,
    sub: 0xa1,
    mul: 0xa2,
    div: 0xa3,
    min: 0xa4,
    max: 0xa5,
  },
} as const;
/** A scalar float operation name. */
export type FOp = keyof typeof FOPS.f32;

/** i32 opcodes. */
export const I = {
  eqz: 0x45,
  eq: 0x46,
  ne: 0x47,
  lt_s: 0x48,
  gt_s: 0x4a,
  le_s: 0x4c,
  ge_s: 0x4e,
  add: 0x6a,
  sub: 0x6b,
  mul: 0x6c,
  div_s: 0x6d,
  rem_s: 0x6f,
  and: 0x71,
  or: 0x72,
  xor: 0x73,
  shl: 0x74,
  shr_u: 0x76,
  wrap_i64: 0xa7,
  select: 0x1b,
} as const;

/** Other scalar opcodes. */
export const X = {
  f32_convert_i32_s: 0xb2,
  f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7,
  f64_promote_f32: 0xbb,
  i64_extend_i32_s: 0xac,
  i64_div_s: 0x7f,
  i64_rem_s: 0x81,
  i64_sub: 0x7d,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_xor: 0x85,
  i64_extend_i32_u: 0xad,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const V = {
  i8x16_shuffle: 0x0d,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  i32x4_extract_lane: 0x1b,
  i32x4_replace_lane: 0x1c,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,
  f64x2_extract_lane: 0x21,
  i32x4_eq: 0x37,
  i32x4_ne: 0x38,
  i32x4_lt_s: 0x39,
  i32x4_gt_s: 0x3b,
  i32x4_le_s: 0x3d,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  not: 0x4d,
  and: 0x4e,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  any_true: 0x53,
  f32x4_demote_f64x2_zero: 0x5e,
  f64x2_promote_low_f32x4: 0x5f,
  f32x4_ceil: 0x67,
  f32x4_floor: 0x68,
  f32x4_nearest: 0x6a,
  i32x4_abs: 0xa0,
  i32x4_neg: 0xa1,
  i32x4_shl: 0xab,
  i32x4_shr_u: 0xad,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,
  i32x4_mul: 0xb5,
  i32x4_min_s: 0xb6,
  i32x4_max_s: 0xb8,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f64x2_sqrt: 0xef,
  f64x2_add: 0xf0,
  f64x2_mul: 0xf2,
  f64x2_div: 0xf3,
  f64x2_floor: 0x75,
  f64x2_max: 0xf5,
  f64x2_min: 0xf4,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  f32x4_convert_i32x4_s: 0xfa,
} as const;

/** Shuffle lanes: the high two f32 lanes of the first operand moved low. */
export const HIGH_HALF: readonly number[] = [
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
];
/** Shuffle lanes: the low two lanes of each operand, concatenated. */
export const LOW_HALVES: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
];

/** The f64 on the stack truncated and wrapped to int32 exactly as JavaScript's `x | 0`. */
export function f64ToInt32(c: Pick<OpContext, "f" | "temp">): void {
  const t = c.temp("f64");
  const f = c.f;
  f.raw(FOPS.f64.trunc).set(t);
  // t − 2^32·floor(t / 2^32) is exact and in [0, 2^32); NaN and ±inf become NaN, then 0.
  f.get(t).f64(2 ** 32).get(t).f64(2 ** -32).raw(FOPS.f64.mul, FOPS.f64.floor, FOPS.f64.mul);
  f.raw(FOPS.f64.sub, 0xfc, 0x06, I.wrap_i64); // i64.trunc_sat_f64_s, i32.wrap_i64
}

/** A math function on scalars: float32 goes through the same vector function as whole
 * vectors do (one lane used), so an element's value never depends on where it falls; float64
 * and float32 `mod` call JavaScript's float64 functions. */
