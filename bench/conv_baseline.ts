/**
 * Naive 2-D convolution in plain `Float32Array` loops (NCHW, torch's cross-correlation, zero
 * padding, stride, no dilation or groups): forward, input gradient and weight gradient, the
 * obvious seven nested loops each. The reference `bench/cnn_bench.ts` measures Kiln against
 * and checks Kiln's values with.
 * @module
 */

/** Shapes of one convolution: `x [n, c, h, w]`, `w [o, c, kh, kw]`. */
export interface ConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
}

/** Output height and width. */
export function convOut(s: ConvShape): [number, number] {
  return [
    Math.floor((s.h + 2 * s.pad - s.kh) / s.stride) + 1,
    Math.floor((s.w + 2 * s.pad - s.kw) / s.stride) + 1,
  ];
}

/** Multiply-adds of the forward pass (each backward pass costs the same). */
export function convMacs(s: ConvShape): number {
  const [ho, wo] = convOut(s);
  return s.n * s.o * ho * wo * s.c * s.kh * s.kw;
}

/**
 * `conv2d(x, k)` as `y [n, o, ho, wo]`. The loops are written out in each function rather than
 * shared through a callback, as a user would write them (a callback per multiply-add would
 * measure the call, not the loop).
 */
export function naiveConv(x: Float32Array, k: Float32Array, s: ConvShape): Float32Array {
  const [ho, wo] = convOut(s);
  const y = new Float32Array(s.n * s.o * ho * wo);
  for (let b = 0; b < s.n; b++) {
    for (let o = 0; o < s.o; o++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          let acc = 0;
          for (let c = 0; c < s.c; c++) {
            for (let p = 0; p < s.kh; p++) {
              const r = i * s.stride + p - s.pad;
              if (r < 0 || r >= s.h) continue;
              for (let q = 0; q < s.kw; q++) {
                const col = j * s.stride + q - s.pad;
                if (col < 0 || col >= s.w) continue;
                acc += x[((b * s.c + c) * s.h + r) * s.w + col] *
                  k[((o * s.c + c) * s.kh + p) * s.kw + q];
              }
            }
          }
          y[((b * s.o + o) * ho + i) * wo + j] = acc;
        }
      }
    }
  }
  return y;
}

/** Gradients of `sum(conv(x, k) * dy)` with respect to `x` and to `k`. */
export function naiveConvGrads(
  x: Float32Array,
  k: Float32Array,
  dy: Float32Array,
  s: ConvShape,
): { dx: Float32Array; dk: Float32Array } {
  const [ho, wo] = convOut(s);
  const dx = new Float32Array(x.length), dk = new Float32Array(k.length);
  for (let b = 0; b < s.n; b++) {
    for (let o = 0; o < s.o; o++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const g = dy[((b * s.o + o) * ho + i) * wo + j];
          for (let c = 0; c < s.c; c++) {
            for (let p = 0; p < s.kh; p++) {
              const r = i * s.stride + p - s.pad;
              if (r < 0 || r >= s.h) continue;
              for (let q = 0; q < s.kw; q++) {
                const col = j * s.stride + q - s.pad;
                if (col < 0 || col >= s.w) continue;
                const xi = ((b * s.c + c) * s.h + r) * s.w + col;
                const ki = ((o * s.c + c) * s.kh + p) * s.kw + q;
                dx[xi] += g * k[ki];
                dk[ki] += g * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dk };
}
