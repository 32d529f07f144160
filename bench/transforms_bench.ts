/**
 * Transforms: a jitted vs an eager MLP training step (784-256-256-10, batch 128, SGD), and a
 * 1,000-step `scan` of a small tanh RNN cell vs the same loop unrolled in JS (1,000 lazy cell
 * applications realized at the end). Each group's baseline is measured in the same run.
 *
 * `deno bench --allow-read --allow-env bench/transforms_bench.ts`
 * @module
 */
import * as k from "../mod.ts";
import { seededFloat32 } from "./baselines.ts";

const SIZES = [784, 256, 256, 10] as const;
const BATCH = 128;
const LR = 0.05;

interface Params {
  ws: k.Tensor[];
  bs: k.Tensor[];
}
const init: Params = {
  ws: SIZES.slice(0, -1).map((n, l) => {
    const m = SIZES[l + 1], scale = Math.sqrt(6 / (n + m));
    return k.tensor(seededFloat32(n * m, 20 + l).map((v) => v * scale), { shape: [n, m] });
  }),
  bs: SIZES.slice(1).map((m, l) => k.tensor(seededFloat32(m, 30 + l).map((v) => v * 0.01))),
};
const x = k.tensor(seededFloat32(BATCH * SIZES[0], 11), { shape: [BATCH, SIZES[0]] });
const labels = k.tensor(Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + 3) % 10));

function loss(p: Params, x: k.Tensor, labels: k.Tensor): k.Tensor {
  let h = x;
  p.ws.forEach((w, l) => {
    const z = h.matmul(w).add(p.bs[l]);
    h = l < p.ws.length - 1 ? k.relu(z) : z;
  });
  const logp = k.logSoftmax(h, { axis: -1 });
  return k.oneHot(labels, SIZES[3]).mul(logp).sum({ axis: -1 }).mean().neg();
}

function step(p: Params, x: k.Tensor, labels: k.Tensor): [Params, k.Tensor] {
  const [value, g] = k.valueAndGrad(loss)(p, x, labels);
  const grads = g as Params;
  return [{
    ws: p.ws.map((w, l) => w.sub(grads.ws[l].mul(LR))),
    bs: p.bs.map((b, l) => b.sub(grads.bs[l].mul(LR))),
  }, value];
}
const jitStep = k.jit(step);

async function run(f: typeof step): Promise<void> {
  const [p, value] = f(init, x, labels);
  await k.realize(value, ...p.ws, ...p.bs);
}
await run(step);
await run(jitStep);

Deno.bench({
  name: "eager MLP train step",
  group: "train step",
  baseline: true,
  async fn() {
    await run(step);
  },
});
Deno.bench({
  name: "jit MLP train step",
  group: "train step",
  async fn() {
    await run(jitStep);
  },
});

// RNN: h' = tanh(h W + x U + b), hidden 32, input 8, 1,000 steps.
const H = 32, I = 8, T = 1000;
const W = k.tensor(seededFloat32(H * H, 1).map((v) => v * 0.2), { shape: [H, H] });
const U = k.tensor(seededFloat32(I * H, 2).map((v) => v * 0.2), { shape: [I, H] });
const b = k.tensor(seededFloat32(H, 3).map((v) => v * 0.1));
const xs = k.tensor(seededFloat32(T * I, 4), { shape: [T, I] });
const h0 = k.zeros([H]);
const cell = (h: k.Tensor, xt: k.Tensor) => k.tanh(h.matmul(W).add(xt.matmul(U)).add(b));

async function scanned(): Promise<number> {
  const [h] = k.scan((h: k.Tensor, xt: k.Tensor) => [cell(h, xt), null], h0, xs);
  return (await h.data())[0];
}
async function unrolled(): Promise<number> {
  let h = h0;
  for (let t = 0; t < T; t++) h = cell(h, k.take(xs, t, { axis: 0 }));
  return (await h.data())[0];
}
const [a, c] = [await scanned(), await unrolled()];
if (Math.abs(a - c) > 1e-4) throw new Error(`scan and unrolled loop disagree: ${a} vs ${c}`);

Deno.bench({
  name: "RNN 1000 steps unrolled in JS",
  group: "rnn",
  baseline: true,
  async fn() {
    await unrolled();
  },
});
Deno.bench({
  name: "RNN 1000 steps as one scan",
  group: "rnn",
  async fn() {
    await scanned();
  },
});
