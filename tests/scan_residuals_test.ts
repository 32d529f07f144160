// scan's reverse mode with saved residuals, and k.checkpoint (rematerialization). Gradients of
// an LSTM-like cell run by scan against float64 central differences (k.testing.checkGrads,
// orders 1-2) and against the same cell unrolled into ordinary ops; the residual path against
// the recompute path (the body in k.checkpoint); how many values each path saves per step
// (the forward loop's outputs, a closed form); that the forward loop runs once; nesting,
// jit, vmap, jvp; checkpoint outside loops; errors.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, DEVICES, hasFloat64, rng, sameValues, throwsWith, type Tol } from "./_util.ts";

const H = 3, D = 2, B = 2, T = 5;
const F32: Tol = { rtol: 2e-5, atol: 2e-6 };
const F64: Tol = { rtol: 1e-12, atol: 1e-13 };

function uniform(n: number, seed: number, scale = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(scale * (2 * r() - 1)));
}
const read = async (t: k.Tensor) => Array.from(await t.data(), Number);

interface Params {
  wx: k.Tensor;
  wh: k.Tensor;
  b: k.Tensor;
}
type Carry = [k.Tensor, k.Tensor];

/** Inputs of the LSTM-like test cell, on `device` in `dtype`. */
function inputs(device: string, dtype: "float32" | "float64") {
  const t = (v: number[], shape: number[]) => k.tensor(v, { shape, dtype, device });
  return {
    p: {
      wx: t(uniform(D * 4 * H, 1, 0.8), [D, 4 * H]),
      wh: t(uniform(H * 4 * H, 2, 0.8), [H, 4 * H]),
      b: t(uniform(4 * H, 3, 0.3), [4 * H]),
    },
    h0: t(uniform(B * H, 4, 0.5), [B, H]),
    c0: t(uniform(B * H, 5, 0.5), [B, H]),
    xs: t(uniform(T * B * D, 6), [T, B, D]),
  };
}

/** An LSTM step (gates i, f, g, o), written with matmul / sigmoid / tanh. */
function cell(p: Params, [h, c]: Carry, x: k.Tensor): [Carry, k.Tensor] {
  const z = k.matmul(x, p.wx).add(k.matmul(h, p.wh)).add(p.b);
  const [i, f, g, o] = k.split(z, 4, { axis: 1 });
  const c2 = k.sigmoid(f).mul(c).add(k.sigmoid(i).mul(k.tanh(g)));
  const h2 = k.sigmoid(o).mul(k.tanh(c2));
  return [[h2, c2], h2];
}

type Mode = "scan" | "checkpoint" | "unrolled";

/** A scalar loss of the cell over the sequence, through scan (plain or checkpointed) or unrolled. */
function lossFn(mode: Mode, reverse = false) {
  return (p: Params, h0: k.Tensor, c0: k.Tensor, xs: k.Tensor): k.Tensor => {
    const body = (cr: Carry, x: k.Tensor) => cell(p, cr, x);
    let hT: k.Tensor, hs: k.Tensor;
    if (mode === "unrolled") {
      let cr: Carry = [h0, c0];
      const ys: k.Tensor[] = new Array(T);
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        const [next, y] = cell(p, cr, k.slice(xs, [[t, t + 1]]).reshape([B, D]));
        cr = next;
        ys[t] = y;
      }
      hT = cr[0];
      hs = k.stack(ys);
    } else {
      const f = mode === "checkpoint" ? k.checkpoint(body) : body;
      const [[h], ys] = k.scan(f, [h0, c0] as Carry, xs, { reverse });
      hT = h;
      hs = ys;
    }
    const w = k.arange(0, T * B * H, 1, { dtype: hs.dtype, device: hs.device }).reshape([T, B, H]);
    return hs.mul(hs).mul(w.mul(0.01).add(1)).sum().add(hT.sum());
  };
}

const gradAll = (mode: Mode, reverse = false) =>
  k.grad(lossFn(mode, reverse), { argnums: [0, 1, 2, 3] });

async function flatGrads(g: unknown): Promise<number[]> {
  const leaves = k.tree.leaves(g as k.tree.PyTree<k.Tensor>) as k.Tensor[];
  await k.realize(...leaves);
  return (await Promise.all(leaves.map(read))).flat();
}

/** The `call scan: N output(s)` lines of a jitted function's program. */
function scanCalls(f: (...a: never[]) => unknown, ...args: unknown[]): number[] {
  const lines = k.jit(f as (...a: unknown[]) => unknown).lower(...args).kernels;
  return lines.filter((l) => l.startsWith("call scan")).map((l) =>
    Number(l.match(/(\d+) output/)![1])
  );
}

Deno.test("scan residuals: LSTM gradients vs float64 finite differences, orders 1-2 [cpu]", async () => {
  const { p, h0, c0, xs } = inputs("cpu", "float64");
  for (const mode of ["scan", "checkpoint"] as const) {
    for (const reverse of [false, true]) {
      const f = (wx: k.Tensor, wh: k.Tensor, b: k.Tensor, h: k.Tensor, c: k.Tensor, x: k.Tensor) =>
        lossFn(mode, reverse)({ wx, wh, b }, h, c, x);
      await k.testing.checkGrads(f, [p.wx, p.wh, p.b, h0, c0, xs], {
        order: 2,
        eps: 1e-5,
        atol: 1e-6,
        rtol: 1e-5,
      });
    }
  }
});

for (const device of DEVICES) {
  const dtype = hasFloat64(device) ? "float64" : "float32";
  const tol = dtype === "float64" ? F64 : F32;

  Deno.test(`scan residuals: gradients equal the unrolled loop and the recompute path [${device}]`, async () => {
    const { p, h0, c0, xs } = inputs(device, dtype);
    for (const reverse of [false, true]) {
      const ref = await flatGrads(gradAll("unrolled", reverse)(p, h0, c0, xs));
      const saved = await flatGrads(gradAll("scan", reverse)(p, h0, c0, xs));
      const remat = await flatGrads(gradAll("checkpoint", reverse)(p, h0, c0, xs));
      allClose(saved, ref, tol, `residuals vs unrolled (reverse ${reverse})`);
      allClose(remat, ref, tol, `checkpoint vs unrolled (reverse ${reverse})`);
      allClose(saved, remat, tol, `residuals vs checkpoint (reverse ${reverse})`);
    }
  });

  Deno.test(`scan residuals: the forward value is unchanged by stacking residuals [${device}]`, async () => {
    const { p, h0, c0, xs } = inputs(device, "float32");
    const plain = await read(lossFn("scan")(p, h0, c0, xs));
    const [v, g] = k.valueAndGrad(lossFn("scan"))(p, h0, c0, xs);
    await k.realize(v, g.wx, g.wh, g.b);
    sameValues(await read(v), plain, "valueAndGrad's value vs the forward alone");
    // Under jit too: the loop extended in place computes the same carry and ys.
    const jv = k.jit((pp: Params) => k.valueAndGrad(lossFn("scan"))(pp, h0, c0, xs)[0])(p);
    sameValues(await read(jv), plain, "jitted valueAndGrad's value");
  });

  Deno.test(`scan residuals: pullback after the forward ran, twice; jit, vmap [${device}]`, async () => {
    const { p, h0, c0, xs } = inputs(device, dtype);
    const ref = await flatGrads(gradAll("unrolled")(p, h0, c0, xs));
    // The forward loop already ran when the pullback is called: a second loop saves residuals.
    const [y, pb] = k.vjp((pp: Params) => lossFn("scan")(pp, h0, c0, xs), p);
    await (y as k.Tensor).data();
    const one = k.onesLike(y as k.Tensor);
    const first = await flatGrads(pb(one)[0]), second = await flatGrads(pb(one)[0]);
    const pRef = ref.slice(0, first.length);
    allClose(first, pRef, tol, "pullback after the forward realized");
    allClose(second, pRef, tol, "pullback called again");
    for (const mode of ["scan", "checkpoint"] as const) {
      const jg = await flatGrads(k.jit(gradAll(mode))(p, h0, c0, xs));
      allClose(jg, ref, tol, `jit(grad) ${mode}`);
    }
    // vmap over a batch of initial hidden states: each example's gradient w.r.t. its h0.
    const h0s = k.stack([h0, h0.mul(-0.5), h0.add(0.25)]);
    for (const mode of ["scan", "checkpoint"] as const) {
      const per = k.vmap(
        (h: k.Tensor) => k.grad((hh: k.Tensor) => lossFn(mode)(p, hh, c0, xs))(h),
      )(h0s);
      const got = await read(per);
      for (let e = 0; e < 3; e++) {
        const he = k.slice(h0s, [[e, e + 1]]).reshape([B, H]);
        const want = await read(k.grad((hh: k.Tensor) => lossFn("unrolled")(p, hh, c0, xs))(he));
        allClose(
          got.slice(e * B * H, (e + 1) * B * H),
          want,
          tol,
          `vmap(grad) ${mode} example ${e}`,
        );
      }
    }
  });

  Deno.test(`scan residuals: tangents (jvp) through scan and checkpoint [${device}]`, async () => {
    const { p, h0, c0, xs } = inputs(device, dtype);
    const dh = k.tensor(uniform(B * H, 9), { shape: [B, H], dtype, device });
    const tangent = (mode: Mode) => {
      const [, t] = k.jvp((h: k.Tensor) => lossFn(mode)(p, h, c0, xs), [h0], [dh]);
      return read(t as k.Tensor);
    };
    const ref = await tangent("unrolled");
    allClose(await tangent("scan"), ref, tol, "jvp scan");
    allClose(await tangent("checkpoint"), ref, tol, "jvp scan(checkpoint)");
  });
}

Deno.test("scan residuals: checkpoint saves fewer values per step; the forward loop runs once", () => {
  const { p, h0, c0, xs } = inputs("cpu", "float32");
  // Forward alone: one loop with the carry (h, c) and the ys.
  assert.deepEqual(scanCalls((pp: Params) => lossFn("scan")(pp, h0, c0, xs), p), [3]);
  // With its gradient: still two loops (forward, backward), not three. The forward loop
  // also stacks what the LSTM's VJP reads: sigmoid(i), sigmoid(f), sigmoid(o), tanh(g),
  // tanh(c'), c and h (x comes from xs) -- 7 x [B, H] per step.
  const residual = scanCalls((pp: Params) => gradAll("scan")(pp, h0, c0, xs), p);
  assert.deepEqual(residual.length, 2);
  assert.equal(residual[0], 3 + 7);
  // The backward loop carries the cotangents of h and c and emits, per step, the cotangent of
  // x (asked for here) and of the gate pre-activations z: the weights' cotangents are one
  // contraction over steps x batch after the loop (z^T-weighted h and x), not a carry.
  assert.equal(residual[1], 2 + 1 + 1);
  // Without the cotangent of xs (data), the loop does not compute it.
  const paramsOnly = scanCalls((pp: Params) => k.grad(lossFn("scan"))(pp, h0, c0, xs), p);
  assert.deepEqual(paramsOnly, [3 + 7, 2 + 1]);
  // Checkpointed: only the checkpoint's inputs that change per step (h, c).
  const remat = scanCalls((pp: Params) => gradAll("checkpoint")(pp, h0, c0, xs), p);
  assert.deepEqual(remat.length, 2);
  assert.equal(remat[0], 3 + 2);
});

for (const device of DEVICES) {
  const dtype = hasFloat64(device) ? "float64" : "float32";
  const tol = dtype === "float64" ? F64 : F32;

  Deno.test(`scan residuals: a scan inside a scan body, gradients vs unrolled loops [${device}]`, async () => {
    const { p, h0, c0, xs } = inputs(device, dtype);
    // Each outer step runs the cell twice on the same x (an inner scan of length 2).
    const loss = (nested: boolean) => (pp: Params, h: k.Tensor) => {
      const inner = (cr: Carry, x: k.Tensor): [Carry, k.Tensor] => {
        if (!nested) {
          const [a] = cell(pp, cr, x);
          return cell(pp, a, x);
        }
        const twice = k.stack([x, x]);
        const [out, ys] = k.scan((c: Carry, xi: k.Tensor) => cell(pp, c, xi), cr, twice);
        return [out, k.slice(ys, [[1, 2]]).reshape([B, H])];
      };
      const [, ys] = k.scan(inner, [h, c0] as Carry, xs);
      return ys.mul(ys).sum();
    };
    const g = k.grad(loss(true), { argnums: [0, 1] });
    const ref = await flatGrads(k.grad(loss(false), { argnums: [0, 1] })(p, h0));
    allClose(await flatGrads(g(p, h0)), ref, tol, "nested scan gradients");
    if (dtype === "float64") {
      await k.testing.checkGrads((h: k.Tensor) => loss(true)(p, h), [h0], { order: 2 });
    }
  });

  Deno.test(`checkpoint: outside loops, values and gradients equal f's; pytrees and static leaves [${device}]`, async () => {
    const x = k.tensor(uniform(6, 11), { shape: [2, 3], dtype, device });
    const w = k.tensor(uniform(9, 12), { shape: [3, 3], dtype, device });
    const f = (a: { x: k.Tensor; scale: number }, act: string) => {
      const y = k.matmul(a.x, w).mul(a.scale);
      return { y: act === "tanh" ? k.tanh(y) : k.sigmoid(y), s: y.sum() };
    };
    const cf = k.checkpoint(f, { name: "block" });
    const loss = (g: typeof f) => (xx: k.Tensor, ww: k.Tensor) => {
      void ww;
      const o = g({ x: xx, scale: 2 }, "tanh");
      return o.y.mul(o.y).sum().add(o.s.mul(o.s));
    };
    sameValues(
      await read(cf({ x, scale: 2 }, "tanh").y),
      await read(f({ x, scale: 2 }, "tanh").y),
      "value",
    );
    const want = await read(k.grad(loss(f))(x, w));
    allClose(await read(k.grad(loss(cf))(x, w)), want, tol, "grad through checkpoint");
    // The captured weight gets its gradient too.
    const gw = k.grad((ww: k.Tensor) => {
      const o = k.checkpoint((xx: k.Tensor) => k.tanh(k.matmul(xx, ww)))(x);
      return o.mul(o).sum();
    })(w);
    const gwRef = k.grad((ww: k.Tensor) => k.tanh(k.matmul(x, ww)).pow(2).sum())(w);
    allClose(await read(gw), await read(gwRef), tol, "grad of a value the checkpoint captures");
    if (dtype === "float64") {
      await k.testing.checkGrads(
        (xx: k.Tensor) => k.checkpoint((a: k.Tensor) => k.sin(a).mul(a).exp())(xx).sum(),
        [x],
        { order: 2 },
      );
    }
    // vmap of a checkpointed function (a batched input, an unbatched captured weight).
    const rows = k.vmap((r: k.Tensor) => k.checkpoint((a: k.Tensor) => k.tanh(a.matmul(w)))(r))(x);
    allClose(await read(rows), await read(k.tanh(k.matmul(x, w))), tol, "vmap(checkpoint)");
    // The listing shows the checkpointed body under its name.
    const lowered = k.jit((xx: k.Tensor) => cf({ x: xx, scale: 2 }, "tanh").y).lower(x);
    assert.match(lowered.graph, /= checkpoint /);
    assert.match(lowered.graph, /block=/);
  });
}

Deno.test("scan residuals: hessian (jacfwd of grad) through scan and checkpoint [cpu]", async () => {
  const { p, h0, c0, xs } = inputs("cpu", "float64");
  const hess = (mode: Mode) => k.jacfwd(k.grad((h: k.Tensor) => lossFn(mode)(p, h, c0, xs)))(h0);
  const ref = await read(hess("unrolled") as k.Tensor);
  allClose(await read(hess("scan") as k.Tensor), ref, F64, "hessian scan");
  allClose(await read(hess("checkpoint") as k.Tensor), ref, F64, "hessian scan(checkpoint)");
});

Deno.test("checkpoint: errors name checkpoint", () => {
  throwsWith(() => k.checkpoint(3 as never), ["checkpoint", "f"]);
  throwsWith(() => k.checkpoint((x: k.Tensor) => x, { policy: 1 } as never), [
    "checkpoint",
    "unknown option",
    "policy",
  ]);
  throwsWith(() => k.checkpoint((x: k.Tensor) => x, { name: 3 } as never), ["checkpoint", "name"]);
  throwsWith(() => k.checkpoint((_x: k.Tensor) => 3 as never)(k.tensor([1])), [
    "checkpoint",
    "output leaf 0",
    "not a Tensor",
  ]);
});
