/**
 * Hand-written training step of a ReLU MLP in plain `Float32Array` loops: the baseline the
 * `mlp train step` bench compares Kiln's `valueAndGrad` + SGD against. Forward, softmax
 * cross-entropy, backprop and the SGD update, written the way a careful user would by hand:
 * row-major matrices, the i-k-j loop order (the inner loop streams a row of the right
 * operand), one temporary per intermediate, no SIMD and no workers.
 * @module
 */

/** Parameters of an MLP: `ws[l]` is `[sizes[l], sizes[l+1]]` row-major, `bs[l]` its bias. */
export interface MlpParams {
  readonly sizes: readonly number[];
  readonly ws: readonly Float32Array[];
  readonly bs: readonly Float32Array[];
}

/** `out[m,n] = a[m,k] @ b[k,n]` (i-k-j order). */
function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue; // ReLU activations are sparse
      const r = p * n;
      for (let j = 0; j < n; j++) out[o + j] += av * b[r + j];
    }
  }
  return out;
}

/** `out[k,n] = a[m,k]ᵀ @ g[m,n]` (weight gradient). */
function matmulTA(a: Float32Array, g: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(k * n);
  for (let i = 0; i < m; i++) {
    const gi = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      const o = p * n;
      for (let j = 0; j < n; j++) out[o + j] += av * g[gi + j];
    }
  }
  return out;
}

/** `out[m,k] = g[m,n] @ b[k,n]ᵀ` (input gradient): a dot product per output element. */
function matmulTB(g: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const out = new Float32Array(m * k);
  for (let i = 0; i < m; i++) {
    const gi = i * n;
    for (let p = 0; p < k; p++) {
      const r = p * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += g[gi + j] * b[r + j];
      out[i * k + p] = s;
    }
  }
  return out;
}

/**
 * One SGD step on `x` (`[batch, sizes[0]]`) with integer `labels`: ReLU hidden layers, a linear
 * output layer, mean softmax cross-entropy. Returns the loss (before the update) and the updated
 * parameters (new arrays; the inputs are not modified).
 */
export function mlpTrainStep(
  p: MlpParams,
  x: Float32Array,
  labels: Int32Array,
  lr: number,
): { loss: number; ws: Float32Array[]; bs: Float32Array[] } {
  const B = labels.length, L = p.ws.length, S = p.sizes;
  // Forward: acts[0] = x, acts[l+1] = relu(acts[l] @ W_l + b_l) (no relu on the last layer).
  const acts: Float32Array[] = [x];
  for (let l = 0; l < L; l++) {
    const z = matmul(acts[l], p.ws[l], B, S[l], S[l + 1]);
    const n = S[l + 1], b = p.bs[l];
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < n; j++) {
        const v = z[i * n + j] + b[j];
        z[i * n + j] = l < L - 1 && v < 0 ? 0 : v;
      }
    }
    acts.push(z);
  }
  // Softmax cross-entropy and its gradient with respect to the logits.
  const C = S[L], logits = acts[L];
  const g = new Float32Array(B * C);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    const o = i * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[o + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[o + c] - m);
    const lse = m + Math.log(s);
    loss -= logits[o + labels[i]] - lse;
    for (let c = 0; c < C; c++) g[o + c] = Math.exp(logits[o + c] - lse) / B;
    g[o + labels[i]] -= 1 / B;
  }
  loss /= B;
  // Backward and update, last layer first.
  const ws: Float32Array[] = new Array(L), bs: Float32Array[] = new Array(L);
  let grad: Float32Array = g;
  for (let l = L - 1; l >= 0; l--) {
    const k = S[l], n = S[l + 1];
    const gw = matmulTA(acts[l], grad, B, k, n);
    const gb = new Float32Array(n);
    for (let i = 0; i < B; i++) for (let j = 0; j < n; j++) gb[j] += grad[i * n + j];
    if (l > 0) {
      const gin = matmulTB(grad, p.ws[l], B, n, k);
      const a = acts[l];
      for (let t = 0; t < gin.length; t++) if (a[t] <= 0) gin[t] = 0; // relu'
      grad = gin;
    }
    const w = p.ws[l], b = p.bs[l];
    const nw = new Float32Array(w.length), nb = new Float32Array(n);
    for (let t = 0; t < w.length; t++) nw[t] = w[t] - lr * gw[t];
    for (let j = 0; j < n; j++) nb[j] = b[j] - lr * gb[j];
    ws[l] = nw;
    bs[l] = nb;
  }
  return { loss, ws, bs };
}
