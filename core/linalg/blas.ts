/**
 * Level-3 building blocks of the blocked factorizations, on the float64 workspace of
 * `dgemm.ts` (every matrix is an offset and strides into one array): recursive triangular solves
 * and the symmetric rank-k update. Recursion halves the triangle until it is small, so almost all
 * of the work is in `dgemm` (WebAssembly SIMD when available) and the JavaScript loops only see
 * blocks of at most `BASE` rows.
 * @module
 */
import { dgemm } from "../backends/cpu/wasm/dgemm.ts";

/** Triangles up to this size are solved by row operations in JavaScript. */
export const BASE = 16;

/**
 * Solves `T X = B` in place (B becomes X): T is n×n triangular with `T[i, j] = w[t + i·ls +
 * j·ps]` (only its `lower` or upper triangle is read; a unit diagonal is assumed with `unit`),
 * B is n×m with `B[i, j] = w[b + i·ldb + j]`. Passing swapped strides solves with Tᵀ.
 */
export function trsm(
  w: Float64Array,
  lower: boolean,
  unit: boolean,
  n: number,
  t: number,
  ls: number,
  ps: number,
  m: number,
  b: number,
  ldb: number,
): void {
  if (n <= 0 || m <= 0) return;
  if (n <= BASE) return trsmRows(w, lower, unit, n, t, ls, ps, m, b, ldb);
  const h = n >> 1, t22 = t + h * ls + h * ps, b2 = b + h * ldb;
  if (lower) {
    trsm(w, lower, unit, h, t, ls, ps, m, b, ldb);
    dgemm(w, true, n - h, m, h, t + h * ls, ls, ps, b, ldb, b2, ldb); // B₂ −= T₂₁ X₁
    trsm(w, lower, unit, n - h, t22, ls, ps, m, b2, ldb);
  } else {
    trsm(w, lower, unit, n - h, t22, ls, ps, m, b2, ldb);
    dgemm(w, true, h, m, n - h, t + h * ps, ls, ps, b2, ldb, b, ldb); // B₁ −= T₁₂ X₂
    trsm(w, lower, unit, h, t, ls, ps, m, b, ldb);
  }
}

/** `trsm` by substitution, one row operation per entry of T (small triangles). */
function trsmRows(
  w: Float64Array,
  lower: boolean,
  unit: boolean,
  n: number,
  t: number,
  ls: number,
  ps: number,
  m: number,
  b: number,
  ldb: number,
): void {
  for (let s = 0; s < n; s++) {
    const i = lower ? s : n - 1 - s, bi = b + i * ldb;
    const lo = lower ? 0 : i + 1, hi = lower ? i : n;
    for (let p = lo; p < hi; p++) {
      const v = w[t + i * ls + p * ps], bp = b + p * ldb;
      for (let c = 0; c < m; c++) w[bi + c] -= v * w[bp + c];
    }
    if (!unit) {
      const d = w[t + i * ls + i * ps];
      for (let c = 0; c < m; c++) w[bi + c] /= d;
    }
  }
}

/** Rows of C per product in `syrkUpper` (the blocks below the diagonal are skipped). */
const SYRK_ROWS = 32;

/**
 * `C −= AᵀA` on the upper triangle of C (n×n at `c`, row stride `ldc`; entries below the
 * diagonal may be overwritten with garbage), A k×n at `a` with row stride `lda`.
 */
export function syrkUpper(
  w: Float64Array,
  n: number,
  k: number,
  a: number,
  lda: number,
  c: number,
  ldc: number,
): void {
  for (let i0 = 0; i0 < n; i0 += SYRK_ROWS) {
    const rows = Math.min(SYRK_ROWS, n - i0);
    dgemm(w, true, rows, n - i0, k, a + i0, 1, lda, a + i0, lda, c + i0 * ldc + i0, ldc);
  }
}

/** Tile size of `transposeTriangle` (a tile's rows and columns both stay in cache). */
const TILE = 8;

/**
 * `dst[j·n + i] = src[i·n + j]` for the entries of src's lower triangle (`fromLower`) or upper
 * triangle, diagonal included, tile by tile (a plain column walk with a stride of n·8 bytes
 * misses the cache on every access).
 */
export function transposeTriangle(
  dst: Float64Array,
  src: Float64Array,
  n: number,
  fromLower: boolean,
): void {
  for (let i0 = 0; i0 < n; i0 += TILE) {
    for (let j0 = fromLower ? 0 : i0; j0 < (fromLower ? i0 + 1 : n); j0 += TILE) {
      const i1 = Math.min(n, i0 + TILE), j1 = Math.min(n, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const lo = fromLower ? j0 : Math.max(j0, i), hi = fromLower ? Math.min(j1, i + 1) : j1;
        for (let j = lo; j < hi; j++) dst[j * n + i] = src[i * n + j];
      }
    }
  }
}
