/**
 * What the classic-curriculum examples share: command-line flags (`--smoke`, `--out`, numbers),
 * a progress bar on stderr, Fashion-MNIST flattened and standardized, and `check`, which prints
 * a verified result or ends the script with exit code 2.
 * @module
 */
import * as k from "../../mod.ts";

/** Parsed command line of an example. */
export interface Args {
  /** `--smoke`: a few seconds of work on a small subset, for CI. */
  smoke: boolean;
  /** `--out DIR`: where pictures go (default: this folder). */
  out: string;
  /** `--NAME value` as a number, else `def` (or `smokeDef` under `--smoke` when given). */
  num(name: string, def: number, smokeDef?: number): number;
}

/**
 * Reads `Deno.args`.
 * @example
 * ```ts
 * const args = parseArgs();
 * const epochs = args.num("epochs", 10, 1);
 * ```
 */
export function parseArgs(argv: readonly string[] = Deno.args): Args {
  const smoke = argv.includes("--smoke");
  const at = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
  };
  const out = at("out") ?? new URL(".", import.meta.url).pathname;
  Deno.mkdirSync(out, { recursive: true });
  return {
    smoke,
    out: out.endsWith("/") ? out : `${out}/`,
    num(name: string, def: number, smokeDef?: number): number {
      const v = at(name);
      if (v !== undefined) {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${v}`);
        return n;
      }
      return smoke && smokeDef !== undefined ? smokeDef : def;
    },
  };
}

const enc = new TextEncoder();

/** A one-line progress bar on stderr: `label [####....] i/total extra`. */
export interface Progress {
  /** Redraws the bar at step `i` (1-based) with a free-form suffix. */
  tick(i: number, extra?: string): void;
  /** Ends the line. */
  done(): void;
}

/**
 * A progress bar that redraws at most every 100 ms (and always at the last step).
 * @example
 * ```ts
 * const bar = progress("epoch 1", 100);
 * for (let i = 1; i <= 100; i++) bar.tick(i, `loss ${0.5}`);
 * bar.done();
 * ```
 */
export function progress(label: string, total: number): Progress {
  const t0 = performance.now();
  let last = -Infinity;
  return {
    tick(i: number, extra = ""): void {
      const now = performance.now();
      if (i < total && now - last < 100) return;
      last = now;
      const w = 24, full = Math.round((Math.min(i, total) / total) * w);
      const rate = i / Math.max(1e-9, (now - t0) / 1000);
      Deno.stderr.writeSync(enc.encode(
        `\r${label} [${"#".repeat(full)}${".".repeat(w - full)}] ${i}/${total} ${extra} ` +
          `${rate.toFixed(1)}/s `,
      ));
    },
    done(): void {
      Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}

let failures = 0;

/**
 * Prints `ok: what` or `FAILED: what`, and remembers failures for `finish`.
 * @example
 * ```ts
 * check(acc >= 0.84, `softmax regression test accuracy ${acc} >= 0.84`);
 * ```
 */
export function check(ok: boolean, what: string): boolean {
  if (ok) console.log(`ok: ${what}`);
  else {
    console.error(`FAILED: ${what}`);
    failures++;
  }
  return ok;
}

/**
 * Ends the example: exit code 2 when a check failed, else prints the run time.
 * @example
 * ```ts
 * finish(t0);
 * ```
 */
export function finish(t0: number): void {
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (failures > 0) {
    console.error(`${failures} check(s) failed (${secs} s)`);
    Deno.exit(2);
  }
  console.log(`all checks passed in ${secs} s`);
}

/** Fashion-MNIST as flat standardized rows. */
export interface FlatFashion {
  /** Training images `[N, 784]` float32, standardized with the training mean and std. */
  xTrain: k.Tensor;
  /** Training labels `[N]` int32. */
  yTrain: k.Tensor;
  /** Test images `[M, 784]`, standardized with the training statistics. */
  xTest: k.Tensor;
  /** Test labels `[M]` int32. */
  yTest: k.Tensor;
}

/**
 * Loads Fashion-MNIST (see `k.data.fashionMnist` for where it is found), keeps the first
 * `nTrain`/`nTest` examples when given, flattens to `[N, 784]` and standardizes with the
 * published training mean 0.2860 and std 0.3530, on the default device (float64: on the CPU,
 * see `float64OnCpu`). Exits with a hint when the data is missing.
 * @example
 * ```ts
 * const { xTrain, yTrain } = await loadFashion("logistic", { nTrain: 1000 });
 * ```
 */
export async function loadFashion(
  name: string,
  opts: { nTrain?: number; nTest?: number; dtype?: "float32" | "float64" } = {},
): Promise<FlatFashion> {
  // Loaded and cut on the CPU, then moved: a whole split can exceed a WebGPU device's largest
  // buffer binding (60 000 × 784 float32 is 188 MB; the spec's default limit is 128 MiB).
  const target = opts.dtype === "float64" ? "cpu" : k.defaultDevice();
  k.setDefaultDevice("cpu");
  let train, test;
  try {
    [train, test] = await Promise.all([
      k.data.fashionMnist({ split: "train", download: false }),
      k.data.fashionMnist({ split: "test", download: false }),
    ]);
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    console.error("To get the data: sudo apt-get install -y dataset-fashion-mnist");
    Deno.exit(1);
  } finally {
    k.setDefaultDevice(target);
  }
  const prep = (s: k.data.LabeledImages, n?: number) => {
    const m = Math.min(n ?? s.images.shape[0], s.images.shape[0]);
    const x = s.images.slice([[0, m]]).reshape([m, 784]).sub(0.2860).div(0.3530);
    return [opts.dtype ? x.astype(opts.dtype) : x, s.labels.slice([[0, m]])];
  };
  const [xTrain, yTrain, xTest, yTest] = await Promise.all(
    [...prep(train, opts.nTrain), ...prep(test, opts.nTest)].map((t) => k.devicePut(t, target)),
  );
  await k.realize(xTrain, yTrain, xTest, yTest);
  return { xTrain, yTrain, xTest, yTest };
}

/**
 * Seconds since `t0` (a `performance.now()` value), formatted.
 * @example
 * ```ts
 * console.log(`took ${secondsSince(t0)} s`);
 * ```
 */
export function secondsSince(t0: number): string {
  return ((performance.now() - t0) / 1000).toFixed(1);
}

/**
 * Makes the CPU the default device (WebGPU has no float64), saying so when it was not.
 * @example
 * ```ts
 * float64OnCpu("linear_regression");
 * ```
 */
export function float64OnCpu(name: string): void {
  if (k.defaultDevice() !== "cpu") {
    console.log(`${name}: float64 runs on the cpu backend (not ${k.defaultDevice()})`);
    k.setDefaultDevice("cpu");
  }
}
