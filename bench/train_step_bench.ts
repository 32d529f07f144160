/**
 * One training step of a 784-256-256-10 ReLU MLP (batch 128, float32, mean softmax
 * cross-entropy, plain SGD): Kiln's `valueAndGrad` + update, realized together with
 * `k.realize`, against a hand-written backprop in plain `Float32Array` loops (the baseline).
 *
 * Kiln's timed work is the whole user-visible path: trace, build the backward graph, schedule,
 * compile (cached after the first step), launch. Each iteration starts from the same realized
 * parameters and releases what it produced, so both sides do identical work every time.
 * @module
 */
import * as k from "../mod.ts";
import { maxAbsDiff, seededFloat32 } from "./baselines.ts";
import { type MlpParams, mlpTrainStep } from "./mlp_baseline.ts";

const SIZES = [784, 256, 256, 10] as const;
const BATCH = 128;
const LR = 0.05;

// Inputs and a Glorot-uniform initialization, deterministic.
const xData = seededFloat32(BATCH * SIZES[0], 11);
const labelData = Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + 3) % SIZES[3]);
const base: MlpParams = {
  sizes: SIZES,
  ws: SIZES.slice(0, -1).map((n, l) => {
    const m = SIZES[l + 1], scale = Math.sqrt(6 / (n + m));
    return seededFloat32(n * m, 20 + l).map((v) => v * scale);
  }),
  bs: SIZES.slice(1).map((m, l) => seededFloat32(m, 30 + l).map((v) => v * 0.01)),
};

const x = k.tensor(xData, { shape: [BATCH, SIZES[0]] });
const labels = k.tensor(labelData, { shape: [BATCH] });
interface Params {
  ws: k.Tensor[];
  bs: k.Tensor[];
}
const params: Params = {
  ws: base.ws.map((w, l) => k.tensor(w, { shape: [SIZES[l], SIZES[l + 1]] })),
  bs: base.bs.map((b) => k.tensor(b)),
};

function loss(p: Params, x: k.Tensor, labels: k.Tensor): k.Tensor {
  let h = x;
  p.ws.forEach((w, l) => {
    const z = h.matmul(w).add(p.bs[l]);
    h = l < p.ws.length - 1 ? k.relu(z) : z;
  });
  const logp = k.logSoftmax(h, { axis: -1 });
  return k.oneHot(labels, SIZES[3]).mul(logp).sum({ axis: -1 }).mean().neg();
}

/** The lazy step: `[loss, ...updated ws, ...updated bs]`. */
function stepGraph(): k.Tensor[] {
  const [value, g] = k.valueAndGrad(loss)(params, x, labels);
  const grads = g as Params;
  return [
    value,
    ...params.ws.map((w, l) => w.sub(grads.ws[l].mul(LR))),
    ...params.bs.map((b, l) => b.sub(grads.bs[l].mul(LR))),
  ];
}

/** One Kiln step, loss and updated parameters realized in one launch. */
async function kilnStep(): Promise<k.Tensor[]> {
  const out = stepGraph();
  await k.realize(...out);
  return out;
}

// Kiln and the baseline must agree before anything is timed.
{
  const ref = mlpTrainStep(base, xData, labelData, LR);
  const [l, ...next] = await kilnStep();
  const got = (await l.data())[0];
  if (!(Math.abs(got - ref.loss) <= 1e-4)) {
    throw new Error(`mlp train step: loss ${got} vs baseline ${ref.loss}`);
  }
  const want = [...ref.ws, ...ref.bs];
  for (const [i, t] of next.entries()) {
    const d = maxAbsDiff(await t.data(), want[i]);
    if (!(d <= 1e-5)) throw new Error(`mlp train step: parameter ${i} differs by ${d}`);
  }
  console.log(`mlp train step: ${k.schedule(...stepGraph()).length} kernels per step`);
}

Deno.bench({
  name: "hand-written backprop, Float32Array loops",
  group: "mlp train step",
  baseline: true,
  n: 20,
  warmup: 3,
  fn() {
    mlpTrainStep(base, xData, labelData, LR);
  },
});

Deno.bench({
  name: "kiln valueAndGrad + SGD, one realize",
  group: "mlp train step",
  n: 20,
  warmup: 5,
  async fn() {
    for (const t of await kilnStep()) t.dispose();
  },
});
