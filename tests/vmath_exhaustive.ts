/**
 * Every float32 input of one vectorized function (core/backends/cpu/wasm/vmath.ts) in the given
 * ranges against `Math.fround(Math.f(x))`: the maximum ulp error and how many results are 0, 1,
 * 2, 3+ ulp off (a 0 or inf result where the reference has none, or the reverse, counts as
 * 99). Too slow for CI (minutes); it backs the bounds the module states.
 *
 *     deno run --allow-read tests/vmath_exhaustive.ts exp '[[1.5e-8, 89], [-1.5e-8, -104]]'
 * @module
 */
import type { VecMathName } from "../core/backends/cpu/wasm/vmath.ts";
import { bitsOf, driver, REF, ulps } from "./_vmath.ts";

const name = Deno.args[0] as VecMathName;
/** Float ranges, each of one sign: every float32 between the ends is run. */
const ranges: [number, number][] = JSON.parse(Deno.args[1]);
const memory = new WebAssembly.Memory({ initial: 256 });
const run = driver(name, memory);
const N = 1 << 20;
const u32 = new Uint32Array(memory.buffer), f32 = new Float32Array(memory.buffer);
let worst = 0, worstX = 0, total = 0;
const hist = [0, 0, 0, 0];
for (const [lo, hi] of ranges) {
  const [a, b] = [bitsOf(lo), bitsOf(hi)].sort((p, q) => p - q);
  for (let s = a; s <= b; s += N) {
    const n = Math.min(N, b - s + 1);
    for (let j = 0; j < n; j++) u32[j] = s + j;
    run(0, 4 * N, 8 * N, 4 * ((n + 3) & ~3));
    for (let j = 0; j < n; j++) {
      const x = f32[j], got = f32[2 * N + j], want = Math.fround(REF[name](x, 0));
      let d = Object.is(got, want) ? 0 : Math.max(1, ulps(got, want));
      // A result of 0 or inf where the reference has none (or the reverse) counts as 3+.
      if ((got === 0) !== (want === 0) || Number.isFinite(got) !== Number.isFinite(want)) d = 99;
      hist[Math.min(d, 3)]++;
      if (d > worst) [worst, worstX] = [d, x];
    }
    total += n;
  }
}
console.log(`${name}: ${total} inputs, max ${worst} ulp (at x = ${worstX}); 0/1/2/3+ ulp:`, hist);
