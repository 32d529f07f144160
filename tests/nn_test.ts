// k.nn: activations against closed forms written here with Math.* (float64) and against PyTorch
// (fixtures/nn.json, see make_nn_fixtures.py), extreme inputs, gradients (checkGrads and
// PyTorch's autograd), losses against hand computations and PyTorch, label-index vs one-hot
// equivalence, reductions, accuracy, initializer statistics, linear/mlp/dropout.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import {
  allClose,
  assertShape,
  DEVICES,
  hasFloat64,
  rejectsWith,
  rng,
  TOL,
  tolFor,
} from "./_util.ts";

// ------------------------------------------------------------------------ helpers ----

function uniform(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}
const i32 = (data: ArrayLike<number>, shape: number[], device = "cpu") =>
  k.tensor(Int32Array.from(data), { shape, device });
const read = async (t: k.Tensor) => Float64Array.from(await t.data());
const item = async (t: k.Tensor) => Number(await t.item());

/** erf in float64: Taylor series for |x| < 3, the continued fraction of erfc beyond. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; n < 80; n++) {
      term *= -a * a / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
  }
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + (n / 2) / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f));
}
const sigmoidJs = (x: number) => x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
const softplusJs = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

// Fixtures (PyTorch 1.13, float64).
interface FixTensor {
  shape: number[];
  dtype: "float64" | "int32";
  data: number[];
}
interface LossCase {
  name: string;
  kind: "softmaxCrossEntropy" | "sigmoidBinaryCrossEntropy" | "mse" | "hinge";
  opts: Record<string, unknown>;
  inputs: Record<string, FixTensor>;
  output: { shape: number[]; data: number[] };
  grad?: number[];
}
const FIX: {
  activations: { name: string; x: number[]; y: number[]; dydx: number[] }[];
  losses: LossCase[];
} = JSON.parse(await Deno.readTextFile(new URL("./fixtures/nn.json", import.meta.url)));

type Act = (x: k.Tensor) => k.Tensor;
/** Each activation with its float64 closed form and derivative (PyTorch's at kinks). */
const ACTS: Record<string, { f: Act; ref: (x: number) => number; d: (x: number) => number }> = {
  relu: { f: k.nn.relu, ref: (x) => Math.max(x, 0), d: (x) => (x > 0 ? 1 : 0) },
  leakyRelu: {
    f: (x) => k.nn.leakyRelu(x),
    ref: (x) => (x > 0 ? x : 0.01 * x),
    d: (x) => (x > 0 ? 1 : 0.01),
  },
  "leakyRelu(0.2)": {
    f: (x) => k.nn.leakyRelu(x, 0.2),
    ref: (x) => (x > 0 ? x : 0.2 * x),
    d: (x) => (x > 0 ? 1 : 0.2),
  },
  elu: {
    f: (x) => k.nn.elu(x),
    ref: (x) => (x > 0 ? x : Math.expm1(x)),
    d: (x) => (x > 0 ? 1 : Math.exp(x)),
  },
  "elu(0.5)": {
    f: (x) => k.nn.elu(x, 0.5),
    ref: (x) => (x > 0 ? x : 0.5 * Math.expm1(x)),
    d: (x) => (x > 0 ? 1 : 0.5 * Math.exp(x)),
  },
  gelu: {
    f: (x) => k.nn.gelu(x),
    ref: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    d: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI),
  },
  "gelu(tanh)": {
    f: (x) => k.nn.gelu(x, { approximate: true }),
    ref: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    d: (x) => {
      const c = Math.sqrt(2 / Math.PI), u = c * (x + 0.044715 * x ** 3);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
    },
  },
  silu: {
    f: k.nn.silu,
    ref: (x) => x * sigmoidJs(x),
    d: (x) => sigmoidJs(x) * (1 + x * (1 - sigmoidJs(x))),
  },
  softplus: { f: k.nn.softplus, ref: softplusJs, d: sigmoidJs },
  sigmoid: {
    f: k.nn.sigmoid,
    ref: sigmoidJs,
    d: (x) => sigmoidJs(x) * (1 - sigmoidJs(x)),
  },
  tanh: { f: k.nn.tanh, ref: Math.tanh, d: (x) => 1 - Math.tanh(x) ** 2 },
};

const GRID = [-100, -30, -8, -3.5, -2, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 2, 3.5, 8, 30, 100];

for (const device of DEVICES) {
  /** float64 where the device has it (the CPU), else float32 with the device's tolerance. */
  const FD: "float64" | "float32" = hasFloat64(device) ? "float64" : "float32";
  const TIGHT = hasFloat64(device) ? TOL.float64 : tolFor("float32", device);
  const FLOATS: ("float64" | "float32")[] = hasFloat64(device)
    ? ["float64", "float32"]
    : ["float32"];
  const fl = (data: ArrayLike<number>, shape: number[]) =>
    k.tensor(Float64Array.from(data), { shape, dtype: FD, device });

  // ------------------------------------------------------------------ activations ----

  Deno.test(`nn: activations match closed forms and derivatives, float64 and float32 [${device}]`, async () => {
    for (const [name, { f, ref, d }] of Object.entries(ACTS)) {
      for (const dtype of FLOATS) {
        const x = k.tensor(Float64Array.from(GRID), { dtype, device });
        const y = f(x);
        assert.equal(y.dtype, dtype, `${name} keeps ${dtype}`);
        // Closed forms in float64 from the (float32-rounded, if so) inputs.
        const xs = await read(x);
        const f32 = tolFor("float32", device);
        const tol = dtype === "float64"
          ? { rtol: 1e-12, atol: 1e-14 }
          : { rtol: Math.max(2e-6, f32.rtol), atol: Math.max(1e-6, f32.atol) };
        allClose(await read(y), xs.map(ref), tol, `${name} ${dtype}`);
        const g = k.grad((t: k.Tensor) => f(t).sum())(x) as k.Tensor;
        allClose(await read(g), xs.map(d), tol, `${name}' ${dtype}`);
      }
    }
  });

  Deno.test(`nn: activations and their gradients match PyTorch [${device}]`, async () => {
    for (const c of FIX.activations) {
      const { f } = ACTS[c.name];
      const x = fl(c.x, [c.x.length]);
      allClose(await read(f(x)), c.y, TIGHT, c.name);
      const g = k.grad((t: k.Tensor) => f(t).sum())(x) as k.Tensor;
      allClose(await read(g), c.dydx, TIGHT, `${c.name} gradient`);
    }
  });

  Deno.test(`nn: extreme inputs stay finite and exact [${device}]`, async () => {
    for (const dtype of FLOATS) {
      const x = k.tensor([-1e4, -100, 100, 1e4], { dtype, device });
      const sp = await read(k.nn.softplus(x));
      assert.equal(sp[0], 0);
      // e^-100 is a float32 subnormal, which GPUs may flush to 0.
      if (dtype === "float64") assert.ok(Math.abs(sp[1] / Math.exp(-100) - 1) < 1e-12, `${sp[1]}`);
      else assert.ok(sp[1] >= 0 && sp[1] < 1e-37, `softplus(-100) = ${sp[1]}`);
      assert.deepEqual([sp[2], sp[3]], [100, 1e4]);
      for (const name of Object.keys(ACTS)) {
        const { f } = ACTS[name];
        const y = await read(f(x));
        const g = await read(k.grad((t: k.Tensor) => f(t).sum())(x) as k.Tensor);
        assert.ok(y.every(Number.isFinite), `${name}(${dtype}) finite: ${y}`);
        assert.ok(g.every(Number.isFinite), `${name}'(${dtype}) finite: ${g}`);
      }
      // BCE with huge logits: log(1 + e^|x|) ≈ |x| when the target disagrees, 0 when it agrees.
      const logits = k.tensor([1e4, -1e4, 1e4, -1e4, 100], { dtype, device });
      const t = k.tensor([0, 1, 1, 0, 1], { dtype, device });
      const bce = await read(k.nn.sigmoidBinaryCrossEntropy(logits, t, { reduction: "none" }));
      allClose(bce, [1e4, 1e4, 0, 0, Math.exp(-100)], { rtol: 1e-6, atol: 1e-40 }, "bce extremes");
      const gb = await read(
        k.grad((z: k.Tensor) => k.nn.sigmoidBinaryCrossEntropy(z, t, { reduction: "sum" }))(
          logits,
        ) as k.Tensor,
      );
      allClose(gb, [1, -1, 0, 0, 0], { rtol: 1e-6, atol: 1e-30 }, "bce gradient extremes");
      // Cross-entropy with a wide spread of logits.
      const ce = await item(
        k.nn.softmaxCrossEntropy(
          k.tensor([[1000, -1000, 0]], { dtype, device }),
          k.tensor([1], { dtype: "int32", device }),
        ),
      );
      assert.equal(ce, 2000);
    }
  });

  // checkGrads differentiates in float64, which only the CPU has.
  Deno.test({
    name: `nn: activation gradients pass checkGrads (order 2 where smooth) [${device}]`,
    ignore: !hasFloat64(device),
  }, async () => {
    // Values at least 0.05 away from the kinks at 0.
    const vals = uniform(12, 7, -3, 3).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const x = fl(vals, [3, 4]);
    for (const [name, { f }] of Object.entries(ACTS)) {
      const kinked = name.startsWith("relu") || name.startsWith("leaky") || name.startsWith("elu");
      await k.testing.checkGrads(f, [x], { order: kinked ? 1 : 2, atol: 1e-6, rtol: 1e-6 });
    }
  });

  // ----------------------------------------------------------------------- losses ----

  Deno.test(`nn: losses match PyTorch (values and gradients) [${device}]`, async () => {
    for (const c of FIX.losses) {
      const ins = Object.fromEntries(
        Object.entries(c.inputs).map((
          [name, t],
        ) => [
          name,
          t.dtype === "int32" ? i32(t.data, t.shape, device) : fl(t.data, t.shape),
        ]),
      );
      const call = (first: k.Tensor): k.Tensor => {
        const [a, b] = Object.keys(c.inputs);
        const args = { ...ins, [a]: first };
        const fn = k.nn[c.kind] as (x: k.Tensor, y: k.Tensor, o: unknown) => k.Tensor;
        return fn(args[a], args[b], c.opts);
      };
      const first = ins[Object.keys(c.inputs)[0]];
      const out = call(first);
      assertShape(out.shape, c.output.shape, c.name);
      assert.equal(out.dtype, FD, c.name);
      const tol = hasFloat64(device) ? { rtol: 1e-10, atol: 1e-12 } : TIGHT;
      allClose(await read(out), c.output.data, tol, c.name);
      if (c.grad) {
        const g = k.grad(call)(first) as k.Tensor;
        allClose(await read(g), c.grad, tol, `${c.name} gradient`);
      }
    }
  });

  Deno.test(`nn: losses against hand-computed values [${device}]`, async () => {
    const tol = { rtol: 1e-6, atol: 1e-7 };
    // Cross-entropy: log(e^2 + 2) - 2 and log(2 + e^3) - 3.
    const logits = k.tensor([[2, 0, 0], [0, 3, 0]], { device });
    const labels = i32([0, 1], [2], device);
    const l1 = Math.log(Math.exp(2) + 2) - 2, l2 = Math.log(2 + Math.exp(3)) - 3;
    allClose(
      await read(k.nn.softmaxCrossEntropy(logits, labels, { reduction: "none" })),
      [l1, l2],
      tol,
    );
    allClose([await item(k.nn.softmaxCrossEntropy(logits, labels))], [(l1 + l2) / 2], tol);
    allClose([await item(k.nn.softmaxCrossEntropy(logits, labels, { reduction: "sum" }))], [
      l1 + l2,
    ], tol);
    // Soft labels [0.5, 0.5, 0] on the first row: 0.5·(-log p0) + 0.5·(-log p1).
    const lse = Math.log(Math.exp(2) + 2);
    allClose(
      [
        await item(
          k.nn.softmaxCrossEntropy(
            k.tensor([[2, 0, 0]], { device }),
            k.tensor([[0.5, 0.5, 0]], { device }),
          ),
        ),
      ],
      [0.5 * (lse - 2) + 0.5 * lse],
      tol,
    );
    // A -inf logit of a class with zero target adds nothing (no 0·inf NaN).
    allClose(
      [
        await item(
          k.nn.softmaxCrossEntropy(
            k.tensor([[0, 0, -Infinity]], { device }),
            i32([1], [1], device),
          ),
        ),
      ],
      [Math.LN2],
      tol,
    );
    // Multiclass hinge: (max(0, 1-0.8+0.1) + max(0, 1-0.8+0.2) + max(0, 1-0.8+0.4)) / 4.
    const h = k.nn.hinge(k.tensor([[0.1, 0.2, 0.4, 0.8]], { device }), i32([3], [1], device));
    allClose([await item(h)], [(0.3 + 0.4 + 0.6) / 4], tol);
    // A correct class ahead by more than the margin costs nothing.
    allClose([await item(k.nn.hinge(k.tensor([[5, 0, 1]], { device }), i32([0], [1], device)))], [
      0,
    ], tol);
    // BCE at logit 0 is log 2 whatever the target; MSE.
    allClose(
      await read(
        k.nn.sigmoidBinaryCrossEntropy(
          k.zeros([3], { device }),
          k.tensor([0, 0.5, 1], { device }),
          { reduction: "none" },
        ),
      ),
      [Math.LN2, Math.LN2, Math.LN2],
      tol,
    );
    allClose(
      [await item(k.nn.mse(k.tensor([1, 2, 3], { device }), k.tensor([1, 0, 0], { device })))],
      [13 / 3],
      tol,
    );
    allClose(
      [
        await item(
          k.nn.mse(k.tensor([1, 2, 3], { device }), k.tensor([1, 0, 0], { device }), {
            reduction: "sum",
          }),
        ),
      ],
      [13],
      tol,
    );
  });

  Deno.test(`nn: integer labels and one-hot labels give the same loss, gradient, accuracy [${device}]`, async () => {
    const logits = fl(uniform(7 * 5, 3, -4, 4), [7, 5]);
    const labelsJs = [0, 4, 2, 2, 1, 3, 0];
    const labels = i32(labelsJs, [7], device);
    const onehot = k.oneHot(labels, 5, { dtype: FD });
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const labelSmoothing of [0, 0.1]) {
        const a = k.nn.softmaxCrossEntropy(logits, labels, { reduction, labelSmoothing });
        const b = k.nn.softmaxCrossEntropy(logits, onehot, { reduction, labelSmoothing });
        allClose(await read(a), await read(b), TIGHT, `${reduction} ε=${labelSmoothing}`);
      }
    }
    const ga = k.grad((z: k.Tensor) => k.nn.softmaxCrossEntropy(z, labels))(logits) as k.Tensor;
    const gb = k.grad((z: k.Tensor) => k.nn.softmaxCrossEntropy(z, onehot))(logits) as k.Tensor;
    allClose(await read(ga), await read(gb), TIGHT, "gradients");
    // The gradient of the mean is (softmax - onehot) / N.
    const p = await read(k.softmax(logits));
    const want = p.map((v, i) => (v - (labelsJs[Math.floor(i / 5)] === i % 5 ? 1 : 0)) / 7);
    allClose(await read(ga), want, TIGHT, "softmax - onehot");
    assert.equal(
      await item(k.nn.accuracy(logits, labels)),
      await item(k.nn.accuracy(logits, onehot)),
    );
  });

  Deno.test(`nn: reductions: mean and sum over examples, none keeps the batch shape [${device}]`, async () => {
    const logits = fl(uniform(2 * 3 * 4, 11, -2, 2), [2, 3, 4]);
    const labels = i32([0, 1, 2, 3, 0, 1], [2, 3], device);
    const probs = k.softmax(fl(uniform(24, 12), [2, 3, 4]));
    const targets = fl(uniform(24, 13, 0, 1), [2, 3, 4]);
    const cases: [string, (o: { reduction: k.nn.Reduction }) => k.Tensor, number[]][] = [
      ["ce int", (o) => k.nn.softmaxCrossEntropy(logits, labels, o), [2, 3]],
      ["ce probs", (o) => k.nn.softmaxCrossEntropy(logits, probs, o), [2, 3]],
      ["hinge", (o) => k.nn.hinge(logits, labels, o), [2, 3]],
      ["bce", (o) => k.nn.sigmoidBinaryCrossEntropy(logits, targets, o), [2, 3, 4]],
      ["mse", (o) => k.nn.mse(logits, targets, o), [2, 3, 4]],
    ];
    for (const [name, f, shape] of cases) {
      const none = f({ reduction: "none" });
      assertShape(none.shape, shape, name);
      const per = await read(none);
      const s = per.reduce((a, b) => a + b, 0);
      const mean = f({ reduction: "mean" }), sum = f({ reduction: "sum" });
      assertShape(mean.shape, [], name);
      allClose([await item(sum)], [s], TIGHT, `${name} sum`);
      allClose([await item(mean)], [s / per.length], TIGHT, `${name} mean`);
      allClose(
        [await item(f({} as { reduction: k.nn.Reduction }))],
        [s / per.length],
        TIGHT,
        `${name} default`,
      );
    }
    await rejectsWith(
      () => k.nn.mse(logits, targets, { reduction: "avg" as k.nn.Reduction }),
      ['reduction must be "mean", "sum" or "none"', "avg"],
    );
  });

  // checkGrads differentiates in float64, which only the CPU has.
  Deno.test(
    { name: `nn: loss gradients pass checkGrads [${device}]`, ignore: !hasFloat64(device) },
    async () => {
      const logits = fl(uniform(4 * 3, 21, -2, 2), [4, 3]);
      const labels = i32([2, 0, 1, 1], [4], device);
      const probs = k.softmax(fl(uniform(12, 22), [4, 3]));
      const targets = fl(uniform(12, 23, 0, 1), [4, 3]);
      const opts = { atol: 1e-6, rtol: 1e-6 };
      await k.testing.checkGrads((z) => k.nn.softmaxCrossEntropy(z, labels), [logits], {
        order: 2,
        ...opts,
      });
      await k.testing.checkGrads(
        (z, p) => k.nn.softmaxCrossEntropy(z, p, { labelSmoothing: 0.1 }),
        [logits, probs],
        { order: 2, ...opts },
      );
      await k.testing.checkGrads(
        (z, t) => k.nn.sigmoidBinaryCrossEntropy(z, t),
        [logits, targets],
        {
          order: 2,
          ...opts,
        },
      );
      await k.testing.checkGrads(
        (a, b) => k.nn.mse(a, b, { reduction: "sum" }),
        [logits, targets],
        {
          order: 2,
          ...opts,
        },
      );
      await k.testing.checkGrads((z) => k.nn.hinge(z, labels), [logits], opts);
    },
  );

  Deno.test(`nn: accuracy [${device}]`, async () => {
    const logits = k.tensor([[2, 1, 0], [0, 3, 1], [1, 1, 0], [0, 0, 5]], { device });
    // Predictions [0, 1, 0 (tie → first), 2].
    const acc = k.nn.accuracy(logits, i32([0, 1, 1, 0], [4], device));
    assert.equal(acc.dtype, "float32");
    assertShape(acc.shape, []);
    assert.equal(await item(acc), 0.5);
    assert.equal(await item(k.nn.accuracy(logits, i32([0, 1, 0, 2], [4], device))), 1);
    const onehot = k.oneHot(i32([0, 1, 1, 0], [4], device), 3);
    assert.equal(await item(k.nn.accuracy(logits, onehot)), 0.5);
    // Batched [2, 2, 3].
    const l3 = k.reshape(logits, [2, 2, 3]);
    assert.equal(await item(k.nn.accuracy(l3, i32([0, 1, 0, 2], [2, 2], device))), 1);
  });

  Deno.test(`nn: losses reject mismatched labels with clear errors [${device}]`, async () => {
    const logits = k.zeros([4, 3], { device });
    await rejectsWith(() => k.nn.softmaxCrossEntropy(logits, i32([0, 1, 2], [3], device)), [
      "int32 labels must have shape [4]",
      "got [3]",
    ]);
    await rejectsWith(() => k.nn.softmaxCrossEntropy(logits, k.zeros([4, 2], { device })), [
      "must have the logits' shape [4, 3]",
      "got [4, 2]",
    ]);
    await rejectsWith(
      () => k.nn.softmaxCrossEntropy(logits, k.zeros([4], { dtype: "bool", device })),
      [
        "labels must be int32 class indices",
        "bool",
      ],
    );
    await rejectsWith(() => k.nn.hinge(logits, k.zeros([4, 3], { device })), [
      "int32 class indices",
    ]);
    await rejectsWith(() => k.nn.mse(k.zeros([4, 1], { device }), k.zeros([4], { device })), [
      "pred [4, 1] and target [4] must have the same shape",
    ]);
    await rejectsWith(() => k.nn.sigmoidBinaryCrossEntropy(logits, k.zeros([4], { device })), [
      "targets must have the logits' shape [4, 3]",
    ]);
    await rejectsWith(
      () => k.nn.softmaxCrossEntropy(logits, i32([0, 1, 2, 0], [4], device), { labelSmoothing: 2 }),
      ["labelSmoothing must be in [0, 1]"],
    );
  });

  // ----------------------------------------------------------------- initializers ----

  Deno.test(`nn: initializers have the documented distributions [${device}]`, async () => {
    const key = k.random.key(42, { device });
    const shape = [512, 384];
    const [fanIn, fanOut] = [512, 384];
    const n = fanIn * fanOut;
    const cases: [string, k.nn.Initializer, number, "uniform" | "truncated"][] = [
      ["glorotUniform", k.nn.glorotUniform, Math.sqrt(2 / (fanIn + fanOut)), "uniform"],
      ["glorotNormal", k.nn.glorotNormal, Math.sqrt(2 / (fanIn + fanOut)), "truncated"],
      ["heUniform", k.nn.heUniform, Math.sqrt(2 / fanIn), "uniform"],
      ["heNormal", k.nn.heNormal, Math.sqrt(2 / fanIn), "truncated"],
      ["lecunNormal", k.nn.lecunNormal, Math.sqrt(1 / fanIn), "truncated"],
      ["lecunUniform", k.nn.lecunUniform, Math.sqrt(1 / fanIn), "uniform"],
      [
        "varianceScaling normal",
        k.nn.varianceScaling(2, "fanOut", "normal"),
        Math.sqrt(2 / fanOut),
        "truncated",
      ],
    ];
    for (const [name, init, std, kind] of cases) {
      const w = init(key, shape);
      assert.equal(w.dtype, "float32", name);
      assertShape(w.shape, shape, name);
      const v = await read(w);
      let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
      for (const x of v) {
        s += x;
        s2 += x * x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const mean = s / n, sd = Math.sqrt(s2 / n - mean * mean);
      assert.ok(Math.abs(mean) < 5 * std / Math.sqrt(n), `${name}: mean ${mean}`);
      assert.ok(Math.abs(sd / std - 1) < 0.01, `${name}: std ${sd}, expected ${std}`);
      if (kind === "uniform") {
        const limit = std * Math.sqrt(3);
        assert.ok(lo >= -limit && hi < limit, `${name}: range [${lo}, ${hi}] vs ±${limit}`);
        assert.ok(hi > 0.999 * limit && lo < -0.999 * limit, `${name}: fills ±${limit}`);
      } else if (!name.startsWith("variance")) {
        const limit = 2 * std / 0.87962566103423978;
        assert.ok(lo > -limit && hi < limit, `${name}: truncated to ±${limit}, got [${lo}, ${hi}]`);
        assert.ok(hi > 0.99 * limit, `${name}: reaches the truncation`);
      } else {
        assert.ok(hi > 4 * std, `${name}: a plain normal has tails (max ${hi / std}σ)`);
      }
    }
    // Determinism by key; float64.
    const a = await read(k.nn.heNormal(key, [16, 8]));
    const b = await read(k.nn.heNormal(k.random.key(42, { device }), [16, 8]));
    const c = await read(k.nn.heNormal(k.random.key(43, { device }), [16, 8]));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    if (hasFloat64(device)) {
      assert.equal(k.nn.glorotUniform(key, [3, 4], "float64").dtype, "float64");
    }
    // Fans (JAX's convention) and constants.
    assert.deepEqual(k.nn.computeFans([3, 3, 16, 32]), [144, 288]);
    assert.deepEqual(k.nn.computeFans([7]), [7, 7]);
    assert.deepEqual(k.nn.computeFans([]), [1, 1]);
    const conv = await read(k.nn.heUniform(key, [3, 3, 16, 32]));
    const limit = Math.sqrt(6 / 144);
    assert.ok(
      conv.every((x) => Math.abs(x) < limit) && conv.some((x) => Math.abs(x) > 0.9 * limit),
    );
    assert.deepEqual(Array.from(await read(k.nn.zeros(key, [2, 2]))), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(await read(k.nn.ones(key, [3], FD))), [1, 1, 1]);
    assert.deepEqual(Array.from(await read(k.nn.constant(0.5)(key, [2]))), [0.5, 0.5]);
    await rejectsWith(() => k.nn.glorotUniform(key, [2, 2], "int32" as "float32"), [
      'dtype must be "float16", "float32" or "float64"',
    ]);
  });

  Deno.test(`nn: orthogonal gives orthonormal rows or columns, deterministic by key [${device}]`, async () => {
    const key = k.random.key(7, { device });
    if (device !== "cpu") {
      // The QR runs on the host, which reads the key's draws synchronously: CPU keys only.
      await rejectsWith(() => k.nn.orthogonal(key, [4, 4]), ["needs a key on the cpu device"]);
      return;
    }
    const gram = async (q: k.Tensor, rowsOrthonormal: boolean, tol: number) => {
      const m = rowsOrthonormal ? k.matmul(q, q.T) : k.matmul(q.T, q);
      const n = m.shape[0];
      const want = Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));
      allClose(await read(m), want, { rtol: 0, atol: tol }, `gram ${q.shape}`);
    };
    await gram(k.nn.orthogonal(key, [64, 64], "float64"), false, 1e-12);
    await gram(k.nn.orthogonal(key, [64, 64]), true, 1e-5);
    await gram(k.nn.orthogonal(key, [30, 50], "float64"), true, 1e-12);
    await gram(k.nn.orthogonal(key, [50, 30], "float64"), false, 1e-12);
    const q3 = k.nn.orthogonal(key, [4, 5, 6], "float64");
    assertShape(q3.shape, [4, 5, 6]);
    await gram(k.reshape(q3, [20, 6]), false, 1e-12);
    const a = await read(k.nn.orthogonal(key, [8, 8]));
    assert.deepEqual(a, await read(k.nn.orthogonal(k.random.key(7, { device }), [8, 8])));
    assert.notDeepEqual(a, await read(k.nn.orthogonal(k.random.key(8, { device }), [8, 8])));
    // Haar: the entries of a large orthogonal matrix have variance 1/n.
    const big = await read(k.nn.orthogonal(key, [200, 200], "float64"));
    const v = big.reduce((s, x) => s + x * x, 0) / big.length;
    allClose([v], [1 / 200], { rtol: 1e-10, atol: 0 });
    await rejectsWith(() => k.nn.orthogonal(key, [5]), ["at least 2 axes"]);
  });

  // ---------------------------------------------------------------- linear / mlp ----

  Deno.test(`nn: linear init (PyTorch default) and forward against a hand matmul [${device}]`, async () => {
    const key = k.random.key(0, { device });
    const p = k.nn.linear.init(key, 3, 5);
    assertShape(p.w.shape, [3, 5]);
    assertShape(p.b.shape, [5]);
    assert.equal(p.w.dtype, "float32");
    const bound = 1 / Math.sqrt(3);
    for (const v of [...await read(p.w), ...await read(p.b)]) assert.ok(Math.abs(v) < bound);
    const big = k.nn.linear.init(key, 400, 300);
    const wv = await read(big.w);
    assert.ok(Math.max(...wv) > 0.99 / 20 && Math.min(...wv) < -0.99 / 20, "U(±1/√400)");
    // Forward in float64 against a plain-JS matmul, with a batch of [2, 4].
    const p64 = k.nn.linear.init(key, 3, 5, { dtype: FD });
    assert.equal(p64.w.dtype, FD);
    const [w, b] = [await read(p64.w), await read(p64.b)];
    const xv = uniform(2 * 4 * 3, 5);
    const y = k.nn.linear.apply(p64, fl(xv, [2, 4, 3]));
    assertShape(y.shape, [2, 4, 5]);
    const want: number[] = [];
    for (let r = 0; r < 8; r++) {
      for (let j = 0; j < 5; j++) {
        let s = b[j];
        for (let i = 0; i < 3; i++) s += xv[r * 3 + i] * w[i * 5 + j];
        want.push(s);
      }
    }
    allClose(await read(y), want, TIGHT, "linear forward");
    const y1 = k.nn.linear.apply(p64, fl(xv.slice(0, 3), [3]));
    assertShape(y1.shape, [5]);
    allClose(await read(y1), want.slice(0, 5), TIGHT, "1-D input");
    // Custom initializers (Flax's choice).
    const flax = k.nn.linear.init(key, 4, 2, { wInit: k.nn.lecunNormal, bInit: k.nn.zeros });
    assert.deepEqual(Array.from(await read(flax.b)), [0, 0]);
    await rejectsWith(() => k.nn.linear.apply(p, k.zeros([2, 4], { device })), [
      "x must have shape [..., 3]",
      "w [3, 5]",
      "got [2, 4]",
    ]);
  });

  Deno.test(`nn: mlp shapes, forward against a hand computation, activation option [${device}]`, async () => {
    const key = k.random.key(1, { device });
    const params = k.nn.mlp.init(key, [4, 8, 6, 3], { dtype: FD });
    assert.equal(params.layers.length, 3);
    assert.deepEqual(params.layers.map((l) => l.w.shape), [[4, 8], [8, 6], [6, 3]]);
    assert.deepEqual(params.layers.map((l) => l.b.shape), [[8], [6], [3]]);
    // Each layer has its own key.
    const w0 = await read(params.layers[1].w), w1 = await read(params.layers[2].w);
    assert.notDeepEqual(Array.from(w0.slice(0, 18)), Array.from(w1.slice(0, 18)));
    const xv = uniform(5 * 4, 9, -2, 2);
    const x = fl(xv, [5, 4]);
    const layers = await Promise.all(
      params.layers.map(async (l) => ({ w: await read(l.w), b: await read(l.b), n: l.w.shape })),
    );
    const hand = (act: (v: number) => number) => {
      let h = Array.from({ length: 5 }, (_, r) => Array.from(xv.slice(r * 4, r * 4 + 4)));
      layers.forEach(({ w, b, n: [nin, nout] }, li) => {
        h = h.map((row) =>
          Array.from({ length: nout }, (_, j) => {
            let s = b[j];
            for (let i = 0; i < nin; i++) s += row[i] * w[i * nout + j];
            return li < layers.length - 1 ? act(s) : s;
          })
        );
      });
      return h.flat();
    };
    const y = k.nn.mlp.apply(params, x);
    assertShape(y.shape, [5, 3]);
    allClose(await read(y), hand((v) => Math.max(v, 0)), TIGHT, "relu mlp");
    const yt = k.nn.mlp.apply(params, x, { activation: k.nn.tanh });
    allClose(await read(yt), hand(Math.tanh), TIGHT, "tanh mlp");
    // Gradients come back in the params' structure.
    const g = k.grad((p: k.nn.MlpParams) => k.nn.mlp.apply(p, x).sum())(params) as k.nn.MlpParams;
    assert.deepEqual(g.layers.map((l) => l.w.shape), [[4, 8], [8, 6], [6, 3]]);
    await rejectsWith(() => k.nn.mlp.init(key, [4]), ["at least an input and an output size"]);
  });

  Deno.test(`nn: an mlp trained with plain SGD separates a synthetic dataset [${device}]`, async () => {
    // Two Gaussian blobs in 2-D, 64 points, labels 0/1.
    const r = rng(99);
    const xs: number[] = [], ys: number[] = [];
    for (let i = 0; i < 64; i++) {
      const c = i % 2;
      xs.push((c ? 2 : -2) + r() - 0.5, (c ? -1 : 1) + r() - 0.5);
      ys.push(c);
    }
    const x = k.tensor(Float32Array.from(xs), { shape: [64, 2], device });
    const y = i32(ys, [64], device);
    let params = k.nn.mlp.init(k.random.key(3, { device }), [2, 16, 2]);
    const loss = (p: k.nn.MlpParams) => k.nn.softmaxCrossEntropy(k.nn.mlp.apply(p, x), y);
    const step = k.valueAndGrad(loss);
    let first = NaN, last = NaN;
    for (let i = 0; i < 30; i++) {
      const [l, g] = step(params) as [k.Tensor, k.nn.MlpParams];
      params = k.tree.map(
        (p: k.Tensor, d: k.Tensor) => p.sub(d.mul(0.5)),
        params,
        g,
      ) as k.nn.MlpParams;
      await k.realize(...k.tree.leaves(params));
      if (i === 0) first = await item(l);
      last = await item(l);
    }
    assert.ok(last < first / 4, `loss ${first} -> ${last}`);
    assert.equal(await item(k.nn.accuracy(k.nn.mlp.apply(params, x), y)), 1);
  });

  Deno.test(`nn: dropout [${device}]`, async () => {
    const key = k.random.key(5, { device });
    const x = k.ones([100, 100], { device });
    const v = await read(k.nn.dropout(key, x, 0.25));
    assert.ok(v.every((e) => e === 0 || Math.abs(e - 4 / 3) < 1e-6), "entries 0 or 1/(1-rate)");
    const kept = v.filter((e) => e !== 0).length / v.length;
    assert.ok(Math.abs(kept - 0.75) < 0.02, `kept ${kept}`);
    assert.deepEqual(v, await read(k.nn.dropout(k.random.key(5, { device }), x, 0.25)));
    assert.equal(k.nn.dropout(key, x, 0.25, { deterministic: true }), x);
    assert.equal(k.nn.dropout(key, x, 0), x);
    assert.ok((await read(k.nn.dropout(key, x, 1))).every((e) => e === 0));
    await rejectsWith(() => k.nn.dropout(key, x, 1.5), ["rate must be in [0, 1]"]);
  });
}

// Regression: the stable softplus max(x, 0) + log1p(e^-|x|) has kinks at 0 whose second
// derivatives vanish, so its Hessian at 0 came out 0 instead of σ'(0) = 1/4 and Newton's method
// on logistic regression started from w = 0 did not move.
Deno.test("nn: softplus and sigmoidBinaryCrossEntropy have exact second derivatives at 0", async () => {
  const z = k.tensor([0], { dtype: "float64", device: "cpu" });
  const y = k.tensor([1], { dtype: "float64", device: "cpu" });
  const loss = (z: k.Tensor) => k.nn.sigmoidBinaryCrossEntropy(z, y).sum();
  assert.deepStrictEqual(await k.grad(loss)(z).toArray(), [-0.5]);
  assert.deepStrictEqual(await k.hessian(loss)(z).toArray(), [[0.25]]);
  const at = k.tensor([0, 0.7, -3, 40], { dtype: "float64", device: "cpu" });
  await k.testing.checkGrads((x: k.Tensor) => k.nn.softplus(x), [at], { order: 2 });
});
