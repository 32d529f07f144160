// Every differentiable op of the tensor API against central finite differences in float64:
// `k.testing.checkGrads(..., {order: 2})` checks jvp and vjp at order 1 and then (recursing on
// the jvp and vjp themselves) at order 2, on random small shapes (1-4 per axis, broadcasting
// pairs included) and random values.
//
// Values are kept away from kinks and poles by construction, so finite differences are valid:
// log/sqrt/rsqrt/pow bases lie in [0.5, 2]; divisors in ±[0.5, 2]; abs/relu inputs and the two
// operands of maximum/minimum/clip come from two interleaved grids (0.2k + 0.05 and
// 0.2k + 0.15), which never hit 0 and never tie (every difference is >= 0.1); max/min
// reductions see distinct values (spacing >= 0.2); mod keeps a/b at least 0.05 from an integer.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";
import type { CheckGradsOptions } from "../core/transforms/check.ts";
import { allPrims } from "../core/ir/primitive.ts";
import { allClose, DEVICES, F32_TOL, hasFloat64, numel, rng } from "./_util.ts";

// ------------------------------------------------------------------------ helpers ----

type Shape = number[];
type Fn = (...xs: k.Tensor[]) => unknown;
interface Built {
  f: Fn;
  args: k.Tensor[];
  opts?: CheckGradsOptions;
}

type Kind =
  | "smooth" // [-2, 2]
  | "wide" // [-5, 5]
  | "pos" // [0.5, 2]
  | "nonzero" // ±[0.5, 2]
  | "prod" // ±[0.5, 1.5]
  | "gridA" // 0.2k + 0.05, k in [-8, 8]: never 0, never equal to a gridB value
  | "gridB" // 0.2k + 0.15
  | "distinct" // all elements distinct, spacing >= 0.2
  | "modA" // integer + 0.5 ± 0.3 (see mod below)
  | "modB"; // ±1, ±2, ±4

function values(kind: Kind, n: number, seed: number): Float64Array {
  const r = rng(seed * 7919 + n);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const sgn = () => (r() < 0.5 ? -1 : 1);
  if (kind === "distinct") {
    const perm = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return Float64Array.from(perm, (p) => 0.3 * p - 0.15 * n + u(0, 0.1));
  }
  return Float64Array.from({ length: n }, () => {
    switch (kind) {
      case "smooth":
        return u(-2, 2);
      case "wide":
        return u(-5, 5);
      case "pos":
        return u(0.5, 2);
      case "nonzero":
        return sgn() * u(0.5, 2);
      case "prod":
        return sgn() * u(0.5, 1.5);
      case "gridA":
        return 0.2 * int(-8, 8) + 0.05;
      case "gridB":
        return 0.2 * int(-8, 8) + 0.15;
      case "modA":
        return int(-4, 4) + 0.5 + u(-0.3, 0.3);
      case "modB":
        return sgn() * [1, 2, 4][int(0, 2)];
    }
  });
}

/** A float64 tensor of `shape` with values of `kind`. */
function mk(kind: Kind, shape: Shape, seed: number, device: string): k.Tensor {
  return k.tensor(values(kind, numel(shape), seed), { shape, device });
}

function broadcastShape(a: Shape, b: Shape): Shape {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    return x === 1 ? y : x;
  });
}

// ------------------------------------------------------------------ arbitraries ----

const dim = fc.integer({ min: 1, max: 4 });
const seedArb = fc.integer({ min: 0, max: 1_000_000 });
const shapeArb = (minRank = 0, maxRank = 3) =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank });

/**
 * Two (or more) shapes that broadcast together: each is a base shape with some axes set to 1
 * and some leading axes dropped.
 */
const broadcastShapesArb = (count: number) =>
  fc.record({
    base: shapeArb(0, 3),
    masks: fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), {
      minLength: count,
      maxLength: count,
    }),
    drops: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: count, maxLength: count }),
  }).map(({ base, masks, drops }) =>
    masks.map((m, i) => base.map((d, j) => (m[j] ? 1 : d)).slice(Math.min(drops[i], base.length)))
  );

/** A reduction axis option for a given rank: all, one (maybe negative), or a list. */
interface AxisPick {
  mode: "all" | "one" | "neg" | "list" | "null";
  pick: number;
  keepdims: boolean;
}
const axisPickArb: fc.Arbitrary<AxisPick> = fc.record({
  mode: fc.constantFrom("all", "one", "neg", "list", "null"),
  pick: fc.integer({ min: 0, max: 1000 }),
  keepdims: fc.boolean(),
});
function axisOf(p: AxisPick, rank: number): number | number[] | null | undefined {
  if (p.mode === "all" || rank === 0) return undefined;
  if (p.mode === "null") return null;
  const a = p.pick % rank;
  if (p.mode === "one") return a;
  if (p.mode === "neg") return a - rank;
  // A non-empty subset of the axes, from the bits of `pick` (one may be negative).
  const axes = [...Array(rank).keys()].filter((i) => (p.pick >> i) & 1);
  if (axes.length === 0) axes.push(a);
  return axes.map((x, i) => (i === 0 && p.pick & 8 ? x - rank : x));
}
function reducedCount(shape: Shape, axis: number | number[] | null | undefined): number {
  if (axis === undefined || axis === null) return numel(shape);
  const list = (typeof axis === "number" ? [axis] : axis).map((
    a,
  ) => (a < 0 ? a + shape.length : a));
  return list.reduce((acc, a) => acc * shape[a], 1);
}

// ------------------------------------------------------------------ the harness ----

const RUNS = 8;

/**
 * One Deno test per float64 device: `checkGrads` at order 2 (hence 1 and 2) on every generated
 * case. (Finite differences need float64; WebGPU's float32 gradients are compared with the
 * CPU's at the end of this file.)
 */
function gradTest<P>(
  name: string,
  arb: fc.Arbitrary<P>,
  build: (p: P, device: string) => Built,
  cfg: { numRuns?: number; ignore?: boolean } = {},
): void {
  for (const device of DEVICES.filter(hasFloat64)) {
    Deno.test({
      name: `grad ops: ${name} [${device}]`,
      ignore: cfg.ignore,
      fn: async () => {
        await fc.assert(
          fc.asyncProperty(arb, async (p) => {
            const { f, args, opts } = build(p, device);
            await k.testing.checkGrads(f, args, { order: 2, ...opts });
          }),
          { numRuns: cfg.numRuns ?? RUNS },
        );
      },
    });
  }
}

// ---------------------------------------------------------------------- unary ----

const UNARY: [string, (x: k.Tensor) => k.Tensor, Kind][] = [
  ["neg", (x) => k.neg(x), "smooth"],
  ["abs", (x) => k.abs(x), "gridA"],
  ["exp", (x) => k.exp(x), "smooth"],
  ["log", (x) => k.log(x), "pos"],
  ["log1p", (x) => k.log1p(x), "pos"],
  ["expm1", (x) => k.expm1(x), "smooth"],
  ["sqrt", (x) => k.sqrt(x), "pos"],
  ["rsqrt", (x) => k.rsqrt(x), "pos"],
  ["sin", (x) => k.sin(x), "smooth"],
  ["cos", (x) => k.cos(x), "smooth"],
  ["tanh", (x) => k.tanh(x), "smooth"],
  ["sigmoid", (x) => k.sigmoid(x), "wide"],
  ["relu", (x) => k.relu(x), "gridA"],
  ["erf", (x) => k.erf(x), "smooth"],
];

for (const [name, op, kind] of UNARY) {
  gradTest(
    `unary ${name}`,
    fc.record({ shape: shapeArb(0, 3), seed: seedArb }),
    ({ shape, seed }, device) => ({ f: op, args: [mk(kind, shape, seed, device)] }),
  );
}

// The same ops as Tensor methods, composed (a chain exercises products of derivatives).
gradTest(
  "unary method chain",
  fc.record({ shape: shapeArb(1, 2), seed: seedArb }),
  ({ shape, seed }, device) => ({
    f: (x) =>
      x.sin().mul(x.exp()).add(x.tanh().sigmoid()).sub(x.erf().neg()).add(x.cos().expm1()).add(
        x.mul(x).add(1.5).log().sqrt().rsqrt().log1p(),
      ),
    args: [mk("smooth", shape, seed, device)],
  }),
);

// ---------------------------------------------------------------------- binary ----

const BINARY: [string, (a: k.Tensor, b: k.Tensor) => k.Tensor, Kind, Kind][] = [
  ["add", (a, b) => k.add(a, b), "smooth", "smooth"],
  ["sub", (a, b) => k.sub(a, b), "smooth", "smooth"],
  ["mul", (a, b) => k.mul(a, b), "smooth", "smooth"],
  ["div", (a, b) => k.div(a, b), "smooth", "nonzero"],
  ["pow", (a, b) => k.pow(a, b), "pos", "smooth"],
  ["maximum", (a, b) => k.maximum(a, b), "gridA", "gridB"],
  ["minimum", (a, b) => k.minimum(a, b), "gridA", "gridB"],
  // a = m + 0.5 ± 0.3 and b ∈ {±1, ±2, ±4}: a/b stays >= 0.05 away from an integer.
  ["mod", (a, b) => k.mod(a, b), "modA", "modB"],
];

for (const [name, op, ka, kb] of BINARY) {
  gradTest(
    `binary ${name} (broadcasting)`,
    fc.record({ shapes: broadcastShapesArb(2), seed: seedArb }),
    ({ shapes: [sa, sb], seed }, device) => ({
      f: op,
      args: [mk(ka, sa, seed, device), mk(kb, sb, seed + 1, device)],
    }),
    { numRuns: 12 },
  );
}

gradTest(
  "binary ops with JS-number operands and methods",
  fc.record({ shape: shapeArb(0, 3), seed: seedArb }),
  ({ shape, seed }, device) => ({
    f: (x) =>
      x.pow(3).add(k.div(2, x)).sub(k.pow(2, x)).add(x.mul(-1.5)).add(k.sub(1, x)).add(
        x.maximum(0.3).add(k.minimum(1.7, x)),
      ).add(x.mod(4)),
    // [0.5, 2]: no ties with 0.3 / 1.7 on this range except in measure zero; mod 4 is smooth.
    args: [
      k.tensor(values("pos", numel(shape), seed).map((v) => (Math.abs(v - 1.7) < 0.01 ? 1.5 : v)), {
        shape,
        device,
      }),
    ],
  }),
);

// ---------------------------------------------------------------------- where / clip ----

gradTest(
  "where (broadcasting cond, x, y)",
  fc.record({ shapes: broadcastShapesArb(3), seed: seedArb }),
  ({ shapes: [sc, sa, sb], seed }, device) => {
    const cond = k.tensor(Array.from(values("smooth", numel(sc), seed + 5), (v) => v > 0), {
      shape: sc,
      device,
    });
    return {
      f: (a, b) => k.where(cond, a.mul(a), b.sin()),
      args: [mk("smooth", sa, seed, device), mk("smooth", sb, seed + 1, device)],
    };
  },
  { numRuns: 12 },
);

gradTest(
  "clip (scalar bounds, one-sided, tensor bounds)",
  fc.record({ shapes: broadcastShapesArb(2), seed: seedArb }),
  ({ shapes: [sx, sl], seed }, device) => {
    // lo from the B grid, hi = lo + 1 (also on the B grid): no ties with x (A grid) or lo/hi.
    const lo = values("gridB", numel(sl), seed + 1);
    return {
      f: (x, l, h) =>
        k.clip(x, -0.5, 0.5).add(x.clip(null, 0.9)).add(k.clip(x, -1.1)).add(k.clip(x, l, h)),
      args: [
        mk("gridA", sx, seed, device),
        k.tensor(lo, { shape: sl, device }),
        k.tensor(lo.map((v) => v + 1), { shape: sl, device }),
      ],
    };
  },
  { numRuns: 12 },
);

// ---------------------------------------------------------------------- reductions ----

const REDUCE: [
  string,
  (x: k.Tensor, o: { axis?: number | number[] | null; keepdims: boolean }) => k.Tensor,
  Kind,
][] = [
  ["sum", (x, o) => k.sum(x, o), "smooth"],
  ["mean", (x, o) => k.mean(x, o), "smooth"],
  ["prod", (x, o) => k.prod(x, o), "prod"],
  ["max", (x, o) => k.max(x, o), "distinct"],
  ["min", (x, o) => k.min(x, o), "distinct"],
  ["variance", (x, o) => k.variance(x, o), "smooth"],
  ["logsumexp", (x, o) => k.logsumexp(x, o), "wide"],
];

for (const [name, op, kind] of REDUCE) {
  gradTest(
    `reduce ${name} (axis/keepdims variants)`,
    fc.record({ shape: shapeArb(1, 3), seed: seedArb, ax: axisPickArb }),
    ({ shape, seed, ax }, device) => ({
      f: (x) => op(x, { axis: axisOf(ax, shape.length), keepdims: ax.keepdims }),
      args: [mk(kind, shape, seed, device)],
    }),
    { numRuns: 12 },
  );
}

gradTest(
  "reduce variance/std with ddof (>= 2 reduced elements, distinct values)",
  fc.record({
    shape: fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 3 }),
    seed: seedArb,
    ax: axisPickArb,
    ddof: fc.constantFrom(0, 1),
  }),
  ({ shape, seed, ax, ddof }, device) => {
    const axis = axisOf(ax, shape.length);
    assert.ok(reducedCount(shape, axis) >= 2);
    return {
      f: (x) =>
        k.std(x, { axis, keepdims: ax.keepdims, ddof }).add(
          x.variance({ axis, keepdims: ax.keepdims, ddof }),
        ),
      args: [mk("distinct", shape, seed, device)],
    };
  },
  { numRuns: 12 },
);

gradTest(
  "reduce methods with scalar results (sum/mean/max/min/prod/logsumexp)",
  fc.record({ shape: shapeArb(0, 2), seed: seedArb }),
  ({ shape, seed }, device) => ({
    f: (x) => x.sum().add(x.mean()).add(x.max()).sub(x.min()).add(x.prod()).add(x.logsumexp()),
    args: [mk("distinct", shape, seed, device).mul(0.2).add(1)],
  }),
);

for (const [name, op] of [["softmax", k.softmax], ["logSoftmax", k.logSoftmax]] as const) {
  gradTest(
    `${name} (axis variants)`,
    fc.record({
      shape: shapeArb(1, 3),
      seed: seedArb,
      pick: fc.integer({ min: 0, max: 100 }),
      dflt: fc.boolean(),
    }),
    ({ shape, seed, pick, dflt }, device) => {
      const r = shape.length;
      const axis = (pick % (2 * r)) - r; // in [-r, r)
      return {
        f: (x) => (dflt ? op(x) : op(x, { axis })),
        args: [mk("wide", shape, seed, device)],
      };
    },
    { numRuns: 12 },
  );
}

gradTest(
  "cumsum (axis / flattened)",
  fc.record({ shape: shapeArb(1, 3), seed: seedArb, pick: fc.integer({ min: -1, max: 100 }) }),
  ({ shape, seed, pick }, device) => {
    const axis = pick < 0 ? undefined : (pick % (2 * shape.length)) - shape.length;
    return { f: (x) => k.cumsum(x, { axis }), args: [mk("smooth", shape, seed, device)] };
  },
  { numRuns: 12 },
);

// Regression: `flip` once had no vjp/jvp rule and a missing rule was a silent zero, so
// cumsum({reverse: true}) (two flips) had gradient 0: grad(x => Σ cumsum(x, {axis: 0, reverse:
// true}) ⊙ [1,10,100]) at [1,2,3] gave [0,0,0] instead of [1,11,111]. Fixed in 8664a89.
gradTest(
  "cumsum reverse",
  fc.record({ shape: shapeArb(1, 3), seed: seedArb, pick: fc.integer({ min: 0, max: 100 }) }),
  ({ shape, seed, pick }, device) => ({
    f: (x) => k.cumsum(x, { axis: pick % shape.length, reverse: true }),
    args: [mk("smooth", shape, seed, device)],
  }),
  { numRuns: 12 },
);

// ---------------------------------------------------------------------- movement ----

/** Applies a smooth nonlinearity after a movement op so second derivatives are non-trivial. */
const sq = (t: k.Tensor) => t.mul(t);

gradTest(
  "reshape (incl. -1, rank changes)",
  fc.record({ shape: shapeArb(0, 3), seed: seedArb, which: fc.integer({ min: 0, max: 4 }) }),
  ({ shape, seed, which }, device) => {
    const n = numel(shape);
    const targets: number[][] = [[n], [-1], [...shape].reverse(), [1, ...shape, 1], [n, 1]];
    return {
      f: (x) => sq(k.reshape(x, targets[which])).add(x.reshape([-1]).sum()),
      args: [mk("smooth", shape, seed, device)],
    };
  },
);

gradTest(
  "transpose (random perm, default reverse, .T)",
  fc.record({ shape: shapeArb(1, 4), seed: seedArb, permSeed: seedArb }),
  ({ shape, seed, permSeed }, device) => {
    const r = rng(permSeed);
    const perm = [...shape.keys()].sort(() => r() - 0.5);
    return {
      f: (x) => [sq(k.transpose(x, perm)), x.T.sin(), x.transpose().mul(2)],
      args: [mk("smooth", shape, seed, device)],
    };
  },
);

gradTest(
  "expandDims / squeeze",
  fc.record({ shape: shapeArb(0, 3), seed: seedArb, pick: fc.integer({ min: 0, max: 100 }) }),
  ({ shape, seed, pick }, device) => {
    const r = shape.length + 1;
    const axis = (pick % (2 * r)) - r;
    return {
      f: (x) => {
        const e = k.expandDims(x, axis);
        return [sq(e), k.squeeze(e, axis).sin(), sq(k.squeeze(e)), x.expandDims([0, -1]).squeeze()];
      },
      args: [mk("smooth", shape, seed, device)],
    };
  },
);

gradTest(
  "broadcastTo",
  fc.record({ shapes: broadcastShapesArb(2), seed: seedArb }),
  ({ shapes: [sa, sb], seed }, device) => {
    const target = broadcastShape(sa, sb);
    return {
      f: (x) => sq(k.broadcastTo(x, target)).add(x.broadcastTo(target).sin()),
      args: [mk("smooth", sa, seed, device)],
    };
  },
  { numRuns: 12 },
);

/** Per-axis slice specs with positive steps, non-empty, start/stop sometimes negative or null. */
const sliceArb = fc.record({
  shape: shapeArb(1, 3),
  seed: seedArb,
  specSeed: seedArb,
});
type Spec = [number | null, number | null, number];
function posSlices(shape: Shape, specSeed: number): Spec[] {
  const r = rng(specSeed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  return shape.map((n) => {
    const start = int(0, n - 1), stop = int(start + 1, n), step = int(1, 3);
    return [
      r() < 0.3 ? start - n : start,
      stop === n && r() < 0.5 ? null : r() < 0.3 ? stop - n : stop,
      step,
    ];
  });
}

gradTest(
  "slice (positive steps, negative indices)",
  sliceArb,
  ({ shape, seed, specSeed }, device) => {
    const specs = posSlices(shape, specSeed);
    return {
      f: (x) => sq(k.slice(x, specs)).add(x.slice(specs.slice(0, 1)).sum()),
      args: [mk("smooth", shape, seed, device)],
    };
  },
  { numRuns: 12 },
);

// Regression: negative steps lower to flip + shrink; with flip underivable the gradient of
// Σ x[::-1] ⊙ [1,10,100] at [1,2,3] was [0,0,0] instead of [100,10,1] (fixed in 8664a89).
gradTest("slice (negative steps)", sliceArb, ({ shape, seed, specSeed }, device) => {
  const r = rng(specSeed);
  const specs = shape.map((n): Spec => [Math.floor(r() * n), null, -1 - Math.floor(r() * 2)]);
  return { f: (x) => sq(k.slice(x, specs)), args: [mk("smooth", shape, seed, device)] };
}, { numRuns: 12 });

gradTest(
  "pad (positive and negative amounts, fill value)",
  fc.record({ shape: shapeArb(1, 3), seed: seedArb, padSeed: seedArb }),
  ({ shape, seed, padSeed }, device) => {
    const r = rng(padSeed);
    const pads = shape.map((n) => {
      // Crop at most n - 1 in total so something is left.
      const lo = Math.floor(r() * 4) - 1, hi = Math.floor(r() * 4) - 1;
      const crop = Math.max(0, -lo) + Math.max(0, -hi);
      return (crop >= n ? [Math.max(lo, 0), Math.max(hi, 0)] : [lo, hi]) as [number, number];
    });
    const value = Math.round(r() * 4) - 2;
    return {
      f: (x) => sq(k.pad(x, pads, { value })),
      args: [mk("smooth", shape, seed, device)],
    };
  },
  { numRuns: 12 },
);

// Regression: flip's vjp/jvp rules (missing before 8664a89: grads and tangents were 0).
gradTest(
  "flip",
  fc.record({ shape: shapeArb(1, 3), seed: seedArb, pick: fc.integer({ min: -1, max: 100 }) }),
  ({ shape, seed, pick }, device) => ({
    f: (x) => sq(pick < 0 ? k.flip(x) : k.flip(x, { axis: pick % shape.length })),
    args: [mk("smooth", shape, seed, device)],
  }),
  { numRuns: 12 },
);

gradTest(
  "concatenate (2-3 pieces, random axis)",
  fc.record({
    shape: shapeArb(1, 3),
    seed: seedArb,
    pick: fc.integer({ min: 0, max: 100 }),
    sizes: fc.array(dim, { minLength: 2, maxLength: 3 }),
  }),
  ({ shape, seed, pick, sizes }, device) => {
    const axis = (pick % (2 * shape.length)) - shape.length;
    const a = axis < 0 ? axis + shape.length : axis;
    const args = sizes.map((s, i) =>
      mk("smooth", shape.map((d, j) => (j === a ? s : d)), seed + i, device)
    );
    return { f: (...xs) => sq(k.concatenate(xs, { axis })), args };
  },
);

gradTest(
  "stack (2-3 tensors, random axis)",
  fc.record({
    shape: shapeArb(0, 3),
    seed: seedArb,
    pick: fc.integer({ min: 0, max: 100 }),
    count: fc.integer({ min: 2, max: 3 }),
  }),
  ({ shape, seed, pick, count }, device) => {
    const r = shape.length + 1;
    const axis = (pick % (2 * r)) - r;
    const args = Array.from({ length: count }, (_, i) => mk("smooth", shape, seed + i, device));
    return { f: (...xs) => sq(k.stack(xs, { axis })), args };
  },
);

gradTest(
  "split (sections and indices; tree of outputs)",
  fc.record({
    shape: shapeArb(1, 3),
    seed: seedArb,
    pick: fc.integer({ min: 0, max: 100 }),
    useIdx: fc.boolean(),
    cuts: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 2 }),
  }),
  ({ shape, seed, pick, useIdx, cuts }, device) => {
    const axis = pick % shape.length;
    const n = shape[axis];
    const sections = [1, 2, 3, 4].filter((s) => n % s === 0)[pick % 2] ?? 1;
    return {
      f: (x) => {
        const parts = k.split(
          x,
          useIdx ? [...cuts].sort((a, b) => a - b).filter((c) => c >= 0) : sections,
          {
            axis,
          },
        ).filter((p) => p.size > 0);
        return parts.map((p, i) => sq(p).mul(i + 1));
      },
      args: [mk("smooth", shape, seed, device)],
    };
  },
);

gradTest(
  "tile",
  fc.record({
    shape: shapeArb(0, 2),
    seed: seedArb,
    reps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  }),
  ({ shape, seed, reps }, device) => ({
    f: (x) => sq(k.tile(x, reps)).add(x.tile(reps[0]).sin().sum()),
    args: [mk("smooth", shape, seed, device)],
  }),
);

gradTest(
  "repeat (axis / flattened)",
  fc.record({
    shape: shapeArb(1, 3),
    seed: seedArb,
    repeats: fc.integer({ min: 1, max: 3 }),
    pick: fc.integer({ min: -1, max: 100 }),
  }),
  ({ shape, seed, repeats, pick }, device) => ({
    f: (x) =>
      sq(pick < 0 ? k.repeat(x, repeats) : x.repeat(repeats, { axis: pick % shape.length })),
    args: [mk("smooth", shape, seed, device)],
  }),
);

// ---------------------------------------------------------------------- linalg ----

const MATMUL_MODES = [
  "2d",
  "batched",
  "bcast-batch",
  "vec-vec",
  "vec-mat",
  "mat-vec",
  "batch-vec",
] as const;
gradTest(
  "matmul (2-D, batched, broadcast batch, vectors)",
  fc.record({
    mode: fc.constantFrom(...MATMUL_MODES),
    m: dim,
    kk: dim,
    n: dim,
    b: dim,
    c: dim,
    seed: seedArb,
  }),
  ({ mode, m, kk, n, b, c, seed }, device) => {
    const shapes: Record<typeof MATMUL_MODES[number], [Shape, Shape]> = {
      "2d": [[m, kk], [kk, n]],
      "batched": [[b, m, kk], [b, kk, n]],
      "bcast-batch": [[b, 1, m, kk], [c, kk, n]],
      "vec-vec": [[kk], [kk]],
      "vec-mat": [[kk], [b, kk, n]],
      "mat-vec": [[m, kk], [kk]],
      "batch-vec": [[b, m, kk], [kk]],
    };
    const [sa, sb] = shapes[mode];
    return {
      f: (a, bb) => {
        const y = k.matmul(a, bb);
        return [y, sq(a.matmul(bb))];
      },
      args: [mk("smooth", sa, seed, device), mk("smooth", sb, seed + 1, device)],
    };
  },
  { numRuns: 12 },
);

gradTest(
  "dot (scalar, vectors, matrices, N-D)",
  fc.record({
    mode: fc.constantFrom("scalar", "vv", "mm", "mv", "nd"),
    m: dim,
    kk: dim,
    n: dim,
    b: dim,
    seed: seedArb,
  }),
  ({ mode, m, kk, n, b, seed }, device) => {
    const shapes: Record<string, [Shape, Shape]> = {
      scalar: [[], [m, n]],
      vv: [[kk], [kk]],
      mm: [[m, kk], [kk, n]],
      mv: [[m, kk], [kk]],
      nd: [[b, m, kk], [kk, n]],
    };
    const [sa, sb] = shapes[mode];
    return {
      f: (a, bb) => sq(k.dot(a, bb)).add(a.dot(bb).sum()),
      args: [mk("smooth", sa, seed, device), mk("smooth", sb, seed + 1, device)],
    };
  },
  { numRuns: 12 },
);

const EINSUM: [string, (d: number[]) => Shape[]][] = [
  ["ij,jk->ik", ([i, j, kk]) => [[i, j], [j, kk]]],
  ["ii->", ([i]) => [[i, i]]],
  ["ii->i", ([i]) => [[i, i]]],
  ["ij->ji", ([i, j]) => [[i, j]]],
  ["bij,bjk->bik", ([b, i, j, kk]) => [[b, i, j], [b, j, kk]]],
  ["i,i->", ([i]) => [[i], [i]]],
  ["ij,j->i", ([i, j]) => [[i, j], [j]]],
  ["i,j->ij", ([i, j]) => [[i], [j]]],
  ["ijk->kj", ([i, j, kk]) => [[i, j, kk]]],
  ["ij,jk", ([i, j, kk]) => [[i, j], [j, kk]]], // implicit output "ik"
  ["iij,jk->ik", ([i, j, kk]) => [[i, i, j], [j, kk]]],
];
gradTest(
  "einsum (several specs incl. ii->)",
  fc.record({
    which: fc.integer({ min: 0, max: EINSUM.length - 1 }),
    dims: fc.array(dim, { minLength: 4, maxLength: 4 }),
    seed: seedArb,
  }),
  ({ which, dims, seed }, device) => {
    const [spec, shapes] = EINSUM[which];
    return {
      f: (...xs) => sq(k.einsum(spec, ...xs)),
      args: shapes(dims).map((s, i) => mk("smooth", s, seed + i, device)),
    };
  },
  { numRuns: 24 },
);

// ---------------------------------------------------------------------- take / astype ----

gradTest(
  "take (repeated and negative indices, axis / flattened)",
  fc.record({
    shape: shapeArb(1, 3),
    seed: seedArb,
    pick: fc.integer({ min: -1, max: 100 }),
    indShape: shapeArb(0, 2),
    indSeed: seedArb,
  }),
  ({ shape, seed, pick, indShape, indSeed }, device) => {
    const axis = pick < 0 ? undefined : pick % shape.length;
    const n = axis === undefined ? numel(shape) : shape[axis];
    const r = rng(indSeed);
    const count = numel(indShape);
    // In [-n, n-1]; the first two entries are the same position (one of them possibly negative).
    const raw = Array.from({ length: count }, () => Math.floor(r() * 2 * n) - n);
    if (count >= 2) raw[1] = raw[0] < 0 ? raw[0] + n : raw[0] - n;
    const ind = k.tensor(Int32Array.from(raw), { shape: indShape, device });
    return {
      f: (x) => sq(k.take(x, ind, { axis })).add(x.take([0, 0, -1], { axis }).sum()),
      args: [mk("smooth", shape, seed, device)],
    };
  },
  { numRuns: 12 },
);

gradTest(
  "astype float64 -> float32 -> float64",
  fc.record({ shape: shapeArb(0, 3), seed: seedArb }),
  ({ shape, seed }, device) => ({
    // A quadratic: central differences are exact up to float32 rounding, hence the looser eps.
    f: (x) => {
      const x32 = x.astype("float32");
      return x32.mul(x32).add(x32.mul(0.5)).astype("float64").add(x.mul(x.astype("float32")));
    },
    args: [mk("smooth", shape, seed, device)],
    opts: { eps: 1e-2, atol: 1e-3, rtol: 1e-3 },
  }),
);

for (const device of DEVICES.filter(hasFloat64)) {
  Deno.test(`grad ops: gradient dtype follows the input through casts [${device}]`, async () => {
    const x32 = k.tensor([0.5, -1.25, 2], { device });
    const g32 = k.grad((x: k.Tensor) => x.astype("float64").mul(x.astype("float64")).sum())(
      x32,
    ) as k.Tensor;
    assert.equal(g32.dtype, "float32");
    allClose(await g32.data(), [1, -2.5, 4]);
    const x64 = k.tensor([0.5, -1.25, 2], { dtype: "float64", device });
    const g64 = k.grad((x: k.Tensor) => x.astype("float32").mul(3).sum())(x64) as k.Tensor;
    assert.equal(g64.dtype, "float64");
    allClose(await g64.data(), [3, 3, 3]);
  });
}

Deno.test("grad ops: every non-source primitive has both derivative rules", () => {
  // A missing rule used to mean a silent zero derivative (how flip's went unnoticed); now it is
  // an error at differentiation time. Piecewise-constant ops carry explicit zero rules.
  // Call primitives keep their (multi-output) rules in `call`; a proj's are its call's. A jit
  // call is never differentiated: under a transform, jit inlines its function.
  const missing = allPrims()
    .filter((p) => p.kind !== "source" && p.kind !== "proj" && p.name !== "jit")
    .filter((p) => p.kind === "call" ? !p.call?.vjp && !p.call?.jvp : !p.vjp || !p.jvp)
    .map((p) => p.name);
  assert.deepEqual(missing, []);
});

// float32 gradients on devices without float64: every unary and binary op (and the reductions)
// differentiated on the device must agree with the same float32 gradient on the CPU.
for (const device of DEVICES.filter((d) => !hasFloat64(d))) {
  Deno.test(`grad ops: float32 gradients match the CPU [${device}]`, async () => {
    const f32 = (kind: Kind, shape: Shape, seed: number, dev: string) =>
      k.tensor(Float32Array.from(values(kind, numel(shape), seed)), { shape, device: dev });
    const cases: [string, (dev: string) => k.Tensor][] = [];
    for (const [name, op, kind] of UNARY) {
      cases.push([name, (dev) => k.grad((x: k.Tensor) => op(x).sum())(f32(kind, [3, 4], 1, dev))]);
    }
    for (const [name, op, ka, kb] of BINARY) {
      cases.push([name, (dev) => {
        const b = f32(kb, [4], 3, dev);
        return k.grad((a: k.Tensor) => op(a, b).mul(a).sum())(f32(ka, [3, 4], 2, dev));
      }]);
    }
    const reductions: [string, (x: k.Tensor) => k.Tensor][] = [
      ["sum", (x) => x.sum({ axis: 1 }).exp().sum()],
      ["max", (x) => x.max({ axis: 0 }).mul(x.sum({ axis: 0 })).sum()],
      ["prod", (x) => x.prod({ axis: 1 }).sum()],
      ["softmax", (x) => x.softmax().mul(x).sum()],
      ["logsumexp", (x) => x.logsumexp({ axis: 1 }).sum()],
      ["variance", (x) => x.variance({ axis: 1 }).sum()],
      ["matmul", (x) => k.matmul(x, x.T).tanh().sum()],
      ["cumsum", (x) => x.cumsum({ axis: 1 }).mul(x).sum()],
    ];
    for (const [name, f] of reductions) {
      cases.push([name, (dev) => k.grad(f)(f32("distinct", [3, 4], 4, dev))]);
    }
    const got = await Promise.all(cases.map(([, g]) => g(device).data()));
    const want = await Promise.all(cases.map(([, g]) => g("cpu").data()));
    cases.forEach(([name], i) => allClose(got[i], want[i], F32_TOL[device], `d/dx ${name}`));
  });
}
