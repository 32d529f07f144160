/** Creating tensors (data, constants, ranges) and reading them back. */
import assert from "node:assert";
import * as k from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import { allClose, assertShape, DEVICES, hasFloat64, TOL } from "./_util.ts";

const ARRAY_OF: Record<DType, string> = {
  float16: "Float16Array",
  float32: "Float32Array",
  float64: "Float64Array",
  int32: "Int32Array",
  bool: "Uint8Array",
};

/** Checks dtype, shape, device, the typed-array class of `data()` and the values. */
async function check(
  t: Tensor,
  dtype: DType,
  shape: readonly number[],
  values: ArrayLike<number>,
  device: string,
  msg: string,
) {
  assert.strictEqual(t.dtype, dtype, `${msg}: dtype`);
  assertShape(t.shape, shape, msg);
  assert.strictEqual(t.device, device, `${msg}: device`);
  const d = await t.data();
  assert.strictEqual(d.constructor.name, ARRAY_OF[dtype], `${msg}: data() array type`);
  allClose(d, values, TOL[dtype], msg);
}

/** Runs `fn` with `device` as the default device, restoring the previous default after. */
async function onDevice(device: string, fn: () => Promise<void>) {
  const prev = k.defaultDevice();
  k.setDefaultDevice(device);
  try {
    await fn();
  } finally {
    k.setDefaultDevice(prev);
  }
}

for (const device of DEVICES) {
  Deno.test(`tensor: nested arrays infer shape and dtype [${device}]`, () =>
    onDevice(device, async () => {
      await check(
        k.tensor([[1, 2, 3], [4, 5, 6]]),
        "float32",
        [2, 3],
        [1, 2, 3, 4, 5, 6],
        device,
        "2-d",
      );
      await check(
        k.tensor([[[1], [2]], [[3], [4]]]),
        "float32",
        [2, 2, 1],
        [1, 2, 3, 4],
        device,
        "3-d",
      );
      await check(k.tensor([true, false, true]), "bool", [3], [1, 0, 1], device, "bools");
      await check(
        k.tensor([1, true, 0.5]),
        "float32",
        [3],
        [1, 1, 0.5],
        device,
        "mixed -> float32",
      );
      await check(
        k.tensor([0.1, 2.5]),
        "float32",
        [2],
        [Math.fround(0.1), 2.5],
        device,
        "0.1 in float32",
      );
      await check(
        k.tensor([1.7, -1.7, 3], { dtype: "int32" }),
        "int32",
        [3],
        [1, -1, 3],
        device,
        "int32 truncates",
      );
      if (hasFloat64(device)) {
        await check(
          k.tensor([0.1], { dtype: "float64" }),
          "float64",
          [1],
          [0.1],
          device,
          "float64 keeps 0.1",
        );
      }
      await check(
        k.tensor([0, 2, -1], { dtype: "bool" }),
        "bool",
        [3],
        [0, 1, 1],
        device,
        "numbers as bool",
      );
      await check(k.tensor([]), "float32", [0], [], device, "empty");
      await check(k.tensor([[], []]), "float32", [2, 0], [], device, "empty rows");
    }));

  Deno.test(`tensor: typed arrays keep their dtype [${device}]`, async () => {
    const o = { device };
    if (hasFloat64(device)) {
      await check(
        k.tensor(new Float64Array([0.1, 2]), o),
        "float64",
        [2],
        [0.1, 2],
        device,
        "Float64Array",
      );
    }
    await check(
      k.tensor(new Float32Array([1.5, 2]), o),
      "float32",
      [2],
      [1.5, 2],
      device,
      "Float32Array",
    );
    await check(k.tensor(new Int32Array([-3, 4]), o), "int32", [2], [-3, 4], device, "Int32Array");
    await check(k.tensor(new Uint8Array([1, 0]), o), "bool", [2], [1, 0], device, "Uint8Array");
    if (hasFloat64(device)) {
      const shaped = k.tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { device, shape: [3, 2] });
      await check(shaped, "float64", [3, 2], [1, 2, 3, 4, 5, 6], device, "with shape");
    }
    const cast = k.tensor(new Float64Array([2.9, -2.9]), { device, dtype: "int32" });
    await check(cast, "int32", [2], [2, -2], device, "Float64Array as int32");
  });

  Deno.test(`tensor: scalars are 0-d [${device}]`, async () => {
    await check(k.tensor(3.5, { device }), "float32", [], [3.5], device, "number");
    await check(k.tensor(true, { device }), "bool", [], [1], device, "boolean");
    await check(k.tensor(7, { dtype: "int32", device }), "int32", [], [7], device, "int32 scalar");
    assert.strictEqual(k.tensor(2, { device }).ndim, 0);
    assert.strictEqual(k.tensor(2, { device }).size, 1);
  });

  Deno.test(`zeros / ones / full with dtype [${device}]`, async () => {
    const o = { device };
    await check(k.zeros([2, 3], o), "float32", [2, 3], new Array(6).fill(0), device, "zeros");
    await check(
      k.ones([4], { device, dtype: "int32" }),
      "int32",
      [4],
      [1, 1, 1, 1],
      device,
      "ones int32",
    );
    await check(k.zeros([0, 3], o), "float32", [0, 3], [], device, "zeros empty");
    if (hasFloat64(device)) {
      await check(k.ones([], { device, dtype: "float64" }), "float64", [], [1], device, "ones 0-d");
    }
    if (hasFloat64(device)) {
      await check(
        k.full([2, 2], 0.1, { device, dtype: "float64" }),
        "float64",
        [2, 2],
        [0.1, 0.1, 0.1, 0.1],
        device,
        "full f64",
      );
    }
    await check(
      k.full([3], 2.7, { device, dtype: "int32" }),
      "int32",
      [3],
      [2, 2, 2],
      device,
      "full int32 truncates",
    );
    await check(k.full([2], true, o), "bool", [2], [1, 1], device, "full bool");
    await check(k.full([2], -1.5, o), "float32", [2], [-1.5, -1.5], device, "full default float32");
    await check(k.ones([2], { device, dtype: "bool" }), "bool", [2], [1, 1], device, "ones bool");
  });

  Deno.test(`arange: ints give int32, floats give float32 [${device}]`, () =>
    onDevice(device, async () => {
      await check(k.arange(5), "int32", [5], [0, 1, 2, 3, 4], device, "arange(5)");
      await check(k.arange(2, 10, 3), "int32", [3], [2, 5, 8], device, "arange(2,10,3)");
      await check(k.arange(5, 0, -2), "int32", [3], [5, 3, 1], device, "arange(5,0,-2)");
      await check(k.arange(3, 3), "int32", [0], [], device, "empty arange");
      await check(
        k.arange(0, 1, 0.25),
        "float32",
        [4],
        [0, 0.25, 0.5, 0.75],
        device,
        "arange(0,1,.25)",
      );
      await check(k.arange(1.5), "float32", [2], [0, 1], device, "arange(1.5)");
      // numpy: len(arange(0, 1, 0.1)) == ceil(1 / 0.1) == 10, values i * 0.1.
      const tenths = Array.from({ length: 10 }, (_, i) => i * 0.1);
      await check(k.arange(0, 1, 0.1), "float32", [10], tenths, device, "arange(0,1,.1)");
      if (hasFloat64(device)) {
        await check(
          k.arange(0, 4, 1, { dtype: "float64" }),
          "float64",
          [4],
          [0, 1, 2, 3],
          device,
          "arange f64",
        );
      }
      if (hasFloat64(device)) {
        const f64 = k.arange(0, 1, 0.1, { dtype: "float64" });
        await check(f64, "float64", [10], tenths, device, "arange(0,1,.1) f64");
      }
    }));

  Deno.test(`linspace: endpoint on and off [${device}]`, () =>
    onDevice(device, async () => {
      await check(
        k.linspace(0, 1, 5),
        "float32",
        [5],
        [0, 0.25, 0.5, 0.75, 1],
        device,
        "linspace(0,1,5)",
      );
      await check(
        k.linspace(0, 1, 5, { endpoint: false }),
        "float32",
        [5],
        [0, 0.2, 0.4, 0.6, 0.8],
        device,
        "no endpoint",
      );
      await check(k.linspace(-1, 1, 3), "float32", [3], [-1, 0, 1], device, "linspace(-1,1,3)");
      await check(k.linspace(2, 3, 1), "float32", [1], [2], device, "num 1");
      await check(k.linspace(0, 1, 0), "float32", [0], [], device, "num 0");
      const sevenths = Array.from({ length: 7 }, (_, i) => 0.3 + (i * (2.2 - 0.3)) / 6);
      const w = hasFloat64(device) ? "float64" : "float32";
      const l64 = k.linspace(0.3, 2.2, 7, { dtype: w });
      await check(l64, w, [7], sevenths, device, `linspace ${w}`);
      const d = await l64.data();
      const exact = (v: number) => w === "float64" ? v : Math.fround(v);
      assert.strictEqual(d[0], exact(0.3), "linspace starts exactly at start");
      assert.strictEqual(d[6], exact(2.2), "linspace ends exactly at stop");
      assert.strictEqual(k.linspace(0, 1).size, 50, "default num is 50");
    }));

  Deno.test(`eye: square, rectangular, offset diagonals [${device}]`, async () => {
    const ref = (n: number, m: number, off: number) =>
      Array.from({ length: n * m }, (_, f) => (f % m) - Math.floor(f / m) === off ? 1 : 0);
    await check(k.eye(3, undefined, { device }), "float32", [3, 3], ref(3, 3, 0), device, "eye(3)");
    await check(
      k.eye(3, 4, { device, k: 1 }),
      "float32",
      [3, 4],
      ref(3, 4, 1),
      device,
      "eye(3,4,k=1)",
    );
    await check(
      k.eye(4, 3, { device, k: -2 }),
      "float32",
      [4, 3],
      ref(4, 3, -2),
      device,
      "eye(4,3,k=-2)",
    );
    await check(
      k.eye(2, 5, { device, k: 4 }),
      "float32",
      [2, 5],
      ref(2, 5, 4),
      device,
      "eye(2,5,k=4)",
    );
    await check(
      k.eye(2, 2, { device, dtype: "int32" }),
      "int32",
      [2, 2],
      [1, 0, 0, 1],
      device,
      "eye int32",
    );
    if (hasFloat64(device)) {
      await check(
        k.eye(2, 2, { device, dtype: "float64" }),
        "float64",
        [2, 2],
        [1, 0, 0, 1],
        device,
        "eye f64",
      );
    }
  });

  Deno.test(`zerosLike / onesLike copy shape, dtype and device [${device}]`, async () => {
    const x = k.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32", device });
    await check(k.zerosLike(x), "int32", [2, 3], [0, 0, 0, 0, 0, 0], device, "zerosLike");
    await check(k.onesLike(x), "int32", [2, 3], [1, 1, 1, 1, 1, 1], device, "onesLike");
    if (hasFloat64(device)) {
      await check(
        k.onesLike(x, { dtype: "float64" }),
        "float64",
        [2, 3],
        [1, 1, 1, 1, 1, 1],
        device,
        "onesLike f64",
      );
    }
    const b = k.tensor([true, false], { device });
    await check(k.zerosLike(b), "bool", [2], [0, 0], device, "zerosLike bool");
  });

  Deno.test(`readback: item and toArray [${device}]`, async () => {
    assert.strictEqual(await k.tensor(2.5, { device }).item(), 2.5);
    assert.strictEqual(await k.tensor([[7]], { dtype: "int32", device }).item(), 7);
    assert.strictEqual(await k.tensor(true, { device }).item(), true);
    assert.strictEqual(await k.tensor([false], { device }).item(), false);
    if (hasFloat64(device)) {
      assert.strictEqual(await k.tensor(0.1, { dtype: "float64", device }).item(), 0.1);
    }
    assert.deepStrictEqual(await k.tensor([[1, 2], [3, 4]], { device }).toArray(), [[1, 2], [
      3,
      4,
    ]]);
    assert.deepStrictEqual(
      await k.tensor([1, 2, 3, 4, 5, 6], { device, shape: [3, 1, 2] }).toArray(),
      [[[1, 2]], [[3, 4]], [[5, 6]]],
    );
    assert.deepStrictEqual(await k.tensor([true, false], { device }).toArray(), [true, false]);
    assert.strictEqual(await k.tensor(4, { device }).toArray(), 4);
    assert.deepStrictEqual(await k.zeros([2, 0], { device }).toArray(), [[], []]);
  });

  Deno.test({
    name: `readback: dataSync on the CPU [${device}]`,
    ignore: device !== "cpu",
    fn: () => {
      const d = k.add(k.tensor([1, 2], { dtype: "int32", device }), 1).dataSync();
      assert.ok(d instanceof Int32Array, "int32 dataSync gives Int32Array");
      assert.deepStrictEqual([...d], [2, 3]);
      const f = k.tensor([0.1], { dtype: "float64", device }).dataSync();
      assert.ok(f instanceof Float64Array);
      assert.strictEqual(f[0], 0.1);
    },
  });

  Deno.test(`readback: toString shows dtype, shape and values [${device}]`, async () => {
    const x = k.tensor([[1, 2.5, 3], [4, 5, -6]], { device });
    await x.data();
    const s = x.toString();
    // WebGPU cannot read synchronously: its tensors print without values.
    const values = device === "cpu" ? ["2.5", "-6"] : ["await t.data()"];
    for (const part of ["float32", "[2,3]", ...values, device]) {
      assert.ok(s.includes(part), `toString ${JSON.stringify(s)} lacks ${JSON.stringify(part)}`);
    }
    // console.log prints the same text, not the graph node.
    assert.strictEqual(Deno.inspect(x), s);
    const b = k.tensor([true, false], { device });
    await b.data();
    const sb = String(b);
    for (const part of ["bool", "[2]", ...(device === "cpu" ? ["true", "false"] : [])]) {
      assert.ok(sb.includes(part), `toString ${JSON.stringify(sb)} lacks ${JSON.stringify(part)}`);
    }
    const i = k.tensor(42, { dtype: "int32", device });
    await i.data();
    assert.ok(String(i).includes("int32"), String(i));
    if (device === "cpu") assert.ok(String(i).includes("42"), String(i));
  });
}
