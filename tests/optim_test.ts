/**
 * `k.optim`: every optimizer against `torch.optim` (the first 3 steps on a small least-squares
 * problem, values from `fixtures/optim.json`, written by `make_optim_fixtures.py`), once in
 * float64 (tight) and once in float32; the transformations (clipping, weight decay, chain,
 * applyUpdates); schedules against closed forms written here; the state as a pytree of tensors
 * whose structure `update` keeps; `update` as pure tensor code (no reads, differentiable).
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import { allClose, DEVICES, EXACT, hasFloat64, throwsWith, TOL, type Tol } from "./_util.ts";

type Nested = number | Nested[];
interface Case {
  name: string;
  optimizer: "sgd" | "adagrad" | "rmsprop" | "adam" | "adamw";
  lr: number;
  // deno-lint-ignore no-explicit-any
  options: Record<string, any>;
  // deno-lint-ignore no-explicit-any
  schedule: ({ kind: string } & Record<string, any>) | null;
  steps: { w: Nested; b: Nested }[];
}
interface Fixture {
  x: Nested;
  y: Nested;
  w: Nested;
  b: Nested;
  cases: Case[];
}

const FIX: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/optim.json", import.meta.url)),
);

const flat = (v: Nested): number[] => Array.isArray(v) ? v.flatMap(flat) : [v];
const shapeOf = (v: Nested): number[] => Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
const fromNested = (v: Nested, dtype: DType, device: string): Tensor =>
  k.tensor((dtype === "float64" ? Float64Array : Float32Array).from(flat(v)), {
    shape: shapeOf(v),
    device,
  });
const read = async (t: unknown): Promise<number[]> => Array.from(await (t as Tensor).data());
const T = (t: unknown) => t as Tensor;

// deno-lint-ignore no-explicit-any
const OPTIMIZERS: Record<Case["optimizer"], (lr: k.optim.LearningRate, o: any) => any> = {
  sgd: k.optim.sgd,
  adagrad: k.optim.adagrad,
  rmsprop: k.optim.rmsprop,
  adam: k.optim.adam,
  adamw: k.optim.adamw,
};
// deno-lint-ignore no-explicit-any
const SCHEDULES: Record<string, (o: any) => k.optim.Schedule> = {
  exponentialDecay: k.optim.exponentialDecay,
  piecewiseConstant: k.optim.piecewiseConstant,
  cosineDecay: k.optim.cosineDecay,
};

function makeOptimizer(c: Case): k.optim.GradientTransformation {
  // The fixture's `kind` names the schedule; the rest are its options (unknown names throw).
  const { kind, ...scheduleOpts } = c.schedule ?? { kind: "" };
  const lr = c.schedule ? SCHEDULES[kind](scheduleOpts) : c.lr;
  return OPTIMIZERS[c.optimizer](lr, c.options);
}

/** Kiln's parameters vs torch's after each step: float64 agrees to rounding, float32 to 1e-6. */
const FIX_TOL: Record<"float64" | "float32", Tol> = {
  float64: { rtol: 1e-12, atol: 1e-12 },
  float32: { rtol: 1e-6, atol: 1e-6 },
};

interface Problem {
  params: { w: Tensor; b: Tensor };
  loss: (p: { w: Tensor; b: Tensor }) => Tensor;
}
function problem(dtype: DType, device: string): Problem {
  const x = fromNested(FIX.x, dtype, device), y = fromNested(FIX.y, dtype, device);
  return {
    params: { w: fromNested(FIX.w, dtype, device), b: fromNested(FIX.b, dtype, device) },
    loss: (p) => x.matmul(p.w).add(p.b).sub(y).pow(2).sum(),
  };
}

/** A structure-and-dtype signature of a state, to compare before and after updates. */
function signature(state: k.optim.OptState): string {
  const [leaves, def] = k.tree.flatten(state);
  return `${k.tree.formatDef(def)} ${leaves.map((l) => `${l.dtype}[${l.shape}]`).join(" ")}`;
}

for (const device of DEVICES) {
  // ------------------------------------------------------------- against torch.optim ----

  for (const dtype of hasFloat64(device) ? ["float64", "float32"] as const : ["float32"] as const) {
    Deno.test(`optim: ${FIX.cases.length} optimizer cases match torch.optim, 3 steps [${dtype}, ${device}]`, async () => {
      for (const c of FIX.cases) {
        const { params: p0, loss } = problem(dtype, device);
        const opt = makeOptimizer(c);
        let params = p0;
        let state = opt.init(params);
        const sig = signature(state);
        for (let s = 0; s < c.steps.length; s++) {
          const grads = k.grad(loss)(params);
          let updates: k.optim.Params;
          [updates, state] = opt.update(grads, state, params);
          params = k.optim.applyUpdates(params, updates);
          assert.equal(signature(state), sig, `${c.name}: state structure changed at step ${s}`);
          await k.realize(params.w, params.b, ...k.tree.leaves(state));
          for (const key of ["w", "b"] as const) {
            assert.equal(params[key].dtype, dtype);
            allClose(
              await read(params[key]),
              flat(c.steps[s][key]),
              FIX_TOL[dtype],
              `${c.name}, ${key} after step ${s + 1}`,
            );
          }
        }
      }
    });
  }

  Deno.test(`optim: fixtures exercise every optimizer and option [${device}]`, () => {
    const seen = new Set(FIX.cases.flatMap((c) => [c.optimizer, ...Object.keys(c.options)]));
    for (
      const name of [
        "sgd",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "momentum",
        "dampening",
        "nesterov",
        "weightDecay",
        "initialAccumulatorValue",
        "lrDecay",
        "eps",
        "decay",
        "centered",
        "b1",
        "b2",
        "amsgrad",
      ]
    ) assert.ok(seen.has(name), `no fixture case uses ${name}`);
  });

  // ------------------------------------------------------------------ the state ----

  Deno.test(`optim: the state is a pytree of tensors with an int32 step count [${device}]`, async () => {
    const params = { w: k.ones([2, 2], { device }), b: [k.zeros([2], { device })] };
    const opt = k.optim.adam(0.1);
    let state = opt.init(params);
    const leaves = k.tree.leaves(state);
    assert.ok(leaves.length > 0 && leaves.every((l) => l instanceof k.Tensor));
    const count = () => T((T(state) as unknown as { count: Tensor }[])[0].count);
    assert.equal(count().dtype, "int32");
    assert.deepEqual(count().shape, []);
    assert.equal(await count().item(), 0);
    // Two steps with the state threaded through; grads are a fresh tree of the same structure.
    let p = params;
    for (let i = 0; i < 2; i++) {
      const grads = { w: k.full([2, 2], 0.5, { device }), b: [k.full([2], -1, { device })] };
      let updates;
      [updates, state] = opt.update(grads, state, p);
      p = k.optim.applyUpdates(p, updates);
    }
    assert.equal(await count().item(), 2);
    // Adam's first steps move each coordinate by about lr against the gradient's sign.
    allClose(await read(p.w), [0.8, 0.8, 0.8, 0.8], { rtol: 1e-6, atol: 1e-6 });
    allClose(await read(p.b[0]), [0.2, 0.2], { rtol: 1e-6, atol: 1e-6 });
    // k.tree functions apply to the state: e.g. a copy cast to float64.
    const copy = k.tree.map((l: Tensor) => l.astype("float64"), state);
    assert.equal(k.tree.leaves(copy).length, k.tree.leaves(state).length);
  });

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: every optimizer keeps its state structure and the leaves' dtypes [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      const params = {
        w: k.ones([3], { dtype: "float64", device }),
        h: k.ones([2], { dtype: "float32", device }),
      };
      const grads = {
        w: k.tensor(Float64Array.from([0.1, -0.2, 0.3]), { device }),
        h: k.tensor([0.5, -0.5], { device }),
      };
      const sched = k.optim.cosineDecay({ init: 0.1, decaySteps: 10 });
      const opts: k.optim.GradientTransformation[] = [
        k.optim.sgd(0.1),
        k.optim.sgd(sched, { momentum: 0.9, dampening: 0.1, weightDecay: 0.1 }),
        k.optim.adagrad(sched, { lrDecay: 0.1, weightDecay: 0.1 }),
        k.optim.rmsprop(0.1, { centered: true, momentum: 0.5, weightDecay: 0.1 }),
        k.optim.adam(sched, { amsgrad: true, weightDecay: 0.1 }),
        k.optim.adamw(0.1),
        k.optim.chain(k.optim.clipByGlobalNorm(0.1), k.optim.adamw(sched)),
      ];
      for (const opt of opts) {
        let state = opt.init(params);
        const sig = signature(state);
        let p = params;
        for (let i = 0; i < 2; i++) {
          let u: k.optim.Params;
          [u, state] = opt.update(grads, state, p);
          const upd = u as typeof params;
          assert.equal(upd.w.dtype, "float64");
          assert.equal(upd.h.dtype, "float32");
          p = k.optim.applyUpdates(p, u);
          assert.equal(signature(state), sig);
        }
        for (const v of [...await read(p.w), ...await read(p.h)]) assert.ok(Number.isFinite(v));
      }
    },
  });

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: update is pure tensor code: no reads, and differentiable [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      const { params, loss } = problem("float64", device);
      const grads = k.grad(loss)(params);
      const opts = [
        k.optim.adam(0.1, { amsgrad: true }),
        k.optim.rmsprop(0.01, { centered: true, momentum: 0.9 }),
        k.optim.sgd(k.optim.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 2 }), {
          momentum: 0.9,
          dampening: 0.2,
          weightDecay: 0.1,
        }),
        k.optim.adagrad(0.1, { lrDecay: 0.1 }),
        k.optim.chain(k.optim.clipByGlobalNorm(1), k.optim.adamw(0.1)),
      ];
      // One realized step first, so the state is not all zeros.
      const states = opts.map((o) => o.update(grads, o.init(params), params)[1]);
      await k.realize(...k.tree.leaves(states));
      // No value may be read back while `update` runs (it must work on traced tensors).
      const proto = k.Tensor.prototype as unknown as Record<string, unknown>;
      const saved = ["data", "dataSync", "item", "toArray"].map((m) => [m, proto[m]] as const);
      for (const [m] of saved) {
        proto[m] = () => {
          throw new Error(`update read a value back (${m})`);
        };
      }
      try {
        opts.forEach((o, i) => o.update(grads, states[i], params));
      } finally {
        for (const [m, f] of saved) proto[m] = f;
      }
      // d updates / d grads through the whole step, against central differences.
      for (const [i, o] of opts.entries()) {
        await k.testing.checkGrads(
          (gw, gb) => o.update({ w: gw, b: gb }, states[i], params)[0],
          [grads.w, grads.b],
          { rtol: 1e-6, atol: 1e-7 },
        );
      }
    },
  });

  // ---------------------------------------------------------- the transformations ----

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: clipByGlobalNorm above and below the threshold [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      const u = { a: k.tensor([3, 4], { device }), b: [k.tensor([12], { device })] }; // norm 13
      assert.equal(await k.optim.globalNorm(u).item(), 13);
      const below = k.optim.clipByGlobalNorm(13.5);
      const [same] = below.update(u, below.init(u));
      const s = same as typeof u;
      assert.deepEqual(await read(s.a), [3, 4]);
      assert.deepEqual(await read(s.b[0]), [12]);
      const above = k.optim.clipByGlobalNorm(6.5);
      const [half] = above.update(u, above.init(u));
      const h = half as typeof u;
      allClose(await read(h.a), [1.5, 2], TOL.float32);
      allClose(await read(h.b[0]), [6], TOL.float32);
      allClose([await k.optim.globalNorm(half).item() as number], [6.5], TOL.float32);
      // Mixed dtypes: the norm covers all leaves; each leaf keeps its dtype.
      const mixed = {
        a: k.tensor([3, 4], { dtype: "float64", device }),
        b: k.tensor([12], { device }),
      };
      const [m] = above.update(mixed, above.init(mixed));
      const mm = m as typeof mixed;
      assert.equal(mm.a.dtype, "float64");
      assert.equal(mm.b.dtype, "float32");
      allClose(await read(mm.a), [1.5, 2], TOL.float64);
      // Zero updates stay zero (no 0/0).
      const z = { a: k.zeros([3], { device }) };
      assert.deepEqual(await read((above.update(z, {})[0] as typeof z).a), [0, 0, 0]);
      throwsWith(() => k.optim.clipByGlobalNorm(0), ["clipByGlobalNorm", "maxNorm"]);
    },
  });

  Deno.test(`optim: addDecayedWeights adds weightDecay * params [${device}]`, async () => {
    const p = { w: k.tensor([1, -2, 4], { device }) };
    const g = { w: k.tensor([0.5, 0.5, 0.5], { device }) };
    const t = k.optim.addDecayedWeights(0.25);
    const [u] = t.update(g, t.init(p), p);
    assert.deepEqual(await read((u as typeof p).w), [0.75, 0, 1.5]);
    throwsWith(() => t.update(g, t.init(p)), ["addDecayedWeights", "params"]);
    // sgd's L2 weight decay is this transformation before the learning rate.
    const [v] = k.optim.sgd(0.5, { weightDecay: 0.25 }).update(g, [{}, {}], p);
    allClose(await read((v as typeof p).w), [-0.375, 0, -0.75], EXACT);
  });

  Deno.test(`optim: chain applies transformations in order [${device}]`, async () => {
    const g = { a: k.tensor([3, 4], { device }) };
    const clipThenScale = k.optim.chain(k.optim.clipByGlobalNorm(1), k.optim.scale(2));
    const scaleThenClip = k.optim.chain(k.optim.scale(2), k.optim.clipByGlobalNorm(1));
    const s1 = clipThenScale.init(g);
    assert.ok(Array.isArray(s1) && s1.length === 2);
    const [u1] = clipThenScale.update(g, s1);
    const [u2] = scaleThenClip.update(g, scaleThenClip.init(g));
    allClose(await read((u1 as typeof g).a), [1.2, 1.6], TOL.float32);
    allClose(await read((u2 as typeof g).a), [0.6, 0.8], TOL.float32);
    // adam == chain(scaleByAdam, scaleByLearningRate), and the latter negates.
    const a = k.optim.adam(0.1),
      b = k.optim.chain(
        k.optim.scaleByAdam(),
        k.optim.scaleByLearningRate(0.1),
      );
    const [ua] = a.update(g, a.init(g));
    const [ub] = b.update(g, b.init(g));
    assert.deepEqual(await read((ua as typeof g).a), await read((ub as typeof g).a));
    allClose(await read((ua as typeof g).a), [-0.1, -0.1], TOL.float32);
    // Nested chains and identity.
    const nested = k.optim.chain(k.optim.identity(), k.optim.chain(k.optim.scale(3)));
    const [u3] = nested.update(g, nested.init(g));
    assert.deepEqual(await read((u3 as typeof g).a), [9, 12]);
    throwsWith(() => clipThenScale.update(g, [{}]), ["chain", "2 transformations", "1 entries"]);
  });

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: applyUpdates adds and keeps each parameter's dtype [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      const params = {
        f32: k.tensor([1, 2], { device }),
        f64: k.tensor(Float64Array.from([1, 2]), { device }),
        i32: k.tensor([5, 6], { dtype: "int32", device }),
      };
      const updates = {
        f32: k.tensor(Float64Array.from([0.1, 0.2]), { device }),
        f64: k.tensor([0.5, 0.25], { device }),
        i32: k.tensor([1.75, -1.75], { device }),
      };
      const out = k.optim.applyUpdates(params, updates);
      assert.equal(out.f32.dtype, "float32");
      assert.equal(out.f64.dtype, "float64");
      assert.equal(out.i32.dtype, "int32");
      assert.deepEqual(await read(out.f32), [Math.fround(1.1), Math.fround(2.2)]);
      assert.deepEqual(await read(out.f64), [1.5, 2.25]);
      assert.deepEqual(await read(out.i32), [6, 4]);
      throwsWith(
        () => k.optim.applyUpdates(params, { f32: updates.f32, f64: updates.f64 }),
        ["structure"],
      );
    },
  });

  Deno.test(`optim: traceMomentum, scaleBySchedule and torch's first momentum step [${device}]`, async () => {
    const g = { a: k.tensor([1, 2], { device }) };
    // torch SGD: buffer = g at the first step, then momentum b + (1 - dampening) g.
    const t = k.optim.traceMomentum({ momentum: 0.5, dampening: 0.5 });
    let s = t.init(g);
    const outs: number[][] = [];
    for (let i = 0; i < 3; i++) {
      let u;
      [u, s] = t.update(g, s);
      outs.push(await read((u as typeof g).a));
    }
    assert.deepEqual(outs, [[1, 2], [1, 2], [1, 2]]);
    const n = k.optim.traceMomentum({ momentum: 0.5, nesterov: true });
    let ns = n.init(g);
    let nu;
    [nu, ns] = n.update(g, ns);
    assert.deepEqual(await read((nu as typeof g).a), [1.5, 3]); // g + 0.5 * g
    [nu, ns] = n.update(g, ns);
    assert.deepEqual(await read((nu as typeof g).a), [1.75, 3.5]); // g + 0.5 * 1.5 g
    // scaleBySchedule: the first update uses schedule(0).
    const sb = k.optim.scaleBySchedule(
      k.optim.piecewiseConstant({ init: 1, boundariesAndScales: { 1: 10, 2: 10 } }),
    );
    let ss = sb.init(g);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      let u;
      [u, ss] = sb.update(g, ss);
      got.push((await read((u as typeof g).a))[0]);
    }
    assert.deepEqual(got, [1, 10, 100]);
  });

  Deno.test(`optim: option checks and helpful errors [${device}]`, () => {
    const g = { a: k.tensor([1, 2], { device }) };
    throwsWith(() => k.optim.sgd(0.1, { nesterov: true }), ["sgd", "Nesterov"]);
    throwsWith(
      () => k.optim.sgd(0.1, { nesterov: true, momentum: 0.9, dampening: 0.1 }),
      ["sgd", "Nesterov"],
    );
    throwsWith(() => k.optim.adam(-1), ["adam", "learning rate"]);
    throwsWith(() => k.optim.adam(0.1, { b1: 1 }), ["b1"]);
    throwsWith(() => k.optim.rmsprop(0.1, { momentum: -1 }), ["rmsprop", "momentum"]);
    throwsWith(() => k.optim.adagrad(0.1, { lrDecay: -1 }), ["adagrad", "lrDecay"]);
    throwsWith(() => k.optim.scaleByAdam().update(g, {}), ["scaleByAdam", '"count"']);
    throwsWith(() => k.optim.scale(2).update({ a: 1 } as never, {}), ["scale", "Tensors"]);
  });

  // ----------------------------------------------------------------- schedules ----

  const STEPS = [0, 1, 2, 3, 5, 7, 10, 15, 100];
  const cosF = (t: number, n: number) => 0.5 * (1 + Math.cos(Math.PI * Math.min(t, n) / n));
  const SCHEDULE_CASES: [string, k.optim.Schedule, (t: number) => number][] = [
    ["constant", k.optim.constant(0.3), () => 0.3],
    [
      "linearSchedule",
      k.optim.linearSchedule({ init: 1, end: 0.2, transitionSteps: 8, transitionBegin: 2 }),
      (t) => 1 + (0.2 - 1) * Math.min(Math.max(t - 2, 0), 8) / 8,
    ],
    [
      "exponentialDecay",
      k.optim.exponentialDecay({ init: 0.5, decayRate: 0.1, transitionSteps: 4 }),
      (t) => 0.5 * 0.1 ** (t / 4),
    ],
    [
      "exponentialDecay staircase begin",
      k.optim.exponentialDecay({
        init: 2,
        decayRate: 0.5,
        transitionSteps: 3,
        transitionBegin: 1,
        staircase: true,
      }),
      (t) => t <= 1 ? 2 : 2 * 0.5 ** Math.floor((t - 1) / 3),
    ],
    [
      "exponentialDecay endValue lower bound",
      k.optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 1, endValue: 0.1 }),
      (t) => Math.max(0.5 ** t, 0.1),
    ],
    [
      "exponentialDecay endValue upper bound",
      k.optim.exponentialDecay({ init: 1, decayRate: 2, transitionSteps: 5, endValue: 3 }),
      (t) => Math.min(2 ** (t / 5), 3),
    ],
    [
      "cosineDecay",
      k.optim.cosineDecay({ init: 0.1, decaySteps: 10 }),
      (t) => 0.1 * cosF(t, 10),
    ],
    [
      "cosineDecay alpha exponent",
      k.optim.cosineDecay({ init: 2, decaySteps: 7, alpha: 0.25, exponent: 2 }),
      (t) => 2 * (0.75 * cosF(t, 7) ** 2 + 0.25),
    ],
    [
      "warmupCosineDecay",
      k.optim.warmupCosineDecay({ init: 0.01, peak: 1, warmupSteps: 3, decaySteps: 13, end: 0.1 }),
      (t) => t < 3 ? 0.01 + (1 - 0.01) * t / 3 : 0.1 + (1 - 0.1) * cosF(t - 3, 10),
    ],
    [
      "piecewiseConstant",
      k.optim.piecewiseConstant({ init: 0.1, boundariesAndScales: { 7: 0.1, 3: 0.5 } }),
      (t) => 0.1 * (t >= 3 ? 0.5 : 1) * (t >= 7 ? 0.1 : 1),
    ],
    [
      "piecewiseConstant no boundaries",
      k.optim.piecewiseConstant({ init: 0.7 }),
      () => 0.7,
    ],
    [
      "joinSchedules",
      k.optim.joinSchedules(
        [k.optim.constant(1), k.optim.linearSchedule({ init: 1, end: 0, transitionSteps: 10 })],
        [5],
      ),
      (t) => t < 5 ? 1 : 1 - Math.min(t - 5, 10) / 10,
    ],
  ];

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: schedules match closed forms at JS-number and tensor steps [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      for (const [name, sched, expected] of SCHEDULE_CASES) {
        const want = STEPS.map(expected);
        const fromNumbers = STEPS.map((s) => sched(s));
        const fromInt32 = STEPS.map((s) => sched(k.tensor(s, { dtype: "int32", device })));
        const fromFloat64 = STEPS.map((s) => sched(k.tensor(s, { dtype: "float64", device })));
        for (
          const [kind, vals, dtype] of [
            ["number", fromNumbers, "float32"],
            ["int32 tensor", fromInt32, "float32"],
            ["float64 tensor", fromFloat64, "float64"],
          ] as const
        ) {
          vals.forEach((v) => {
            assert.equal(v.dtype, dtype, `${name} (${kind}): dtype`);
            assert.deepEqual(v.shape, [], `${name} (${kind}): shape`);
          });
          await k.realize(...vals);
          const got = await Promise.all(vals.map(async (v) => (await v.data())[0]));
          allClose(got, want, dtype === "float64" ? TOL.float64 : TOL.float32, `${name} (${kind})`);
        }
      }
    },
  });

  // float64 cases: the CPU only (WGSL has no 64-bit floats).
  Deno.test({
    name: `optim: schedules run on a traced step and check their options [${device}]`,
    ignore: !hasFloat64(device),
    fn: async () => {
      // Inside a traced function the step is an abstract tensor: schedules must not read it.
      const sched = k.optim.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 2, decaySteps: 6 });
      const f = (x: Tensor) => sched(k.tensor(3, { dtype: "int32", device })).mul(x).sum();
      const g = k.grad(f)(k.ones([2], { dtype: "float32", device }));
      const c3 = (1 + Math.cos(Math.PI / 4)) / 2; // one step into a 4-step cosine
      allClose(await read(g), [c3, c3], TOL.float32);
      const h = k.grad((s: Tensor) => sched(s))(k.tensor(1, { dtype: "float64", device }));
      allClose(await read(h), [0.5], TOL.float64); // warmup slope peak / warmupSteps
      throwsWith(() => k.optim.cosineDecay({ init: 1, decaySteps: 0 }), ["decaySteps"]);
      throwsWith(
        () => k.optim.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 5, decaySteps: 5 }),
        ["decaySteps"],
      );
      throwsWith(
        () => k.optim.piecewiseConstant({ init: 1, boundariesAndScales: { 2: -1 } }),
        ["scale"],
      );
      throwsWith(() => k.optim.joinSchedules([k.optim.constant(1)], [3]), ["boundaries"]);
      // Degenerate settings give the constant init, as Optax.
      const c = k.optim.exponentialDecay({ init: 0.4, decayRate: 0.5, transitionSteps: 0 });
      allClose([(await c(10).data())[0]], [0.4], TOL.float32);
    },
  });
}
