/**
 * Coefficients and constants of the vectorized transcendental functions, written by
 * tests/make_vmath_coeffs.py (minimax fits against mpmath); do not edit by hand.
 * Polynomials are in Horner order, lowest degree first.
 * @module
 */

/** exp(r) = 1 + r + r²·Q(r), |r| ≤ ln2/2. */
export const EXP_Q: readonly number[] = [
  0.5000000000426812,
  0.16666666784442305,
  0.04166666440507513,
  0.008333281807974111,
  0.0013889197130709675,
  0.00019908939001151056,
  2.4708288511363046e-05,
];
/** float32 exp: exp(r) = 1 + r + r²·Q(r), |r| ≤ 1.01·ln2/2. */
export const EXP32_Q: readonly number[] = [
  0.4999999403953552,
  0.16666515171527863,
  0.04166845604777336,
  0.008369418792426586,
  0.0013813144760206342,
];
/** float32 tanh: tanh(x) = x + x·z·P(z), z = x², |x| ≤ 1. */
export const TANH32_P: readonly number[] = [
  -0.33333295583724976,
  0.13332344591617584,
  -0.05387980118393898,
  0.021486656740307808,
  -0.007946106605231762,
  0.0023013646714389324,
  -0.00035845203092321754,
];
/** float32 erf: erf(a) = a + a·R(a²), 0 ≤ a ≤ 1. */
export const ERF32_R: readonly number[] = [
  0.12837916612625122,
  -0.3761262595653534,
  0.1128358542919159,
  -0.026853812858462334,
  0.005188329145312309,
  -0.0008010203600861132,
  7.853892020648345e-05,
];
/** float32 erf: erf(a) = 1 − exp(−a²)·Q(a − 5/2), 1 ≤ a ≤ 4. */
export const ERF32_Q: readonly number[] = [
  0.21080632507801056,
  -0.07434950023889542,
  0.024929402396082878,
  -0.007999175228178501,
  0.0025234869681298733,
  -0.0006475526606664062,
  0.0002214400883531198,
  -0.00013987749116495252,
  -5.969802077743225e-05,
  -2.8349075364531018e-05,
];
/** float32 log: R of LOG_R in float32, 4 terms. */
export const LOG32_R: readonly number[] = [
  0.6666666269302368,
  0.4000033438205719,
  0.2853734791278839,
  0.23581472039222717,
];
/** log((1+s)/(1−s)) = 2s + s·z·R(z), z = s², |s| ≤ 0.1716. */
export const LOG_R: readonly number[] = [
  0.6666666667576855,
  0.3999999563287145,
  0.285721079931868,
  0.2217623708892824,
  0.19583459719047802,
];
/** expm1(x) = x·(1 + x·P(x)), |x| ≤ 1/8. */
export const EXPM1_P: readonly number[] = [
  0.500000000010131,
  0.166666666660198,
  0.04166666141169126,
  0.008333334264148047,
  0.001389565168556116,
  0.0001984196208716431,
];
/** sin(r) = r + r·z·S(z), z = r², |r| ≤ π/4. */
export const SIN_S: readonly number[] = [
  -0.1666666666663035,
  0.00833333332507738,
  -0.00019841263728414524,
  2.7555339608173437e-06,
  -2.47604508510081e-08,
];
/** cos(r) = 1 − z/2 + z²·C(z), z = r², |r| ≤ π/4. */
export const COS_C: readonly number[] = [
  0.04166666661949171,
  -0.0013888883500103551,
  2.479946016134149e-05,
  -2.7205754740328134e-07,
];
/** ln 2 as a 42-bit head (k·head exact) and a tail. */
export const LN2_HI_LO: readonly number[] = [0.6931471805598903, 5.497923018708371e-14];
/** π/2 in 35-bit parts (k·part exact for k < 2^18), then the rest. */
export const PIO2_PARTS: readonly number[] = [
  1.5707963267923333,
  2.5633441515839558e-12,
  1.0562999066987428e-23,
];
/** Bytes of 2/π (big-endian, weights 2^-1 down) after two zero bytes. */
export const TWO_OVER_PI_BYTES: readonly number[] = [
  0,
  0,
  162,
  249,
  131,
  110,
  78,
  68,
  21,
  41,
  252,
  39,
  87,
  209,
  245,
  52,
  221,
  192,
  219,
  98,
  149,
  153,
  60,
  67,
  144,
  65,
  254,
  81,
  99,
  171,
  222,
  187,
];
