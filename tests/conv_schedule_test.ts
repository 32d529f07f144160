/**
 * Kernel budgets of convolutional blocks (as tinygrad's `check_schedule`): exact counts, so a
 * fusion regression fails and so does an improvement until the number is lowered. On the CPU
 * every contraction among them runs on the WebAssembly SIMD kernel (checked via `sgemmStats`).
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { sgemmAvailable, sgemmStats } from "../core/backends/cpu/wasm/sgemm.ts";

const x = k.random.normal(k.random.key(1), [8, 3, 16, 16]);
const w = k.random.normal(k.random.key(2), [16, 3, 3, 3]);
const b = k.random.normal(k.random.key(3), [16]);
const r = k.random.normal(k.random.key(4), [8, 16, 8, 8]);
await k.realize(x, w, b, r);

const block = (x: k.Tensor, w: k.Tensor, b: k.Tensor) =>
  k.relu(k.conv(x, w, { padding: 1 }).add(b.reshape([16, 1, 1])));
const grads = (f: (x: k.Tensor, w: k.Tensor, b: k.Tensor) => k.Tensor) =>
  k.grad(f, { argnums: [0, 1, 2] })(x, w, b) as unknown as k.Tensor[];
const kinds = (ts: k.Tensor[]) => k.schedule(...ts).map((s) => String(s).split(" -> ")[0]);

/** Realizes `ts` and returns how many wasm matmul calls that took. */
async function wasmCalls(ts: k.Tensor[]): Promise<number> {
  const before = sgemmStats.calls;
  await k.realize(...ts);
  return sgemmStats.calls - before;
}

const cases: { name: string; make: () => k.Tensor[]; kernels: number; contractions: number }[] = [
  // conv + bias + relu: one kernel, the contraction with its epilogue.
  { name: "relu(conv(x, w) + b)", make: () => [block(x, w, b)], kernels: 1, contractions: 1 },
  // The pool reads the conv's output per window: the conv is materialized once (rule 5), and
  // bias + relu fuse into the pool's loop.
  {
    name: "maxPool(relu(conv + b), 2)",
    make: () => [k.maxPool(block(x, w, b), 2)],
    kernels: 2,
    contractions: 1,
  },
  // Backward of the block alone: dx (relu mask fused into the conv's epilogue recomputation),
  // db, dw, the input gradient's columns, and their fold (col2im).
  {
    name: "grad of sum(relu(conv + b))",
    make: () => grads((x, w, b) => block(x, w, b).sum()),
    kernels: 5,
    contractions: 3,
  },
  // With a 2×2 pool (non-overlapping windows are a reshape, so its gradient is elementwise):
  // forward conv, pool, the cotangent r (materialized: it is broadcast over each window), the
  // tie count per window, the gradient at the conv's output, db, dw, columns, col2im.
  {
    name: "grad of sum(maxPool(relu(conv + b), 2) · r)",
    make: () => grads((x, w, b) => k.maxPool(block(x, w, b), 2).mul(r).sum()),
    kernels: 9,
    contractions: 3,
  },
  // Overlapping 3×3/2 windows fold back through col2im: one more kernel than the 2×2 pool.
  {
    name: "grad of sum(maxPool(relu(conv + b), 3, stride 2, padding 1))",
    make: () => grads((x, w, b) => k.maxPool(block(x, w, b), 3, { stride: 2, padding: 1 }).sum()),
    kernels: 10,
    contractions: 3,
  },
];

for (const c of cases) {
  Deno.test(`conv schedule: ${c.name}`, async () => {
    const ts = c.make();
    const got = kinds(ts);
    assert.equal(got.length, c.kernels, `${c.name}: ${got.length} kernels:\n${got.join("\n")}`);
    if (sgemmAvailable() && ts.every((t) => t.device === "cpu")) {
      assert.equal(await wasmCalls(ts), c.contractions, `${c.name}: wasm contractions`);
    }
  });
}
