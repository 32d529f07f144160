// Convolutions and pooling (k.conv, k.convTranspose, k.maxPool, k.avgPool, k.adaptiveAvgPool)
// against PyTorch 1.13 (fixtures/conv.json, written by make_conv_fixtures.py): values and the
// gradients of sum(y·r) w.r.t. x and w on every device; checkGrads orders 1 and 2 in float64;
// convTranspose as the exact adjoint of conv (fast-check); vmap, jit, float16; the large
// float32 conv on the CPU's WebAssembly path against a direct float64 loop; bad input.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { sgemmAvailable, sgemmStats } from "../core/backends/cpu/wasm/sgemm.ts";
import {
  allClose,
  assertShape,
  DEVICES,
  hasFloat16,
  hasFloat64,
  rng,
  throwsWith,
  type Tol,
} from "./_util.ts";

interface FixT {
  shape: number[];
  data: number[];
}
type Op = "conv" | "convTranspose" | "maxPool" | "avgPool" | "adaptiveAvgPool";
interface Case {
  name: string;
  op: Op;
  // deno-lint-ignore no-explicit-any
  opts: any;
  x: FixT;
  w?: FixT;
  r: FixT;
  y: FixT;
  dx: FixT;
  dw?: FixT;
}
const FIX: { torch: string; cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/conv.json", import.meta.url)),
);

const read = async (t: k.Tensor) => Float64Array.from(await t.data());
const sq = (t: k.Tensor) => k.mul(t, t);
type Two = [k.Tensor, k.Tensor];
/** Gradients of `f` w.r.t. both of its arguments. */
const grad2 = (f: (a: k.Tensor, b: k.Tensor) => k.Tensor) =>
  k.grad<Two, Two>(f, { argnums: [0, 1] });

/** Seeded standard normals (Box–Muller over mulberry32), rounded to float32 when asked. */
function normals(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => {
    const u = 1 - r(), v = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}
const randn = (shape: number[], seed: number, dtype: k.DType = "float64", device = "cpu") =>
  k.tensor(normals(shape.reduce((a, d) => a * d, 1), seed), { shape, dtype, device });

/** Applies the case's op to x (and w) with the case's options. */
function apply(c: Case, x: k.Tensor, w?: k.Tensor): k.Tensor {
  const o = c.opts;
  switch (c.op) {
    case "conv":
      return k.conv(x, w!, o);
    case "convTranspose":
      return k.convTranspose(x, w!, o);
    case "maxPool":
      return k.maxPool(x, o.window, { stride: o.stride, padding: o.padding, dilation: o.dilation });
    case "avgPool":
      return k.avgPool(x, o.window, {
        stride: o.stride,
        padding: o.padding,
        countIncludePad: o.countIncludePad,
      });
    case "adaptiveAvgPool":
      return k.adaptiveAvgPool(x, o.outputSize);
  }
}

for (const device of DEVICES) {
  const FD = hasFloat64(device) ? "float64" : "float32";
  // float32 inputs are the float64 fixtures rounded, so WebGPU compares with a float32-sized
  // tolerance (sums of up to ~150 products of O(1) values).
  const TOL: Tol = hasFloat64(device) ? { rtol: 1e-9, atol: 1e-10 } : { rtol: 1e-4, atol: 1e-4 };
  const t = (f: FixT) => k.tensor(Float64Array.from(f.data), { shape: f.shape, dtype: FD, device });

  for (const op of ["conv", "convTranspose", "maxPool", "avgPool", "adaptiveAvgPool"] as Op[]) {
    const cases = FIX.cases.filter((c) => c.op === op);
    Deno.test(`conv fixtures: ${op} values and gradients match torch (${cases.length} cases) [${device}]`, async () => {
      for (const c of cases) {
        const name = `${op} ${c.name}`;
        const x = t(c.x), w = c.w ? t(c.w) : undefined, r = t(c.r);
        const y = apply(c, x, w);
        assertShape(y.shape, c.y.shape, name);
        assert.equal(y.dtype, FD, `${name} dtype`);
        allClose(await read(y), c.y.data, TOL, `${name} y`);
        if (w) {
          const loss = (a: k.Tensor, b: k.Tensor) => k.sum(k.mul(apply(c, a, b), r));
          const [gx, gw] = grad2(loss)(x, w);
          assertShape(gx.shape, c.x.shape, `${name} dx shape`);
          assertShape(gw.shape, c.w!.shape, `${name} dw shape`);
          allClose(await read(gx), c.dx.data, TOL, `${name} dx`);
          allClose(await read(gw), c.dw!.data, TOL, `${name} dw`);
        } else {
          const gx = k.grad((a: k.Tensor) => k.sum(k.mul(apply(c, a), r)))(x);
          allClose(await read(gx), c.dx.data, TOL, `${name} dx`);
        }
      }
    });
  }
}

Deno.test("conv: checkGrads orders 1 and 2 in float64", async () => {
  const opts = { order: 2, atol: 1e-6, rtol: 1e-6 };
  const x1 = randn([2, 2, 6], 1), w1 = randn([4, 1, 3], 2);
  await k.testing.checkGrads(
    (x, w) => k.conv(x, w, { stride: 2, padding: 1, groups: 2 }),
    [x1, w1],
    opts,
  );
  const x2 = randn([1, 2, 5, 4], 3), w2 = randn([2, 2, 2, 3], 4);
  await k.testing.checkGrads(
    (x, w) => k.conv(x, w, { padding: "same", dilation: [2, 1] }),
    [x2, w2],
    opts,
  );
  const x3 = randn([1, 1, 3, 4, 3], 5), w3 = randn([2, 1, 2, 2, 2], 6);
  await k.testing.checkGrads((x, w) => k.conv(x, w, { stride: [1, 2, 1], padding: 1 }), [
    x3,
    w3,
  ], opts);
  // A nonlinearity after the conv makes the second derivative non-trivial.
  await k.testing.checkGrads((x, w) => k.tanh(k.conv(x, w, { padding: [[1, 0], [0, 2]] })), [
    x2,
    w2,
  ], opts);
});

Deno.test("convTranspose: checkGrads orders 1 and 2 in float64", async () => {
  const opts = { order: 2, atol: 1e-6, rtol: 1e-6 };
  const x1 = randn([2, 2, 4], 7), w1 = randn([2, 3, 3], 8);
  await k.testing.checkGrads(
    (x, w) => k.convTranspose(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
    [x1, w1],
    opts,
  );
  const x2 = randn([1, 4, 3, 3], 9), w2 = randn([4, 1, 2, 3], 10);
  await k.testing.checkGrads(
    (x, w) => k.tanh(k.convTranspose(x, w, { stride: [2, 1], dilation: [1, 2], groups: 2 })),
    [x2, w2],
    opts,
  );
  const x3 = randn([1, 2, 2, 3, 2], 11), w3 = randn([2, 1, 2, 2, 2], 12);
  await k.testing.checkGrads((x, w) => k.convTranspose(x, w, { stride: 2 }), [x3, w3], opts);
});

Deno.test("pools: checkGrads orders 1 and 2 in float64", async () => {
  const opts = { order: 2, atol: 1e-6, rtol: 1e-6 };
  // Distinct, well-separated values: the max is unique in every window, away from kinks.
  const perm = (n: number, seed: number) => {
    const r = rng(seed), v = Array.from({ length: n }, (_, i) => i * 0.05);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [v[i], v[j]] = [v[j], v[i]];
    }
    return v;
  };
  const xm = k.tensor(perm(2 * 7 * 6, 13), { shape: [1, 2, 7, 6], dtype: "float64" });
  await k.testing.checkGrads(
    (x) => sq(k.maxPool(x, 3, { stride: 2, padding: 1 })),
    [xm],
    opts,
  );
  const xm1 = k.tensor(perm(2 * 9, 14), { shape: [1, 2, 9], dtype: "float64" });
  await k.testing.checkGrads((x) => k.maxPool(x, 2, { stride: 1, dilation: 2 }), [xm1], opts);
  const xa = randn([2, 1, 5, 6], 15);
  for (const countIncludePad of [true, false]) {
    await k.testing.checkGrads(
      (x) => sq(k.avgPool(x, [3, 2], { stride: [2, 1], padding: 1, countIncludePad })),
      [xa],
      opts,
    );
  }
  const x3 = randn([1, 1, 3, 4, 5], 16);
  await k.testing.checkGrads((x) => k.avgPool(x, 2, { stride: 1 }), [x3], opts);
  await k.testing.checkGrads((x) => sq(k.adaptiveAvgPool(x, [3, 2])), [xa], opts);
  await k.testing.checkGrads((x) => k.adaptiveAvgPool(x, [2, 3, 2]), [x3], opts);
});

/** A random conv configuration whose transpose reproduces the input's shape. */
const convConfig = fc.integer({ min: 1, max: 3 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    batch: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    axes: fc.array(
      fc.record({
        size: fc.integer({ min: 1, max: n === 3 ? 5 : 8 }),
        k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 3 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        pad: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: n, maxLength: n },
    ),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
).filter((c) => c.axes.every((a) => a.size + 2 * a.pad >= a.dilation * (a.k - 1) + 1));

Deno.test("convTranspose is the adjoint of conv: <conv x, z> = <x, convTranspose z> (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(convConfig, async (c) => {
      const C = c.groups * c.cg, O = c.groups * c.og;
      const S = c.axes.map((a) => a.size), K = c.axes.map((a) => a.k);
      const stride = c.axes.map((a) => a.stride), dilation = c.axes.map((a) => a.dilation);
      const padding = c.axes.map((a) => a.pad);
      const out = c.axes.map((a) =>
        Math.floor((a.size + 2 * a.pad - a.dilation * (a.k - 1) - 1) / a.stride) + 1
      );
      // The sizes the transpose produces without outputPadding miss S by this remainder.
      const outputPadding = c.axes.map((a) =>
        (a.size + 2 * a.pad - a.dilation * (a.k - 1) - 1) % a.stride
      );
      const x = randn([c.batch, C, ...S], c.seed);
      const w = randn([O, c.cg, ...K], c.seed + 1);
      const z = randn([c.batch, O, ...out], c.seed + 2);
      const y = k.conv(x, w, { stride, padding, dilation, groups: c.groups });
      assertShape(y.shape, [c.batch, O, ...out], "conv shape");
      const xt = k.convTranspose(z, w, {
        stride,
        padding,
        dilation,
        groups: c.groups,
        outputPadding,
      });
      assertShape(xt.shape, x.shape, "convTranspose shape");
      const lhs = Number(await k.sum(k.mul(y, z)).item());
      const rhs = Number(await k.sum(k.mul(x, xt)).item());
      assert.ok(
        Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)),
        `${JSON.stringify(c)}: <conv x, z> = ${lhs}, <x, convT z> = ${rhs}`,
      );
    }),
    { numRuns: 100, seed: 20261205 },
  );
});

for (const device of DEVICES) {
  const FD = hasFloat64(device) ? "float64" : "float32";
  const TOL: Tol = hasFloat64(device) ? { rtol: 1e-10, atol: 1e-11 } : { rtol: 1e-5, atol: 1e-5 };
  const rn = (shape: number[], seed: number) => randn(shape, seed, FD, device);

  Deno.test(`conv: vmap over an extra leading axis equals the batched conv [${device}]`, async () => {
    const opts = { stride: 2, padding: 1, groups: 2 };
    const xs = rn([3, 2, 4, 7, 6], 21), w = rn([6, 2, 3, 3], 22);
    const v = k.vmap((x: k.Tensor) => k.conv(x, w, opts))(xs) as k.Tensor;
    const b = k.conv(xs.reshape([6, 4, 7, 6]), w, opts);
    assertShape(v.shape, [3, 2, 6, 4, 3]);
    allClose(await read(v), await read(b), TOL, "vmap(conv) over x");
    // Unbatched examples under vmap: the batch axis becomes torch's N.
    const xu = rn([5, 4, 6, 5], 23);
    const vu = k.vmap((x: k.Tensor) => k.conv(x, w, opts))(xu) as k.Tensor;
    allClose(await read(vu), await read(k.conv(xu, w, opts)), TOL, "vmap of unbatched conv");
    // Per-example weights (batched w): each slice is its own conv.
    const ws = rn([3, 6, 2, 3, 3], 24);
    const vw = k.vmap((x: k.Tensor, ww: k.Tensor) => k.conv(x, ww, opts))(xs, ws) as k.Tensor;
    for (let i = 0; i < 3; i++) {
      const one = k.conv(
        xs.slice([[i, i + 1]]).reshape([2, 4, 7, 6]),
        ws.slice([[i, i + 1]])
          .reshape([6, 2, 3, 3]),
        opts,
      );
      allClose(await read(vw.slice([[i, i + 1]])), await read(one), TOL, `vmap x and w, ${i}`);
    }
    // convTranspose and the pools under vmap.
    const zt = rn([3, 2, 6, 3, 4], 25);
    const vt = k.vmap((z: k.Tensor) => k.convTranspose(z, w, { stride: 2, groups: 2 }))(zt);
    const bt = k.convTranspose(zt.reshape([6, 6, 3, 4]), w, { stride: 2, groups: 2 });
    allClose(await read(vt as k.Tensor), await read(bt), TOL, "vmap(convTranspose)");
    const vp = k.vmap((x: k.Tensor) => k.maxPool(x, 3, { stride: 2, padding: 1 }))(xs);
    const bp = k.maxPool(xs.reshape([6, 4, 7, 6]), 3, { stride: 2, padding: 1 });
    allClose(await read(vp as k.Tensor), await read(bp), TOL, "vmap(maxPool)");
    const va = k.vmap((x: k.Tensor) => k.avgPool(x, 2, { padding: 1, countIncludePad: false }))(
      xs,
    );
    const ba = k.avgPool(xs.reshape([6, 4, 7, 6]), 2, { padding: 1, countIncludePad: false });
    allClose(await read(va as k.Tensor), await read(ba), TOL, "vmap(avgPool)");
  });

  Deno.test(`conv: jit and jit(grad) equal eager [${device}]`, async () => {
    const x = rn([2, 3, 9, 8], 31), w = rn([4, 3, 3, 3], 32), b = rn([4], 33);
    const f = (xx: k.Tensor, ww: k.Tensor, bb: k.Tensor) =>
      k.maxPool(k.relu(k.conv(xx, ww, { padding: 1 }).add(bb.reshape([4, 1, 1]))), 2);
    const eager = await read(f(x, w, b));
    const jf = k.jit(f);
    allClose(await read(jf(x, w, b)), eager, TOL, "jit first call");
    allClose(await read(jf(x, w, b)), eager, TOL, "jit second call");
    const loss = (ww: k.Tensor, xx: k.Tensor) =>
      k.sum(sq(k.avgPool(k.conv(xx, ww, { stride: 2, padding: "valid" }), 2, { stride: 1 })));
    const ge = await read(k.grad(loss)(w, x));
    allClose(await read(k.jit(k.grad(loss))(w, x) as k.Tensor), ge, TOL, "jit(grad)");
  });

  if (hasFloat16(device)) {
    Deno.test(`conv: float16 within float16 tolerance of float32 [${device}]`, async () => {
      // Inputs exactly representable in float16, so only the float16 result rounding and
      // accumulation differ from the float32 reference.
      const x16 = randn([2, 4, 8, 8], 41, "float16", device);
      const w16 = randn([6, 2, 3, 3], 42, "float16", device);
      const opts = { padding: 1, groups: 2 };
      const y16 = k.conv(x16, w16, opts);
      assert.equal(y16.dtype, "float16");
      const y32 = k.conv(x16.astype("float32"), w16.astype("float32"), opts);
      allClose(await read(y16), await read(y32), { rtol: 4e-3, atol: 1e-2 }, "conv float16");
      const yt = k.convTranspose(x16, w16.reshape([4, 3, 3, 3]), { stride: 2 });
      const yt32 = k.convTranspose(
        x16.astype("float32"),
        w16.astype("float32").reshape([
          4,
          3,
          3,
          3,
        ]),
        { stride: 2 },
      );
      allClose(await read(yt), await read(yt32), { rtol: 4e-3, atol: 1e-2 }, "convT float16");
      const p16 = k.maxPool(x16, 2), p32 = k.maxPool(x16.astype("float32"), 2);
      allClose(await read(p16), await read(p32), { rtol: 0, atol: 0 }, "maxPool float16");
    });
  }
}

/** Direct float64 loop of a 2-D convolution (groups 1): an independent reference. */
function directConv2d(
  x: Float64Array,
  xs: number[],
  w: Float64Array,
  ws: number[],
  stride: number,
  pad: number,
): Float64Array {
  const [N, C, H, W] = xs, [O, , KH, KW] = ws;
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            for (let a = 0; a < KH; a++) {
              const h = i * stride + a - pad;
              if (h < 0 || h >= H) continue;
              for (let b = 0; b < KW; b++) {
                const v = j * stride + b - pad;
                if (v < 0 || v >= W) continue;
                s += x[((n * C + c) * H + h) * W + v] * w[((o * C + c) * KH + a) * KW + b];
              }
            }
          }
          y[((n * O + o) * OH + i) * OW + j] = s;
        }
      }
    }
  }
  return y;
}

Deno.test({
  name: "conv: a large float32 conv on cpu takes the WebAssembly path and matches float64",
  ignore: !sgemmAvailable(),
  async fn() {
    const xs = [8, 16, 28, 28], ws = [32, 16, 3, 3];
    const x = randn(xs, 51, "float32"), w = randn(ws, 52, "float32");
    const xd = await read(x), wd = await read(w); // the float32 values, exactly
    let before = sgemmStats.calls;
    const y = k.conv(x, w, { padding: 1 });
    const got = await read(y);
    assert.ok(sgemmStats.calls > before, "forward conv must call the wasm sgemm");
    // 144-term float32 dot products of O(1) values: error ~ √144 · 2⁻²⁴ · 12.
    const tol = { rtol: 1e-5, atol: 2e-5 };
    allClose(got, directConv2d(xd, xs, wd, ws, 1, 1), tol, "conv float32 vs direct float64");
    const ys = k.conv(x, w, { stride: 2, padding: 1 });
    allClose(await read(ys), directConv2d(xd, xs, wd, ws, 2, 1), tol, "stride 2");
    // Both backward passes take it too, and agree with the float64 graph.
    const r = randn([8, 32, 28, 28], 53, "float32");
    const loss = (a: k.Tensor, b: k.Tensor) => k.sum(k.mul(k.conv(a, b, { padding: 1 }), r));
    before = sgemmStats.calls;
    const [gx, gw] = grad2(loss)(x, w);
    const [gx32, gw32] = [await read(gx), await read(gw)];
    assert.ok(sgemmStats.calls >= before + 2, `backward: ${sgemmStats.calls - before} calls`);
    const r64 = r.astype("float64");
    const loss64 = (a: k.Tensor, b: k.Tensor) => k.sum(k.mul(k.conv(a, b, { padding: 1 }), r64));
    const [gx64, gw64] = grad2(loss64)(x.astype("float64"), w.astype("float64"));
    allClose(gx32, await read(gx64), tol, "dx float32 vs float64");
    // dw sums 8·28·28 = 6272 products per element.
    allClose(gw32, await read(gw64), { rtol: 1e-4, atol: 1e-3 }, "dw float32 vs float64");
  },
});

Deno.test({
  name: "convTranspose: a large float32 transpose on cpu takes the WebAssembly path",
  ignore: !sgemmAvailable(),
  async fn() {
    const z = randn([8, 32, 14, 14], 54, "float32"), w = randn([32, 16, 4, 4], 55, "float32");
    const opts = { stride: 2, padding: 1 };
    const before = sgemmStats.calls;
    const y = await read(k.convTranspose(z, w, opts));
    assert.ok(sgemmStats.calls > before, "convTranspose must call the wasm sgemm");
    // The float64 graph runs on the JS path (checked against torch above).
    const y64 = k.convTranspose(z.astype("float64"), w.astype("float64"), opts);
    allClose(y, await read(y64), { rtol: 1e-5, atol: 2e-5 }, "convTranspose float32 vs float64");
  },
});

// Grouped convs (more than one output channel per group) merge [groups, out/groups] into one
// channel axis; the scheduler materializes the contraction before that merge (rule 5), so it
// keeps the wasm path (one product per group).
Deno.test({
  name: "conv: a large grouped float32 conv (groups 2) takes the WebAssembly path",
  ignore: !sgemmAvailable(),
  async fn() {
    const x = randn([8, 32, 28, 28], 56, "float32"), w = randn([64, 16, 3, 3], 57, "float32");
    const before = sgemmStats.calls;
    const y = await read(k.conv(x, w, { padding: 1, groups: 2 }));
    assert.ok(sgemmStats.calls > before, "grouped conv must call the wasm sgemm");
    const y64 = k.conv(x.astype("float64"), w.astype("float64"), { padding: 1, groups: 2 });
    allClose(y, await read(y64), { rtol: 1e-5, atol: 2e-5 }, "grouped conv float32");
  },
});

Deno.test("maxPool: tied maxima share the gradient evenly (the documented rule)", async () => {
  // Window 2 stride 2 over constant blocks: every window is a 4-way tie.
  const x = k.tensor([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 0, 5, 3, 3, 0, 4], {
    shape: [1, 1, 4, 4],
    dtype: "float64",
  });
  const g = await read(k.grad((a: k.Tensor) => k.sum(k.maxPool(a, 2)))(x));
  allClose(g, [.25, .25, .25, .25, .25, .25, .25, .25, .25, .25, 0, 1, .25, .25, 0, 0]);
});

Deno.test("conv errors: bad input names the op, the argument and the shapes", () => {
  const x = k.zeros([8, 3, 28, 28]), w = k.zeros([16, 1, 3, 3]);
  const msg = throwsWith(() => k.conv(x, w), ["conv: "]);
  assert.equal(msg, "conv: x [8,3,28,28] has 3 channels but w [16,1,3,3] expects 1");
  // groups
  throwsWith(() => k.conv(k.zeros([2, 4, 5, 5]), k.zeros([6, 2, 3, 3]), { groups: 3 }), [
    "conv: ",
    "[2,4,5,5]",
    "[6,2,3,3]",
  ]);
  throwsWith(() => k.conv(k.zeros([2, 4, 5, 5]), k.zeros([5, 2, 3, 3]), { groups: 2 }), [
    "conv: ",
    "groups 2",
    "5",
    "[5,2,3,3]",
  ]);
  throwsWith(() => k.conv(k.zeros([2, 4, 5]), k.zeros([4, 2, 3]), { groups: 0 }), [
    "conv: ",
    "groups",
  ]);
  throwsWith(
    () => k.convTranspose(k.zeros([2, 3, 5]), k.zeros([3, 2, 3]), { groups: 2 }),
    ["convTranspose: ", "groups 2", "[2,3,5]"],
  );
  // Kernel (dilated) larger than the padded input.
  throwsWith(() => k.conv(k.zeros([1, 2, 4, 4]), k.zeros([3, 2, 5, 3])), [
    "conv: ",
    "larger than the padded input",
    "[1,2,4,4]",
    "[3,2,5,3]",
  ]);
  throwsWith(() => k.conv(k.zeros([1, 2, 6]), k.zeros([3, 2, 3]), { dilation: 3, padding: 0 }), [
    "conv: ",
    "dilated kernel (7)",
    "(6)",
  ]);
  throwsWith(() => k.maxPool(k.zeros([1, 2, 3, 8]), 4), [
    "maxPool: ",
    "larger than the padded input",
    "[1,2,3,8]",
  ]);
  throwsWith(() => k.avgPool(k.zeros([1, 2, 2, 5]), 3), ["avgPool: ", "[1,2,2,5]"]);
  // Stride must be positive.
  for (const stride of [0, -1]) {
    throwsWith(() => k.conv(k.zeros([1, 2, 6]), k.zeros([3, 2, 3]), { stride }), [
      "conv: ",
      "stride",
      String(stride),
    ]);
    throwsWith(() => k.maxPool(k.zeros([1, 2, 6, 6]), 2, { stride: [1, stride] }), [
      "maxPool: ",
      "stride",
    ]);
    throwsWith(() => k.convTranspose(k.zeros([1, 2, 6]), k.zeros([2, 3, 3]), { stride }), [
      "convTranspose: ",
      "stride",
    ]);
  }
  throwsWith(() => k.conv(k.zeros([1, 2, 6, 6]), k.zeros([3, 2, 3, 3]), { stride: [1, 2, 1] }), [
    "conv: ",
    "stride",
    "2 spatial axes",
  ]);
  // Wrong rank.
  throwsWith(() => k.conv(k.zeros([2, 3, 8, 8, 8]), k.zeros([4, 3, 3, 3])), [
    "conv: ",
    "[2,3,8,8,8]",
    "[4,3,3,3]",
  ]);
  throwsWith(() => k.conv(k.zeros([2, 3, 8]), k.zeros([4, 3])), ["conv: ", "[4,3]"]);
  throwsWith(() => k.conv(k.zeros([1, 1, 2, 2, 2, 2]), k.zeros([1, 1, 1, 1, 1, 1])), [
    "conv: ",
    "[1,1,1,1,1,1]",
  ]);
  throwsWith(() => k.maxPool(k.zeros([8, 8]), 2), ["maxPool: ", "[8,8]"]);
  throwsWith(() => k.avgPool(k.zeros([1, 1, 2, 2, 2, 2]), 2), ["avgPool: ", "[1,1,2,2,2,2]"]);
  throwsWith(() => k.adaptiveAvgPool(k.zeros([5]), 2), ["adaptiveAvgPool: ", "[5]"]);
  throwsWith(() => k.maxPool(k.zeros([1, 2, 8, 8]), [2, 2, 2]), ["maxPool: ", "window"]);
  // Non-float dtypes.
  const xi = k.zeros([1, 2, 5, 5], { dtype: "int32" }), wf = k.zeros([3, 2, 3, 3]);
  throwsWith(() => k.conv(xi, wf), ["conv: ", "float", "int32"]);
  throwsWith(() => k.conv(wf, xi.reshape([1, 2, 5, 5]).slice([[0, 1], [0, 2], [0, 3], [0, 3]])), [
    "conv: ",
    "int32",
  ]);
  throwsWith(() => k.convTranspose(xi, k.zeros([2, 3, 3, 3])), ["convTranspose: ", "int32"]);
  throwsWith(() => k.maxPool(xi, 2), ["maxPool: ", "int32"]);
  throwsWith(() => k.avgPool(k.zeros([1, 2, 4], { dtype: "bool" }), 2), ["avgPool: ", "bool"]);
  throwsWith(() => k.adaptiveAvgPool(xi, 2), ["adaptiveAvgPool: ", "int32"]);
  // "same" needs stride 1, as torch.
  throwsWith(() =>
    k.conv(k.zeros([1, 2, 6, 6]), k.zeros([3, 2, 3, 3]), {
      padding: "same",
      stride: 2,
    }), ["conv: ", '"same"', "stride"]);
  // outputPadding must be below stride or dilation.
  throwsWith(
    () => k.convTranspose(k.zeros([1, 2, 4]), k.zeros([2, 3, 3]), { stride: 2, outputPadding: 2 }),
    ["convTranspose: ", "outputPadding"],
  );
  throwsWith(
    () => k.convTranspose(k.zeros([1, 2, 4]), k.zeros([2, 3, 3]), { outputPadding: 1 }),
    ["convTranspose: ", "outputPadding"],
  );
  throwsWith(() => k.convTranspose(k.zeros([1, 3, 4]), k.zeros([2, 3, 3])), [
    "convTranspose: ",
    "[1,3,4]",
    "[2,3,3]",
  ]);
  // Pool padding at most half the window.
  throwsWith(() => k.maxPool(k.zeros([1, 2, 8, 8]), 3, { padding: 2 }), [
    "maxPool: ",
    "padding",
    "half the window",
  ]);
  throwsWith(() => k.avgPool(k.zeros([1, 2, 8]), 2, { padding: 2 }), [
    "avgPool: ",
    "padding",
    "half the window",
  ]);
  // Negative padding and bad padding entries.
  throwsWith(() => k.conv(k.zeros([1, 2, 6]), k.zeros([3, 2, 3]), { padding: -1 }), [
    "conv: ",
    "padding",
  ]);
  throwsWith(
    () => k.conv(k.zeros([1, 2, 6]), k.zeros([3, 2, 3]), { padding: [[1, 2, 3]] as never }),
    ["conv: ", "padding"],
  );
  throwsWith(() => k.adaptiveAvgPool(k.zeros([1, 2, 6]), 0), ["adaptiveAvgPool: ", "outputSize"]);
});

Deno.test("conv: method forms equal the functions", async () => {
  const x = randn([2, 3, 6, 6], 90, "float64"), w = randn([4, 3, 3, 3], 91, "float64");
  const wt = randn([4, 2, 2, 2], 92, "float64");
  const same = async (a: k.Tensor, b: k.Tensor) =>
    assert.deepStrictEqual(await a.toArray(), await b.toArray());
  await same(x.conv(w, { padding: 1 }), k.conv(x, w, { padding: 1 }));
  await same(x.maxPool(2), k.maxPool(x, 2));
  await same(x.avgPool(3, { stride: 1 }), k.avgPool(x, 3, { stride: 1 }));
  const y = k.conv(x, w);
  await same(y.convTranspose(wt, { stride: 2 }), k.convTranspose(y, wt, { stride: 2 }));
});
