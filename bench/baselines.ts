/**
 * Naive plain-`Float32Array` reference implementations that the benches compare Kiln against
 * (each Kiln bench's `baseline: true` entry), plus a seeded input generator. They are written
 * the obvious way on purpose: what a user, or an unfused eager library, would do by hand.
 * @module
 */

/**
 * A deterministic `Float32Array` of `n` values in `[-1, 1)` (mulberry32), so every bench and
 * its baseline see the same inputs on every run.
 */
export function seededFloat32(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** `[m, k] @ [k, n]` row-major, the textbook i-j-k triple loop. */
export function naiveMatmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
      out[i * n + j] = acc;
    }
  }
  return out;
}

/**
 * `relu(x*1.5+0.5)*sigmoid(x) - tanh(x)*0.5` op by op, one temporary `Float32Array` and one
 * pass over memory per op (8 ops): what an eager library without fusion does. Each op is its
 * own plain loop (no per-element callbacks), as an eager library's kernels would be.
 */
export function chainOpByOp(x: Float32Array): Float32Array {
  const n = x.length;
  const t1 = new Float32Array(n);
  for (let i = 0; i < n; i++) t1[i] = x[i] * 1.5;
  const t2 = new Float32Array(n);
  for (let i = 0; i < n; i++) t2[i] = t1[i] + 0.5;
  const t3 = new Float32Array(n);
  for (let i = 0; i < n; i++) t3[i] = Math.max(t2[i], 0);
  const t4 = new Float32Array(n);
  for (let i = 0; i < n; i++) t4[i] = 1 / (1 + Math.exp(-x[i]));
  const t5 = new Float32Array(n);
  for (let i = 0; i < n; i++) t5[i] = t3[i] * t4[i];
  const t6 = new Float32Array(n);
  for (let i = 0; i < n; i++) t6[i] = Math.tanh(x[i]);
  const t7 = new Float32Array(n);
  for (let i = 0; i < n; i++) t7[i] = t6[i] * 0.5;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = t5[i] - t7[i];
  return out;
}

/** The same chain hand-fused into one loop: the best plain JS can do, for reference. */
export function chainHandFused(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = Math.max(v * 1.5 + 0.5, 0) * (1 / (1 + Math.exp(-v))) - Math.tanh(v) * 0.5;
  }
  return out;
}

/** Row softmax of a row-major `[rows, cols]` matrix: max, exp-and-sum, divide. */
export function naiveSoftmaxRows(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[o + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(x[o + c] - m);
      out[o + c] = e;
      s += e;
    }
    for (let c = 0; c < cols; c++) out[o + c] /= s;
  }
  return out;
}

/** Largest absolute difference between two arrays (inputs' sanity check before benching). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
