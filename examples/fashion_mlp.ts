/**
 * Fashion-MNIST with a 784-256-256-10 MLP, Adam and a jitted train step.
 *
 *   npx -y deno@2.9.6 task train            # 5 epochs
 *   deno run -A examples/fashion_mlp.ts --epochs 10 --batch 128 --lr 1e-3
 *
 * Prints a progress bar on stderr (epoch, step, loss, steps/s), test accuracy and seconds per
 * epoch; writes `fashion_mlp.svg` (loss and accuracy curves) and `fashion_mlp.safetensors`
 * (the trained parameters) next to this file.
 * @module
 */
import * as k from "../mod.ts";

const args = Deno.args;
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const EPOCHS = opt("epochs", 5), BATCH = opt("batch", 128), LR = opt("lr", 2e-3);
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
let params: Params = k.nn.mlp.init(initKey, [784, 256, 256, 10]);
const stepsPerEpoch = Math.floor(trainSet.x.shape[0] / BATCH);
// Adam with the learning rate annealed to zero over the run (cosine).
const optimizer = k.optim.adam(
  k.optim.cosineDecay({ init: LR, decaySteps: EPOCHS * stepsPerEpoch }),
);
let state = optimizer.init(params);

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

const losses: number[] = [];
const accs: number[] = [];
const enc = new TextEncoder();
const bar = (epoch: number, i: number, l: number, rate: number) => {
  const w = 30, done = Math.round((i / stepsPerEpoch) * w);
  const line = `\repoch ${epoch + 1}/${EPOCHS} [${"#".repeat(done)}${".".repeat(w - done)}] ` +
    `${i}/${stepsPerEpoch} loss ${l.toFixed(4)} ${rate.toFixed(1)} steps/s `;
  Deno.stderr.writeSync(enc.encode(line));
};

for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const t0 = performance.now();
  let i = 0, running = 0;
  for (
    const b of k.data.batches(trainSet, { batchSize: BATCH, key: k.random.foldIn(dataKey, epoch) })
  ) {
    let value: k.Tensor;
    [params, state, value] = step(params, state, b.x, b.y);
    i++;
    if (i % 25 === 0 || i === stepsPerEpoch) {
      running = await value.item() as number;
      losses.push(running);
      bar(epoch, i, running, i / ((performance.now() - t0) / 1000));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const acc = await evaluate(params, testX, testY).item() as number;
  accs.push(acc);
  Deno.stderr.writeSync(enc.encode("\n"));
  console.log(
    `epoch ${epoch + 1}: test accuracy ${(acc * 100).toFixed(2)}%, ${secs.toFixed(1)} s/epoch, ` +
      `${(stepsPerEpoch / secs).toFixed(1)} steps/s, last loss ${running.toFixed(4)}`,
  );
}

/** A two-panel SVG: training loss (left) and test accuracy per epoch (right). */
function svg(losses: number[], accs: number[]): string {
  const W = 360, H = 240, P = 40;
  const poly = (ys: number[], lo: number, hi: number, x0: number) =>
    ys.map((y, i) => {
      const x = x0 + P + (i / Math.max(1, ys.length - 1)) * (W - 2 * P);
      const v = H - P - ((y - lo) / (hi - lo || 1)) * (H - 2 * P);
      return `${x.toFixed(1)},${v.toFixed(1)}`;
    }).join(" ");
  const panel = (x0: number, title: string, ys: number[], lo: number, hi: number, color: string) =>
    `<g><rect x="${x0 + P}" y="${P}" width="${W - 2 * P}" height="${
      H - 2 * P
    }" fill="none" stroke="#999"/>` +
    `<text x="${x0 + W / 2}" y="${P - 10}" text-anchor="middle" font-size="13">${title}</text>` +
    `<text x="${x0 + P - 4}" y="${P + 4}" text-anchor="end" font-size="10">${
      hi.toFixed(2)
    }</text>` +
    `<text x="${x0 + P - 4}" y="${H - P}" text-anchor="end" font-size="10">${
      lo.toFixed(2)
    }</text>` +
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${
      poly(ys, lo, hi, x0)
    }"/></g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    2 * W
  }" height="${H}" font-family="sans-serif">` +
    panel(0, "training loss (every 25 steps)", losses, 0, Math.max(...losses), "#c33") +
    panel(W, "test accuracy per epoch", accs, Math.min(...accs, 0.8), 1, "#36c") + "</svg>\n";
}
await Deno.writeTextFile(new URL("fashion_mlp.svg", here), svg(losses, accs));
await k.io.save(new URL("fashion_mlp.safetensors", here), params);
console.log(`wrote ${new URL("fashion_mlp.svg", here).pathname} and fashion_mlp.safetensors`);
if (accs[accs.length - 1] < 0.88) {
  console.error(`final test accuracy ${(accs[accs.length - 1] * 100).toFixed(2)}% is below 88%`);
  Deno.exit(2);
}
