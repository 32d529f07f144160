/**
 * Convolutional speed, side by side: the training step of examples/fashion_cnn.ts's CNN
 * (jitted valueAndGrad + Adam, batch 64 and 128) and single convolutions (3×3 and 5×5, stride 1
 * and 2, 16–64 channels, batch 32, 28×28, padding k/2), forward and forward+backward (input and
 * weight gradients of `sum(conv(x, w) * r)`), on `cpu` and on `webgpu` when an adapter exists.
 * Each convolution is also computed by plain-JS loops (bench/conv_baseline.ts) in the same run:
 * they check Kiln's values and give the naive GFLOP/s. `bench/torch_cnn.py --json FILE` times the
 * same work in PyTorch; with `KILN_TORCH_RESULTS=FILE` the tables add PyTorch's ms and the
 * Kiln/PyTorch ratio. See bench/README.md.
 *
 *   npx -y deno@2.9.6 run --allow-read --allow-env bench/cnn_bench.ts
 *
 * A plain script with its own timing loop (a step takes up to seconds, too long for
 * `deno bench`'s sampling): each figure is the median over rounds of the mean time per call in a
 * round, and each round ends by reading the last call's outputs, so WebGPU times include the
 * device work (a software adapter gets 1–2 calls a round and the step at batch 64 only, as its
 * shader compilation alone takes minutes). `KILN_BENCH_DEVICES=cpu` restricts the devices;
 * `KILN_BENCH_NAIVE=0` skips the plain-JS loops (and the value check). `KILN_BENCH_CLOCK=cpu`
 * times with this process's CPU time instead of the wall clock: on a machine shared with other
 * work that is close to the unloaded wall time of the (single-threaded) CPU backend; compare it
 * with `torch_cnn.py --clock cpu --threads 1`.
 * @module
 */
import process from "node:process";
import * as k from "../mod.ts";
import { seededFloat32 } from "./baselines.ts";
import { convMacs, type ConvShape, naiveConv, naiveConvGrads } from "./conv_baseline.ts";

/** In channels, out channels, kernel, stride: the cases of bench/torch_cnn.py, in its order. */
const CONVS: [number, number, number, number][] = [
  [16, 32, 3, 1],
  [32, 64, 3, 1],
  [64, 64, 3, 1],
  [32, 64, 3, 2],
  [16, 32, 5, 1],
  [32, 64, 5, 2],
];
const STEP_BATCHES = [64, 128];

const env = (name: string) => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
};
const torchPath = env("KILN_TORCH_RESULTS");
const torchRun: { threads?: number; clock?: string; ms: Record<string, number> } = torchPath
  ? JSON.parse(await Deno.readTextFile(torchPath))
  : { ms: {} };
const torch = torchRun.ms;
const naive = env("KILN_BENCH_NAIVE") !== "0";
const infos = await k.devices();
const adapters = infos.map((d) => d.name);
// Software adapters (llvmpipe) compile the step's shaders for minutes and run it in seconds:
// fewer calls there, and the train step at batch 64 only.
const software = new Set(infos.filter((d) => !d.hardware).map((d) => d.name));
const devices = (env("KILN_BENCH_DEVICES")?.split(",") ?? ["cpu", "webgpu"]).filter((d) =>
  adapters.includes(d)
);

/** Milliseconds on the chosen clock: wall time, or this process's CPU time (user + system). */
const cpuClock = env("KILN_BENCH_CLOCK") === "cpu";
const now = () => {
  if (!cpuClock) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Median over `rounds` of the mean ms per call of `reps` calls, after `warmup` calls. */
async function timeMs(
  call: () => k.Tensor[],
  opts: { warmup: number; reps: number; rounds: number },
): Promise<number> {
  const wait = async (outs: k.Tensor[]) => {
    for (const t of outs) await t.data();
  };
  for (let i = 0; i < opts.warmup; i++) await wait(call());
  const means: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const t0 = now();
    let outs: k.Tensor[] = [];
    for (let i = 0; i < opts.reps; i++) outs = call();
    await wait(outs);
    means.push((now() - t0) / opts.reps);
  }
  means.sort((a, b) => a - b);
  return means[Math.floor(means.length / 2)];
}

const gflops = (macs: number, ms: number) => (2 * macs / ms / 1e6).toFixed(1);
const vsTorch = (name: string, ms: number) =>
  torch[name] === undefined ? "–" : `${(ms / torch[name]).toFixed(2)}`;
const torchMs = (name: string, digits: number) => torch[name]?.toFixed(digits) ?? "–";

function relErr(got: Float32Array, want: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / (m || 1);
}

/** The CNN of examples/fashion_cnn.ts. */
function cnn() {
  const L = k.nn.layers;
  return k.nn.sequential([
    L.conv2d(1, 32, 3, { padding: 1 }),
    L.maxPool2d(2),
    L.batchNorm(32),
    k.nn.relu,
    L.conv2d(32, 64, 3, { padding: 1 }),
    L.maxPool2d(2),
    L.batchNorm(64),
    k.nn.relu,
    L.flatten(),
    L.dropout(0.25),
    L.linear(64 * 7 * 7, 128),
    k.nn.relu,
    L.linear(128, 10),
  ]);
}

/** Milliseconds per jitted train step (forward, backward, Adam) at batch `b` on `device`. */
async function trainStepMs(device: string, b: number): Promise<number> {
  const model = cnn();
  type P = ReturnType<typeof model.init>["params"];
  type S = ReturnType<typeof model.init>["state"];
  const vars = model.init(k.random.key(0, { device }));
  const optimizer = k.optim.adam(2e-3);
  const x = k.random.normal(k.random.key(1, { device }), [b, 1, 28, 28]);
  const y = k.random.randint(k.random.key(2, { device }), [b], 0, 10);
  const loss = (p: P, s: S, key: k.Tensor) => {
    const [logits, s2] = model.apply(p, s, x, { training: true, key });
    return [k.nn.softmaxCrossEntropy(logits, y), s2] as const;
  };
  const step = k.jit((p: P, o: k.optim.OptState, s: S, key: k.Tensor) => {
    const [aux, grads] = k.valueAndGrad(loss, { hasAux: true })(p, s, key);
    const [value, s2] = aux as unknown as [k.Tensor, S];
    const [updates, o2] = optimizer.update(grads, o, p);
    return [k.optim.applyUpdates(p, updates) as P, o2, s2, value] as const;
  });
  let [p, o, s] = [vars.params, optimizer.init(vars.params), vars.state];
  const key = k.random.key(3, { device });
  let i = 0;
  return await timeMs(() => {
    let value: k.Tensor;
    [p, o, s, value] = step(p, o, s, k.random.foldIn(key, i++));
    return [value];
  }, software.has(device) ? { warmup: 1, reps: 1, rounds: 3 } : { warmup: 2, reps: 5, rounds: 3 });
}

console.log(
  `devices: ${devices.join(", ")}; clock: ${cpuClock ? "process CPU time" : "wall"}${
    torchPath
      ? `; PyTorch figures from ${torchPath} (${torchRun.threads} threads, clock: ${
        torchRun.clock ?? "wall"
      })`
      : ""
  }`,
);
for (const device of devices) {
  console.log(`\n${device}: CNN train step (jitted valueAndGrad + Adam)`);
  console.log("| train step (CNN, Adam) | ms/step | conv GFLOP/s | PyTorch ms | Kiln/PyTorch |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const b of software.has(device) ? STEP_BATCHES.slice(0, 1) : STEP_BATCHES) {
    const ms = await trainStepMs(device, b);
    const name = `cnn train step batch ${b}`;
    const macs = 3 * b * (32 * 28 * 28 * 9 + 64 * 14 * 14 * 32 * 9); // conv forward + 2 backward
    console.log(
      `| ${name} | ${ms.toFixed(1)} | ${gflops(macs, ms)} | ${torchMs(name, 1)} | ${
        vsTorch(name, ms)
      } |`,
    );
  }
}

const naiveResults = new Map<string, {
  y: Float32Array;
  dx: Float32Array;
  dk: Float32Array;
  fwdMs: number;
  fbMs: number;
}>();
for (const device of devices) {
  console.log(`\n${device}: convolutions, batch 32, 28×28, padding k/2 (ms per call, GFLOP/s)`);
  console.log(
    "| convolution | fwd ms | GFLOP/s | fwd+bwd ms | GFLOP/s | naive JS fwd GFLOP/s | " +
      "naive fwd+bwd GFLOP/s | PyTorch fwd ms | PyTorch fwd+bwd ms | Kiln/PyTorch fwd | " +
      "fwd+bwd |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [c, o, kk, stride] of CONVS) {
    const s: ConvShape = { n: 32, c, h: 28, w: 28, o, kh: kk, kw: kk, stride, pad: kk >> 1 };
    const name = `conv ${kk}x${kk} s${stride} ${c}->${o}`;
    const macs = convMacs(s);
    const xd = seededFloat32(s.n * c * 28 * 28, 1), kd = seededFloat32(o * c * kk * kk, 2);
    const x = k.tensor(xd, { shape: [s.n, c, 28, 28], device });
    const w = k.tensor(kd, { shape: [o, c, kk, kk], device });
    const opts = { stride, padding: kk >> 1 };
    const fwd = k.jit((x: k.Tensor, w: k.Tensor) => k.conv(x, w, opts));
    const yShape = fwd(x, w).shape;
    const rd = seededFloat32(yShape.reduce((a, d) => a * d, 1), 3);
    const r = k.tensor(rd, { shape: yShape, device });
    const fb = k.jit((x: k.Tensor, w: k.Tensor, r: k.Tensor) =>
      k.grad((x: k.Tensor, w: k.Tensor) => k.conv(x, w, opts).mul(r).sum(), {
        argnums: [0, 1],
      })(x, w) as unknown as k.Tensor[]
    );
    let ref = naiveResults.get(name);
    if (naive && !ref) {
      let t0 = now();
      const y = naiveConv(xd, kd, s);
      const fwdMs = now() - t0;
      t0 = now();
      const { dx, dk } = naiveConvGrads(xd, kd, rd, s);
      ref = { y, dx, dk, fwdMs: fwdMs, fbMs: fwdMs + now() - t0 };
      naiveResults.set(name, ref);
    }
    if (ref) {
      const [dx, dw] = fb(x, w, r);
      const errs = [
        relErr(await fwd(x, w).data() as Float32Array, ref.y),
        relErr(await dx.data() as Float32Array, ref.dx),
        relErr(await dw.data() as Float32Array, ref.dk),
      ];
      if (!errs.every((e) => e <= 1e-4)) {
        throw new Error(`${name} on ${device}: relative errors y/dx/dw ${errs} vs plain JS`);
      }
    }
    const t = software.has(device) ? { warmup: 1, reps: 2, rounds: 3 } : {
      warmup: 2,
      reps: 5,
      rounds: 3,
    };
    const fMs = await timeMs(() => [fwd(x, w)], t);
    const fbMs = await timeMs(() => fb(x, w, r), t);
    const naiveF = ref ? gflops(macs, ref.fwdMs) : "–";
    const naiveFb = ref ? gflops(3 * macs, ref.fbMs) : "–";
    console.log(
      `| ${name} | ${fMs.toFixed(2)} | ${gflops(macs, fMs)} | ${fbMs.toFixed(2)} | ${
        gflops(3 * macs, fbMs)
      } | ${naiveF} | ${naiveFb} | ${torchMs(`${name} forward`, 2)} | ${
        torchMs(`${name} fwd+bwd`, 2)
      } | ${vsTorch(`${name} forward`, fMs)} | ${vsTorch(`${name} fwd+bwd`, fbMs)} |`,
    );
  }
}
