/**
 * SVD of a tall matrix (m ≥ n) by Golub–Kahan–Reinsch (as LINPACK's dsvdc and its JAMA
 * transcription): Householder bidiagonalization, U and V accumulated from the reflectors, then
 * implicit-shift QR sweeps on the bidiagonal (Wilkinson shift from the trailing 2×2, deflation
 * and splitting at negligible entries), which converge in about two sweeps per singular value.
 * That is O(n³) with a small constant where one-sided Jacobi needs ~10 sweeps of n²/2 pair
 * rotations. Backward stable: singular values are accurate to about ε·‖A‖, as LAPACK's.
 *
 * Storage is transposed so that every inner loop is a row: Aᵀ (columns of A are rows), Uᵀ and
 * Vᵀ (singular vectors are rows), all in the float64 workspace, so the plane rotations of the QR
 * sweeps are SIMD row rotations (`drot`) and the reflections dot products (`ddot`).
 * @module
 */
import { daxpy, ddot, drot, dWorkspace } from "../backends/cpu/wasm/dgemm.ts";

/** `[U (m×n), s (n, descending, ≥ 0), Vᵀ (n×n)]` of A (m×n, m ≥ n ≥ 1, finite). */
export function svdGkr(
  a: Float64Array,
  m: number,
  n: number,
): [Float64Array, Float64Array, Float64Array] {
  // Workspace: Aᵀ (n×m) at 0, Uᵀ (n×m) at uo, Vᵀ (n×n) at vo.
  const uo = n * m, vo = 2 * n * m;
  const wk = vo + n * n, w = dWorkspace(wk + m); // and a work row at wk
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[j * m + i] = a[i * n + j];
  w.fill(0, uo, vo + n * n);
  const s = new Float64Array(n + 1), e = new Float64Array(n);
  const nct = Math.min(m - 1, n), nrt = Math.max(0, Math.min(n - 2, m));
  const A = (i: number, j: number) => j * m + i; // A[i][j] in Aᵀ
  for (let k = 0; k < Math.max(nct, nrt); k++) {
    if (k < nct) {
      // Reflector for column k below the diagonal; s[k] the new diagonal entry.
      let nrm = norm2(ddot(w, A(k, k), A(k, k), m - k));
      if (nrm < 0) {
        nrm = 0;
        for (let i = k; i < m; i++) nrm = Math.hypot(nrm, w[A(i, k)]);
      }
      if (nrm !== 0) {
        if (w[A(k, k)] < 0) nrm = -nrm;
        for (let i = k; i < m; i++) w[A(i, k)] /= nrm;
        w[A(k, k)] += 1;
      }
      s[k] = -nrm;
    }
    for (let j = k + 1; j < n; j++) {
      if (k < nct && s[k] !== 0) {
        const t = -ddot(w, A(k, k), A(k, j), m - k) / w[A(k, k)];
        daxpy(w, A(k, k), A(k, j), m - k, t);
      }
      e[j] = w[A(k, j)];
    }
    if (k < nct) { for (let i = k; i < m; i++) w[uo + k * m + i] = w[A(i, k)]; }
    if (k < nrt) {
      // Reflector for row k right of the superdiagonal; e[k] the new superdiagonal entry.
      let ss = 0;
      for (let i = k + 1; i < n; i++) ss += e[i] * e[i];
      let nrm = norm2(ss);
      if (nrm < 0) {
        nrm = 0;
        for (let i = k + 1; i < n; i++) nrm = Math.hypot(nrm, e[i]);
      }
      if (nrm !== 0) {
        if (e[k + 1] < 0) nrm = -nrm;
        for (let i = k + 1; i < n; i++) e[i] /= nrm;
        e[k + 1] += 1;
      }
      e[k] = -nrm;
      if (k + 1 < m && nrm !== 0) {
        w.fill(0, wk + k + 1, wk + m);
        for (let j = k + 1; j < n; j++) {
          const ej = e[j], rj = j * m;
          daxpy(w, rj + k + 1, wk + k + 1, m - k - 1, ej);
        }
        for (let j = k + 1; j < n; j++) {
          const t = -e[j] / e[k + 1], rj = j * m;
          daxpy(w, wk + k + 1, rj + k + 1, m - k - 1, t);
        }
      }
      for (let i = k + 1; i < n; i++) w[vo + k * n + i] = e[i];
    }
  }
  // The bidiagonal: diagonal s[0..p), superdiagonal e[0..p-1).
  const p = n;
  if (nct < n) s[nct] = w[A(nct, nct)];
  if (nrt + 1 < p) e[nrt] = w[A(nrt, p - 1)];
  e[p - 1] = 0;
  accumulateU(w, uo, m, n, nct, s);
  accumulateV(w, vo, n, nrt, e);
  qrSweeps(w, uo, vo, m, n, s, e);
  const u = new Float64Array(m * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) u[i * n + j] = w[uo + j * m + i];
  return [u, s.slice(0, n), w.slice(vo, vo + n * n)];
}

/** Uᵀ (rows = columns of U, n×m at uo) from the column reflectors stored there. */
function accumulateU(
  w: Float64Array,
  uo: number,
  m: number,
  n: number,
  nct: number,
  s: Float64Array,
): void {
  const U = (i: number, j: number) => uo + j * m + i;
  for (let j = nct; j < n; j++) w[U(j, j)] = 1;
  for (let k = nct - 1; k >= 0; k--) {
    if (s[k] !== 0) {
      for (let j = k + 1; j < n; j++) {
        const t = -ddot(w, U(k, k), U(k, j), m - k) / w[U(k, k)];
        daxpy(w, U(k, k), U(k, j), m - k, t);
      }
      for (let i = k; i < m; i++) w[U(i, k)] = -w[U(i, k)];
      w[U(k, k)] += 1;
      for (let i = 0; i < k; i++) w[U(i, k)] = 0;
    } else {
      w.fill(0, U(0, k), U(m, k));
      w[U(k, k)] = 1;
    }
  }
}

/** Vᵀ (rows = columns of V, n×n at vo) from the row reflectors stored there. */
function accumulateV(
  w: Float64Array,
  vo: number,
  n: number,
  nrt: number,
  e: Float64Array,
): void {
  const V = (i: number, j: number) => vo + j * n + i;
  for (let k = n - 1; k >= 0; k--) {
    if (k < nrt && e[k] !== 0) {
      for (let j = k + 1; j < n; j++) {
        const t = -ddot(w, V(k + 1, k), V(k + 1, j), n - k - 1) / w[V(k + 1, k)];
        daxpy(w, V(k + 1, k), V(k + 1, j), n - k - 1, t);
      }
    }
    w.fill(0, V(0, k), V(n, k));
    w[V(k, k)] = 1;
  }
}

/**
 * Implicit-shift QR on the bidiagonal (s, e) until e vanishes, rotating rows of Uᵀ and Vᵀ;
 * then singular values made non-negative and sorted descending with their vectors.
 */
function qrSweeps(
  w: Float64Array,
  uo: number,
  vo: number,
  m: number,
  n: number,
  s: Float64Array,
  e: Float64Array,
): void {
  // Row rotations: x ← c·x + s·y, y ← −s·x + c·y on column j, k of U or V.
  const rotV = (j: number, k: number, cs: number, sn: number) =>
    drot(w, vo + j * n, vo + k * n, n, cs, -sn);
  const rotU = (j: number, k: number, cs: number, sn: number) =>
    drot(w, uo + j * m, uo + k * m, m, cs, -sn);
  const eps = 2 ** -52, tiny = 2 ** -966;
  let p = n, steps = 0;
  while (p > 0 && steps++ < 100 * n) {
    let k: number, kase: number;
    for (k = p - 2; k >= 0; k--) {
      if (Math.abs(e[k]) <= tiny + eps * (Math.abs(s[k]) + Math.abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    }
    if (k === p - 2) kase = 4;
    else {
      let ks: number;
      for (ks = p - 1; ks > k; ks--) {
        const t = (ks !== p ? Math.abs(e[ks]) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]) : 0);
        if (Math.abs(s[ks]) <= tiny + eps * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks === k) kase = 3;
      else if (ks === p - 1) kase = 1;
      else kase = 2, k = ks;
    }
    k++;
    if (kase === 1) { // s[p-1] negligible: chase e[p-2] out with rotations of V
      let f = e[p - 2];
      e[p - 2] = 0;
      for (let j = p - 2; j >= k; j--) {
        const t = Math.hypot(s[j], f), cs = s[j] / t, sn = f / t;
        s[j] = t;
        if (j !== k) f = -sn * e[j - 1], e[j - 1] = cs * e[j - 1];
        rotV(j, p - 1, cs, sn);
      }
    } else if (kase === 2) { // s[k-1] negligible: split, rotating U
      let f = e[k - 1];
      e[k - 1] = 0;
      for (let j = k; j < p; j++) {
        const t = Math.hypot(s[j], f), cs = s[j] / t, sn = f / t;
        s[j] = t;
        f = -sn * e[j];
        e[j] = cs * e[j];
        rotU(j, k - 1, cs, sn);
      }
    } else if (kase === 3) { // one QR sweep with the shift from the trailing 2×2
      const scale = Math.max(
        Math.abs(s[p - 1]),
        Math.abs(s[p - 2]),
        Math.abs(e[p - 2]),
        Math.abs(s[k]),
        Math.abs(e[k]),
      );
      const sp = s[p - 1] / scale, spm1 = s[p - 2] / scale, epm1 = e[p - 2] / scale;
      const sk = s[k] / scale, ek = e[k] / scale;
      const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2, c = (sp * epm1) ** 2;
      let shift = 0;
      if (b !== 0 || c !== 0) {
        shift = Math.sqrt(b * b + c);
        if (b < 0) shift = -shift;
        shift = c / (b + shift);
      }
      let f = (sk + sp) * (sk - sp) + shift, g = sk * ek;
      for (let j = k; j < p - 1; j++) {
        let t = Math.hypot(f, g), cs = f / t, sn = g / t;
        if (j !== k) e[j - 1] = t;
        f = cs * s[j] + sn * e[j];
        e[j] = cs * e[j] - sn * s[j];
        g = sn * s[j + 1];
        s[j + 1] = cs * s[j + 1];
        rotV(j, j + 1, cs, sn);
        t = Math.hypot(f, g), cs = f / t, sn = g / t;
        s[j] = t;
        f = cs * e[j] + sn * s[j + 1];
        s[j + 1] = -sn * e[j] + cs * s[j + 1];
        g = sn * e[j + 1];
        e[j + 1] = cs * e[j + 1];
        if (j < m - 1) rotU(j, j + 1, cs, sn);
      }
      e[p - 2] = f;
    } else { // converged: s[k] made non-negative, then moved into descending order
      if (s[k] <= 0) {
        s[k] = s[k] < 0 ? -s[k] : 0;
        for (let i = 0; i < n; i++) w[vo + k * n + i] = -w[vo + k * n + i];
      }
      for (; k < n - 1 && s[k] < s[k + 1]; k++) {
        [s[k], s[k + 1]] = [s[k + 1], s[k]];
        swapRows(w, vo + k * n, vo + (k + 1) * n, n);
        if (k < m - 1) swapRows(w, uo + k * m, uo + (k + 1) * m, m);
      }
      p--;
    }
  }
}

/**
 * √ss for a sum of squares ss, or −1 when ss may have overflowed or underflowed (then the caller
 * takes the norm by `Math.hypot`, 20× slower per element but safe at any scale, as dnrm2).
 */
function norm2(ss: number): number {
  return ss > 1e-280 && ss < 1e280 ? Math.sqrt(ss) : -1;
}

function swapRows(w: Float64Array, x: number, y: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const t = w[x + i];
    w[x + i] = w[y + i];
    w[y + i] = t;
  }
}
