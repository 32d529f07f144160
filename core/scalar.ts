/** Scalar math shared by backends and host-side code. @module */

/** 2/√π, the scale of erf's derivative. */
export const TWO_OVER_SQRT_PI: number = 1.1283791670955126;

/**
 * erf to full double precision: the all-positive series
 * `erf(x) = 2/√π · e^(−x²) · Σ (2x²)^n x / (1·3·…·(2n+1))` below |x| = 3 (no cancellation),
 * and the continued fraction for erfc above.
 */
export function erf(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = 2 * ax * ax;
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const r = TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated backwards.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + (n / 2) / f;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** Round half to even (numpy / PyTorch `round`). */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Integer modulo with the divisor's sign; `x mod 0` is 0. */
export function imod(a: number, b: number): number {
  if (b === 0) return 0;
  const r = a % b;
  return (r !== 0 && (r < 0) !== (b < 0) ? r + b : r) | 0;
}

/** Float modulo with the divisor's sign (numpy `mod`). */
export function fmod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}
