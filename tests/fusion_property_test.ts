// Fusion must never change values: a random program realized as one lazy graph equals the
// same program realized op by op (every intermediate materialized).
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { DEVICES, hasFloat64 } from "./_util.ts";

type Step = (x: k.Tensor, other: k.Tensor) => k.Tensor;

const STEPS: Record<string, Step> = {
  tanh: (x) => k.tanh(x),
  sigmoid: (x) => k.sigmoid(x),
  relu: (x) => k.relu(x),
  sinAbs: (x) => k.sin(x).abs(),
  expClip: (x) => k.exp(k.clip(x, -5, 5)),
  addOther: (x, o) => x.add(o),
  mulRow: (x, o) => x.mul(o.slice([[0, 1]])),
  subColMax: (x) => x.sub(x.max({ axis: 0, keepdims: true })),
  divRowSum: (x) => x.div(x.abs().sum({ axis: 1, keepdims: true }).add(1)),
  flip: (x) => k.flip(x, { axis: 1 }),
  transposeTwice: (x) => k.transpose(k.transpose(x).mul(2)),
  reshapeRound: (x) => k.reshape(k.reshape(x, [-1]).add(0.5), x.shape),
  padSlice: (x) =>
    k.slice(k.pad(x, [[1, 2], [2, 1]], { value: 3 }).mul(0.5), [[1, 1 + x.shape[0]], [
      2,
      2 + x.shape[1],
    ]]),
  matmulSquare: (x, o) => k.matmul(x, k.transpose(o).matmul(o).mul(0.1)),
  softmax: (x) => k.softmax(x, { axis: -1 }),
  cumsum: (x) => k.cumsum(x, { axis: 1 }),
  concatSplit: (x, o) => k.split(k.concatenate([x, o], { axis: 0 }), 2, { axis: 0 })[1].add(x),
  whereNeg: (x, o) => k.where(x.less(0), o, x),
};

const names = Object.keys(STEPS);

for (const device of DEVICES) {
  // float64 where the device has it; WebGPU's float32 kernels round every op the same way fused
  // or not, but a kernel boundary may change how a reduction is split, hence the looser bound.
  const f64 = hasFloat64(device);
  const rel = f64 ? 1e-9 : 1e-5;
  Deno.test(`fusion: random programs give the same values fused and op by op [${device}]`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        async (prog, rows, cols, seed) => {
          const mk = (s: number) =>
            k.tensor(
              Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(s + 1.7 * i) * 2),
              { shape: [rows, cols], device, dtype: f64 ? "float64" : "float32" },
            );
          const x0 = mk(seed), other = mk(seed + 99);
          let fused = x0;
          let eager = x0;
          for (const name of prog) {
            fused = STEPS[name](fused, other);
            eager = STEPS[name](eager, other);
            await k.realize(eager);
          }
          const a = await fused.data(), b = await eager.data();
          assert.deepEqual(fused.shape, eager.shape);
          for (let i = 0; i < a.length; i++) {
            const tol = rel * Math.max(1, Math.abs(b[i]));
            assert.ok(
              Math.abs(a[i] - b[i]) <= tol || (Number.isNaN(a[i]) && Number.isNaN(b[i])),
              `${prog}: ${a[i]} vs ${b[i]} at ${i}`,
            );
          }
        },
      ),
      { numRuns: f64 ? 150 : 40 },
    );
  });
}
