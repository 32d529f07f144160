/**
 * A small expression layer over {@link FuncBuilder} for the vectorized math functions: an
 * expression is a function that emits the code leaving one v128 on the stack, so formulas read
 * as formulas (`dAdd(dMul(x, c), y)`), and `bind` stores a value in a fresh local once for
 * several uses. Opcodes are the WebAssembly SIMD proposal's (final encoding).
 * @module
 */
import { FuncBuilder, V128 } from "./assembler.ts";

/** Code that leaves one v128 on the stack. */
export type Ex = (f: FuncBuilder) => void;

const op = (opcode: number, ...args: Ex[]): Ex => (f) => {
  for (const a of args) a(f);
  f.simdOp(opcode);
};
const op1 = (opcode: number) => (a: Ex): Ex => op(opcode, a);
const op2 = (opcode: number) => (a: Ex, b: Ex): Ex => op(opcode, a, b);

/** Evaluates `e` into a new v128 local now; the result reads that local. */
export function bind(f: FuncBuilder, e: Ex): Ex {
  const l = f.local(V128);
  e(f);
  f.set(l);
  return (g) => g.get(l);
}

/** `local.get` of local `l`. */
export const get = (l: number): Ex => (f) => f.get(l);

/** Constants already held in locals, per function: `v128.const` costs V8 several
 * instructions at each use, a local one register read. */
const constLocals = new WeakMap<FuncBuilder, Map<string, number>>();

/** Functions emitting a rarely taken branch, whose constants stay in place. */
const inlineConstants = new WeakSet<FuncBuilder>();

/** Emits `body` with its constants as `v128.const` where used, not set at every call's start
 * (for code that seldom runs, such as a branch for rare inputs). */
export function rarely(f: FuncBuilder, body: () => void): void {
  inlineConstants.add(f);
  body();
  inlineConstants.delete(f);
}

/** A constant of 16 bytes, through a local of `f` set once at the function's start. */
const cached = (bytes: Uint8Array): Ex => (f) => {
  if (inlineConstants.has(f)) return void f.v128Const(bytes);
  let m = constLocals.get(f);
  if (!m) constLocals.set(f, m = new Map());
  const key = bytes.join(",");
  let l = m.get(key);
  if (l === undefined) {
    m.set(key, l = f.local(V128));
  }
  f.get(l);
};

/** Moves the constants' initializations to the start of `f`'s code. */
export function hoistConstants(f: FuncBuilder): void {
  const m = constLocals.get(f);
  if (!m) return;
  const init = new FuncBuilder([]);
  for (const [key, l] of m) {
    init.v128Const(key.split(",").map(Number));
    init.set(l);
  }
  f.code.unshift(...init.code);
}

/** Two float64 lanes equal to `x`. */
export const dc = (x: number): Ex => cached(new Uint8Array(new Float64Array([x, x]).buffer));
/** Two int64 lanes equal to `x`. */
export const ic = (x: bigint): Ex => cached(new Uint8Array(new BigInt64Array([x, x]).buffer));
/** Four float32 lanes equal to `x`. */
export const fc = (x: number): Ex => cached(new Uint8Array(new Float32Array([x, x, x, x]).buffer));
/** Four int32 lanes equal to `x`. */
export const jc = (x: number): Ex => cached(new Uint8Array(new Int32Array([x, x, x, x]).buffer));
/** `v128.const` of 16 bytes. */
export const bc = (bytes: readonly number[]): Ex => (f) => f.v128Const(bytes);

// float64x2 arithmetic and comparisons (comparisons give all-ones / all-zeros lane masks).
/** `f64x2.add`. */
export const dAdd: (a: Ex, b: Ex) => Ex = op2(0xf0);
/** `f64x2.sub`. */
export const dSub: (a: Ex, b: Ex) => Ex = op2(0xf1);
/** `f64x2.mul`. */
export const dMul: (a: Ex, b: Ex) => Ex = op2(0xf2);
/** `f64x2.div`. */
export const dDiv: (a: Ex, b: Ex) => Ex = op2(0xf3);
/** `f64x2.pmin`: `b < a ? b : a` (one instruction on x86, unlike `min`; a NaN `a` stays). */
export const dPmin: (a: Ex, b: Ex) => Ex = op2(0xf6);
/** `f64x2.pmax`: `a < b ? b : a` (a NaN `a` stays). */
export const dPmax: (a: Ex, b: Ex) => Ex = op2(0xf7);
/** `f64x2.abs`. */
export const dAbs: (a: Ex) => Ex = op1(0xec);
/** `f64x2.floor`. */
export const dFloor: (a: Ex) => Ex = op1(0x75);
/** `f64x2.nearest` (ties to even). */
export const dNearest: (a: Ex) => Ex = op1(0x94);
/** `f64x2.eq`. */
export const dEq: (a: Ex, b: Ex) => Ex = op2(0x47);
/** `f64x2.ne`. */
export const dNe: (a: Ex, b: Ex) => Ex = op2(0x48);
/** `f64x2.lt`. */
export const dLt: (a: Ex, b: Ex) => Ex = op2(0x49);
/** `f64x2.gt`. */
export const dGt: (a: Ex, b: Ex) => Ex = op2(0x4a);
/** `f64x2.ge`. */
export const dGe: (a: Ex, b: Ex) => Ex = op2(0x4c);

// float32x4 arithmetic and comparisons.
/** `f32x4.add`. */
export const fAdd: (a: Ex, b: Ex) => Ex = op2(0xe4);
/** `f32x4.sub`. */
export const fSub: (a: Ex, b: Ex) => Ex = op2(0xe5);
/** `f32x4.mul`. */
export const fMul: (a: Ex, b: Ex) => Ex = op2(0xe6);
/** `f32x4.div`. */
export const fDiv: (a: Ex, b: Ex) => Ex = op2(0xe7);
/** `f32x4.pmin`: `b < a ? b : a`. */
export const fPmin: (a: Ex, b: Ex) => Ex = op2(0xea);
/** `f32x4.pmax`: `a < b ? b : a`. */
export const fPmax: (a: Ex, b: Ex) => Ex = op2(0xeb);
/** `f32x4.abs`. */
export const fAbs: (a: Ex) => Ex = op1(0xe0);
/** `f32x4.eq`. */
export const fEq: (a: Ex, b: Ex) => Ex = op2(0x41);
/** `f32x4.convert_i32x4_s`: int32 lanes to float32. */
export const fFromInt: (a: Ex) => Ex = op1(0xfa);
/** `f32x4.lt`. */
export const fLt: (a: Ex, b: Ex) => Ex = op2(0x43);
/** `f32x4.gt`. */
export const fGt: (a: Ex, b: Ex) => Ex = op2(0x44);
/** `f32x4.ge`. */
export const fGe: (a: Ex, b: Ex) => Ex = op2(0x46);
/** `i32x4.add`. */
export const jAdd: (a: Ex, b: Ex) => Ex = op2(0xae);
/** `i32x4.sub`. */
export const jSub: (a: Ex, b: Ex) => Ex = op2(0xb1);
/** `i32x4.shl` by a constant. */
export const jShl = (a: Ex, n: number): Ex => op(0xab, a, (f) => f.i32(n));
/** `i32x4.shr_s` by a constant. */
export const jShrS = (a: Ex, n: number): Ex => op(0xac, a, (f) => f.i32(n));

// int64x2 lanes (shift counts are constants; no arithmetic right shift: x86 has none).
/** `i64x2.add`. */
export const iAdd: (a: Ex, b: Ex) => Ex = op2(0xce);
/** `i64x2.sub`. */
export const iSub: (a: Ex, b: Ex) => Ex = op2(0xd1);
/** `i64x2.shl` by a constant. */
export const iShl = (a: Ex, n: number): Ex => op(0xcb, a, (f) => f.i32(n));
/** `i64x2.eq`. */
export const iEq: (a: Ex, b: Ex) => Ex = op2(0xd6);
/** `i64x2.shr_u` by a constant. */
export const iShrU = (a: Ex, n: number): Ex => op(0xcd, a, (f) => f.i32(n));

// Bitwise and byte operations.
/** `v128.and`. */
export const and: (a: Ex, b: Ex) => Ex = op2(0x4e);
/** `v128.or`. */
export const or: (a: Ex, b: Ex) => Ex = op2(0x50);
/** `v128.xor`. */
export const xor: (a: Ex, b: Ex) => Ex = op2(0x51);
/** `v128.bitselect`: bits of `a` where `mask` is set, else of `b`. */
export const select = (a: Ex, b: Ex, mask: Ex): Ex => op(0x52, a, b, mask);
/** `v128.any_true` (an i32). */
export const anyTrue: (a: Ex) => Ex = op1(0x53);
/** `i8x16.swizzle`: bytes of `table` at the byte indices of `idx` (0 where ≥ 16). */
export const swizzle: (table: Ex, idx: Ex) => Ex = op2(0x0e);
/** `i8x16.sub`. */
export const bSub: (a: Ex, b: Ex) => Ex = op2(0x71);
/** `i8x16.add`. */
export const bAdd: (a: Ex, b: Ex) => Ex = op2(0x6e);
/** `i8x16.shuffle` of the 32 bytes of `a` and `b` (indices 16–31 are `b`'s). */
export const shuffle = (a: Ex, b: Ex, lanes: readonly number[]): Ex => (f) => {
  a(f);
  b(f);
  f.simdOp(0x0d, ...lanes);
};

// float32x4 <-> float64x2.
/** `f64x2.promote_low_f32x4`: lanes 0 and 1 as float64. */
export const promoteLow: (a: Ex) => Ex = op1(0x5f);
/** `f32x4.demote_f64x2_zero`: two float64 lanes rounded to float32 in lanes 0 and 1. */
export const demote: (a: Ex) => Ex = op1(0x5e);

/** Horner's scheme in float64 lanes: `cs[0] + x·(cs[1] + x·(…))`; `x` should be bound. */
export function horner(x: Ex, cs: readonly number[]): Ex {
  let acc = dc(cs[cs.length - 1]);
  for (let i = cs.length - 2; i >= 0; i--) acc = dAdd(dMul(acc, x), dc(cs[i]));
  return acc;
}

/** Horner's scheme in float32 lanes. */
export function horner32(x: Ex, cs: readonly number[]): Ex {
  let acc = fc(cs[cs.length - 1]);
  for (let i = cs.length - 2; i >= 0; i--) acc = fAdd(fMul(acc, x), fc(cs[i]));
  return acc;
}

/** The sign bit of each float64 lane. */
export const SIGN: Ex = ic(-0x8000000000000000n);
