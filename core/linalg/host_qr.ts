/**
 * Householder QR (float64, row-major, one matrix at a time), blocked with the compact WY form
 * (LAPACK's dgeqrf/dlarft/dlarfb/dorgqr): the reflectors of a panel of `NB` columns are
 * factored by row operations restricted to the panel, then applied to the rest of the matrix at
 * once as `I − V T Vᵀ`, two matrix products (`W = Vᵀ A₂`, `A₂ −= V (Tᵀ W)`) in the float64
 * SIMD kernel. Q is accumulated the same way, panel by panel from the last.
 *
 * Signs are LAPACK's: `H = I − τ v vᵀ` with v₀ = 1 and R's diagonal −sign(x₀)·‖x‖, as numpy and
 * JAX; a column that is already zero below the diagonal gets H = I (τ = 0).
 * @module
 */
import { dgemm, dWorkspace } from "../backends/cpu/wasm/dgemm.ts";

/** Panel width: reflectors applied together in one product. */
export const NB = 32;

/** A panel's reflectors: vectors (v₀ = 1 first; all zero when τ = 0) and their τs. */
interface Reflectors {
  readonly vs: Float64Array[];
  readonly taus: number[];
}

/** Householder QR of A (m×n): `[Q (m×q), R (q×n)]`, q = min(m, n) (reduced) or m (complete). */
export function qr(
  a: Float64Array,
  m: number,
  n: number,
  complete: boolean,
): [Float64Array, Float64Array] {
  const k = Math.min(m, n), q = complete ? m : k;
  const offV = m * n, offW = offV + m * NB, offQ = offW + NB * Math.max(n, q);
  const w = dWorkspace(offQ + m * q);
  w.set(a, 0);
  const vs: Float64Array[] = [], taus: number[] = [];
  for (let j0 = 0; j0 < k; j0 += NB) {
    const jb = Math.min(NB, k - j0);
    const p = factorPanel(w, m, n, j0, jb);
    const t = wyT(w, p.vs, p.taus, m - j0, offV);
    vs.push(...p.vs), taus.push(...p.taus);
    // A₂ ← (I − V T Vᵀ)ᵀ A₂ on the columns right of the panel.
    applyWy(w, m - j0, n - j0 - jb, jb, t, true, offV, offW, j0 * n + j0 + jb, n);
  }
  accumulateQ(w, vs, taus, m, q, offQ, offV, offW);
  const rOut = new Float64Array(q * n);
  for (let i = 0; i < k; i++) {
    rOut.set(w.subarray(i * n + i, i * n + n), i * n + i);
  }
  return [w.slice(offQ, offQ + m * q), rOut];
}

/** Workspace floats `accumulateQ` needs after V (at offV) for an m-row Q with q columns. */
export const wyScratch = (m: number, q: number): number => m * NB + NB * NB + NB * q;

/**
 * Q = H₀ H₁ … H_{r−1} applied to the first q columns of the m×m identity, written at offQ (row
 * stride q), for reflectors `vs[j]` (length m − j, acting on rows j…) with `taus[j]`; panels of
 * NB reflectors go through the WY form from the last one. Columns left of a panel are still
 * unit vectors its reflectors do not touch. Scratch: V at offV, W at offW (see `wyScratch`).
 */
export function accumulateQ(
  w: Float64Array,
  vs: readonly Float64Array[],
  taus: readonly number[],
  m: number,
  q: number,
  offQ: number,
  offV: number,
  offW: number,
): void {
  w.fill(0, offQ, offQ + m * q);
  for (let i = 0; i < q; i++) w[offQ + i * q + i] = 1;
  if (m < NB) return accumulateSmall(w, vs, taus, q, offQ);
  for (let j0 = Math.floor((vs.length - 1) / NB) * NB; j0 >= 0; j0 -= NB) {
    const jb = Math.min(NB, vs.length - j0);
    const t = wyT(w, vs.slice(j0, j0 + jb), taus.slice(j0, j0 + jb), m - j0, offV);
    applyWy(w, m - j0, q - j0, jb, t, false, offV, offW, offQ + j0 * q + j0, q);
  }
}

/**
 * `accumulateQ` for small matrices: one reflector at a time by row operations (for a few rows
 * the WY form's T and scratch cost more than they save).
 */
function accumulateSmall(
  w: Float64Array,
  vs: readonly Float64Array[],
  taus: readonly number[],
  q: number,
  offQ: number,
): void {
  const s = new Float64Array(q);
  for (let j = vs.length - 1; j >= 0; j--) {
    const v = vs[j], tau = taus[j];
    if (tau === 0) continue;
    s.fill(0);
    for (let i = 0; i < v.length; i++) {
      const vi = v[i], ri = offQ + (j + i) * q;
      for (let c = j; c < q; c++) s[c] += vi * w[ri + c];
    }
    for (let i = 0; i < v.length; i++) {
      const f = tau * v[i], ri = offQ + (j + i) * q;
      for (let c = j; c < q; c++) w[ri + c] -= f * s[c];
    }
  }
}

/**
 * Householder reflectors of columns [j0, j0 + jb) of R (m×n at w[0]), applied only to those
 * columns; the entries below the diagonal become 0 and the vectors are returned.
 */
function factorPanel(w: Float64Array, m: number, n: number, j0: number, jb: number): Reflectors {
  const end = j0 + jb, vs: Float64Array[] = [], taus: number[] = [];
  for (let j = j0; j < end; j++) {
    const len = m - j, v = new Float64Array(len);
    for (let i = 0; i < len; i++) v[i] = w[(j + i) * n + j];
    let sigma = 0;
    for (let i = 1; i < len; i++) sigma += v[i] * v[i];
    const alpha = v[0];
    if (sigma === 0) { // already upper triangular in this column: H = I (as LAPACK's dlarfg)
      vs.push(v.fill(0)), taus.push(0);
      continue;
    }
    const norm = Math.sqrt(alpha * alpha + sigma);
    const beta = alpha >= 0 ? -norm : norm;
    const tau = (beta - alpha) / beta, scale = 1 / (alpha - beta);
    v[0] = 1;
    for (let i = 1; i < len; i++) v[i] *= scale;
    // R[j:, j+1:end] −= τ v (vᵀ R[j:, j+1:end]), row by row.
    const s = new Float64Array(end);
    for (let i = 0; i < len; i++) {
      const vi = v[i], ri = (j + i) * n;
      for (let c = j + 1; c < end; c++) s[c] += vi * w[ri + c];
    }
    for (let i = 0; i < len; i++) {
      const f = tau * v[i], ri = (j + i) * n;
      for (let c = j + 1; c < end; c++) w[ri + c] -= f * s[c];
      w[ri + j] = i === 0 ? beta : 0;
    }
    vs.push(v), taus.push(tau);
  }
  return { vs, taus };
}

/** V (rows × jb, row stride jb) at `offV`: column t is vs[t] from row t, zeros above. */
function fillV(w: Float64Array, vs: readonly Float64Array[], rows: number, offV: number): void {
  const jb = vs.length;
  w.fill(0, offV, offV + rows * jb);
  vs.forEach((v, t) => {
    for (let i = 0; i < v.length; i++) w[offV + (t + i) * jb + t] = v[i];
  });
}

/**
 * Fills V at `offV` and returns the upper-triangular T (jb×jb) with H₀…H_{jb−1} = I − V T Vᵀ
 * (dlarft, forward and columnwise): T[t,t] = τ_t, T[:t, t] = −τ_t T[:t,:t] (V[:, :t]ᵀ v_t). The
 * Gram matrix VᵀV comes from one product.
 */
function wyT(
  w: Float64Array,
  vs: readonly Float64Array[],
  taus: readonly number[],
  rows: number,
  offV: number,
): Float64Array {
  const jb = vs.length, t = new Float64Array(jb * jb);
  fillV(w, vs, rows, offV);
  const g = new Float64Array(jb * jb); // VᵀV, through a scratch block after V
  const offG = offV + rows * jb;
  w.fill(0, offG, offG + jb * jb);
  dgemm(w, false, jb, jb, rows, offV, 1, jb, offV, jb, offG, jb);
  g.set(w.subarray(offG, offG + jb * jb));
  for (let c = 0; c < jb; c++) {
    const tau = taus[c];
    t[c * jb + c] = tau;
    for (let r = 0; r < c; r++) {
      let s = 0;
      for (let p = r; p < c; p++) s += t[r * jb + p] * g[p * jb + c];
      t[r * jb + c] = -tau * s;
    }
  }
  return t;
}

/**
 * `C ← (I − V T Vᵀ) C`, or with Tᵀ when `transT` (which applies the reflectors' product
 * transposed), for C (rows × cols at `c`, row stride `ldc`) and V at `offV` (rows × jb).
 */
function applyWy(
  w: Float64Array,
  rows: number,
  cols: number,
  jb: number,
  t: Float64Array,
  transT: boolean,
  offV: number,
  offW: number,
  c: number,
  ldc: number,
): void {
  if (cols <= 0 || rows <= 0 || jb === 0) return;
  w.fill(0, offW, offW + jb * cols);
  dgemm(w, false, jb, cols, rows, offV, 1, jb, c, ldc, offW, cols); // W = Vᵀ C
  // W ← op(T) W in place: Tᵀ is lower (rows from the last), T upper (rows from the first).
  for (let s = 0; s < jb; s++) {
    const i = transT ? jb - 1 - s : s, ri = offW + i * cols;
    const lo = transT ? 0 : i, hi = transT ? i + 1 : jb;
    const d = t[i * jb + i];
    for (let x = 0; x < cols; x++) w[ri + x] *= d;
    for (let p = lo; p < hi; p++) {
      if (p === i) continue;
      const f = transT ? t[p * jb + i] : t[i * jb + p], rp = offW + p * cols;
      for (let x = 0; x < cols; x++) w[ri + x] += f * w[rp + x];
    }
  }
  dgemm(w, true, rows, cols, jb, offV, jb, 1, offW, cols, c, ldc); // C −= V W
}
