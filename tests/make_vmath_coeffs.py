#!/usr/bin/python3
"""Writes core/backends/cpu/wasm/vmath_coeffs.ts: the polynomial coefficients and reduction
constants of the vectorized transcendental functions (core/backends/cpu/wasm/vmath*.ts), and
tests/fixtures/vmath_erf.json (float64 erf values from Python's math.erf, which checks the test's
own erf reference).

    /usr/bin/python3 tests/make_vmath_coeffs.py
    npx -y deno@2.9.6 fmt core/backends/cpu/wasm/vmath_coeffs.ts

Each polynomial is a minimax fit by Lawson's algorithm (iteratively reweighted least squares,
which converges to the minimax solution of a linear Chebyshev system) against mpmath values at
120 significant digits. The script then evaluates each polynomial in float64 by Horner's scheme
and prints its maximum relative error. Most functions run in float64 lanes for float32 results,
where ~2^-38 suffices for one final rounding; the float32-lane ones (EXP32_Q, TANH32_P,
ERF32_R, ERF32_Q, LOG32_R) have
their coefficients rounded to float32 before the error is measured.
"""
import math
import os

import mpmath as mp
import numpy as np

mp.mp.dps = 120
HERE = os.path.dirname(os.path.abspath(__file__))


def lawson(xs, basis, target, scale, iters=300):
    """Coefficients c minimizing max_i |scale_i * (sum_j c_j basis_j(x_i) - target_i)|: the best
    iterate (by its maximum error) of Lawson's reweighting, with normalized columns."""
    A = np.stack([b(xs) for b in basis], axis=1) * scale[:, None]
    norms = np.linalg.norm(A, axis=0)
    A = A / norms
    b = target * scale
    w = np.ones_like(xs) / len(xs)
    best, best_err = None, np.inf
    for _ in range(iters):
        sw = np.sqrt(w)
        c = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)[0]
        e = np.abs(A @ c - b)
        if e.max() < best_err:
            best, best_err = c / norms, e.max()
        w = np.maximum(w * e, 1e-300)
        w /= w.sum()
    return best


def cheb_nodes(a, b, n=3000):
    k = np.arange(n)
    x = np.cos(np.pi * (k + 0.5) / n)
    return np.sort(0.5 * (a + b) + 0.5 * (b - a) * x)


def horner(cs, x):
    acc = np.zeros_like(x) + cs[-1]
    for c in reversed(cs[:-1]):
        acc = acc * x + c
    return acc


def mpf_array(f, xs):
    return np.array([float(f(mp.mpf(float(x)))) for x in xs])


def report(name, got, want):
    err = np.max(np.abs((got - want) / want))
    print(f"{name:8s} max rel error {err:.3e} = 2^{math.log2(err):.1f}")
    return err


def powers(n):
    return [(lambda j: (lambda x: x ** j))(j) for j in range(n)]


# exp(r) = 1 + r + r^2 Q(r) on |r| <= ln2/2 (slightly widened: k = round(x log2 e) in float64).
R_EXP = math.log(2) / 2 * (1 + 1e-9)
xs = cheb_nodes(-R_EXP, R_EXP)
exact = mpf_array(mp.exp, xs)
tq = mpf_array(lambda r: (mp.exp(r) - 1 - r) / (r * r) if r != 0 else mp.mpf(0.5), xs)
EXP_Q = lawson(xs, powers(7), tq, xs * xs / exact)
report("exp", 1 + xs + xs * xs * horner(EXP_Q, xs), exact)

# Float32 exp, evaluated in float32 lanes: exp(r) = 1 + r + r^2 Q(r) for |r| <= ln2/2 widened by
# 1% (k = round(x log2 e) rounds twice in float32), Q rounded to float32.
R32 = math.log(2) / 2 * 1.01
xs = cheb_nodes(-R32, R32)
exact = mpf_array(mp.exp, xs)
tq = mpf_array(lambda r: (mp.exp(r) - 1 - r) / (r * r) if r != 0 else mp.mpf(0.5), xs)
EXP32_Q = np.float32(lawson(xs, powers(5), tq, xs * xs / exact)).astype(np.float64)
report("exp f32", 1 + xs + xs * xs * horner(EXP32_Q, xs), exact)

# Float32 tanh below 1: tanh(x) = x + x z P(z), z = x^2, P rounded to float32.
xs = cheb_nodes(1e-4, 1.0)
zs = xs * xs
exact = mpf_array(mp.tanh, xs)
tp = mpf_array(lambda x: (mp.tanh(x) - x) / x ** 3, xs)
TANH32_P = np.float32(lawson(zs, powers(7), tp, xs * zs / exact)).astype(np.float64)
report("tanh f32", xs + xs * zs * horner(TANH32_P, zs), exact)

# Float32 erf: erf(a) = a + a R(a^2) below 1, 1 - exp(-a^2) Q(a - 5/2) on [1, 4] (weighted by
# exp(-a^2)/erf(a), the relative error it causes), both rounded to float32.
a_s = cheb_nodes(1e-6, 1.0)
exact = mpf_array(mp.erf, a_s)
tr = mpf_array(lambda a: mp.erf(a) / a - 1, a_s)
ERF32_R = np.float32(lawson(a_s * a_s, powers(7), tr, a_s / exact)).astype(np.float64)
report("erf f32<1", a_s + a_s * horner(ERF32_R, a_s * a_s), exact)
a_b = cheb_nodes(1.0, 4.0)
exact = mpf_array(mp.erf, a_b)
tq = mpf_array(lambda a: mp.erfc(a) * mp.exp(a * a), a_b)
ERF32_Q = np.float32(lawson(a_b - 2.5, powers(10), tq, np.exp(-a_b * a_b) / exact))
ERF32_Q = ERF32_Q.astype(np.float64)
report("erf f32>1", 1 - np.exp(-a_b * a_b) * horner(ERF32_Q, a_b - 2.5), exact)

# log((1+s)/(1-s)) = 2s + s z R(z), z = s^2, |s| <= (sqrt2-1)/(sqrt2+1) (mantissa in
# [sqrt(1/2), sqrt 2), s = f / (2 + f)).
S_MAX = (math.sqrt(2) - 1) / (math.sqrt(2) + 1) * (1 + 1e-9)
ss = cheb_nodes(1e-6, S_MAX)
zs = ss * ss
exact = mpf_array(lambda s: mp.log((1 + s) / (1 - s)), ss)
tr = mpf_array(lambda s: (mp.log((1 + s) / (1 - s)) - 2 * s) / (s ** 3), ss)
LOG_R = lawson(zs, powers(5), tr, ss * zs / exact)
report("log", 2 * ss + ss * zs * horner(LOG_R, zs), exact)

# Float32 log: log((1+s)/(1-s)) = 2s + s z R(z) as above, R rounded to float32 (only s z R, at
# most 1% of the result, carries its error).
LOG32_R = np.float32(lawson(zs, powers(4), tr, ss * zs / exact)).astype(np.float64)
report("log f32", 2 * ss + ss * zs * horner(LOG32_R, zs), exact)

# expm1(x) = x (1 + x P(x)) on |x| <= 1/8 (the rest goes through exp(x) - 1).
EM1 = 0.125
xs = cheb_nodes(-EM1, EM1)
xs = xs[xs != 0]
exact = mpf_array(mp.expm1, xs)
tp = mpf_array(lambda x: (mp.expm1(x) / x - 1) / x, xs)
EXPM1_P = lawson(xs, powers(6), tp, xs * xs / exact)
report("expm1", xs * (1 + xs * horner(EXPM1_P, xs)), exact)

# sin(r) = r + r^3 S(z), cos(r) = 1 - z/2 + z^2 C(z), z = r^2, |r| <= pi/4 (widened).
R_TRIG = math.pi / 4 * (1 + 1e-6)
rs = cheb_nodes(1e-6, R_TRIG)
zs = rs * rs
exact = mpf_array(mp.sin, rs)
tsn = mpf_array(lambda r: (mp.sin(r) - r) / r ** 3, rs)
SIN_S = lawson(zs, powers(5), tsn, rs * zs / exact)
report("sin", rs + rs * zs * horner(SIN_S, zs), exact)
exact = mpf_array(mp.cos, rs)
tcs = mpf_array(lambda r: (mp.cos(r) - 1 + r * r / 2) / r ** 4, rs)
COS_C = lawson(zs, powers(4), tcs, zs * zs / exact)
report("cos", 1 - zs / 2 + zs * zs * horner(COS_C, zs), exact)

# Constants of the argument reductions, from mpmath at 120 digits.


def split(value, bits, parts):
    """`parts` doubles, each the next `bits` significant bits of `value` (the last rounded)."""
    out, rest = [], mp.mpf(value)
    for i in range(parts):
        if i == parts - 1:
            out.append(float(rest))
            break
        e = int(mp.floor(mp.log(abs(rest), 2)))
        q = mp.floor(rest / mp.mpf(2) ** (e - bits + 1)) * mp.mpf(2) ** (e - bits + 1)
        out.append(float(q))
        rest -= q
    return out


LN2_HI, LN2_LO = split(mp.log(2), 42, 2)
PIO2 = split(mp.pi / 2, 35, 3)
# 2/pi as bytes after two zero bytes (so a window may start up to 16 bits above 2^-1).
two_over_pi = int(mp.floor(2 / mp.pi * mp.mpf(2) ** 240))
TWO_OVER_PI_BYTES = [0, 0] + list(two_over_pi.to_bytes(30, "big"))

# erf reference points for the test's float64 erf.
erf_x = [i / 64 for i in range(-400, 401, 3)] + [1e-30, 1e-10, 3.9, 5.5, 6.5, 27.0]
with open(os.path.join(HERE, "fixtures", "vmath_erf.json"), "w") as fh:
    fh.write("[" + ",".join(f"[{x!r},{math.erf(x)!r}]" for x in erf_x) + "]\n")


def ts_array(name, doc, values):
    body = ", ".join(repr(float(v)) for v in values)
    return f"/** {doc} */\nexport const {name}: readonly number[] = [{body}];\n"


out = os.path.join(HERE, "..", "core", "backends", "cpu", "wasm", "vmath_coeffs.ts")
with open(out, "w") as fh:
    fh.write(
        "/**\n * Coefficients and constants of the vectorized transcendental functions, written by\n"
        " * tests/make_vmath_coeffs.py (minimax fits against mpmath); do not edit by hand.\n"
        " * Polynomials are in Horner order, lowest degree first.\n * @module\n */\n\n"
    )
    fh.write(ts_array("EXP_Q", "exp(r) = 1 + r + r²·Q(r), |r| ≤ ln2/2.", EXP_Q))
    fh.write(ts_array("EXP32_Q", "float32 exp: exp(r) = 1 + r + r²·Q(r), |r| ≤ 1.01·ln2/2.",
                      EXP32_Q))
    fh.write(ts_array("TANH32_P", "float32 tanh: tanh(x) = x + x·z·P(z), z = x², |x| ≤ 1.",
                      TANH32_P))
    fh.write(ts_array("ERF32_R", "float32 erf: erf(a) = a + a·R(a²), 0 ≤ a ≤ 1.", ERF32_R))
    fh.write(ts_array("ERF32_Q", "float32 erf: erf(a) = 1 − exp(−a²)·Q(a − 5/2), 1 ≤ a ≤ 4.",
                      ERF32_Q))
    fh.write(ts_array("LOG32_R", "float32 log: R of LOG_R in float32, 4 terms.", LOG32_R))
    fh.write(ts_array("LOG_R", "log((1+s)/(1−s)) = 2s + s·z·R(z), z = s², |s| ≤ 0.1716.", LOG_R))
    fh.write(ts_array("EXPM1_P", "expm1(x) = x·(1 + x·P(x)), |x| ≤ 1/8.", EXPM1_P))
    fh.write(ts_array("SIN_S", "sin(r) = r + r·z·S(z), z = r², |r| ≤ π/4.", SIN_S))
    fh.write(ts_array("COS_C", "cos(r) = 1 − z/2 + z²·C(z), z = r², |r| ≤ π/4.", COS_C))
    fh.write(ts_array("LN2_HI_LO", "ln 2 as a 42-bit head (k·head exact) and a tail.",
                      [LN2_HI, LN2_LO]))
    fh.write(ts_array("PIO2_PARTS", "π/2 in 35-bit parts (k·part exact for k < 2^18), then the rest.",
                      PIO2))
    fh.write(f"/** Bytes of 2/π (big-endian, weights 2^-1 down) after two zero bytes. */\n"
             f"export const TWO_OVER_PI_BYTES: readonly number[] = {TWO_OVER_PI_BYTES};\n")
print("wrote", os.path.normpath(out))
