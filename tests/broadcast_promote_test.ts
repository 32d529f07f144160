/**
 * numpy broadcasting and the dtype promotion rules of `core/dtype.ts`
 * (`bool < int32 < float32 < float64`, JS numbers are weak scalars), then property tests of the
 * movement ops against naive index-math references.
 */
import fc from "fast-check";
import * as k from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import {
  allClose,
  assertShape,
  DEVICES,
  EXACT,
  hasFloat64,
  iotaArray,
  numel,
  ravel,
  TOL,
  unravel,
} from "./_util.ts";

const RUNS = { numRuns: 60 };
/** Property runs per device: each new shape is a new WGSL pipeline on WebGPU, so fewer there. */
const runsOn = (device: string, n = RUNS.numRuns) => ({ numRuns: device === "cpu" ? n : 20 });
/** The widest float a device has (exact small values fit both). */
const wide = (device: string): DType => hasFloat64(device) ? "float64" : "float32";
const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

async function expectTensor(
  t: Tensor,
  dtype: DType,
  shape: readonly number[],
  values: ArrayLike<number>,
  msg: string,
) {
  if (t.dtype !== dtype) throw new Error(`${msg}: dtype ${t.dtype}, expected ${dtype}`);
  assertShape(t.shape, shape, msg);
  allClose(await t.data(), values, TOL[dtype], msg);
}

// ------------------------------------------------------------------- promotion table ----

for (const device of DEVICES) {
  const t = (data: number[] | boolean[], dtype: DType) => k.tensor(data, { dtype, device });

  Deno.test(`promotion: tensor-tensor lattice bool < int32 < float32 < float64 [${device}]`, async () => {
    const i = t([1, -2, 3], "int32");
    await expectTensor(k.add(i, t([4, 5, 6], "int32")), "int32", [3], [5, 3, 9], "int32+int32");
    await expectTensor(
      k.add(i, t([0.5, 0.25, 1], "float32")),
      "float32",
      [3],
      [1.5, -1.75, 4],
      "int32+float32",
    );
    if (hasFloat64(device)) {
      await expectTensor(
        k.add(t([0.5, 1, 2], "float32"), t([1, 2, 3], "float64")),
        "float64",
        [
          3,
        ],
        [1.5, 3, 5],
        "float32+float64",
      );
      await expectTensor(
        k.add(i, t([0.5, 1, 2], "float64")),
        "float64",
        [3],
        [1.5, -1, 5],
        "int32+float64",
      );
    }
    await expectTensor(
      k.add(t([true, false, true], "bool"), i),
      "int32",
      [3],
      [2, -2, 4],
      "bool+int32",
    );
    await expectTensor(
      k.mul(t([true, false, true], "bool"), t([1.5, 2, 3], "float32")),
      "float32",
      [3],
      [1.5, 0, 3],
      "bool*float32",
    );
  });

  // Regression: arithmetic on bool once stored non-0/1 bytes. numpy: True + True == True.
  Deno.test({
    name: `promotion: bool + bool stays bool with 0/1 values [${device}]`,
    fn: async () => {
      const a = t([true, true, false, false], "bool"), b = t([true, false, true, false], "bool");
      const bb = k.add(a, b);
      await expectTensor(bb, "bool", [4], [1, 1, 1, 0], "bool+bool");
      await expectTensor(k.equal(bb, true), "bool", [4], [1, 1, 1, 0], "equal(bool+bool, true)");
      await expectTensor(k.sum(bb), "int32", [], [3], "sum(bool+bool)");
      // A JS integer is a weak int: bool + 1 promotes to int32 (as JAX).
      await expectTensor(k.add(a, 1), "int32", [4], [2, 2, 1, 1], "bool + 1");
    },
  });

  Deno.test(`promotion: JS numbers are weak scalars [${device}]`, async () => {
    const i = t([1, 2, 3], "int32");
    await expectTensor(k.add(i, 2), "int32", [3], [3, 4, 5], "int32 + 2");
    await expectTensor(k.mul(3, i), "int32", [3], [3, 6, 9], "3 * int32");
    await expectTensor(k.add(i, 1.5), "float32", [3], [2.5, 3.5, 4.5], "int32 + 1.5");
    await expectTensor(k.add(t([0.5, 1], "float32"), 2), "float32", [2], [2.5, 3], "float32 + 2");
    // A weak scalar next to float64 keeps full double precision (0.1 is not rounded to float32).
    if (hasFloat64(device)) {
      const f64 = k.add(t([0, 1], "float64"), 0.1);
      await expectTensor(f64, "float64", [2], [0.1, 1.1], "float64 + 0.1");
      if ((await f64.data())[0] !== 0.1) throw new Error("float64 + 0.1 lost precision");
    }
    await expectTensor(k.add(t([true, false], "bool"), 2), "int32", [2], [3, 2], "bool + 2");
    await expectTensor(
      k.add(t([true, false], "bool"), 0.5),
      "float32",
      [2],
      [1.5, 0.5],
      "bool + 0.5",
    );
  });

  Deno.test(`promotion: div, comparisons, reductions [${device}]`, async () => {
    const a = t([7, -7, 1, 0], "int32"), b = t([2, 2, 4, 5], "int32");
    await expectTensor(k.div(a, b), "float32", [4], [3.5, -3.5, 0.25, 0], "int32 / int32");
    await expectTensor(k.div(a, 2), "float32", [4], [3.5, -3.5, 0.5, 0], "int32 / 2");
    await expectTensor(k.less(a, b), "bool", [4], [0, 1, 1, 1], "less int32");
    await expectTensor(k.equal(a, 7), "bool", [4], [1, 0, 0, 0], "equal int32, 7");
    const w = wide(device);
    await expectTensor(k.greater(t([0.5, 2], w), 1), "bool", [2], [0, 1], `greater ${w}`);
    await expectTensor(k.notEqual(t([0.5, 2], "float32"), t([0.5, 3], w)), "bool", [2], [
      0,
      1,
    ], "notEqual mixed");
    await expectTensor(k.greaterEqual(a, b), "bool", [4], [1, 0, 0, 0], "greaterEqual int32");
    await expectTensor(k.lessEqual(a, b), "bool", [4], [0, 1, 1, 1], "lessEqual int32");
    const mask = t([true, false, true, true, false, true], "bool");
    await expectTensor(k.sum(mask), "int32", [], [4], "sum bool");
    await expectTensor(
      k.sum(k.reshape(mask, [2, 3]), { axis: 1 }),
      "int32",
      [2],
      [2, 2],
      "sum bool axis 1",
    );
    await expectTensor(k.sum(a), "int32", [], [1], "sum int32");
    await expectTensor(k.mean(a), "float32", [], [0.25], "mean int32");
    await expectTensor(k.mean(t([1, 2, 3, 5], w)), w, [], [2.75], `mean ${w}`);
  });
}

// Regression: NaN once converted to false in bool conversions; numpy/JAX treat NaN as true.
// numpy, PyTorch and JAX treat any nonzero value, NaN included, as true:
// np.array([np.nan]).astype(bool) == [True], np.logical_not(np.nan) == False.
for (const device of DEVICES) {
  Deno.test({
    name: `conversion: NaN is truthy when cast to bool [${device}]`,
    fn: async () => {
      const nan = k.tensor([NaN, 0, 2], { device });
      await expectTensor(k.astype(nan, "bool"), "bool", [3], [1, 0, 1], "astype(NaN, bool)");
      await expectTensor(k.logicalNot(nan), "bool", [3], [0, 1, 0], "logicalNot(NaN)");
      await expectTensor(k.where(nan, 1, 2), "float32", [3], [1, 2, 1], "where(NaN, 1, 2)");
      const lit = k.tensor([NaN], { device, dtype: "bool" });
      await expectTensor(lit, "bool", [1], [1], "tensor([NaN], bool)");
    },
  });
}

// --------------------------------------------------------------- broadcasting property ----

/** A pair of broadcast-compatible shapes: both are (suffixes of) `out` with some dims set to 1. */
const bcastShapes = fc.integer({ min: 0, max: 4 }).chain((r) =>
  fc.tuple(
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: r, maxLength: r }),
    fc.integer({ min: 0, max: r }),
    fc.integer({ min: 0, max: r }),
    fc.array(fc.boolean(), { minLength: r, maxLength: r }),
    fc.array(fc.boolean(), { minLength: r, maxLength: r }),
  ).map(([out, ra, rb, oneA, oneB]) => ({
    a: out.slice(r - ra).map((d, i) => oneA[r - ra + i] ? 1 : d),
    b: out.slice(r - rb).map((d, i) => oneB[r - rb + i] ? 1 : d),
  }))
);

/** Naive numpy broadcast of two shapes. */
function refBroadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[i - (r - a.length)] ?? 1, db = b[i - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error("test bug: not broadcastable");
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index of the broadcast source element for output multi-index `idx`. */
function srcIndex(idx: readonly number[], shape: readonly number[]): number {
  const off = idx.length - shape.length;
  return ravel(shape.map((d, i) => d === 1 ? 0 : idx[off + i]), shape);
}

const numDtype = fc.constantFrom<DType>("int32", "float32", "float64");
const numDtypeOn = (device: string) =>
  hasFloat64(device) ? numDtype : fc.constantFrom<DType>("int32", "float32");

for (const device of DEVICES) {
  Deno.test(`property: add broadcasts like numpy and promotes by the lattice [${device}]`, async () => {
    await fc.assert(
      fc.asyncProperty(
        bcastShapes,
        numDtypeOn(device),
        numDtypeOn(device),
        async ({ a, b }, da, db) => {
          // Distinct, exactly representable values: a in [1, 81], b in multiples of 1000.
          const av = iotaArray(numel(a), 1, 1), bv = iotaArray(numel(b), -1000, -1000);
          const x = k.tensor(av, { dtype: da, device, shape: a });
          const y = k.tensor(bv, { dtype: db, device, shape: b });
          const outShape = refBroadcastShape(a, b);
          const ref = new Float64Array(numel(outShape));
          for (let f = 0; f < ref.length; f++) {
            const idx = unravel(f, outShape);
            ref[f] = av[srcIndex(idx, a)] + bv[srcIndex(idx, b)];
          }
          const dtype = RANK[da] >= RANK[db] ? da : db;
          const msg = `add ${da}[${a}] + ${db}[${b}]`;
          await expectTensor(k.add(x, y), dtype, outShape, ref, msg);
        },
      ),
      runsOn(device),
    );
  });
}

// ---------------------------------------------------------------- movement properties ----

const shapeArb = (maxRank = 4, maxDim = 4) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 0, maxLength: maxRank });

/** A float64 (float32 without float64) tensor with distinct values 0.5, 1.5, 2.5, … */
function distinct(shape: readonly number[], device: string) {
  const vals = iotaArray(numel(shape), 1, 0.5);
  return { vals, x: k.tensor(vals, { dtype: wide(device), device, shape }) };
}

/** A shuffled regrouping of `shape`'s dims into another shape with the same element count. */
const reshapePair = shapeArb().chain((s1) =>
  fc.tuple(
    fc.shuffledSubarray(s1, { minLength: s1.length, maxLength: s1.length }),
    fc.array(fc.boolean(), { minLength: s1.length, maxLength: s1.length }),
    fc.boolean(),
  ).map(([perm, merge, useNeg]) => {
    const s2: number[] = [];
    perm.forEach((d, i) => {
      if (merge[i] && s2.length > 0) s2[s2.length - 1] *= d;
      else s2.push(d);
    });
    const spec = useNeg && s2.length > 0 ? s2.map((d, i) => i === 0 ? -1 : d) : s2;
    return { s1, s2, spec };
  })
);

const permutation = (n: number) =>
  fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });

/** Python `range(*slice(start, stop, step).indices(n))` as a list. */
function pySliceIndices(n: number, start: number | null, stop: number | null, step: number) {
  const out: number[] = [];
  if (step > 0) {
    const lo = start === null ? 0 : Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const hi = stop === null ? n : Math.min(Math.max(stop < 0 ? stop + n : stop, 0), n);
    for (let i = lo; i < hi; i += step) out.push(i);
  } else {
    const lo = start === null
      ? n - 1
      : Math.min(Math.max(start < 0 ? start + n : start, -1), n - 1);
    const hi = stop === null ? -1 : Math.min(Math.max(stop < 0 ? stop + n : stop, -1), n - 1);
    for (let i = lo; i > hi; i += step) out.push(i);
  }
  return out;
}

const sliceEntry = fc.tuple(
  fc.option(fc.integer({ min: -6, max: 6 }), { nil: null }),
  fc.option(fc.integer({ min: -6, max: 6 }), { nil: null }),
  fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0),
);

/** Gathers `vals` (shape `shape`) at the cartesian product of per-axis index lists. */
function gatherProduct(vals: number[], shape: readonly number[], lists: number[][]) {
  const outShape = lists.map((l) => l.length);
  const out: number[] = [];
  for (let f = 0; f < numel(outShape); f++) {
    const o = unravel(f, outShape);
    out.push(vals[ravel(o.map((j, ax) => lists[ax][j]), shape)]);
  }
  return { outShape, out };
}

for (const device of DEVICES) {
  Deno.test(`property: reshape round trip [${device}]`, async () => {
    await fc.assert(
      fc.asyncProperty(reshapePair, async ({ s1, s2, spec }) => {
        const { vals, x } = distinct(s1, device);
        const y = k.reshape(x, spec);
        assertShape(y.shape, s2, `reshape [${s1}] -> [${spec}]`);
        allClose(await y.data(), vals, EXACT, `reshape [${s1}] -> [${spec}] keeps row-major order`);
        const back = k.reshape(y, s1);
        assertShape(back.shape, s1, "reshape back");
        allClose(await back.data(), vals, EXACT, `reshape [${s1}] -> [${spec}] -> back`);
      }),
      runsOn(device),
    );
  });

  Deno.test(`property: transpose matches naive reference and inverts [${device}]`, async () => {
    const arb = shapeArb().chain((s) => permutation(s.length).map((p) => ({ s, p })));
    await fc.assert(
      fc.asyncProperty(arb, async ({ s, p }) => {
        const { vals, x } = distinct(s, device);
        const y = k.transpose(x, p);
        const outShape = p.map((a) => s[a]);
        const ref: number[] = [];
        for (let f = 0; f < numel(outShape); f++) {
          const j = unravel(f, outShape);
          const i = new Array<number>(s.length);
          p.forEach((a, kk) => i[a] = j[kk]);
          ref.push(vals[ravel(i, s)]);
        }
        await expectTensor(y, wide(device), outShape, ref, `transpose [${s}] by [${p}]`);
        const inv = p.map((_, a) => p.indexOf(a));
        await expectTensor(
          k.transpose(y, inv),
          wide(device),
          s,
          vals,
          `transpose back by [${inv}]`,
        );
      }),
      runsOn(device),
    );
  });

  Deno.test(`property: slice with random start/stop/step matches Python [${device}]`, async () => {
    const arb = shapeArb(3, 5).filter((s) => s.length > 0).chain((s) =>
      fc.array(sliceEntry, { minLength: 1, maxLength: s.length }).map((specs) => ({ s, specs }))
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ s, specs }) => {
        const { vals, x } = distinct(s, device);
        const lists = s.map((n, ax) =>
          ax < specs.length
            ? pySliceIndices(n, specs[ax][0], specs[ax][1], specs[ax][2])
            : [...Array(n).keys()]
        );
        const { outShape, out } = gatherProduct(vals, s, lists);
        // SliceSpec types an omitted start as undefined (stop may be null).
        const y = k.slice(x, specs.map(([a, b, c]) => [a ?? undefined, b, c] as const));
        await expectTensor(y, wide(device), outShape, out, `slice [${s}] ${JSON.stringify(specs)}`);
      }),
      runsOn(device, 100),
    );
  });

  Deno.test(`property: pad then slice back is the identity [${device}]`, async () => {
    const arb = shapeArb(3).chain((s) =>
      fc.tuple(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), {
          minLength: s.length,
          maxLength: s.length,
        }),
        fc.integer({ min: -5, max: 5 }),
      ).map(([pads, value]) => ({ s, pads, value }))
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ s, pads, value }) => {
        const { vals, x } = distinct(s, device);
        const y = k.pad(x, pads, { value });
        const outShape = s.map((d, i) => d + pads[i][0] + pads[i][1]);
        const ref: number[] = [];
        for (let f = 0; f < numel(outShape); f++) {
          const o = unravel(f, outShape);
          const i = o.map((j, ax) => j - pads[ax][0]);
          ref.push(i.every((v, ax) => v >= 0 && v < s[ax]) ? vals[ravel(i, s)] : value);
        }
        const msg = `pad [${s}] by ${JSON.stringify(pads)} value ${value}`;
        await expectTensor(y, wide(device), outShape, ref, msg);
        const back = k.slice(y, pads.map(([a], i) => [a, a + s[i]]));
        await expectTensor(back, wide(device), s, vals, `${msg}, sliced back`);
      }),
      runsOn(device),
    );
  });

  Deno.test(`property: concatenate then split returns the originals [${device}]`, async () => {
    const arb = shapeArb(3).filter((s) => s.length > 0).chain((s) =>
      fc.tuple(
        fc.integer({ min: 0, max: s.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
      ).map(([axis, sizes]) => ({ s, axis, sizes }))
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ s, axis, sizes }) => {
        let offset = 0;
        const parts = sizes.map((n) => {
          const shape = s.map((d, i) => i === axis ? n : d);
          const vals = iotaArray(numel(shape), 1, offset);
          offset += 1000;
          return { shape, vals, t: k.tensor(vals, { dtype: wide(device), device, shape }) };
        });
        const cat = k.concatenate(parts.map((p) => p.t), { axis });
        const total = sizes.reduce((a, b) => a + b, 0);
        const catShape = s.map((d, i) => i === axis ? total : d);
        // Naive reference: walk the output and find the part that owns each index.
        const ref: number[] = [];
        for (let f = 0; f < numel(catShape); f++) {
          const o = unravel(f, catShape);
          let j = o[axis], pi = 0;
          while (j >= sizes[pi]) j -= sizes[pi++];
          const idx = o.map((v, ax) => ax === axis ? j : v);
          ref.push(parts[pi].vals[ravel(idx, parts[pi].shape)]);
        }
        const msg = `concatenate ${parts.map((p) => `[${p.shape}]`).join(",")} axis ${axis}`;
        await expectTensor(cat, wide(device), catShape, ref, msg);
        const cuts = sizes.slice(0, -1).map((_, i) =>
          sizes.slice(0, i + 1).reduce((a, b) => a + b)
        );
        const pieces = k.split(cat, cuts, { axis });
        if (pieces.length !== parts.length) {
          throw new Error(`${msg}: split gave ${pieces.length} pieces, expected ${parts.length}`);
        }
        for (let i = 0; i < parts.length; i++) {
          await expectTensor(
            pieces[i],
            wide(device),
            parts[i].shape,
            parts[i].vals,
            `${msg}, piece ${i}`,
          );
        }
      }),
      runsOn(device),
    );
  });

  // Regression: concatenate was a sum of zero-padded views, which turned -0 into +0. numpy's
  // concatenate / stack copy values bit-exactly, so 1 / concatenate([-0, 1])[0] is -Infinity.
  Deno.test({
    name: `concatenate and stack keep the sign of zero [${device}]`,
    fn: async () => {
      const a = k.tensor([-0, 1], { device, dtype: wide(device) });
      const b = k.tensor([2, -0], { device, dtype: wide(device) });
      const cat = await k.concatenate([a, b]).data();
      const st = await k.stack([a, b], { axis: 1 }).data();
      const want = [-0, 1, 2, -0], wantStack = [-0, 2, 1, -0];
      const z = (v: number) => Object.is(v, -0) ? "-0" : String(v);
      want.forEach((v, i) => {
        if (!Object.is(cat[i], v)) {
          throw new Error(`concatenate[${i}] is ${z(cat[i])}, expected ${z(v)}`);
        }
      });
      wantStack.forEach((v, i) => {
        if (!Object.is(st[i], v)) throw new Error(`stack[${i}] is ${z(st[i])}, expected ${z(v)}`);
      });
    },
  });

  Deno.test(`property: stack shape and values [${device}]`, async () => {
    const arb = shapeArb(3).chain((s) =>
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -(s.length + 1), max: s.length }))
        .map(([n, axis]) => ({ s, n, axis }))
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ s, n, axis }) => {
        const vals = [...Array(n).keys()].map((j) => iotaArray(numel(s), 1, 1000 * j));
        const ts = vals.map((v) => k.tensor(v, { dtype: wide(device), device, shape: s }));
        const y = k.stack(ts, { axis });
        const ax = axis < 0 ? axis + s.length + 1 : axis;
        const outShape = [...s.slice(0, ax), n, ...s.slice(ax)];
        const ref: number[] = [];
        for (let f = 0; f < numel(outShape); f++) {
          const o = unravel(f, outShape);
          const j = o[ax];
          ref.push(vals[j][ravel([...o.slice(0, ax), ...o.slice(ax + 1)], s)]);
        }
        await expectTensor(y, wide(device), outShape, ref, `stack ${n} x [${s}] axis ${axis}`);
      }),
      runsOn(device),
    );
  });
}
