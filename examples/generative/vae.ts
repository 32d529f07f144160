/**
 * A variational autoencoder on Fashion-MNIST (see `_vae.ts`: PyTorch's `examples/vae`
 * architecture, Bernoulli decoder, 20 latent dimensions, reparameterization with explicit
 * keys), trained with Adam (1e-3, batch 128) in a jitted step. Prints the test-set negative
 * ELBO in nats per image and seconds per epoch; `vae_torch.py` trains the same architecture
 * for the same epochs in PyTorch, and `--torch FILE` (its JSON output) checks that Kiln's
 * figure is within 3 %. Writes `vae_samples.png` (decoded draws from the prior),
 * `vae_recon.png` (test images over their reconstructions) and `vae_traversal.png` (decoded
 * points along two latent axes).
 *
 * Run: `deno run -A examples/generative/vae.ts [--smoke] [--epochs N] [--torch vae_torch.json]`
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, outDir, parseArgs, progress } from "./_common.ts";
import { decode, encode, initVae, negElbo, type VaeParams } from "./_vae.ts";

const args = parseArgs();
const out = outDir(args, import.meta.url);
const t0 = performance.now();

let train, test;
try {
  [train, test] = await Promise.all([
    k.data.fashionMnist({ split: "train", download: false }),
    k.data.fashionMnist({ split: "test", download: false }),
  ]);
} catch (e) {
  console.error(
    `vae: ${(e as Error).message}\nget it: sudo apt-get install -y dataset-fashion-mnist`,
  );
  Deno.exit(1);
}
const flat = (s: k.data.LabeledImages, n: number) =>
  s.images.slice([[0, Math.min(n, s.images.shape[0])]]).reshape([-1, 784]);
const xTrain = flat(train, args.smoke ? 2048 : 60000),
  xTest = flat(test, args.smoke ? 1000 : 10000);
await k.realize(xTrain, xTest);

const epochs = args.num("epochs", 5, 1), batch = 128;
let params: VaeParams = initVae(k.random.key(0));
const opt = k.optim.adam(1e-3);
let state = opt.init(params);
const step = k.jit((p: VaeParams, s: k.optim.OptState, xb: k.Tensor, key: k.Tensor) => {
  const [value, grads] = k.valueAndGrad((q: VaeParams) => negElbo(q, xb, key).mean())(p);
  const [updates, next] = opt.update(grads, s, p);
  return [k.optim.applyUpdates(p, updates), next, value] as const;
});
const evalElbo = k.jit((p: VaeParams, xb: k.Tensor, key: k.Tensor) => negElbo(p, xb, key).sum());

async function testNegElbo(): Promise<number> {
  let total = k.zeros([]);
  const n = xTest.shape[0], eb = 500;
  for (let i = 0; i + eb <= n; i += eb) {
    total = total.add(
      evalElbo(params, xTest.slice([[i, i + eb]]), k.random.foldIn(k.random.key(7), i)),
    );
  }
  return Number(await total.item()) / (Math.floor(n / eb) * eb);
}

const untrained = args.smoke ? await testNegElbo() : NaN;
const perEpoch: number[] = [];
const steps = Math.floor(xTrain.shape[0] / batch);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const te = performance.now();
  const bar = progress(`vae epoch ${epoch}/${epochs}`, steps);
  let i = 0, sum = k.zeros([]);
  for (
    const b of k.data.batches({ x: xTrain }, { batchSize: batch, key: k.random.key(100 + epoch) })
  ) {
    let value: k.Tensor;
    [params, state, value] = step(
      params,
      state,
      b.x,
      k.random.foldIn(k.random.key(1), epoch * 100000 + i),
    );
    sum = sum.add(value);
    if (++i % 50 === 0 || i === steps) {
      bar.tick(i, `-elbo ${(Number(await sum.item()) / i).toFixed(2)}`);
    }
  }
  bar.done();
  perEpoch.push((performance.now() - te) / 1000);
  console.log(
    `epoch ${epoch}: train -ELBO ${(Number(await sum.item()) / i).toFixed(2)} nats, ${
      perEpoch.at(-1)!.toFixed(1)
    } s`,
  );
}
const nelbo = await testNegElbo();
const sPerEpoch = perEpoch.reduce((a, b) => a + b, 0) / perEpoch.length;
console.log(
  `test negative ELBO ${nelbo.toFixed(2)} nats per image after ${epochs} epoch(s); ` +
    `${sPerEpoch.toFixed(1)} s per epoch`,
);
if (args.smoke) {
  // One short smoke epoch (synthetic images in CI): check only that training lowered it.
  check(
    nelbo < untrained,
    `smoke: test -ELBO ${nelbo.toFixed(2)} < ${untrained.toFixed(2)} before training`,
  );
} else {
  check(nelbo < 250, `test -ELBO ${nelbo.toFixed(2)} < 250`);
}
const torchAt = Deno.args.indexOf("--torch");
if (torchAt >= 0) {
  const ref = JSON.parse(await Deno.readTextFile(Deno.args[torchAt + 1]));
  const rel = Math.abs(nelbo - ref.test_neg_elbo) / ref.test_neg_elbo;
  console.log(
    `PyTorch (same architecture, ${ref.epochs} epochs): test -ELBO ${
      ref.test_neg_elbo.toFixed(2)
    } nats, ` +
      `${ref.seconds_per_epoch.toFixed(1)} s per epoch; difference ${(100 * rel).toFixed(2)}%`,
  );
  check(ref.epochs === epochs && rel <= 0.03, `within 3% of PyTorch`);
}

// Pictures.
const samples = k.sigmoid(decode(params, k.random.normal(k.random.key(3), [64, 20])));
await k.io.savePng(`${out}vae_samples.png`, samples.reshape([64, 28, 28]), { nrow: 8 });
const shown = xTest.slice([[0, 16]]);
const [mu] = encode(params, shown);
const recon = k.sigmoid(decode(params, mu));
await k.io.savePng(
  `${out}vae_recon.png`,
  k.concatenate([shown, recon]).reshape([32, 28, 28]),
  { nrow: 16 },
);
// Traversal: the first test image's code, with latent axes 0 and 1 set to -2.5 … 2.5.
const steps2 = 9, grid: number[][] = [];
const base = await mu.slice([[0, 1]]).toArray() as number[][];
for (let r = 0; r < steps2; r++) {
  for (let c = 0; c < steps2; c++) {
    const z = [...base[0]];
    [z[0], z[1]] = [-2.5 + (5 * c) / (steps2 - 1), -2.5 + (5 * r) / (steps2 - 1)];
    grid.push(z);
  }
}
const trav = k.sigmoid(decode(params, k.tensor(grid)));
await k.io.savePng(`${out}vae_traversal.png`, trav.reshape([steps2 * steps2, 28, 28]), {
  nrow: steps2,
});
console.log(`pictures: ${out}vae_samples.png, vae_recon.png, vae_traversal.png`);
finish(t0);
