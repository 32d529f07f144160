/**
 * WGSL helper functions that primitive renderings call as `k_*` (the WebGPU counterpart of the
 * CPU backend's `H.*` runtime). Each kernel includes only the helpers it uses.
 *
 * Why helpers instead of builtins:
 * - WGSL lets implementations assume values are finite, so NaN and infinity are built from bit
 *   patterns and NaN is tested by bits (`k_isnan`), never by `x != x`; comparisons, `max`/`min`
 *   and `relu` handle NaN explicitly, as the JavaScript renderings do.
 * - JavaScript semantics the CPU backend defines must hold bit-for-bit: integer floor division
 *   and modulo with the divisor's sign (`x // 0 = x % 0 = 0`), float -> int conversion that
 *   truncates and wraps modulo 2^32 (WGSL's `i32()` saturates), `Math.pow` special cases,
 *   `Math.max(-0, 0) = 0`.
 * - Builtins with loose precision bounds (`tanh` near 0, no `log1p`/`expm1`/`erf` at all) are
 *   replaced with formulations accurate to a few float32 ulps.
 * @module
 */

const F32_NAN = "bitcast<f32>(0x7fc00000u)";
const F32_INF = "bitcast<f32>(0x7f800000u)";

/** Helper sources by name; a helper may call helpers defined before it. */
const HELPERS: [string, string][] = [
  ["k_nan", `fn k_nan() -> f32 { return ${F32_NAN}; }`],
  ["k_inf", `fn k_inf() -> f32 { return ${F32_INF}; }`],
  [
    "k_isnan",
    "fn k_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }",
  ],
  [
    "k_isfinite",
    "fn k_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }",
  ],
  ["k_signbit", "fn k_signbit(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) != 0u; }"],
  [
    "k_sign_f",
    `fn k_sign_f(x: f32) -> f32 {
  if (k_isnan(x) || x == 0.0f) { return x; }
  return select(-1.0f, 1.0f, x > 0.0f);
}`,
  ],
  [
    // float16 values live in f32 registers: round to the nearest float16 (ties to even,
    // overflow to infinity, subnormals kept), bit-exact like the CPU's Math.f16round.
    "k_f16r",
    `fn k_f16r(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let a = b & 0x7fffffffu;
  let s = b & 0x80000000u;
  if (a >= 0x7f800000u) { return x; }
  if (a >= 0x477ff000u) { return bitcast<f32>(s | 0x7f800000u); }
  if (a < 0x38800000u) {
    let q = round(bitcast<f32>(a) * 16777216.0f) * 5.9604644775390625e-8f;
    return bitcast<f32>(s | bitcast<u32>(q));
  }
  let r = a + 0xfffu + ((a >> 13u) & 1u);
  return bitcast<f32>(s | (r & 0xffffe000u));
}`,
  ],
  [
    "k_sign_i",
    "fn k_sign_i(x: i32) -> i32 { return select(select(0i, -1i, x < 0i), 1i, x > 0i); }",
  ],
  [
    "k_relu",
    "fn k_relu(x: f32) -> f32 { if (x > 0.0f || k_isnan(x)) { return x; } return 0.0f; }",
  ],
  [
    "k_max",
    `fn k_max(a: f32, b: f32) -> f32 {
  if (k_isnan(a) || k_isnan(b)) { return k_nan(); }
  if (a > b) { return a; }
  if (b > a) { return b; }
  return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b));
}`,
  ],
  [
    "k_min",
    `fn k_min(a: f32, b: f32) -> f32 {
  if (k_isnan(a) || k_isnan(b)) { return k_nan(); }
  if (a < b) { return a; }
  if (b < a) { return b; }
  return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b));
}`,
  ],
  [
    "k_lt",
    "fn k_lt(a: f32, b: f32) -> i32 { return i32(!k_isnan(a) && !k_isnan(b) && a < b); }",
  ],
  [
    "k_le",
    "fn k_le(a: f32, b: f32) -> i32 { return i32(!k_isnan(a) && !k_isnan(b) && a <= b); }",
  ],
  [
    "k_eq",
    "fn k_eq(a: f32, b: f32) -> i32 { return i32(!k_isnan(a) && !k_isnan(b) && a == b); }",
  ],
  [
    "k_ne",
    "fn k_ne(a: f32, b: f32) -> i32 { return i32(k_isnan(a) || k_isnan(b) || a != b); }",
  ],
  [
    "k_log1p_small",
    // log(1 + x) = 2 atanh(x / (2 + x)) as an odd series, for |x| <= 0.5 (|s| <= 1/3).
    `fn k_log1p_small(x: f32) -> f32 {
  let s = x / (2.0f + x);
  let z = s * s;
  let p = 1.0f / 3.0f + z * (1.0f / 5.0f + z * (1.0f / 7.0f + z * (1.0f / 9.0f + z *
    (1.0f / 11.0f + z * (1.0f / 13.0f + z * (1.0f / 15.0f + z * (1.0f / 17.0f)))))));
  return 2.0f * (s + s * z * p);
}`,
  ],
  [
    "k_log",
    // x = m·2^e with m in [√½, √2): log x = e·ln 2 + log1p(m - 1) (a few ulps everywhere; the
    // builtin loses relative accuracy near 1).
    `fn k_log(x: f32) -> f32 {
  if (k_isnan(x) || x < 0.0f) { return k_nan(); }
  if (x == 0.0f) { return -k_inf(); }
  if (!k_isfinite(x)) { return x; }
  var m = x;
  var e = 0;
  if (m < 1.17549435e-38f) { m = m * 16777216.0f; e = -24; }
  let b = bitcast<u32>(m);
  e = e + i32((b >> 23u) & 0xffu) - 127;
  m = bitcast<f32>((b & 0x7fffffu) | 0x3f800000u);
  if (m > 1.41421356f) { m = m * 0.5f; e = e + 1; }
  let fe = f32(e);
  return fe * 0.693145752f + (fe * 1.42860677e-6f + k_log1p_small(m - 1.0f));
}`,
  ],
  [
    "k_sqrt",
    `fn k_sqrt(x: f32) -> f32 {
  if (k_isnan(x) || x < 0.0f) { return k_nan(); }
  if (x == 0.0f || !k_isfinite(x)) { return x; }
  return sqrt(x);
}`,
  ],
  [
    "k_sincos",
    // sin (c = 0) or cos (c = 1) after Cody–Waite reduction by π/2 in three parts (the builtins
    // are only accurate on [-π, π]); accurate to a few ulps for |x| < 1e5, degrading beyond.
    `fn k_sincos(x: f32, c: i32) -> f32 {
  if (!k_isfinite(x)) { return k_nan(); }
  let n = round(x * 0.636619772f);
  let r = ((x - n * 1.5703125f) - n * 4.83751297e-4f) - n * 7.54978995e-8f;
  let q = (i32(n) + c) & 3;
  if (q == 0) { return sin(r); }
  if (q == 1) { return cos(r); }
  if (q == 2) { return -sin(r); }
  return -cos(r);
}`,
  ],
  ["k_sin", "fn k_sin(x: f32) -> f32 { return k_sincos(x, 0); }"],
  ["k_cos", "fn k_cos(x: f32) -> f32 { return k_sincos(x, 1); }"],
  [
    "k_expm1",
    // Taylor series below |x| = 0.5 (accurate where exp(x) - 1 cancels), exp(x) - 1 above.
    `fn k_expm1(x: f32) -> f32 {
  if (k_isnan(x)) { return x; }
  if (abs(x) <= 0.5f) {
    return x * (1.0f + x * (0.5f + x * (1.0f / 6.0f + x * (1.0f / 24.0f + x * (1.0f / 120.0f +
      x * (1.0f / 720.0f + x * (1.0f / 5040.0f + x * (1.0f / 40320.0f + x *
      (1.0f / 362880.0f)))))))));
  }
  if (x < -20.0f) { return -1.0f; }
  return exp(x) - 1.0f;
}`,
  ],
  [
    "k_log1p",
    `fn k_log1p(x: f32) -> f32 {
  if (k_isnan(x) || x < -1.0f) { return k_nan(); }
  if (x == -1.0f) { return -k_inf(); }
  if (!k_isfinite(x)) { return x; }
  if (abs(x) <= 0.5f) { return k_log1p_small(x); }
  return k_log(1.0f + x);
}`,
  ],
  [
    "k_tanh",
    `fn k_tanh(x: f32) -> f32 {
  if (k_isnan(x)) { return x; }
  if (abs(x) > 10.0f) { return select(-1.0f, 1.0f, x > 0.0f); }
  let e = k_expm1(2.0f * x);
  return e / (e + 2.0f);
}`,
  ],
  [
    "k_sigmoid",
    `fn k_sigmoid(x: f32) -> f32 {
  if (k_isnan(x)) { return x; }
  if (x < -88.0f) { return exp(x); }
  return 1.0f / (1.0f + exp(-x));
}`,
  ],
  [
    "k_erf",
    // The positive series below |x| = 2.5, the continued fraction of erfc above (as the CPU's
    // host erf, in float32); |x| > 4 rounds to ±1 in float32.
    `fn k_erf(x: f32) -> f32 {
  if (k_isnan(x)) { return x; }
  let ax = abs(x);
  var r: f32;
  if (ax < 2.5f) {
    let x2 = 2.0f * ax * ax;
    var term = ax;
    var sum = ax;
    for (var n = 1; n < 80; n++) {
      term = term * x2 / f32(2 * n + 1);
      sum = sum + term;
      if (term < sum * 1e-8f) { break; }
    }
    r = 1.1283791670955126f * exp(-ax * ax) * sum;
  } else if (ax > 4.0f) {
    r = 1.0f;
  } else {
    var f = ax;
    for (var n = 40; n >= 1; n--) { f = ax + (f32(n) * 0.5f) / f; }
    r = 1.0f - exp(-ax * ax) / (1.7724538509055159f * f);
  }
  return select(r, -r, x < 0.0f);
}`,
  ],
  [
    "k_pow",
    `fn k_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0f) { return 1.0f; }
  if (k_isnan(a) || k_isnan(b)) { return k_nan(); }
  let ab = abs(a);
  if (ab == 1.0f && !k_isfinite(b)) { return k_nan(); }
  var r: f32;
  if (ab == 0.0f) {
    r = select(k_inf(), 0.0f, b > 0.0f);
  } else if (!k_isfinite(ab)) {
    r = select(0.0f, k_inf(), b > 0.0f);
  } else if (!k_isfinite(b)) {
    r = select(0.0f, k_inf(), (ab > 1.0f) == (b > 0.0f));
  } else if (b == 1.0f) {
    r = ab;
  } else if (b == 2.0f) {
    r = ab * ab;
  } else if (b == 0.5f) {
    r = sqrt(ab);
  } else if (b == -1.0f) {
    r = 1.0f / ab;
  } else {
    r = pow(ab, b);
  }
  if (k_signbit(a)) {
    let isInt = floor(b) == b;
    if (!isInt && k_isfinite(a) && ab != 0.0f) { return k_nan(); }
    if (isInt && abs(b) < 16777216.0f && (i32(b) & 1) == 1) { return -r; }
  }
  return r;
}`,
  ],
  [
    "k_ipow",
    `fn k_ipow(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var r = 1i;
  var base = a;
  var e = b;
  loop {
    if (e == 0) { break; }
    if ((e & 1) != 0) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}`,
  ],
  [
    "k_idiv",
    // (No `%` on negative i32 here or below: llvmpipe computes it as an unsigned remainder.)
    `fn k_idiv(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  if (b == -1) { return -a; }
  let q = a / b;
  if (a - q * b != 0 && ((a < 0) != (b < 0))) { return q - 1; }
  return q;
}`,
  ],
  [
    "k_imod",
    `fn k_imod(a: i32, b: i32) -> i32 {
  if (b == 0 || b == -1) { return 0; }
  let r = a - (a / b) * b;
  if (r != 0 && ((r < 0) != (b < 0))) { return r + b; }
  return r;
}`,
  ],
  [
    "k_fmod",
    // Exact fmod by long division (each step subtracts the largest power-of-two multiple of
    // |b| that fits, exactly by Sterbenz), then the divisor's sign (numpy mod).
    `fn k_fmod(a: f32, b: f32) -> f32 {
  if (k_isnan(a) || k_isnan(b) || !k_isfinite(a) || b == 0.0f) { return k_nan(); }
  let bb = abs(b);
  var x = abs(a);
  if (k_isfinite(b)) {
    let eb = i32((bitcast<u32>(bb) >> 23u) & 0xffu);
    for (var it = 0; it < 300 && x >= bb; it++) {
      let d = i32((bitcast<u32>(x) >> 23u) & 0xffu) - eb;
      var t = ldexp(bb, d);
      if (t > x) { t = ldexp(bb, d - 1); }
      x = x - t;
    }
  }
  var r = select(x, -x, k_signbit(a));
  if (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) { r = r + b; }
  return r;
}`,
  ],
  [
    "k_f2i",
    // float -> int32 as JavaScript's Math.trunc(x)|0: NaN and infinities give 0, large values
    // keep the low 32 bits of the integer.
    `fn k_f2i(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  let e = i32((b >> 23u) & 0xffu) - 127;
  if (e < 0 || e == 128) { return 0; }
  if (e < 31) { return i32(trunc(x)); }
  let s = e - 23;
  if (s >= 32) { return 0; }
  let r = ((b & 0x7fffffu) | 0x800000u) << u32(s);
  return select(bitcast<i32>(r), bitcast<i32>(0u - r), (b >> 31u) != 0u);
}`,
  ],
];

const BY_NAME = new Map(HELPERS);

/** The helper definitions `body` needs (transitively), in dependency order. */
export function prelude(body: string): string {
  const need = new Set<string>();
  const visit = (src: string) => {
    for (const m of src.matchAll(/\bk_[a-z0-9_]+(?=\()/g)) {
      const name = m[0];
      if (need.has(name) || !BY_NAME.has(name)) continue;
      need.add(name);
      visit(BY_NAME.get(name)!);
    }
  };
  visit(body);
  return HELPERS.filter(([n]) => need.has(n)).map(([, src]) => src).join("\n");
}
