// The blocked k.linalg kernels at sizes that cross their block boundaries (recursion halves at
// 16 columns, QR panels of 32, syrk strips of 32): n = 1, 7, 17, 33, 64, 65, 130, float64 on
// the CPU, with the WebAssembly SIMD products and with the JavaScript fallback. References are
// closed forms built in float64 JavaScript: matrices made from known factors (A = L₀L₀ᵀ has the
// Cholesky factor L₀; A = L U has determinant Π uᵢᵢ; A = H₁ diag(w) H₂ with Householder
// reflections has eigen/singular values w), solutions recovered from B = A X, and the
// reconstructions and orthogonality of the factors. Also the float64 kernels of dgemm.ts
// against plain loops: the product (every edge-tile shape, strided, adding and subtracting)
// and the row kernels (rotation, dot, axpy) at lengths around the 4-wide SIMD loop.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import {
  daxpy,
  ddot,
  dgemm,
  dgemmVariant,
  drot,
  dWorkspace,
  setDgemmJs,
} from "../core/backends/cpu/wasm/dgemm.ts";
import { allClose, rng } from "./_util.ts";

const SIZES = [1, 7, 17, 33, 64, 65, 130];
const o = { dtype: "float64" as const, device: "cpu" };

/** Uniform [-1, 1) values from a seeded generator (independent of Kiln's PRNG). */
function randArr(size: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: size }, () => r() * 2 - 1);
}
/** C = A·B for row-major A (m×p), B (p×n). */
function mul(a: Float64Array, b: Float64Array, m: number, p: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < p; r++) {
      const x = a[i * p + r];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[r * n + j];
    }
  }
  return c;
}
function tr(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}
/** The Householder reflection I − 2vvᵀ/vᵀv (n×n), orthogonal and symmetric. */
function householder(n: number, seed: number): Float64Array {
  const v = randArr(n, seed), h = new Float64Array(n * n);
  const vv = v.reduce((s, x) => s + x * x, 0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) h[i * n + j] = (i === j ? 1 : 0) - 2 * v[i] * v[j] / vv;
  }
  return h;
}
const eye = (n: number) => Float64Array.from({ length: n * n }, (_, i) => i % (n + 1) ? 0 : 1);
const T = (a: Float64Array, shape: number[]) => k.tensor(a, o).reshape(shape);
const get = (t: k.Tensor) => t.dataSync() as Float64Array;

/** Runs `body` with the SIMD products and with the JavaScript loops. */
function bothPaths(name: string, body: (n: number, path: string) => void): void {
  for (const js of [false, true]) {
    Deno.test(`linalg blocked: ${name} (${js ? "JavaScript" : "wasm"} products)`, () => {
      setDgemmJs(js);
      try {
        for (const n of SIZES) body(n, `n=${n} ${js ? "js" : "wasm"}`);
      } finally {
        setDgemmJs(false);
      }
    });
  }
}

bothPaths("solve, inv and slogdet of A = L U", (n, at) => {
  // L unit lower, U upper with known diagonal: det A = Π uᵢᵢ; rows shuffled to force pivoting.
  // Off-diagonal entries are O(1/n): random triangular matrices with O(1) entries have condition
  // numbers growing exponentially with n.
  const l = randArr(n * n, n).map((x) => x / n), u = randArr(n * n, n + 1).map((x) => x / n);
  let logdet = 0, sign = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j > i) l[i * n + j] = 0;
      if (j < i) u[i * n + j] = 0;
    }
    l[i * n + i] = 1;
    u[i * n + i] = (i % 3 === 0 ? -1 : 1) * (1 + i / n);
    logdet += Math.log(Math.abs(u[i * n + i]));
    sign *= Math.sign(u[i * n + i]);
  }
  const lu = mul(l, u, n, n, n), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a.set(lu.subarray(i * n, i * n + n), ((i * 5) % n) * n);
  if (n % 5 === 0) a.set(lu); // the shuffle i -> 5i mod n is only a permutation when gcd(5, n) = 1
  const swaps = n % 5 === 0 ? 0 : permParity(n);
  const x = randArr(n * 3, 7 * n), b = mul(a, x, n, n, 3);
  const A = T(a, [n, n]);
  allClose(get(k.linalg.solve(A, T(b, [n, 3]))), x, { rtol: 0, atol: 1e-9 }, `solve ${at}`);
  allClose(get(A.matmul(k.linalg.inv(A))), eye(n), { rtol: 0, atol: 1e-9 }, `A A⁻¹ ${at}`);
  const [s, ld] = k.linalg.slogdet(A).map(get);
  assert.equal(s[0], sign * (swaps % 2 ? -1 : 1), `slogdet sign ${at}`);
  allClose(ld, [logdet], { rtol: 1e-10, atol: 1e-10 }, `slogdet ${at}`);
});

/** Parity of the permutation i -> 5i mod n (rows moved by the shuffle above). */
function permParity(n: number): number {
  const p = Array.from({ length: n }, (_, i) => (i * 5) % n), seen = new Set<number>();
  let swaps = 0;
  for (let i = 0; i < n; i++) {
    let len = 0;
    for (let j = i; !seen.has(j); j = p[j]) seen.add(j), len++;
    if (len) swaps += len - 1;
  }
  return swaps;
}

bothPaths("cholesky of L₀L₀ᵀ is L₀; triangular solves", (n, at) => {
  const l0 = randArr(n * n, 3 * n).map((x) => x * 2 / n); // well conditioned, as above
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) l0[i * n + j] = 0;
    l0[i * n + i] = 1 + Math.abs(l0[i * n + i]);
  }
  const a = mul(l0, tr(l0, n, n), n, n, n);
  allClose(get(k.linalg.cholesky(T(a, [n, n]))), l0, { rtol: 0, atol: 1e-11 }, `chol ${at}`);
  const x = randArr(n * 4, 5 * n);
  for (const lower of [true, false]) {
    for (const transpose of [false, true]) {
      for (const unitDiagonal of [false, true]) {
        const t = lower ? l0.slice() : tr(l0, n, n); // lower or upper triangular
        const used = t.slice(); // op(A) as the solve reads it
        if (unitDiagonal) { for (let i = 0; i < n; i++) used[i * n + i] = 1; }
        const opA = transpose ? tr(used, n, n) : used;
        const b = mul(opA, x, n, n, 4);
        const got = k.linalg.solveTriangular(T(t, [n, n]), T(b, [n, 4]), {
          lower,
          transpose,
          unitDiagonal,
        });
        const what = `trisolve lower=${lower} T=${transpose} unit=${unitDiagonal} ${at}`;
        allClose(get(got), x, { rtol: 0, atol: 1e-8 }, what);
      }
    }
  }
});

bothPaths("qr: Q R = A, QᵀQ = I, R upper", (n, at) => {
  for (const [m, c] of [[n, n], [n + 5, n], [n, n + 5]]) {
    const a = randArr(m * c, m * 31 + c);
    for (const mode of ["reduced", "complete"] as const) {
      const [q, r] = k.linalg.qr(T(a, [m, c]), { mode });
      const qd = get(q), rd = get(r), qc = q.shape[1];
      const what = `${m}x${c} ${mode} ${at}`;
      allClose(mul(qd, rd, m, qc, c), a, { rtol: 0, atol: 1e-12 }, `Q R = A ${what}`);
      allClose(mul(tr(qd, m, qc), qd, qc, m, qc), eye(qc), { rtol: 0, atol: 1e-12 }, what);
      for (let i = 0; i < qc; i++) {
        for (let j = 0; j < Math.min(i, c); j++) assert.equal(rd[i * c + j], 0, `R upper ${what}`);
      }
    }
  }
});

bothPaths("eigh and svd of matrices with known spectra", (n, at) => {
  // A = H diag(w) H: eigenvalues w; B = H₁ diag(s) H₂: singular values |s|.
  const h = householder(n, 11 * n), h2 = householder(n, 13 * n);
  const w = Float64Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (1 + 2 * i) / n);
  const hw = Float64Array.from(h, (x, i) => x * w[i % n]);
  const a = mul(hw, h, n, n, n);
  const [ev, vecs] = k.linalg.eigh(T(a, [n, n]));
  allClose(get(ev), [...w].sort((x, y) => x - y), { rtol: 0, atol: 1e-12 }, `eigh w ${at}`);
  const v = get(vecs);
  allClose(mul(tr(v, n, n), v, n, n, n), eye(n), { rtol: 0, atol: 1e-12 }, `VᵀV ${at}`);
  const evs = get(ev), vl = Float64Array.from(v, (x, i) => x * evs[i % n]);
  allClose(mul(vl, tr(v, n, n), n, n, n), a, { rtol: 0, atol: 1e-12 }, `V Λ Vᵀ ${at}`);
  const b = mul(hw, h2, n, n, n);
  const [u, s, vh] = k.linalg.svd(T(b, [n, n])).map(get);
  const want = [...w].map(Math.abs).sort((x, y) => y - x);
  allClose(s, want, { rtol: 0, atol: 1e-12 }, `svd s ${at}`);
  const us = Float64Array.from(u, (x, i) => x * s[i % n]);
  allClose(mul(us, vh, n, n, n), b, { rtol: 0, atol: 1e-12 }, `U S Vh ${at}`);
  allClose(mul(tr(u, n, n), u, n, n, n), eye(n), { rtol: 0, atol: 1e-12 }, `UᵀU ${at}`);
});

Deno.test("dgemm: every edge tile, strided, add and subtract, against a triple loop; drot, ddot, daxpy", () => {
  assert.ok(dgemmVariant(), "Deno has WebAssembly SIMD");
  for (const js of [false, true]) {
    setDgemmJs(js);
    for (const m of [1, 2, 3, 5, 6, 7, 13]) {
      for (const n of [1, 2, 3, 4, 5, 7, 9]) {
        // Products under 512 multiply-adds run in JS: k = 601, 603 put every edge tile (and the
        // unrolled k loop's tails) in the wasm kernel.
        for (const kk of [1, 3, 5, 601, 603]) {
          for (const sub of [false, true]) {
            const lda = kk + 3, ldb = n + 1, ldc = n + 5;
            const a0 = 7, b0 = a0 + m * lda + 2, c0 = b0 + kk * ldb + 1, size = c0 + m * ldc + 9;
            const w = dWorkspace(size), init = randArr(size, m * 97 + n * 13 + kk);
            w.set(init);
            dgemm(w, sub, m, n, kk, a0, lda, 1, b0, ldb, c0, ldc);
            const want = init.slice();
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let r = 0; r < kk; r++) s += init[a0 + i * lda + r] * init[b0 + r * ldb + j];
                want[c0 + i * ldc + j] += sub ? -s : s;
              }
            }
            allClose(w.subarray(0, size), want, { rtol: 1e-13, atol: 1e-13 }, `${m}x${n}x${kk}`);
          }
        }
      }
    }
  }
  setDgemmJs(false);
  for (const len of [0, 1, 3, 16, 17, 18, 19, 20, 37]) { // rows under 16 stay in JS
    const w = dWorkspace(128), init = randArr(128, len);
    w.set(init);
    drot(w, 2, 60, len, 0.6, 0.8);
    const want = init.slice();
    let dot = 0;
    for (let i = 0; i < len; i++) {
      const x = init[2 + i], y = init[60 + i];
      want[2 + i] = 0.6 * x - 0.8 * y;
      want[60 + i] = 0.8 * x + 0.6 * y;
      dot += want[2 + i] * want[60 + i];
    }
    allClose(w.subarray(0, 128), want, { rtol: 0, atol: 1e-15 }, `drot ${len}`);
    allClose([ddot(w, 2, 60, len)], [dot], { rtol: 1e-14, atol: 1e-15 }, `ddot ${len}`);
    daxpy(w, 2, 60, len, -1.5);
    for (let i = 0; i < len; i++) want[60 + i] += -1.5 * want[2 + i];
    allClose(w.subarray(0, 128), want, { rtol: 0, atol: 1e-15 }, `daxpy ${len}`);
  }
});

Deno.test("linalg blocked: svd and eigh scale with their input, near under- and overflow", () => {
  // The reflections' norms take a fast sum of squares, and Math.hypot where that sum could
  // overflow or underflow: c·A must give c times A's singular values and eigenvalues.
  const n = 40, a = randArr(n * n, 99), sym = mul(a, tr(a, n, n), n, n, n);
  const s1 = get(k.linalg.svd(T(a, [n, n]), { computeUv: false }));
  const w1 = get(k.linalg.eigh(T(sym, [n, n]))[0]);
  for (const c of [1e-200, 1e-160, 1e160, 1e200]) {
    const sc = get(k.linalg.svd(T(a.map((x) => x * c), [n, n]), { computeUv: false }));
    allClose(sc.map((x) => x / c), s1, { rtol: 1e-12, atol: 0 }, `svd scaled by ${c}`);
    const cs = Math.sqrt(c); // keep c·AAᵀ finite
    const wc = get(k.linalg.eigh(T(sym.map((x) => x * cs), [n, n]))[0]);
    allClose(wc.map((x) => x / cs), w1, { rtol: 1e-12, atol: 1e-12 }, `eigh scaled by ${cs}`);
  }
});
