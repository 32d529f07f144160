/**
 * Sequence-model speed against PyTorch (issue 12.6): one training step (jitted valueAndGrad +
 * Adam) of
 * - an LSTM: `k.nn.lstm` 256 → 256, one layer, sequence 64, batch 32 (time-first), MSE to a
 *   fixed random target;
 * - a transformer block stack: 4 × `k.nn.transformerEncoderLayer` (d_model 256, 4 heads,
 *   feed-forward 1024, post-norm, ReLU, causal, no dropout), batch 32 × sequence 64, MSE;
 * and the LSTM's forward pass alone (for the backward/forward ratio of the residual-saving scan).
 * `bench/torch_seq.py --json FILE` times the same steps in PyTorch (2 threads); with
 * `KILN_TORCH_RESULTS=FILE` this script prints PyTorch's time and the Kiln/PyTorch ratio.
 *
 *   /usr/bin/python3 bench/torch_seq.py --json /tmp/torch_seq.json
 *   KILN_TORCH_RESULTS=/tmp/torch_seq.json npx -y deno@2.9.6 run -A bench/seq_bench.ts
 *
 * A plain script (a step takes up to seconds): each figure is the median over rounds of the mean
 * time per call in a round; each round ends by reading the last call's loss. CPU backend only
 * (`KILN_DEVICE` is ignored); `--rounds N` (default 3), `--calls N` (default 3).
 * @module
 */
import * as k from "../mod.ts";

const argv = Deno.args;
const num = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const ROUNDS = num("rounds", 3), CALLS = num("calls", 3);
const T = 64, B = 32, H = 256, LAYERS = 4, HEADS = 4, FF = 1024;

let torchMs: Record<string, number> = {};
try {
  const path = Deno.env.get("KILN_TORCH_RESULTS");
  if (path) torchMs = JSON.parse(await Deno.readTextFile(path)).ms;
} catch (e) {
  console.error(`seq_bench: cannot read KILN_TORCH_RESULTS: ${(e as Error).message}`);
}
const device = "cpu";
k.setDefaultDevice(device);

/** Median over rounds of the mean ms per call; `call` returns a tensor read at a round's end. */
async function time(name: string, call: () => k.Tensor): Promise<number> {
  await call().data(); // compile
  await call().data();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    let last: k.Tensor | undefined;
    for (let c = 0; c < CALLS; c++) last = call();
    await last!.data();
    rounds.push((performance.now() - t0) / CALLS);
  }
  rounds.sort((a, b) => a - b);
  const ms = rounds[Math.floor(rounds.length / 2)];
  const ref = torchMs[name];
  const cmp = ref ? `  torch ${ref.toFixed(1)} ms  ratio ${(ms / ref).toFixed(2)}×` : "";
  console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms${cmp}`);
  return ms;
}

const key = k.random.key(0, { device });
const [kx, ky, kp, kz, kw] = k.random.split(key, 5);
const mse = (a: k.Tensor, b: k.Tensor) => k.nn.mse(a, b);
const adam = k.optim.adam(1e-3);

// LSTM: x [T, B, H] (time-first, torch's default), one layer.
{
  const x = k.random.normal(kx, [T, B, H]), target = k.random.normal(ky, [T, B, H]);
  let p = k.nn.lstm.init(kp, H, H);
  type P = typeof p;
  let o = adam.init(p);
  const loss = (q: P) => mse(k.nn.lstm.apply(q, x)[0], target);
  const step = k.jit((q: P, s: k.optim.OptState) => {
    const [v, g] = k.valueAndGrad(loss)(q);
    const [u, s2] = adam.update(g, s, q);
    return [k.optim.applyUpdates(q, u) as P, s2, v] as const;
  });
  const fwd = k.jit(loss);
  await time("lstm forward", () => fwd(p));
  await time("lstm train step", () => {
    let v: k.Tensor;
    [p, o, v] = step(p, o);
    return v;
  });
}

// Transformer: 4 encoder layers, x [B, T, H] batch-first, causal self-attention.
{
  const x = k.random.normal(kz, [B, T, H]), target = k.random.normal(kw, [B, T, H]);
  const ks = k.random.split(kp, LAYERS);
  let p = ks.map((kk) => k.nn.transformerEncoderLayer.init(kk, H, HEADS, { dimFeedforward: FF }));
  type P = typeof p;
  let o = adam.init(p);
  const forward = (q: P) =>
    q.reduce(
      (h, layer) =>
        k.nn.transformerEncoderLayer.apply(layer, h, {
          numHeads: HEADS,
          batchFirst: true,
          causal: true,
          dropout: 0,
        }),
      x,
    );
  const loss = (q: P) => mse(forward(q), target);
  const step = k.jit((q: P, s: k.optim.OptState) => {
    const [v, g] = k.valueAndGrad(loss)(q);
    const [u, s2] = adam.update(g, s, q);
    return [k.optim.applyUpdates(q, u) as P, s2, v] as const;
  });
  const fwd = k.jit(loss);
  await time("transformer x4 forward", () => fwd(p));
  await time("transformer x4 train step", () => {
    let v: k.Tensor;
    [p, o, v] = step(p, o);
    return v;
  });
}
