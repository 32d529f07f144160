/**
 * Fashion-MNIST with a 784-256-256-10 MLP, Adam and a jitted train step.
 *
 *   npx -y deno@2.9.6 task train            # 5 epochs
 *   deno run -A examples/fashion_mlp.ts --epochs 10 --batch 128 --lr 1e-3
 *   deno run -A examples/fashion_mlp.ts --resume   # continue an interrupted run
 *
 * Prints a progress bar on stderr (epoch, step, loss, steps/s), test accuracy and seconds per
 * epoch; writes `fashion_mlp.svg` (loss and test error, `k.plot.line`) and `fashion_mlp.safetensors`
 * (the trained parameters) next to this file. Every 100 steps and at each epoch's end the whole
 * training state (parameters, Adam state, epoch, position in the epoch's shuffled order, the
 * curves so far) goes to `fashion_mlp.ckpt`; with `--resume` a run killed at any moment picks up
 * from there and ends with the same parameters, bit for bit, as a run never interrupted.
 * @module
 */
import * as k from "../mod.ts";

const args = Deno.args;
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const EPOCHS = opt("epochs", 5), BATCH = opt("batch", 128), LR = opt("lr", 2e-3);
const RESUME = args.includes("--resume");
const here = new URL(".", import.meta.url);

let train, test;
try {
  [train, test] = await Promise.all([
    k.data.fashionMnist({ split: "train" }),
    k.data.fashionMnist({ split: "test" }),
  ]);
} catch (e) {
  console.error(`fashion_mlp: ${(e as Error).message}`);
  console.error("To get the data: sudo apt-get install -y dataset-fashion-mnist");
  Deno.exit(1);
}
// Flattened and standardized with the training set's mean and standard deviation.
const flat = (x: k.Tensor) => x.reshape([x.shape[0], 784]).sub(0.2860).div(0.3530);
const trainSet = { x: flat(train.images), y: train.labels };
const testX = flat(test.images), testY = test.labels;
await k.realize(trainSet.x, testX);

type Params = k.nn.MlpParams;
const key = k.random.key(0);
const [initKey, dataKey] = k.random.split(key, 2);
const params0: Params = k.nn.mlp.init(initKey, [784, 256, 256, 10]);
const stepsPerEpoch = Math.floor(trainSet.x.shape[0] / BATCH);
// Adam with the learning rate annealed to zero over the run (cosine).
const optimizer = k.optim.adam(
  k.optim.cosineDecay({ init: LR, decaySteps: EPOCHS * stepsPerEpoch }),
);
// Everything the next step depends on (the data order derives from dataKey and the epoch).
const initial = {
  params: params0,
  opt: optimizer.init(params0),
  epoch: 0,
  batch: 0,
  losses: [] as number[],
  accs: [] as number[],
};
const ckpt = k.io.checkpoint<typeof initial>(new URL("fashion_mlp.ckpt", here));
const resumed = RESUME ? await ckpt.load({ like: initial }) : null;
let { params, opt: state, epoch: startEpoch, batch: startBatch, losses, accs } = resumed ?? initial;
if (resumed) console.log(`resuming at epoch ${startEpoch + 1}, step ${startBatch}`);
const save = (epoch: number, batch: number) =>
  ckpt.save({ params, opt: state, epoch, batch, losses, accs });

const loss = (p: Params, x: k.Tensor, y: k.Tensor) =>
  k.nn.softmaxCrossEntropy(k.nn.mlp.apply(p, x), y);

const step = k.jit((p: Params, s: k.optim.OptState, x: k.Tensor, y: k.Tensor) => {
  const [value, grads] = k.valueAndGrad(loss)(p, x, y);
  const [updates, next] = optimizer.update(grads, s, p);
  return [k.optim.applyUpdates(p, updates), next, value] as const;
});
const evaluate = k.jit((p: Params, x: k.Tensor, y: k.Tensor) =>
  k.nn.accuracy(k.nn.mlp.apply(p, x), y)
);

const enc = new TextEncoder();
const bar = (epoch: number, i: number, l: number, rate: number) => {
  const w = 30, done = Math.round((i / stepsPerEpoch) * w);
  const line = `\repoch ${epoch + 1}/${EPOCHS} [${"#".repeat(done)}${".".repeat(w - done)}] ` +
    `${i}/${stepsPerEpoch} loss ${l.toFixed(4)} ${rate.toFixed(1)} steps/s `;
  Deno.stderr.writeSync(enc.encode(line));
};

for (let epoch = startEpoch; epoch < EPOCHS; epoch++) {
  const t0 = performance.now();
  const first = epoch === startEpoch ? startBatch : 0;
  let i = first, running = 0;
  const order = k.data.batches(trainSet, {
    batchSize: BATCH,
    key: k.random.foldIn(dataKey, epoch),
  });
  for (const b of order.drop(first)) { // skip the batches a resumed run already trained on
    let value: k.Tensor;
    [params, state, value] = step(params, state, b.x, b.y);
    i++;
    if (i % 25 === 0 || i === stepsPerEpoch) {
      running = await value.item() as number;
      losses.push(running);
      bar(epoch, i, running, (i - first) / ((performance.now() - t0) / 1000));
    }
    if (i % 100 === 0 && i < stepsPerEpoch) await save(epoch, i);
  }
  const secs = (performance.now() - t0) / 1000;
  const acc = await evaluate(params, testX, testY).item() as number;
  accs.push(acc);
  await save(epoch + 1, 0);
  Deno.stderr.writeSync(enc.encode("\n"));
  console.log(
    `epoch ${epoch + 1}: test accuracy ${(acc * 100).toFixed(2)}%, ${secs.toFixed(1)} s/epoch, ` +
      `${((stepsPerEpoch - first) / secs).toFixed(1)} steps/s, last loss ${running.toFixed(4)}`,
  );
}

// Loss (every 25 steps, on the epoch axis) and test error per epoch, log scale (`k.plot`).
const perEpoch = losses.length / Math.max(1, accs.length);
await k.plot.save(
  new URL("fashion_mlp.svg", here),
  k.plot.line([
    { y: losses, x: losses.map((_, j) => (j + 1) / perEpoch), name: "training loss" },
    { y: accs.map((a) => 1 - a), x: accs.map((_, e) => e + 1), name: "test error" },
  ], { title: "Fashion-MNIST MLP", xLabel: "epoch", logY: true }),
);
await k.io.save(new URL("fashion_mlp.safetensors", here), params);
console.log(`wrote ${new URL("fashion_mlp.svg", here).pathname} and fashion_mlp.safetensors`);
if (accs[accs.length - 1] < 0.88) {
  console.error(`final test accuracy ${(accs[accs.length - 1] * 100).toFixed(2)}% is below 88%`);
  Deno.exit(2);
}
