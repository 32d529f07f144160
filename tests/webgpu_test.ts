/**
 * The WebGPU backend: devices, transfers, error messages, one submit per realize, pipeline and
 * buffer reuse, the scheduler's storage-buffer limit, compile errors, and bit-exact agreement
 * with the CPU on integer, comparison and special-value semantics. Skipped without an adapter.
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { getBackend } from "../core/backends/backend.ts";
import {
  formatCompileError,
  SYNC_READ_ERROR,
  WebGpuBackend,
  WebGpuKernel,
} from "../core/backends/webgpu/webgpu.ts";
import { wgslLiteral } from "../core/backends/webgpu/wgsl.ts";
import { allClose, DEVICES, F32_TOL, rng, sameValues } from "./_util.ts";

const ignore = !DEVICES.includes("webgpu");
const gpu = () => getBackend("webgpu") as WebGpuBackend;
const W = { device: "webgpu" };

/** Runs `f` on the CPU and on WebGPU and returns both results' data. */
async function both(
  f: (device: string) => k.Tensor,
): Promise<[ArrayLike<number>, ArrayLike<number>]> {
  const [c, g] = await Promise.all([f("cpu").data(), f("webgpu").data()]);
  return [c, g];
}

Deno.test({
  name: "webgpu: devices() lists cpu and the adapter; ready() keeps cpu on a software adapter",
  ignore,
  fn: async () => {
    const ds = await k.devices();
    assert.deepEqual(ds.map((d) => d.name), ["cpu", "webgpu"]);
    const g = ds[1];
    assert.equal(g.kind, "gpu");
    assert.equal(typeof g.description, "string");
    assert.equal(typeof g.hardware, "boolean");
    if (/llvmpipe|swiftshader/i.test(g.description)) assert.equal(g.hardware, false);
    let env: string | undefined;
    try {
      env = Deno.env.get("KILN_DEVICE");
    } catch { /* no permission */ }
    const prev = k.defaultDevice();
    if (!env) {
      const d = await k.ready();
      assert.equal(d, prev === "cpu" && !g.hardware ? "cpu" : d);
    }
    assert.throws(
      () => k.setDefaultDevice("gpu"),
      /setDefaultDevice: device must be one of .*"gpu"/,
    );
  },
});

Deno.test({
  name: "webgpu: devicePut round trips keep values and dtypes",
  ignore,
  fn: async () => {
    const C = { device: "cpu" };
    const f = k.tensor([[1.5, -2, 3e-8], [Infinity, NaN, -0]], C);
    const i = k.tensor([-2147483648, 7, 2147483647], { dtype: "int32", ...C });
    const b = k.tensor([true, false, true], C);
    for (const x of [f, i, b]) {
      const g = await k.devicePut(x, "webgpu");
      assert.equal(g.device, "webgpu");
      assert.equal(g.dtype, x.dtype);
      assert.deepEqual(g.shape, x.shape);
      const back = await k.devicePut(g.add(k.zerosLike(g)), "cpu");
      assert.equal(back.device, "cpu");
      sameValues(back.dataSync(), x.dataSync(), `round trip ${x.dtype}`);
      assert.equal(await k.devicePut(g, "webgpu"), g, "same device is a no-op");
    }
    // Bad arguments throw at once (issue 17: validation before anything else).
    assert.throws(() => k.devicePut(f, "tpu"), /devicePut: device must be one of .*"tpu"/);
    await assert.rejects(
      () => k.devicePut(k.tensor([1], { dtype: "float64", ...C }), "webgpu"),
      /float64.*WebGPU/,
    );
  },
});

Deno.test({
  name: "webgpu: dataSync and float64 give errors that name the fix",
  ignore,
  fn: async () => {
    const x = k.tensor([1, 2], W);
    assert.throws(() => x.add(1).dataSync(), (e: Error) => e.message === SYNC_READ_ERROR);
    await x.data();
    assert.throws(() => x.dataSync(), (e: Error) => e.message === SYNC_READ_ERROR);
    assert.match(
      SYNC_READ_ERROR,
      /^dataSync: the webgpu backend cannot read synchronously; use `await t\.data\(\)`$/,
    );
    assert.throws(() => k.tensor([1], { dtype: "float64", ...W }), /float64.*cpu device/);
    await assert.rejects(() => x.astype("float64").data(), /webgpu: op cast has dtype float64/);
  },
});

Deno.test({
  name: "webgpu: mixing devices in one op names the op and both devices",
  ignore,
  fn: () => {
    const c = k.tensor([1, 2], { device: "cpu" }), g = k.tensor([1, 2], W);
    for (
      const [op, f] of [
        ["add", () => k.add(c, g)],
        ["matmul", () => k.matmul(c, g)],
        ["where", () => k.where(k.tensor([true, false], W), c, 1)],
        ["concatenate", () => k.concatenate([c, g])],
        ["take", () => k.take(g, k.tensor([0], { dtype: "int32", device: "cpu" }))],
      ] as const
    ) {
      assert.throws(f, (e: Error) => {
        assert.match(e.message, new RegExp(`^${op}: `));
        assert.match(e.message, /cpu/);
        assert.match(e.message, /webgpu/);
        return true;
      });
    }
  },
});

Deno.test({
  name: "webgpu: one realize is one command-encoder submit; pipelines are cached",
  ignore,
  fn: async () => {
    const be = gpu();
    const x = k.tensor([[1, 2, 3], [4, 5, 6]], W);
    await x.data();
    const step = () => {
      const s = k.softmax(x.mul(2), { axis: -1 }); // 3 kernels
      const m = k.matmul(x, x.T).relu(); // 1 kernel
      return [s, m, x.sum()];
    };
    const outs = step();
    const kernels = k.schedule(...outs).length;
    assert.ok(kernels >= 5, `${kernels} kernels`);
    be.resetStats();
    await k.realize(...outs);
    let s = be.stats();
    assert.equal(s.executeSubmits, 1, "one submit for the realize");
    assert.equal(s.dispatches, kernels);
    const firstPipelines = s.pipelines;
    be.resetStats();
    await k.realize(...step());
    s = be.stats();
    assert.equal(s.executeSubmits, 1);
    assert.equal(s.pipelines, 0, "the same kernels reuse their pipelines");
    assert.ok(s.pipelineHits >= kernels);
    assert.ok(firstPipelines <= kernels);
    // Reads requested together share one submit and one mapAsync wait.
    be.resetStats();
    const [a, b] = outs;
    await Promise.all([a.data(), b.data()]);
    s = be.stats();
    assert.equal(s.readBatches, 1);
    assert.equal(s.reads, 2);
  },
});

Deno.test({
  name: "webgpu: buffers come back to the pool (memoryStats on webgpu)",
  ignore,
  fn: async () => {
    const be = gpu();
    let w = k.tensor(new Float32Array(1000).fill(1), W);
    const step = (w: k.Tensor) => w.mul(0.5).add(w.sin()).sub(0.25);
    for (let i = 0; i < 3; i++) {
      const next = step(w);
      await k.realize(next);
      w.dispose();
      w = next;
    }
    const before = be.memoryStats();
    for (let i = 0; i < 20; i++) {
      const next = step(w);
      await k.realize(next);
      w.dispose();
      w = next;
    }
    const after = be.memoryStats();
    assert.equal(after.allocations, before.allocations, "no new GPU buffers in a steady loop");
    assert.equal(after.buffers, before.buffers, "no leaked buffers");
    assert.equal(k.memoryStats().buffers >= after.buffers, true);
    await w.data();
  },
});

Deno.test({
  name: "webgpu: kernels reading more buffers than the device binds are split",
  ignore,
  fn: async () => {
    const be = gpu();
    const mk = (device: string) =>
      Array.from({ length: 9 }, (_, i) => k.tensor([i, i + 1, -i, 0.5 * i], { device }));
    const f = (xs: k.Tensor[]) =>
      xs.slice(1).reduce((acc, x, i) => acc.add(x.mul(i + 1)).sin(), xs[0]).sum();
    const want = await f(mk("cpu")).data();
    const before = be.maxKernelInputs;
    try {
      be.maxKernelInputs = 3;
      const xs = mk("webgpu");
      await k.realize(...xs);
      const y = f(xs);
      const kernels = k.schedule(y);
      assert.ok(kernels.length >= 4, `${kernels.length} kernels`);
      for (const kk of kernels) assert.ok(kk.inputs.length <= 3, `${kk.inputs.length} inputs`);
      allClose(await y.data(), want, F32_TOL.webgpu);
    } finally {
      be.maxKernelInputs = undefined;
    }
    assert.equal(be.maxKernelInputs, before);
    assert.equal(k.schedule(f(mk("webgpu"))).length, before >= 9 ? 1 : 2);
  },
});

Deno.test({
  name: "webgpu: shader compile errors carry the WGSL with KILN_DEBUG=3",
  ignore,
  fn: async () => {
    const src = "fn main( {";
    const quiet = formatCompileError("parse error", src, 0);
    assert.match(quiet, /WGSL kernel failed to compile: parse error/);
    assert.match(quiet, /set KILN_DEBUG=3/);
    const loud = formatCompileError("parse error", src, 3);
    assert.match(loud, /--- generated WGSL ---\n {3}1 {2}fn main\( \{/);
    const be = gpu();
    await be.whenReady();
    const bad = new WebGpuKernel(
      "@compute @workgroup_size(1) fn main() { let x = ; }",
      [1, 1, 1],
      0,
    );
    const out = be.alloc("float32", 1);
    try {
      await assert.rejects(
        async () => await be.execute([{ kernel: bad, inputs: [], output: out }]),
        /webgpu: WGSL kernel failed to compile/,
      );
    } finally {
      out.release();
    }
    // The backend still works afterwards.
    sameValues(await k.tensor([1, 2], W).add(1).data(), new Float32Array([2, 3]), "after an error");
  },
});

Deno.test({
  name: "webgpu: tensors above maxStorageBufferBindingSize are refused",
  ignore,
  fn: async () => {
    const be = gpu();
    await be.whenReady();
    const n = Math.floor(be.maxBindingBytes / 4) + 1;
    await assert.rejects(
      () => k.zeros([n], W).add(1).data(),
      /exceeds this device's maxStorageBufferBindingSize/,
    );
  },
});

Deno.test({
  name: "webgpu: a lost device is reported and later calls throw, never hang",
  ignore,
  fn: async () => {
    const be = new WebGpuBackend(); // a device of its own
    const device = await be.whenReady();
    const buf = be.upload("float32", new Float32Array([1, 2]));
    device.destroy();
    const t0 = performance.now();
    let err: Error | undefined;
    while (!err && performance.now() - t0 < 2000) {
      await new Promise((r) => setTimeout(r, 10));
      try {
        await be.whenReady();
      } catch (e) {
        err = e as Error;
      }
    }
    assert.ok(err, "device loss was noticed");
    assert.match(err.message, /device was lost/);
    await assert.rejects(async () => await be.read(buf), /device was lost|disposed/);
  },
});

Deno.test({
  name: "webgpu: integer, comparison and special-value semantics match the CPU bit for bit",
  ignore,
  fn: async () => {
    const ints = [-2147483648, -7, -3, -1, 0, 1, 2, 3, 7, 2147483647];
    const a = ints.flatMap((x) => ints.map(() => x)), b = ints.flatMap(() => ints);
    const I = (d: string, v: number[]) => k.tensor(v, { dtype: "int32", device: d });
    const int32Ops: [string, (x: k.Tensor, y: k.Tensor) => k.Tensor][] = [
      ["add", k.add],
      ["sub", k.sub],
      ["mul", k.mul],
      ["floorDivide", k.floorDivide],
      ["mod", k.mod],
      ["maximum", k.maximum],
      ["less", k.less],
      ["equal", k.equal],
      ["bitwiseXor", k.bitwiseXor],
      ["shiftLeft", (x, y) => k.shiftLeft(x, k.bitwiseAnd(y, 31))],
      ["shiftRightLogical", (x, y) => k.shiftRightLogical(x, k.bitwiseAnd(y, 31))],
      ["pow", (x, y) => k.pow(k.bitwiseAnd(x, 7), k.bitwiseAnd(y, 15))],
    ];
    for (const [name, op] of int32Ops) {
      const [c, g] = await both((d) => op(I(d, a), I(d, b)));
      sameValues(c, g, `int32 ${name}`);
    }
    for (const [name, op] of [["neg", k.neg], ["abs", k.abs], ["sign", k.sign]] as const) {
      const [c, g] = await both((d) => op(I(d, ints)));
      sameValues(c, g, `int32 ${name}`);
    }
    // (No subnormals: GPUs may flush them to zero.)
    const fl = [NaN, Infinity, -Infinity, -0, 0, 1.5, -2.5, 0.5, 3e9, -3e9, 1e20, 2 ** 31, -0.75];
    const fa = fl.flatMap((x) => fl.map(() => x)), fb = fl.flatMap(() => fl);
    const F = (d: string, v: number[]) => k.tensor(v, { device: d });
    const floatOps: [string, (x: k.Tensor, y: k.Tensor) => k.Tensor][] = [
      ["add", k.add],
      ["mul", k.mul],
      ["div", k.div],
      ["maximum", k.maximum],
      ["minimum", k.minimum],
      ["less", k.less],
      ["lessEqual", k.lessEqual],
      ["equal", k.equal],
      ["notEqual", k.notEqual],
      ["mod", k.mod],
      ["floorDivide", k.floorDivide],
      ["where", (x, y) => k.where(x, x, y)],
      ["logicalAnd", k.logicalAnd],
    ];
    for (const [name, op] of floatOps) {
      const [c, g] = await both((d) => op(F(d, fa), F(d, fb)));
      sameValues(c, g, `float32 ${name}`);
    }
    const unary: [string, (x: k.Tensor) => k.Tensor][] = [
      ["astype int32", (x) => x.astype("int32")],
      ["astype bool", (x) => x.astype("bool")],
      ["isnan", k.isnan],
      ["isfinite", k.isfinite],
      ["relu", k.relu],
      ["sign", k.sign],
      ["abs", k.abs],
      ["floor", k.floor],
      ["round", k.round],
      ["logicalNot", k.logicalNot],
      ["sqrt", k.sqrt],
    ];
    for (const [name, op] of unary) {
      const [c, g] = await both((d) => op(F(d, fl)));
      sameValues(c, g, `float32 ${name}`);
    }
    // Special values through transcendental functions: the same class of result.
    // (sin/cos: accurate arguments below 1e5 only.)
    for (const op of [k.exp, k.log, k.log1p, k.expm1, k.tanh, k.sigmoid, k.erf, k.sin, k.cos]) {
      const xs = op === k.sin || op === k.cos ? fl.filter((v) => !(Math.abs(v) > 1e5)) : fl;
      const [c, g] = await both((d) => op(F(d, xs)));
      for (let i = 0; i < c.length; i++) {
        const ok = Object.is(c[i], g[i]) ||
          (Number.isFinite(c[i]) && Math.abs(c[i] - g[i]) <= 1e-6 * Math.max(1, Math.abs(c[i])));
        assert.ok(ok, `${op.name}(${xs[i]}): cpu ${c[i]}, webgpu ${g[i]}`);
      }
    }
    const [c, g] = await both((d) => k.pow(F(d, fa), F(d, fb)));
    for (let i = 0; i < c.length; i++) {
      const ok = Object.is(c[i], g[i]) ||
        (Number.isFinite(c[i]) && Math.abs(c[i] - g[i]) <= 1e-5 * Math.abs(c[i]));
      assert.ok(ok, `pow(${fa[i]}, ${fb[i]}): cpu ${c[i]}, webgpu ${g[i]}`);
    }
  },
});

Deno.test({
  name: "webgpu: tiled matmul (fused epilogue), long reductions and gathers match the CPU",
  ignore,
  fn: async () => {
    const rnd = (n: number, seed: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
    const T = (d: string, shape: number[], seed: number) =>
      k.tensor(rnd(shape.reduce((a, b) => a * b, 1), seed), { shape, device: d });
    const cases: [string, (d: string) => k.Tensor][] = [
      [
        "matmul 67x45 @ 45x53 + bias, relu",
        (d) => k.matmul(T(d, [67, 45], 1), T(d, [45, 53], 2)).add(T(d, [53], 3)).relu(),
      ],
      ["matmul x @ w.T (strided operand)", (d) => k.matmul(T(d, [40, 33], 4), T(d, [36, 33], 5).T)],
      ["batched matmul", (d) => k.matmul(T(d, [3, 17, 20], 6), T(d, [3, 20, 9], 7))],
      ["matmul 130x300 @ 300x70", (d) => k.matmul(T(d, [130, 300], 8), T(d, [300, 70], 9))],
      ["matrix-vector", (d) => k.matmul(T(d, [50, 300], 10), T(d, [300], 11))],
      ["sum of 20000", (d) => T(d, [20000], 12).sum()],
      ["row max [5, 3000]", (d) => T(d, [5, 3000], 13).max({ axis: 1 })],
      ["column sums [700, 9]", (d) => T(d, [700, 9], 14).sum({ axis: 0 })],
      ["softmax rows [4, 1000]", (d) => k.softmax(T(d, [4, 1000], 15), { axis: -1 })],
      ["argmax [6, 500]", (d) => k.argmax(T(d, [6, 500], 16), { axis: 1 })],
      [
        "take rows",
        (d) =>
          k.take(T(d, [10, 7], 17), k.tensor([3, -1, 0, 9, 12], { dtype: "int32", device: d }), {
            axis: 0,
          }),
      ],
      ["cumsum [3, 400]", (d) => k.cumsum(T(d, [3, 400], 18), { axis: 1 })],
    ];
    // Both kernel variants: workgroup memory (tiles staged, cooperative reductions) or not.
    for (const staged of [true, false]) {
      gpu().workgroupKernels = staged;
      try {
        for (const [name, f] of cases) {
          const [c, g] = await both(f);
          allClose(g, c, { rtol: 1e-4, atol: 1e-4 }, `${name} (workgroup memory: ${staged})`);
        }
      } finally {
        gpu().workgroupKernels = undefined;
      }
    }
  },
});

Deno.test({
  name: "webgpu: WGSL literals are exact (inf, NaN, -0, int32 minimum)",
  fn: () => {
    assert.equal(wgslLiteral(Infinity, "float32"), "bitcast<f32>(0x7f800000u)");
    assert.equal(wgslLiteral(-0, "float32"), "bitcast<f32>(0x80000000u)");
    assert.match(wgslLiteral(NaN, "float32"), /^bitcast<f32>\(0x7fc00000u\)$/);
    assert.equal(wgslLiteral(2, "float32"), "2.0f");
    assert.equal(wgslLiteral(-1.5, "float32"), "(-1.5f)");
    assert.equal(wgslLiteral(0.1, "float32"), "0.10000000149011612f");
    assert.equal(wgslLiteral(-2147483648, "int32"), "i32(-2147483648)");
    assert.equal(wgslLiteral(-3, "int32"), "(-3i)");
    assert.equal(wgslLiteral(1, "bool"), "1i");
    assert.throws(() => wgslLiteral(1, "float64"), /float64/);
  },
});

Deno.test({
  name:
    "webgpu: vec4 elementwise kernels (broadcasts, offsets, dtypes) match the CPU and scalar kernels",
  ignore,
  fn: async () => {
    const r = rng(44);
    const shapes = {
      x: [64, 256],
      bias: [256],
      col: [64, 1],
      sq: [256, 64],
      long: [4100],
      odd: [33, 34],
      ints: [32, 128],
    };
    const host = Object.fromEntries(
      Object.entries(shapes).map((
        [name, shape],
      ) => [
        name,
        Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * 8),
      ]),
    );
    // The same data on each device (so both kernel variants read the same values).
    const make = (d: string) => {
      const t = (name: keyof typeof shapes) =>
        k.tensor(host[name], {
          shape: shapes[name],
          device: d,
          dtype: name === "ints" ? "int32" : "float32",
        });
      return {
        x: t("x"),
        bias: t("bias"),
        col: t("col"),
        sq: t("sq"),
        long: t("long"),
        odd: t("odd"),
        ints: t("ints"),
      };
    };
    type In = ReturnType<typeof make>;
    // [name, function, vectorized?]
    const cases: [string, (v: In) => k.Tensor, boolean][] = [
      ["chain", (v) => k.tanh(v.x.mul(1.5).add(0.25)).mul(k.sigmoid(v.x)), true],
      ["row bias + relu", (v) => k.relu(v.x.add(v.bias)), true],
      ["column broadcast", (v) => v.x.mul(v.col).sub(v.bias), true],
      ["transposed operand (lane loads)", (v) => v.x.add(v.sq.transpose()), true],
      ["slice at offset 4", (v) => v.long.slice([[4, 4100]]).mul(2), true],
      [
        "slice at offset 1 (lane loads) + an aligned operand",
        (v) => v.long.slice([[1, 4097]]).add(v.x.reshape([16384]).slice([[0, 4096]])),
        true,
      ],
      ["comparison to bool", (v) => v.x.greater(v.bias), true],
      ["int32 arithmetic", (v) => v.ints.mul(3).add(v.ints.floorDivide(2)), true],
      ["where", (v) => k.where(v.x.less(0), v.x.neg(), v.bias), true],
      ["inner axis not a multiple of 4", (v) => v.odd.mul(2).add(1), false],
      ["softmax (its elementwise kernel)", (v) => k.softmax(v.x, { axis: -1 }), true],
      ["reduction (not vectorized)", (v) => v.x.reshape([4, 16, 256]).sum({ axis: 1 }), false],
    ];
    const cpu = make("cpu"), wg = make("webgpu");
    for (const [name, f, vectorized] of cases) {
      const want = await f(cpu).data();
      gpu().vectorize = false;
      let scalar: ArrayLike<number>;
      try {
        scalar = await f(wg).data();
      } finally {
        gpu().vectorize = true;
      }
      const out = f(wg);
      const srcs = k.schedule(out).map((s) => s.source);
      assert.equal(
        srcs.some((s) => s.includes("array<vec4<")),
        vectorized,
        `${name}: vectorized kernel expected ${vectorized}`,
      );
      const got = await out.data();
      allClose(got, want, F32_TOL.webgpu, `${name} vs cpu`);
      sameValues(scalar, got, `${name}: scalar vs vec4 kernels`);
    }
  },
});
