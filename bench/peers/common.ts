/**
 * What every JavaScript runner of `bench/peers/` shares: the workloads and their sizes, the
 * deterministic inputs and initial parameters (the same bits in every peer, PyTorch's script
 * included: `torch_peers.py` implements the same hash), the checks against the float64
 * references of `reference.ts`, the timing loop and the JSON report `run.ts` collects.
 * @module
 */
import * as ref from "./reference.ts";

/** Sizes and repetitions of one run (`FULL`, or `QUICK` for a smoke run). */
export interface Sizes {
  /** Square matmul sizes. */
  matmul: number[];
  /** Length of the fused chain's input. */
  chain: number;
  /** Rows and columns of the softmax input. */
  softmax: [number, number];
  /** MLP batch (784-256-256-10). */
  mlpBatch: number;
  /** CNN batch (28×28×1 input). */
  cnnBatch: number;
  /** Timed runs per workload (fewer when `budgetMs` runs out, never fewer than 3). */
  runs: number;
  /** Wall-clock budget of one workload's timed runs, in ms. */
  budgetMs: number;
  /** Workload kinds not to run (`matmul`, `chain`, `softmax`, `mlp`, `cnn`): reported n/a. */
  skip?: string[];
}

/** The workloads of issue 13. */
export const FULL: Sizes = {
  matmul: [256, 512, 1024],
  chain: 1 << 20,
  softmax: [4096, 1024],
  mlpBatch: 128,
  cnnBatch: 32,
  runs: 10,
  budgetMs: 4000,
};

/** A smoke run: the same code paths on small inputs. */
export const QUICK: Sizes = {
  matmul: [64],
  chain: 1 << 12,
  softmax: [64, 128],
  mlpBatch: 8,
  cnnBatch: 2,
  runs: 2,
  budgetMs: 500,
};

/** SGD learning rate of both training steps. */
export const LR = 0.01;
/** MLP widths. */
export const MLP_DIMS = [784, 256, 256, 10];
/** CNN input side. */
export const SIDE = 28;

/** Row and column labels of the table, in order. */
export function workloadNames(s: Sizes): string[] {
  return [
    ...s.matmul.map((n) => `matmul ${n}`),
    `chain ${s.chain}`,
    `softmax ${s.softmax[0]}x${s.softmax[1]}`,
    `mlp step b${s.mlpBatch}`,
    `cnn step b${s.cnnBatch}`,
  ];
}

/** The run's sizes from the command line: `--sizes JSON` (what `run.ts` passes), or `--quick`. */
export function sizesFromArgs(args: string[]): Sizes {
  const i = args.indexOf("--sizes");
  if (i >= 0) return JSON.parse(args[i + 1]) as Sizes;
  return args.includes("--quick") ? QUICK : FULL;
}

/** murmur3's 32-bit finalizer of `seed·φ + i`: element `i` of stream `seed`. */
function hash(seed: number, i: number): number {
  let h = (Math.imul(seed, 0x9e3779b9) + i) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `n` float32 values uniform in `[lo, hi)`: `lo + (hi − lo)·u` in float64, then rounded. */
export function uniform(
  seed: number,
  n: number,
  lo: number,
  hi: number,
): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = lo + (hi - lo) * ((hash(seed, i) >>> 8) / 16777216);
  }
  return out;
}

/** `n` class labels in `[0, classes)`. */
export function labels(seed: number, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => hash(seed, i) % classes);
}

/** PyTorch's default dense init `U(±1/√in)`, layout `[out, in]`, from stream `seed`. */
export function denseInit(
  seed: number,
  inF: number,
  outF: number,
): ref.DenseF32 {
  const bound = 1 / Math.sqrt(inF);
  return {
    w: uniform(seed, outF * inF, -bound, bound),
    b: uniform(seed + 1, outF, -bound, bound),
    inF,
    outF,
  };
}

/** PyTorch's default conv init `U(±1/√(C·9))`, layout `[O, C, 3, 3]`, from stream `seed`. */
export function convInit(seed: number, c: number, o: number): ref.Conv3F32 {
  const bound = 1 / Math.sqrt(c * 9);
  return {
    w: uniform(seed, o * c * 9, -bound, bound),
    b: uniform(seed + 1, o, -bound, bound),
    c,
    o,
  };
}

/** Matmul inputs `A`, `B` (`[n, n]`, uniform in `[-1, 1)`). */
export const matmulInputs = (n: number): [Float32Array, Float32Array] => [
  uniform(11, n * n, -1, 1),
  uniform(12, n * n, -1, 1),
];
/** The chain's input, uniform in `[-4, 4)`. */
export const chainInput = (n: number): Float32Array => uniform(13, n, -4, 4);
/** The softmax input, uniform in `[-4, 4)`. */
export const softmaxInput = (r: number, c: number): Float32Array => uniform(14, r * c, -4, 4);

/** The MLP's batch (pixels in `[0, 1)`), labels and initial layers. */
export function mlpProblem(
  batch: number,
): { x: Float32Array; y: Int32Array; layers: ref.DenseF32[] } {
  return {
    x: uniform(21, batch * MLP_DIMS[0], 0, 1),
    y: labels(22, batch, 10),
    layers: MLP_DIMS.slice(1).map((o, i) => denseInit(30 + 2 * i, MLP_DIMS[i], o)),
  };
}

/** The CNN's batch `[b, 1, 28, 28]`, labels and initial parameters. */
export function cnnProblem(batch: number): {
  x: Float32Array;
  y: Int32Array;
  conv1: ref.Conv3F32;
  conv2: ref.Conv3F32;
  fc: ref.DenseF32;
} {
  const pooled = (SIDE - 4) >> 1;
  return {
    x: uniform(41, batch * SIDE * SIDE, 0, 1),
    y: labels(42, batch, 10),
    conv1: convInit(50, 1, 32),
    conv2: convInit(52, 32, 64),
    fc: denseInit(54, 64 * pooled * pooled, 10),
  };
}

/** `[out, in]` → `[in, out]` (dense weights for libraries computing `x @ w`). */
export function transpose2d(
  w: Float32Array,
  rows: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  }
  return out;
}

/** One workload's outcome: a time that counts only when `check` passed, or why not. */
export interface WorkloadResult {
  /** The workload's name (`workloadNames`). */
  name: string;
  /** Median wall-clock ms per run, results read back. */
  ms?: number;
  /** Timed runs behind the median. */
  runs?: number;
  /** What was checked and the worst deviation found. */
  check?: string;
  /** Why there is no time: the peer lacks an op, or its result failed the check. */
  na?: string;
  /** Training steps: the first two losses (checked by `run.ts` for PyTorch). */
  losses?: number[];
}

/** What one runner prints (as `PEERS_JSON {...}` on stdout). */
export interface PeerReport {
  /** Peer id, e.g. `tfjs-wasm`. */
  peer: string;
  /** Library and version, backend, threads. */
  about: string;
  /** One entry per workload, in `workloadNames` order. */
  results: WorkloadResult[];
}

/** The line prefix `run.ts` looks for. */
export const MARK = "PEERS_JSON ";

/** Throws unless `|got − want| ≤ tol(i)` everywhere; returns the worst `|got − want| / tol`. */
export function checkClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (i: number) => number,
): string {
  if (got.length !== want.length) {
    throw new Error(`${what}: ${got.length} values, want ${want.length}`);
  }
  let worst = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / tol(i);
    if (!(r <= worst)) [worst, at] = [r, i];
  }
  if (!(worst <= 1)) {
    throw new Error(
      `${what}: value ${at} is ${got[at]}, want ${want[at]} (tolerance ${tol(at)})`,
    );
  }
  return `${what}: worst error ${(worst * 100).toFixed(1)}% of tolerance`;
}

/** Rows of a matmul the check covers: all up to 64, else 64 spread evenly. */
export function checkedRows(n: number): number[] {
  const step = Math.max(1, Math.floor(n / 64));
  return Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);
}

/**
 * Checks matmul rows against float64: `|err| ≤ 1e-4·Σ|a·b|` (float32 accumulation of a length-K
 * dot product errs by at most K·2⁻²⁴·Σ|a·b|, 6·10⁻⁵ of it for K = 1024).
 */
export function checkMatmul(
  got: Float32Array,
  a: Float32Array,
  b: Float32Array,
  n: number,
): string {
  const rows = checkedRows(n);
  const [want, scale] = ref.matmulRows(a, b, n, rows);
  const picked = new Float32Array(rows.length * n);
  rows.forEach((r, i) => picked.set(got.subarray(r * n, r * n + n), i * n));
  return checkClose(
    `${rows.length} rows vs float64`,
    picked,
    want,
    (i) => 1e-4 * scale[i] + 1e-30,
  );
}

/** The chain vs float64: `|err| ≤ 1e-5·(1 + |want|)`. */
export function checkChain(got: Float32Array, x: Float32Array): string {
  const want = ref.chain(x);
  return checkClose(
    "all vs float64",
    got,
    want,
    (i) => 1e-5 * (1 + Math.abs(want[i])),
  );
}

/** Softmax vs float64: `|err| ≤ 1e-4·|want| + 1e-9`. */
export function checkSoftmax(
  got: Float32Array,
  x: Float32Array,
  r: number,
  c: number,
): string {
  const want = ref.softmaxRows(x, r, c);
  return checkClose(
    "all vs float64",
    got,
    want,
    (i) => 1e-4 * Math.abs(want[i]) + 1e-9,
  );
}

/**
 * The first two losses of a training loop vs float64 (relative 1e-4 each), and the drop
 * between them within 2% (+1e-5): the second loss checks the gradients and the SGD update.
 */
export function checkLosses(got: number[], want: [number, number]): string {
  const rel = (g: number, w: number) => Math.abs(g - w) / Math.abs(w);
  const drop = got[0] - got[1], wantDrop = want[0] - want[1];
  if (!(rel(got[0], want[0]) <= 1e-4 && rel(got[1], want[1]) <= 1e-4)) {
    throw new Error(
      `losses ${got.join(", ")}, want ${want.join(", ")} (float64)`,
    );
  }
  if (!(Math.abs(drop - wantDrop) <= 0.02 * Math.abs(wantDrop) + 1e-5)) {
    throw new Error(
      `loss drop ${drop} after one step, want ${wantDrop} (float64)`,
    );
  }
  return `losses ${got.map((v) => v.toFixed(5)).join(" → ")} vs float64 ${
    want.map((v) => v.toFixed(5)).join(" → ")
  }`;
}

/**
 * Median ms of `s.runs` timed calls (fewer past `s.budgetMs`, at least 3, or `s.runs`). A peer
 * whose warm call `priorMs` already took longer than the whole budget gets that one figure
 * (tfjs-cpu's CNN step takes about a minute), so one slow peer does not hold the run for long.
 */
async function timeRuns(
  s: Sizes,
  call: () => Promise<unknown>,
  priorMs: number,
): Promise<{ ms: number; runs: number }> {
  if (priorMs >= s.budgetMs) return { ms: priorMs, runs: 1 };
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < s.runs &&
    (times.length < Math.min(3, s.runs) || performance.now() - start < s.budgetMs)
  ) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return {
    ms: times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2,
    runs: times.length,
  };
}

/** Wall-clock ms of one awaited call, and its value. */
async function stopwatch<T>(call: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await call();
  return [v, performance.now() - t0];
}

/**
 * A forward workload: the first call's result is checked (it is also the warm-up), then `run`
 * (compute and read back) is timed.
 */
export async function checkThenTime<T>(
  s: Sizes,
  run: () => Promise<T>,
  check: (first: T) => string,
): Promise<Outcome> {
  const [first, ms] = await stopwatch(run);
  const checked = check(first);
  return { ...(await timeRuns(s, run, ms)), check: checked };
}

/**
 * A training workload: `step` (one SGD step, returning the loss read back) runs twice — its
 * losses are checked against float64 `want` (the first call also compiles) — then is timed.
 */
export async function trainThenTime(
  s: Sizes,
  step: () => Promise<number>,
  want: [number, number],
): Promise<Outcome> {
  const [l1] = await stopwatch(step), [l2, ms] = await stopwatch(step);
  const check = checkLosses([l1, l2], want);
  return { ...(await timeRuns(s, step, ms)), check, losses: [l1, l2] };
}

/** A workload's result before `runAll` names it. */
export type Outcome = Omit<WorkloadResult, "name">;

/** What a runner implements: one function per workload kind, each checking then timing. */
export interface Peer {
  matmul(n: number): Promise<Outcome>;
  chain(n: number): Promise<Outcome>;
  softmax(r: number, c: number): Promise<Outcome>;
  mlp(batch: number): Promise<Outcome>;
  cnn(batch: number): Promise<Outcome>;
}

/** Runs every workload of `s` on `peer`; a thrown error becomes that workload's `na`. */
export async function runAll(peer: Peer, s: Sizes): Promise<WorkloadResult[]> {
  const names = workloadNames(s);
  const jobs: (() => Promise<Outcome>)[] = [
    ...s.matmul.map((n) => () => peer.matmul(n)),
    () => peer.chain(s.chain),
    () => peer.softmax(...s.softmax),
    () => peer.mlp(s.mlpBatch),
    () => peer.cnn(s.cnnBatch),
  ];
  const out: WorkloadResult[] = [];
  for (let i = 0; i < jobs.length; i++) {
    if (s.skip?.includes(names[i].split(" ")[0])) {
      out.push({ name: names[i], na: "skipped (run.ts --skip)" });
      continue;
    }
    try {
      out.push({ ...(await jobs[i]()), name: names[i] });
    } catch (e) {
      out.push({
        name: names[i],
        na: `failed: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
    console.error(`  ${names[i]}: ${JSON.stringify(out[i])}`);
  }
  return out;
}

/** Prints the report line `run.ts` reads. */
export function emit(report: PeerReport): void {
  console.log(MARK + JSON.stringify(report));
}
