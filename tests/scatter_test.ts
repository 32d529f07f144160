// scatterAdd and segmentSum against naive loops (duplicate, negative and out-of-range indices,
// every dtype, both devices), their derivatives against float64 finite differences (orders 1
// and 2), vmap against a loop over examples, jit against eager, and `take`'s gradient: equal to
// the former masked-reduction formulation, and one kernel doing O(|indices|·row) work.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import type { DType } from "../mod.ts";
import { maskedScatterAdd } from "../core/ir/source.ts";
import { makeNode } from "../core/ir/graph.ts";
import { wrap } from "../core/tensor/convert.ts";
import { scheduleNodes } from "../core/schedule/schedule.ts";
import type { KernelIR, Loop, Scope } from "../core/ir/kernel.ts";
import {
  allClose,
  DEVICES,
  hasFloat16,
  hasFloat64,
  numel,
  rng,
  throwsWith,
  tolFor,
} from "./_util.ts";

type Mode = "drop" | "clip";

/** `np.add.at` along `axis`, in float64 (or int32 wrap-around), as a plain loop. */
function naiveScatter(
  x: ArrayLike<number>,
  xs: readonly number[],
  ind: ArrayLike<number>,
  is: readonly number[],
  u: ArrayLike<number>,
  axis: number,
  mode: Mode,
  int: boolean,
): number[] {
  const pre = numel(xs.slice(0, axis)), n = xs[axis], post = numel(xs.slice(axis + 1));
  const m = numel(is);
  const out = Array.from(x);
  for (let p = 0; p < pre; p++) {
    for (let j = 0; j < m; j++) {
      let i = ind[j];
      if (i < 0) i += n;
      if (i < 0 || i >= n) {
        if (mode === "drop") continue;
        i = Math.min(Math.max(i, 0), n - 1);
      }
      for (let q = 0; q < post; q++) {
        const o = (p * n + i) * post + q;
        out[o] += u[(p * m + j) * post + q];
        if (int) out[o] |= 0;
      }
    }
  }
  return out;
}

/** Values of `dtype`: small integers for int32, else uniform in [-2, 2]. */
function values(n: number, dtype: DType, seed: number): number[] {
  const r = rng(seed);
  return Array.from(
    { length: n },
    () => dtype === "int32" ? Math.floor(r() * 20) - 10 : 4 * r() - 2,
  );
}

/** Indices in [-n-2, n+2): duplicates, negatives and (a few) out of range. */
function indices(count: number, n: number, seed: number, inRange = false): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const lo = inRange ? -n : -n - 2, hi = inRange ? n : n + 2;
    return lo + Math.floor(r() * (hi - lo));
  });
}

const dtypesOf = (device: string): DType[] => [
  "float32",
  "int32",
  ...(hasFloat64(device) ? ["float64" as const] : []),
  ...(hasFloat16(device) ? ["float16" as const] : []),
];

const int32 = (v: number[], shape: number[], device: string) =>
  k.tensor(Int32Array.from(v), { shape, device });

// [x shape, indices shape, axis, mode]
const CASES: [number[], number[], number, Mode][] = [
  [[6], [9], 0, "drop"],
  [[3, 5, 4], [2, 3], 1, "drop"],
  [[4, 3], [7], -1, "drop"],
  [[5, 2], [], 0, "drop"],
  [[2, 4, 3], [6], 1, "clip"],
  [[7, 2], [3, 4], 0, "clip"],
];

for (const device of DEVICES) {
  Deno.test(`scatterAdd equals np.add.at as a loop (dtypes, axes, modes) [${device}]`, async () => {
    let seed = 1;
    for (const dtype of dtypesOf(device)) {
      for (const [xs, is, axisArg, mode] of CASES) {
        const axis = axisArg < 0 ? axisArg + xs.length : axisArg;
        const us = [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
        const xv = values(numel(xs), dtype, seed++), uv = values(numel(us), dtype, seed++);
        const iv = indices(numel(is), xs[axis], seed++);
        const x = k.tensor(xv, { shape: xs, dtype, device });
        const u = k.tensor(uv, { shape: us, dtype, device });
        const x0 = Array.from(await x.data()), u0 = Array.from(await u.data());
        const got = k.scatterAdd(x, int32(iv, is, device), u, { axis: axisArg, mode });
        assert.deepEqual(got.shape, xs);
        assert.equal(got.dtype, dtype);
        const want = naiveScatter(x0, xs, iv, is, u0, axis, mode, dtype === "int32");
        const tol = tolFor(dtype, device);
        // Up to 4 float16 additions land on one element, each rounding.
        const t = dtype === "float16" ? { rtol: 4e-3, atol: 4e-3 } : tol;
        allClose(await got.data(), want, t, `${dtype} x${JSON.stringify(xs)} ${mode}`);
        // x itself is unchanged.
        allClose(await x.data(), x0, { rtol: 0, atol: 0 }, "x untouched");
      }
    }
  });

  Deno.test(`scatterAdd broadcasts updates; a histogram by adding 1 [${device}]`, async () => {
    const ids = [0, 3, 3, 1, 3, -1, 9];
    const hist = k.scatterAdd(k.zeros([5], { dtype: "int32", device }), int32(ids, [7], device), 1);
    assert.deepEqual(Array.from(await hist.data()), [1, 1, 0, 3, 1]);
    const x = k.zeros([3, 2], { device });
    const row = k.tensor([10, 20], { device });
    const r = k.scatterAdd(x, int32([2, 0, 2], [3], device), row);
    allClose(await r.data(), [10, 20, 0, 0, 20, 40], { rtol: 0, atol: 0 });
  });

  Deno.test(`scatterAdd: thousands of updates to one element all land [${device}]`, async () => {
    // On WebGPU every one of these contends for the same word (atomics / compare-exchange).
    const n = 5000;
    const ids = int32(Array.from({ length: n }, (_, j) => j % 7 === 0 ? 0 : 2), [n], device);
    for (const dtype of ["float32", "int32"] as const) {
      const r = k.scatterAdd(k.zeros([3], { dtype, device }), ids, 1);
      const zeros = Math.ceil(n / 7);
      assert.deepEqual(Array.from(await r.data()), [zeros, 0, n - zeros], dtype);
    }
  });

  Deno.test(`segmentSum equals a loop; out-of-range and negative ids dropped [${device}]`, async () => {
    const cases: [number[], number[], number][] = [
      [[8], [8], 4],
      [[6, 3], [6], 5],
      [[2, 3, 2], [2, 3], 4],
    ];
    let seed = 100;
    for (const dtype of dtypesOf(device).filter((d) => d !== "float16")) {
      for (const [ds, is, n] of cases) {
        const dv = values(numel(ds), dtype, seed++);
        const r = rng(seed++);
        const iv = Array.from({ length: numel(is) }, () => Math.floor(r() * (n + 4)) - 2);
        const rest = numel(ds.slice(is.length));
        const want = new Array(n * rest).fill(0);
        iv.forEach((s, j) => {
          if (s < 0 || s >= n) return;
          for (let q = 0; q < rest; q++) want[s * rest + q] += dv[j * rest + q];
        });
        const data = k.tensor(dv, { shape: ds, dtype, device });
        const got = k.segmentSum(data, int32(iv, is, device), n);
        assert.deepEqual(got.shape, [n, ...ds.slice(is.length)]);
        allClose(await got.data(), want, tolFor(dtype, device), `${dtype} ${JSON.stringify(ds)}`);
      }
    }
  });

  Deno.test(`scatterAdd under vmap equals a loop over examples [${device}]`, async () => {
    const B = 3;
    const xb = k.tensor(values(B * 4 * 2, "float32", 7), { shape: [B, 4, 2], device });
    const ib = int32(indices(B * 5, 4, 8), [B, 5], device);
    const ub = k.tensor(values(B * 5 * 2, "float32", 9), { shape: [B, 5, 2], device });
    const x1 = k.tensor(values(8, "float32", 10), { shape: [4, 2], device });
    const i1 = int32(indices(5, 4, 11), [5], device);
    const u1 = k.tensor(values(10, "float32", 12), { shape: [5, 2], device });
    const pick = (t: k.Tensor, b: number | null) => b === null ? t : k.take(t, b, { axis: 0 });
    for (const mode of ["drop", "clip"] as const) {
      const f = (x: k.Tensor, i: k.Tensor, u: k.Tensor) => k.scatterAdd(x, i, u, { mode });
      for (const axes of [[0, 0, 0], [null, 0, 0], [0, null, 0], [0, 0, null], [null, 0, null]]) {
        const args = axes.map((a, j) => a === null ? [x1, i1, u1][j] : [xb, ib, ub][j]);
        const got = k.vmap(f, { inAxes: axes })(args[0], args[1], args[2]) as k.Tensor;
        for (let b = 0; b < B; b++) {
          const one = f(...args.map((t, j) => pick(t, axes[j] === null ? null : b)) as [
            k.Tensor,
            k.Tensor,
            k.Tensor,
          ]);
          allClose(
            await k.take(got, b, { axis: 0 }).data(),
            await one.data(),
            tolFor("float32", device),
            `${mode} inAxes ${JSON.stringify(axes)} example ${b}`,
          );
        }
      }
    }
    // segmentSum and per-example gradients of an embedding lookup (batched ids and cotangents).
    const segs = k.vmap((d: k.Tensor, i: k.Tensor) => k.segmentSum(d, i, 3))(ub, ib);
    const E = k.tensor(values(8, "float32", 13), { shape: [4, 2], device });
    const perEx = k.vmap(
      (i: k.Tensor, u: k.Tensor) =>
        k.grad((e: k.Tensor) => k.take(e, i, { axis: 0 }).mul(u).sum())(E),
      { inAxes: [0, 0] },
    )(ib, ub) as k.Tensor;
    for (let b = 0; b < B; b++) {
      const i = k.take(ib, b, { axis: 0 }), u = k.take(ub, b, { axis: 0 });
      allClose(
        await k.take(segs, b, { axis: 0 }).data(),
        await k.segmentSum(u, i, 3).data(),
        tolFor("float32", device),
        `segmentSum example ${b}`,
      );
      const want = k.grad((e: k.Tensor) => k.take(e, i, { axis: 0 }).mul(u).sum())(E);
      allClose(
        await k.take(perEx, b, { axis: 0 }).data(),
        await want.data(),
        tolFor("float32", device),
        `per-example embedding gradient ${b}`,
      );
    }
    // A batch axis that is not the leading one, scattering along axis 1.
    const g = k.vmap((x: k.Tensor, i: k.Tensor) => k.scatterAdd(x, i, 1, { axis: 1 }), {
      inAxes: [1, 0],
    })(k.zeros([2, B, 3], { device }), int32([0, 0, 2, 1, -1, 5], [B, 2], device));
    // Example 2: index -1 is the last column, 5 is dropped.
    allClose(await g.data(), [2, 0, 0, 2, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1], {
      rtol: 0,
      atol: 0,
    });
  });

  Deno.test(`scatterAdd, segmentSum and take's gradient under jit equal eager [${device}]`, async () => {
    const f = k.jit((x: k.Tensor, i: k.Tensor, u: k.Tensor) => [
      k.scatterAdd(x, i, u, { axis: 1 }),
      k.segmentSum(u, i.add(1), 4),
      k.grad((w: k.Tensor) => k.take(w, i, { axis: 1 }).mul(u).sum())(x),
    ]);
    for (let run = 0; run < 2; run++) {
      const x = k.tensor(values(6, "float32", 20 + run), { shape: [2, 3], device });
      const i = int32(indices(2, 3, 30 + run, true), [2], device);
      const u = k.tensor(values(4, "float32", 40 + run), { shape: [2, 2], device });
      const got = f(x, i, u) as k.Tensor[];
      const want = [
        k.scatterAdd(x, i, u, { axis: 1 }),
        k.segmentSum(u, i.add(1), 4),
        k.grad((w: k.Tensor) => k.take(w, i, { axis: 1 }).mul(u).sum())(x),
      ];
      for (let j = 0; j < 3; j++) {
        allClose(await got[j].data(), await want[j].data(), tolFor("float32", device), `out ${j}`);
      }
    }
  });
}

// ------------------------------------------------------------------ derivatives ----

const f64 = (n: number[], seed: number) =>
  k.tensor(values(numel(n), "float64", seed), { shape: n, dtype: "float64" });

Deno.test("scatterAdd/segmentSum: checkGrads orders 1-2 in float64 (both modes)", async () => {
  for (const mode of ["drop", "clip"] as const) {
    const ind = int32([1, -1, 1, 5, 0, -6], [2, 3], "cpu");
    const w = f64([3, 4, 2], 3);
    const f = (x: k.Tensor, u: k.Tensor) =>
      k.sin(k.scatterAdd(x, ind, u, { axis: 1, mode })).mul(w).sum();
    await k.testing.checkGrads(f, [f64([3, 4, 2], 1), f64([3, 2, 3, 2], 2)], { order: 2 });
  }
  const ids = int32([0, 2, 2, -1, 7, 1], [6], "cpu");
  await k.testing.checkGrads(
    (d: k.Tensor) => k.segmentSum(d, ids, 3).mul(k.segmentSum(d, ids, 3)).sum(),
    [f64([6, 2], 4)],
    { order: 2 },
  );
  // take's gradient is a scatter-add and its second derivative a gather.
  const ti = int32([2, 0, 2, -1, 9], [5], "cpu");
  await k.testing.checkGrads((x: k.Tensor) => k.sin(k.take(x, ti, { axis: 0 })).sum(), [
    f64([4, 3], 5),
  ], { order: 2 });
});

Deno.test("scatterAdd: jvp is the scatter of the tangents; vjp gathers the cotangent", async () => {
  const ind = int32([0, 2, 0, 7], [4], "cpu");
  const x = f64([3], 1), u = f64([4], 2), tx = f64([3], 3), tu = f64([4], 4);
  const [, t] = k.jvp((a: k.Tensor, b: k.Tensor) => k.scatterAdd(a, ind, b), [x, u], [tx, tu]);
  const txv = await tx.data(), tuv = await tu.data();
  allClose(await (t as k.Tensor).data(), [txv[0] + tuv[0] + tuv[2], txv[1], txv[2] + tuv[1]]);
  const ct = f64([3], 5), cv = await ct.data();
  const [, back] = k.vjp((a: k.Tensor, b: k.Tensor) => k.scatterAdd(a, ind, b), x, u);
  const [gx, gu] = back(ct) as k.Tensor[];
  allClose(await gx.data(), cv);
  // The dropped update (index 7) gets no cotangent.
  allClose(await gu.data(), [cv[0], cv[2], cv[0], 0]);
});

// ------------------------------------------------------ take's gradient: scatter-add ----

/** Innermost-body iterations of a kernel (nested loops multiply): its work. */
function work(ir: KernelIR): number {
  const ofScope = (s: Scope): number =>
    s.items.reduce((a, it) => a + ("kind" in it ? ofLoop(it) : 0), 0);
  const ofLoop = (l: Loop): number => {
    const inner = l.scopes.reduce((a, s) => a + ofScope(s), 0);
    return numel(l.sizes) * Math.max(1, inner);
  };
  return ofScope(ir.root);
}

Deno.test("take's gradient: equals the masked-reduction formulation, one O(batch·dim) kernel", async () => {
  for (const [V, B, D] of [[50, 7, 3], [1000, 32, 16]]) {
    const W = k.tensor(values(V * D, "float64", V), { shape: [V, D], dtype: "float64" });
    const idx = int32(indices(B, V, B, true), [B], "cpu");
    const G = k.tensor(values(B * D, "float64", D), { shape: [B, D], dtype: "float64" });
    const g = k.grad((w: k.Tensor) => k.take(w, idx, { axis: 0 }).mul(G).sum())(W);
    const gather = makeNode("gather", [W.node, idx.node], 0);
    const old = wrap(maskedScatterAdd(G.node, { src: [W.node, idx.node], arg: 0, out: gather }));
    const newItems = scheduleNodes([g.node]);
    assert.equal(newItems.length, 1, "the gradient is one kernel (G fused as the updates)");
    const oldItems = scheduleNodes([old.node]);
    const nw = newItems.reduce((a, it) => a + (it.kind === "kernel" ? work(it.ir) : 0), 0);
    const ow = oldItems.reduce((a, it) => a + (it.kind === "kernel" ? work(it.ir) : 0), 0);
    // Zero-filling the [V, D] gradient plus one pass over the [B, D] updates.
    assert.ok(nw <= V * D + B * D, `new gradient work ${nw} > V·D + B·D = ${V * D + B * D}`);
    assert.ok(ow >= V * D * B, `the old formulation did ${ow} < V·D·B`);
    allClose(await g.data(), await old.data(), { rtol: 1e-12, atol: 1e-12 }, `V=${V}`);
  }
});

Deno.test("embedding gradient behind a matmul: the cotangent's contraction stays its own kernel", () => {
  const V = 100, B = 8, D = 16, H = 4;
  const E = k.tensor(values(V * D, "float32", 1), { shape: [V, D] });
  const W2 = k.tensor(values(D * H, "float32", 2), { shape: [D, H] });
  const idx = int32(indices(B, V, 3, true), [B], "cpu");
  const g = k.grad((e: k.Tensor) => k.take(e, idx, { axis: 0 }).matmul(W2).tanh().sum())(E);
  const items = scheduleNodes([g.node]);
  // The gathered rows [B,D] (a matmul operand), the forward matmul with tanh' fused [B,H],
  // the backward matmul [B,D] (tiled, not nested in the scatter), then the scatter.
  const kinds = items.map((it) => it.kind === "kernel" && it.ir.scatter ? "scatter" : "other");
  assert.deepEqual(kinds, ["other", "other", "other", "scatter"], items.map(String).join("\n"));
});

// -------------------------------------------------------------------------- errors ----

Deno.test("scatterAdd/segmentSum: bad input gets clear errors naming the op", () => {
  const x = k.zeros([4, 3]);
  const i = int32([0, 1], [2], "cpu");
  throwsWith(() => k.scatterAdd(x, k.tensor([0, 1]), k.zeros([2, 3])), ["scatterAdd", "int32"]);
  throwsWith(
    () => k.scatterAdd(x, i, k.zeros([3, 3])),
    ["scatterAdd: ", "updates [3,3]", "[2,3]", "x [4,3]", "indices [2]"],
  );
  throwsWith(() => k.scatterAdd(x, i, k.zeros([2, 3]), { axis: 2 }), ["scatterAdd", "axis 2"]);
  throwsWith(() => k.scatterAdd(x, i, k.zeros([2, 3], { dtype: "int32" })), [
    "scatterAdd",
    "int32",
    "float32",
  ]);
  throwsWith(() => k.scatterAdd(x, i, 1, { mode: "wrap" as "drop" }), ["scatterAdd", "mode"]);
  throwsWith(() => k.scatterAdd(k.zeros([2], { dtype: "bool" }), i, true), ["scatterAdd", "bool"]);
  throwsWith(() => k.scatterAdd(x, [0.5], 1), ["scatterAdd", "integer"]);
  const d = k.zeros([5, 2]);
  const ids = int32([0, 1, 1, 0, 2], [5], "cpu");
  for (const bad of [0, -1, 2.5, NaN]) {
    throwsWith(() => k.segmentSum(d, ids, bad), [
      "segmentSum: ",
      "numSegments",
      "positive integer",
    ]);
  }
  throwsWith(() => k.segmentSum(d, ids, "3" as unknown as number), ["segmentSum", "numSegments"]);
  throwsWith(() => k.segmentSum(d, int32([0, 1], [2], "cpu"), 3), [
    "segmentSum: ",
    "segmentIds [2]",
    "data [5,2]",
  ]);
  throwsWith(() => k.segmentSum(d, k.zeros([5]), 3), ["segmentSum", "segmentIds", "int32"]);
});
