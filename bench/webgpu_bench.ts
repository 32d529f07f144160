/**
 * WebGPU backend benchmarks: matmul (Kiln's register-tiled WGSL vs a naive one-output-per-
 * invocation WGSL kernel written here, in the same group so ratios come from the same run),
 * a fused elementwise chain, row softmax, and one MLP training step (784-256-256-10, batch 128,
 * `valueAndGrad` + plain SGD) with its dispatch and submit counts.
 *
 * `deno bench --allow-read --allow-env bench/webgpu_bench.ts`. On a software adapter (llvmpipe)
 * matmul sizes stop at 512; `KILN_BENCH_LARGE=1` adds 1024 and 2048. Every timed iteration
 * waits for the GPU (`onSubmittedWorkDone`), so times include the device work; that wait costs
 * a few ms in Deno, which is why each iteration batches several launches where they are small.
 * A summary table (ms, GFLOP/s, ratio to the naive kernel) is printed before the benches.
 * @module
 */
import * as k from "../mod.ts";
import { getBackend } from "../core/backends/backend.ts";
import type { WebGpuBackend } from "../core/backends/webgpu/webgpu.ts";
import { seededFloat32 } from "./baselines.ts";

const adapter = (await k.devices()).find((d) => d.name === "webgpu");
if (!adapter) {
  console.log("webgpu bench: no WebGPU adapter; nothing to run");
  Deno.exit(0);
}
const be = getBackend("webgpu") as WebGpuBackend;
const device = await be.whenReady();
const W = { device: "webgpu" };
let large = false;
try {
  large = Deno.env.get("KILN_BENCH_LARGE") === "1";
} catch { /* no env permission */ }
const SIZES = adapter.hardware || large ? [256, 512, 1024, 2048] : [256, 512];

/** Waits until the GPU has finished everything submitted so far. */
const gpuDone = () => device.queue.onSubmittedWorkDone();

// ------------------------------------------------------------------ naive WGSL matmul ----

const NAIVE = (n: number) => `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.y;
  let j = g.x;
  if (i >= ${n}u || j >= ${n}u) { return; }
  var acc = 0.0f;
  for (var p = 0u; p < ${n}u; p++) { acc = acc + a[i * ${n}u + p] * b[p * ${n}u + j]; }
  c[i * ${n}u + j] = acc;
}`;

/** A naive matmul on raw WebGPU: one output per invocation, pipeline and buffers made once. */
function naiveMatmul(n: number, a: Float32Array, b: Float32Array) {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const bufs = [a, b, null].map((d) => {
    const buf = device.createBuffer({ size: n * n * 4, usage });
    if (d) device.queue.writeBuffer(buf, 0, d as Float32Array<ArrayBuffer>);
    return buf;
  });
  const module = device.createShaderModule({ code: NAIVE(n) });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module } });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const run = () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(n / 8), Math.ceil(n / 8));
    pass.end();
    device.queue.submit([enc.finish()]);
  };
  const read = async () => {
    const st = device.createBuffer({
      size: n * n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(bufs[2], 0, st, 0, n * n * 4);
    device.queue.submit([enc.finish()]);
    await st.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(st.getMappedRange().slice(0));
    st.unmap();
    st.destroy();
    return out;
  };
  return { run, read };
}

// ------------------------------------------------------------------------ summary ----

/** Mean milliseconds of `reps` calls of `f` after a warm-up, waiting for the GPU at the end. */
async function timeIt(f: () => void | Promise<void>, reps: number): Promise<number> {
  await f();
  await gpuDone();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  await gpuDone();
  return (performance.now() - t0) / reps;
}

const rows: string[][] = [["case", "ms", "GFLOP/s", "ratio"]];
const matmuls = new Map<
  number,
  { a: k.Tensor; b: k.Tensor; naive: ReturnType<typeof naiveMatmul> }
>();
for (const n of SIZES) {
  const ad = seededFloat32(n * n, 1), bd = seededFloat32(n * n, 2);
  const a = k.tensor(ad, { shape: [n, n], ...W }), b = k.tensor(bd, { shape: [n, n], ...W });
  const naive = naiveMatmul(n, ad, bd);
  matmuls.set(n, { a, b, naive });
  // Both kernels agree before anything is timed.
  naive.run();
  const [want, got] = [await naive.read(), await k.matmul(a, b).data()];
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - got[i]));
  if (!(diff <= 1e-3 * Math.sqrt(n))) {
    throw new Error(`matmul ${n}: kiln and naive differ by ${diff}`);
  }
  const reps = n <= 256 ? 10 : n <= 512 ? 4 : 2;
  const tNaive = await timeIt(naive.run, reps);
  const tKiln = await timeIt(async () => {
    const y = k.matmul(a, b);
    await k.realize(y);
    y.dispose();
  }, reps);
  const gf = (t: number) => (2 * n ** 3 / (t * 1e6)).toFixed(2);
  rows.push([`matmul ${n} naive WGSL`, tNaive.toFixed(2), gf(tNaive), "1.00"]);
  rows.push([`matmul ${n} kiln tiled`, tKiln.toFixed(2), gf(tKiln), (tNaive / tKiln).toFixed(2)]);
}

// Elementwise chain and softmax.
const EW = 1 << 20;
const xe = k.tensor(seededFloat32(EW, 3), W);
const chain = () => xe.mul(1.5).add(0.25).tanh().mul(xe.sigmoid()).sub(xe.abs().sqrt());
const SM = [256, 1024] as const;
const xs = k.tensor(seededFloat32(SM[0] * SM[1], 4), { shape: [...SM], ...W });
await k.realize(xe, xs);
/** Times `f` with vec4 elementwise kernels on or off. */
async function withVec4<T>(on: boolean, f: () => Promise<T>): Promise<T> {
  be.vectorize = on;
  try {
    return await f();
  } finally {
    be.vectorize = true;
  }
}
const runChain = (make: () => k.Tensor) => async () => {
  const y = make();
  await k.realize(y);
  y.dispose();
};
const tScalar = await withVec4(false, () => timeIt(runChain(chain), 5));
const tChain = await withVec4(true, () => timeIt(runChain(chain), 5));
const gbs = (t: number, bytes: number) => `${(bytes / (t * 1e6)).toFixed(2)} GB/s`;
rows.push([
  `elementwise chain, ${EW} float32, one output per invocation`,
  tScalar.toFixed(2),
  gbs(tScalar, EW * 8),
  "",
]);
rows.push([
  `elementwise chain, ${EW} float32, vec4 loads/stores`,
  tChain.toFixed(2),
  gbs(tChain, EW * 8),
  `${(tScalar / tChain).toFixed(2)} vs scalar`,
]);
const f16 = adapter.dtypes.includes("float16");
const xh = f16 ? xe.astype("float16") : null;
if (xh) {
  await k.realize(xh);
  const chainH = () => xh.mul(1.5).add(0.25).tanh().mul(xh.sigmoid()).sub(xh.abs().sqrt());
  const tHalf = await timeIt(runChain(chainH), 5);
  rows.push([
    `elementwise chain, ${EW} float16 (shader-f16), vec4`,
    tHalf.toFixed(2),
    gbs(tHalf, EW * 4),
    `${(tChain / tHalf).toFixed(2)} vs float32`,
  ]);
}
const tSoft = await timeIt(async () => {
  const y = k.softmax(xs, { axis: -1 });
  await k.realize(y);
  y.dispose();
}, 5);
rows.push([
  `row softmax [${SM}] (${k.schedule(k.softmax(xs, { axis: -1 })).length} kernels)`,
  tSoft
    .toFixed(2),
  "",
  "",
]);

// ------------------------------------------------------------------- MLP train step ----

const MLP = [784, 256, 256, 10] as const;
const BATCH = 128, LR = 0.05;
const xm = k.tensor(seededFloat32(BATCH * MLP[0], 11), { shape: [BATCH, MLP[0]], ...W });
const labels = k.tensor(Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + 3) % MLP[3]), W);
interface Params {
  ws: k.Tensor[];
  bs: k.Tensor[];
}
const params: Params = {
  ws: MLP.slice(0, -1).map((n, l) => {
    const m = MLP[l + 1], scale = Math.sqrt(6 / (n + m));
    return k.tensor(seededFloat32(n * m, 20 + l).map((v) => v * scale), { shape: [n, m], ...W });
  }),
  bs: MLP.slice(1).map((m, l) =>
    k.tensor(seededFloat32(m, 30 + l).map((v) => v * 0.01), { shape: [m], ...W })
  ),
};
function loss(p: Params, x: k.Tensor, y: k.Tensor): k.Tensor {
  let h = x;
  p.ws.forEach((w, l) => {
    const z = h.matmul(w).add(p.bs[l]);
    h = l < p.ws.length - 1 ? k.relu(z) : z;
  });
  return k.oneHot(y, MLP[3]).mul(k.logSoftmax(h, { axis: -1 })).sum({ axis: -1 }).mean().neg();
}
async function trainStep(): Promise<k.Tensor[]> {
  const [value, g] = k.valueAndGrad(loss)(params, xm, labels);
  const grads = g as Params;
  const out = [
    value,
    ...params.ws.map((w, l) => w.sub(grads.ws[l].mul(LR))),
    ...params.bs.map((b, l) => b.sub(grads.bs[l].mul(LR))),
  ];
  await k.realize(...out);
  return out;
}
for (const t of await trainStep()) t.dispose();
be.resetStats();
for (const t of await trainStep()) t.dispose();
const st = be.stats();
const tStep = await timeIt(async () => {
  for (const t of await trainStep()) t.dispose();
}, 5);
rows.push([
  `MLP 784-256-256-10 train step, batch 128 (${st.dispatches} dispatches, ${st.executeSubmits} submit)`,
  tStep.toFixed(2),
  "",
  "",
]);
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`\nwebgpu on ${adapter.description}${adapter.hardware ? "" : " (software)"}`);
for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c])).join("  "));
console.log(
  `per MLP train step: ${st.dispatches} dispatches, ${st.executeSubmits} execute submit(s), ` +
    `${st.submits} submits in all, ${st.pipelines} new pipelines\n`,
);

// -------------------------------------------------------------------- Deno.bench ----

for (const n of SIZES) {
  const { a, b, naive } = matmuls.get(n)!;
  Deno.bench({
    name: `naive WGSL, one output per invocation`,
    group: `matmul ${n}`,
    baseline: true,
    n: 5,
    warmup: 1,
    async fn() {
      naive.run();
      await gpuDone();
    },
  });
  Deno.bench({
    name: `kiln k.matmul (register-tiled WGSL)`,
    group: `matmul ${n}`,
    n: 5,
    warmup: 1,
    async fn() {
      const y = k.matmul(a, b);
      await k.realize(y);
      await gpuDone();
      y.dispose();
    },
  });
}

Deno.bench({
  name: `fused elementwise chain, ${EW} elements, one output per invocation`,
  group: "elementwise",
  baseline: true,
  n: 10,
  warmup: 2,
  async fn() {
    be.vectorize = false;
    try {
      const y = chain();
      await k.realize(y);
      await gpuDone();
      y.dispose();
    } finally {
      be.vectorize = true;
    }
  },
});

Deno.bench({
  name: `fused elementwise chain, ${EW} elements, vec4`,
  group: "elementwise",
  n: 10,
  warmup: 2,
  async fn() {
    const y = chain();
    await k.realize(y);
    await gpuDone();
    y.dispose();
  },
});

Deno.bench({
  name: `row softmax [${SM}]`,
  group: "softmax",
  n: 10,
  warmup: 2,
  async fn() {
    const y = k.softmax(xs, { axis: -1 });
    await k.realize(y);
    await gpuDone();
    y.dispose();
  },
});

Deno.bench({
  name: "MLP 784-256-256-10 train step (valueAndGrad + SGD, one realize)",
  group: "mlp train step",
  n: 10,
  warmup: 2,
  async fn() {
    for (const t of await trainStep()) t.dispose();
    await gpuDone();
  },
});
