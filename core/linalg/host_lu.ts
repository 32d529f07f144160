/**
 * Host kernels (float64, row-major, one matrix at a time): LU with partial pivoting, solve,
 * log-determinant, Cholesky and triangular solves. Every inner loop runs along a contiguous
 * row (row operations of a right-looking elimination), the cache-friendly order for
 * row-major storage. Singular or non-finite inputs give NaN/inf results, never an exception
 * (as LAPACK under JAX); `singular` reports them for the optional `{check: true}`.
 * @module
 */

/** LU with partial pivoting in place: `a` (n×n) becomes L\U; returns the row permutation. */
export function luInPlace(a: Float64Array, n: number): { perm: Int32Array; swaps: number } {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let swaps = 0;
  for (let k = 0; k < n; k++) {
    let p = k, best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]);
      if (v > best) best = v, p = i;
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      swaps++;
    }
    const piv = a[k * n + k];
    if (piv === 0) continue; // singular: U has a zero pivot; solves give inf/NaN
    const rk = k * n;
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const l = a[ri + k] / piv;
      a[ri + k] = l;
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) a[ri + j] -= l * a[rk + j];
    }
  }
  return { perm, swaps };
}

/** Solves `A X = B` (A n×n, B n×m); returns X. NaN/inf where A is singular. */
export function solveLu(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const lu = a.slice();
  const { perm } = luInPlace(lu, n);
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) x.set(b.subarray(perm[i] * m, perm[i] * m + m), i * m);
  // L y = P b (unit lower), then U x = y.
  for (let i = 0; i < n; i++) {
    const ri = i * m;
    for (let j = 0; j < i; j++) {
      const l = lu[i * n + j];
      if (l === 0) continue;
      const rj = j * m;
      for (let c = 0; c < m; c++) x[ri + c] -= l * x[rj + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * m;
    for (let j = i + 1; j < n; j++) {
      const u = lu[i * n + j];
      if (u === 0) continue;
      const rj = j * m;
      for (let c = 0; c < m; c++) x[ri + c] -= u * x[rj + c];
    }
    const d = lu[i * n + i];
    for (let c = 0; c < m; c++) x[ri + c] /= d;
  }
  return x;
}

/** `[sign, log|det|]` of A (n×n): sign 0 and -inf for a singular matrix. */
export function slogdet(a: Float64Array, n: number): [number, number] {
  const lu = a.slice();
  const { swaps } = luInPlace(lu, n);
  let sign = swaps % 2 ? -1 : 1, logabs = 0;
  for (let i = 0; i < n; i++) {
    const d = lu[i * n + i];
    if (Number.isNaN(d)) return [NaN, NaN];
    if (d === 0) return [0, -Infinity];
    if (d < 0) sign = -sign;
    logabs += Math.log(Math.abs(d));
  }
  return [sign, logabs];
}

/**
 * Lower Cholesky factor of A (n×n, read from its lower triangle). Row-oriented (each entry is a
 * dot product of two contiguous row prefixes of L). Not positive definite (or non-finite):
 * the whole factor is NaN, as JAX's.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j];
      for (let p = 0; p < j; p++) s -= l[ri + p] * l[rj + p];
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return l.fill(NaN);
        l[ri + i] = Math.sqrt(s);
      } else l[ri + j] = s / l[rj + j];
    }
  }
  return l;
}

/** Options of a triangular solve: `op(A) X = B`, `op` the identity or the transpose. */
export interface TriOptions {
  readonly lower: boolean;
  readonly transpose: boolean;
  readonly unitDiagonal: boolean;
}

/** Solves `op(A) X = B` for triangular A (n×n; the other triangle is ignored), B n×m. */
export function solveTriangular(
  a: Float64Array,
  b: Float64Array,
  n: number,
  m: number,
  o: TriOptions,
): Float64Array {
  const x = b.slice();
  // op(A) is lower when (lower xor transpose): forward substitution, else backward.
  const lowerOp = o.lower !== o.transpose;
  const at = (i: number, j: number) => o.transpose ? a[j * n + i] : a[i * n + j];
  const row = (i: number) => {
    const ri = i * m;
    const lo = lowerOp ? 0 : i + 1, hi = lowerOp ? i : n;
    for (let j = lo; j < hi; j++) {
      const v = at(i, j);
      if (v === 0) continue;
      const rj = j * m;
      for (let c = 0; c < m; c++) x[ri + c] -= v * x[rj + c];
    }
    if (!o.unitDiagonal) {
      const d = a[i * n + i];
      for (let c = 0; c < m; c++) x[ri + c] /= d;
    }
  };
  if (lowerOp) { for (let i = 0; i < n; i++) row(i); }
  else for (let i = n - 1; i >= 0; i--) row(i);
  return x;
}

/** Whether a factor or solution has a non-finite entry (what `{check: true}` rejects). */
export function nonFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return true;
  return false;
}
