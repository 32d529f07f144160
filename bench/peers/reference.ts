/**
 * Float64 references every peer's result is checked against: plain loops over `Float64Array`s,
 * written from the definitions (no library code), shared by the JavaScript runners (each checks
 * itself) and by `run.ts` (it checks PyTorch's reported losses).
 *
 * Parameters are in PyTorch's layout: dense `w [out, in]`, conv `w [O, C, kh, kw]`, NCHW
 * activations, flatten in (c, h, w) order. Runners whose library uses another layout transpose
 * the same values.
 * @module
 */

/**
 * `A [n, n] @ B [n, n]` for the given rows only (each row `n` values, concatenated), and
 * `Σ_k |A[r,k]·B[k,j]|` for the same entries: the scale a float32 dot product's error lives on.
 */
export function matmulRows(
  a: Float32Array,
  b: Float32Array,
  n: number,
  rows: number[],
): [Float64Array, Float64Array] {
  const out = new Float64Array(rows.length * n), abs = new Float64Array(rows.length * n);
  rows.forEach((r, ri) => {
    for (let kk = 0; kk < n; kk++) {
      const av = a[r * n + kk];
      for (let j = 0; j < n; j++) {
        out[ri * n + j] += av * b[kk * n + j];
        abs[ri * n + j] += Math.abs(av * b[kk * n + j]);
      }
    }
  });
  return [out, abs];
}

/** The fused chain `relu(x·1.5 + 0.5)·sigmoid(x) − tanh(x)·0.5`, element by element. */
export function chain(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = Math.max(v * 1.5 + 0.5, 0) / (1 + Math.exp(-v)) -
      Math.tanh(v) * 0.5;
  }
  return out;
}

/** Softmax of each row of `x [rows, cols]`. */
export function softmaxRows(
  x: Float32Array,
  rows: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, s = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    for (let c = 0; c < cols; c++) {
      s += out[r * cols + c] = Math.exp(x[r * cols + c] - m);
    }
    for (let c = 0; c < cols; c++) out[r * cols + c] /= s;
  }
  return out;
}

/** A dense layer's parameters, PyTorch layout. */
export interface Dense {
  w: Float64Array; // [out, in]
  b: Float64Array; // [out]
  inF: number;
  outF: number;
}

function dense(x: Float64Array, batch: number, p: Dense): Float64Array {
  const y = new Float64Array(batch * p.outF);
  for (let i = 0; i < batch; i++) {
    for (let o = 0; o < p.outF; o++) {
      let s = p.b[o];
      for (let j = 0; j < p.inF; j++) {
        s += x[i * p.inF + j] * p.w[o * p.inF + j];
      }
      y[i * p.outF + o] = s;
    }
  }
  return y;
}

/** Gradients of a dense layer given `dy`; returns `dx` and adds `lr·dW`, `lr·db` into `p`. */
function denseBackSgd(
  x: Float64Array,
  dy: Float64Array,
  batch: number,
  p: Dense,
  lr: number,
) {
  const dx = new Float64Array(batch * p.inF);
  const dw = new Float64Array(p.w.length), db = new Float64Array(p.outF);
  for (let i = 0; i < batch; i++) {
    for (let o = 0; o < p.outF; o++) {
      const g = dy[i * p.outF + o];
      db[o] += g;
      for (let j = 0; j < p.inF; j++) {
        dw[o * p.inF + j] += g * x[i * p.inF + j];
        dx[i * p.inF + j] += g * p.w[o * p.inF + j];
      }
    }
  }
  for (let i = 0; i < dw.length; i++) p.w[i] -= lr * dw[i];
  for (let i = 0; i < db.length; i++) p.b[i] -= lr * db[i];
  return dx;
}

const relu = (x: Float64Array) => x.map((v) => Math.max(v, 0));
/** `dy · [pre > 0]` (torch's relu derivative is 0 at 0). */
const reluBack = (dy: Float64Array, pre: Float64Array) => dy.map((g, i) => (pre[i] > 0 ? g : 0));

/** Mean softmax cross-entropy of `z [batch, classes]` and its gradient. */
function crossEntropy(
  z: Float64Array,
  y: Int32Array,
  classes: number,
): [number, Float64Array] {
  const batch = y.length, dz = new Float64Array(z.length);
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const row = z.subarray(i * classes, (i + 1) * classes);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    loss += Math.log(s) + m - row[y[i]];
    for (let c = 0; c < classes; c++) {
      dz[i * classes + c] = (Math.exp(row[c] - m) / s - (c === y[i] ? 1 : 0)) /
        batch;
    }
  }
  return [loss / batch, dz];
}

const widen = (
  p: { w: Float32Array; b: Float32Array; inF: number; outF: number },
): Dense => ({
  w: Float64Array.from(p.w),
  b: Float64Array.from(p.b),
  inF: p.inF,
  outF: p.outF,
});

/** Float32 parameters of a dense layer (PyTorch layout), as the workloads generate them. */
export interface DenseF32 {
  w: Float32Array;
  b: Float32Array;
  inF: number;
  outF: number;
}

/**
 * Losses of the MLP (dense–relu–dense–relu–dense, mean cross-entropy) before and after one SGD
 * step of rate `lr`: the first two losses a correct training loop reports.
 */
export function mlpLosses(
  x: Float32Array,
  y: Int32Array,
  layers: DenseF32[],
  lr: number,
): [number, number] {
  const ps = layers.map(widen), batch = y.length;
  const forward = () => {
    const acts: Float64Array[] = [Float64Array.from(x)],
      pres: Float64Array[] = [];
    ps.forEach((p, i) => {
      const z = dense(acts[i], batch, p);
      pres.push(z);
      acts.push(i < ps.length - 1 ? relu(z) : z);
    });
    return { acts, pres };
  };
  const f1 = forward();
  const [loss1, dz] = crossEntropy(
    f1.acts[ps.length],
    y,
    ps[ps.length - 1].outF,
  );
  let g = dz;
  for (let i = ps.length - 1; i >= 0; i--) {
    if (i < ps.length - 1) g = reluBack(g, f1.pres[i]);
    g = denseBackSgd(f1.acts[i], g, batch, ps[i], lr);
  }
  const f2 = forward();
  return [
    loss1,
    crossEntropy(f2.acts[ps.length], y, ps[ps.length - 1].outF)[0],
  ];
}

/** A valid 3×3 convolution's parameters (`w [O, C, 3, 3]`, `b [O]`) and input size. */
export interface Conv3 {
  w: Float64Array;
  b: Float64Array;
  c: number;
  o: number;
}

/** Valid 3×3 convolution (cross-correlation) of `x [batch, c, h, h]`. */
function conv3(
  x: Float64Array,
  batch: number,
  h: number,
  p: Conv3,
): Float64Array {
  const ho = h - 2, out = new Float64Array(batch * p.o * ho * ho);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < p.o; o++) {
      const y = out.subarray(
        (n * p.o + o) * ho * ho,
        (n * p.o + o + 1) * ho * ho,
      );
      y.fill(p.b[o]);
      for (let c = 0; c < p.c; c++) {
        const xin = (n * p.c + c) * h * h;
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 3; j++) {
            const wv = p.w[((o * p.c + c) * 3 + i) * 3 + j];
            for (let r = 0; r < ho; r++) {
              const xr = xin + (r + i) * h + j;
              for (let s = 0; s < ho; s++) y[r * ho + s] += wv * x[xr + s];
            }
          }
        }
      }
    }
  }
  return out;
}

/** Backward of `conv3` given `dy`: SGD-updates `p`, returns `dx` when `wantDx`. */
function conv3BackSgd(
  x: Float64Array,
  dy: Float64Array,
  batch: number,
  h: number,
  p: Conv3,
  lr: number,
  wantDx: boolean,
): Float64Array | null {
  const ho = h - 2,
    dw = new Float64Array(p.w.length),
    db = new Float64Array(p.o);
  const dx = wantDx ? new Float64Array(x.length) : null;
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < p.o; o++) {
      const g = dy.subarray(
        (n * p.o + o) * ho * ho,
        (n * p.o + o + 1) * ho * ho,
      );
      for (const v of g) db[o] += v;
      for (let c = 0; c < p.c; c++) {
        const xin = (n * p.c + c) * h * h;
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 3; j++) {
            const wi = ((o * p.c + c) * 3 + i) * 3 + j, wv = p.w[wi];
            let s = 0;
            for (let r = 0; r < ho; r++) {
              const xr = xin + (r + i) * h + j;
              for (let q = 0; q < ho; q++) {
                s += g[r * ho + q] * x[xr + q];
                if (dx) dx[xr + q] += g[r * ho + q] * wv;
              }
            }
            dw[wi] += s;
          }
        }
      }
    }
  }
  for (let i = 0; i < dw.length; i++) p.w[i] -= lr * dw[i];
  for (let i = 0; i < db.length; i++) p.b[i] -= lr * db[i];
  return dx;
}

/** 2×2 max pooling, stride 2, of `x [batch·ch, h, h]`; `arg` gets each window's first maximum. */
function maxPool2(
  x: Float64Array,
  planes: number,
  h: number,
): [Float64Array, Int32Array] {
  const ho = h >> 1,
    out = new Float64Array(planes * ho * ho),
    arg = new Int32Array(out.length);
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < ho; r++) {
      for (let s = 0; s < ho; s++) {
        let best = -Infinity, at = 0;
        for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const idx = p * h * h + (2 * r + i) * h + 2 * s + j;
          if (x[idx] > best) [best, at] = [x[idx], idx];
        }
        out[(p * ho + r) * ho + s] = best;
        arg[(p * ho + r) * ho + s] = at;
      }
    }
  }
  return [out, arg];
}

/** Float32 parameters of a 3×3 conv layer (PyTorch layout). */
export interface Conv3F32 {
  w: Float32Array;
  b: Float32Array;
  c: number;
  o: number;
}

/**
 * Losses of the CNN (conv3×3 C→32 – relu – conv3×3 32→64 – relu – maxPool 2 – flatten – dense
 * 10, valid padding, mean cross-entropy) on `x [batch, 1, h, h]` before and after one SGD step.
 */
export function cnnLosses(
  x: Float32Array,
  y: Int32Array,
  h: number,
  conv1: Conv3F32,
  conv2: Conv3F32,
  fc: DenseF32,
  lr: number,
): [number, number] {
  const batch = y.length;
  const c1 = {
    ...conv1,
    w: Float64Array.from(conv1.w),
    b: Float64Array.from(conv1.b),
  };
  const c2 = {
    ...conv2,
    w: Float64Array.from(conv2.w),
    b: Float64Array.from(conv2.b),
  };
  const d = widen(fc), x64 = Float64Array.from(x), h1 = h - 2, h2 = h - 4;
  const forward = () => {
    const z1 = conv3(x64, batch, h, c1), a1 = relu(z1);
    const z2 = conv3(a1, batch, h1, c2), a2 = relu(z2);
    const [pooled, arg] = maxPool2(a2, batch * c2.o, h2);
    const logits = dense(pooled, batch, d);
    return { z1, a1, z2, pooled, arg, logits };
  };
  const f = forward();
  const [loss1, dz] = crossEntropy(f.logits, y, d.outF);
  const dp = denseBackSgd(f.pooled, dz, batch, d, lr);
  const da2 = new Float64Array(f.z2.length);
  dp.forEach((g, i) => da2[f.arg[i]] += g);
  const da1 = conv3BackSgd(f.a1, reluBack(da2, f.z2), batch, h1, c2, lr, true)!;
  conv3BackSgd(x64, reluBack(da1, f.z1), batch, h, c1, lr, false);
  return [loss1, crossEntropy(forward().logits, y, d.outF)[0]];
}
