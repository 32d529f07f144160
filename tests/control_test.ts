// Control flow: scan, cond / switchCase, whileLoop and foriLoop, against plain-JS loops and
// closed forms (values), against the same computation unrolled into ordinary ops (gradients
// and tangents), and against finite differences (k.testing.checkGrads, float64 on the CPU).
// Also their behaviour under jit and vmap, and their error messages.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, assertShape, DEVICES, hasFloat64, rng, throwsWith, type Tol } from "./_util.ts";

// ------------------------------------------------------------------------ helpers ----

/** Seeded uniform values in [lo, hi), rounded to float32 so references see the same input. */
function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}
const read = async (t: unknown) => Array.from(await (t as k.Tensor).data(), Number);
const F32: Tol = { rtol: 1e-5, atol: 1e-6 };
const LOOSE: Tol = { rtol: 1e-4, atol: 1e-5 };
const EXACT: Tol = { rtol: 0, atol: 0 };

/** `v @ M` for a row vector `v` [n] and a row-major `M` [n, m]. */
function vecMat(v: readonly number[], M: readonly number[], m: number): number[] {
  const out = new Array<number>(m).fill(0);
  for (let i = 0; i < v.length; i++) for (let j = 0; j < m; j++) out[j] += v[i] * M[i * m + j];
  return out;
}

/** Dimensions of the small RNN used throughout. */
const H = 3, D = 2, STEPS = 6;

/** Plain-JS RNN: h' = tanh(h W + x U + b), y = Σ h'. Returns the final h and the ys. */
function rnnJs(
  h0: readonly number[],
  xs: readonly number[],
  W: readonly number[],
  U: readonly number[],
  b: readonly number[],
  steps: number,
  reverse = false,
): { h: number[]; ys: number[] } {
  let h = [...h0];
  const ys = new Array<number>(steps).fill(0);
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    const hw = vecMat(h, W, H), xu = vecMat(xs.slice(t * D, t * D + D), U, H);
    h = hw.map((v, j) => Math.tanh(v + xu[j] + b[j]));
    ys[t] = h.reduce((a, v) => a + v, 0);
  }
  return { h, ys };
}

/** Finds the Collatz step count of `n` (number of steps to reach 1). */
function collatzJs(n: number): number {
  let s = 0;
  while (n !== 1) {
    n = n % 2 === 0 ? n / 2 : 3 * n + 1;
    s++;
  }
  return s;
}

for (const device of DEVICES) {
  const fdt = hasFloat64(device) ? "float64" : "float32";
  const f32 = (data: readonly number[], shape: readonly number[]) =>
    k.tensor(Float32Array.from(data), { shape, device });
  const fx = (data: readonly number[], shape: readonly number[]) =>
    k.tensor(Float64Array.from(data), { shape, device, dtype: fdt });
  const i32 = (data: readonly number[] | number, shape?: readonly number[]) =>
    typeof data === "number"
      ? k.tensor(data, { device, dtype: "int32" })
      : k.tensor(Int32Array.from(data), { shape, device });
  const Wd = uniform(H * H, 1, -0.6, 0.6), Ud = uniform(D * H, 2), bd = uniform(H, 3, -0.2, 0.2);
  const h0d = uniform(H, 4), xsd = uniform(STEPS * D, 5, -1.5, 1.5);
  /** The RNN cell as a scan body, closing over W, U, b. */
  const cell = (W: k.Tensor, U: k.Tensor, b: k.Tensor) => (h: k.Tensor, x: k.Tensor) => {
    const n = h.matmul(W).add(x.matmul(U)).add(b).tanh();
    return [n, n.sum()] as [k.Tensor, k.Tensor];
  };
  /** The same cell unrolled with a JS loop over eager slices. */
  const unrolled = (W: k.Tensor, U: k.Tensor, b: k.Tensor, h: k.Tensor, xs: k.Tensor) => {
    const step = cell(W, U, b), ys: k.Tensor[] = [];
    for (let t = 0; t < xs.shape[0]; t++) {
      let y: k.Tensor;
      [h, y] = step(h, k.take(xs, t, { axis: 0 }));
      ys.push(y);
    }
    return [h, k.stack(ys)] as [k.Tensor, k.Tensor];
  };

  // ------------------------------------------------------------------------- scan ----

  Deno.test(`scan: RNN values match the unrolled JS loop; reverse; length without xs [${device}]`, async () => {
    const W = f32(Wd, [H, H]), U = f32(Ud, [D, H]), b = f32(bd, [H]);
    const [h, ys] = k.scan(cell(W, U, b), f32(h0d, [H]), f32(xsd, [STEPS, D]));
    assertShape(h.shape, [H]);
    assertShape(ys.shape, [STEPS]);
    const ref = rnnJs(h0d, xsd, Wd, Ud, bd, STEPS);
    allClose(await read(h), ref.h, LOOSE, "final carry");
    allClose(await read(ys), ref.ys, LOOSE, "stacked ys");

    const [hr, ysr] = k.scan(cell(W, U, b), f32(h0d, [H]), f32(xsd, [STEPS, D]), {
      reverse: true,
    });
    const refR = rnnJs(h0d, xsd, Wd, Ud, bd, STEPS, true);
    allClose(await read(hr), refR.h, LOOSE, "reverse: final carry");
    allClose(await read(ysr), refR.ys, LOOSE, "reverse: ys keep their positions");
    assert.notDeepEqual(refR.ys, ref.ys, "the test data distinguishes the directions");

    // No xs: `length` steps of doubling; ys are the negated carries before each step.
    const [c, pows] = k.scan(
      (c: k.Tensor, _x: null) => [c.mul(2), c.neg()] as [k.Tensor, k.Tensor],
      f32([1, -3], [2]),
      null,
      { length: 5 },
    );
    allClose(await read(c), [32, -96], EXACT);
    assertShape(pows.shape, [5, 2]);
    allClose(await read(pows), [-1, 3, -2, 6, -4, 12, -8, 24, -16, 48], EXACT);
    // y = null: no stacked output at all.
    const [s, none] = k.scan(
      (c: k.Tensor, x: k.Tensor) => [c.add(x.mul(x)), null] as [k.Tensor, null],
      f32([0], []),
      f32([1, 2, 3, 4], [4]),
    );
    assert.equal(none, null);
    allClose(await read(s), [30], EXACT);
    // length 0: the carry comes back unchanged and ys are empty.
    const [c0, y0] = k.scan(
      (c: k.Tensor, x: k.Tensor) => [c.add(x), c.mul(x)] as [k.Tensor, k.Tensor],
      f32([5], []),
      f32([], [0]),
    );
    allClose(await read(c0), [5], EXACT);
    assertShape(y0.shape, [0]);
  });

  Deno.test(`scan: pytree carry and pytree xs vs a JS loop [${device}]`, async () => {
    const md = [1, 0, 1, 1, 0, 1];
    type C = { h: k.Tensor; acc: k.Tensor };
    type X = { x: k.Tensor; m: k.Tensor };
    const W = f32(Wd, [H, H]), U = f32(Ud, [D, H]);
    const body = (c: C, sl: X): [C, [k.Tensor, { keep: k.Tensor }]] => {
      const n = c.h.matmul(W).add(sl.x.matmul(U)).tanh();
      const h = n.mul(sl.m).add(c.h.mul(k.sub(1, sl.m))); // masked update
      return [{ h, acc: c.acc.add(n.sum()) }, [n.max(), { keep: sl.m.mul(2) }]];
    };
    const [c, [mx, extra]] = k.scan(
      body,
      { h: f32(h0d, [H]), acc: f32([0.5], []) },
      { x: f32(xsd, [STEPS, D]), m: f32(md, [STEPS]) },
    );
    let h = [...h0d], acc = 0.5;
    const mxRef: number[] = [];
    for (let t = 0; t < STEPS; t++) {
      const hw = vecMat(h, Wd, H), xu = vecMat(xsd.slice(t * D, t * D + D), Ud, H);
      const n = hw.map((v, j) => Math.tanh(v + xu[j]));
      h = n.map((v, j) => v * md[t] + h[j] * (1 - md[t]));
      acc += n.reduce((a, v) => a + v, 0);
      mxRef.push(Math.max(...n));
    }
    allClose(await read(c.h), h, LOOSE, "carry.h");
    allClose(await read(c.acc), [acc], LOOSE, "carry.acc");
    allClose(await read(mx), mxRef, LOOSE, "ys[0]");
    allClose(await read(extra.keep), md.map((v) => 2 * v), EXACT, "ys[1].keep");
  });

  /** A scalar loss of the RNN through scan and through the unrolled loop, with test inputs. */
  const rnnLosses = () => {
    const U = fx(Ud, [D, H]), b = fx(bd, [H]);
    const wy = fx([0.3, -0.7, 1.1, 0.5, -0.2, 0.9], [STEPS]);
    const viaScan = (h0: k.Tensor, xs: k.Tensor, W: k.Tensor) => {
      const [h, ys] = k.scan(cell(W, U, b), h0, xs);
      return h.pow(2).sum().add(ys.mul(wy).sum());
    };
    const viaLoop = (h0: k.Tensor, xs: k.Tensor, W: k.Tensor) => {
      const [h, ys] = unrolled(W, U, b, h0, xs);
      return h.pow(2).sum().add(ys.mul(wy).sum());
    };
    const args = [fx(h0d, [H]), fx(xsd, [STEPS, D]), fx(Wd, [H, H])] as const;
    const vs = [
      fx(uniform(H, 6), [H]),
      fx(uniform(STEPS * D, 7), [STEPS, D]),
      fx(uniform(9, 8), [H, H]),
    ];
    const tol = fdt === "float64" ? { rtol: 1e-9, atol: 1e-11 } : LOOSE;
    return { U, b, viaScan, viaLoop, args, vs, tol };
  };

  Deno.test(`scan: tangents (jvp) w.r.t. init, xs and a captured weight [${device}]`, async () => {
    const { U, b, viaScan, viaLoop, args, vs, tol } = rnnLosses();
    allClose(await read(viaScan(...args)), await read(viaLoop(...args)), tol, "value");
    const [, ts] = k.jvp(viaScan as never, [...args], vs);
    const [, tl] = k.jvp(viaLoop as never, [...args], vs);
    allClose(await read(ts), await read(tl), tol, "jvp vs unrolled");
    // The captured W as the only perturbed value (closure conversion).
    const [, tw] = k.jvp(((W: k.Tensor) => viaScan(args[0], args[1], W)) as never, [args[2]], [
      vs[2],
    ]);
    const [, twl] = k.jvp(((W: k.Tensor) => viaLoop(args[0], args[1], W)) as never, [args[2]], [
      vs[2],
    ]);
    allClose(await read(tw), await read(twl), tol, "jvp w.r.t. a closed-over W");
    // Tangents of the stacked ys and of the carry (non-scalar outputs), both directions.
    for (const reverse of [false, true]) {
      const [, [th, tys]] = k.jvp(
        ((h0: k.Tensor, xs: k.Tensor) => k.scan(cell(args[2], U, b), h0, xs, { reverse })) as never,
        [args[0], args[1]],
        [vs[0], vs[1]],
      ) as [unknown, k.Tensor[]];
      const ordered = (t: k.Tensor) => (reverse ? k.flip(t, { axis: 0 }) : t);
      const [, [lh, lys]] = k.jvp(
        ((h0: k.Tensor, xs: k.Tensor) => {
          const [h, ys] = unrolled(args[2], U, b, h0, ordered(xs));
          return [h, ordered(ys)];
        }) as never,
        [args[0], args[1]],
        [vs[0], vs[1]],
      ) as [unknown, k.Tensor[]];
      allClose(await read(th), await read(lh), tol, `carry tangent (reverse: ${reverse})`);
      allClose(await read(tys), await read(lys), tol, `ys tangent (reverse: ${reverse})`);
    }
    if (hasFloat64(device)) {
      await k.testing.checkGrads(viaScan, [...args], { atol: 1e-6, rtol: 1e-5, modes: ["fwd"] });
    }
  });

  // Regression (fixed): reverse mode through any scan fails (so does foriLoop with number bounds, documented
  // as differentiable): scan's VJP first stacks the carries with a scan whose y *is* the carry
  // (`(c, x) => [body(...), c]` in core/transforms/control/scan.ts), which hits the
  // passthrough bug described at the end of this file. Minimal repro (~14 s, then fails):
  //   k.grad((x) => k.scan((c, xi) => [c.mul(xi), null], x, k.tensor([1, 2, 3]))[0])(k.tensor(2))
  //   // -> RangeError: Invalid array length (core/schedule/schedule.ts, place)
  Deno.test({
    name: `scan: gradients w.r.t. init, xs and a captured weight, plain and under vmap [${device}]`,
    fn: async () => {
      const { U, b, viaScan, viaLoop, args, vs, tol } = rnnLosses();
      const gs = k.grad(viaScan, { argnums: [0, 1, 2] })(...args) as unknown as k.Tensor[];
      const gl = k.grad(viaLoop, { argnums: [0, 1, 2] })(...args) as unknown as k.Tensor[];
      for (const [i, name] of ["init", "xs", "captured W"].entries()) {
        assertShape(gs[i].shape, args[i].shape, name);
        allClose(await read(gs[i]), await read(gl[i]), tol, `grad w.r.t. ${name}`);
      }
      // The captured W as the only differentiated value (closure conversion).
      const gW = k.grad((W: k.Tensor) => viaScan(args[0], args[1], W))(args[2]);
      allClose(await read(gW), await read(gl[2]), tol, "grad w.r.t. a closed-over W");
      // <grad, v> == jvp.
      const [, ts] = k.jvp(viaScan as never, [...args], vs);
      let dot = 0;
      for (let i = 0; i < 3; i++) {
        const g = await read(gs[i]), v = await read(vs[i]);
        g.forEach((x, j) => dot += x * v[j]);
      }
      allClose(await read(ts), [dot], tol, "<grad, v> == jvp");
      if (hasFloat64(device)) {
        await k.testing.checkGrads(viaScan, [...args], { atol: 1e-6, rtol: 1e-5 });
        await k.testing.checkGrads(
          (h0: k.Tensor, xs: k.Tensor, W: k.Tensor) =>
            k.scan(cell(W, U, b), h0, xs, { reverse: true })[1],
          [...args],
          { atol: 1e-6, rtol: 1e-5 },
        );
      }
      // Gradients of a batched scan: the per-example gradients of the unrolled loop.
      const W = fx(Wd, [H, H]), B = 3, h0s = uniform(B * H, 11);
      const run = (h0: k.Tensor, xs: k.Tensor) => k.scan(cell(W, U, b), h0, xs);
      const gb = k.grad((h: k.Tensor) => k.vmap(run, { inAxes: [0, null] })(h, args[1])[1].sum())(
        fx(h0s, [B, H]),
      );
      const gloop = k.stack(
        [0, 1, 2].map((i) =>
          k.grad((h: k.Tensor) => unrolled(W, U, b, h, args[1])[1].sum())(
            fx(h0s.slice(i * H, i * H + H), [H]),
          )
        ),
      );
      allClose(await read(gb), await read(gloop), tol, "grad of vmap of scan");
      // Through jit too.
      const jg = k.jit(k.grad(viaScan, { argnums: [0, 1, 2] }));
      const gj = jg(...args) as unknown as k.Tensor[];
      for (let i = 0; i < 3; i++) {
        allClose(await read(gj[i]), await read(gl[i]), tol, `jit grad ${i}`);
      }
    },
  });

  Deno.test(`scan: a 1,000-step scan traces its body once and matches the JS loop [${device}]`, async () => {
    const n = 1000;
    const W = f32(Wd, [H, H]), U = f32(Ud, [D, H]), b = f32(bd, [H]);
    const xsLong = uniform(n * D, 9, -1, 1);
    let calls = 0;
    const step = cell(W, U, b);
    const body = (h: k.Tensor, x: k.Tensor) => {
      calls++;
      return step(h, x);
    };
    const [h, ys] = k.scan(body, f32(h0d, [H]), f32(xsLong, [n, D]));
    assertShape(ys.shape, [n]);
    const ref = rnnJs(h0d, xsLong, Wd, Ud, bd, n);
    allClose(await read(h), ref.h, LOOSE, "final carry after 1000 steps");
    allClose(await read(ys), ref.ys, LOOSE, "1000 ys");
    assert.equal(calls, 1, "the body is traced once");
  });

  Deno.test(`scan: under jit and under vmap (batched init and/or xs) [${device}]`, async () => {
    const W = f32(Wd, [H, H]), U = f32(Ud, [D, H]), b = f32(bd, [H]);
    let calls = 0;
    const step = cell(W, U, b);
    const run = (h0: k.Tensor, xs: k.Tensor) =>
      k.scan(
        (h: k.Tensor, x: k.Tensor) => {
          calls++;
          return step(h, x);
        },
        h0,
        xs,
      );
    const jrun = k.jit(run);
    const xs2d = uniform(STEPS * D, 10, -1.5, 1.5);
    for (const [h, xs] of [[h0d, xsd], [h0d.map((v) => -v), xs2d]]) {
      const [hj, ysj] = jrun(f32(h, [H]), f32(xs, [STEPS, D]));
      const ref = rnnJs(h, xs, Wd, Ud, bd, STEPS);
      allClose(await read(hj), ref.h, LOOSE, "jit: final carry");
      allClose(await read(ysj), ref.ys, LOOSE, "jit: ys");
    }
    assert.equal(jrun.cacheSize(), 1);
    assert.equal(calls, 1, "the body is traced once, by the one jit trace");

    const B = 3;
    const h0s = uniform(B * H, 11), xss = uniform(B * STEPS * D, 12, -1.5, 1.5);
    const cases: [string, unknown[], (i: number) => [number[], number[]], unknown[]][] = [
      ["batched init", [0, null], (i) => [h0s.slice(i * H, i * H + H), xsd], [
        f32(h0s, [B, H]),
        f32(xsd, [STEPS, D]),
      ]],
      [
        "batched xs",
        [null, 0],
        (i) => [h0d, xss.slice(i * STEPS * D, (i + 1) * STEPS * D)],
        [f32(h0d, [H]), f32(xss, [B, STEPS, D])],
      ],
      [
        "both batched",
        [0, 0],
        (i) => [h0s.slice(i * H, i * H + H), xss.slice(i * STEPS * D, (i + 1) * STEPS * D)],
        [f32(h0s, [B, H]), f32(xss, [B, STEPS, D])],
      ],
    ];
    for (const [name, inAxes, pick, ins] of cases) {
      const [hb, ysb] = k.vmap(run, { inAxes })(...(ins as [k.Tensor, k.Tensor]));
      assertShape(hb.shape, [B, H], name);
      assertShape(ysb.shape, [B, STEPS], name);
      const refH: number[] = [], refY: number[] = [];
      for (let i = 0; i < B; i++) {
        const [h, xs] = pick(i);
        const r = rnnJs(h, xs, Wd, Ud, bd, STEPS);
        refH.push(...r.h);
        refY.push(...r.ys);
      }
      allClose(await read(hb), refH, LOOSE, `${name}: carry`);
      allClose(await read(ysb), refY, LOOSE, `${name}: ys`);
    }
    // xs batched along its time axis' neighbour: examples on axis 1 of a [T, B, D] tensor.
    const xsT = k.transpose(f32(xss, [B, STEPS, D]), [1, 0, 2]);
    const [, ysT] = k.vmap(run, { inAxes: [null, 1] })(f32(h0d, [H]), xsT);
    const refT = [0, 1, 2].flatMap((i) =>
      rnnJs(h0d, xss.slice(i * STEPS * D, (i + 1) * STEPS * D), Wd, Ud, bd, STEPS).ys
    );
    allClose(await read(ysT), refT, LOOSE, "xs mapped over axis 1");
  });

  Deno.test(`scan: higher derivatives in forward mode (x^n by repeated multiplication) [${device}]`, async () => {
    const n = 5;
    const pow = (x: k.Tensor) =>
      k.scan((c: k.Tensor, _: null) => [c.mul(x), null] as [k.Tensor, null], k.onesLike(x), null, {
        length: n,
      })[0];
    const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-10 } : LOOSE;
    const one = fx([1], []);
    const d1 = (x: k.Tensor) => k.jvp(pow as never, [x], [one])[1] as k.Tensor;
    const d2 = (x: k.Tensor) => k.jvp(d1 as never, [x], [one])[1] as k.Tensor;
    for (const p of [-1.3, 0.7, 1.1]) {
      const x = fx([p], []);
      allClose(await read(pow(x)), [p ** n], tol, `x^5 at ${p}`);
      allClose(await read(d1(x)), [n * p ** (n - 1)], tol, `5x^4 at ${p}`);
      allClose(await read(d2(x)), [n * (n - 1) * p ** (n - 2)], tol, `20x^3 at ${p}`);
    }
    // A product over xs: the Jacobian and the Hessian (forward over forward).
    const prodXs = (xs: k.Tensor) =>
      k.scan(
        (c: k.Tensor, x: k.Tensor) => [c.mul(x), null] as [k.Tensor, null],
        fx([1], []),
        xs,
      )[0];
    const xv = [1.5, -0.5, 2, 0.25];
    const prod = xv.reduce((a, v) => a * v, 1);
    allClose(await read(k.jacfwd(prodXs)(fx(xv, [4]))), xv.map((v) => prod / v), tol, "∂Π/∂x_i");
    const Href = xv.flatMap((a, i) => xv.map((c, j) => (i === j ? 0 : prod / (a * c))));
    allClose(await read(k.jacfwd(k.jacfwd(prodXs))(fx(xv, [4]))), Href, tol, "Hessian of Π");
    // Per-point derivatives with vmap over a forward-mode derivative of a scan.
    const pts = [0.5, -1, 1.5];
    allClose(
      await read(k.vmap(d1)(fx(pts, [3]))),
      pts.map((p) => n * p ** (n - 1)),
      tol,
      "vmap(jvp(scan))",
    );
    if (hasFloat64(device)) {
      const W = fx(Wd, [H, H]), U = fx(Ud, [D, H]), b = fx(bd, [H]);
      await k.testing.checkGrads(
        (h0: k.Tensor, xs: k.Tensor) => k.scan(cell(W, U, b), h0, xs)[1],
        [fx(h0d, [H]), fx(xsd, [STEPS, D])],
        { order: 2, atol: 1e-5, rtol: 1e-4, modes: ["fwd"] },
      );
    }
  });

  // Regression (fixed): reverse mode through scan (see the regression note on the scan gradient test above).
  Deno.test({
    name: `scan: grad of grad (x^n by repeated multiplication) [${device}]`,
    fn: async () => {
      const n = 5;
      const pow = (x: k.Tensor) =>
        k.scan(
          (c: k.Tensor, _: null) => [c.mul(x), null] as [k.Tensor, null],
          k.onesLike(x),
          null,
          {
            length: n,
          },
        )[0];
      const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-10 } : LOOSE;
      for (const p of [-1.3, 0.7, 1.1]) {
        const x = fx([p], []);
        allClose(await read(k.grad(pow)(x)), [n * p ** (n - 1)], tol, `5x^4 at ${p}`);
        allClose(
          await read(k.grad(k.grad(pow))(x)),
          [n * (n - 1) * p ** (n - 2)],
          tol,
          `20x^3 at ${p}`,
        );
        allClose(
          await read(k.grad(k.grad(k.grad(pow)))(x)),
          [n * (n - 1) * (n - 2) * p ** (n - 3)],
          tol,
          `60x^2 at ${p}`,
        );
      }
      // Through the carry, with ys: c_{t+1} = c_t * x_t (grad w.r.t. xs), Hessian fwd-over-rev.
      const prodXs = (xs: k.Tensor) =>
        k.scan(
          (c: k.Tensor, x: k.Tensor) => [c.mul(x), c.mul(2)] as [k.Tensor, k.Tensor],
          fx([1], []),
          xs,
        )[0];
      const xv = [1.5, -0.5, 2, 0.25];
      const prod = xv.reduce((a, v) => a * v, 1);
      allClose(await read(k.grad(prodXs)(fx(xv, [4]))), xv.map((v) => prod / v), tol, "∂Π/∂x_i");
      const Href = xv.flatMap((a, i) => xv.map((c, j) => (i === j ? 0 : prod / (a * c))));
      allClose(
        await read(k.jacfwd(k.grad(prodXs))(fx(xv, [4]))),
        Href,
        tol,
        "fwd-over-rev Hessian",
      );
      allClose(
        await read(k.jacrev(k.grad(prodXs))(fx(xv, [4]))),
        Href,
        tol,
        "rev-over-rev Hessian",
      );
      const pts = [0.5, -1, 1.5];
      allClose(
        await read(k.vmap(k.grad(pow))(fx(pts, [3]))),
        pts.map((p) => n * p ** (n - 1)),
        tol,
        "vmap(grad(scan))",
      );
      if (hasFloat64(device)) {
        const W = fx(Wd, [H, H]), U = fx(Ud, [D, H]), b = fx(bd, [H]);
        await k.testing.checkGrads(
          (h0: k.Tensor, xs: k.Tensor) =>
            k.scan(cell(W, U, b), h0, xs)[1].mul(fx([1, -1, 2, 0.5, 1, -2], [6])).sum(),
          [fx(h0d, [H]), fx(xsd, [STEPS, D])],
          { order: 2, atol: 1e-5, rtol: 1e-4 },
        );
      }
    },
  });

  Deno.test(`scan: errors [${device}]`, () => {
    const xs = f32([1, 2, 3], [3]);
    throwsWith(
      () => k.scan((c: k.Tensor, x: k.Tensor) => [k.stack([c, x]), x], f32([0], []), xs),
      ["scan", "new carry", "float32[2]", "expected float32[]"],
    );
    throwsWith(
      () => k.scan((c: k.Tensor, x: k.Tensor) => [c.astype("int32"), x], f32([0], []), xs),
      ["scan", "int32[]", "expected float32[]"],
    );
    throwsWith(
      () => k.scan((c: k.Tensor, x: k.Tensor) => [c.add(x), x], f32([0], []), xs, { length: 4 }),
      ["scan", "3", "4"],
    );
    throwsWith(
      () =>
        k.scan((c: k.Tensor, x: k.Tensor[]) => [c.add(x[0]), null], f32([0], []), [
          xs,
          f32([1, 2], [2]),
        ]),
      ["scan", "3", "2"],
    );
    throwsWith(() => k.scan((c: k.Tensor, _: null) => [c, null], f32([0], []), null), [
      "scan",
      "length",
    ]);
    throwsWith(
      () => k.scan((c: k.Tensor, x: k.Tensor) => [c.add(x), null], f32([0], []), f32([1], [])),
      ["scan", "leading axis"],
    );
    throwsWith(
      () => k.scan((c: number, x: k.Tensor) => [c, x] as [number, k.Tensor], 0, xs),
      ["scan", "init", "not a Tensor"],
    );
  });

  // --------------------------------------------------------------- cond / switchCase ----

  Deno.test(`cond / switchCase: values of each branch, clamping, static predicates [${device}]`, async () => {
    const x = f32([1, -2, 3], [3]);
    const pos = (a: k.Tensor) => a.mul(2);
    const neg = (a: k.Tensor) => a.neg().add(10);
    allClose(await read(k.cond(k.tensor(true, { device }), pos, neg, x)), [2, -4, 6], EXACT);
    allClose(await read(k.cond(k.tensor(false, { device }), pos, neg, x)), [9, 12, 7], EXACT);
    // A computed predicate, an int32 predicate, and several operands with a pytree result.
    const p = x.sum().gt(0); // 2 > 0
    const r = k.cond(
      p,
      (a: k.Tensor, s: { c: k.Tensor }) => ({ y: a.add(s.c), z: s.c.sum() }),
      (a: k.Tensor, s: { c: k.Tensor }) => ({ y: a.sub(s.c), z: s.c.sum().neg() }),
      x,
      { c: f32([1, 1, 1], [3]) },
    );
    allClose(await read(r.y), [2, -1, 4], EXACT);
    allClose(await read(r.z), [3], EXACT);
    allClose(await read(k.cond(i32(0), pos, neg, x)), [9, 12, 7], EXACT, "int32 0 is false");
    // A JS boolean chooses at trace time.
    allClose(await read(k.cond(true, pos, neg, x)), [2, -4, 6], EXACT);

    const branches = [
      (a: k.Tensor) => a.add(100),
      (a: k.Tensor) => a.mul(a),
      (a: k.Tensor) => a.sin(),
    ];
    const want = [
      [101, 98, 103],
      [1, 4, 9],
      [Math.sin(1), Math.sin(-2), Math.sin(3)],
    ];
    for (const [i, b] of [[-5, 0], [0, 0], [1, 1], [2, 2], [3, 2], [99, 2]]) {
      allClose(await read(k.switchCase(i32(i), branches, x)), want[b], F32, `index ${i}`);
      allClose(await read(k.switchCase(i, branches, x)), want[b], F32, `JS index ${i}`);
    }
    // Branches may close over tensors; only the chosen one runs, but both are traced.
    const w = f32([10, 20, 30], [3]);
    allClose(
      await read(k.switchCase(i32(1), [(a: k.Tensor) => a.mul(w), (a: k.Tensor) => a.add(w)], x)),
      [11, 18, 33],
      EXACT,
    );
  });

  Deno.test(`cond / switchCase: errors for mismatched branches and bad predicates [${device}]`, () => {
    const x = f32([1, 2], [2]);
    throwsWith(
      () =>
        k.cond(
          k.tensor(true, { device }),
          (a: k.Tensor) => ({ u: a }),
          (a: k.Tensor) => [a] as never,
          x,
        ),
      ["cond", "structure"],
    );
    throwsWith(
      () => k.switchCase(i32(0), [(a: k.Tensor) => a, (a: k.Tensor) => k.concatenate([a, a])], x),
      ["switchCase", "branch 1", "float32[4]", "float32[2]"],
    );
    throwsWith(
      () =>
        k.switchCase(i32(0), [(a: k.Tensor) => a.mul(2), (a: k.Tensor) => a.astype("int32")], x),
      ["switchCase", "branch 1", "int32[2]", "float32[2]"],
    );
    throwsWith(
      () => k.cond(f32([1], []), (a: k.Tensor) => a, (a: k.Tensor) => a.neg(), x),
      ["cond", "pred", "bool or int32", "float32"],
    );
    throwsWith(
      () =>
        k.cond(
          k.tensor([true, false], { device }),
          (a: k.Tensor) => a,
          (a: k.Tensor) => a.neg(),
          x,
        ),
      ["cond", "pred", "scalar", "bool[2]"],
    );
    throwsWith(() => k.switchCase(i32(0), [], x), ["switchCase", "at least one branch"]);
    throwsWith(
      () => k.cond(k.tensor(true, { device }), (a: number) => a, (a: number) => a, 3),
      ["cond", "operand", "not a Tensor"],
    );
  });

  // Regression (fixed): cond's shape/dtype check between branches is switchCase's and reports in its terms,
  // numbering falseFn as branch 0 and trueFn as branch 1:
  //   k.cond(k.tensor(true), (a) => a.mul(2), (a) => k.concatenate([a, a]), k.tensor([1, 2]))
  //   // -> "switchCase: branch 1 output 0 (branch 0 gives float32[4]) is float32[2], expected float32[4]"
  // The message should name cond (ideally its true/false branches). (A structure mismatch
  // already says "cond: branch 1 returns structure ...".)
  Deno.test({
    name: `cond: a shape mismatch between branches is reported as cond's [${device}]`,
    fn: () => {
      const x = f32([1, 2], [2]);
      throwsWith(
        () =>
          k.cond(
            k.tensor(true, { device }),
            (a: k.Tensor) => a.mul(2),
            (a: k.Tensor) => k.concatenate([a, a]),
            x,
          ),
        ["cond:", "float32[4]", "float32[2]"],
      );
    },
  });

  Deno.test(`cond / switchCase: gradients and tangents through each branch [${device}]`, async () => {
    const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-12 } : F32;
    const w = fx([0.5, -1.5], [2]);
    // Positive sum: Σ sin(x) w; otherwise Σ x² + Σ w · x.
    const f = (x: k.Tensor) =>
      k.cond(
        x.sum().gt(0),
        (a: k.Tensor) => a.sin().mul(w).sum(),
        (a: k.Tensor) => a.mul(a).sum().add(a.mul(w).sum()),
        x,
      );
    const xp = [0.7, 0.4], xn = [-0.7, 0.2];
    allClose(
      await read(k.grad(f)(fx(xp, [2]))),
      [Math.cos(0.7) * 0.5, Math.cos(0.4) * -1.5],
      tol,
      "true branch",
    );
    allClose(
      await read(k.grad(f)(fx(xn, [2]))),
      [2 * -0.7 + 0.5, 2 * 0.2 - 1.5],
      tol,
      "false branch",
    );
    // With respect to the captured w (closure conversion into both branches).
    const fw = (wv: k.Tensor, x: k.Tensor) =>
      k.cond(
        x.sum().gt(0),
        (a: k.Tensor) => a.sin().mul(wv).sum(),
        (a: k.Tensor) => a.mul(a).sum().add(a.mul(wv).sum()),
        x,
      );
    allClose(await read(k.grad(fw)(w, fx(xp, [2]))), xp.map(Math.sin), tol, "dw, true branch");
    allClose(await read(k.grad(fw)(w, fx(xn, [2]))), xn, tol, "dw, false branch");
    // Forward mode.
    const [y, t] = k.jvp(f as never, [fx(xn, [2])], [fx([1, 2], [2])]);
    allClose(await read(y), [0.49 + 0.04 - 0.35 - 0.3], tol, "value");
    allClose(await read(t), [(2 * -0.7 + 0.5) * 1 + (2 * 0.2 - 1.5) * 2], tol, "jvp, false branch");
    // switchCase with three branches, second derivative included.
    const g = (x: k.Tensor, i: k.Tensor) =>
      k.switchCase(i, [
        (a: k.Tensor) => a.pow(3),
        (a: k.Tensor) => a.exp(),
        (a: k.Tensor) => a.cos(),
      ], x).sum();
    const x0 = 0.8;
    const d1 = [3 * x0 * x0, Math.exp(x0), -Math.sin(x0)];
    const d2 = [6 * x0, Math.exp(x0), -Math.cos(x0)];
    for (let i = 0; i < 3; i++) {
      const gi = (x: k.Tensor) => g(x, i32(i));
      allClose(await read(k.grad(gi)(fx([x0], []))), [d1[i]], tol, `branch ${i}: first derivative`);
      allClose(await read(k.grad(k.grad(gi))(fx([x0], []))), [d2[i]], tol, `branch ${i}: second`);
    }
    if (hasFloat64(device)) {
      await k.testing.checkGrads((x: k.Tensor) => f(x), [fx(xn, [2])]);
      await k.testing.checkGrads((x: k.Tensor) => f(x), [fx(xp, [2])], { order: 2 });
    }
  });

  Deno.test(`cond / switchCase: vmap with batched and unbatched predicates [${device}]`, async () => {
    const xd = [1, 2, -3, -4, 5, -9, 0.5, 0.25];
    const xs = f32(xd, [4, 2]);
    const f = (x: k.Tensor) =>
      k.cond(x.sum().gt(0), (a: k.Tensor) => a.mul(2), (a: k.Tensor) => a.sub(1).neg(), x);
    const ref: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = xd.slice(2 * i, 2 * i + 2);
      ref.push(...(r[0] + r[1] > 0 ? r.map((v) => 2 * v) : r.map((v) => 1 - v)));
    }
    allClose(await read(k.vmap(f)(xs)), ref, EXACT, "batched predicate selects per example");
    // Unbatched predicate, batched operand.
    const flag = k.tensor(false, { device });
    const g = k.vmap((x: k.Tensor) =>
      k.cond(flag, (a: k.Tensor) => a.mul(2), (a: k.Tensor) => a.add(1), x)
    );
    allClose(await read(g(xs)), xd.map((v) => v + 1), EXACT, "unbatched predicate");
    // Batched switch index with clamping, batched operands; a captured weight.
    const w = f32([10, 20], [2]);
    const branches = [
      (a: k.Tensor) => a.add(w),
      (a: k.Tensor) => a.mul(w),
      (a: k.Tensor) => a.neg(),
    ];
    const idx = [-1, 1, 7, 2];
    const sw = k.vmap((i: k.Tensor, x: k.Tensor) => k.switchCase(i, branches, x))(
      i32(idx, [4]),
      xs,
    );
    const want: number[] = [];
    for (let e = 0; e < 4; e++) {
      const b = Math.min(Math.max(idx[e], 0), 2);
      for (let j = 0; j < 2; j++) {
        const v = xd[2 * e + j], wv = [10, 20][j];
        want.push(b === 0 ? v + wv : b === 1 ? v * wv : -v);
      }
    }
    allClose(await read(sw), want, EXACT, "batched index with clamping");
    // Gradient of a vmapped cond: per-example branch derivatives.
    const gv = k.grad((x: k.Tensor) =>
      k.vmap((r: k.Tensor) =>
        k.cond(r.sum().gt(0), (a: k.Tensor) => a.pow(2).sum(), (a: k.Tensor) => a.sum().mul(3), r)
      )(x).sum()
    )(xs);
    const gref = xd.map((v, i) => {
      const e = Math.floor(i / 2);
      return xd[2 * e] + xd[2 * e + 1] > 0 ? 2 * v : 3;
    });
    allClose(await read(gv), gref, F32, "grad of vmap of cond");
  });

  Deno.test(`cond: both branches through one jitted function [${device}]`, async () => {
    let traces = 0;
    const f = k.jit((x: k.Tensor) => {
      traces++;
      return k.cond(x.sum().gt(0), (a: k.Tensor) => a.sqrt(), (a: k.Tensor) => a.abs().mul(-1), x);
    });
    allClose(await read(f(f32([4, 9], [2]))), [2, 3], F32, "true branch");
    allClose(await read(f(f32([-4, 1], [2]))), [-4, -1], F32, "false branch");
    allClose(await read(f(f32([16, 1], [2]))), [4, 1], F32, "true branch again");
    assert.equal(f.cacheSize(), 1, "one compiled function for both branches");
    assert.equal(traces, 1);
    // switchCase with a traced index inside jit.
    const s = k.jit((i: k.Tensor, x: k.Tensor) =>
      k.switchCase(i, [(a: k.Tensor) => a.add(1), (a: k.Tensor) => a.mul(3)], x)
    );
    allClose(await read(s(i32(0), f32([1, 2], [2]))), [2, 3], EXACT);
    allClose(await read(s(i32(1), f32([1, 2], [2]))), [3, 6], EXACT);
    allClose(await read(s(i32(5), f32([1, 2], [2]))), [3, 6], EXACT);
    assert.equal(s.cacheSize(), 1);
  });

  // -------------------------------------------------------------------- whileLoop ----

  Deno.test(`whileLoop: Collatz steps and doubling to a bound [${device}]`, async () => {
    const collatz = (n: k.Tensor) =>
      k.whileLoop(
        ([m]: k.Tensor[]) => m.notEqual(1),
        (
          [m, s]: k.Tensor[],
        ) => [k.where(m.mod(2).equal(0), m.floorDivide(2), m.mul(3).add(1)), s.add(1)],
        [n, k.zerosLike(n)],
      )[1];
    // Each iteration reads the condition back: keep trip counts short on a GPU.
    const starts = device === "cpu" ? [1, 6, 7, 27, 97] : [1, 6, 7];
    for (const n of starts) {
      allClose(await read(collatz(i32(n))), [collatzJs(n)], EXACT, `collatz(${n})`);
    }
    // Float doubling until a bound: the carry that leaves the loop.
    const dbl = k.whileLoop((x: k.Tensor) => x.lt(100), (x: k.Tensor) => x.mul(2), f32([3], []));
    allClose(await read(dbl), [192], EXACT);
    // A condition false at the start: zero iterations, init comes back.
    const none = k.whileLoop((x: k.Tensor) => x.lt(0), (x: k.Tensor) => x.mul(2), f32([3], []));
    allClose(await read(none), [3], EXACT);
    // A pytree carry with a captured tensor.
    const step = f32([0.5, 1.5], [2]);
    const out = k.whileLoop(
      (c: { i: k.Tensor; v: k.Tensor }) => c.i.lt(4),
      (c: { i: k.Tensor; v: k.Tensor }) => ({ i: c.i.add(1), v: c.v.add(step) }),
      { i: i32(0), v: f32([0, 0], [2]) },
    );
    allClose(await read(out.i), [4], EXACT);
    allClose(await read(out.v), [2, 6], EXACT);
    // Under jit: data-dependent trip counts with one compiled function.
    const jc = k.jit(collatz);
    for (const n of [3, starts[starts.length - 1], 1]) {
      allClose(await read(jc(i32(n))), [collatzJs(n)], EXACT);
    }
    assert.equal(jc.cacheSize(), 1);
  });

  Deno.test(`whileLoop: vmap with a different trip count per example [${device}]`, async () => {
    const collatz = (n: k.Tensor) =>
      k.whileLoop(
        ([m]: k.Tensor[]) => m.greater(1),
        (
          [m, s]: k.Tensor[],
        ) => [k.where(m.mod(2).equal(0), m.floorDivide(2), m.mul(3).add(1)), s.add(1)],
        [n, k.zerosLike(n)],
      );
    const starts = [device === "cpu" ? 27 : 9, 1, 6, 7, 2];
    const [ends, steps] = k.vmap(collatz)(i32(starts, [5]));
    allClose(await read(steps), starts.map(collatzJs), EXACT, "per-example step counts");
    allClose(await read(ends), [1, 1, 1, 1, 1], EXACT, "finished examples keep their carry");
    // Float carry with a batched bound: doubling x until it passes its own limit.
    const xs = f32([1, 3, 50, 0.5], [4]), lim = f32([10, 10, 10, 1000], [4]);
    const d = k.vmap((x: k.Tensor, l: k.Tensor) =>
      k.whileLoop((y: k.Tensor) => y.lt(l), (y: k.Tensor) => y.mul(2), x)
    )(
      xs,
      lim,
    );
    allClose(await read(d), [16, 12, 50, 1024], EXACT, "batched bound");
  });

  Deno.test(`whileLoop: jvp through a data-dependent loop; reverse mode raises [${device}]`, async () => {
    const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-12 } : F32;
    // y_{t+1} = 1.5 y_t + 0.1 sin y_t while y < 10: dy_n/dy_0 = Π (1.5 + 0.1 cos y_t).
    const f = (x: k.Tensor) =>
      k.whileLoop((y: k.Tensor) => y.lt(10), (y: k.Tensor) => y.mul(1.5).add(y.sin().mul(0.1)), x);
    for (const x0 of [0.8, 3, 9.5, 12]) {
      let y = x0, dy = 1;
      while (y < 10) {
        dy *= 1.5 + 0.1 * Math.cos(y);
        y = 1.5 * y + 0.1 * Math.sin(y);
      }
      const [yv, tv] = k.jvp(f as never, [fx([x0], [])], [fx([1], [])]);
      allClose(await read(yv), [y], tol, `value from ${x0}`);
      allClose(await read(tv), [dy], tol, `tangent from ${x0}`);
    }
    // Tangents of a captured factor and of the start: y_n = x a^n, n data-dependent.
    const g = (x: k.Tensor, a: k.Tensor) =>
      k.whileLoop((y: k.Tensor) => y.lt(10), (y: k.Tensor) => y.mul(a), x);
    const [x0, a0] = [0.7, 1.8];
    let n = 0, y = x0;
    while (y < 10) {
      y *= a0;
      n++;
    }
    const [, tg] = k.jvp(g as never, [fx([x0], []), fx([a0], [])], [fx([2], []), fx([-1], [])]);
    allClose(await read(tg), [2 * a0 ** n - 1 * n * x0 * a0 ** (n - 1)], tol, "jvp w.r.t. x and a");
    throwsWith(() => k.grad((x: k.Tensor) => f(x).sum())(fx([1], [])), [
      "whileLoop",
      "not reverse-differentiable",
      "scan",
      "foriLoop",
    ]);
    throwsWith(
      () => k.whileLoop((y: k.Tensor) => y.sub(10), (y: k.Tensor) => y.mul(2), f32([1], [])),
      ["whileLoop", "condFn must return one bool scalar", "float32[]"],
    );
    throwsWith(
      () =>
        k.whileLoop(
          (y: k.Tensor) => y.sum().lt(10),
          (y: k.Tensor) => k.concatenate([y, y]),
          f32([1], [1]),
        ),
      ["whileLoop", "new carry", "float32[2]", "expected float32[1]"],
    );
  });

  // -------------------------------------------------------------------- foriLoop ----

  /** foriLoop test body: x_{i+1} = a x_i + 0.5 i, and its plain-JS reference. */
  const foriBody = (a: k.Tensor) => (i: k.Tensor, x: k.Tensor) =>
    x.mul(a).add(i.astype(fdt).mul(0.5));
  const foriRef = (x0: number, a: number, lo: number, hi: number) => {
    let x = x0;
    for (let i = lo; i < hi; i++) x = a * x + 0.5 * i;
    return x;
  };

  Deno.test(`foriLoop: number bounds, values and tangents [${device}]`, async () => {
    const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-12 } : F32;
    const body = foriBody, ref = foriRef;
    const a = fx([1.1], []), x0 = fx([0.3], []);
    allClose(
      await read(k.foriLoop(2, 7, body(a), x0)),
      [ref(0.3, 1.1, 2, 7)],
      tol,
      "number bounds",
    );
    allClose(await read(k.foriLoop(5, 2, body(a), x0)), [0.3], tol, "empty range");
    // Forward mode with number bounds: dx/dx0 = a^5; dx/da against central differences.
    const [, t0] = k.jvp(((x: k.Tensor) => k.foriLoop(2, 7, body(a), x)) as never, [x0], [
      fx([1], []),
    ]);
    allClose(await read(t0), [1.1 ** 5], tol, "jvp d/dx0");
    const eps = 1e-6;
    const fdA = (ref(0.3, 1.1 + eps, 2, 7) - ref(0.3, 1.1 - eps, 2, 7)) / (2 * eps);
    const [, ta] = k.jvp(((av: k.Tensor) => k.foriLoop(2, 7, body(av), x0)) as never, [a], [
      fx([1], []),
    ]);
    allClose(await read(ta), [fdA], { rtol: 1e-5, atol: 1e-6 }, "jvp d/da (captured)");
    throwsWith(() => k.foriLoop(f32([0], []), 3, body(a), x0), [
      "foriLoop",
      "lo",
      "int32 scalar",
      "float32",
    ]);
    // The loop index as a gather index.
    const table = f32([5, 7, 11, 13], [4]);
    const s = k.foriLoop(
      0,
      4,
      (i: k.Tensor, acc: k.Tensor) => acc.add(k.take(table, i)),
      f32([0], []),
    );
    allClose(await read(s), [36], EXACT);
  });

  // Regression (fixed): foriLoop with tensor bounds always fails: it becomes a whileLoop whose body passes the
  // upper bound through unchanged (`([i, hh, ...c]) => [B.add(i, 1), hh, ...]` in
  // core/transforms/control/loop.ts), which hits the passthrough bug at the end of this file:
  //   k.foriLoop(k.tensor(0, {dtype: "int32"}), k.tensor(3, {dtype: "int32"}), (i, c) => c.mul(2), k.tensor(1))
  //   // -> ~13 s, then RangeError: Invalid array length
  Deno.test({
    name: `foriLoop: tensor bounds run as a whileLoop (values, jit, jvp; grad raises) [${device}]`,
    fn: async () => {
      const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-12 } : F32;
      const body = foriBody, ref = foriRef;
      const a = fx([1.1], []), x0 = fx([0.3], []);
      const tb = (lo: k.Tensor, hi: k.Tensor, av: k.Tensor, x: k.Tensor) =>
        k.foriLoop(lo, hi, body(av), x);
      allClose(await read(tb(i32(2), i32(7), a, x0)), [ref(0.3, 1.1, 2, 7)], tol, "tensor bounds");
      allClose(
        await read(k.foriLoop(i32(1), 4, body(a), x0)),
        [ref(0.3, 1.1, 1, 4)],
        tol,
        "mixed bounds",
      );
      const jt = k.jit(tb);
      for (const [lo, hi] of [[0, 3], [2, 9], [4, 4]]) {
        allClose(
          await read(jt(i32(lo), i32(hi), a, x0)),
          [ref(0.3, 1.1, lo, hi)],
          tol,
          `jit [${lo}, ${hi})`,
        );
      }
      assert.equal(jt.cacheSize(), 1, "bounds are traced, not static");
      const [, t] = k.jvp(((x: k.Tensor) => tb(i32(0), i32(3), a, x)) as never, [x0], [
        fx([1], []),
      ]);
      allClose(await read(t), [1.1 ** 3], tol, "jvp with tensor bounds");
      throwsWith(() => k.grad((x: k.Tensor) => tb(i32(0), i32(3), a, x))(x0), [
        "not reverse-differentiable",
      ]);
    },
  });

  // Regression (fixed): reverse mode through scan (see the regression note on the scan gradient test above): number
  // bounds become a scan, so `k.grad((x) => k.foriLoop(0, 3, (i, c) => c.mul(2), x))(k.tensor(2))`
  // fails after ~13 s with "RangeError: Invalid array length".
  Deno.test({
    name: `foriLoop: number bounds are reverse-differentiable [${device}]`,
    fn: async () => {
      const tol = fdt === "float64" ? { rtol: 1e-10, atol: 1e-12 } : F32;
      const a = fx([1.1], []), x0 = fx([0.3], []);
      allClose(
        await read(k.grad((x: k.Tensor) => k.foriLoop(2, 7, foriBody(a), x))(x0)),
        [1.1 ** 5],
        tol,
        "d/dx0",
      );
      const eps = 1e-6;
      const fdA = (foriRef(0.3, 1.1 + eps, 2, 7) - foriRef(0.3, 1.1 - eps, 2, 7)) / (2 * eps);
      allClose(
        await read(k.grad((av: k.Tensor) => k.foriLoop(2, 7, foriBody(av), x0))(a)),
        [fdA],
        { rtol: 1e-5, atol: 1e-6 },
        "d/da (captured)",
      );
      if (hasFloat64(device)) {
        await k.testing.checkGrads(
          (av: k.Tensor, xv: k.Tensor) => k.foriLoop(0, 4, foriBody(av), xv),
          [a, x0],
          { order: 2 },
        );
      }
    },
  });
}

// Regression (fixed): a traced body whose output is one of its inputs, unchanged, never compiles: the
// scheduler (core/schedule/schedule.ts, `place`) meets the placeholder among its own
// dependencies and pushes it forever, dying after ~10-20 s with "RangeError: Invalid array
// length". Common in practice: a scan that carries a value through, an identity branch.
//   k.scan((c, x) => [c, x.mul(2)], k.tensor(0), k.tensor([1, 2]))            // carry unchanged
//   k.scan((c, x) => [c.add(x), x], k.tensor(0), k.tensor([1, 2]))            // y = x
//   k.cond(k.tensor(true), (a) => a, (a) => a.neg(), x)                       // identity branch
//   k.whileLoop(([i]) => i.lt(3), ([i, a]) => [i.add(1), a], [k.tensor(0, {dtype: "int32"}), x])
// (and `k.jit((x) => x)` / `k.jit((x) => [x, x.mul(2)])`, see transforms_test.ts).
Deno.test({
  name: "control: a body may return one of its inputs unchanged",
  fn: async () => {
    const x = k.tensor([1, 2], { device: "cpu" });
    const [c, ys] = k.scan(
      (c: k.Tensor, x: k.Tensor) => [c, x.mul(2)] as [k.Tensor, k.Tensor],
      k.tensor(7, { device: "cpu" }),
      x,
    );
    allClose(await read(c), [7], EXACT);
    allClose(await read(ys), [2, 4], EXACT);
    const [s, ys2] = k.scan(
      (c: k.Tensor, x: k.Tensor) => [c.add(x), x] as [k.Tensor, k.Tensor],
      k.tensor(0, { device: "cpu" }),
      x,
    );
    allClose(await read(s), [3], EXACT);
    allClose(await read(ys2), [1, 2], EXACT);
    const id = k.cond(
      k.tensor(true, { device: "cpu" }),
      (a: k.Tensor) => a,
      (a: k.Tensor) => a.neg(),
      x,
    );
    allClose(await read(id), [1, 2], EXACT);
    const [, a] = k.whileLoop(
      ([i]: k.Tensor[]) => i.lt(3),
      ([i, a]: k.Tensor[]) => [i.add(1), a],
      [k.tensor(0, { dtype: "int32", device: "cpu" }), x],
    );
    allClose(await read(a), [1, 2], EXACT);
  },
});
