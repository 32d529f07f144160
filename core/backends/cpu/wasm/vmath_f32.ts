/**
 * Float32-lane versions of the most used functions, four lanes per instruction where the
 * float64 kernels of `vmath_f64.ts` handle two: exp, log, log1p, sigmoid, tanh and erf. All but
 * sigmoid are within 1 ulp of `Math.fround(Math.f(x))`, sigmoid within 2 (measured over every
 * float32 input where the result is not trivially 0, ±1 or inf by tests/vmath_exhaustive.ts),
 * with the exact special values of `vmath.ts`.
 * @module
 */
import type { FuncBuilder } from "./assembler.ts";
import { ERF32_Q, ERF32_R, EXP32_Q, LN2_HI_LO, LOG32_R, TANH32_P } from "./vmath_coeffs.ts";
import {
  and,
  bind,
  type Ex,
  fAbs,
  fAdd,
  fc,
  fDiv,
  fEq,
  fFromInt,
  fGe,
  fGt,
  fLt,
  fMul,
  fPmax,
  fPmin,
  fSub,
  horner32,
  jAdd,
  jc,
  jShl,
  jShrS,
  jSub,
  or,
  select,
} from "./vmath_ops.ts";

/** 1.5·2^23: adding it rounds a float32 below 2^22 to an integer held in the low bits. */
const MAGIC32 = 12582912;
/** ln 2 as a 16-bit head (k·head exact for |k| < 256) and a float32 tail. */
const LN2_HI32 = Math.fround(Math.round(Math.LN2 * 2 ** 16) / 2 ** 16);
const LN2_LO32 = Math.fround(LN2_HI_LO[0] - LN2_HI32 + LN2_HI_LO[1]);
/** The largest float32 whose exp rounds to a finite float32. */
const EXP_MAX = 88.72283172607422;

/**
 * e^x in float32 lanes: k = round(x·log2 e), r = x − k·ln2 (two-part ln2), 1 + r + r²·Q(r),
 * times 2^k in two steps (so subnormal results round once). Inputs above {@link EXP_MAX} give
 * inf and the rest at most the largest float32, so the overflow threshold is exact.
 */
export function exp32(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const t = bind(f, fPmax(fPmin(xx, fc(88.8)), fc(-104)));
  const kb = bind(f, fAdd(fMul(t, fc(Math.LOG2E)), fc(MAGIC32)));
  const k = bind(f, fSub(kb, fc(MAGIC32)));
  const r = bind(f, fSub(fSub(t, fMul(k, fc(LN2_HI32))), fMul(k, fc(LN2_LO32))));
  const p = fAdd(fc(1), fAdd(r, fMul(fMul(r, r), horner32(r, EXP32_Q))));
  // k = k1 + k2 with both halves' powers of two normal.
  const ki = bind(f, jSub(kb, jc(0x4b400000)));
  const k1 = bind(f, jShrS(ki, 1));
  const s1 = jShl(jAdd(k1, jc(127)), 23), s2 = jShl(jAdd(jSub(ki, k1), jc(127)), 23);
  const y = fPmin(fMul(fMul(p, s1), s2), fc(3.4028234663852886e38));
  return select(fc(Infinity), y, fGt(xx, fc(EXP_MAX)));
}

/** 1/(1 + e^−x) as e/(1 + e) or 1/(1 + e) with e = e^−|x| (no overflow, subnormals kept). */
export function sigmoid32(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const e = bind(f, exp32(f, fSub(fc(0), fAbs(xx))));
  return fDiv(select(fc(1), e, fGe(xx, fc(0))), fAdd(fc(1), e));
}

/**
 * tanh(x): x + x·z·P(z) for |x| < 1, else 1 − 2e/(1 + e) with e = e^−2|x| (the correction is
 * below 0.24, so its rounding errors stay under half an ulp of the result); sign of x kept.
 */
export function tanh32(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const a = bind(f, fAbs(xx));
  const z = bind(f, fMul(a, a));
  const small = fAdd(a, fMul(fMul(a, z), horner32(z, TANH32_P)));
  const e = bind(f, exp32(f, fMul(a, fc(-2))));
  const big = fSub(fc(1), fDiv(fAdd(e, e), fAdd(fc(1), e)));
  return select(xx, select(small, big, fLt(a, fc(1))), jc(-0x80000000));
}

/**
 * erf(x): a + a·R(a²) below 1 (so the leading 2/√π adds no rounding of its own), else
 * 1 − e^(−a²)·Q(a − 5/2) with a ≤ 4 (erf rounds to 1 beyond 3.92); odd.
 */
export function erf32(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const a = bind(f, fAbs(xx));
  const small = fAdd(a, fMul(a, horner32(bind(f, fMul(a, a)), ERF32_R)));
  const ac = bind(f, fPmin(a, fc(4)));
  const e = exp32(f, fSub(fc(0), fMul(ac, ac)));
  const big = fSub(fc(1), fMul(e, horner32(bind(f, fSub(ac, fc(2.5))), ERF32_Q)));
  return select(xx, select(small, big, fLt(a, fc(1))), jc(-0x80000000));
}

/**
 * log(x) = e·ln2 + log(m) for x = m·2^e, m in [√½, √2) (subnormals scaled by 2^23 first):
 * with f = m − 1 and s = f/(2 + f), log(m) = f − (f²/2 − s·(f²/2 + z·R(z))), z = s², which
 * leaves the last rounding to the sum with f. +inf → +inf, ±0 → −inf, negative or NaN → NaN.
 */
export function log32(f: FuncBuilder, x: Ex): Ex {
  return logPlus(f, x, fc(0));
}

/** log(x) + c for a small correction `c` (|c| ≤ 2^-24), added before the last roundings. */
function logPlus(f: FuncBuilder, x: Ex, c: Ex): Ex {
  const xx = bind(f, x);
  const sub = bind(f, fLt(xx, fc(2 ** -126)));
  const xs = select(fMul(xx, fc(2 ** 23)), xx, sub);
  // Bits offset so that the exponent field counts from √½ (0x3f3504f3) instead of 1.
  const ib = bind(f, jAdd(xs, jc(0x3f800000 - 0x3f3504f3)));
  const e = fSub(fFromInt(jSub(jShrS(ib, 23), jc(127))), select(fc(23), fc(0), sub));
  const ee = bind(f, e);
  const fm = bind(f, fSub(jAdd(and(ib, jc(0x007fffff)), jc(0x3f3504f3)), fc(1)));
  const s = bind(f, fDiv(fm, fAdd(fc(2), fm)));
  const z = bind(f, fMul(s, s));
  const hfsq = bind(f, fMul(fc(0.5), fMul(fm, fm)));
  const tail = fAdd(fMul(ee, fc(LN2_LO32)), c);
  const inner = fSub(hfsq, fAdd(fMul(s, fAdd(hfsq, fMul(z, horner32(z, LOG32_R)))), tail));
  let r = fAdd(fMul(ee, fc(LN2_HI32)), fSub(fm, inner));
  r = select(fc(Infinity), r, fEq(xx, fc(Infinity)));
  r = select(fc(-Infinity), r, fEq(xx, fc(0)));
  return select(r, fc(NaN), fGe(xx, fc(0)));
}

/**
 * log(1 + x) = log(u) + (1 + x − u)/u with u = 1 + x rounded: the rounding error of u, exact
 * by TwoSum, corrects the logarithm of u. x = ±0 and +inf are returned as they are.
 */
export function log1p32(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const u = bind(f, fAdd(fc(1), xx));
  const bv = bind(f, fSub(u, fc(1)));
  const err = fAdd(fSub(fc(1), fSub(u, bv)), fSub(xx, bv));
  const r = logPlus(f, u, fDiv(err, u));
  return select(xx, r, or(fEq(xx, fc(0)), fEq(xx, fc(Infinity))));
}
