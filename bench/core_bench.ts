/**
 * Core benchmarks: Kiln (CPU backend) against naive plain-`Float32Array` code, one group per
 * workload, so `deno task bench` prints "x times faster than" the baseline in each group.
 *
 * Kiln's timed work is the whole user-visible path: build the lazy graph, schedule, compile
 * (cached after the first run), launch, and copy the result out with `dataSync()`. Inputs are
 * realized tensors created once, outside the timed function. Each result is released with
 * `using`, as a training loop would, so its buffer goes back to the pool.
 * @module
 */
import * as k from "../mod.ts";
import {
  chainHandFused,
  chainOpByOp,
  maxAbsDiff,
  naiveMatmul,
  naiveSoftmaxRows,
  seededFloat32,
} from "./baselines.ts";

/** Throws when Kiln and the baseline disagree, so a wrong fast kernel never reports a win. */
function check(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number) {
  const d = maxAbsDiff(got, want);
  if (!(d <= tol)) throw new Error(`${what}: Kiln and the baseline differ by ${d} (> ${tol})`);
}

// ---------------------------------------------------------------------------- matmul ----

/**
 * Iteration options per size: the naive 1024 loop takes seconds per call, so it runs twice.
 * Kiln's matmul kernel runs 3-5x slower around its 4th-5th call (V8 deoptimizes it, "wrong
 * call target": the epilogue closure is re-created per call) before it settles, so Kiln's
 * benches warm up past that and report the steady state; at 256 Deno's default warmup does.
 */
const MATMUL_OPTS: Record<number, { naive: BenchOpts; kiln: BenchOpts }> = {
  256: { naive: {}, kiln: {} },
  512: { naive: { n: 10, warmup: 2 }, kiln: { n: 20, warmup: 10 } },
  1024: { naive: { n: 2, warmup: 0 }, kiln: { n: 4, warmup: 8 } },
};
type BenchOpts = { n?: number; warmup?: number };

for (const size of [256, 512, 1024]) {
  const a = seededFloat32(size * size, 1), b = seededFloat32(size * size, 2);
  const A = k.tensor(a, { shape: [size, size] }), B = k.tensor(b, { shape: [size, size] });
  const group = `matmul ${size}`;
  const { naive, kiln } = MATMUL_OPTS[size];
  if (size === 256) {
    check(group, k.matmul(A, B).dataSync(), naiveMatmul(a, b, size, size, size), 1e-3);
  }
  Deno.bench({
    name: `naive i-j-k Float32Array ${size}x${size}`,
    group,
    baseline: true,
    ...naive,
    fn() {
      naiveMatmul(a, b, size, size, size);
    },
  });
  Deno.bench({
    name: `kiln matmul ${size}x${size}`,
    group,
    ...kiln,
    fn() {
      using c = k.matmul(A, B);
      c.dataSync();
    },
  });
}

// ----------------------------------------------------------------------- fused chain ----

const N = 1 << 20;
const xs = seededFloat32(N, 3).map((v) => v * 4);
const X = k.tensor(xs);
const chain = (x: k.Tensor) =>
  k.relu(x.mul(1.5).add(0.5)).mul(k.sigmoid(x)).sub(k.tanh(x).mul(0.5));
if (k.schedule(chain(X)).length !== 1) throw new Error("fused chain: expected one kernel");
check("fused chain", chain(X).dataSync(), chainOpByOp(xs), 1e-6);

Deno.bench({
  name: "naive op-by-op, a temporary per op (8 passes)",
  group: "fused chain 2^20",
  baseline: true,
  fn() {
    chainOpByOp(xs);
  },
});
Deno.bench({
  name: "kiln lazy chain (1 fused kernel)",
  group: "fused chain 2^20",
  fn() {
    using y = chain(X);
    y.dataSync();
  },
});
Deno.bench({
  name: "hand-fused single JS loop (reference)",
  group: "fused chain 2^20",
  fn() {
    chainHandFused(xs);
  },
});

// --------------------------------------------------------------------------- softmax ----

const ROWS = 4096, COLS = 1024;
const ss = seededFloat32(ROWS * COLS, 4).map((v) => v * 8);
const S = k.tensor(ss, { shape: [ROWS, COLS] });
check("softmax", k.softmax(S, { axis: -1 }).dataSync(), naiveSoftmaxRows(ss, ROWS, COLS), 1e-6);

Deno.bench({
  name: "naive row softmax (max, exp-sum, divide)",
  group: "softmax 4096x1024",
  baseline: true,
  fn() {
    naiveSoftmaxRows(ss, ROWS, COLS);
  },
});
Deno.bench({
  name: "kiln softmax(x, {axis: -1}) (3 kernels)",
  group: "softmax 4096x1024",
  fn() {
    using y = k.softmax(S, { axis: -1 });
    y.dataSync();
  },
});
