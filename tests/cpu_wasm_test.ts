/**
 * The CPU backend's WebAssembly SIMD matmul: the binary encoder, the kernel against a float64
 * reference (every edge-tile combination, strided, transposed, flipped and broadcast operands),
 * and its use by `k.matmul` (fused epilogues, batches, gradients) next to the JS tiles.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { assembleModule, sleb, uleb } from "../core/backends/cpu/wasm/assembler.ts";
import { buildSgemm } from "../core/backends/cpu/wasm/sgemm_kernel.ts";
import {
  sgemm,
  sgemmAvailable,
  sgemmStats,
  sgemmVariant,
} from "../core/backends/cpu/wasm/sgemm.ts";
import { setWasmContractions, WASM_MIN_WORK } from "../core/backends/cpu/matmul.ts";
import { allClose, F32_TOL, rng } from "./_util.ts";

const simd = sgemmAvailable();
const ignore = !simd;

Deno.test("wasm assembler: LEB128 encodings", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(0), [0]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
});

Deno.test("wasm sgemm: this runtime has WebAssembly SIMD (Deno does)", () => {
  assert.ok(simd);
  assert.ok(sgemmVariant()!.rows >= 4);
});

/** One operand layout: element (a, b) of an `n0×n1` matrix at `off + a·s0 + b·s1`. */
interface Layout {
  buf: Float32Array;
  off: number;
  s0: number;
  s1: number;
}

/**
 * A random `n0×n1` operand stored in one of several layouts: row-major, transposed, flipped
 * along either axis (negative strides), padded rows, or broadcast along an axis (stride 0).
 */
function operand(n0: number, n1: number, kind: number, next: () => number): Layout {
  const pad = 3, rowLen = n1 + 2;
  const buf = Float32Array.from({ length: pad + n0 * rowLen * 2 + pad }, () => next() * 2 - 1);
  switch (kind) {
    case 0: // row-major, contiguous
      return { buf, off: pad, s0: n1, s1: 1 };
    case 1: // transposed (column-major)
      return { buf, off: pad, s0: 1, s1: n0 };
    case 2: // rows padded to n1 + 2
      return { buf, off: pad, s0: rowLen, s1: 1 };
    case 3: // flipped rows
      return { buf, off: pad + (n0 - 1) * n1, s0: -n1, s1: 1 };
    case 4: // flipped columns
      return { buf, off: pad + n1 - 1, s0: n1, s1: -1 };
    case 5: // broadcast along axis 0
      return { buf, off: pad, s0: 0, s1: 1 };
    default: // broadcast along axis 1
      return { buf, off: pad, s0: 1, s1: 0 };
  }
}

const at = (l: Layout, a: number, b: number) => l.buf[l.off + a * l.s0 + b * l.s1];

/** Runs the kernel on layouts A (m×k) and B (k×n); returns a copy of C. */
function run(m: number, n: number, K: number, A: Layout, B: Layout): Float32Array {
  return sgemm(m, n, K, A.buf, A.off, A.s0, A.s1, B.buf, B.off, B.s1, B.s0).slice();
}

const dims = fc.oneof(
  fc.integer({ min: 1, max: 70 }),
  fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 17, 64, 65),
);

Deno.test({
  name: "wasm sgemm: random shapes and layouts match a float64 reference within K·ulp bounds",
  ignore,
  fn() {
    fc.assert(
      fc.property(
        dims,
        dims,
        dims,
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer(),
        (m, n, K, ka, kb, seed) => {
          const next = rng(seed);
          const A = operand(m, K, ka, next), B = operand(K, n, kb, next);
          const C = run(m, n, K, A, B);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let exact = 0, mag = 0;
              for (let r = 0; r < K; r++) {
                const p = at(A, i, r) * at(B, r, j);
                exact += p;
                mag += Math.abs(p);
              }
              // Sequential float32 accumulation: |error| <= (K+1)·u·Σ|x·y|, u = 2^-24.
              const bound = (K + 2) * 2 ** -24 * mag + 1e-30;
              const err = Math.abs(C[i * n + j] - exact);
              if (!(err <= bound)) {
                throw new Error(
                  `C[${i},${j}] of ${m}x${K}·${K}x${n} (layouts ${ka},${kb}): ${
                    C[i * n + j]
                  } vs ${exact}, |error| ${err} > ${bound}`,
                );
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  },
});

Deno.test({
  name: "wasm sgemm: an element depends only on its row and column, not on its tile",
  ignore,
  fn() {
    // The 6×8 / 4-wide / 1-wide tiles and the row strips all apply the same f32x4 operations
    // in the same order, so an element equals the 1×1 product of its row and column bit for bit.
    fc.assert(
      fc.property(dims, dims, dims, fc.integer(), (m, n, K, seed) => {
        const next = rng(seed);
        const A = operand(m, K, 0, next), B = operand(K, n, 0, next);
        const C = run(m, n, K, A, B);
        for (let t = 0; t < 6; t++) {
          const i = Math.floor(next() * m), j = Math.floor(next() * n);
          const row: Layout = { ...A, off: A.off + i * A.s0 };
          const col: Layout = { ...B, off: B.off + j * B.s1 };
          const one = run(1, 1, K, row, col)[0];
          if (!Object.is(one, C[i * n + j])) {
            throw new Error(`${m}x${K}·${K}x${n}: C[${i},${j}] = ${C[i * n + j]}, 1×1: ${one}`);
          }
        }
      }),
      { numRuns: 100 },
    );
  },
});

Deno.test({
  name: "wasm sgemm: large products, several reduction blocks, memory growth",
  ignore,
  fn() {
    const next = rng(7);
    // K beyond one reduction block (256 steps) continues from C's partial sums.
    const shapes = [[300, 200, 150], [5, 3000, 40], [1, 1, 20000], [37, 29, 600], [13, 70, 513]];
    for (const [m, n, K] of shapes) {
      const A = operand(m, K, 0, next), B = operand(K, n, 1, next);
      const C = run(m, n, K, A, B);
      for (let t = 0; t < 50; t++) {
        const i = Math.floor(next() * m), j = Math.floor(next() * n);
        let s = 0, mag = 0;
        for (let r = 0; r < K; r++) {
          s += at(A, i, r) * at(B, r, j);
          mag += Math.abs(at(A, i, r) * at(B, r, j));
        }
        assert.ok(Math.abs(C[i * n + j] - s) <= (K + 2) * 2 ** -24 * mag, `${m}x${n}x${K}`);
        if (t < 5) {
          const row: Layout = { ...A, off: A.off + i * A.s0 };
          const col: Layout = { ...B, off: B.off + j * B.s1 };
          assert.ok(Object.is(run(1, 1, K, row, col)[0], C[i * n + j]), `${m}x${n}x${K} 1×1`);
        }
      }
    }
  },
});

Deno.test({
  name: "wasm sgemm: the mul + add variant (no relaxed SIMD) equals sequential float32 sums",
  ignore,
  fn() {
    // Without FMA each step rounds the product, then the sum: exactly what Math.fround gives.
    for (const rows of [4, 6]) {
      const bytes = assembleModule([
        { name: "sgemm", body: buildSgemm({ rows, fma: false, unroll: 4, kBlock: 256 }) },
      ]);
      const memory = new WebAssembly.Memory({ initial: 1 });
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const kernel = inst.exports.sgemm as (...args: number[]) => void;
      const next = rng(rows);
      for (const [m, n, K] of [[1, 1, 1], [7, 13, 5], [rows + 3, 21, 300], [2, 9, 257]]) {
        const a = Float32Array.from({ length: m * K }, () => next() * 2 - 1);
        const b = Float32Array.from({ length: K * n }, () => next() * 2 - 1);
        const need = 4 * (m * K + K * n + m * n);
        const have = memory.buffer.byteLength;
        if (need > have) memory.grow(Math.ceil((need - have) / 65536));
        const f32 = new Float32Array(memory.buffer);
        f32.set(a, 0);
        f32.set(b, m * K);
        const cAt = m * K + K * n;
        f32.fill(0, cAt, cAt + m * n);
        kernel(0, 4 * K, 4, 4 * m * K, 4 * n, 4 * cAt, m, n, K);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let r = 0; r < K; r++) {
              s = Math.fround(s + Math.fround(a[i * K + r] * b[r * n + j]));
            }
            assert.ok(
              Object.is(f32[cAt + i * n + j], s),
              `${rows} rows, ${m}x${n}x${K} [${i},${j}]`,
            );
          }
        }
      }
    }
  },
});

/** Runs `f` with the wasm path off, then on; returns both results and the wasm call count. */
async function bothPaths(f: () => k.Tensor): Promise<[Float32Array, Float32Array, number]> {
  setWasmContractions(false);
  const before = sgemmStats.calls;
  let js: Float32Array;
  try {
    js = await f().data() as Float32Array;
    assert.equal(sgemmStats.calls, before, "the JS tiles must not call the wasm kernel");
  } finally {
    setWasmContractions(true);
  }
  const wasm = await f().data() as Float32Array;
  return [js, wasm, sgemmStats.calls - before];
}

/** A realized float32 CPU tensor of uniform values in [-scale, scale). */
function cpu(shape: number[], seed: number, scale = 1): k.Tensor {
  const next = rng(seed), n = shape.reduce((a, d) => a * d, 1);
  const data = Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
  return k.tensor(data, { shape, device: "cpu" });
}

Deno.test({
  name: "wasm matmul: k.matmul with a fused bias + relu epilogue goes through wasm",
  ignore,
  async fn() {
    const x = cpu([37, 50], 1), w = cpu([50, 29], 2), b = cpu([29], 3);
    const f = () => k.relu(k.matmul(x, w).add(b));
    assert.equal(k.schedule(f()).length, 1, "matmul + bias + relu stay one kernel");
    const [js, wasm, calls] = await bothPaths(f);
    assert.equal(calls, 1);
    allClose(wasm, js, F32_TOL.cpu);
    // The epilogue is applied exactly: relu zeros stay exact zeros, positives are acc + b.
    const X = x.dataSync(), W = w.dataSync(), B = b.dataSync();
    const ref = new Float64Array(37 * 29);
    for (let i = 0; i < 37; i++) {
      for (let j = 0; j < 29; j++) {
        let s = 0;
        for (let r = 0; r < 50; r++) s += X[i * 50 + r] * W[r * 29 + j];
        ref[i * 29 + j] = Math.max(0, Math.fround(s) + B[j]);
      }
    }
    allClose(wasm, ref, F32_TOL.cpu);
    assert.ok(wasm.some((v) => v === 0) && wasm.every((v) => v >= 0));
  },
});

Deno.test({
  name: "wasm matmul: transposed operands, batches and broadcast batches match the JS tiles",
  ignore,
  async fn() {
    const cases: [string, () => k.Tensor, number][] = [];
    const a = cpu([40, 33], 4), bt = cpu([45, 33], 5), at = cpu([33, 40], 6), b = cpu([33, 45], 7);
    const ba = cpu([3, 20, 30], 8), bb = cpu([3, 30, 25], 9), w = cpu([30, 25], 10);
    cases.push(["x @ y.T", () => k.matmul(a, bt.T), 1]);
    cases.push(["x.T @ y", () => k.matmul(at.T, b), 1]);
    cases.push(["x.T @ y.T", () => k.matmul(at.T, bt.T), 1]);
    cases.push(["batched", () => k.matmul(ba, bb), 3]);
    // b and i index only x: one packed product of M = b·i rows, not one call per b.
    cases.push(["batch x shared weight", () => k.einsum("bij,jk->bik", ba, w).tanh(), 1]);
    cases.push(["flipped", () => k.matmul(k.flip(a, { axis: 1 }), k.flip(b, { axis: 1 })), 1]);
    const v = cpu([100], 11), m = cpu([100, 70], 12);
    cases.push(["vector @ matrix", () => k.matmul(v, m), 1]);
    cases.push(["matrix @ vector", () => k.matmul(m.T, v), 1]);
    for (const [name, f, calls] of cases) {
      const [js, wasm, n] = await bothPaths(f);
      if (calls) assert.equal(n, calls, `${name}: wasm calls`);
      allClose(wasm, js, F32_TOL.cpu, name);
    }
  },
});

Deno.test({
  name: "wasm matmul: MLP gradients (transposed products in the backward pass) match",
  ignore,
  async fn() {
    const x = cpu([64, 48], 13), w1 = cpu([48, 32], 14, 0.2), w2 = cpu([32, 10], 15, 0.2);
    const loss = (p: k.Tensor[]) =>
      k.logSoftmax(k.relu(x.matmul(p[0])).matmul(p[1]), { axis: -1 }).mean();
    for (const i of [0, 1]) {
      const [js, wasm, calls] = await bothPaths(() => k.grad(loss)([w1, w2])[i]);
      assert.ok(calls >= 2, `grad ${i}: ${calls} wasm calls`);
      allClose(wasm, js, F32_TOL.cpu, `grad of w${i + 1}`);
    }
  },
});

Deno.test({
  name: "wasm matmul: only float32 products at least WASM_MIN_WORK large take the wasm path",
  ignore,
  async fn() {
    const calls = async (t: k.Tensor) => {
      const before = sgemmStats.calls;
      await t.data();
      return sgemmStats.calls - before;
    };
    const big = cpu([32, 32], 16), small = cpu([4, 4], 17);
    assert.ok(32 ** 3 >= WASM_MIN_WORK && 4 ** 3 < WASM_MIN_WORK);
    assert.equal(await calls(k.matmul(big, big)), 1);
    assert.equal(await calls(k.matmul(small, small)), 0);
    assert.equal(await calls(k.matmul(big.astype("float64"), big.astype("float64"))), 0);
    assert.equal(await calls(k.matmul(big.astype("float16"), big.astype("float16"))), 0);
    const ints = k.arange(0, 1024, 1, { dtype: "int32", device: "cpu" }).reshape([32, 32]);
    assert.equal(await calls(k.matmul(ints, ints)), 0);
  },
});
