/**
 * float16: a storage dtype whose arithmetic is computed wider and rounded to float16 after every
 * op. References are independent: V8's `Math.f16round` / `Float16Array` (IEEE binary16, ties to
 * even) applied to float64 results, exact arithmetic on values chosen to make sums exact, and a
 * `.npy` file written by NumPy. Runs on every device that has float16 (WebGPU needs the
 * adapter's `shader-f16`: Mesa's lavapipe has it, the GL llvmpipe adapter does not).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { getBackend } from "../core/backends/backend.ts";
import type { WebGpuBackend } from "../core/backends/webgpu/webgpu.ts";
import { allClose, DEVICES, hasFloat16, rejectsWith, rng, sameValues } from "./_util.ts";

const F16 = DEVICES.filter(hasFloat16);
const h = Math.f16round;

/** Float16 values from raw bit patterns (every class: subnormal, normal, inf, NaN, ±0). */
const f16Bits = (bits: number[]) => new Float16Array(new Uint16Array(bits).buffer);
const bitsArb = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n });

/** Within `ulps` float16 ulps (of the expected value's binade). */
function withinUlps(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  ulps: number,
  msg = "",
) {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${msg}: element ${i} is ${a}, expected NaN`);
      continue;
    }
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${msg}: element ${i}`);
      continue;
    }
    const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(e) || 2 ** -24)) - 10));
    assert.ok(
      Math.abs(a - e) <= ulps * ulp,
      `${msg}: element ${i} is ${a}, expected ${e} (±${ulps} ulp = ${ulps * ulp})`,
    );
  }
}

const gpu = () => getBackend("webgpu") as WebGpuBackend;

for (const device of F16) {
  const t16 = (data: ArrayLike<number> | number[], shape?: number[]) =>
    k.tensor(Float16Array.from(data), { device, shape });

  Deno.test(`float16: + - * are correctly rounded, / and sqrt within an ulp [${device}]`, async () => {
    await fc.assert(
      fc.asyncProperty(bitsArb(24), bitsArb(24), async (ab, bb) => {
        const a = f16Bits(ab), b = f16Bits(bb);
        const x = t16(a), y = t16(b);
        const ref = (f: (p: number, q: number) => number) =>
          Float16Array.from(a, (v, i) => f(v, b[i]));
        sameValues(await x.add(y).data(), ref((p, q) => p + q), "add");
        sameValues(await x.sub(y).data(), ref((p, q) => p - q), "sub");
        sameValues(await x.mul(y).data(), ref((p, q) => p * q), "mul");
        const div = await x.div(y).data(), sq = await k.sqrt(x.abs()).data();
        const refDiv = ref((p, q) => p / q),
          refSq = Float16Array.from(a, (v) => Math.sqrt(Math.abs(v)));
        // The CPU rounds the float64 result once; WGSL's f32 `/` is only required within 2.5 ulp.
        if (device === "cpu") {
          sameValues(div, refDiv, "div");
          sameValues(sq, refSq, "sqrt");
        } else {
          withinUlps(div, refDiv, 1, "div");
          withinUlps(sq, refSq, 1, "sqrt");
        }
        assert.equal(x.add(y).dtype, "float16");
      }),
      { numRuns: device === "cpu" ? 100 : 15 },
    );
  });

  Deno.test(`float16: a fused chain equals op-by-op float16 [${device}]`, async () => {
    const r = rng(16);
    const a = Float16Array.from({ length: 4096 }, () => (r() - 0.5) * 20);
    const b = Float16Array.from({ length: 4096 }, () => (r() - 0.5) * 4);
    const f = (x: k.Tensor, y: k.Tensor) => x.mul(1.1).add(y).mul(x).sub(0.3).div(y.mul(y).add(1));
    const fused = await k.jit(f)(t16(a), t16(b)).data();
    // Op by op: every intermediate read back (so stored as float16) before the next op.
    const step = async (t: k.Tensor) => t16(await t.data(), [...t.shape]);
    let x = await step(t16(a).mul(1.1));
    x = await step(x.add(t16(b)));
    x = await step(x.mul(t16(a)));
    x = await step(x.sub(0.3));
    const den = await step((await step(t16(b).mul(t16(b)))).add(1));
    const ref = await x.div(den).data();
    if (device === "cpu") sameValues(fused, ref, "fused vs op-by-op");
    else withinUlps(fused, ref, 1, "fused vs op-by-op"); // division: see above
    // Host reference for the same rounding sequence.
    const host = Float16Array.from(a, (v, i) => {
      const w = b[i];
      const num = h(h(h(h(v * h(1.1)) + w) * v) - h(0.3));
      return num / h(h(w * w) + 1);
    });
    withinUlps(fused, host, device === "cpu" ? 0 : 1, "host float16 sequence");
  });

  Deno.test(`float16: conversions round to nearest even, overflow to inf, keep subnormals [${device}]`, async () => {
    const vals = [
      1 + 2 ** -11, // tie -> 1
      1 + 3 * 2 ** -11, // tie -> 1 + 2^-9
      65519,
      65520, // -> inf
      -65520,
      2 ** -25, // tie -> 0
      3 * 2 ** -25, // tie -> 2^-23
      0.75 * 2 ** -24, // -> 2^-24
      -0,
      NaN,
      Infinity,
      0.1,
      -1 / 3,
      1e-9,
    ];
    const f32 = k.tensor(Float32Array.from(vals), { device });
    const expected = Float16Array.from(Float32Array.from(vals));
    sameValues(await f32.astype("float16").data(), expected, "float32 -> float16");
    const f64 = k.tensor(Float64Array.from(vals), { device: "cpu" });
    sameValues(await f64.astype("float16").data(), Float16Array.from(vals), "float64 -> float16");
    const ints = k.tensor([2049, 2051, -2051, 65503, 70000, 7], { dtype: "int32", device });
    sameValues(
      await ints.astype("float16").data(),
      Float16Array.from([2049, 2051, -2051, 65503, 70000, 7]),
      "int32 -> float16",
    );
    const back = t16([2.5, -2.5, 0.99951171875, 65504, -7.75]);
    sameValues(await back.astype("int32").data(), [2, -2, 0, 65504, -7], "float16 -> int32");
    sameValues(
      await back.astype("float32").data(),
      Float32Array.from([2.5, -2.5, 0.99951171875, 65504, -7.75]),
      "float16 -> float32",
    );
    sameValues(await t16([0, -0, 3, NaN]).astype("bool").data(), [0, 0, 1, 1], "float16 -> bool");
    // Constants are rounded to float16 where they meet a float16 tensor.
    sameValues(
      await t16([1, 2]).add(0.1).data(),
      Float16Array.from([1 + h(0.1), 2 + h(0.1)]),
      "weak scalar",
    );
    sameValues(
      await k.full([3], 0.1, { dtype: "float16", device }).data(),
      Float16Array.from([0.1, 0.1, 0.1]),
      "full",
    );
  });

  Deno.test(`float16: promotion bool < int32 < float16 < float32 [${device}]`, () => {
    const x = t16([1, 2]);
    assert.equal(x.add(k.tensor([1, 2], { dtype: "int32", device })).dtype, "float16");
    assert.equal(x.add(k.tensor([true, false], { device })).dtype, "float16");
    assert.equal(x.add(k.tensor([1, 2], { dtype: "float32", device })).dtype, "float32");
    assert.equal(x.mul(2.5).dtype, "float16");
    assert.equal(x.mean().dtype, "float16");
    assert.equal(x.less(1).dtype, "bool");
    assert.equal(k.argmax(x).dtype, "int32");
  });

  Deno.test(`float16: sums accumulate in float32 and round once [${device}]`, async () => {
    // Multiples of 1/8 in [-64, 64): any partial sum is exact in float32, not in float16.
    const r = rng(7);
    for (const n of [10, 300, 5000]) {
      const a = Float16Array.from({ length: n }, () => Math.floor((r() - 0.5) * 1024) / 8);
      const exact = a.reduce((s, v) => s + v, 0);
      const variants = device === "webgpu" ? [true, false] : [undefined];
      for (const coop of variants) {
        if (device === "webgpu") gpu().workgroupKernels = coop;
        try {
          const s = await t16(a).sum().data();
          sameValues(s, [h(exact)], `sum of ${n} (workgroup kernels: ${coop})`);
          const m = await t16(a).max().data();
          sameValues(m, [Math.max(...a)], `max of ${n}`);
        } finally {
          if (device === "webgpu") gpu().workgroupKernels = undefined;
        }
      }
    }
    // Row sums and means of a matrix.
    const m = Float16Array.from({ length: 12 * 40 }, () => Math.floor((r() - 0.5) * 64) / 4);
    const rows = Array.from(
      { length: 12 },
      (_, i) => m.slice(i * 40, i * 40 + 40).reduce((s, v) => s + v, 0),
    );
    sameValues(await t16(m, [12, 40]).sum({ axis: 1 }).data(), Float16Array.from(rows), "row sums");
    sameValues(
      await t16(m, [12, 40]).mean({ axis: 1 }).data(),
      Float16Array.from(rows.map((v) => v / 40)),
      "row means",
    );
  });

  Deno.test(`float16: matmul accumulates in float32 (tiled path, epilogue, batches) [${device}]`, async () => {
    const r = rng(11);
    const shapes: [number, number, number][] = [[33, 65, 17], [8, 8, 8], [5, 3, 7], [64, 128, 40]];
    const variants = device === "webgpu" ? [true, false] : [undefined];
    for (const staged of variants) {
      if (device === "webgpu") gpu().workgroupKernels = staged;
      try {
        for (const [M, K, N] of shapes) {
          // Small multiples of 1/4: products and sums exact in float32, so the result is the
          // exact product rounded once to float16.
          const a = Float16Array.from({ length: M * K }, () => Math.floor((r() - 0.5) * 16) / 4);
          const b = Float16Array.from({ length: K * N }, () => Math.floor((r() - 0.5) * 16) / 4);
          const bias = Float16Array.from({ length: N }, () => Math.floor((r() - 0.5) * 8) / 8);
          const ref = new Float16Array(M * N), refEpi = new Float16Array(M * N);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let q = 0; q < K; q++) s += a[i * K + q] * b[q * N + j];
              ref[i * N + j] = s;
              refEpi[i * N + j] = Math.max(0, h(h(s) + bias[j]));
            }
          }
          const x = t16(a, [M, K]), y = t16(b, [K, N]);
          const msg = `[${M},${K}]@[${K},${N}] (staged: ${staged})`;
          sameValues(await k.matmul(x, y).data(), ref, msg);
          sameValues(
            await k.relu(k.matmul(x, y).add(t16(bias))).data(),
            refEpi,
            `${msg} + bias, relu`,
          );
          const batched = await k.matmul(k.stack([x, x.neg()]), y).data();
          // -x·y may give -0 where x·y gives +0: compare values.
          allClose(
            batched,
            [...ref, ...ref.map((v) => -v)],
            { rtol: 0, atol: 0 },
            `${msg} batched`,
          );
        }
      } finally {
        if (device === "webgpu") gpu().workgroupKernels = undefined;
      }
    }
    // Gaussian values: within 2 float16 ulps of the float64 product rounded.
    const [M, K, N] = [40, 100, 24];
    const a = Float16Array.from({ length: M * K }, () => r() * 2 - 1);
    const b = Float16Array.from({ length: K * N }, () => r() * 2 - 1);
    const ref = new Float64Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        for (let q = 0; q < K; q++) ref[i * N + j] += a[i * K + q] * b[q * N + j];
      }
    }
    withinUlps(
      await k.matmul(t16(a, [M, K]), t16(b, [K, N])).data(),
      Float16Array.from(ref),
      2,
      "gaussian",
    );
  });

  Deno.test(`float16: transcendental functions within 2 ulps of the rounded float64 value [${device}]`, async () => {
    const r = rng(5);
    const a = Float16Array.from({ length: 300 }, () => (r() - 0.5) * 12);
    const pos = Float16Array.from(a, (v) => Math.abs(v) + 0.01);
    const cases: [string, (x: k.Tensor) => k.Tensor, (v: number) => number, Float16Array][] = [
      ["exp", k.exp, Math.exp, a],
      ["tanh", k.tanh, Math.tanh, a],
      ["sigmoid", k.sigmoid, (v) => 1 / (1 + Math.exp(-v)), a],
      ["sin", k.sin, Math.sin, a],
      ["log", k.log, Math.log, pos],
    ];
    for (const [name, f, ref, input] of cases) {
      const out = f(t16(input));
      assert.equal(out.dtype, "float16", name);
      withinUlps(await out.data(), Float16Array.from(input, ref), 2, name);
    }
    // Integers are exact up to 2048; 2049 rounds to even.
    sameValues(
      await k.arange(2045, 2052, 1, { dtype: "float16", device }).data(),
      Float16Array.from([2045, 2046, 2047, 2048, 2048, 2050, 2052]),
      "arange",
    );
  });

  Deno.test(`float16: gradients are float16 and match float64 derivatives [${device}]`, async () => {
    const r = rng(3);
    const a = Float16Array.from({ length: 50 }, () => (r() - 0.5) * 4);
    const f = (x: k.Tensor) => k.sum(k.sin(x).mul(x));
    const g = k.grad(f)(t16(a));
    assert.equal(g.dtype, "float16");
    const ref = Float64Array.from(a, (v) => Math.cos(v) * v + Math.sin(v));
    allClose(await g.data(), ref, { rtol: 4e-3, atol: 4e-3 }, "d/dx sum(sin(x)·x)");
    // Through a cast: float32 loss of float16 parameters (mixed precision).
    const g2 = k.grad((x: k.Tensor) => k.sum(x.astype("float32").mul(x.astype("float32"))))(t16(a));
    assert.equal(g2.dtype, "float16");
    sameValues(await g2.data(), Float16Array.from(a, (v) => 2 * v), "d/dx sum(x²) through float32");
  });

  Deno.test(`float16: odd sizes upload, scan and slice at odd offsets [${device}]`, async () => {
    // 7 steps of 3 elements: slices at odd float16 offsets (not 4-byte aligned on the GPU).
    const xs = Float16Array.from({ length: 21 }, (_, i) => i * 0.5 + 0.25);
    const [carry, ys] = k.scan(
      (c: k.Tensor, x: k.Tensor) => [c.add(x), c.mul(2)] as [k.Tensor, k.Tensor],
      t16([0, 0, 0]),
      t16(xs, [7, 3]),
    );
    const c = [0, 0, 0], ysRef: number[] = [];
    for (let t = 0; t < 7; t++) {
      for (let j = 0; j < 3; j++) {
        ysRef.push(h(c[j] * 2));
        c[j] = h(c[j] + xs[t * 3 + j]);
      }
    }
    sameValues(await carry.data(), Float16Array.from(c), "scan carry");
    sameValues(await ys.data(), Float16Array.from(ysRef), "scan outputs");
    sameValues(await t16([1.5, 2.5, 3.5]).data(), [1.5, 2.5, 3.5], "odd upload");
    sameValues(
      await t16(xs, [7, 3]).slice([[1, 6], [1, 2]]).data(),
      [2.25, 3.75, 5.25, 6.75, 8.25],
      "odd slice",
    );
  });

  Deno.test(`float16: random draws stay in range; uniform bits agree across devices [${device}]`, async () => {
    const key = k.random.key(42, { device });
    const u = k.random.uniform(key, [4096], { dtype: "float16" });
    assert.equal(u.dtype, "float16");
    const uv = await u.data();
    for (const v of uv) {
      assert.ok(v >= 0 && v < 1 && v * 1024 === Math.floor(v * 1024), `uniform ${v}`);
    }
    const cpu = await k.random.uniform(k.random.key(42, { device: "cpu" }), [4096], {
      dtype: "float16",
    }).data();
    sameValues(uv, cpu, "uniform bits vs cpu");
    const lo = await k.random.uniform(key, [2000], { dtype: "float16", minval: -2, maxval: 2 })
      .data();
    for (const v of lo) assert.ok(v >= -2 && v < 2, `uniform in [-2, 2): ${v}`);
    const z = [...await k.random.normal(key, [4000], { dtype: "float16" }).data()];
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length;
    assert.ok(
      Math.abs(mean) < 0.08 && Math.abs(variance - 1) < 0.1,
      `normal moments ${mean} ${variance}`,
    );
    const tn = await k.random.truncatedNormal(key, -0.5, 0.5, [3000], { dtype: "float16" }).data();
    for (const v of tn) assert.ok(v > -0.5 && v < 0.5, `truncatedNormal in (-0.5, 0.5): ${v}`);
  });
}

Deno.test("float16: .npy files written by NumPy load as float16 and round-trip", async () => {
  const t = await k.data.loadNpy(new URL("./fixtures/half.npy", import.meta.url).pathname);
  assert.equal(t.dtype, "float16");
  assert.deepEqual(t.shape, [2, 6]);
  const expected = [
    0,
    -0,
    1,
    65504,
    Infinity,
    -Infinity,
    NaN,
    2 ** -24,
    h(0.1),
    -2.5,
    h(1 / 3),
    2048,
  ];
  sameValues(await t.data(), expected, "half.npy");
  const bytes = await k.data.encodeNpy(t);
  const back = k.data.parseNpy(bytes);
  assert.equal(back.dtype, "float16");
  sameValues(await back.data(), expected, "npy round trip");
  // The same bytes as NumPy wrote (header padding included).
  const orig = await Deno.readFile(new URL("./fixtures/half.npy", import.meta.url));
  assert.deepEqual(bytes.slice(-24), orig.slice(-24));
});

Deno.test("float16: safetensors stores F16 and loads it as float16", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_f16_" });
  try {
    const w = k.tensor(Float16Array.from([0.1, -2, 65504, 3]), { shape: [2, 2] });
    const b = k.tensor(Float16Array.from([1, 2, 3]));
    await k.io.save(`${dir}/p.safetensors`, { w, b });
    const raw = await Deno.readFile(`${dir}/p.safetensors`);
    const n = Number(new DataView(raw.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + n)));
    assert.equal(header.w.dtype, "F16");
    assert.deepEqual(header.w.data_offsets[1] - header.w.data_offsets[0], 8);
    const back = await k.io.load<{ w: k.Tensor; b: k.Tensor }>(`${dir}/p.safetensors`);
    assert.equal(back.w.dtype, "float16");
    sameValues(await back.w.data(), Float16Array.from([0.1, -2, 65504, 3]), "w");
    sameValues(await back.b.data(), [1, 2, 3], "b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

if (DEVICES.includes("webgpu")) {
  Deno.test("float16: an adapter without shader-f16 gives an error naming the fix", async () => {
    const b = gpu();
    await b.whenReady();
    const saved = b.adapter!;
    b.adapter = { ...saved, f16: false };
    try {
      const x = k.tensor(Float16Array.from([1, 2, 3]), { device: "webgpu" });
      await rejectsWith(() => x.add(1).data(), ["float16", "shader-f16", "float32", "cpu"]);
    } finally {
      b.adapter = saved;
    }
  });
}

Deno.test("dtypes: finfo, iinfo and promoteTypes", () => {
  const f16 = k.finfo("float16");
  // Closed forms checked against Float16Array rounding.
  assert.equal(f16.eps, h(1 + 2 ** -10) - 1);
  assert.equal(h(1 + 2 ** -11), 1);
  assert.equal(f16.max, h(65504));
  assert.equal(h(f16.max + 16), Infinity);
  assert.equal(h(f16.tiny), f16.tiny);
  assert.equal(h(f16.smallestSubnormal / 2), 0);
  assert.equal(f16.smallestSubnormal, 2 ** -24);
  const f32 = k.finfo("float32");
  assert.equal(f32.eps, Math.fround(1 + 2 ** -23) - 1);
  assert.equal(Math.fround(f32.max), f32.max);
  assert.equal(Math.fround(f32.max * (1 + 2 ** -23)), Infinity);
  assert.equal(k.finfo("float64").eps, Number.EPSILON);
  assert.equal(k.finfo("float64").max, Number.MAX_VALUE);
  assert.deepEqual(k.iinfo("int32"), {
    dtype: "int32",
    bits: 32,
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
  });
  assert.equal(k.promoteTypes("int32", "float16"), "float16");
  assert.equal(k.promoteTypes("float16", "float32"), "float32");
  assert.equal(k.promoteTypes("bool", "int32"), "int32");
  assert.throws(() => k.finfo("int32"), /finfo: int32 is not a float dtype/);
  assert.throws(() => k.iinfo("float16"), /iinfo: float16 is not an integer dtype/);
  assert.throws(
    () => k.promoteTypes("float8" as k.DType, "int32"),
    /promoteTypes: unknown dtype "float8"/,
  );
});

for (const device of F16) {
  Deno.test(`float16: an MLP trains end to end in float16 (jit, valueAndGrad, sgd) [${device}]`, async () => {
    // Three Gaussian blobs in 8 dimensions; float16 parameters, inputs, loss and gradients.
    const r = rng(21);
    const n = 192, d = 8, classes = 3;
    const centers = Array.from(
      { length: classes },
      () => Array.from({ length: d }, () => (r() - 0.5) * 4),
    );
    const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
    const xs = Float16Array.from({ length: n * d }, (_, f) => {
      const i = Math.floor(f / d), j = f % d;
      return centers[labels[i]][j] + (r() - 0.5) * 1.5;
    });
    const x = k.tensor(xs, { shape: [n, d], device });
    const y = k.tensor(labels, { device });
    let params = k.nn.mlp.init(k.random.key(0, { device }), [d, 16, classes], { dtype: "float16" });
    const loss = (p: typeof params, xb: k.Tensor, yb: k.Tensor) =>
      k.nn.softmaxCrossEntropy(k.nn.mlp.apply(p, xb), yb);
    const opt = k.optim.sgd(0.2);
    let state = opt.init(params);
    const step = k.jit((p: typeof params, s: typeof state, xb: k.Tensor, yb: k.Tensor) => {
      const [l, g] = k.valueAndGrad(loss)(p, xb, yb);
      const [u, s2] = opt.update(g, s, p);
      return [k.optim.applyUpdates(p, u), s2, l] as const;
    });
    let first = NaN, last = NaN;
    for (let i = 0; i < 60; i++) {
      const [p2, s2, l] = step(params, state, x, y);
      [params, state] = [p2, s2];
      if (i === 0) first = Number(await l.item());
      last = Number(await l.item());
    }
    assert.equal(params.layers[0].w.dtype, "float16");
    const acc = Number(await k.nn.accuracy(k.nn.mlp.apply(params, x), y).item());
    assert.ok(Number.isFinite(last) && last < first / 3, `loss ${first} -> ${last}`);
    assert.ok(acc > 0.95, `accuracy ${acc}`);
  });
}

Deno.test("float16: optimizers keep float32 state for float16 parameters (no underflow to NaN/inf)", async () => {
  const p0 = [1, -2, 0.5, 0.25];
  const g = [0.1, 0, -1e-3, 1e-4]; // 1e-4² underflows in float16
  const params = { w: k.tensor(Float16Array.from(p0)) };
  const grads = { w: k.tensor(Float16Array.from(g)) };
  const gh = Array.from(Float16Array.from(g));
  // One Adam step (bias-corrected): p - lr · g / (|g| + eps), rounded to float16.
  const adam = k.optim.adam(0.01);
  const [u, s] = adam.update(grads, adam.init(params), params);
  for (const leaf of k.tree.leaves(s as k.tree.PyTree<k.Tensor>)) {
    assert.ok(leaf.dtype === "float32" || leaf.dtype === "int32", `state dtype ${leaf.dtype}`);
  }
  const p1 = k.optim.applyUpdates(params, u);
  assert.equal(p1.w.dtype, "float16");
  const want = p0.map((p, i) => p - 0.01 * gh[i] / (Math.abs(gh[i]) + 1e-8));
  sameValues(await p1.w.data(), Float16Array.from(want), "adam step");
  // RMSProp and AdaGrad: first step p - lr · g / (sqrt(c · g²) + eps).
  for (
    const [name, opt, c] of [
      ["rmsprop", k.optim.rmsprop(0.01), 0.01],
      ["adagrad", k.optim.adagrad(0.01), 1],
    ] as const
  ) {
    const [u2] = opt.update(grads, opt.init(params), params);
    const got = await k.optim.applyUpdates(params, u2).w.data();
    const eps = name === "rmsprop" ? 1e-8 : 1e-10;
    const ref = p0.map((p, i) => p - 0.01 * gh[i] / (Math.sqrt(c * gh[i] * gh[i]) + eps));
    withinUlps(got, Float16Array.from(ref), 1, name);
  }
});
