/**
 * What the generative and graph examples share, on top of the classic examples' helpers
 * (flags, progress bar, `check`/`finish`): where pictures go. A full run writes next to the
 * script (the committed pictures); `--smoke` writes to a temporary folder unless `--out` is
 * given, so CI never overwrites them.
 * @module
 */
import type { Args } from "../classic/_common.ts";
export { check, finish, parseArgs, progress, secondsSince } from "../classic/_common.ts";

/**
 * The folder pictures go to, ending in `/`.
 * @example
 * ```ts
 * const out = outDir(parseArgs(), import.meta.url);
 * ```
 */
export function outDir(args: Args, scriptUrl: string): string {
  if (Deno.args.includes("--out")) return args.out;
  if (args.smoke) return `${Deno.makeTempDirSync({ prefix: "kiln_smoke_" })}/`;
  return new URL(".", scriptUrl).pathname;
}

/**
 * mulberry32: a small seeded uniform [0, 1) stream for host-side data generation.
 * @example
 * ```ts
 * const r = rng(1); r(); // 0.6270739405881613
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
