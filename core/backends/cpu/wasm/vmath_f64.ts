/**
 * The float64x2 kernels behind the float32 vector math of `vmath.ts`: each takes float64 lanes
 * holding float32 values and returns float64 lanes whose relative error is below ~2^-38 (the
 * fits' errors are printed by tests/make_vmath_coeffs.py), so one final rounding to float32
 * lands within 1 ulp of the correctly rounded result. Working in float64 also makes float32
 * subnormals normal numbers and keeps every float32 overflow threshold far from float64's.
 * @module
 */
import { type FuncBuilder, V128 } from "./assembler.ts";
import {
  COS_C,
  EXP_Q,
  EXPM1_P,
  LN2_HI_LO,
  LOG_R,
  PIO2_PARTS,
  SIN_S,
  TWO_OVER_PI_BYTES,
} from "./vmath_coeffs.ts";
import {
  and,
  anyTrue,
  bAdd,
  bc,
  bind,
  bSub,
  dAbs,
  dAdd,
  dc,
  dDiv,
  dEq,
  dFloor,
  dGe,
  dGt,
  dLt,
  dMul,
  dNe,
  dNearest,
  dPmax,
  dPmin,
  dSub,
  type Ex,
  horner,
  iAdd,
  ic,
  iEq,
  iShl,
  iShrU,
  iSub,
  or,
  rarely,
  select,
  SIGN,
  swizzle,
  xor,
} from "./vmath_ops.ts";

/** 1.5·2^52: adding it rounds a float64 below 2^51 to an integer kept in the low mantissa bits. */
const MAGIC = 6755399441055744;
const MAGIC_BITS = 0x4338000000000000n;
const [LN2_HI, LN2_LO] = LN2_HI_LO;
const INF: Ex = dc(Infinity);
const NAN: Ex = dc(NaN);
const ONE: Ex = dc(1);

/** `p · 2^k` where the low bits of `kBits` (a float64 plus MAGIC) hold the integer k. */
const scale = (p: Ex, kBits: Ex): Ex => iAdd(p, iShl(kBits, 52));

/** exp(r)·2^k from the reduced argument `r` (|r| ≤ ln2/2) and `kBits`. */
function expReduced(f: FuncBuilder, r: Ex, kBits: Ex): Ex {
  const rr = bind(f, r);
  return scale(dAdd(ONE, dAdd(rr, dMul(dMul(rr, rr), horner(rr, EXP_Q)))), kBits);
}

/**
 * e^x. The argument is clamped to ±160 first (far past float32's range, inside float64's;
 * NaN stays NaN), then x = k·ln2 + r with a two-part ln2.
 */
export function expCore(f: FuncBuilder, x: Ex): Ex {
  const t = bind(f, dPmax(dPmin(x, dc(160)), dc(-160)));
  const kb = bind(f, dAdd(dMul(t, dc(Math.LOG2E)), dc(MAGIC)));
  const k = bind(f, dSub(kb, dc(MAGIC)));
  return expReduced(f, dSub(dSub(t, dMul(k, dc(LN2_HI))), dMul(k, dc(LN2_LO))), kb);
}

/** 2^t, t clamped to ±200 (NaN stays NaN). */
export function exp2Core(f: FuncBuilder, t: Ex): Ex {
  const tc = bind(f, dPmax(dPmin(t, dc(200)), dc(-200)));
  const kb = bind(f, dAdd(tc, dc(MAGIC)));
  return expReduced(f, dMul(dSub(tc, dSub(kb, dc(MAGIC))), dc(Math.LN2)), kb);
}

/**
 * log(y) = e·ln2 + log(m) for a positive normal `y` = m·2^e with m in [√½, √2), as the
 * exponent `e` (a float64) and log(m) = 2s + s·z·R(z), s = (m−1)/(m+1), z = s².
 */
export function logParts(f: FuncBuilder, y: Ex): { e: Ex; logm: Ex } {
  const yb = bind(f, y);
  // The biased exponent of y/√½, so that m = y/2^e falls in [√½, √2).
  const eb = bind(f, iShrU(iAdd(yb, ic(0x00095f619980c433n)), 52));
  const fm = bind(f, dSub(iAdd(iSub(yb, iShl(eb, 52)), ic(0x3ff0000000000000n)), ONE));
  const s = bind(f, dDiv(fm, dAdd(dc(2), fm)));
  const z = bind(f, dMul(s, s));
  const logm = dAdd(dMul(dc(2), s), dMul(dMul(s, z), horner(z, LOG_R)));
  // e as a float64: the biased exponent added to MAGIC's bits, minus MAGIC and the bias.
  return { e: dSub(iAdd(eb, ic(MAGIC_BITS)), dc(MAGIC + 1023)), logm };
}

/** e^x − 1: x·(1 + x·P(x)) for |x| < 1/8 (keeps −0 and tiny x), else exp(x) − 1. */
export function expm1Core(f: FuncBuilder, x: Ex): Ex {
  const xx = bind(f, x);
  const small = dMul(xx, dAdd(ONE, dMul(xx, horner(xx, EXPM1_P))));
  const big = dSub(expCore(f, xx), ONE);
  return select(small, big, dLt(dAbs(xx), dc(0.125)));
}

/** |x| from which sin/cos take the Payne–Hanek reduction (k·π/2 parts stay exact below). */
const CW_LIMIT = 131072;

/**
 * x = k·π/2 + r for |x| ≥ 2^17 (float32 values, so x = M·2^E with a 24-bit integer M):
 * x·2/π mod 4 only needs the bits of 2/π whose weight times 2^E is below 4, so twelve bytes
 * of 2/π from a per-lane start (picked by `i8x16.swizzle` from two constant tables) form
 * four 24-bit chunks; each chunk times M is exact in float64, and summing the chunk products
 * modulo 4 leaves the quadrant and a reduced argument accurate to ~2^-62 absolute.
 * Returns `[r, kBits]` for |x|, with the sign of x folded in (sin and cos of −x follow).
 */
function payneHanek(f: FuncBuilder, x: Ex): [Ex, Ex] {
  const xx = bind(f, x);
  const xa = bind(f, dAbs(xx));
  // |x| = Mbig·2^(e−1075) with Mbig = 2^52 + mantissa bits = M·2^29.
  const mBig = or(and(xa, ic(0x000fffffffffffffn)), ic(0x4330000000000000n));
  // With E the exponent of M and h = E + 6 ≥ 0: first byte i0 = (h >> 3) + 1 of the table (two
  // zero bytes first), and the products' scale 2^n with n = (h & 7) − 51.
  const h = bind(f, iSub(iShrU(xa, 52), ic(1040n))); // ≥ 0 from 2^17 on
  const i0 = iAdd(iShrU(h, 3), ic(1n));
  const ms = bind(f, dMul(mBig, iShl(iAdd(and(h, ic(7n)), ic(972n)), 52)));
  // i0 in every byte of its lane.
  const rep = bind(f, swizzle(i0, bc([0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, 8, 8])));
  const tableLo = bc(TWO_OVER_PI_BYTES.slice(0, 16));
  const tableHi = bc(TWO_OVER_PI_BYTES.slice(16, 32));
  const chunk = (j: number): Ex => {
    // Little-endian: byte 0 is the chunk's last table byte; bytes 3..7 are zero (index ≥ 16).
    const lane = [3 * j + 2, 3 * j + 1, 3 * j, 0x80, 0x80, 0x80, 0x80, 0x80];
    const idx = bind(f, bAdd(rep, bc([...lane, ...lane])));
    const bytes = or(swizzle(tableLo, idx), swizzle(tableHi, bSub(idx, bc(Array(16).fill(16)))));
    // As the mantissa of 2^(52−24j): the chunk times 2^(−24j), exactly.
    const e = BigInt(1075 - 24 * j) << 52n;
    const g = dSub(or(bytes, ic(e)), dc(2 ** (52 - 24 * j)));
    return bind(f, dMul(ms, g));
  };
  const mod4 = (p: Ex): Ex => dSub(p, dMul(dFloor(dMul(p, dc(0.25))), dc(4)));
  const p0 = chunk(0), p1 = chunk(1), p2 = chunk(2), p3 = chunk(3);
  const a = bind(f, mod4(dAdd(mod4(p0), mod4(p1))));
  const k = bind(f, dNearest(dAdd(a, p2)));
  const rt = dAdd(dAdd(dSub(a, k), p2), p3);
  const sign = bind(f, and(xx, SIGN));
  return [xor(dMul(rt, dc(Math.PI / 2)), sign), dAdd(xor(k, sign), dc(MAGIC))];
}

/**
 * sin(x) (or cos(x) when `cosine`): x = k·π/2 + r by Cody–Waite with a three-part π/2 below
 * 2^17, Payne–Hanek above (that code runs only when some lane needs it), then the sine or
 * cosine polynomial of r by k's quadrant. ±inf → NaN.
 */
export function sinCosCore(f: FuncBuilder, x: Ex, cosine: boolean): Ex {
  const xx = bind(f, x);
  const kbL = f.local(V128), rL = f.local(V128);
  const kb = (g: FuncBuilder) => g.get(kbL), r = (g: FuncBuilder) => g.get(rL);
  dAdd(dMul(xx, dc(2 / Math.PI)), dc(MAGIC))(f);
  f.set(kbL);
  const k = bind(f, dSub(kb, dc(MAGIC)));
  const [c1, c2, c3] = PIO2_PARTS.map(dc);
  dSub(dSub(dSub(xx, dMul(k, c1)), dMul(k, c2)), dMul(k, c3))(f);
  f.set(rL);
  const big = bind(f, dGe(dAbs(xx), dc(CW_LIMIT)));
  anyTrue(big)(f);
  f.if(undefined, () =>
    rarely(f, () => {
      const [r2, kb2] = payneHanek(f, xx);
      select(r2, r, big)(f);
      f.set(rL);
      select(kb2, kb, big)(f);
      f.set(kbL);
    }));
  const z = bind(f, dMul(r, r));
  const sin = dMul(r, dAdd(ONE, dMul(z, horner(z, SIN_S))));
  const cos = dAdd(dSub(ONE, dMul(z, dc(0.5))), dMul(dMul(z, z), horner(z, COS_C)));
  const q = bind(f, cosine ? iAdd(kb, ic(1n)) : kb);
  // Odd quadrants take the other polynomial; quadrants 2 and 3 flip the sign.
  const odd = iEq(and(q, ic(1n)), ic(1n));
  const res = xor(select(cos, sin, odd), and(iShl(q, 62), SIGN));
  return select(res, NAN, dLt(dAbs(xx), INF));
}

/**
 * x ** y as JavaScript computes it: 2^(y·log2|x|), with the sign of x when y is an odd
 * integer, NaN for a finite negative x and a non-integer y, NaN for a NaN x, 1 when y = ±0.
 */
export function powCore(f: FuncBuilder, x: Ex, y: Ex): Ex {
  const xx = bind(f, x), yy = bind(f, y);
  const ax = bind(f, dAbs(xx));
  const { e, logm } = logParts(f, ax);
  let l = dAdd(e, dMul(logm, dc(Math.LOG2E)));
  l = select(dc(-Infinity), l, dEq(ax, dc(0)));
  l = select(INF, l, dEq(ax, INF));
  const mag = exp2Core(f, dMul(yy, l));
  const half = bind(f, dMul(yy, dc(0.5)));
  const odd = dEq(dSub(half, dFloor(half)), dc(0.5));
  let res = xor(mag, and(and(xx, SIGN), odd));
  const negBase = and(dLt(xx, dc(0)), dGt(xx, dc(-Infinity)));
  const nan = or(dNe(xx, xx), and(negBase, dNe(dFloor(yy), yy)));
  res = select(NAN, res, nan);
  return select(ONE, res, dEq(yy, dc(0)));
}
