/**
 * A small DCGAN (Radford et al., 2016) on Fashion-MNIST: the generator maps 64 noise values
 * through a linear layer to 128×7×7 and two stride-2 transposed convolutions (`k.convTranspose`
 * via `k.nn.convTranspose2d`, kernel 4, padding 1) to 28×28; the discriminator mirrors it with
 * two stride-2 convolutions and a linear layer. Non-saturating logistic loss, two Adam
 * optimizers (2e-4, β1 = 0.5), alternating updates, each a jitted step. No batch norm (kept
 * small for the CPU). Prints seconds per step and checks that the samples' mean brightness is
 * near the data's; writes `dcgan_samples.png` (64 samples).
 *
 * Run: `deno run -A examples/generative/dcgan.ts [--smoke] [--steps N]`
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, outDir, parseArgs, progress } from "./_common.ts";

const args = parseArgs();
const out = outDir(args, import.meta.url);
const t0 = performance.now();
const Z = 64, BATCH = 64;

let train;
try {
  train = await k.data.fashionMnist({ split: "train", download: false });
} catch (e) {
  console.error(`dcgan: ${(e as Error).message}`);
  console.error("get it: sudo apt-get install -y dataset-fashion-mnist");
  Deno.exit(1);
}
const nTrain = Math.min(train.images.shape[0], args.smoke ? 1024 : 60000);
const x = train.images.slice([[0, nTrain]]).reshape([nTrain, 1, 28, 28]);
await k.realize(x);

type G = { fc: k.nn.LinearParams; up1: k.nn.ConvParams; up2: k.nn.ConvParams };
type D = { c1: k.nn.ConvParams; c2: k.nn.ConvParams; fc: k.nn.LinearParams };
const up = { stride: 2, padding: 1 } as const;

function generate(g: G, z: k.Tensor): k.Tensor {
  const h = k.relu(k.nn.linear.apply(g.fc, z)).reshape([-1, 128, 7, 7]);
  const h2 = k.relu(k.nn.convTranspose2d.apply(g.up1, h, up));
  return k.sigmoid(k.nn.convTranspose2d.apply(g.up2, h2, up));
}
function discriminate(d: D, img: k.Tensor): k.Tensor {
  const leaky = (t: k.Tensor) => k.nn.leakyRelu(t, 0.2);
  const h = leaky(k.nn.conv2d.apply(d.c1, img, up));
  const h2 = leaky(k.nn.conv2d.apply(d.c2, h, up)).reshape([-1, 128 * 7 * 7]);
  return k.nn.linear.apply(d.fc, h2).reshape([-1]);
}

const ks = k.random.split(k.random.key(0), 6);
let gParams: G = {
  fc: k.nn.linear.init(ks[0], Z, 128 * 7 * 7),
  up1: k.nn.convTranspose2d.init(ks[1], 128, 64, 4),
  up2: k.nn.convTranspose2d.init(ks[2], 64, 1, 4),
};
let dParams: D = {
  c1: k.nn.conv2d.init(ks[3], 1, 64, 4),
  c2: k.nn.conv2d.init(ks[4], 64, 128, 4),
  fc: k.nn.linear.init(ks[5], 128 * 7 * 7, 1),
};
const gOpt = k.optim.adam(2e-4, { b1: 0.5 }), dOpt = k.optim.adam(2e-4, { b1: 0.5 });
let gState = gOpt.init(gParams), dState = dOpt.init(dParams);
const sp = (t: k.Tensor) => k.nn.softplus(t);

const dStep = k.jit((d: D, s: k.optim.OptState, g: G, real: k.Tensor, key: k.Tensor) => {
  const fake = generate(g, k.random.normal(key, [BATCH, Z]));
  const loss = (p: D) =>
    sp(discriminate(p, real).neg()).mean().add(sp(discriminate(p, fake)).mean());
  const [value, grads] = k.valueAndGrad(loss)(d);
  const [updates, next] = dOpt.update(grads, s, d);
  return [k.optim.applyUpdates(d, updates), next, value] as const;
});
const gStep = k.jit((g: G, s: k.optim.OptState, d: D, key: k.Tensor) => {
  const loss = (p: G) =>
    sp(discriminate(d, generate(p, k.random.normal(key, [BATCH, Z]))).neg()).mean();
  const [value, grads] = k.valueAndGrad(loss)(g);
  const [updates, next] = gOpt.update(grads, s, g);
  return [k.optim.applyUpdates(g, updates), next, value] as const;
});

const steps = args.num("steps", 1500, 3);
const bar = progress("dcgan", steps);
let done = 0, epoch = 0;
const tTrain = performance.now();
while (done < steps) {
  for (const b of k.data.batches({ x }, { batchSize: BATCH, key: k.random.key(50 + epoch) })) {
    const key = k.random.foldIn(k.random.key(1), done);
    let dl: k.Tensor, gl: k.Tensor;
    [dParams, dState, dl] = dStep(dParams, dState, gParams, b.x, k.random.foldIn(key, 0));
    [gParams, gState, gl] = gStep(gParams, gState, dParams, k.random.foldIn(key, 1));
    if (++done % 10 === 0 || done === steps) {
      bar.tick(
        done,
        `D ${Number(await dl.item()).toFixed(3)} G ${Number(await gl.item()).toFixed(3)}`,
      );
    }
    if (done === steps) break;
  }
  epoch++;
}
bar.done();
const perStep = (performance.now() - tTrain) / 1000 / steps;
console.log(
  `${steps} steps of batch ${BATCH}: ${perStep.toFixed(3)} s per step ` +
    `(${(perStep * Math.floor(60000 / BATCH)).toFixed(0)} s per 60k-image epoch)`,
);
const samples = generate(gParams, k.random.normal(k.random.key(3), [64, Z]));
const [sMean, dMean] = [
  Number(await samples.mean().item()),
  Number(await x.slice([[0, 1000]]).mean().item()),
];
console.log(`mean brightness: samples ${sMean.toFixed(3)}, data ${dMean.toFixed(3)}`);
if (args.smoke) check(Number.isFinite(sMean), "smoke: both jitted steps ran, samples finite");
else check(Math.abs(sMean - dMean) < 0.1, "samples' mean brightness within 0.1 of the data's");
await k.io.savePng(`${out}dcgan_samples.png`, samples, { nrow: 8 });
console.log(`picture: ${out}dcgan_samples.png`);
finish(t0);
