/**
 * A small training run for tests/checkpoint_test.ts, meant to be killed (SIGKILL) and resumed:
 * an 8-32-4 MLP with dropout (a fresh key every step), a batch-norm-style running mean, Adam
 * with a cosine schedule (an int32 step count in its state), and a shuffled data order per
 * epoch. Every `--every` steps the whole state goes to a checkpoint; a restarted run resumes
 * from it. At the end the final state is written to `--out`.
 *
 *   KILN_DEVICE=cpu deno run -A tests/_checkpoint_train.ts --ckpt run.ckpt --out final.st
 * @module
 */
import * as k from "../mod.ts";

const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const CKPT = arg("ckpt", "run.ckpt"), OUT = arg("out", "final.safetensors");
const STEPS = Number(arg("steps", "300")), EVERY = Number(arg("every", "3"));
const BATCH = 16, N = 200;

// Synthetic data: 4 classes by the signs of two projections of the inputs.
const [dataKey, initKey, orderKey, runKey] = k.random.split(k.random.key(42), 4);
const x = k.random.normal(dataKey, [N, 8]);
const y = x.slice([[], [0, 1]]).greater(0).astype("int32").mul(2)
  .add(x.slice([[], [1, 2]]).sum({ axis: 1, keepdims: true }).greater(0).astype("int32"))
  .reshape([N]);
const data = { x, y };
await k.realize(x, y);

const optimizer = k.optim.adam(k.optim.cosineDecay({ init: 1e-2, decaySteps: STEPS }));
const params0 = k.nn.mlp.init(initKey, [8, 32, 4]);
const initial = {
  params: params0,
  opt: optimizer.init(params0),
  running: k.zeros([32]),
  key: runKey,
  step: 0,
  epoch: 0,
  batch: 0,
};
type State = typeof initial;

const loss = (p: k.nn.MlpParams, key: k.Tensor, bx: k.Tensor, by: k.Tensor) => {
  const [l1, l2] = p.layers;
  const h = k.relu(k.nn.linear.apply(l1, bx));
  const hd = k.nn.dropout(key, h, 0.2);
  return [k.nn.softmaxCrossEntropy(k.nn.linear.apply(l2, hd), by), h.mean({ axis: 0 })] as const;
};
const step = k.jit(
  (
    p: k.nn.MlpParams,
    o: k.optim.OptState,
    running: k.Tensor,
    key: k.Tensor,
    bx: k.Tensor,
    by: k.Tensor,
  ) => {
    const [value, grads] = k.valueAndGrad(loss, { hasAux: true })(p, key, bx, by);
    const mean = (value as unknown as [k.Tensor, k.Tensor])[1]; // [loss, aux] with hasAux
    const [updates, next] = optimizer.update(grads, o, p);
    return [k.optim.applyUpdates(p, updates), next, running.mul(0.9).add(mean.mul(0.1))] as const;
  },
);

const ckpt = k.io.checkpoint<State>(CKPT);
let s: State = (await ckpt.load({ like: initial, device: "cpu" })) ?? initial;
const perEpoch = k.data.numBatches(N, BATCH);
while (s.step < STEPS) {
  const order = k.data.batches(data, { batchSize: BATCH, key: k.random.foldIn(orderKey, s.epoch) });
  for (const b of order.drop(s.batch)) {
    const [key, sub] = k.random.split(s.key);
    const [params, opt, running] = step(s.params, s.opt, s.running, sub, b.x, b.y);
    const batch = s.batch + 1 === perEpoch ? 0 : s.batch + 1;
    s = {
      params,
      opt,
      running,
      key,
      step: s.step + 1,
      epoch: s.epoch + (batch === 0 ? 1 : 0),
      batch,
    };
    if (s.step % EVERY === 0) await ckpt.save(s);
    if (s.step === STEPS) break;
  }
}
await k.io.save(OUT, { params: s.params, opt: s.opt, running: s.running, key: s.key });
console.log(`done ${s.step}`);
