/**
 * Host kernels (float64, row-major, one matrix at a time) for the symmetric eigendecomposition
 * (Householder tridiagonalization, then the implicit QL algorithm with Wilkinson-type shifts,
 * its rotations SIMD row rotations on the workspace) and the SVD driver (wide matrices through
 * their transpose, very tall ones through QR first, Golub–Kahan–Reinsch in `host_svd.ts`, an
 * orthonormal completion for a full U). QR itself is in `host_qr.ts`.
 *
 * Sign conventions (the factors are unique only up to signs): every eigenvector, and every
 * left singular vector (column of U), is flipped so that its entry of largest magnitude (the
 * first, on ties) is positive; the matching row of Vᵀ follows. QR keeps LAPACK's Householder
 * signs (R's diagonal is -sign(x₀)·‖x‖), as numpy and JAX do.
 * @module
 */

import { dgemm, drot, dWorkspace } from "../backends/cpu/wasm/dgemm.ts";
import { accumulateQ, NB as NB_WY, qr, wyScratch } from "./host_qr.ts";
import { svdGkr } from "./host_svd.ts";
import { tred2 } from "./host_tred2.ts";

/** Flips column `j` of `q` (rows×cols, row-major) so its largest-magnitude entry is positive. */
function signFix(q: Float64Array, rows: number, cols: number, j: number): boolean {
  let best = 0, at = 0;
  for (let i = 0; i < rows; i++) {
    const v = Math.abs(q[i * cols + j]);
    if (v > best) best = v, at = i;
  }
  if (q[at * cols + j] >= 0) return false;
  for (let i = 0; i < rows; i++) q[i * cols + j] = -q[i * cols + j];
  return true;
}

/**
 * Symmetric eigendecomposition of A (n×n, symmetric; its upper triangle is read): eigenvalues in
 * ascending order and the eigenvectors as the columns of an n×n matrix.
 */
export function eigh(a: Float64Array, n: number): [Float64Array, Float64Array] {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return [new Float64Array(n).fill(NaN), a.slice().fill(NaN)];
  }
  // Both phases work on Vᵀ (eigenvectors as rows), so that the inner loops of the reduction
  // and every QL rotation run along contiguous rows.
  const d = new Float64Array(n), e = new Float64Array(n);
  let vt: Float64Array;
  if (n < NB_WY) tred2(vt = a.slice(), d, e, n);
  else vt = tridiagonalize(a, d, e, n);
  implicitQl(vt, d, e, n);
  const order = [...d.keys()].sort((x, y) => d[x] - d[y]);
  const w = new Float64Array(n), vecs = new Float64Array(n * n);
  order.forEach((src, j) => {
    w[j] = d[src];
    for (let i = 0; i < n; i++) vecs[i * n + j] = vt[src * n + i];
  });
  for (let j = 0; j < n; j++) signFix(vecs, n, n, j);
  return [w, vecs];
}

/**
 * Householder reduction A = Q T Qᵀ to tridiagonal T (LAPACK's dsytd2, on the full symmetric
 * matrix in the workspace): per column, p = τ A₂₂ v is one matrix-vector product and the
 * symmetric rank-2 update A₂₂ −= v wᵀ + w vᵀ one product with an inner dimension of 2, both in
 * the SIMD kernel; Q is then accumulated from the reflectors in WY panels (`accumulateQ`).
 * On exit `d` is the diagonal, `e[1..]` the subdiagonal, and the returned workspace holds Qᵀ
 * (n×n at offset 0), the starting point of the QL rotations.
 */
function tridiagonalize(
  a: Float64Array,
  d: Float64Array,
  e: Float64Array,
  n: number,
): Float64Array {
  const m = Math.max(n - 1, 0); // Q = diag(1, Q'), Q' m×m
  const ov = n * n, ovw = ov + n, owv = ovw + 2 * n, op = owv + 2 * n, oq = op + n;
  const offV = oq + m * m, offW = offV + m * NB_WY + NB_WY * NB_WY;
  const w = dWorkspace(offV + wyScratch(m, m));
  w.set(a, 0);
  const vs: Float64Array[] = [], taus: number[] = [];
  for (let k = 0; k + 2 < n; k++) {
    const n2 = n - k - 1, row = k * n + k + 1, a22 = (k + 1) * n + k + 1;
    // The reflector of x = A[k+1:, k] (= row k right of the diagonal: A is kept symmetric).
    const alpha = w[row];
    let sigma = 0;
    for (let i = 1; i < n2; i++) sigma += w[row + i] * w[row + i];
    d[k] = w[k * n + k];
    const v = new Float64Array(n2);
    if (sigma === 0) { // already tridiagonal in this column: H = I
      e[k + 1] = alpha;
      vs.push(v), taus.push(0);
      continue;
    }
    const norm = Math.sqrt(alpha * alpha + sigma), beta = alpha >= 0 ? -norm : norm;
    const tau = (beta - alpha) / beta, scale = 1 / (alpha - beta);
    v[0] = 1;
    for (let i = 1; i < n2; i++) v[i] = w[row + i] * scale;
    e[k + 1] = beta;
    w.set(v, ov);
    // p = τ A₂₂ v; w = p − (τ/2)(pᵀv) v.
    w.fill(0, op, op + n2);
    dgemm(w, false, n2, 1, n2, a22, n, 1, ov, 1, op, 1);
    let pv = 0;
    for (let i = 0; i < n2; i++) pv += (w[op + i] *= tau) * v[i];
    const kk = 0.5 * tau * pv;
    for (let i = 0; i < n2; i++) {
      const wi = w[op + i] - kk * v[i];
      w[ovw + 2 * i] = v[i], w[ovw + 2 * i + 1] = wi; // [v w], n2×2
      w[owv + i] = wi, w[owv + n2 + i] = v[i]; // [wᵀ; vᵀ], 2×n2
    }
    dgemm(w, true, n2, n2, 2, ovw, 2, 1, owv, n2, a22, n);
    vs.push(v), taus.push(tau);
  }
  if (n >= 2) e[n - 1] = w[(n - 1) * n + n - 2], d[n - 2] = w[(n - 2) * n + n - 2];
  if (n >= 1) d[n - 1] = w[n * n - 1];
  accumulateQ(w, vs, taus, m, m, oq, offV, offW);
  // Qᵀ at 0: row 0 and column 0 of the identity, then Q'ᵀ.
  w.fill(0, 0, n * n);
  if (n > 0) w[0] = 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) w[(j + 1) * n + i + 1] = w[oq + i * m + j];
  }
  return w;
}

/** Implicit QL iterations on the tridiagonal (d, e), rotating the rows of `vt` (= Vᵀ). */
function implicitQl(vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 100; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          drot(vt, i * n, (i + 1) * n, n, c, s);
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * SVD of A (m×n) by Golub–Kahan–Reinsch: `[U (m×q), s (k), Vᵀ (k×n)]`, k = min(m, n), singular
 * values descending; q = k (reduced) or m (full, and Vᵀ is then n×n).
 */
export function svd(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
): [Float64Array, Float64Array, Float64Array] {
  let u: Float64Array, s: Float64Array, vt: Float64Array;
  if (m < n) {
    // Aᵀ = V S Uᵀ.
    const [u2, s2, vt2] = svdTall(transpose(a, m, n), n, m, full);
    [u, s, vt] = [transpose(vt2, m, m), s2, transpose(u2, n, u2.length / n)];
  } else [u, s, vt] = svdTall(a, m, n, full);
  const q = u.length / Math.max(m, 1);
  for (let j = 0; j < s.length; j++) {
    if (signFix(u, m, q, j)) { for (let i = 0; i < n; i++) vt[j * n + i] = -vt[j * n + i]; }
  }
  return [u, s, vt];
}

function svdTall(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
): [Float64Array, Float64Array, Float64Array] {
  const k = n;
  if (m >= 2 * n && n > 0) return svdViaQr(a, m, n, full);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      const q = full ? m : k;
      return [
        new Float64Array(m * q).fill(NaN),
        new Float64Array(k).fill(NaN),
        new Float64Array(k * n).fill(NaN),
      ];
    }
  }
  const q = full ? m : k;
  const u = new Float64Array(m * q);
  let s: Float64Array = new Float64Array(0), vt = s;
  if (n > 0) {
    const [ur, sr, vr] = svdGkr(a, m, n);
    [s, vt] = [sr, vr];
    for (let i = 0; i < m; i++) u.set(ur.subarray(i * n, i * n + n), i * q);
  }
  // Columns for zero singular values (and the rest of a full U): an orthonormal completion.
  complete(u, m, q, s);
  return [u, s, vt];
}

/**
 * A tall matrix (m ≥ 2n) is first reduced by Householder QR (as LAPACK does): the bidiagonal
 * SVD then works on n×n instead of m×n. `U = Q U_R` (and, for a full U, the
 * remaining columns of the complete Q).
 */
function svdViaQr(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
): [Float64Array, Float64Array, Float64Array] {
  const [q, r] = qr(a, m, n, full);
  const [ur, s, vt] = svdTall(r.slice(0, n * n), n, n, false);
  const qc = q.length / m, u = new Float64Array(m * qc);
  for (let i = 0; i < m; i++) {
    const ri = i * qc;
    for (let p = 0; p < n; p++) {
      const qip = q[ri + p];
      if (qip === 0) continue;
      for (let j = 0; j < n; j++) u[ri + j] += qip * ur[p * n + j];
    }
    for (let j = n; j < qc; j++) u[ri + j] = q[ri + j];
  }
  return [u, s, vt];
}

/** Fills the columns of `u` (m×q) that are zero (s = 0, or j ≥ k) by Gram-Schmidt on eᵢ. */
function complete(u: Float64Array, m: number, q: number, s: Float64Array): void {
  let next = 0;
  for (let j = 0; j < q; j++) {
    if (j < s.length && s[j] > 0) continue;
    for (; next < m; next++) {
      const c = new Float64Array(m);
      c[next] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let o = 0; o < q; o++) {
          if (o === j || (o > j && !(o < s.length && s[o] > 0))) continue;
          let d = 0;
          for (let i = 0; i < m; i++) d += u[i * q + o] * c[i];
          for (let i = 0; i < m; i++) c[i] -= d * u[i * q + o];
        }
      }
      const nrm = Math.sqrt(c.reduce((acc, x) => acc + x * x, 0));
      if (nrm > 1e-8) {
        for (let i = 0; i < m; i++) u[i * q + j] = c[i] / nrm;
        next++;
        break;
      }
    }
  }
}

/** The transpose of x (r×c, row-major). */
export function transpose(x: Float64Array, r: number, c: number): Float64Array {
  const y = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) y[j * r + i] = x[i * c + j];
  return y;
}
