/**
 * `k.onnx`: models exported by Kiln run in ONNX Runtime (onnxruntime-node, CPU) with Kiln's
 * outputs (float32, rtol 1e-5 plus 1e-6 of the output's scale), at the traced batch size and,
 * with `dynamicBatch`, at another one; export → import round trips give the same outputs, and
 * `jit`, `grad` and `vmap` of an imported model agree with the original's; models written by
 * PyTorch's exporter (tests/make_onnx_fixtures.py) import with PyTorch's outputs and
 * fine-tune; malformed files and unsupported graphs fail with clear errors.
 *
 * ONNX Runtime is a native addon: Deno needs `--allow-ffi` to load it. Without it (or where it
 * cannot load) the ONNX Runtime cases are skipped with a message; everything else still runs.
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { decodeModel, encodeModel, type ModelMsg } from "../onnx/schema.ts";
import { allClose, DEVICES, rejectsWith, rng, throwsWith, type Tol } from "./_util.ts";

// deno-lint-ignore no-explicit-any
type Ort = any;
// Test-only dependency, pinned here (the library never loads it).
// deno-lint-ignore no-import-prefix
const ort: Ort | null = await import("npm:onnxruntime-node@1.30.0").catch((e: Error) => {
  console.warn(
    `onnx_test: ONNX Runtime cases skipped: onnxruntime-node cannot load (${
      e.message.split("\n")[0]
    }); run with --allow-ffi`,
  );
  return null;
});

const TOL: Tol = { rtol: 1e-5, atol: 0 };
/** float32 comparison: relative 1e-5, plus 1e-6 of the largest magnitude (near-zero entries). */
function close(a: ArrayLike<number>, b: ArrayLike<number>, msg: string, rtol = TOL.rtol): void {
  const scale = Math.max(...Array.from(b, Math.abs));
  allClose(a, b, { rtol, atol: 1e-6 * scale }, msg);
}

/** Seeded N(0, 1)-ish values (Box-Muller over mulberry32) as a float32 tensor on `device`. */
function normal(seed: number, shape: number[], device = "cpu"): k.Tensor {
  const r = rng(seed), n = shape.reduce((a, d) => a * d, 1);
  const v = Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(7 * r()));
  return k.tensor(v, { shape, device });
}
/** A pytree of tensors moved to `device`. */
async function onDevice(tree: Tree, device: string): Promise<Tree> {
  const e = Object.entries(tree);
  const moved = await Promise.all(e.map(([, t]) => k.devicePut(t, device)));
  return Object.fromEntries(e.map(([n], i) => [n, moved[i]]));
}

/** Runs model bytes in ONNX Runtime on one float32 or int32 input; returns [data, dims]. */
async function runOrt(bytes: Uint8Array, x: k.Tensor): Promise<[Float32Array, number[]]> {
  const s = await ort.InferenceSession.create(bytes);
  const feed = new ort.Tensor(x.dtype, await x.data(), [...x.shape]);
  const r = await s.run({ [s.inputNames[0]]: feed });
  const y = r[s.outputNames[0]];
  return [y.data as Float32Array, [...y.dims].map(Number)];
}

interface Case {
  name: string;
  params: k.tree.PyTree;
  f: (p: never, x: k.Tensor) => k.Tensor;
  x: number[];
  other: number[];
}

const L = k.nn.layers;
const cnn = k.nn.sequential([
  L.conv2d(1, 4, 3, { padding: 1 }),
  L.maxPool2d(2),
  L.batchNorm(4),
  k.nn.relu,
  L.conv2d(4, 8, 3, { padding: 1, stride: 2 }),
  k.nn.relu,
  L.flatten(),
  L.linear(8 * 2 * 2, 5),
]);
type CnnVars = ReturnType<typeof cnn.init>;
type Tree = Record<string, k.Tensor>;
const block = { numHeads: 2, batchFirst: true, causal: true, normFirst: true } as const;
const CASES: Case[] = [
  {
    name: "MLP",
    params: k.nn.mlp.init(k.random.key(1), [6, 16, 3]),
    f: (p: k.nn.MlpParams, x) => k.nn.mlp.apply(p, x),
    x: [4, 6],
    other: [7, 6],
  },
  {
    name: "CNN",
    params: cnn.init(k.random.key(2)),
    f: (v: CnnVars, x) => cnn.apply(v.params, v.state, x, { training: false })[0],
    x: [2, 1, 8, 8],
    other: [5, 1, 8, 8],
  },
  {
    name: "LSTM (unrolled)",
    params: k.nn.lstm.init(k.random.key(3), 3, 5, { numLayers: 2 }),
    f: (p: Tree, x) => k.nn.lstm.apply(p as never, x, { batchFirst: true })[0],
    x: [2, 6, 3],
    other: [3, 6, 3],
  },
  {
    name: "GRU (unrolled)",
    params: k.nn.gru.init(k.random.key(4), 3, 5),
    f: (p: Tree, x) => k.nn.gru.apply(p as never, x, { batchFirst: true })[0],
    x: [2, 4, 3],
    other: [3, 4, 3],
  },
  {
    name: "transformer encoder layer",
    params: k.nn.transformerEncoderLayer.init(k.random.key(5), 8, 2, { dimFeedforward: 16 }),
    f: (p: Tree, x) =>
      k.nn.transformerEncoderLayer.apply(p as never, x, { ...block, activation: "gelu" }),
    x: [2, 5, 8],
    other: [3, 5, 8],
  },
];
await k.realize(...CASES.flatMap((c) => k.tree.leaves(c.params)));

for (const c of CASES) {
  Deno.test({
    name: `onnx: ${c.name} exported runs in ONNX Runtime with Kiln's outputs`,
    ignore: ort === null,
    async fn() {
      const f = (x: k.Tensor) => c.f(c.params as never, x);
      const x = normal(10, c.x);
      for (const opset of [13, 17, 18]) {
        const bytes = await k.onnx.exportModel(f, [x], { opset, params: c.params });
        const [y, dims] = await runOrt(bytes, x);
        const want = f(x);
        assert.deepEqual(dims, want.shape);
        close(y, await want.data(), `${c.name} opset ${opset}`);
      }
      const dyn = await k.onnx.exportModel(f, [x], { dynamicBatch: true });
      for (const shape of [c.x, c.other]) {
        const xb = normal(11, shape);
        const [y, dims] = await runOrt(dyn, xb);
        assert.deepEqual(dims, f(xb).shape);
        close(y, await f(xb).data(), `${c.name} dynamic batch ${shape[0]}`);
      }
    },
  });
}

Deno.test({
  name:
    "onnx: convolutions and pools export as Conv, ConvTranspose, MaxPool and AveragePool nodes and import back",
  ignore: ort === null,
  async fn() {
    const w = normal(20, [6, 2, 3, 2]), w1 = normal(21, [3, 4, 3]);
    const wt = normal(24, [4, 3, 3, 2]), w1t = normal(25, [4, 2, 3]);
    const img = [2, 4, 9, 8];
    const layers: [string, (x: k.Tensor) => k.Tensor, number[]][] = [
      [
        "Conv",
        (x) =>
          k.conv(x, w, { stride: [2, 1], dilation: [1, 2], groups: 2, padding: [[1, 0], [2, 1]] }),
        img,
      ],
      ["MaxPool", (x) => k.maxPool(x, 3, { stride: 1, padding: 1, dilation: [1, 2] }), img],
      ["MaxPool", (x) => k.maxPool(x, 2), img],
      [
        "AveragePool",
        (x) => k.avgPool(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
        img,
      ],
      ["AveragePool", (x) => k.avgPool(x, [2, 3], { stride: 1, padding: [1, 1] }), img],
      ["Conv", (x) => k.conv(x, w1, { padding: "same" }), [2, 4, 9]],
      [
        "ConvTranspose",
        (x) => k.convTranspose(x, wt, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
        img,
      ],
      ["ConvTranspose", (x) => k.convTranspose(x, w1t, { dilation: 2 }), [2, 4, 9]],
    ];
    for (const [op, f, shape] of layers) {
      const x = normal(22, shape);
      const bytes = await k.onnx.exportModel(f, [x], { dynamicBatch: true });
      const types = decodeModel(bytes).graph!.node!.map((n) => n.opType);
      assert.ok(types.includes(op), `${op} expected in ${types}`);
      const m = k.onnx.importModel(bytes);
      for (const b of [2, 3]) {
        const xb = normal(23 + b, [b, ...x.shape.slice(1)]);
        const want = await f(xb).data();
        close((await runOrt(bytes, xb))[0], want, `${op} batch ${b}`);
        close(await (m.fn(m.params, xb) as k.Tensor).data(), want, `${op} imported, batch ${b}`);
      }
    }
  },
});

Deno.test({
  name: "onnx: elementwise, movement, reduction and gather primitives match in ONNX Runtime",
  ignore: ort === null,
  async fn() {
    const ids = k.tensor([[0, 2, -1], [1, 1, 7]], { dtype: "int32" });
    const table = normal(30, [4, 3]);
    const f = (x: k.Tensor) => {
      const a = k.add(k.log1p(k.abs(x)), k.expm1(k.mul(x, 0.1)));
      const b = k.where(k.isfinite(k.rsqrt(x)), k.maximum(x, 0.5), k.minimum(x, -0.5));
      const c = k.add(k.floorDivide(x, 0.7), k.mod(x, 0.7));
      const d = k.astype(k.logicalAnd(k.notEqual(x, 0), k.lessEqual(x, 1)), "float32");
      const e = k.pad(k.flip(k.slice(x, [[1, 3], [0, 4, 2]]), { axis: [0, 1] }), [[1, 0], [0, 2]]);
      const g = k.sum(k.take(table, ids, { axis: 0 }));
      const r = k.add(k.prod(k.tanh(x), { axis: 1 }), k.min(k.sin(x), { axis: 1 }));
      const s = k.add(k.cumsum(x, { axis: 1 }), k.softmax(x, { axis: 0 }));
      return k.concatenate([
        k.reshape(a.add(b).add(c).add(d).add(s), [-1]),
        k.reshape(e, [-1]),
        k.reshape(k.add(r, g), [-1]),
      ]);
    };
    const x = normal(31, [4, 5]);
    for (const opset of [13, 18]) {
      const [y] = await runOrt(await k.onnx.exportModel(f, [x], { opset }), x);
      close(y, await f(x).data(), `opset ${opset}`);
    }
  },
});

Deno.test({
  name: "onnx: a character transformer LM (int32 token ids) exports with a dynamic batch",
  ignore: ort === null,
  async fn() {
    const V = 11, D = 8, T = 6;
    const keys = k.random.split(k.random.key(40), 4);
    const p = {
      embed: k.nn.embedding.init(keys[0], V, D),
      pos: k.nn.positionalEmbedding.init(keys[1], T, D),
      block: k.nn.transformerEncoderLayer.init(keys[2], D, 2, { dimFeedforward: 16 }),
      norm: k.nn.layerNorm.init(D),
      out: k.nn.linear.init(keys[3], D, V),
    };
    await k.realize(...k.tree.leaves(p));
    const f = (x: k.Tensor) => {
      const e = k.nn.embedding.apply(p.embed, x);
      let h = k.nn.positionalEmbedding.apply(p.pos, e, { batchFirst: true });
      h = k.nn.transformerEncoderLayer.apply(p.block, h, { ...block, activation: "gelu" });
      return k.nn.linear.apply(p.out, k.nn.layerNorm.apply(p.norm, h));
    };
    const ids = (b: number) =>
      k.tensor(Array.from({ length: b * T }, (_, i) => (i * 7) % V), {
        dtype: "int32",
        shape: [b, T],
      });
    const bytes = await k.onnx.exportModel(f, [ids(2)], { dynamicBatch: true, params: p });
    const m = k.onnx.importModel(bytes);
    for (const b of [2, 5]) {
      const want = await f(ids(b)).data();
      close((await runOrt(bytes, ids(b)))[0], want, `LM batch ${b}`);
      close(await (k.jit(m.fn)(m.params, ids(b)) as k.Tensor).data(), want, `LM import ${b}`);
    }
  },
});

Deno.test("onnx: export -> import round trip: same outputs, jit, grad and vmap", async () => {
  for (const c of CASES) {
    const f = (x: k.Tensor) => c.f(c.params as never, x);
    const bytes = await k.onnx.exportModel(f, [normal(12, c.x)], {
      dynamicBatch: true,
      params: c.params,
    });
    const m = k.onnx.importModel(bytes);
    const want = await f(normal(13, c.other)).data();
    close(await (m.fn(m.params, normal(13, c.other)) as k.Tensor).data(), want, c.name);
    // Other devices run the compiled form only (the unrolled RNNs are slow on a software GPU).
    for (const device of DEVICES) {
      if (device !== "cpu" && c.name.includes("unrolled")) continue;
      const p = await onDevice(m.params, device);
      const y = k.jit(m.fn)(p, normal(13, c.other, device)) as k.Tensor;
      close(await y.data(), want, `${c.name} jit on ${device}`);
    }
  }
  // grad: the imported MLP's parameters are named by their paths, so gradients line up.
  const c = CASES[0], p0 = c.params as k.nn.MlpParams;
  const x = normal(14, [5, 6]);
  const m = k.onnx.importModel(
    await k.onnx.exportModel((x: k.Tensor) => k.nn.mlp.apply(p0, x), [x], { params: p0 }),
  );
  assert.deepEqual(Object.keys(m.params).sort(), [
    "layers.0.b",
    "layers.0.w",
    "layers.1.b",
    "layers.1.w",
  ]);
  const gi = k.grad((p: Tree) => k.sum(k.mul(m.fn(p, x) as k.Tensor, m.fn(p, x) as k.Tensor)))(
    m.params,
  );
  const go = k.grad((p: k.nn.MlpParams) =>
    k.sum(k.mul(k.nn.mlp.apply(p, x), k.nn.mlp.apply(p, x)))
  )(p0);
  for (const [i, l] of p0.layers.entries()) {
    close(await gi[`layers.${i}.w`].data(), await go.layers[i].w.data(), `grad w${i}`);
    close(await gi[`layers.${i}.b`].data(), await go.layers[i].b.data(), `grad b${i}`);
    void l;
  }
  // vmap over an outer axis: each slice is one batch of the model.
  const xs = normal(15, [3, 5, 6]);
  const ys = k.vmap((xi: k.Tensor) => m.fn(m.params, xi) as k.Tensor)(xs);
  close(await ys.data(), await k.nn.mlp.apply(p0, xs).data(), "vmap");
});

Deno.test("onnx: save writes the model atomically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_onnx_" });
  try {
    const p = CASES[0].params as k.nn.MlpParams;
    const path = `${dir}/mlp.onnx`;
    const x = normal(16, [2, 6]);
    await k.onnx.save(path, (x: k.Tensor) => k.nn.mlp.apply(p, x), [x], {
      inputNames: ["pixels"],
      outputNames: ["logits"],
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["mlp.onnx"]);
    const m = k.onnx.importModel(await Deno.readFile(path));
    assert.deepEqual([m.inputNames, m.outputNames], [["pixels"], ["logits"]]);
    close(await (m.fn(m.params, x) as k.Tensor).data(), await k.nn.mlp.apply(p, x).data(), "save");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const FIX = new URL("./fixtures/", import.meta.url);
const torchOut = JSON.parse(await Deno.readTextFile(new URL("onnx_torch.json", FIX)));

Deno.test("onnx: PyTorch-exported models import with PyTorch's outputs", async () => {
  for (const name of ["cnn", "mlp", "rnn"]) {
    const m = k.onnx.importModel(await Deno.readFile(new URL(`onnx_torch_${name}.onnx`, FIX)));
    const ref = torchOut[name];
    for (const device of DEVICES) {
      const p = await onDevice(m.params, device);
      const x = k.tensor(ref.x, { shape: ref.xShape, device });
      const y = k.jit(m.fn)(p, x) as k.Tensor;
      assert.deepEqual(y.shape, ref.yShape);
      close(await y.data(), ref.y, `torch ${name} on ${device}`);
    }
  }
});

Deno.test("onnx: a PyTorch CNN fine-tunes in Kiln (loss decreases)", async () => {
  const m = k.onnx.importModel(await Deno.readFile(new URL("onnx_torch_cnn.onnx", FIX)));
  const x = normal(17, [8, 1, 12, 12]);
  const y = k.tensor([0, 1, 2, 3, 4, 0, 1, 2], { dtype: "int32" });
  const loss = (p: Tree) => k.nn.softmaxCrossEntropy(m.fn(p, x) as k.Tensor, y);
  const opt = k.optim.adam(0.02);
  const step = k.jit((p: Tree, s: unknown) => {
    const [l, g] = k.valueAndGrad(loss)(p);
    const [u, s2] = opt.update(g, s as never, p);
    return [k.optim.applyUpdates(p, u), s2, l] as const;
  });
  let p = m.params, s: unknown = opt.init(p);
  const losses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const [p2, s2, l] = step(p, s);
    [p, s] = [p2 as Tree, s2];
    losses.push(Number(await (l as k.Tensor).item()));
  }
  assert.ok(
    losses.every((l, i) => i === 0 || l < losses[i - 1]) && losses[7] < 0.9 * losses[0],
    `losses ${losses.map((v) => v.toFixed(4))}`,
  );
});

/** A minimal model around one node. */
function model(node: ModelMsg["graph"]): Uint8Array {
  return encodeModel({ irVersion: 8, opsetImport: [{ version: 17 }], graph: node });
}
const f32 = (name: string, dims: number[]) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

Deno.test("onnx: malformed and unsupported models fail with clear errors", () => {
  throwsWith(() => k.onnx.importModel(new Uint8Array([0x3a, 0x10, 0x01])), [
    "onnx.importModel: not a valid ONNX model",
  ]);
  throwsWith(() => k.onnx.importModel("x" as never), ["onnx.importModel: bytes must be"]);
  const io = { input: [f32("x", [2])], output: [f32("y", [2])] };
  throwsWith(() =>
    k.onnx.importModel(model({
      ...io,
      node: [{ opType: "FancyOp", name: "n7", input: ["x"], output: ["y"] }],
    })), ['onnx.importModel: unsupported operator FancyOp node "n7"']);
  throwsWith(() =>
    k.onnx.importModel(model({
      ...io,
      node: [{ opType: "Relu", name: "r", input: ["nowhere"], output: ["y"] }],
    })), ['Relu node "r" reads "nowhere"']);
  const raw = new Uint8Array(4);
  throwsWith(() =>
    k.onnx.importModel(model({
      ...io,
      initializer: [{ name: "w", dims: [1000, 1000], dataType: 1, rawData: raw }],
      node: [{ opType: "Relu", input: ["x"], output: ["y"] }],
    })), ['initializer "w": raw data has 4 bytes', "needs 4000000"]);
  throwsWith(() =>
    k.onnx.importModel(model({
      ...io,
      initializer: [{ name: "w", dims: [2 ** 20, 2 ** 20], dataType: 1, rawData: raw }],
      node: [{ opType: "Relu", input: ["x"], output: ["y"] }],
    })), ["more than 268435456 elements"]);
  // A shape computed at run time is bounded before Kiln builds it.
  const big = model({
    ...io,
    initializer: [{ name: "s", dims: [3], dataType: 7, int64Data: [1 << 20, 1 << 20, 2] }],
    node: [{ opType: "Expand", name: "e", input: ["x", "s"], output: ["y"] }],
  });
  const m = k.onnx.importModel(big);
  throwsWith(() => m.fn(m.params, k.ones([2])), ['onnx.model: Expand node "e"', "more than"]);
  throwsWith(() => m.fn(m.params, k.ones([3])), ['input "x" must have shape [2], got [3]']);
});

Deno.test("onnx: exportModel rejects bad arguments and graphs it cannot export", async () => {
  const f = (x: k.Tensor) => k.relu(x);
  const x = k.ones([2, 3]);
  await rejectsWith(() => k.onnx.exportModel(f, [x], { opset: 9 }), [
    "onnx.exportModel: opset must be 13 to 21",
  ]);
  await rejectsWith(() => k.onnx.exportModel(f, [x], { inputNames: ["a", "b"] }), [
    "inputNames has 2 names but there are 1 input tensors",
  ]);
  await rejectsWith(() => k.onnx.exportModel(f, x as never), ["exampleArgs must be an array"]);
  await rejectsWith(() => k.onnx.exportModel(f, [x], { dynamic: true } as never), [
    'unknown option "dynamic"',
  ]);
  const branchy = (x: k.Tensor) => k.cond(k.sum(x).greater(0), () => x, () => k.neg(x));
  await rejectsWith(() => k.onnx.exportModel(branchy, [x]), [
    'onnx.exportModel: the primitive "switch" has no ONNX export',
  ]);
  // An index sequence along the batch axis (cumsum's) has no batch-polymorphic form.
  const w = k.random.normal(k.random.key(0), [3]);
  const byBatch = (x: k.Tensor) => k.add(x, k.cumsum(k.broadcastTo(w, x.shape), { axis: 0 }));
  await rejectsWith(() => k.onnx.exportModel(byBatch, [x], { dynamicBatch: true }), [
    "dynamicBatch",
    "iota",
  ]);
});
