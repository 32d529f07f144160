/**
 * CPU contraction kernels: the JS register-blocked tiles (baseline, float64 accumulation)
 * against the WebAssembly SIMD kernel, compiled from the same kernel IR in the same run, for
 * square products and the shapes of a 784-256 MLP layer at batch 128 (forward with its fused
 * bias + relu, the weight gradient `xᵀ·dz` and the input gradient `dz·Wᵀ`, whose transposed
 * operands the wasm path copies or gathers into its memory).
 *
 * Each bench times one kernel launch on realized inputs, so graph building and scheduling are
 * left out (`core_bench.ts` times the whole `k.matmul` path). A GFLOP/s table (best of several
 * timed runs) is printed before the benches.
 *
 * `deno bench --allow-read --allow-env bench/cpu_matmul_bench.ts`
 * @module
 */
import * as k from "../mod.ts";
import { getBackend } from "../core/backends/backend.ts";
import type { CpuBackend, CpuBuffer } from "../core/backends/cpu/cpu.ts";
import { setWasmContractions } from "../core/backends/cpu/matmul.ts";
import { sgemmAvailable, sgemmVariant } from "../core/backends/cpu/wasm/sgemm.ts";
import { scheduleNodes } from "../core/schedule/schedule.ts";
import { maxAbsDiff, seededFloat32 } from "./baselines.ts";

const cpu = getBackend("cpu") as CpuBackend;
let seed = 100;
const input = (shape: number[]) =>
  k.tensor(seededFloat32(shape.reduce((a, d) => a * d, 1), seed++), { shape, device: "cpu" });

/** The one kernel computing `t`, compiled with or without the wasm path, as a thunk. */
function kernel(t: k.Tensor, wasm: boolean): { run: () => void; out: Float32Array } {
  const items = scheduleNodes([t.node]);
  const it = items[0];
  if (items.length !== 1 || it.kind !== "kernel") throw new Error("expected one kernel");
  const was = setWasmContractions(wasm);
  const compiled = cpu.compile(it.ir);
  setWasmContractions(was);
  if (compiled.source.includes("H.sgemm") !== wasm) throw new Error("unexpected kernel path");
  const ins = it.inputs.map((n) => (n.buffer as CpuBuffer).data);
  const out = new Float32Array(it.ir.outShape.reduce((a, d) => a * d, 1));
  return { run: () => compiled.fn(out, ins), out };
}

/** Best time per call in ms over a few timed runs of `reps` calls. */
function bestMs(run: () => void, reps: number): number {
  for (let i = 0; i < reps; i++) run();
  let best = Infinity;
  for (let t = 0; t < 5; t++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

interface Case {
  name: string;
  /** Multiply-adds. */
  macs: number;
  make: () => k.Tensor;
}

const cases: Case[] = [128, 256, 512].map((n) => {
  const a = input([n, n]), b = input([n, n]);
  return { name: `matmul ${n}x${n}x${n}`, macs: n ** 3, make: () => k.matmul(a, b) };
});
{
  const [B, I, O] = [128, 784, 256];
  const x = input([B, I]), w = input([I, O]), bias = input([O]), dz = input([B, O]);
  cases.push(
    {
      name: `MLP forward relu(x·W + b) ${B}x${I} · ${I}x${O}`,
      macs: B * I * O,
      make: () => k.relu(k.matmul(x, w).add(bias)),
    },
    {
      name: `MLP weight grad xᵀ·dz ${I}x${B} · ${B}x${O}`,
      macs: B * I * O,
      make: () => x.T.matmul(dz),
    },
    {
      name: `MLP input grad dz·Wᵀ ${B}x${O} · ${O}x${I}`,
      macs: B * I * O,
      make: () => dz.matmul(w.T),
    },
  );
}
await k.realize(...cases.map((c) => c.make()));

if (!sgemmAvailable()) {
  console.log("cpu matmul bench: no WebAssembly SIMD here; nothing to compare");
} else {
  const v = sgemmVariant()!;
  console.log(`wasm kernel: ${v.rows}x8 tiles, ${v.fma ? "relaxed_madd (FMA)" : "mul + add"}`);
  console.log("| contraction | JS tiles GFLOP/s | wasm SIMD GFLOP/s | speedup |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const c of cases) {
    const js = kernel(c.make(), false), wasm = kernel(c.make(), true);
    js.run();
    wasm.run();
    // Float32 accumulation over K terms: compare with a tolerance that grows with K.
    const d = maxAbsDiff(js.out, wasm.out);
    if (!(d <= 1e-3)) throw new Error(`${c.name}: JS and wasm differ by ${d}`);
    const reps = Math.max(2, Math.round(2e7 / c.macs));
    const [tj, tw] = [bestMs(js.run, reps), bestMs(wasm.run, reps)];
    const gf = (ms: number) => (2 * c.macs / ms / 1e6).toFixed(1);
    console.log(`| ${c.name} | ${gf(tj)} | ${gf(tw)} | ${(tj / tw).toFixed(1)}x |`);
    Deno.bench({ name: `JS tiles: ${c.name}`, group: c.name, baseline: true, fn: js.run });
    Deno.bench({ name: `wasm SIMD: ${c.name}`, group: c.name, fn: wasm.run });
  }
}
