// k.linalg against numpy/LAPACK float64 fixtures (tests/make_linalg_fixtures.py) on
// well-conditioned, ill-conditioned, batched, 1×1 and singular inputs, on every device
// (float64 on the CPU; float32 on both, well-conditioned cases); reconstructions and
// orthogonality; empty batches and 0×0 matrices; checkGrads orders 1 and 2 in float64; vmap
// against a loop; jit against eager (NaN/inf, no exception, for singular input); `{check: true}`
// errors; bad-input errors.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import type { DType } from "../mod.ts";
import { allClose, DEVICES, rejectsWith, rng, throwsWith, type Tol } from "./_util.ts";

interface Arr {
  shape: number[];
  data: (number | string)[];
}
interface Case {
  fn: string;
  kind: string;
  inputs: Arr[];
  outputs: Arr[];
  opts: Record<string, unknown>;
}
const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/linalg.json", import.meta.url)),
) as { cases: Case[] };

const num = (v: number | string) =>
  typeof v === "number" ? v : v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity;
const values = (a: Arr) => a.data.map(num);
const toT = (a: Arr, dtype: DType, device: string) =>
  k.tensor(values(a), { dtype, device }).reshape(a.shape);

const ordOf = (o: unknown) =>
  o === null || o === undefined
    ? undefined
    : o === "inf"
    ? Infinity
    : o === "-inf"
    ? -Infinity
    : (o as number | "fro" | "nuc");

/** Runs fixture case `c` through k.linalg; returns the outputs in the fixture's order. */
function run(c: Case, ins: k.Tensor[]): k.Tensor[] {
  const o = c.opts;
  const L = k.linalg;
  switch (c.fn) {
    case "solve":
      return [L.solve(ins[0], ins[1])];
    case "inv":
      return [L.inv(ins[0])];
    case "det":
      return [L.det(ins[0])];
    case "slogdet":
      return L.slogdet(ins[0]);
    case "cholesky":
      return [L.cholesky(ins[0])];
    case "solveTriangular":
      return [L.solveTriangular(ins[0], ins[1], o as k.linalg.SolveTriangularOptions)];
    case "qr": {
      const [q, r] = L.qr(ins[0], { mode: o.mode as "reduced" | "complete" });
      return positiveDiagR(q, r);
    }
    case "eigh":
      return L.eigh(ins[0]);
    case "svd":
      return L.svd(ins[0], { fullMatrices: false });
    case "svdvals":
      return [L.svd(ins[0], { computeUv: false })];
    case "lstsq":
      return L.lstsq(ins[0], ins[1], o as k.linalg.LstsqOptions);
    case "pinv":
      return [L.pinv(ins[0], o as k.linalg.PinvOptions)];
    case "matrixPower":
      return [L.matrixPower(ins[0], o.n as number)];
    case "norm":
      return [L.norm(ins[0], {
        ord: ordOf(o.ord),
        axis: o.axis as number | [number, number] | undefined,
      })];
    case "trace":
      return [L.trace(ins[0], { offset: o.offset as number })];
    case "diagonal":
      return [L.diagonal(ins[0], { offset: o.offset as number })];
    case "triu":
      return [L.triu(ins[0], o.k as number)];
    case "tril":
      return [L.tril(ins[0], o.k as number)];
  }
  throw new Error(`unknown fixture function ${c.fn}`);
}

/** QR normalized as the fixture: R's diagonal non-negative (Q's columns flip with R's rows). */
function positiveDiagR(q: k.Tensor, r: k.Tensor): [k.Tensor, k.Tensor] {
  const kk = Math.min(r.shape[r.ndim - 2], r.shape[r.ndim - 1]);
  const d = k.linalg.diagonal(r).slice([...r.shape.slice(0, -2).map(() => [0, null] as const), [
    0,
    kk,
  ]]);
  const sgn = k.where(d.less(0), -1, 1).astype(r.dtype);
  const qn = q.shape[q.ndim - 1];
  const pad = (t: k.Tensor, n: number) =>
    n > kk
      ? k.concatenate([
        t,
        k.onesLike(t).slice([...t.shape.slice(0, -1).map(() => [0, null] as const), [0, n - kk]]),
      ], { axis: -1 })
      : t;
  return [q.mul(pad(sgn, qn).expandDims(-2)), r.mul(pad(sgn, r.shape[r.ndim - 2]).expandDims(-1))];
}

/** Tolerance for a fixture case: float64 tight (looser for ill-conditioned), float32 loose. */
function tolOf(c: Case, dtype: DType, device: string): Tol {
  if (dtype === "float32") {
    return device === "cpu" ? { rtol: 2e-4, atol: 2e-5 } : { rtol: 1e-3, atol: 1e-4 };
  }
  if (c.kind === "ill") return { rtol: 1e-5, atol: 1e-7 };
  return { rtol: 1e-9, atol: 1e-11 };
}

for (const device of DEVICES) {
  const dtypes: DType[] = device === "cpu" ? ["float64", "float32"] : ["float32"];
  for (const dtype of dtypes) {
    Deno.test(`linalg fixtures vs numpy (${device}, ${dtype})`, async () => {
      let n = 0;
      for (const [i, c] of fixtures.cases.entries()) {
        // float32 only where float32 is meaningful: not ill-conditioned or singular inputs.
        if (dtype === "float32" && (c.kind === "ill" || c.kind === "singular")) continue;
        const ins = c.inputs.map((a) => toT(a, dtype, device));
        const outs = run(c, ins);
        assert.equal(outs.length, c.outputs.length, `${c.fn} #${i}: number of outputs`);
        for (const [j, o] of outs.entries()) {
          const want = c.outputs[j];
          assert.deepEqual(o.shape, want.shape, `${c.fn} #${i} (${c.kind}) output ${j}: shape`);
          allClose(
            await o.data(),
            values(want),
            tolOf(c, dtype, device),
            `${c.fn} #${i} (${c.kind}, ${JSON.stringify(c.opts)}) output ${j}`,
          );
        }
        n++;
      }
      assert.ok(n > 60, `ran ${n} cases`);
    });
  }
}

/** A random float64 array of `shape` (uniform in [-1, 1]). */
function rand(shape: number[], seed: number, dtype: DType = "float64", device = "cpu") {
  const r = rng(seed), size = shape.reduce((a, d) => a * d, 1);
  return k.tensor(Array.from({ length: size }, () => r() * 2 - 1), { dtype, device }).reshape(
    shape,
  );
}
const eyeOf = (n: number, x: k.Tensor) => k.eye(n, null, { dtype: x.dtype, device: x.device });
function mT(x: k.Tensor): k.Tensor {
  const p = [...x.shape.keys()];
  [p[x.ndim - 2], p[x.ndim - 1]] = [p[x.ndim - 1], p[x.ndim - 2]];
  return x.transpose(p);
}
async function near(a: k.Tensor, b: k.Tensor, atol: number, msg: string) {
  const x = await a.data(), y = await b.broadcastTo(a.shape).data();
  allClose(x, y, { rtol: 0, atol }, msg);
}

for (const device of DEVICES) {
  const dtype: DType = device === "cpu" ? "float64" : "float32";
  const atol = dtype === "float64" ? 1e-12 : 2e-5;
  Deno.test(`linalg reconstructions and orthogonality (${device}, ${dtype})`, async () => {
    for (const [m, n] of [[5, 3], [3, 5], [4, 4], [1, 1], [7, 3], [2, 9]]) {
      const a = rand([2, m, n], m * 10 + n, dtype, device);
      for (const mode of ["reduced", "complete"] as const) {
        const [q, r] = k.linalg.qr(a, { mode });
        await near(q.matmul(r), a, atol, `Q R = A ${m}x${n} ${mode}`);
        const c = q.shape[2];
        await near(mT(q).matmul(q), eyeOf(c, a), atol, `QᵀQ = I ${m}x${n} ${mode}`);
        await near(k.linalg.tril(r, -1), k.zerosLike(r), 0, `R upper ${m}x${n}`);
      }
      for (const full of [false, true]) {
        const [u, s, vh] = k.linalg.svd(a, { fullMatrices: full });
        const kk = Math.min(m, n);
        const us = u.slice([[0, null], [0, null], [0, kk]]).mul(s.expandDims(-2));
        await near(us.matmul(vh.slice([[0, null], [0, kk]])), a, atol, `U S Vh = A ${m}x${n}`);
        await near(mT(u).matmul(u), eyeOf(u.shape[2], a), atol, `UᵀU = I ${m}x${n} ${full}`);
        await near(vh.matmul(mT(vh)), eyeOf(vh.shape[1], a), atol, `Vh Vhᵀ = I ${m}x${n}`);
        const sv = await s.data();
        for (let i = 1; i < kk; i++) assert.ok(sv[i - 1] >= sv[i] && sv[i] >= 0, "s descending");
      }
    }
    const b = rand([3, 5, 5], 7, dtype, device);
    const sym = b.add(mT(b));
    const [w, v] = k.linalg.eigh(sym);
    await near(v.mul(w.expandDims(-2)).matmul(mT(v)), sym, atol * 10, "V Λ Vᵀ = A");
    await near(mT(v).matmul(v), eyeOf(5, sym), atol, "VᵀV = I");
    const spd = b.matmul(mT(b)).add(eyeOf(5, b));
    const l = k.linalg.cholesky(spd);
    await near(l.matmul(mT(l)), spd, atol * 10, "L Lᵀ = A");
    await near(k.linalg.triu(l, 1), k.zerosLike(l), 0, "L lower");
    await near(b.matmul(k.linalg.inv(b)), eyeOf(5, b), atol * 100, "A A⁻¹ = I");
    // Rank-deficient SVD: a full orthonormal U even where singular values are 0.
    const rd = rand([6, 2], 3, dtype, device).matmul(rand([2, 4], 4, dtype, device));
    const [u2, s2] = k.linalg.svd(rd);
    await near(mT(u2).matmul(u2), eyeOf(6, rd), atol * 10, "rank-deficient U orthonormal");
    assert.ok((await s2.data())[3] < 1e-5, "rank-deficient: zero singular value");
    // Under jit on this device (the call reads its input inside the compiled program).
    const jitted = k.jit((x: k.Tensor, y: k.Tensor) =>
      k.linalg.solve(x.matmul(mT(x)).add(eyeOf(5, x)), y)
    );
    const rhs = rand([3, 5, 2], 8, dtype, device);
    await near(jitted(b, rhs), k.linalg.solve(spd, rhs), atol * 100, "jit solve == eager");
    // Tall and rank-deficient (the QR-first path, m >= 2n): U stays orthonormal, U S Vh = A.
    const tall = rand([9, 2], 5, dtype, device).matmul(rand([2, 4], 6, dtype, device));
    const [u3, s3, vh3] = k.linalg.svd(tall, { fullMatrices: false });
    await near(mT(u3).matmul(u3), eyeOf(4, tall), atol * 10, "tall rank-deficient U");
    await near(u3.mul(s3.expandDims(-2)).matmul(vh3), tall, atol * 10, "tall U S Vh = A");
  });
}

Deno.test("linalg: empty batches and 0×0 matrices", async () => {
  const e = k.zeros([0, 3, 3], { dtype: "float64" });
  assert.deepEqual(k.linalg.solve(e, k.zeros([0, 3, 2], { dtype: "float64" })).shape, [0, 3, 2]);
  assert.deepEqual(k.linalg.det(e).shape, [0]);
  assert.deepEqual(k.linalg.eigh(e).map((t) => t.shape), [[0, 3], [0, 3, 3]]);
  assert.deepEqual(k.linalg.svd(e).map((t) => t.shape), [[0, 3, 3], [0, 3], [0, 3, 3]]);
  assert.deepEqual(k.linalg.cholesky(e).shape, [0, 3, 3]);
  const z = k.zeros([2, 0, 0], { dtype: "float64" });
  assert.deepEqual(Array.from(await k.linalg.det(z).data()), [1, 1]); // numpy: det of 0×0 is 1
  assert.deepEqual(k.linalg.inv(z).shape, [2, 0, 0]);
  const [q, r] = k.linalg.qr(k.zeros([3, 0], { dtype: "float64" }), { mode: "complete" });
  assert.deepEqual([q.shape, r.shape], [[3, 3], [3, 0]]);
  assert.deepEqual(Array.from(await q.data()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

Deno.test("linalg: checkGrads orders 1 and 2 (float64)", async () => {
  const cg = (f: (...a: k.Tensor[]) => k.Tensor, args: k.Tensor[]) =>
    k.testing.checkGrads(f, args, { order: 2, atol: 1e-6, rtol: 1e-5 });
  const a = rand([2, 3, 3], 1).add(eyeOf(3, rand([1], 0)).mul(3));
  const b = rand([2, 3, 2], 2);
  const tall = rand([4, 3], 3), wide = rand([3, 4], 4);
  const s0 = rand([3, 3], 5);
  const sym = s0.add(mT(s0)).add(k.tensor([[0, 0, 0], [0, 1, 0], [0, 0, 3]], { dtype: "float64" }));
  const spd = s0.matmul(mT(s0)).add(eyeOf(3, s0));
  const L = k.linalg;
  await cg((x, y) => L.solve(x, y), [a, b]);
  await cg((x) => L.inv(x), [a]);
  await cg((x) => L.det(x), [a]);
  await cg((x) => L.slogdet(x)[1], [a]);
  await cg((x) => L.cholesky(x), [spd]);
  for (const lower of [true, false]) {
    for (const transpose of [true, false]) {
      for (const unitDiagonal of [true, false]) {
        await cg((x, y) => L.solveTriangular(x, y, { lower, transpose, unitDiagonal }), [a, b]);
      }
    }
  }
  await cg((x) => k.concatenate(L.qr(x).map((t) => t.reshape([-1]))), [tall]);
  await cg((x) => k.concatenate(L.qr(x, { mode: "complete" }).map((t) => t.reshape([-1]))), [a]);
  await cg((x) => k.concatenate(L.eigh(x).map((t) => t.reshape([-1]))), [sym]);
  for (const x0 of [tall, wide, s0]) {
    await cg(
      (x) => k.concatenate(L.svd(x, { fullMatrices: false }).map((t) => t.reshape([-1]))),
      [x0],
    );
  }
  await cg((x) => L.svd(x, { computeUv: false }), [wide]);
  await cg((x, y) => L.lstsq(x, y)[0], [rand([5, 3], 6), rand([5, 2], 7)]);
  await cg((x) => L.pinv(x), [tall]);
  await cg((x) => L.matrixPower(x, -2), [a]);
  await cg((x) => L.norm(x, { ord: "nuc" }), [tall]);
  await cg((x) => L.norm(x, { ord: 2 }), [tall]);
});

Deno.test("linalg: vmap equals a loop; jit equals eager", async () => {
  const a = rand([4, 3, 3], 11).add(eyeOf(3, rand([1], 0)).mul(2));
  const b = rand([3], 12);
  const L = k.linalg;
  const fns: [string, (x: k.Tensor) => k.Tensor][] = [
    ["solve", (x) => L.solve(x, b)],
    ["eigh", (x) => L.eigh(x.add(mT(x)))[1]],
    ["svd", (x) => L.svd(x)[0]],
    ["qr", (x) => L.qr(x)[1]],
    ["cholesky", (x) => L.cholesky(x.matmul(mT(x)).add(eyeOf(3, x)))],
    ["slogdet", (x) => L.slogdet(x)[1]],
  ];
  for (const [name, f] of fns) {
    const batched = await k.vmap(f)(a).data();
    const looped = await k.stack([0, 1, 2, 3].map((i) => f(a.slice([[i, i + 1]]).reshape([3, 3]))))
      .data();
    allClose(batched, looped, { rtol: 1e-12, atol: 1e-12 }, `vmap ${name}`);
    allClose(
      await k.jit(f)(a).data(),
      await f(a).data(),
      { rtol: 1e-12, atol: 1e-12 },
      `jit ${name}`,
    );
  }
  // vmap over the second argument only (a unbatched), and over axis 1.
  const bs = rand([3, 5], 13);
  const viaVmap = await k.vmap((y: k.Tensor) => L.solve(a, y), { inAxes: [1] })(bs).data();
  const direct = await k.stack(
    [0, 1, 2, 3, 4].map((j) =>
      L.solve(a, bs.slice([[0, 3], [j, j + 1]]).reshape([3]).broadcastTo([4, 3]).expandDims(-1))
        .reshape([4, 3])
    ),
  ).data();
  allClose(viaVmap, direct, { rtol: 1e-12, atol: 1e-12 }, "vmap solve over b only");
  // Singular input under jit: NaN/inf as JAX, no exception.
  const sing = k.tensor([[1, 2], [2, 4]], { dtype: "float64" });
  const x = await k.jit((m: k.Tensor) => L.solve(m, k.tensor([1, 1], { dtype: "float64" })))(sing)
    .data();
  assert.ok(Array.from(x).some((v) => !Number.isFinite(v)), "singular solve gives inf/NaN");
  const c = await L.cholesky(k.tensor([[1, 2], [2, 1]], { dtype: "float64" })).data();
  assert.ok(Array.from(c).every(Number.isNaN), "cholesky of an indefinite matrix is NaN");
});

Deno.test("linalg: NaN and inf inputs: NaN results, no hang, no exception; other batch elements intact", async () => {
  const L = k.linalg;
  for (const bad of [NaN, Infinity]) {
    const a = k.tensor([[[2, 1], [1, 3]], [[bad, 1], [1, 3]]], { dtype: "float64" });
    const outs = [
      L.solve(a, k.tensor([1, 2], { dtype: "float64" })),
      L.inv(a),
      L.det(a),
      L.cholesky(a),
      ...L.eigh(a),
      ...L.svd(a),
      ...L.qr(a),
    ];
    for (const o of outs) {
      const v = await o.data(), half = v.length / 2;
      assert.ok(Array.from(v.subarray(0, half)).every(Number.isFinite), "good element finite");
      // inf may cancel to a finite value (LU: x = b / inf = 0), as LAPACK; NaN never does.
      if (Number.isNaN(bad)) {
        assert.ok(Array.from(v.subarray(half)).some(Number.isNaN), "bad element gives NaN");
      }
    }
  }
});

Deno.test("linalg: {check: true} raises for singular / indefinite input", async () => {
  const sing = k.tensor([[1, 2], [2, 4]]);
  await rejectsWith(() => k.linalg.solve(sing, k.tensor([1, 1]), { check: true }).data(), [
    "linalg.solve: matrix a is singular",
  ]);
  await rejectsWith(() => k.linalg.inv(k.stack([k.eye(2), sing]), { check: true }).data(), [
    "linalg.inv: matrix a is singular (batch element 1)",
  ]);
  await rejectsWith(() => k.linalg.cholesky(k.tensor([[1, 2], [2, 1]]), { check: true }).data(), [
    "linalg.cholesky: matrix a is not positive definite",
  ]);
  assert.deepEqual(
    Array.from(await k.linalg.solve(k.eye(2), k.tensor([1, 2]), { check: true }).data()),
    [1, 2],
  );
});

Deno.test("linalg: repeated solves and factorizations do not leak buffers", async () => {
  const a = rand([8, 8], 21).add(k.eye(8, null, { dtype: "float64" }).mul(4));
  const step = async () => {
    const [w, v] = k.linalg.eigh(a.add(mT(a)));
    const [u, s] = k.linalg.svd(a);
    await k.realize(k.linalg.solve(a, w), v, u, s, k.linalg.cholesky(a.matmul(mT(a))));
  };
  for (let i = 0; i < 5; i++) await step();
  const before = k.memoryStats().buffers;
  for (let i = 0; i < 30; i++) await step();
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 10));
  const after = k.memoryStats().buffers;
  assert.ok(after <= before + 2, `live buffers grew from ${before} to ${after}`);
});

Deno.test("linalg: bad input names the function, the argument and the shapes", () => {
  const L = k.linalg;
  const a = k.zeros([3, 4]), sq = k.zeros([3, 3]);
  throwsWith(() => L.solve(a, k.zeros([3])), ["linalg.solve: a must be square", "[3,4]"]);
  throwsWith(() => L.solve(sq, k.zeros([4])), ["linalg.solve: b [4] does not match a [3,3]"]);
  throwsWith(() => L.solve(sq, k.zeros([2, 4, 1])), ["linalg.solve: b [2,4,1]", "a [3,3]"]);
  throwsWith(() => L.inv(k.zeros([3, 3], { dtype: "int32" })), [
    "linalg.inv: a must be float32 or float64, got int32[3,3]",
  ]);
  throwsWith(() => L.det(k.zeros([3])), ["linalg.det: a must have rank >= 2", "[3]"]);
  throwsWith(() => L.cholesky(a), ["linalg.cholesky: a must be square", "[3,4]"]);
  throwsWith(() => L.eigh(a), ["linalg.eigh: a must be square", "[3,4]"]);
  throwsWith(() => L.svd(k.zeros([4])), ["linalg.svd: a must have rank >= 2", "[4]"]);
  throwsWith(() => L.qr(a, { mode: "full" as "complete" }), ["linalg.qr: mode"]);
  throwsWith(() => L.solveTriangular(sq, k.zeros([2, 2])), [
    "linalg.solveTriangular: b [2,2] does not match a [3,3]",
  ]);
  throwsWith(() => L.lstsq(a, k.zeros([4])), ["linalg.lstsq: b [4] does not match a [3,4]"]);
  throwsWith(() => L.slogdet(k.zeros([2, 3])), ["linalg.slogdet: a must be square", "[2,3]"]);
  throwsWith(() => L.matrixPower(sq, 1.5), ["linalg.matrixPower: n must be an integer"]);
  throwsWith(() => L.norm(k.zeros([2, 2, 2]), { ord: 1 }), ["linalg.norm: ord needs axis"]);
  throwsWith(() => L.trace(k.zeros([3])), ["linalg.trace: x must have rank >= 2", "[3]"]);
  throwsWith(() => L.solve(sq, k.zeros([3], { dtype: "float64" })), [
    "linalg.solve: a and b must have the same dtype",
  ]);
});
