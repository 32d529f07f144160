/**
 * Soak: a jitted training loop (a 16-32-4 MLP fitting a fixed teacher MLP, Adam) runs 10,000
 * steps on the CPU and 500 on WebGPU, and neither live device buffers (`k.memoryStats()`) nor
 * the process's resident memory (`Deno.memoryUsage().rss`) grow after warm-up. A leak of a
 * single small tensor per step shows up as thousands of buffers; a leak of one step's
 * intermediates as tens of megabytes. The student must also learn (its loss falls below 2% of
 * the starting loss), so the loop is doing real work the whole time.
 *
 * `KILN_SOAK_STEPS=n` scales the CPU run (e.g. 100000 for a longer soak by hand).
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { DEVICES } from "./_util.ts";

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Collects garbage and lets finalizers run (the test task passes --expose-gc) until the count
 * of live buffers stops changing.
 */
async function settle(): Promise<void> {
  let prev = -1, same = 0;
  for (let i = 0; i < 50 && same < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 1));
    const now = k.memoryStats().buffers;
    same = now === prev ? same + 1 : 0;
    prev = now;
  }
}

const MB = 1024 * 1024;

function envSteps(): number | undefined {
  try {
    const v = Deno.env.get("KILN_SOAK_STEPS");
    return v ? Number(v) : undefined;
  } catch {
    return undefined;
  }
}

interface Sample {
  step: number;
  buffers: number;
  bytes: number;
  rss: number;
}

async function soak(device: string, steps: number): Promise<void> {
  const [teacherKey, studentKey, dataKey] = k.random.split(k.random.key(5, { device }), 3);
  const teacher = k.nn.mlp.init(teacherKey, [16, 8, 4]);
  const x = k.random.normal(dataKey, [64, 16]);
  const y = k.nn.mlp.apply(teacher, x);
  await k.realize(x, y);
  const optimizer = k.optim.adam(3e-3);
  let params = k.nn.mlp.init(studentKey, [16, 32, 4]);
  let state = optimizer.init(params);
  const loss = (p: k.nn.MlpParams) => k.nn.mse(k.nn.mlp.apply(p, x), y);
  const step = k.jit((p: k.nn.MlpParams, s: k.optim.OptState) => {
    const [value, grads] = k.valueAndGrad(loss)(p);
    const [updates, next] = optimizer.update(grads, s, p);
    return [k.optim.applyUpdates(p, updates), next, value] as const;
  });
  const samples: Sample[] = [];
  const sample = async (i: number) => {
    await settle();
    const m = k.memoryStats();
    samples.push({ step: i, buffers: m.buffers, bytes: m.bytes, rss: Deno.memoryUsage().rss });
  };
  const warm = Math.floor(steps / 10);
  const every = Math.max(1, Math.floor(steps / 10));
  let first = NaN, last = NaN;
  let peak = 0;
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    let value: k.Tensor;
    [params, state, value] = step(params, state);
    // Reading the loss now and then realizes the loop on WebGPU (no sync per step on the CPU).
    if (i === 1) first = await value.item() as number;
    if (device !== "cpu" && i % 10 === 0) await k.realize(value);
    if (i % every === 0) {
      last = await value.item() as number;
      if (i >= warm) await sample(i);
    }
    peak = Math.max(peak, k.memoryStats().buffers);
  }
  const ms = performance.now() - t0;
  // The baseline is taken after warm-up: the first steps grow the heap and WebAssembly memory
  // (which never shrinks) to their working size once; a leak keeps growing after that.
  const base = samples.find((s) => s.step >= 0.3 * steps)!, end = samples[samples.length - 1];
  const after = samples.filter((s) => s.step >= base.step);
  const maxRss = Math.max(...after.map((s) => s.rss));
  console.log(
    `  ${device}: ${steps} steps in ${(ms / 1000).toFixed(1)} s (${(ms / steps).toFixed(2)} ` +
      `ms/step); live buffers ${base.buffers} at step ${base.step} -> ${end.buffers} at ` +
      `${end.step} (peak ${peak} without GC); rss ${(base.rss / MB).toFixed(1)} -> ` +
      `${(end.rss / MB).toFixed(1)} MB (max ${(maxRss / MB).toFixed(1)}); loss ${
        first.toFixed(4)
      } -> ${last.toExponential(2)}`,
  );
  assert.ok(last < 0.02 * first, `the student did not learn: ${first} -> ${last}`);
  // Live buffers after warm-up: params, optimizer state, data and teacher, give or take the
  // outputs of the last step or two that the collector has not finalized yet (14 a step); a
  // leak of one tensor per step would add thousands.
  for (const s of after) {
    assert.ok(
      Math.abs(s.buffers - base.buffers) <= 64,
      `live buffers drift: ${samples.map((q) => `${q.step}:${q.buffers}`).join(" ")}`,
    );
  }
  // Without a turn of the event loop finalizers cannot run, so on the CPU (whose steps are
  // synchronous) the count lags by up to one reading interval of step outputs: bounded, not
  // growing (the memory itself is reclaimed by the collector: see rss).
  assert.ok(peak < base.buffers + 16 * every, `peak live buffers ${peak}`);
  // Resident memory: flat within allocator noise (leaking one step's outputs, ~8 KB, would add
  // ~56 MB over the last 7,000 CPU steps).
  assert.ok(
    end.rss - base.rss < 8 * MB && maxRss - base.rss < 16 * MB,
    `rss grew: ${after.map((q) => `${q.step}:${(q.rss / MB).toFixed(1)}`).join(" ")}`,
  );
}

for (const device of DEVICES) {
  const steps = device === "cpu" ? (envSteps() ?? 10_000) : 500;
  Deno.test(`soak ${device}: ${steps} jitted training steps, memory flat`, async () => {
    await soak(device, steps);
  });
}
