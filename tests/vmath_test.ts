/**
 * The vectorized float32 transcendental functions of core/backends/cpu/wasm/vmath.ts, run in
 * a small module (a driver loop over an array) and compared with `Math.fround(Math.f(x))`
 * (erf: a float64 series checked against Python's math.erf): the ulp error over ~10^6 inputs
 * per function (random bit patterns over the whole float32 range, every binade, dense sweeps
 * of the interesting ranges and thresholds, sampled subnormals), exact special values, and the
 * same result whichever lane an input sits in.
 *
 * `KILN_VMATH_BENCH=1` also times 2^20 elements per function against a JavaScript loop.
 */
import assert from "node:assert/strict";
import { type VecMathName, VMATH_F32 } from "../core/backends/cpu/wasm/vmath.ts";
import { rng } from "./_util.ts";
import { bitsOf, driver, erf64, REF, ulps } from "./_vmath.ts";

/** The bounds vmath.ts states (sigmoid's float32-lane kernel: 2 ulp, all others 1). */
const MAX_ULP: Record<VecMathName, number> = {
  exp: 1,
  log: 1,
  log1p: 1,
  expm1: 1,
  tanh: 1,
  sigmoid: 2,
  sin: 1,
  cos: 1,
  erf: 1,
  pow: 1,
};

// -------------------------------------------------------------------------- the module --
const memory = new WebAssembly.Memory({ initial: 256 }); // 16 MiB: three arrays of 2^20
const driverOf = (name: VecMathName) => driver(name, memory);
const f32 = () => new Float32Array(memory.buffer);
const CHUNK = 1 << 20;

/** fn over `xs` (and `ys`), in chunks of 2^20 through the shared memory. */
function apply(name: VecMathName, xs: Float32Array, ys?: Float32Array): Float32Array {
  const run = driverOf(name);
  const out = new Float32Array(xs.length);
  for (let s = 0; s < xs.length; s += CHUNK) {
    const n = Math.min(CHUNK, xs.length - s), n4 = (n + 3) & ~3;
    const mem = f32();
    mem.fill(0, 0, 3 * CHUNK);
    mem.set(xs.subarray(s, s + n), 0);
    if (ys) mem.set(ys.subarray(s, s + n), CHUNK);
    run(0, CHUNK * 4, 2 * CHUNK * 4, n4 * 4);
    out.set(mem.subarray(2 * CHUNK, 2 * CHUNK + n), s);
  }
  return out;
}

// ---------------------------------------------------------------------------- inputs --
const fromBits = (bits: number[]): number[] =>
  Array.from(new Float32Array(new Uint32Array(bits).buffer));

/** The first EXACT of SPECIALS must come out exactly (zeros, infinities, NaN). */
const EXACT = 5;
const SPECIALS = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  3,
  -3,
  10,
  -10,
  100,
  -100,
  ...fromBits([
    1,
    0x80000001,
    0x007fffff,
    0x807fffff,
    0x00800000,
    0x80800000,
    0x7f7fffff,
    0xff7fffff,
  ]),
  ...fromBits([0x7fc00001, 0xffc00000, 0x7f800001, 0x7fbfffff]), // NaN payloads, signaling too
];

/** Inputs for one function: random bits, every binade, subnormals, sweeps and thresholds. */
function inputs(sweeps: readonly [number, number][], thresholds: readonly number[]): Float32Array {
  const uniform = rng(42);
  const next = () => Math.floor(uniform() * 4294967296); // 32 random bits
  const xs: number[] = [...SPECIALS];
  const bits: number[] = [];
  for (let i = 0; i < 1 << 18; i++) bits.push(next()); // whole range, NaN payloads included
  for (let e = 0; e < 255; e++) { // every binade of both signs
    for (let j = 0; j < 256; j++) bits.push((e << 23 | next() >>> 9) ^ (j & 1 ? 0x80000000 : 0));
  }
  for (let m = 1; m < 1 << 23; m += 61) bits.push(m, m | 0x80000000); // subnormals
  for (const t of thresholds) { // consecutive floats around each threshold
    const b = bitsOf(t);
    for (let d = -2048; d <= 2048; d++) bits.push((b + d) >>> 0);
  }
  for (const x of fromBits(bits)) xs.push(x);
  for (const [lo, hi] of sweeps) {
    const n = Math.floor((1 << 18) / sweeps.length);
    for (let i = 0; i <= n; i++) xs.push(lo + (hi - lo) * i / n);
  }
  return new Float32Array(xs);
}

/** Max ulp error of `got` against the reference, with the worst input for the message. */
function check(name: VecMathName, xs: Float32Array, got: Float32Array, ys?: Float32Array) {
  const ref = REF[name];
  let worst = 0, at = -1;
  for (let i = 0; i < xs.length; i++) {
    const want = Math.fround(ref(xs[i], ys ? ys[i] : 0));
    let d = ulps(got[i], want);
    if (want === 0 && got[i] === 0 && !Object.is(want, got[i])) d = Infinity; // sign of zero
    // Overflow and underflow thresholds are exact: inf and 0 exactly where the reference has them.
    if ((want === 0) !== (got[i] === 0) || Number.isFinite(want) !== Number.isFinite(got[i])) {
      d = Infinity;
    }
    if (d > worst) [worst, at] = [d, i];
  }
  const where = at < 0 ? "" : ` at x=${xs[at]}${ys ? `, y=${ys[at]}` : ""}: got ${got[at]}, ` +
    `want ${Math.fround(ref(xs[at], ys ? ys[at] : 0))}`;
  assert.ok(worst <= MAX_ULP[name], `${name}: ${worst} ulp${where}`);
  return worst;
}

/** Sweeps and thresholds per unary function. */
const RANGES: Record<Exclude<VecMathName, "pow">, [[number, number][], number[]]> = {
  exp: [[[-110, 90], [-1, 1]], [88.72283, -87.33655, -103.27893, -103.97208, 0]],
  log: [[[0, 10], [0.5, 2], [0, 1e-3]], [1, 0.70710677, 1.4142135]],
  log1p: [[[-1, 1], [-1, -0.99], [-1e-3, 1e-3], [0, 1e4]], [-1, 0, 0.41421357, -0.29289323]],
  expm1: [[[-20, 90], [-0.2, 0.2], [-1e-4, 1e-4]], [0.125, -0.125, 88.72283, 0]],
  tanh: [[[-10, 10], [-0.1, 0.1], [-1e-4, 1e-4]], [0.0625, -0.0625, 9.01, 0]],
  sigmoid: [[[-110, 30], [-2, 2]], [-87.33655, -103.27893, -103.97208, 16.6, 0]],
  sin: [[[-100, 100], [-1e5, 1e5], [-2e5, 2e5], [-4, 4]], [Math.PI, 131072, 1.5707964, 0]],
  cos: [[[-100, 100], [-1e5, 1e5], [-2e5, 2e5], [-4, 4]], [Math.PI, 131072, 1.5707964, 0]],
  erf: [[[-5, 5], [-0.6, 0.6], [3.5, 4.5]], [0.5, -0.5, 3.9, 0]],
};

// ----------------------------------------------------------------------------- tests --
Deno.test("vmath: the test's float64 erf matches Python's math.erf to 2e-15 (a float32 ulp is ≥ 6e-8)", async () => {
  const url = new URL("./fixtures/vmath_erf.json", import.meta.url);
  const points: [number, number][] = JSON.parse(await Deno.readTextFile(url));
  for (const [x, want] of points) {
    assert.ok(Math.abs(erf64(x) - want) <= 2e-15 * Math.abs(want), `erf(${x})`);
  }
});

for (const name of Object.keys(RANGES) as Exclude<VecMathName, "pow">[]) {
  Deno.test(`vmath ${name}: ≤ ${MAX_ULP[name]} ulp from Math.fround(Math.${name}), specials exact`, () => {
    const [xs] = inputsOf(name);
    const got = apply(name, xs);
    const worst = check(name, xs, got);
    for (let i = 0; i < EXACT; i++) { // exact, sign of zero and NaN included
      const want = Math.fround(REF[name](SPECIALS[i], 0));
      assert.ok(Object.is(got[i], want), `${name}(${SPECIALS[i]}) = ${got[i]}, want ${want}`);
    }
    console.log(`${name}: ${xs.length} inputs, max ${worst} ulp`);
  });
}

/** Pow's inputs: the specials crossed, then bases of every binade and sign with exponents
 * that keep results in range, integer exponents (signs of negative bases), bases near 1 with
 * large exponents, and random bit patterns for both. */
function powInputs(): [Float32Array, Float32Array] {
  const uniform = rng(7);
  const next = () => Math.floor(uniform() * 4294967296);
  const xs: number[] = [], ys: number[] = [];
  for (const x of SPECIALS) for (const y of SPECIALS) xs.push(x), ys.push(y);
  const push = (n: number, x: () => number, y: () => number) => {
    const bx = new Uint32Array(n).map(x), fy = new Float32Array(n).map(y);
    const fx = new Float32Array(bx.buffer);
    for (let i = 0; i < n; i++) xs.push(fx[i]), ys.push(fy[i]);
  };
  const anyBinade = () => (next() % 255) << 23 | next() >>> 9 | (next() & 0x80000000);
  push(1 << 18, anyBinade, () => (uniform() - 0.5) * 4); // |y| < 2
  push(1 << 17, anyBinade, () => Math.round((uniform() - 0.5) * 80)); // integers
  push(
    1 << 17,
    () => next() >>> 9 | 0x3f800000 ^ (next() & 1) << 23,
    () => (uniform() - 0.5) * 2e7,
  );
  push(1 << 17, () => next() % 0x4b800000, () => (uniform() - 0.5) * 300); // 0 ≤ x < 2^24
  push(1 << 17, next, () => bitsOf(0) + fromBits([next()])[0]);
  push(1 << 17, () => next() % 0x00800000, () => (uniform() - 0.5) * 3); // subnormal bases
  return [new Float32Array(xs), new Float32Array(ys)];
}

const inputCache = new Map<VecMathName, [Float32Array, Float32Array?]>();

/** Each function's inputs, made once for its accuracy test and the lane test. */
function inputsOf(name: VecMathName): [Float32Array, Float32Array?] {
  let v = inputCache.get(name);
  if (!v) {
    v = name === "pow" ? powInputs() : [inputs(...RANGES[name])];
    inputCache.set(name, v);
  }
  return v;
}

Deno.test(`vmath pow: ≤ ${MAX_ULP.pow} ulp from Math.fround(x ** y), special cases exact`, () => {
  const [xs, ys] = inputsOf("pow") as [Float32Array, Float32Array];
  const got = apply("pow", xs, ys);
  const worst = check("pow", xs, got, ys);
  const exactX = new Set([...SPECIALS.slice(0, EXACT), 1, -1]);
  for (let i = 0; i < SPECIALS.length ** 2; i++) {
    if (!exactX.has(xs[i]) && !SPECIALS.slice(0, EXACT).some((s) => Object.is(s, ys[i]))) {
      continue;
    }
    const want = Math.fround(xs[i] ** ys[i]);
    assert.ok(Object.is(got[i], want), `pow(${xs[i]}, ${ys[i]}) = ${got[i]}, want ${want}`);
  }
  console.log(`pow: ${xs.length} inputs, max ${worst} ulp`);
});

Deno.test("vmath: each lane's result does not depend on its lane or its neighbours", () => {
  for (const name of Object.keys(VMATH_F32) as VecMathName[]) {
    const [xs, ys] = inputsOf(name);
    const n = 1 << 16, next = rng(3);
    const base = new Uint32Array(apply(name, xs.subarray(0, n), ys?.subarray(0, n)).buffer);
    for (let shift = 1; shift < 4; shift++) {
      // Random neighbours in front, then the same inputs one to three lanes later.
      const pad = (a: Float32Array) => {
        const b = new Float32Array(n + shift);
        for (let i = 0; i < shift; i++) b[i] = (next() - 0.5) * 1e30;
        b.set(a.subarray(0, n), shift);
        return b;
      };
      const out = apply(name, pad(xs), ys && pad(ys));
      const moved = new Uint32Array(out.buffer, 4 * shift, n);
      const bad = moved.findIndex((v, i) => v !== base[i]);
      assert.equal(bad, -1, `${name}(${xs[bad]}) differs when moved by ${shift} lanes`);
    }
  }
});

/** ns per element of `fn` over `xs` (best of ten). */
function timeIt(fn: () => void, count: number): number {
  let best = Infinity;
  for (let rep = 0; rep < 10; rep++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best * 1e6 / count;
}

Deno.test({
  name: "vmath throughput: 2^20 elements, wasm vs a JavaScript Math loop",
  ignore: Deno.env.get("KILN_VMATH_BENCH") !== "1",
  fn() {
    const n = 1 << 20, next = rng(5);
    const xs = new Float32Array(n).map(() => (next() - 0.5) * 20);
    const pos = new Float32Array(n).map(() => next() * 10);
    const ys = new Float32Array(n).map(() => (next() - 0.5) * 6);
    const out = new Float32Array(n);
    const lines = [];
    for (const name of Object.keys(VMATH_F32) as VecMathName[]) {
      const x = name === "log" || name === "pow" ? pos : name === "log1p" ? pos : xs;
      const ref = REF[name];
      const mem = f32(), run = driverOf(name);
      mem.set(x, 0);
      mem.set(ys, CHUNK);
      const wasm = timeIt(() => run(0, CHUNK * 4, 2 * CHUNK * 4, n * 4), n);
      const js = timeIt(() => {
        for (let i = 0; i < n; i++) out[i] = ref(x[i], ys[i]);
      }, n);
      lines.push(`${name.padEnd(8)} wasm ${wasm.toFixed(2)} ns, JS ${js.toFixed(2)} ns`);
    }
    console.log(lines.join("\n"));
  },
});
