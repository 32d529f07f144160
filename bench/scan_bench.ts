/**
 * `scan` reverse mode: a 256-step LSTM (hidden 256, input 64, batch 32; the cell written by
 * hand with k.matmul / k.sigmoid / k.tanh), jitted forward vs jitted forward + backward, with
 * the body plain (reverse mode saves the residuals) and wrapped in `k.checkpoint` (reverse
 * mode recomputes the body, as scan did before residuals). Backward time = (forward +
 * backward) - forward.
 *
 * `deno bench --allow-read --allow-env bench/scan_bench.ts`, or for a table with the ratios
 * (medians of REPS runs): `deno run --allow-read --allow-env bench/scan_bench.ts --report`
 * @module
 */
import * as k from "../mod.ts";
import { seededFloat32 } from "./baselines.ts";

const T = 256, B = 32, D = 64, H = 256;
const REPS = 7;

interface Params {
  wx: k.Tensor;
  wh: k.Tensor;
  b: k.Tensor;
}
const s = 1 / Math.sqrt(H);
const params: Params = {
  wx: k.tensor(seededFloat32(D * 4 * H, 1).map((v) => v * s), { shape: [D, 4 * H] }),
  wh: k.tensor(seededFloat32(H * 4 * H, 2).map((v) => v * s), { shape: [H, 4 * H] }),
  b: k.tensor(seededFloat32(4 * H, 3).map((v) => v * s)),
};
const xs = k.tensor(seededFloat32(T * B * D, 4), { shape: [T, B, D] });
const h0 = k.zeros([B, H]), c0 = k.zeros([B, H]);

type Carry = [k.Tensor, k.Tensor];

/** One LSTM step (PyTorch's gate order i, f, g, o). */
function cell(p: Params, [h, c]: Carry, x: k.Tensor): [Carry, k.Tensor] {
  const z = k.matmul(x, p.wx).add(k.matmul(h, p.wh)).add(p.b);
  const [i, f, g, o] = k.split(z, 4, { axis: 1 });
  const c2 = k.sigmoid(f).mul(c).add(k.sigmoid(i).mul(k.tanh(g)));
  const h2 = k.sigmoid(o).mul(k.tanh(c2));
  return [[h2, c2], h2];
}

/** Mean square of every hidden state, through scan (the body checkpointed or not). */
function lossOf(remat: boolean) {
  return (p: Params, xs: k.Tensor): k.Tensor => {
    const body = (cr: Carry, x: k.Tensor) => cell(p, cr, x);
    const f = remat ? k.checkpoint(body) : body;
    const [, hs] = k.scan(f, [h0, c0] as Carry, xs);
    return hs.mul(hs).mean();
  };
}

const hasCheckpoint = "checkpoint" in k;
const variants = hasCheckpoint ? [["residuals", false], ["checkpoint", true]] as const : [
  ["recompute (before residuals)", false],
] as const;

const fns = variants.map(([name, remat]) => {
  const loss = lossOf(remat);
  const fwd = k.jit(loss);
  const both = k.jit((p: Params, xs: k.Tensor) => {
    const [v, g] = k.valueAndGrad(loss)(p, xs);
    return [v, g] as [k.Tensor, Params];
  });
  return { name, fwd, both };
});

async function runFwd(f: (p: Params, xs: k.Tensor) => k.Tensor): Promise<void> {
  await f(params, xs).data();
}
async function runBoth(f: (p: Params, xs: k.Tensor) => [k.Tensor, Params]): Promise<void> {
  const [v, g] = f(params, xs);
  await k.realize(v, g.wx, g.wh, g.b);
  await v.data();
}
for (const f of fns) {
  await runFwd(f.fwd);
  await runBoth(f.both);
}

if (Deno.args.includes("--report")) {
  const median = async (run: () => Promise<void>) => {
    const ts: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      await run();
      ts.push(performance.now() - t0);
    }
    return ts.sort((a, b) => a - b)[REPS >> 1];
  };
  console.log(`LSTM T=${T} B=${B} D=${D} H=${H}, ${k.defaultDevice()}, median of ${REPS}`);
  for (const f of fns) {
    const tf = await median(() => runFwd(f.fwd));
    const tb = await median(() => runBoth(f.both));
    const scanLine = f.both.lower(params, xs).kernels.find((l) => l.startsWith("call scan"));
    const outs = scanLine?.match(/(\d+) output/)?.[1] ?? "?";
    console.log(
      `${f.name}: forward ${tf.toFixed(0)} ms, forward+backward ${tb.toFixed(0)} ms, ` +
        `backward ${(tb - tf).toFixed(0)} ms = ${((tb - tf) / tf).toFixed(2)}x forward ` +
        `(forward scan outputs: ${outs})`,
    );
  }
} else {
  for (const f of fns) {
    Deno.bench({
      name: `LSTM forward [${f.name}]`,
      group: f.name,
      baseline: true,
      async fn() {
        await runFwd(f.fwd);
      },
    });
    Deno.bench({
      name: `LSTM forward + backward [${f.name}]`,
      group: f.name,
      async fn() {
        await runBoth(f.both);
      },
    });
  }
}
