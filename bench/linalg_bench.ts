/**
 * `k.linalg` against numpy: solve (one right-hand side), cholesky, eigh and svd (full
 * matrices, as numpy's default) of float64 n×n matrices, n = 64, 256, 512, and of a batch of
 * 1000 8×8 matrices (keys `op/1000x8`), on the CPU device.
 * Each Kiln time is one call including the read back (`await x.data()`; the host kernels run
 * on one core), the median of the per-call times after one warm-up call, with at least 3 calls
 * and 0.5 s of calls — the same protocol as bench/numpy_linalg.py, which this script runs
 * (one BLAS thread) to print the ratio Kiln / numpy.
 *
 *     npx -y deno@2.9.6 run -A bench/linalg_bench.ts            # table with ratios
 *     npx -y deno@2.9.6 run -A bench/linalg_bench.ts --no-numpy # Kiln only
 * @module
 */
import * as k from "../mod.ts";

const SIZES = [64, 256, 512];

function randn(n: number, seed: number): Float64Array {
  // xorshift + Box-Muller: inputs independent of Kiln's PRNG.
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
    return ((s >>> 0) + 1) / 4294967297;
  };
  return Float64Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()),
  );
}

async function timeit(f: () => k.Tensor): Promise<number> {
  await f().data();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < 500) {
    const t = performance.now();
    await f().data();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function numpyTimes(): Promise<Record<string, number> | null> {
  if (Deno.args.includes("--no-numpy")) return null;
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [new URL("./numpy_linalg.py", import.meta.url).pathname, "--json"],
      env: { OPENBLAS_NUM_THREADS: "1" },
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout)).ms;
  } catch (e) {
    console.error(`numpy reference not run (${(e as Error).message.split("\n")[0]})`);
    return null;
  }
}

const o = { dtype: "float64" as const, device: "cpu" };
const BATCH = 1000, SMALL = 8;
const rows: string[] = [];
const kiln: Record<string, number> = {};
for (const n of SIZES) {
  const g = k.tensor(randn(n * n, n), o).reshape([n, n]);
  const eye = k.eye(n, null, o).mul(n);
  const a = g.add(eye), spd = g.matmul(g.transpose()).add(eye);
  const b = k.tensor(randn(n, n + 1), o);
  await k.realize(a, spd, b, g);
  kiln[`solve/${n}`] = await timeit(() => k.linalg.solve(a, b));
  kiln[`cholesky/${n}`] = await timeit(() => k.linalg.cholesky(spd));
  kiln[`eigh/${n}`] = await timeit(() => k.linalg.eigh(spd)[1]);
  kiln[`svd/${n}`] = await timeit(() => k.linalg.svd(g)[0]);
}
{
  // A batch of small matrices: the per-call cost is paid once, the kernels run per matrix.
  const [nb, n] = [BATCH, SMALL], key = (op: string) => `${op}/${nb}x${n}`;
  const g = k.tensor(randn(nb * n * n, 7), o).reshape([nb, n, n]);
  const eye = k.eye(n, null, o).mul(n);
  const a = g.add(eye), spd = g.matmul(g.transpose([0, 2, 1])).add(eye);
  const b = k.tensor(randn(nb * n, 8), o).reshape([nb, n, 1]);
  await k.realize(a, spd, b, g);
  kiln[key("solve")] = await timeit(() => k.linalg.solve(a, b));
  kiln[key("cholesky")] = await timeit(() => k.linalg.cholesky(spd));
  kiln[key("eigh")] = await timeit(() => k.linalg.eigh(spd)[1]);
  kiln[key("svd")] = await timeit(() => k.linalg.svd(g)[0]);
}
const np = await numpyTimes();
console.log(
  `${"op/n".padEnd(16)} ${"kiln ms".padStart(10)} ${"numpy ms".padStart(10)} ${
    "ratio".padStart(8)
  }`,
);
for (const [key, t] of Object.entries(kiln)) {
  const ref = np?.[key];
  rows.push(
    `${key.padEnd(16)} ${t.toFixed(2).padStart(10)} ${(ref?.toFixed(3) ?? "-").padStart(10)} ${
      (ref ? (t / ref).toFixed(1) + "x" : "-").padStart(8)
    }`,
  );
}
console.log(rows.join("\n"));
