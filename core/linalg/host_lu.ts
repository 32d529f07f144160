/**
 * Host kernels (float64, row-major, one matrix at a time): LU with partial pivoting, solve,
 * log-determinant, Cholesky and triangular solves. Each copies its matrix into the float64
 * workspace of `dgemm.ts` and factors it there by recursive blocking (Toledo's recursive LU, a
 * recursive Cholesky, recursive triangular solves in `blas.ts`): the problem is halved until
 * panels are `BASE` columns wide, so nearly all of the O(n³) work is matrix products in the
 * WebAssembly SIMD kernel, and the JavaScript loops run along contiguous rows. Singular or
 * non-finite inputs give NaN/inf results, never an exception (as LAPACK under JAX);
 * `nonFinite` reports them for the optional `{check: true}`.
 * @module
 */
import { dgemm, dWorkspace } from "../backends/cpu/wasm/dgemm.ts";
import { BASE, syrkUpper, transposeTriangle, trsm } from "./blas.ts";

/**
 * LU with partial pivoting of the n×n matrix at `w[0, n²)`, in place (L below the diagonal with
 * its unit diagonal implied, U on and above it); returns the row permutation (row i of PA is
 * row perm[i] of A) and the number of swaps.
 */
function luInPlace(w: Float64Array, n: number): { perm: Int32Array; swaps: number } {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const st = { perm, swaps: 0 };
  luPanel(w, n, 0, n, st);
  return st;
}

/**
 * Factors columns [k, k + nc) of rows [k, n) (the panel left of them is done). Rows are swapped
 * whole, so the pivots reach the finished L columns and the columns not yet updated alike.
 */
function luPanel(
  w: Float64Array,
  n: number,
  k: number,
  nc: number,
  st: { perm: Int32Array; swaps: number },
): void {
  if (nc > BASE) {
    const h = nc >> 1, c2 = k + h, w2 = nc - h;
    luPanel(w, n, k, h, st);
    // A₁₂ ← L₁₁⁻¹ A₁₂, then A₂₂ −= L₂₁ A₁₂.
    trsm(w, true, true, h, k * n + k, n, 1, w2, k * n + c2, n);
    dgemm(w, true, n - c2, w2, h, c2 * n + k, n, 1, k * n + c2, n, c2 * n + c2, n);
    luPanel(w, n, c2, w2, st);
    return;
  }
  const end = k + nc;
  for (let c = k; c < end; c++) {
    let p = c, best = Math.abs(w[c * n + c]);
    for (let i = c + 1; i < n; i++) {
      const v = Math.abs(w[i * n + c]);
      if (v > best) best = v, p = i;
    }
    if (p !== c) {
      const rc = c * n, rp = p * n;
      for (let j = 0; j < n; j++) {
        const t = w[rc + j];
        w[rc + j] = w[rp + j];
        w[rp + j] = t;
      }
      const t = st.perm[c];
      st.perm[c] = st.perm[p];
      st.perm[p] = t;
      st.swaps++;
    }
    const rc = c * n, piv = w[rc + c];
    if (piv === 0) continue; // singular: U has a zero pivot; solves give inf/NaN
    for (let i = c + 1; i < n; i++) {
      const ri = i * n;
      const l = w[ri + c] / piv;
      w[ri + c] = l;
      for (let j = c + 1; j < end; j++) w[ri + j] -= l * w[rc + j];
    }
  }
}

/** Solves `A X = B` (A n×n, B n×m); returns X. NaN/inf where A is singular. */
export function solveLu(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const nn = n * n, w = dWorkspace(nn + n * m);
  w.set(a, 0);
  const { perm } = luInPlace(w, n);
  for (let i = 0; i < n; i++) w.set(b.subarray(perm[i] * m, perm[i] * m + m), nn + i * m);
  // L Y = P B (unit lower), then U X = Y.
  trsm(w, true, true, n, 0, n, 1, m, nn, m);
  trsm(w, false, false, n, 0, n, 1, m, nn, m);
  return w.slice(nn, nn + n * m);
}

/** `[sign, log|det|]` of A (n×n): sign 0 and -inf for a singular matrix. */
export function slogdet(a: Float64Array, n: number): [number, number] {
  const w = dWorkspace(n * n);
  w.set(a, 0);
  const { swaps } = luInPlace(w, n);
  let sign = swaps % 2 ? -1 : 1, logabs = 0;
  for (let i = 0; i < n; i++) {
    const d = w[i * n + i];
    if (Number.isNaN(d)) return [NaN, NaN];
    if (d === 0) return [0, -Infinity];
    if (d < 0) sign = -sign;
    logabs += Math.log(Math.abs(d));
  }
  return [sign, logabs];
}

/**
 * Lower Cholesky factor of a symmetric A (n×n; the public function symmetrizes it, and this
 * kernel reads its upper triangle). Computed as the upper factor U = Lᵀ of A = UᵀU, whose
 * blocks are rows of the row-major workspace (U₁₂ = U₁₁⁻ᵀA₁₂ and A₂₂ −= U₁₂ᵀU₁₂ read A in place,
 * no transposed copies), then transposed once. Not positive definite (or non-finite): the whole
 * factor is NaN, as JAX's.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const w = dWorkspace(n * n);
  w.set(a, 0);
  const l = new Float64Array(n * n);
  if (!cholUpper(w, n, 0, n)) return l.fill(NaN);
  transposeTriangle(l, w, n, false);
  return l;
}

/** Upper Cholesky factor of the s×s block at `o` (row stride n), in place; false if not PD. */
function cholUpper(w: Float64Array, n: number, o: number, s: number): boolean {
  if (s > BASE) {
    const h = s >> 1, o12 = o + h, o22 = o + h * n + h;
    if (!cholUpper(w, n, o, h)) return false;
    trsm(w, true, false, h, o, 1, n, s - h, o12, n); // U₁₂ = U₁₁⁻ᵀ A₁₂
    syrkUpper(w, s - h, h, o12, n, o22, n);
    return cholUpper(w, n, o22, s - h);
  }
  for (let k = 0; k < s; k++) {
    const rk = o + k * n, d = w[rk + k];
    if (!(d > 0) || !Number.isFinite(d)) return false;
    const r = Math.sqrt(d);
    w[rk + k] = r;
    for (let j = k + 1; j < s; j++) w[rk + j] /= r;
    for (let i = k + 1; i < s; i++) {
      const ri = o + i * n, f = w[rk + i];
      for (let j = i; j < s; j++) w[ri + j] -= f * w[rk + j];
    }
  }
  return true;
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
  const nn = n * n, w = dWorkspace(nn + n * m);
  w.set(a, 0);
  w.set(b, nn);
  // op(A) is lower when (lower xor transpose); the transpose is A read with swapped strides.
  const [ls, ps] = o.transpose ? [1, n] : [n, 1];
  trsm(w, o.lower !== o.transpose, o.unitDiagonal, n, 0, ls, ps, m, nn, m);
  return w.slice(nn, nn + n * m);
}

/** Whether a factor or solution has a non-finite entry (what `{check: true}` rejects). */
export function nonFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return true;
  return false;
}
