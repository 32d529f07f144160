/**
 * The inverse error function behind `normal` and `truncatedNormal`: Giles' single-precision
 * polynomial (the one XLA uses for float32); float64 refines it with Newton steps on `erf` (and,
 * in the far tails, on `log erfc` through its continued fraction).
 * @module
 */
import {
  abs,
  add,
  div,
  equal,
  erf,
  exp,
  less,
  log,
  log1p,
  minimum,
  mul,
  neg,
  sqrt,
  sub,
  where,
} from "../tensor/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";

// Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision:
// the coefficients XLA's ErfInv uses for float32.
const ERFINV_CENTRAL = [
  2.81022636e-08,
  3.43273939e-07,
  -3.5233877e-06,
  -4.39150654e-06,
  0.00021858087,
  -0.00125372503,
  -0.00417768164,
  0.246640727,
  1.50140941,
];
const ERFINV_TAIL = [
  -0.000200214257,
  0.000100950558,
  0.00134934322,
  -0.00367342844,
  0.00573950773,
  -0.0076224613,
  0.00943887047,
  1.00167406,
  2.83297682,
];

/** Giles' single-precision erfinv on (-1, 1) (no edge handling). */
function erfinvGiles(x: Tensor): Tensor {
  const w0 = neg(log1p(neg(mul(x, x))));
  const central = less(w0, 5);
  const w = where(central, sub(w0, 2.5), sub(sqrt(w0), 3));
  let p: Tensor | number = 0;
  for (let i = 0; i < ERFINV_CENTRAL.length; i++) {
    const c = where(central, ERFINV_CENTRAL[i], ERFINV_TAIL[i]);
    p = i === 0 ? c : add(mul(p, w), c);
  }
  return mul(p as Tensor, x);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
/** Below this `1 - |x|` (|erfinv| > 3), float64 refines on `log erfc` instead of `erf`. */
const TAIL_Q = 2e-5;

/** `F(y)` with `erfc(y) = e^(-y²) / (√π F(y))`, by its continued fraction (y >= 3). */
function erfcFraction(y: Tensor): Tensor {
  let f = y;
  for (let n = 60; n >= 1; n--) f = add(y, div(n / 2, f));
  return f;
}

/** Inverse error function for float64: Giles' estimate refined by Newton steps. */
function erfinv64(x: Tensor): Tensor {
  // Central part: Newton on erf(y) = x from Giles' float32-accurate estimate.
  let y = erfinvGiles(x);
  for (let i = 0; i < 2; i++) {
    y = sub(y, div(sub(erf(y), x), mul(exp(neg(mul(y, y))), TWO_OVER_SQRT_PI)));
  }
  // Tails (|y| > 3): erf(y) - x cancels, so solve log erfc(t) = log q for q = 1 - |x| with
  // erfc(t) = e^(-t²) / (√π F(t)) and d/dt log erfc(t) = -2 F(t), starting from the asymptote.
  const q = minimum(sub(1, abs(x)), TAIL_Q);
  const L = neg(log(q));
  let t = sqrt(sub(L, log(sqrt(mul(L, Math.PI)))));
  for (let i = 0; i < 3; i++) {
    const F = erfcFraction(t);
    const h = add(sub(L, mul(t, t)), neg(log(mul(F, Math.sqrt(Math.PI)))));
    t = add(t, div(h, mul(F, 2)));
  }
  const tail = where(less(x, 0), neg(t), t);
  return where(less(sub(1, abs(x)), TAIL_Q), tail, y);
}

/** `erfinv` with `erfinv(±1) = ±∞`. */
export function erfinv(x: Tensor, dtype: "float32" | "float64"): Tensor {
  const y = dtype === "float32" ? erfinvGiles(x) : erfinv64(x);
  return where(equal(abs(x), 1), mul(x, Infinity), y);
}
