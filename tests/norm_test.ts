// k.nn normalization layers: batchNorm (train and eval, running statistics over several steps),
// layerNorm, groupNorm, instanceNorm against PyTorch (fixtures/norm.json, written by
// make_norm_fixtures.py), values and gradients; checkGrads in float64; jit, vmap and grad
// compositions; closed-form checks; bad input.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, assertShape, DEVICES, hasFloat64, rng, throwsWith, type Tol } from "./_util.ts";

interface FixT {
  shape: number[];
  data: number[];
}
interface Step {
  x: FixT;
  cot: FixT;
  y: FixT;
  dx: FixT;
  dweight?: FixT;
  dbias?: FixT;
  training: boolean;
  runningMean: FixT;
  runningVar: FixT;
  numBatchesTracked: number;
}
interface BnCase {
  name: string;
  numFeatures: number;
  affine: boolean;
  momentum: number | null;
  weight: FixT | null;
  bias: FixT | null;
  steps: Step[];
}
interface SimpleCase {
  name: string;
  opts: { normalizedShape?: number[]; eps?: number; numGroups?: number; affine?: boolean };
  weight: FixT | null;
  bias: FixT | null;
  x: FixT;
  cot: FixT;
  y: FixT;
  dx: FixT;
  dweight?: FixT;
  dbias?: FixT;
}
const FIX: {
  batchNorm: BnCase[];
  layerNorm: SimpleCase[];
  groupNorm: SimpleCase[];
  instanceNorm: SimpleCase[];
} = JSON.parse(await Deno.readTextFile(new URL("./fixtures/norm.json", import.meta.url)));

const read = async (t: k.Tensor) => Float64Array.from(await t.data());
const randn = (
  shape: number[],
  seed: number,
  device = "cpu",
  dtype: "float64" | "float32" = "float64",
) => {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  // Box–Muller from the seeded uniform stream.
  const v = Float64Array.from({ length: n }, () => {
    const u = 1 - r(), w = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  });
  return k.tensor(v, { shape, dtype, device });
};

for (const device of DEVICES) {
  const FD = hasFloat64(device) ? "float64" : "float32";
  // float32 inputs are rounded before normalizing (÷ a standard deviation), so WebGPU compares
  // against the float64 reference with a float32-sized tolerance.
  const TOL: Tol = hasFloat64(device) ? { rtol: 1e-9, atol: 1e-11 } : { rtol: 2e-4, atol: 2e-4 };
  const t = (f: FixT) => k.tensor(Float64Array.from(f.data), { shape: f.shape, dtype: FD, device });
  const paramsOf = (c: { weight: FixT | null; bias: FixT | null }): k.nn.NormParams =>
    c.weight && c.bias ? { weight: t(c.weight), bias: t(c.bias) } : {};

  /** Checks y and the gradients of sum(y·cot) against a fixture case. */
  const checkCase = async (
    name: string,
    c: SimpleCase | Step,
    params: k.nn.NormParams,
    f: (p: k.nn.NormParams, x: k.Tensor) => k.Tensor,
  ) => {
    const x = t(c.x), cot = t(c.cot);
    const y = f(params, x);
    assertShape(y.shape, c.y.shape, name);
    assert.equal(y.dtype, FD, `${name} dtype`);
    allClose(await read(y), c.y.data, TOL, `${name} y`);
    const loss = (p: k.nn.NormParams, xx: k.Tensor) => k.sum(k.mul(f(p, xx), cot));
    const [gp, gx] = k.grad(loss, { argnums: [0, 1] })(params, x) as [k.nn.NormParams, k.Tensor];
    allClose(await read(gx), c.dx.data, TOL, `${name} dx`);
    if (c.dweight && c.dbias) {
      allClose(await read(gp.weight!), c.dweight.data, TOL, `${name} dweight`);
      allClose(await read(gp.bias!), c.dbias.data, TOL, `${name} dbias`);
    }
  };

  Deno.test(`norm: batchNorm matches torch's BatchNorm1d/2d/3d over train and eval steps [${device}]`, async () => {
    for (const c of FIX.batchNorm) {
      const init = k.nn.batchNorm.init(c.numFeatures, { affine: c.affine, dtype: FD, device });
      const params = c.affine ? paramsOf(c) : init.params;
      assert.deepEqual(Object.keys(init.params).sort(), c.affine ? ["bias", "weight"] : []);
      let state = init.state;
      for (const [i, s] of c.steps.entries()) {
        const name = `${c.name} step ${i} (${s.training ? "train" : "eval"})`;
        const opts = { training: s.training, momentum: c.momentum };
        await checkCase(name, s, params, (p, x) => k.nn.batchNorm.apply(p, state, x, opts)[0]);
        const [, next] = k.nn.batchNorm.apply(params, state, t(s.x), opts);
        if (!s.training) assert.equal(next, state, `${name}: eval leaves the state as it is`);
        state = next;
        allClose(await read(state.runningMean), s.runningMean.data, TOL, `${name} runningMean`);
        allClose(await read(state.runningVar), s.runningVar.data, TOL, `${name} runningVar`);
        assert.equal(state.numBatchesTracked.dtype, "int32");
        assert.equal(await state.numBatchesTracked.item(), s.numBatchesTracked, name);
      }
    }
  });

  Deno.test(`norm: layerNorm, groupNorm, instanceNorm match torch (values, gradients) [${device}]`, async () => {
    for (const c of FIX.layerNorm) {
      const p = c.weight ? paramsOf(c) : k.nn.layerNorm.init(c.opts.normalizedShape!, {
        elementwiseAffine: false,
      });
      await checkCase(
        `layerNorm ${c.name}`,
        c,
        p,
        (pp, x) =>
          k.nn.layerNorm.apply(pp, x, { eps: c.opts.eps, normalizedShape: c.opts.normalizedShape }),
      );
      if (c.weight) {
        // normalizedShape comes from the weight when not given.
        await checkCase(
          `layerNorm ${c.name} (shape from params)`,
          c,
          p,
          (pp, x) => k.nn.layerNorm.apply(pp, x, { eps: c.opts.eps }),
        );
      }
    }
    for (const c of FIX.groupNorm) {
      const g = c.opts.numGroups!;
      await checkCase(
        `groupNorm ${c.name}`,
        c,
        paramsOf(c),
        (pp, x) => k.nn.groupNorm.apply(pp, x, { numGroups: g }),
      );
    }
    for (const c of FIX.instanceNorm) {
      await checkCase(
        `instanceNorm ${c.name}`,
        c,
        paramsOf(c),
        (pp, x) => k.nn.instanceNorm.apply(pp, x),
      );
    }
  });

  Deno.test(`norm: init shapes, dtypes and values follow torch's defaults [${device}]`, async () => {
    const bn = k.nn.batchNorm.init(4, { device });
    assertShape(bn.params.weight!.shape, [4]);
    assert.equal(bn.params.weight!.dtype, "float32");
    allClose(await read(bn.params.weight!), [1, 1, 1, 1], { rtol: 0, atol: 0 });
    allClose(await read(bn.params.bias!), [0, 0, 0, 0], { rtol: 0, atol: 0 });
    allClose(await read(bn.state.runningMean), [0, 0, 0, 0], { rtol: 0, atol: 0 });
    allClose(await read(bn.state.runningVar), [1, 1, 1, 1], { rtol: 0, atol: 0 });
    assert.equal(await bn.state.numBatchesTracked.item(), 0);
    assert.deepEqual(k.nn.layerNorm.init([3, 4], { device }).weight!.shape, [3, 4]);
    assert.deepEqual(k.nn.groupNorm.init(2, 6, { device }).bias!.shape, [6]);
    assert.deepEqual(
      k.nn.instanceNorm.init(5, { device }),
      {},
      "instanceNorm: no affine by default",
    );
    assert.deepEqual(k.nn.instanceNorm.init(5, { affine: true, device }).weight!.shape, [5]);
  });

  Deno.test(`norm: closed forms — training output has zero mean, unit variance per channel [${device}]`, async () => {
    const x = randn([6, 3, 4, 5], 11, device, FD).mul(3).add(2);
    const { params, state } = k.nn.batchNorm.init(3, { dtype: FD, device });
    const [y] = k.nn.batchNorm.apply(params, state, x, { training: true, eps: 0 });
    const axes = { axis: [0, 2, 3] };
    const tol = hasFloat64(device) ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    allClose(await read(k.mean(y, axes)), [0, 0, 0], tol, "mean");
    allClose(await read(k.mean(k.mul(y, y), axes)), [1, 1, 1], tol, "variance");
    // layerNorm of a constant row is 0 (variance 0 + eps), of [a, b] is [-1, 1]·|a−b|/√((a−b)²+4eps).
    const ln = k.nn.layerNorm.apply({}, k.tensor([[2, 2, 2], [1, 3, 2]], { dtype: FD, device }), {
      normalizedShape: 3,
    });
    const s = Math.sqrt(2 / 3 + 1e-5);
    allClose(await read(ln), [0, 0, 0, -1 / s, 1 / s, 0], tol, "layerNorm closed form");
  });

  Deno.test(`norm: batchNorm under jit, vmap and jit(grad) equals eager [${device}]`, async () => {
    const x = randn([8, 3, 4, 4], 5, device, FD);
    const init = k.nn.batchNorm.init(3, { dtype: FD, device });
    const params = { weight: randn([3], 6, device, FD), bias: randn([3], 7, device, FD) };
    type S = k.nn.BatchNormState;
    const step = (p: k.nn.NormParams, s: S, xx: k.Tensor) =>
      k.nn.batchNorm.apply(p, s, xx, { training: true });
    const [yE, sE] = step(params, init.state, x);
    const jitted = k.jit(step);
    // Two calls: the second reuses the compiled step with the first call's state.
    const [y1, s1] = jitted(params, init.state, x) as [k.Tensor, S];
    const [y2, s2] = jitted(params, s1, x) as [k.Tensor, S];
    const [yE2, sE2] = step(params, sE, x);
    allClose(await read(y1), await read(yE), TOL, "jit y");
    allClose(await read(y2), await read(yE2), TOL, "jit y step 2");
    allClose(await read(s2.runningVar), await read(sE2.runningVar), TOL, "jit runningVar");
    assert.equal(await s2.numBatchesTracked.item(), 2);
    // vmap over an outer axis: each slice is its own batch.
    const xs = randn([2, 8, 3, 4, 4], 8, device, FD);
    const vm = k.vmap((xx: k.Tensor) => step(params, init.state, xx)[0])(xs) as k.Tensor;
    for (let i = 0; i < 2; i++) {
      const ref = step(params, init.state, k.reshape(k.slice(xs, [[i, i + 1]]), [8, 3, 4, 4]))[0];
      allClose(
        await read(k.reshape(k.slice(vm, [[i, i + 1]]), [8, 3, 4, 4])),
        await read(ref),
        TOL,
        `vmap slice ${i}`,
      );
    }
    // jit(grad) of a loss through batchNorm in training mode.
    const loss = (p: k.nn.NormParams, xx: k.Tensor) => k.sum(k.mul(step(p, init.state, xx)[0], xx));
    const gE = k.grad(loss)(params, x) as k.nn.NormParams;
    const gJ = k.jit(k.grad(loss))(params, x) as k.nn.NormParams;
    allClose(await read(gJ.weight!), await read(gE.weight!), TOL, "jit(grad) weight");
    allClose(await read(gJ.bias!), await read(gE.bias!), TOL, "jit(grad) bias");
  });

  Deno.test(`norm: layerNorm/groupNorm under vmap equal the batched call [${device}]`, async () => {
    const x = randn([5, 6, 3], 9, device, FD);
    const lp = { weight: randn([3], 1, device, FD), bias: randn([3], 2, device, FD) };
    const vl = k.vmap((r: k.Tensor) => k.nn.layerNorm.apply(lp, r))(x) as k.Tensor;
    allClose(await read(vl), await read(k.nn.layerNorm.apply(lp, x)), TOL, "vmap layerNorm");
    const gp = { weight: randn([6], 3, device, FD), bias: randn([6], 4, device, FD) };
    const vg = k.vmap((r: k.Tensor) =>
      k.reshape(k.nn.groupNorm.apply(gp, k.reshape(r, [1, 6, 3]), { numGroups: 3 }), [6, 3])
    )(x) as k.Tensor;
    allClose(
      await read(vg),
      await read(k.nn.groupNorm.apply(gp, x, { numGroups: 3 })),
      TOL,
      "vmap groupNorm",
    );
  });

  Deno.test({
    name: `norm: checkGrads in float64, orders 1 and 2 [${device}]`,
    ignore: !hasFloat64(device),
  }, async () => {
    const x = randn([4, 3, 2, 3], 21, device);
    const w = randn([3], 22, device), b = randn([3], 23, device);
    const st = k.nn.batchNorm.init(3, { dtype: "float64", device }).state;
    const opts = { atol: 1e-6, rtol: 1e-6 };
    await k.testing.checkGrads(
      (xx, ww, bb) => k.nn.batchNorm.apply({ weight: ww, bias: bb }, st, xx, { training: true })[0],
      [x, w, b],
      { ...opts, order: 2 },
    );
    await k.testing.checkGrads(
      (xx, ww, bb) =>
        k.nn.batchNorm.apply({ weight: ww, bias: bb }, st, xx, { training: false })[0],
      [x, w, b],
      opts,
    );
    await k.testing.checkGrads(
      (xx, ww, bb) => k.nn.groupNorm.apply({ weight: ww, bias: bb }, xx, { numGroups: 3 }),
      [x, w, b],
      { ...opts, order: 2 },
    );
    await k.testing.checkGrads(
      (xx, ww, bb) => k.nn.instanceNorm.apply({ weight: ww, bias: bb }, xx),
      [x, w, b],
      opts,
    );
    const lw = randn([2, 3], 24, device), lb = randn([2, 3], 25, device);
    await k.testing.checkGrads(
      (xx, ww, bb) => k.nn.layerNorm.apply({ weight: ww, bias: bb }, xx),
      [x, lw, lb],
      { ...opts, order: 2 },
    );
  });
}

Deno.test("norm: kernel counts (update the numbers when the scheduler improves)", async () => {
  const x = randn([8, 4, 6, 6], 30, "cpu", "float32");
  await k.realize(x);
  const { params, state } = k.nn.batchNorm.init(4, { device: "cpu" });
  const [y, s] = k.nn.batchNorm.apply(params, state, x, { training: true });
  // mean; variance -> rsqrt; the normalized output.
  assert.equal(k.schedule(y).length, 3, "train forward");
  // + runningMean, runningVar, numBatchesTracked, and the unbiased-variance scale.
  assert.equal(k.schedule(y, s.runningMean, s.runningVar, s.numBatchesTracked).length, 7);
  // Evaluation is one elementwise kernel, fused with the activation after it.
  const [ye] = k.nn.batchNorm.apply(params, state, x, { training: false });
  assert.equal(k.schedule(k.relu(ye)).length, 1, "eval forward + relu");
  // Backward through relu: the masked cotangent relu'·g once (scheduler rule 7: it branches on
  // data and three kernels read it), the two sums (dbias, dweight), three [C]-sized kernels, dx,
  // and the two [C] results (autodiff of the plain graph needed four big sums).
  const [gp, gx] = k.grad(
    (p: k.nn.NormParams, xx: k.Tensor) =>
      k.sum(k.relu(k.nn.batchNorm.apply(p, state, xx, { training: true })[0])),
    { argnums: [0, 1] },
  )(params, x) as [k.nn.NormParams, k.Tensor];
  const kernels = k.schedule(gx, gp.weight!, gp.bias!);
  assert.equal(kernels.length, 11, "train forward + backward");
  const sumsOverX = kernels.filter((kk) =>
    kk.inputs.some((s) => s.join() === "8,4,6,6") && kk.toString().split("\n")[0].includes("sum")
  );
  assert.equal(sumsOverX.length, 4, "mean and variance forward, dbias and dweight backward");
  const ln = k.nn.layerNorm.apply(k.nn.layerNorm.init(6, { device: "cpu" }), k.zeros([8, 6]));
  assert.equal(k.schedule(ln).length, 3, "layerNorm: mean, variance, output");
});

Deno.test("norm: bad input gets clear errors naming the layer, argument and shapes", () => {
  const { params, state } = k.nn.batchNorm.init(3);
  throwsWith(() => k.nn.batchNorm.apply(params, state, k.zeros([2, 4, 5]), { training: true }), [
    "batchNorm.apply",
    "[2,4,5]",
    "4 channels",
    "3 features",
  ]);
  throwsWith(() => k.nn.batchNorm.apply(params, state, k.zeros([1, 3]), { training: true }), [
    "batchNorm.apply",
    "more than one value per channel",
  ]);
  throwsWith(
    // deno-lint-ignore no-explicit-any
    () => k.nn.batchNorm.apply(params, state, k.zeros([2, 3]), {} as any),
    ["batchNorm.apply", "training"],
  );
  throwsWith(() => k.nn.batchNorm.apply(params, state, k.zeros([4]), { training: false }), [
    "batchNorm.apply",
    "[N, C, ...]",
  ]);
  throwsWith(
    () =>
      k.nn.batchNorm.apply(params, state, k.zeros([2, 3], { dtype: "int32" }), { training: true }),
    ["batchNorm.apply", "float"],
  );
  throwsWith(() => k.nn.batchNorm.init(0), ["batchNorm.init", "numFeatures"]);
  throwsWith(() => k.nn.groupNorm.init(4, 6), ["groupNorm.init", "does not divide"]);
  throwsWith(() => k.nn.groupNorm.apply({}, k.zeros([2, 6, 3]), { numGroups: 4 }), [
    "groupNorm.apply",
    "[2,6,3]",
  ]);
  throwsWith(() => k.nn.layerNorm.apply(k.nn.layerNorm.init(5), k.zeros([2, 4])), [
    "layerNorm.apply",
    "[2,4]",
    "[5]",
  ]);
  throwsWith(() => k.nn.layerNorm.apply({}, k.zeros([2, 4])), [
    "layerNorm.apply",
    "normalizedShape",
  ]);
  throwsWith(() => k.nn.instanceNorm.apply({}, k.zeros([2, 4])), ["instanceNorm.apply", "[2,4]"]);
});
