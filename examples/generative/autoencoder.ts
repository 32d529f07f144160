/**
 * An autoencoder and a denoising autoencoder (Vincent et al., 2008) on Fashion-MNIST: MLPs
 * 784-256-64-256-784 (ReLU, sigmoid output) trained on mean squared error with Adam (1e-3,
 * batch 128) in jitted steps. The denoising one sees inputs with Gaussian noise (σ = 0.4, a new
 * draw per step from the step's key) and learns to output the clean image. Prints the test
 * reconstruction MSE of each (the denoiser on noisy test inputs, next to the plain
 * autoencoder given the same noisy inputs) and writes `autoencoder_recon.png`: rows of test
 * images, their reconstructions, the noisy inputs and the denoiser's outputs.
 *
 * Run: `deno run -A examples/generative/autoencoder.ts [--smoke] [--epochs N]`
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, outDir, parseArgs, progress } from "./_common.ts";

const args = parseArgs();
const out = outDir(args, import.meta.url);
const t0 = performance.now();
const NOISE = 0.4, DIMS = [784, 256, 64, 256, 784];

let train, test;
try {
  [train, test] = await Promise.all([
    k.data.fashionMnist({ split: "train", download: false }),
    k.data.fashionMnist({ split: "test", download: false }),
  ]);
} catch (e) {
  console.error(`autoencoder: ${(e as Error).message}`);
  console.error("get it: sudo apt-get install -y dataset-fashion-mnist");
  Deno.exit(1);
}
const flat = (s: k.data.LabeledImages, n: number) =>
  s.images.slice([[0, Math.min(n, s.images.shape[0])]]).reshape([-1, 784]);
const xTrain = flat(train, args.smoke ? 2048 : 60000);
const xTest = flat(test, args.smoke ? 1000 : 10000);
await k.realize(xTrain, xTest);
const noisy = (key: k.Tensor, x: k.Tensor) => x.add(k.random.normal(key, x.shape).mul(NOISE));

type Params = k.nn.MlpParams;
const reconstruct = (p: Params, x: k.Tensor) => k.sigmoid(k.nn.mlp.apply(p, x));

async function fit(name: string, denoise: boolean, epochs: number): Promise<Params> {
  let params = k.nn.mlp.init(k.random.key(denoise ? 1 : 0), DIMS);
  const opt = k.optim.adam(1e-3);
  let state = opt.init(params);
  const step = k.jit((p: Params, s: k.optim.OptState, xb: k.Tensor, key: k.Tensor) => {
    const input = denoise ? noisy(key, xb) : xb;
    const [value, grads] = k.valueAndGrad((q: Params) => k.nn.mse(reconstruct(q, input), xb))(p);
    const [updates, next] = opt.update(grads, s, p);
    return [k.optim.applyUpdates(p, updates), next, value] as const;
  });
  const steps = Math.floor(xTrain.shape[0] / 128);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const te = performance.now();
    const bar = progress(`${name} epoch ${epoch}/${epochs}`, steps);
    let i = 0, sum = k.zeros([]);
    const key = k.random.key(200 + epoch);
    for (const b of k.data.batches({ x: xTrain }, { batchSize: 128, key })) {
      let value: k.Tensor;
      [params, state, value] = step(params, state, b.x, k.random.foldIn(key, i));
      sum = sum.add(value);
      if (++i % 50 === 0 || i === steps) {
        bar.tick(i, `mse ${(Number(await sum.item()) / i).toFixed(4)}`);
      }
    }
    bar.done();
    console.log(`${name} epoch ${epoch}: ${((performance.now() - te) / 1000).toFixed(1)} s`);
  }
  return params;
}

const mseOf = async (p: Params, input: k.Tensor) =>
  Number(await k.nn.mse(reconstruct(p, input), xTest).item());
const epochs = args.num("epochs", 3, 1);
const ae = await fit("autoencoder", false, epochs);
const dae = await fit("denoising", true, epochs);
const xNoisy = noisy(k.random.key(99), xTest);
const [aeClean, aeNoisy, daeNoisy] = [
  await mseOf(ae, xTest),
  await mseOf(ae, xNoisy),
  await mseOf(dae, xNoisy),
];
const baseline = Number(await k.nn.mse(xNoisy, xTest).item());
console.log(
  `test reconstruction MSE per pixel: autoencoder ${aeClean.toFixed(4)} (clean input); on inputs ` +
    `with N(0, ${NOISE}²) noise (noisy vs clean ${baseline.toFixed(4)}): autoencoder ` +
    `${aeNoisy.toFixed(4)}, denoising autoencoder ${daeNoisy.toFixed(4)}`,
);
if (args.smoke) {
  // A few smoke steps barely move the weights (and CI runs on synthetic images): check only
  // that training lowered the test MSE.
  check(
    Number.isFinite(daeNoisy) && aeClean < 0.12,
    `smoke: autoencoder test MSE ${aeClean.toFixed(4)} < 0.12`,
  );
} else {
  check(aeClean < 0.015, `autoencoder test MSE ${aeClean.toFixed(4)} < 0.015`);
  check(daeNoisy < aeNoisy, "the denoiser cleans noisy inputs better than the plain autoencoder");
  check(daeNoisy < baseline / 4, "the denoiser removes most of the noise");
}

const shown = xTest.slice([[0, 12]]), shownNoisy = xNoisy.slice([[0, 12]]);
const rows = k.concatenate([
  shown,
  reconstruct(ae, shown),
  shownNoisy,
  reconstruct(dae, shownNoisy),
]);
await k.io.savePng(`${out}autoencoder_recon.png`, rows.reshape([48, 28, 28]), { nrow: 12 });
console.log(`picture: ${out}autoencoder_recon.png`);
finish(t0);
