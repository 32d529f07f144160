// k.nn conv layers (init statistics and shapes, apply against a plain-JS convolution and
// against k.conv/k.convTranspose), pooling helpers, flatten, and k.nn.sequential: parameter,
// state and key threading against the layers called by hand, evaluation mode, a jitted
// training step of a small CNN, checkpoints and optimizers over its parameters, errors.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, assertShape, DEVICES, EXACT, rng, throwsWith, tolFor } from "./_util.ts";

const read = async (t: k.Tensor) => Float64Array.from(await t.data());
const randu = (shape: number[], seed: number, device: string) => {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  return k.tensor(Float64Array.from({ length: n }, () => 2 * r() - 1), {
    shape,
    dtype: "float32",
    device,
  });
};

/** Plain-JS conv2d (cross-correlation) with stride, zero padding and groups, plus bias. */
function conv2dJs(
  x: Float64Array,
  [n, c, h, w]: number[],
  wt: Float64Array,
  [o, cg, kh, kw]: number[],
  b: Float64Array,
  stride: number,
  pad: number,
): [Float64Array, number[]] {
  const g = c / cg, og = o / g;
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const y = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let oi = 0; oi < o; oi++) {
      const gi = Math.floor(oi / og);
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          let s = b[oi];
          for (let ci = 0; ci < cg; ci++) {
            for (let a = 0; a < kh; a++) {
              for (let e = 0; e < kw; e++) {
                const ir = r * stride - pad + a, iq = q * stride - pad + e;
                if (ir < 0 || ir >= h || iq < 0 || iq >= w) continue;
                s += x[((ni * c + gi * cg + ci) * h + ir) * w + iq] *
                  wt[((oi * cg + ci) * kh + a) * kw + e];
              }
            }
          }
          y[((ni * o + oi) * oh + r) * ow + q] = s;
        }
      }
    }
  }
  return [y, [n, o, oh, ow]];
}

Deno.test("layers: conv init follows torch (U(±1/√fanIn), shapes, groups, no bias)", async () => {
  const key = k.random.key(0, { device: "cpu" });
  const check = async (p: k.nn.ConvParams, shape: number[], fanIn: number, name: string) => {
    assertShape(p.w.shape, shape, name);
    const bound = 1 / Math.sqrt(fanIn);
    const w = await read(p.w);
    assert.ok(w.every((v) => Math.abs(v) <= bound), `${name}: |w| <= 1/√${fanIn}`);
    const mean = w.reduce((a, v) => a + v, 0) / w.length;
    const sd = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
    // U(−B, B): mean 0 and sd B/√3; with n ≥ 4000 samples the sample values are within 5%.
    assert.ok(Math.abs(mean) < 0.05 * bound, `${name}: mean ${mean}`);
    assert.ok(Math.abs(sd / (bound / Math.sqrt(3)) - 1) < 0.05, `${name}: sd ${sd}`);
    if (p.b) {
      const b = await read(p.b);
      assert.ok(b.every((v) => Math.abs(v) <= bound), `${name}: |b| <= bound`);
    }
  };
  await check(k.nn.conv2d.init(key, 16, 32, 3), [32, 16, 3, 3], 144, "conv2d");
  await check(k.nn.conv2d.init(key, 16, 64, [3, 5], { groups: 4 }), [64, 4, 3, 5], 60, "grouped");
  await check(k.nn.conv1d.init(key, 8, 512, 5), [512, 8, 5], 40, "conv1d");
  await check(k.nn.conv3d.init(key, 4, 64, 3), [64, 4, 3, 3, 3], 108, "conv3d");
  // ConvTranspose: w [C, O/g, ...k], torch's fanIn = O/g · prod(k).
  await check(k.nn.convTranspose2d.init(key, 256, 8, 4), [256, 8, 4, 4], 128, "convTranspose2d");
  const nb = k.nn.conv2d.init(key, 3, 4, 3, { bias: false });
  assert.deepEqual(Object.keys(nb), ["w"]);
  const p = k.nn.conv2d.init(key, 3, 4, 3, { dtype: "float64" });
  assert.equal(p.w.dtype, "float64");
  assertShape(p.b!.shape, [4]);
});

for (const device of DEVICES) {
  const TOL = tolFor("float32", device);
  const key = k.random.key(1, { device });

  Deno.test(`layers: conv2d.apply matches a plain-JS convolution (stride, padding, groups, bias) [${device}]`, async () => {
    for (const [c, o, groups, stride, pad] of [[3, 4, 1, 1, 1], [4, 6, 2, 2, 0], [4, 4, 4, 1, 2]]) {
      const x = randu([2, c, 7, 6], 10 + c, device);
      const p = k.nn.conv2d.init(key, c, o, 3, { groups });
      const y = k.nn.conv2d.apply(p, x, { stride, padding: pad, groups });
      const [want, shape] = conv2dJs(
        await read(x),
        x.shape as number[],
        await read(p.w),
        p.w.shape as number[],
        await read(p.b!),
        stride,
        pad,
      );
      assertShape(y.shape, shape, `groups ${groups}`);
      allClose(
        await read(y),
        want,
        { rtol: 1e-4, atol: 1e-5 },
        `groups ${groups} stride ${stride}`,
      );
    }
  });

  Deno.test(`layers: conv/convTranspose layers equal k.conv/k.convTranspose plus bias [${device}]`, async () => {
    const x1 = randu([2, 4, 11], 1, device);
    const p1 = k.nn.conv1d.init(key, 4, 6, 3);
    const bias = (b: k.Tensor, d: number) => k.reshape(b, [b.shape[0], ...new Array(d).fill(1)]);
    const y1 = k.nn.conv1d.apply(p1, x1, { dilation: 2, padding: "same" });
    const r1 = k.add(k.conv(x1, p1.w, { dilation: 2, padding: "same" }), bias(p1.b!, 1));
    allClose(await read(y1), await read(r1), EXACT, "conv1d");
    const x3 = randu([1, 2, 5, 5, 5], 2, device);
    const p3 = k.nn.conv3d.init(key, 2, 3, 2, { bias: false });
    allClose(
      await read(k.nn.conv3d.apply(p3, x3, { stride: 2 })),
      await read(k.conv(x3, p3.w, { stride: 2 })),
      EXACT,
      "conv3d",
    );
    const xt = randu([2, 4, 5, 5], 3, device);
    const pt = k.nn.convTranspose2d.init(key, 4, 6, 3, { groups: 2 });
    const yt = k.nn.convTranspose2d.apply(pt, xt, {
      stride: 2,
      padding: 1,
      outputPadding: 1,
      groups: 2,
    });
    assertShape(yt.shape, [2, 6, 10, 10], "(5−1)·2 − 2 + 2 + 1 + 1");
    const rt = k.convTranspose(xt, pt.w, { stride: 2, padding: 1, outputPadding: 1, groups: 2 });
    allClose(await read(yt), await read(k.add(rt, bias(pt.b!, 2))), EXACT, "convTranspose2d");
    // Unbatched input, as torch.
    const xu = randu([4, 7, 7], 4, device);
    const pu = k.nn.conv2d.init(key, 4, 2, 3);
    const yu = k.nn.conv2d.apply(pu, xu);
    assertShape(yu.shape, [2, 5, 5]);
    const yb = k.nn.conv2d.apply(pu, k.expandDims(xu, 0));
    allClose(await read(yu), await read(yb), TOL, "unbatched");
  });

  Deno.test(`layers: pooling helpers and flatten [${device}]`, async () => {
    const x = randu([2, 3, 6, 6], 5, device);
    allClose(await read(k.nn.maxPool2d(x, 2)), await read(k.maxPool(x, 2)), EXACT, "maxPool2d");
    allClose(
      await read(k.nn.avgPool2d(x, 3, { stride: 1, padding: 1 })),
      await read(k.avgPool(x, 3, { stride: 1, padding: 1 })),
      EXACT,
      "avgPool2d",
    );
    assertShape(k.nn.flatten(x).shape, [2, 108]);
    assertShape(k.nn.flatten(x, { startAxis: 2 }).shape, [2, 3, 36]);
    assertShape(k.nn.flatten(x, { startAxis: 0, endAxis: 1 }).shape, [6, 6, 6]);
    allClose(await read(k.nn.flatten(x)), await read(x), EXACT, "flatten keeps the order");
  });

  Deno.test(`layers: sequential threads params, batchNorm state and dropout keys like hand-written code [${device}]`, async () => {
    const L = k.nn.layers;
    const model = k.nn.sequential([
      L.linear(4, 6),
      L.batchNorm(6),
      k.nn.relu,
      L.dropout(0.5),
      L.linear(6, 3),
    ]);
    const initKey = k.random.key(5, { device });
    const { params, state } = model.init(initKey);
    // Layer i is initialized with split(key, n)[i].
    const keys = k.random.split(initKey, 5);
    const p0 = k.nn.linear.init(keys[0], 4, 6), p4 = k.nn.linear.init(keys[4], 6, 3);
    allClose(await read(params[0].w), await read(p0.w), EXACT, "params[0].w");
    allClose(await read(params[4].b), await read(p4.b), EXACT, "params[4].b");
    assert.deepEqual([params[2], params[3], state[0], state[2]], [{}, {}, {}, {}]);
    const x = randu([8, 4], 6, device);
    const stepKey = k.random.key(9, { device });
    let st = state;
    let bnState = k.nn.batchNorm.init(6, { device }).state;
    for (let step = 0; step < 2; step++) {
      const [y, next] = model.apply(params, st, x, { training: true, key: stepKey });
      // By hand: layer i draws with foldIn(key, i).
      const h0 = k.nn.linear.apply(params[0], x);
      let h1: k.Tensor;
      [h1, bnState] = k.nn.batchNorm.apply(params[1], bnState, h0, { training: true });
      const h3 = k.nn.dropout(k.random.foldIn(stepKey, 3), k.nn.relu(h1), 0.5);
      const want = k.nn.linear.apply(params[4], h3);
      allClose(await read(y), await read(want), TOL, `step ${step} output`);
      allClose(
        await read(next[1].runningVar),
        await read(bnState.runningVar),
        TOL,
        `step ${step} state`,
      );
      assert.equal(await next[1].numBatchesTracked.item(), step + 1);
      st = next;
    }
    // Evaluation: running statistics, no dropout, state unchanged.
    const [yEval, stEval] = model.apply(params, st, x, { training: false });
    const [e1] = k.nn.batchNorm.apply(params[1], bnState, k.nn.linear.apply(params[0], x), {
      training: false,
    });
    const wantEval = k.nn.linear.apply(params[4], k.nn.relu(e1));
    allClose(await read(yEval), await read(wantEval), TOL, "eval output");
    assert.equal(stEval[1], st[1], "eval keeps the batchNorm state object");
  });

  Deno.test(`layers: a jitted CNN training step through sequential learns and equals eager [${device}]`, async () => {
    const L = k.nn.layers;
    const model = k.nn.sequential([
      L.conv2d(1, 4, 3, { padding: 1 }),
      L.batchNorm(4),
      k.nn.relu,
      L.maxPool2d(2),
      L.flatten(),
      L.dropout(0.25),
      L.linear(4 * 4 * 4, 3),
    ]);
    type P = ReturnType<typeof model.init>["params"];
    type S = ReturnType<typeof model.init>["state"];
    const vars = model.init(k.random.key(2, { device }));
    const w: k.Tensor = vars.params[0].w; // typed per layer
    assertShape(w.shape, [4, 1, 3, 3]);
    const x = randu([6, 1, 8, 8], 7, device);
    const y = k.tensor([0, 1, 2, 0, 1, 2], { dtype: "int32", device });
    const loss = (p: P, s: S, key: k.Tensor) => {
      const [logits, s2] = model.apply(p, s, x, { training: true, key });
      return [k.nn.softmaxCrossEntropy(logits, y), s2];
    };
    const step = (p: P, s: S, key: k.Tensor) => {
      const [[value, s2], g] = k.valueAndGrad(loss, { hasAux: true })(p, s, key) as unknown as [
        [k.Tensor, S],
        P,
      ];
      const p2 = k.tree.map((a: k.Tensor, b: k.Tensor) => k.sub(a, k.mul(b, 0.1)), p, g) as P;
      return [value, p2, s2] as const;
    };
    const jitted = k.jit(step);
    const base = k.random.key(3, { device });
    const [vE, pE, sE] = step(vars.params, vars.state, base);
    const [vJ, pJ, sJ] = jitted(vars.params, vars.state, base) as unknown as ReturnType<
      typeof step
    >;
    allClose([Number(await vJ.item())], [Number(await vE.item())], TOL, "loss");
    allClose(await read(pJ[0].w), await read(pE[0].w), TOL, "updated conv kernel");
    allClose(await read(sJ[1].runningMean), await read(sE[1].runningMean), TOL, "bn state");
    let [p, s] = [pJ, sJ];
    const first = Number(await vJ.item());
    let last = first;
    for (let i = 1; i < 25; i++) {
      const [v, p2, s2] = jitted(p, s, k.random.foldIn(base, i)) as unknown as ReturnType<
        typeof step
      >;
      [p, s, last] = [p2, s2, Number(await v.item())];
    }
    assert.ok(last < 0.6 * first, `loss ${first} -> ${last}`);
    assert.equal(await s[1].numBatchesTracked.item(), 25);
  });
}

Deno.test("layers: sequential params work with optimizers and checkpoints ({} entries included)", async () => {
  const L = k.nn.layers;
  const model = k.nn.sequential([L.conv2d(1, 2, 3), L.batchNorm(2), k.nn.relu, L.flatten()]);
  const { params, state } = model.init(k.random.key(0, { device: "cpu" }));
  const opt = k.optim.adam(1e-3);
  const os = opt.init(params);
  const grads = k.tree.map((t: k.Tensor) => k.onesLike(t), params);
  const [updates] = opt.update(grads, os, params);
  const p2 = k.optim.applyUpdates(params, updates) as typeof params;
  assert.deepEqual(p2[2], {});
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await k.io.save(path, { params: p2, state });
    const back = await k.io.load(path, { like: { params: p2, state } });
    allClose(await read(back.params[0].w), await read(p2[0].w), EXACT, "reloaded kernel");
    assert.equal(await back.state[1].numBatchesTracked.item(), 0);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("layers: sequential nests, and fn/plain functions are parameter-free layers", async () => {
  const L = k.nn.layers;
  const block = (cin: number, cout: number) =>
    k.nn.sequential([L.conv2d(cin, cout, 3, { padding: 1 }), L.batchNorm(cout), k.nn.relu]);
  const model = k.nn.sequential([
    block(1, 2),
    block(2, 3),
    L.fn((t) => k.mul(t, 2), "double"),
    L.adaptiveAvgPool2d(1),
    L.flatten(),
  ]);
  const key = k.random.key(4, { device: "cpu" });
  const { params, state } = model.init(key);
  const w: k.Tensor = params[1][0].w; // typed through the nesting
  assertShape(w.shape, [3, 2, 3, 3]);
  assert.deepEqual(params[2], {});
  const x = randu([2, 1, 5, 5], 8, "cpu");
  const [y, s] = model.apply(params, state, x, { training: true, key });
  assertShape(y.shape, [2, 3]);
  // By hand: the inner sequential gets foldIn(key, 0) / foldIn(key, 1); nothing random here.
  const [h1, s1] = block(1, 2).apply(params[0], state[0], x, { training: true });
  const [h2] = block(2, 3).apply(params[1], state[1], h1, { training: true });
  const want = k.reshape(k.mul(k.mean(h2, { axis: [2, 3] }), 2), [2, 3]);
  allClose(await read(y), await read(want), { rtol: 1e-5, atol: 1e-6 }, "nested output");
  allClose(await read(s[0][1].runningMean), await read(s1[1].runningMean), EXACT, "inner state");
  assert.ok(model.name.startsWith("sequential(sequential(conv2d(1, 2, 3)"), model.name);
});

Deno.test("layers: per-example gradients through sequential (vmap of grad) equal one-example grads", async () => {
  const L = k.nn.layers;
  const model = k.nn.sequential([
    L.conv2d(1, 2, 3, { padding: 1 }),
    k.nn.relu,
    L.flatten(),
    L.linear(2 * 4 * 4, 3),
  ]);
  const { params, state } = model.init(k.random.key(0, { device: "cpu" }));
  const x = randu([5, 1, 4, 4], 12, "cpu");
  const y = k.tensor([0, 1, 2, 0, 1], { dtype: "int32", device: "cpu" });
  const lossOne = (p: typeof params, xi: k.Tensor, yi: k.Tensor) => {
    const [logits] = model.apply(p, state, k.expandDims(xi, 0), { training: false });
    return k.nn.softmaxCrossEntropy(logits, k.expandDims(yi, 0));
  };
  const per = k.vmap(k.grad(lossOne), { inAxes: [null, 0, 0] })(params, x, y) as typeof params;
  for (const i of [0, 3]) {
    const xi = k.reshape(k.slice(x, [[i, i + 1]]), [1, 4, 4]);
    const yi = k.reshape(k.slice(y, [[i, i + 1]]), []);
    const g = k.grad(lossOne)(params, xi, yi) as typeof params;
    const pick = (t: k.Tensor) => k.reshape(k.slice(t, [[i, i + 1]]), t.shape.slice(1));
    allClose(
      await read(pick(per[0].w)),
      await read(g[0].w),
      { rtol: 1e-5, atol: 1e-6 },
      `kernel ${i}`,
    );
    allClose(
      await read(pick(per[3].b)),
      await read(g[3].b),
      { rtol: 1e-5, atol: 1e-6 },
      `bias ${i}`,
    );
  }
});

Deno.test("layers: errors name the layer, the argument and the shapes", () => {
  const L = k.nn.layers;
  const model = k.nn.sequential([L.conv2d(1, 4, 3), L.dropout(0.5), k.nn.relu]);
  const { params, state } = model.init(k.random.key(0));
  throwsWith(
    () => model.apply(params, state, k.zeros([2, 3, 8, 8]), { training: false }),
    ["sequential.apply: layer 0 (conv2d(1, 4, 3))", "[2,3,8,8]", "3 channels"],
  );
  // A grouped kernel applied without its groups is a channel mismatch, not a silent regrouping.
  const pg = k.nn.conv2d.init(k.random.key(0), 6, 6, 3, { groups: 3 });
  throwsWith(() => k.nn.conv2d.apply(pg, k.zeros([1, 6, 5, 5])), ["conv", "6 channels"]);
  throwsWith(
    () =>
      k.nn.convTranspose2d.apply(
        k.nn.convTranspose2d.init(k.random.key(0), 4, 6, 3, { groups: 2 }),
        k.zeros([1, 4, 5, 5]),
      ),
    ["convTranspose2d.apply", "bias", "groups 1"],
  );
  throwsWith(
    () => model.apply(params, state, k.zeros([2, 1, 8, 8]), { training: true }),
    ["layer 1 (dropout(0.5))", "key"],
  );
  throwsWith(
    // deno-lint-ignore no-explicit-any
    () => model.apply(params.slice(1) as any, state, k.zeros([2, 1, 8, 8]), { training: false }),
    ["sequential.apply", "params", "3"],
  );
  // deno-lint-ignore no-explicit-any
  throwsWith(() => k.nn.sequential([L.flatten(), 3 as any]), ["nn.sequential", "layers[1]"]);
  throwsWith(() => L.conv2d(3, 4, 3, { groups: 2 }), ["nn.layers.conv2d", "groups 2"]);
  throwsWith(() => L.conv2d(3, 4, 3, { stride: 0 }), ["nn.layers.conv2d", "stride"]);
  // deno-lint-ignore no-explicit-any
  throwsWith(() => L.batchNorm(4, { momentun: 0.1 } as any), ["nn.layers.batchNorm", "momentun"]);
  throwsWith(() => L.dropout(1.5), ["layers.dropout", "rate"]);
  throwsWith(() => k.nn.conv2d.apply(params[0], k.zeros([1, 8, 8, 8, 8])), [
    "conv2d.apply",
    "[1,8,8,8,8]",
  ]);
  throwsWith(() => k.nn.conv2d.init(k.random.key(0), 4, 4, [3, 3, 3]), [
    "conv2d.init",
    "kernelSize",
  ]);
  throwsWith(() => k.nn.flatten(k.zeros([2, 3]), { startAxis: 2 }), ["flatten", "startAxis"]);
  throwsWith(() => k.nn.maxPool2d(k.zeros([2, 8]), 2), ["maxPool2d", "[2,8]"]);
});
