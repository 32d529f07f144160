/**
 * A tour of Kiln in about a second: lazy tensors, what the fusing scheduler makes of them, the
 * JavaScript it generates, random numbers from explicit keys, and a small model fitted end to
 * end with `k.valueAndGrad` on the CPU backend.
 *
 *     deno task demo        (or: npx -y deno@2.9.6 task demo)
 * @module
 */
import * as k from "../mod.ts";

const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;
const shp = (dtype: string, shape: readonly number[]) => `${dtype}[${shape}]`;
const summary = (ks: k.KernelInfo[]) =>
  ks.map((x, i) =>
    `    kernel ${i}: -> ${shp(x.dtype, x.shape)} reads ${
      x.inputs.map((s) => `[${s}]`).join(", ") || "nothing"
    }`
  );
const title = (s: string) => console.log(`\n== ${s} ${"=".repeat(Math.max(0, 76 - s.length))}`);

console.log("Kiln demo: immutable lazy tensors, a fusing scheduler, the CPU backend");

// ---------------------------------------------------------------------------------------
title("1. Lazy values: eight ops, one kernel");
const x = k.tensor([-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5]);
const y = k.relu(x.mul(1.5).add(0.5)).mul(k.sigmoid(x)).sub(k.tanh(x).mul(0.5));
console.log(`y = relu(x*1.5 + 0.5) * sigmoid(x) - tanh(x)*0.5`);
console.log(`y is ${y.dtype}[${y.shape}], not computed yet: it is a graph of 8 ops.`);
const ks1 = k.schedule(y);
console.log(`k.schedule(y) -> ${ks1.length} kernel (one pass over x, no temporaries):`);
console.log(summary(ks1).join("\n"));
console.log("Its generated JavaScript:");
console.log(ks1[0].source.replace(/^/gm, "    | "));
console.log(`x = ${x}`);
console.log(`y = ${y}`); // printing realizes y
console.log(`after printing, k.schedule(y) -> ${k.schedule(y).length} kernels (y holds a buffer)`);

// ---------------------------------------------------------------------------------------
title("2. A two-layer MLP forward pass, 256x64 -> 128 (relu) -> 10 (softmax)");
// Randomness only through explicit keys (threefry, as jax.random): same numbers every run.
const [kx, k1, k2, kData, kNoise] = k.random.split(k.random.key(0), 5);
const X = k.random.normal(kx, [256, 64]);
const params = {
  w1: k.random.normal(k1, [64, 128]).mul(1 / 8),
  b1: k.zeros([128]),
  w2: k.random.normal(k2, [128, 10]).mul(1 / Math.sqrt(128)),
  b2: k.zeros([10]),
};
await k.realize(X, ...k.tree.leaves(params)); // draw once, so the schedule below shows the model
type Mlp = typeof params;
const mlp = (p: Mlp, input: k.Tensor) => {
  const h = k.relu(k.matmul(input, p.w1).add(p.b1));
  return k.softmax(k.matmul(h, p.w2).add(p.b2), { axis: -1 });
};
const probs = mlp(params, X);
const ks2 = k.schedule(probs);
console.log(`k.schedule(probs) -> ${ks2.length} kernels:`);
console.log(summary(ks2).join("\n"));
console.log(
  "    (matmul + bias + relu is one kernel; softmax needs the row max and row sum\n" +
    "     materialized because they are broadcast back over the row)",
);
let t0 = performance.now();
await k.realize(probs);
console.log(`realized in ${ms(t0)}: probs = ${probs.toString().split("\n")[0]} ...`);
const rowSums = probs.sum({ axis: -1 });
const [lo, hi] = [await rowSums.min().item(), await rowSums.max().item()] as number[];
console.log(`every row sums to 1: min ${lo.toFixed(6)}, max ${hi.toFixed(6)}`);
console.log(
  `predicted classes of the first 10 rows: ${
    (await k.slice(k.argmax(probs, { axis: -1 }), [[0, 10]]).toArray() as number[]).join(" ")
  }`,
);

// ---------------------------------------------------------------------------------------
title("3. Linear regression fitted with k.valueAndGrad and plain SGD");
const n = 512, d = 8;
const A = k.random.normal(kData, [n, d]);
const wTrue = k.tensor([0.5, -1, 2, 0, 1.5, -0.5, 3, -2], { shape: [d, 1] });
const target = k.matmul(A, wTrue).add(0.7).add(k.random.normal(kNoise, [n, 1]).mul(0.01));
await k.realize(A, target);

type Linear = { w: k.Tensor; b: k.Tensor };
const loss = (p: Linear, x: k.Tensor, t: k.Tensor) => {
  const r = k.matmul(x, p.w).add(p.b).sub(t);
  return r.mul(r).mean();
};
const lossAndGrad = k.valueAndGrad(loss); // grads have the structure of p: {w, b}
const sgd = (p: Linear, g: Linear, lr: number) =>
  k.tree.map((v: k.Tensor, dv: k.Tensor) => v.sub(dv.mul(lr)), p, g) as Linear;

let p: Linear = { w: k.zeros([d, 1]), b: k.zeros([1]) };
{
  const [l, g] = lossAndGrad(p, A, target);
  const next = sgd(p, g, 0.1);
  console.log(
    `one training step (loss, backward pass, update) -> ${
      k.schedule(l, next.w, next.b).length
    } kernels`,
  );
}
t0 = performance.now();
for (let i = 0; i <= 100; i++) {
  const [l, g] = lossAndGrad(p, A, target);
  p = sgd(p, g, 0.1);
  await k.realize(l, p.w, p.b); // one schedule for all three
  if (i % 20 === 0) console.log(`  step ${String(i).padStart(3)}  loss ${await l.item()}`);
}
console.log(`101 steps in ${ms(t0)}`);
console.log(`true w    ${(await wTrue.reshape([d]).toArray() as number[]).join(", ")};  b 0.7`);
console.log(
  `learned w ${(await p.w.reshape([d]).toArray() as number[]).map((v) => v.toFixed(3))};  b ${
    (await p.b.item() as number).toFixed(3)
  }`,
);

// ---------------------------------------------------------------------------------------
title("4. Memory");
console.log(`k.memoryStats() now: ${JSON.stringify(k.memoryStats())}`);
console.log(
  "(buffers of tensors that became unreachable go back to the pool once V8 collects them)",
);
{
  using big = k.ones([1024, 1024]).mul(2);
  await k.realize(big);
  console.log(`inside a \`using\` block with a 4 MiB tensor: ${JSON.stringify(k.memoryStats())}`);
}
console.log(`after the block (released at once): ${JSON.stringify(k.memoryStats())}`);
console.log("\nNext: deno task test, deno task bench, and README.md.");
