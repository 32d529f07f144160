// k.random: Threefry-2x32 known answers, JAX-compatible key/bit/integer streams (checked against
// an independent plain-JS reference written here), determinism, and distribution checks.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { DEVICES, hasFloat64 } from "./_util.ts";

const R = k.random;

// ---------------------------------------------------------------------------------------------
// Independent plain-JS reference (uint32 as numbers via >>> 0).

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];

function refThreefry(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1BD11BDA ^ k0 ^ k1) >>> 0];
  let a = (x0 + ks[0]) >>> 0;
  let b = (x1 + ks[1]) >>> 0;
  for (let round = 0; round < 20; round++) {
    const r = ROT[round % 8];
    a = (a + b) >>> 0;
    b = ((b << r) | (b >>> (32 - r))) >>> 0;
    b = (b ^ a) >>> 0;
    if (round % 4 === 3) {
      const s = (round + 1) / 4; // key injection s = 1..5
      a = (a + ks[s % 3]) >>> 0;
      b = (b + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  return [a, b];
}

type Key = [number, number];
const refKey = (seed: number): Key => [
  Math.floor(seed / 4294967296) >>> 0,
  ((seed % 4294967296) + 4294967296) % 4294967296,
];
const refFoldIn = (key: Key, d: number): Key => refThreefry(key[0], key[1], 0, d >>> 0);
const refSplit = (key: Key, n: number): Key[] =>
  Array.from({ length: n }, (_, i) => refThreefry(key[0], key[1], 0, i));
const refBits = (key: Key, n: number): number[] =>
  Array.from({ length: n }, (_, i) => {
    const [y0, y1] = refThreefry(key[0], key[1], 0, i);
    return (y0 ^ y1) >>> 0;
  });

/** jax.random.randint for int32 (two split draws, unsigned modular mixing). */
function refRandint(key: Key, n: number, minval: number, maxval: number): number[] {
  const [k1, k2] = refSplit(key, 2);
  const hi = refBits(k1, n), lo = refBits(k2, n);
  const I32MIN = -(2 ** 31), I32MAX = 2 ** 31 - 1;
  const a = Math.min(Math.max(minval, I32MIN), I32MAX);
  const b = Math.min(Math.max(maxval, I32MIN), I32MAX);
  let span = b <= a ? 1 : b - a;
  if (maxval > I32MAX && b > a) span = (span + 1) % 2 ** 32;
  const rem = (x: number, s: number) => (s === 0 ? x : x % s); // XLA: x % 0 = x
  const m1 = rem(65536, span);
  const mult = rem(Math.imul(m1, m1) >>> 0, span);
  return hi.map((h, i) => {
    const mixed = ((Math.imul(rem(h, span), mult) >>> 0) + rem(lo[i], span)) >>> 0;
    return (a + rem(mixed, span)) | 0;
  });
}

/** jax.random.permutation(key, n): rounds of stable sorts by fresh 32-bit keys. */
function refPermutation(key: Key, n: number): number[] {
  let x = Array.from({ length: n }, (_, i) => i);
  const rounds = Math.ceil(3 * Math.log(Math.max(1, n)) / Math.log(2 ** 32 - 1));
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = refSplit(key, 2);
    key = next;
    const sk = refBits(sub, n);
    const order = x.map((_, i) => i).sort((i, j) => sk[i] - sk[j]); // stable
    x = order.map((i) => x[i]);
  }
  return x;
}

const u32 = (a: ArrayLike<number>): number[] => Array.from(a, (v) => v >>> 0);

/** One test per device, with `device` as the default device (keys and draws follow it). */
function dtest(name: string, fn: (device: string) => void | Promise<void>): void {
  for (const device of DEVICES) {
    Deno.test(`${name} [${device}]`, async () => {
      const prev = k.defaultDevice();
      k.setDefaultDevice(device);
      try {
        await fn(device);
      } finally {
        k.setDefaultDevice(prev);
      }
    });
  }
}
const keyOf = async (t: k.Tensor): Promise<Key> => u32(await t.data()) as Key;

// Standard normal CDF on the host (erf by its Taylor series / continued fraction).
function hostErf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax, sum = ax;
    for (let n = 1; n < 300 && Math.abs(term) > 1e-17 * sum; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  } else {
    let f = ax;
    for (let n = 80; n >= 1; n--) f = ax + n / 2 / f;
    r = 1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -r : r;
}
const normCdf = (x: number) => 0.5 * (1 + hostErf(x / Math.SQRT2));

function meanVar(a: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i];
  m /= a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2;
  return [m, v / a.length];
}

/** Kolmogorov–Smirnov statistic of a sample against a CDF. */
function ksStat(a: ArrayLike<number>, cdf: (x: number) => number): number {
  const s = Float64Array.from(a).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const c = cdf(s[i]);
    d = Math.max(d, Math.abs(c - i / s.length), Math.abs((i + 1) / s.length - c));
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// (a) Known answers

const KAT: { key: Key; ctr: Key; out: Key }[] = [
  { key: [0, 0], ctr: [0, 0], out: [0x6b200159, 0x99ba4efe] },
  {
    key: [0xffffffff, 0xffffffff],
    ctr: [0xffffffff, 0xffffffff],
    out: [0x1cb996fc, 0xbb002be7],
  },
  {
    key: [0x13198a2e, 0x03707344],
    ctr: [0x243f6a88, 0x85a308d3],
    out: [0xc4923a9c, 0x483df7a0],
  },
];

dtest(
  "random: threefry2x32 Random123 known-answer vectors (reference and tensors)",
  async () => {
    for (const { key, ctr, out } of KAT) {
      assert.deepEqual(refThreefry(key[0], key[1], ctr[0], ctr[1]), out, "JS reference");
      // Tensor operands, and plain numbers above 2^31 (read as uint32 bits).
      const i32 = (v: number) => k.tensor([v | 0], { dtype: "int32" });
      const [y0, y1] = R.threefry2x32(i32(key[0]), i32(key[1]), i32(ctr[0]), i32(ctr[1]));
      assert.deepEqual([...u32(await y0.data()), ...u32(await y1.data())], out, "tensor threefry");
      const [z0, z1] = R.threefry2x32(
        key[0],
        key[1],
        ctr[0],
        k.tensor([ctr[1] | 0], {
          dtype: "int32",
        }),
      );
      assert.deepEqual([...u32(await z0.data()), ...u32(await z1.data())], out, "number operands");
    }
  },
);

dtest("random: tensor threefry2x32 equals the JS reference on random blocks", async (device) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).map((t) =>
          t.map((v) => (v * 2654435761) >>> 0)
        ),
        { minLength: 1, maxLength: 40 },
      ),
      async (blocks) => {
        const col = (j: number) =>
          k.tensor(Int32Array.from(blocks, (b) => b[j] | 0), { dtype: "int32" });
        const [y0, y1] = R.threefry2x32(col(0), col(1), col(2), col(3));
        const a = u32(await y0.data()), b = u32(await y1.data());
        blocks.forEach((blk, i) => {
          assert.deepEqual([a[i], b[i]], refThreefry(blk[0], blk[1], blk[2], blk[3]));
        });
      },
    ),
    { numRuns: device === "cpu" ? 30 : 10 },
  );
});

dtest("random: JAX values (jax.random docs, threefry partitionable)", async () => {
  const key = R.key(0);
  assert.deepEqual(u32(await key.data()), [0, 0]);
  // jax.random.split(jax.random.key(0)) since JAX 0.5 (jax_threefry_partitionable=True).
  const [a, b] = R.split(key);
  assert.deepEqual(await keyOf(a), [1797259609, 2579123966]);
  assert.deepEqual(await keyOf(b), [928981903, 3453687069]);
  // jax.random module docs: uniform(key(0)) = 0.947667, uniform(split(key(0))[1]) = 0.00729382.
  assert.ok(Math.abs((await R.uniform(key).data())[0] - 0.947667) < 5e-7);
  assert.ok(Math.abs((await R.uniform(b).data())[0] - 0.00729382) < 5e-9);
});

// ---------------------------------------------------------------------------------------------
// (b) Keys, bits and determinism

dtest("random: key, split, foldIn and bits follow the reference stream", async () => {
  for (const seed of [0, 1, 42, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 5, -1, -(2 ** 40)]) {
    const key = R.key(seed);
    assert.equal(key.dtype, "int32");
    assert.deepEqual(key.shape, [2]);
    const rk = refKey(seed);
    assert.deepEqual(await keyOf(key), rk, `key(${seed})`);
    const ks = R.split(key, 3);
    assert.equal(ks.length, 3);
    for (const [i, s] of ks.entries()) {
      assert.deepEqual(await keyOf(s), refSplit(rk, 3)[i], `split ${i}`);
    }
    assert.deepEqual(await keyOf(R.foldIn(key, 7)), refFoldIn(rk, 7));
    assert.deepEqual(await keyOf(R.foldIn(key, -3)), refFoldIn(rk, -3));
    // split(key, n)[i] is foldIn(key, i), as in JAX's partitionable Threefry.
    assert.deepEqual(await keyOf(ks[2]), await keyOf(R.foldIn(key, 2)));
    const b = R.bits(key, [3, 5]);
    assert.deepEqual(b.shape, [3, 5]);
    assert.deepEqual(u32(await b.data()), refBits(rk, 15));
  }
  assert.deepEqual(R.bits(R.key(3), []).shape, []);
  assert.deepEqual(R.split(R.key(3), 0), []);
});

dtest("random: same key gives identical draws; different keys differ", async () => {
  const key = R.key(123);
  const a = await R.bits(key, [1000]).data(), b = await R.bits(R.key(123), [1000]).data();
  assert.deepEqual(a, b);
  const [k1, k2] = R.split(key);
  // (split(key, n)[i] is foldIn(key, i) by design, so fold in other values here.)
  const bits = await Promise.all(
    [key, k1, k2, R.foldIn(key, 7), R.foldIn(key, 8), R.key(124)].map(async (kk) =>
      Array.from(await R.bits(kk, [64]).data())
    ),
  );
  for (let i = 0; i < bits.length; i++) {
    for (let j = i + 1; j < bits.length; j++) {
      const same = bits[i].filter((v, t) => v === bits[j][t]).length;
      assert.ok(same <= 2, `streams ${i} and ${j} share ${same} of 64 words`);
    }
  }
  // A prefix of a larger draw is the smaller draw (counters are flat indices).
  assert.deepEqual(Array.from(await R.bits(key, [10]).data()), Array.from(a.slice(0, 10)));
  // Uniform and normal are deterministic too, and a lazy split key works like a realized one.
  const u1 = await R.normal(R.split(key)[1], [50]).data();
  const k2v = Int32Array.from(await k2.data());
  const u2 = await R.normal(k.tensor(k2v, { dtype: "int32" }), [50]).data();
  assert.deepEqual(u1, u2);
});

dtest(
  "random: property: bits of any seed match the reference and differ from seed+1",
  async (device) => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), async (seed) => {
        const got = u32(await R.bits(R.key(seed), [8]).data());
        assert.deepEqual(got, refBits(refKey(seed), 8));
        const other = u32(await R.bits(R.key(seed + 1), [8]).data());
        assert.ok(got.some((v, i) => v !== other[i]));
      }),
      { numRuns: device === "cpu" ? 60 : 15 },
    );
  },
);

dtest("random: a draw is one fused kernel", () => {
  const key = R.key(5);
  assert.equal(k.schedule(R.bits(key, [100])).length, 1);
  assert.equal(k.schedule(R.uniform(key, [100])).length, 1);
  assert.equal(k.schedule(R.normal(key, [100])).length, 1);
  assert.equal(k.schedule(R.bernoulli(key, 0.3, [100])).length, 1);
  assert.equal(k.schedule(R.truncatedNormal(key, -1, 1, [100])).length, 1);
  assert.equal(k.schedule(R.uniform(key, [100]).mul(2).add(1).exp()).length, 1);
});

// ---------------------------------------------------------------------------------------------
// (c) Floats

dtest("random: uniform is the mantissa trick and has the right moments", async (device) => {
  const key = R.key(1);
  const n = 100_000;
  const u = R.uniform(key, [n]);
  assert.equal(u.dtype, "float32");
  const d = await u.data();
  const bits = refBits(refKey(1), n);
  for (let i = 0; i < n; i++) {
    if (d[i] !== (bits[i] >>> 9) * 2 ** -23) assert.fail(`uniform[${i}] = ${d[i]}`);
  }
  const [m, v] = meanVar(d);
  assert.ok(Math.abs(m - 0.5) < 0.005, `mean ${m}`);
  assert.ok(Math.abs(v - 1 / 12) < 0.002, `var ${v}`);
  assert.ok(d.every((x) => x >= 0 && x < 1));

  const s = await R.uniform(key, [n], { minval: -2, maxval: 3 }).data();
  const [m2, v2] = meanVar(s);
  assert.ok(s.every((x) => x >= -2 && x < 3));
  assert.ok(Math.abs(m2 - 0.5) < 0.03 && Math.abs(v2 - 25 / 12) < 0.05, `${m2} ${v2}`);
  // Bounds whose scaled top value rounds up to maxval in float32 still stay below it.
  const top = await R.uniform(key, [n], { minval: 2, maxval: 5 }).data();
  assert.ok(top.every((x) => x >= 2 && x < 5));

  if (hasFloat64(device)) {
    const d64 = R.uniform(key, [n], { dtype: "float64" });
    assert.equal(d64.dtype, "float64");
    const [m3, v3] = meanVar(await d64.data());
    assert.ok(Math.abs(m3 - 0.5) < 0.005 && Math.abs(v3 - 1 / 12) < 0.002, `${m3} ${v3}`);
    assert.ok((await d64.data()).every((x) => x >= 0 && x < 1));
  }

  // Tensor bounds broadcast against the shape.
  const lo = k.tensor([[0], [10]]);
  const t = await R.uniform(key, [2, 1000], { minval: lo, maxval: lo.add(1) }).data();
  assert.ok(t.slice(0, 1000).every((x) => x >= 0 && x < 1));
  assert.ok(t.slice(1000).every((x) => x >= 10 && x < 11));
});

dtest("random: normal is √2·erfinv(uniform(-1, 1)) and standard normal", async (device) => {
  const n = 20_000;
  const z = R.normal(R.key(2), [n]);
  assert.equal(z.dtype, "float32");
  const d = await z.data();
  const [m, v] = meanVar(d);
  assert.ok(Math.abs(m) < 0.04, `mean ${m}`);
  assert.ok(Math.abs(Math.sqrt(v) - 1) < 0.03, `std ${Math.sqrt(v)}`);
  const ks = ksStat(d, normCdf);
  assert.ok(ks < 0.02, `KS ${ks}`);
  // Each value inverts its uniform: erf(z/√2) = u (float32 accuracy).
  const bits = refBits(refKey(2), n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(-(1 - 2 ** -24), (bits[i] >>> 9) * 2 ** -23 * 2 - (1 - 2 ** -24));
    const err = Math.abs(hostErf(d[i] / Math.SQRT2) - u);
    if (err > 1e-6) assert.fail(`normal[${i}] = ${d[i]} inverts to ${u} with error ${err}`);
  }
  // float64: the inverse is accurate to a few ulps of u, far tails included (200k draws reach
  // |u| > 1 - 2e-5, where the refinement switches from erf to log erfc).
  if (!hasFloat64(device)) return;
  const n64 = 200_000;
  const z64 = R.normal(R.key(2), [n64], { dtype: "float64" });
  assert.equal(z64.dtype, "float64");
  const d64 = await z64.data();
  assert.ok(ksStat(d64, normCdf) < 0.01);
  const [m64, v64] = meanVar(d64);
  assert.ok(Math.abs(m64) < 0.015 && Math.abs(Math.sqrt(v64) - 1) < 0.01, `${m64} ${v64}`);
  const rk = refKey(2);
  let tails = 0;
  for (let i = 0; i < n64; i++) {
    const [y0, y1] = refThreefry(rk[0], rk[1], 0, i);
    const u = Math.max(
      -(1 - 2 ** -53),
      (y0 * 2 ** -32 + (y1 >>> 12) * 2 ** -52) * 2 - (1 - 2 ** -53),
    );
    if (1 - Math.abs(u) < 2e-5) tails++;
    const err = Math.abs(hostErf(d64[i] / Math.SQRT2) - u);
    if (!(err < 2e-15)) {
      assert.fail(`float64 normal[${i}] = ${d64[i]}: erf misses u=${u} by ${err}`);
    }
  }
  assert.ok(tails > 0, "no far-tail draw checked");
});

dtest("random: truncatedNormal stays inside the bounds with the right mean", async (device) => {
  const n = 20_000;
  const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  for (const dtype of hasFloat64(device) ? ["float32", "float64"] as const : ["float32"] as const) {
    for (const [lo, hi] of [[-1, 2], [0.5, 1], [-3, -2.5]]) {
      const d = await R.truncatedNormal(R.key(3), lo, hi, [n], { dtype }).data();
      assert.ok(d.every((x) => x > lo && x < hi), `${dtype} (${lo}, ${hi})`);
      const [m] = meanVar(d);
      const want = (phi(lo) - phi(hi)) / (normCdf(hi) - normCdf(lo));
      assert.ok(Math.abs(m - want) < 0.02, `${dtype} (${lo}, ${hi}): mean ${m} vs ${want}`);
      const cdf = (x: number) => (normCdf(x) - normCdf(lo)) / (normCdf(hi) - normCdf(lo));
      assert.ok(ksStat(d, cdf) < 0.02, `${dtype} (${lo}, ${hi}) KS`);
    }
  }
  // Tensor bounds give the broadcast shape by default.
  const lo = k.tensor([[-1], [1]]), hi = k.tensor([0, 2, 3]);
  const t = R.truncatedNormal(R.key(4), lo, hi);
  assert.deepEqual(t.shape, [2, 3]);
  const v = await t.data();
  const L = [-1, -1, -1, 1, 1, 1], H = [0, 2, 3, 0, 2, 3];
  v.forEach((x, i) => {
    if (L[i] < H[i]) assert.ok(x >= L[i] && x <= H[i], `${x} in [${L[i]}, ${H[i]}]`);
  });
});

// ---------------------------------------------------------------------------------------------
// (d) Discrete

dtest("random: bernoulli rate", async () => {
  const b = R.bernoulli(R.key(5), 0.3, [50_000]);
  assert.equal(b.dtype, "bool");
  const d = await b.data();
  const rate = Array.from(d).reduce((a, x) => a + x, 0) / d.length;
  assert.ok(Math.abs(rate - 0.3) < 0.01, `rate ${rate}`);
  // p as a tensor gives its shape; p = 0 and 1 are exact.
  const p = R.bernoulli(R.key(6), k.tensor([0, 1, 0.5]));
  assert.deepEqual(p.shape, [3]);
  const v = await p.data();
  assert.equal(v[0], 0);
  assert.equal(v[1], 1);
  assert.deepEqual(R.bernoulli(R.key(6)).shape, []);
});

dtest("random: randint matches jax.random.randint and is uniform", async () => {
  const n = 2000;
  const cases: [number, number][] = [
    [0, 10],
    [-5, 5],
    [0, 1024], // power-of-two span
    [3, 3], // empty range gives minval
    [7, 2],
    [0, 40000],
    [-1000, 5_000_000], // chunked modulo
    [0, 2 ** 30 + 3], // span above 2^30: conditional subtraction
    [-(2 ** 31), 2 ** 31 - 1],
    [-2_000_000_000, 2_000_000_000],
    [-(2 ** 31), 2 ** 31], // maxval out of int32 range: full 32-bit span
    [10, 2 ** 40],
  ];
  for (const [lo, hi] of cases) {
    const got = Array.from(await R.randint(R.key(9), [n], lo, hi).data());
    const want = refRandint(refKey(9), n, lo, hi);
    assert.deepEqual(got, want, `randint(${lo}, ${hi})`);
    const lo32 = Math.max(lo, -(2 ** 31));
    if (hi > lo) assert.ok(got.every((x) => x >= lo32 && x < hi), `range (${lo}, ${hi})`);
  }
  // Tensor bounds (long division path) give the same integers as the number path.
  const lo = k.tensor([[0], [-5]], { dtype: "int32" });
  const hi = k.tensor([[10], [3_000_000_000 - 2 ** 32]], { dtype: "int32" }); // hi < lo: minval
  const t = R.randint(R.key(9), [2, n], lo, hi);
  assert.deepEqual(t.shape, [2, n]);
  const tv = Array.from(await t.data());
  const ref = refRandint(refKey(9), 2 * n, 0, 10);
  assert.deepEqual(tv.slice(0, n), ref.slice(0, n));
  assert.ok(tv.slice(n).every((x) => x === -5));
  const wide = R.randint(R.key(11), [n], k.tensor(-2_000_000_000, { dtype: "int32" }), 2e9);
  assert.deepEqual(Array.from(await wide.data()), refRandint(refKey(11), n, -2e9, 2e9));

  // Rough uniformity: chi-square over 10 bins (df 9; 99.9% quantile 27.9).
  const m = 50_000;
  const d = await R.randint(R.key(10), [m], 0, 10).data();
  const counts = new Array(10).fill(0);
  for (const x of d) counts[x]++;
  const chi = counts.reduce((a, c) => a + (c - m / 10) ** 2 / (m / 10), 0);
  assert.ok(chi < 27.9, `chi-square ${chi} (${counts})`);
});

dtest("random: permutation matches jax.random.permutation and is a permutation", async () => {
  for (const n of [0, 1, 2, 10, 1000, 2000]) { // 2000 > 1625 needs two sorting rounds
    const p = R.permutation(R.key(12), n);
    assert.equal(p.dtype, "int32");
    const got = Array.from(await p.data());
    assert.deepEqual(got, refPermutation(refKey(12), n), `n = ${n}`);
    assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    if (n >= 10) assert.ok(got.some((v, i) => v !== i));
  }
  // Tensors are permuted along an axis with the same order.
  const x = k.arange(12).reshape([3, 4]);
  const order = Array.from(await R.permutation(R.key(13), 4).data());
  const px = R.permutation(R.key(13), x, { axis: 1 });
  const rows = await px.data();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) assert.equal(rows[r * 4 + c], r * 4 + order[c]);
  }
});

dtest("random: categorical frequencies match softmax(logits)", async () => {
  const logits = [0.5, -1, 2, 0, 1];
  const z = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - z));
  const p = e.map((v) => v / e.reduce((a, b) => a + b));
  const n = 20_000;
  const s = R.categorical(R.key(14), k.tensor(logits), { shape: [n] });
  assert.equal(s.dtype, "int32");
  assert.deepEqual(s.shape, [n]);
  const counts = new Array(logits.length).fill(0);
  for (const c of (await s.data())) counts[c]++;
  counts.forEach((c, i) => assert.ok(Math.abs(c / n - p[i]) < 0.015, `${i}: ${c / n} vs ${p[i]}`));

  // A batch along axis 0, with a leading sample axis: row b samples from column b.
  const lg = k.tensor([[0, 5], [5, 0], [0, 0]]); // categories on axis 0, batch of 2
  const t = R.categorical(R.key(15), lg, { axis: 0, shape: [1000, 2] });
  assert.deepEqual(t.shape, [1000, 2]);
  const tv = await t.data();
  let first = 0, second = 0;
  for (let i = 0; i < 1000; i++) {
    if (tv[2 * i] === 1) first++;
    if (tv[2 * i + 1] === 0) second++;
  }
  const pBig = Math.exp(5) / (Math.exp(5) + 2);
  assert.ok(Math.abs(first / 1000 - pBig) < 0.03 && Math.abs(second / 1000 - pBig) < 0.03);
  assert.deepEqual(R.categorical(R.key(16), k.tensor([[1, 2, 3], [3, 2, 1]])).shape, [2]);
});

Deno.test("random: argument errors", () => {
  assert.throws(() => R.key(1.5), /safe integer/);
  assert.throws(() => R.uniform(k.tensor([0, 1]), [2]), /int32 tensor of shape \[2\]/);
  assert.throws(() => R.bits(k.tensor([0, 1, 2], { dtype: "int32" })), /shape \[2\]/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => R.normal(R.key(0), [2], { dtype: "int32" as any }), /dtype/);
  assert.throws(() => R.uniform(R.key(0), [2], { minval: k.tensor([0, 0, 0]) }), /broadcast/);
  assert.throws(() => R.permutation(R.key(0), -1), /non-negative/);
  const lg = k.tensor([[1, 2], [3, 4]]);
  assert.throws(() => R.categorical(R.key(0), lg, { shape: [3, 3] }), /broadcast/);
  assert.throws(() => R.categorical(R.key(0), lg, { shape: [] }), /compatible/);
});

Deno.test("random: the same key gives bit-identical draws on every device", async () => {
  // Integer streams are exact everywhere; uniform's mantissa trick is exact in float32 too.
  const draw = async (device: string) => {
    const key = R.key(2024, { device });
    const [a, b] = R.split(key);
    return await Promise.all([
      R.bits(a, [4, 257]).data(),
      R.bits(R.foldIn(b, 9), [33]).data(),
      R.randint(b, [500], -7, 1000).data(),
      R.uniform(a, [300]).data(),
      R.bernoulli(b, 0.25, [100]).data(),
    ]);
  };
  const want = (await draw("cpu")).map((d) => Array.from(d));
  for (const device of DEVICES.filter((d) => d !== "cpu")) {
    const got = (await draw(device)).map((d) => Array.from(d));
    got.forEach((g, i) => assert.deepEqual(g, want[i], `draw ${i} on ${device}`));
  }
});
