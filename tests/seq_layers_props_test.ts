// k.nn sequence layers beyond the PyTorch fixtures (seq_layers_test.ts): the attention kernel
// budget, checkGrads orders 1–2 through scan and attention in float64, causality as a
// fast-check property (changing steps after t never changes outputs at or before t), vmap over
// cells, reverse = flip∘forward∘flip, jit == eager, embedding/positional encodings against
// plain JS, the configured layers in `sequential`, and bad input.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import { allClose, DEVICES, hasFloat64, rng, throwsWith, type Tol } from "./_util.ts";

const read = async (t: k.Tensor) => Float64Array.from(await t.data());

for (const device of DEVICES) {
  const FD = hasFloat64(device) ? "float64" : "float32";
  const TOL: Tol = hasFloat64(device) ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 1e-4, atol: 1e-5 };
  const randn = (shape: number[], seed: number, dtype: "float32" | "float64" = FD) => {
    const r = rng(seed);
    const n = shape.reduce((a, d) => a * d, 1);
    const v = Float64Array.from({ length: n }, () => {
      const u = 1 - r(), w = r();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
    });
    return k.tensor(v, { shape, dtype, device });
  };
  const key = (i: number) => k.random.key(i, { device });

  Deno.test(`seq props: causal outputs never see later steps (fast-check) [${device}]`, async () => {
    const T = 6, B = 2, E = 8;
    const mha = k.nn.multiHeadAttention.init(key(1), E, { dtype: FD });
    const enc = k.nn.transformerEncoderLayer.init(key(2), E, 2, { dimFeedforward: 16, dtype: FD });
    const lstm = k.nn.lstm.init(key(3), E, 5, { numLayers: 2, dtype: FD });
    const models: [string, (x: k.Tensor) => k.Tensor][] = [
      ["dotProductAttention", (x) => {
        const h = k.transpose(k.reshape(x, [T, B, 2, 4]), [1, 2, 0, 3]); // [B, heads, T, 4]
        return k.transpose(k.nn.dotProductAttention(h, h, h, { causal: true }), [2, 0, 1, 3]);
      }],
      [
        "multiHeadAttention",
        (x) => k.nn.multiHeadAttention.apply(mha, x, x, x, { numHeads: 2, causal: true })[0],
      ],
      [
        "transformerEncoderLayer",
        (x) => k.nn.transformerEncoderLayer.apply(enc, x, { numHeads: 2, causal: true }),
      ],
      ["lstm", (x) => k.nn.lstm.apply(lstm, x)[0]],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: T - 2 }),
        fc.integer({ min: 1, max: 1e6 }),
        async (t, seed) => {
          const x = randn([T, B, E], seed);
          // Steps t+1 … T-1 replaced by other values (large ones, to make any leak visible).
          const later = k.greater(k.reshape(k.arange(T, null, 1, { device }), [T, 1, 1]), t);
          const x2 = k.where(later, k.mul(randn([T, B, E], seed + 1), 100), x);
          for (const [name, f] of models) {
            const a = await read(k.slice(f(x), [[0, t + 1]]));
            const b = await read(k.slice(f(x2), [[0, t + 1]]));
            assert.deepEqual(b, a, `${name}: outputs at steps <= ${t} changed`);
          }
        },
      ),
      { numRuns: device === "cpu" ? 12 : 4 },
    );
  });

  Deno.test(`seq props: masked scores far above the max and empty rows stay finite [${device}]`, async () => {
    // Query 0 may see keys 0 and 1 only, while its score with key 2 is 1e4 (exp would overflow);
    // query 1 may see nothing.
    const q = k.tensor([[1, 0], [0, 1]], { dtype: "float32", device });
    const kk = k.tensor([[0.5, 0], [-0.5, 0], [1e4, 0]], { dtype: "float32", device });
    const v = k.tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float32", device });
    const mask = k.tensor([[true, true, false], [false, false, false]], { device });
    const f = (a: k.Tensor, b: k.Tensor, c: k.Tensor) =>
      k.nn.dotProductAttention(a, b, c, { mask, scale: 1 });
    const p0 = 1 / (1 + Math.exp(-1)); // softmax of scores [0.5, -0.5]
    allClose(await read(f(q, kk, v)), [p0 + 3 * (1 - p0), 2 * p0 + 4 * (1 - p0), 0, 0], {
      rtol: 1e-5,
      atol: 1e-6,
    });
    const g = k.grad((a: k.Tensor, b: k.Tensor, c: k.Tensor) => k.sum(f(a, b, c)), {
      argnums: [0, 1, 2],
    })(
      q,
      kk,
      v,
    ) as unknown as k.Tensor[];
    for (const [i, t] of g.entries()) {
      const d = await read(t);
      assert.ok(d.every(Number.isFinite), `gradient ${i} is finite: ${d}`);
    }
    allClose(await read(g[2]), [p0, p0, 1 - p0, 1 - p0, 0, 0], { rtol: 1e-5, atol: 1e-7 }, "dv");
  });

  Deno.test(`seq props: vmap over cells equals the batched cell [${device}]`, async () => {
    const x = randn([4, 3], 11), h = randn([4, 5], 12), c = randn([4, 5], 13);
    for (const name of ["rnnCell", "lstmCell", "gruCell"] as const) {
      const cell = k.nn[name] as k.nn.Cell<unknown>;
      const p = cell.init(key(4), 3, 5, { dtype: FD });
      const carry = name === "lstmCell" ? { h, c } : h;
      const [want] = cell.apply(p, carry, x);
      const [got] = k.vmap((cc: unknown, xx: k.Tensor) => cell.apply(p, cc, xx), {
        inAxes: [0, 0],
      })(
        carry,
        x,
      ) as unknown as [unknown];
      const leaves = (v: unknown) =>
        name === "lstmCell" ? [(v as k.nn.LstmCarry).h, (v as k.nn.LstmCarry).c] : [v as k.Tensor];
      for (const [i, g] of leaves(got).entries()) {
        allClose(await read(g), await read(leaves(want)[i]), TOL, `vmap ${name} leaf ${i}`);
      }
    }
  });

  Deno.test(`seq props: reverse is flip∘forward∘flip; jit equals eager [${device}]`, async () => {
    const x = randn([5, 2, 3], 21);
    for (const name of ["rnn", "lstm", "gru"] as const) {
      const layer = k.nn[name] as unknown as k.nn.Recurrent<unknown>;
      const p = layer.init(key(5), 3, 4, { numLayers: 2, dtype: FD });
      const [yr] = layer.apply(p, x, { reverse: true });
      const [yf] = layer.apply(p, k.flip(x, { axis: 0 }));
      allClose(await read(yr), await read(k.flip(yf, { axis: 0 })), TOL, `${name} reverse`);
      const jitted = k.jit((pp: k.nn.RecurrentParams, xx: k.Tensor) => layer.apply(pp, xx)[0]);
      allClose(await read(jitted(p, x)), await read(layer.apply(p, x)[0]), TOL, `${name} jit`);
    }
  });

  Deno.test(`seq props: embedding and positional encodings against plain JS [${device}]`, async () => {
    const p = k.nn.embedding.init(key(6), 7, 3, { paddingIdx: 2, dtype: FD });
    const w = await read(p.weight);
    assert.deepEqual([...w.slice(6, 9)], [0, 0, 0], "padding row starts at zero");
    const ids = [[1, 2, 6], [0, 2, 1]];
    const idT = k.tensor(ids, { dtype: "int32", device });
    const y = k.nn.embedding.apply(p, idT, { paddingIdx: 2 });
    assert.deepEqual(y.shape, [2, 3, 3]);
    allClose(await read(y), ids.flat().flatMap((i) => [...w.slice(3 * i, 3 * i + 3)]), TOL, "rows");
    const g = k.grad((pp: k.nn.EmbeddingParams) =>
      k.sum(k.nn.embedding.apply(pp, idT, { paddingIdx: 2 }))
    )(p);
    // Row counts of the ids (1 twice, 0 and 6 once), and none for the padding row.
    const counts = [1, 2, 0, 0, 0, 0, 1].flatMap((n) => [n, n, n]);
    allClose(await read(g.weight), counts, TOL, "embedding gradient");
    const pe = k.nn.sinusoidalPositionalEncoding(5, 6, { dtype: FD, device });
    const want = Array.from({ length: 30 }, (_, i) => {
      const [pos, j] = [Math.floor(i / 6), i % 6];
      const a = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / 6);
      return j % 2 ? Math.cos(a) : Math.sin(a);
    });
    allClose(
      await read(pe),
      want,
      hasFloat64(device) ? TOL : { rtol: 1e-6, atol: 1e-6 },
      "sinusoid",
    );
    const pp = k.nn.positionalEmbedding.init(key(7), 10, 6, { dtype: FD });
    const x = randn([4, 2, 6], 31);
    const got = k.nn.positionalEmbedding.apply(pp, x, { offset: 3 });
    const rows = k.expandDims(k.slice(pp.weight, [[3, 7]]), 1);
    allClose(await read(got), await read(k.add(x, rows)), TOL, "positionalEmbedding");
  });

  Deno.test(`seq props: init distributions (embedding N(0,1), cells U(±1/√H), attention Xavier) [${device}]`, async () => {
    const w = await read(k.nn.embedding.init(key(8), 200, 100).weight);
    const mean = w.reduce((a, v) => a + v, 0) / w.length;
    const sd = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd - 1) < 0.02, `mean ${mean}, sd ${sd}`);
    const c = await read(k.nn.lstmCell.init(key(9), 30, 64).weightIh);
    assert.ok(c.every((v) => Math.abs(v) <= 1 / 8) && Math.max(...c) > 0.12, "U(±1/√H)");
    const m = k.nn.multiHeadAttention.init(key(9), 64, { kdim: 48, vdim: 32 });
    assert.deepEqual(Object.keys(m).sort(), [
      "inProjBias",
      "kProjWeight",
      "outProjBias",
      "outProjWeight",
      "qProjWeight",
      "vProjWeight",
    ]);
    assert.deepEqual([m.qProjWeight!.shape, m.kProjWeight!.shape, m.vProjWeight!.shape], [
      [64, 64],
      [64, 48],
      [64, 32],
    ]);
    const kw = await read(m.kProjWeight!), bound = Math.sqrt(6 / (64 + 48)); // Xavier-uniform
    assert.ok(kw.every((v) => Math.abs(v) <= bound) && Math.max(...kw) > 0.95 * bound, "xavier");
    const packed = await read(k.nn.multiHeadAttention.init(key(9), 64).inProjWeight!);
    assert.ok(packed.every((v) => Math.abs(v) <= Math.sqrt(6 / 256)), "packed xavier over [3E, E]");
  });

  Deno.test(`seq props: configured layers in sequential (embedding → lstm → linear, transformer) [${device}]`, async () => {
    const L = k.nn.layers;
    const model = k.nn.sequential([
      L.embedding(11, 8),
      L.lstm(8, 6, { batchFirst: true }),
      L.linear(6, 11),
    ]);
    const { params, state } = model.init(key(10));
    const ids = k.tensor([[1, 2, 3, 4], [5, 6, 7, 8]], { dtype: "int32", device });
    const [logits] = model.apply(params, state, ids, { training: false });
    assert.deepEqual(logits.shape, [2, 4, 11]);
    const byHand = k.nn.linear.apply(
      params[2],
      k.nn.lstm.apply(params[1], k.nn.embedding.apply(params[0], ids), { batchFirst: true })[0],
    );
    allClose(await read(logits), await read(byHand), TOL, "sequential == by hand");
    const tf = k.nn.sequential([
      L.sinusoidalPositionalEncoding(8, { batchFirst: true }),
      L.transformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, causal: true }),
      L.multiHeadAttention(8, 2, { batchFirst: true, dropout: 0.5 }),
    ]);
    const v = tf.init(key(11));
    const x = randn([2, 5, 8], 41, "float32");
    const [a] = tf.apply(v.params, v.state, x, { training: false });
    const [b] = tf.apply(v.params, v.state, x, { training: true, key: key(12) });
    assert.deepEqual(a.shape, [2, 5, 8]);
    assert.notDeepEqual(await read(a), await read(b), "dropout changes the training output");
  });
}

Deno.test("seq props: kernel budgets: attention 5 (fwd) / 13 (fwd+bwd), MHA 7, encoder layer 15", async () => {
  const [a, b, c] = k.random.split(k.random.key(0, { device: "cpu" }), 3);
  const q = k.random.normal(a, [2, 4, 16, 8]), kk = k.random.normal(b, [2, 4, 16, 8]);
  const v = k.random.normal(c, [2, 4, 16, 8]);
  await k.realize(q, kk, v);
  // scores (contraction), row max, exp (read by two consumers), row sum, (e·v)/sum.
  assert.equal(k.schedule(k.nn.dotProductAttention(q, kk, v, { causal: true })).length, 5);
  assert.equal(k.schedule(k.nn.dotProductAttention(q, kk, v)).length, 5);
  const g = k.grad(
    (a: k.Tensor, b: k.Tensor, c: k.Tensor) =>
      k.sum(k.nn.dotProductAttention(a, b, c, { causal: true })),
    { argnums: [0, 1, 2] },
  )(q, kk, v) as unknown as k.Tensor[];
  assert.equal(k.schedule(...g).length, 13, "forward + backward to dq, dk, dv");
  // Self-attention: one packed [3E] input projection + attention (5) + output projection.
  const mp = k.nn.multiHeadAttention.init(a, 32);
  const ep = k.nn.transformerEncoderLayer.init(b, 32, 4, { dimFeedforward: 64 });
  const x = k.random.normal(c, [16, 4, 32]);
  await k.realize(x, ...k.tree.leaves(mp), ...k.tree.leaves(ep));
  const [y] = k.nn.multiHeadAttention.apply(mp, x, x, x, { numHeads: 4, causal: true });
  assert.equal(k.schedule(y).length, 7, "multiHeadAttention");
  const e = k.nn.transformerEncoderLayer.apply(ep, x, { numHeads: 4, causal: true });
  assert.equal(k.schedule(e).length, 15, "transformerEncoderLayer");
});

Deno.test("seq props: checkGrads orders 1-2 through scan and attention (float64)", async () => {
  const cpu = (i: number) => k.random.key(i, { device: "cpu" });
  const n = (s: number[], i: number) => k.random.normal(cpu(i), s, { dtype: "float64" });
  const opts = { atol: 1e-6, rtol: 1e-5 };
  const q = n([1, 2, 3, 2], 1),
    kk = n([1, 2, 4, 2], 2),
    v = n([1, 2, 4, 2], 3),
    bias = n([3, 4], 4);
  await k.testing.checkGrads(
    (a, b, c, d) => k.nn.dotProductAttention(a, b, c, { causal: true, bias: d }),
    [q, kk, v, bias],
    { ...opts, order: 2 },
  );
  for (const name of ["lstm", "gru", "rnn"] as const) {
    const layer = k.nn[name] as unknown as k.nn.Recurrent<unknown>;
    const p = layer.init(cpu(5), 2, 2, { dtype: "float64", bidirectional: name === "gru" });
    const x = n([3, 1, 2], 6);
    const cell = p.layers[0][0];
    await k.testing.checkGrads(
      (xx, wih, whh) =>
        layer.apply({
          layers: [[{ ...cell, weightIh: wih, weightHh: whh }, ...p.layers[0].slice(1)]],
        }, xx)[0],
      [x, cell.weightIh, cell.weightHh],
      { ...opts, order: 2 },
    );
  }
  const mp = k.nn.multiHeadAttention.init(cpu(7), 4, { dtype: "float64" });
  const x = n([3, 1, 4], 8);
  await k.testing.checkGrads(
    (xx, w) =>
      k.nn.multiHeadAttention.apply({ ...mp, inProjWeight: w }, xx, xx, xx, {
        numHeads: 2,
        causal: true,
      })[0],
    [x, mp.inProjWeight!],
    { ...opts, order: 2 },
  );
});

Deno.test("seq props: bad input names the layer, the argument and the shapes", () => {
  const cpu = k.random.key(0, { device: "cpu" });
  const lstm = k.nn.lstm.init(cpu, 3, 4, { numLayers: 2 });
  const x = k.zeros([5, 2, 3]);
  // Mismatched hidden sizes.
  const other = k.nn.lstm.init(cpu, 4, 6).layers[0];
  throwsWith(() => k.nn.lstm.apply({ layers: [lstm.layers[0], other] }, x), [
    "nn.lstm.apply: params.layers[1][0] maps 4 -> 6, expected 4 -> 4",
  ]);
  throwsWith(() => k.nn.lstm.apply(lstm, k.zeros([5, 2, 7])), [
    "nn.lstm.apply: x must be",
    "in = 3",
    "[5,2,7]",
  ]);
  const cell = k.nn.gruCell.init(cpu, 3, 4);
  throwsWith(() => k.nn.gruCell.apply(cell, k.zeros([2, 5]), k.zeros([2, 3])), [
    "nn.gruCell.apply: carry must be a Tensor [2,4], got a Tensor [2,5]",
  ]);
  throwsWith(
    () => k.nn.gruCell.apply({ ...cell, weightHh: k.zeros([12, 5]) }, k.zeros([4]), k.zeros([3])),
    [
      "nn.gruCell.apply: params.weightHh must be [12, 4]",
    ],
  );
  // Wrong carry structure.
  const lc = k.nn.lstmCell.init(cpu, 3, 4);
  throwsWith(
    () => k.nn.lstmCell.apply(lc, k.zeros([4]) as unknown as k.nn.LstmCarry, k.zeros([3])),
    [
      "nn.lstmCell.apply: carry must be {h, c} with h and c [4]",
    ],
  );
  throwsWith(() => k.nn.lstmCell.apply(lc, { h: k.zeros([4]) } as k.nn.LstmCarry, k.zeros([3])), [
    "nn.lstmCell.apply: carry must be {h, c}",
    "got {h: [4]}",
  ]);
  throwsWith(
    () => k.nn.lstm.apply(lstm, x, { carry: { h: k.zeros([1, 2, 4]), c: k.zeros([1, 2, 4]) } }),
    [
      "nn.lstm.apply: opts.carry must be {h, c} with h and c [2,2,4]",
    ],
  );
  throwsWith(
    () =>
      k.nn.gru.apply(k.nn.gru.init(cpu, 3, 4), x, {
        carry: { h: k.zeros([1, 2, 4]) } as unknown as k.Tensor,
      }),
    [
      "nn.gru.apply: opts.carry must be a Tensor [1,2,4]",
    ],
  );
  // Sequence length 0.
  throwsWith(() => k.nn.lstm.apply(lstm, k.zeros([0, 2, 3])), [
    "nn.lstm.apply: sequence length 0",
    "[0,2,3]",
  ]);
  throwsWith(
    () => k.nn.dotProductAttention(k.zeros([2, 0, 4]), k.zeros([2, 3, 4]), k.zeros([2, 3, 4])),
    [
      "nn.dotProductAttention: sequence length 0",
    ],
  );
  // Masks that do not broadcast.
  const q = k.zeros([2, 4, 5, 8]);
  throwsWith(() => k.nn.dotProductAttention(q, q, q, { mask: k.ones([3, 5], { dtype: "bool" }) }), [
    "nn.dotProductAttention: mask [3,5] does not broadcast to the scores [2,4,5,5]",
  ]);
  throwsWith(() => k.nn.dotProductAttention(q, q, q, { mask: k.ones([5, 5]) }), [
    "mask must be bool",
  ]);
  throwsWith(() => k.nn.dotProductAttention(q, k.zeros([2, 4, 5, 7]), q), [
    "q and k differ in dim",
  ]);
  const mp = k.nn.multiHeadAttention.init(cpu, 8);
  const s = k.zeros([5, 2, 8]);
  throwsWith(
    () =>
      k.nn.multiHeadAttention.apply(mp, s, s, s, {
        numHeads: 2,
        keyPaddingMask: k.ones([5, 2], { dtype: "bool" }),
      }),
    [
      "nn.multiHeadAttention.apply: keyPaddingMask must be [2,5], got [5,2]",
    ],
  );
  throwsWith(
    () =>
      k.nn.multiHeadAttention.apply(mp, s, s, s, {
        numHeads: 2,
        attnMask: k.ones([4, 5], { dtype: "bool" }),
      }),
    [
      "nn.multiHeadAttention.apply: attnMask must be [L, S] = [5,5]",
    ],
  );
  throwsWith(() => k.nn.multiHeadAttention.apply(mp, s, s, s, { numHeads: 3 }), [
    "numHeads 3 does not divide",
  ]);
  const ep = k.nn.transformerEncoderLayer.init(cpu, 8, 2, { dimFeedforward: 8 });
  throwsWith(() => k.nn.transformerEncoderLayer.apply(ep, k.zeros([5, 2, 6]), { numHeads: 2 }), [
    "nn.transformerEncoderLayer.apply: query, key and value must end with the embedding size 8",
  ]);
  throwsWith(() => k.nn.embedding.apply({ weight: k.zeros([4, 2]) }, k.zeros([3])), [
    "nn.embedding.apply: ids must be int32",
  ]);
  throwsWith(() => k.nn.layers.lstm(3, 0), ["nn.layers.lstm", "hiddenSize"]);
});

Deno.test("seq props: jitted Adam steps teach an LSTM and a causal transformer the next token", async () => {
  const L = k.nn.layers;
  const cpu = (i: number) => k.random.key(i, { device: "cpu" });
  // Rows of (phase + t) mod 5: the next token is the current one plus 1.
  const rows = Array.from(
    { length: 8 },
    (_, b) => Array.from({ length: 11 }, (_, t) => (b + t) % 5),
  );
  const ids = k.tensor(rows.map((r) => r.slice(0, 10)), { dtype: "int32" });
  const next = k.tensor(rows.map((r) => r.slice(1)), { dtype: "int32" });
  const models = {
    lstm: k.nn.sequential([
      L.embedding(5, 8),
      L.lstm(8, 16, { batchFirst: true }),
      L.linear(16, 5),
    ]),
    transformer: k.nn.sequential([
      L.embedding(5, 8),
      L.sinusoidalPositionalEncoding(8, { batchFirst: true }),
      L.transformerEncoderLayer(8, 2, {
        dimFeedforward: 16,
        batchFirst: true,
        causal: true,
        dropout: 0,
      }),
      L.linear(8, 5),
    ]),
  };
  for (const [name, m] of Object.entries(models)) {
    const model = m as k.nn.Layer<unknown, unknown>;
    // deno-lint-ignore no-explicit-any
    type P = any;
    const { params, state } = model.init(cpu(1));
    const opt = k.optim.adam(0.03);
    const loss = (p: P) =>
      k.nn.softmaxCrossEntropy(model.apply(p, state, ids, { training: false })[0], next);
    const step = k.jit((p: P, o: P) => {
      const [v, g] = k.valueAndGrad(loss)(p);
      const [u, o2] = opt.update(g, o, p);
      return [v, k.optim.applyUpdates(p, u), o2];
    });
    let [p, o] = [params as P, opt.init(params as P) as P];
    let first = NaN, last = NaN;
    for (let i = 0; i < 40; i++) {
      const [v, p2, o2] = step(p, o) as unknown as [k.Tensor, P, P];
      [p, o, last] = [p2, o2, Number(await v.item())];
      if (i === 0) first = last;
    }
    assert.ok(first > 1.2 && last < 0.2, `${name}: loss ${first} -> ${last}`);
  }
});

Deno.test("seq props: broadcast leading axes; vmap over examples equals the batched layers", async () => {
  const cpu = (i: number) => k.random.key(i, { device: "cpu" });
  const n = (s: number[], i: number) => k.random.normal(cpu(i), s, { dtype: "float64" });
  const q = n([3, 2, 4, 5], 1), kk = n([1, 2, 6, 5], 2), v = n([1, 2, 6, 4], 3);
  const tol = { rtol: 1e-12, atol: 1e-13 };
  allClose(
    await read(k.nn.dotProductAttention(q, kk, v, { causal: true })),
    await read(
      k.nn.dotProductAttention(q, k.broadcastTo(kk, [3, 2, 6, 5]), k.broadcastTo(v, [3, 2, 6, 4]), {
        causal: true,
      }),
    ),
    tol,
    "k, v broadcast over the batch",
  );
  // Per-example (unbatched [T, E]) calls under vmap over axis 1 of [T, B, E].
  const x = n([5, 3, 8], 4);
  const ep = k.nn.transformerEncoderLayer.init(cpu(5), 8, 2, {
    dimFeedforward: 16,
    dtype: "float64",
  });
  const lp = k.nn.lstm.init(cpu(6), 8, 4, { dtype: "float64", bidirectional: true });
  const layers: [string, (xx: k.Tensor) => k.Tensor][] = [
    ["encoder", (xx) => k.nn.transformerEncoderLayer.apply(ep, xx, { numHeads: 2, causal: true })],
    ["lstm", (xx) => k.nn.lstm.apply(lp, xx)[0]],
  ];
  for (const [name, f] of layers) {
    const vm = k.vmap(f, { inAxes: [1], outAxes: 1 })(x) as k.Tensor;
    allClose(await read(vm), await read(f(x)), tol, `vmap ${name}`);
  }
});

Deno.test("embedding: ids out of range are an error outside jit, clamped as take inside", async () => {
  const p = k.nn.embedding.init(k.random.key(0, { device: "cpu" }), 5, 3);
  const ids = (v: number[]) => k.tensor(v, { dtype: "int32", device: "cpu" });
  assert.throws(
    () => k.nn.embedding.apply(p, ids([1, 7])),
    /nn\.embedding\.apply: ids must be in \[0, 5\).*got 7 at flat position 1 of ids \[2\]/,
  );
  assert.throws(() => k.nn.embedding.apply(p, ids([-1])), /got -1/);
  const inJit = await k.jit((i: k.Tensor) => k.nn.embedding.apply(p, i))(ids([7])).toArray();
  assert.deepStrictEqual(inJit, await k.nn.embedding.apply(p, ids([4])).toArray());
});
