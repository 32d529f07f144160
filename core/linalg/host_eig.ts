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

import { drot, dWorkspace } from "../backends/cpu/wasm/dgemm.ts";
import { qr } from "./host_qr.ts";
import { svdGkr } from "./host_svd.ts";

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
  const vt = dWorkspace(n * n), d = new Float64Array(n), e = new Float64Array(n);
  vt.set(a, 0);
  tridiagonalize(vt, d, e, n);
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
 * Householder reduction to tridiagonal form (the classic `tred2` scheme, with the storage
 * transposed so that its inner loops are row loops), accumulating the transposed orthogonal
 * transformation in `w`, which holds the symmetric A on entry (its upper triangle is read).
 * On exit `d` is the diagonal and `e[1..]` the subdiagonal.
 */
function tridiagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1], g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        w[i * n + j] = f;
        g = e[j] + w[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += w[j * n + k] * d[k];
          e[k] += w[j * n + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) w[j * n + k] -= f * e[k] + g * d[k];
        d[j] = w[j * n + i - 1];
        w[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    w[i * n + n - 1] = w[i * n + i];
    w[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[(i + 1) * n + k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[(i + 1) * n + k] * w[j * n + k];
        for (let k = 0; k <= i; k++) w[j * n + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) w[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + n - 1];
    w[j * n + n - 1] = 0;
  }
  if (n > 0) w[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
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
