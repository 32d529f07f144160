// k.io: safetensors checkpoints. Round trips of nested trees with every dtype, the bytes checked
// against the format's specification, files written here by hand as another implementation
// would, template (`like`) checks, malformed and truncated files, atomic writes.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { assertShape, DEVICES } from "./_util.ts";

// ------------------------------------------------------------------------ helpers ----

/** Asserts that `fn` rejects with an Error whose message contains every part. */
async function rejectsWith(fn: () => unknown, parts: string[]) {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an Error mentioning ${JSON.stringify(parts)}`);
  for (const p of parts) {
    assert.ok(err.message.includes(p), `${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
  }
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kiln_io_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const listDir = async (dir: string) => {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
};

/** Values of a tensor as plain numbers (bool as 0/1). */
const values = async (t: unknown) => Array.from(await (t as k.Tensor).data(), Number);
const T = (t: unknown) => t as k.Tensor;

interface SpecEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Builds a safetensors file by hand: entries in the given order, data laid out in `layout`. */
function handFile(
  tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>,
  opts: { layout?: string[]; metadata?: Record<string, string>; pad?: boolean } = {},
): Uint8Array {
  const layout = opts.layout ?? Object.keys(tensors);
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let off = 0;
  const offsets: Record<string, [number, number]> = {};
  for (const name of layout) {
    offsets[name] = [off, off + tensors[name].bytes.length];
    off += tensors[name].bytes.length;
  }
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: offsets[name] };
  }
  let json = JSON.stringify(header);
  if (opts.pad) json += " ".repeat((8 - json.length % 8) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let at = 8 + h.length;
  for (const name of layout) {
    out.set(tensors[name].bytes, at);
    at += tensors[name].bytes.length;
  }
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A tree with every dtype, a scalar, an empty tensor, nesting, nulls and empty containers. */
function sampleTree() {
  return {
    layers: [
      { w: k.tensor([[1.5, -2], [Infinity, NaN]]), b: k.tensor([-0, 3.25]) },
      { w: k.tensor([[0.1, 0.2, 0.3]], { dtype: "float64" }), b: k.arange(3).mul(2) }, // lazy int32
    ],
    step: k.tensor(7, { dtype: "int32" }),
    mask: k.tensor([true, false, true]),
    empty: k.zeros([0, 3]),
    opt: { mu: k.ones([2]).mul(0.5), nu: null, history: [] as k.Tensor[], extra: {} },
  };
}

// ---------------------------------------------------------------------- tests ----

Deno.test("io: round trip of a nested tree with every dtype", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    const tree = sampleTree();
    await k.io.save(path, tree);
    // deno-lint-ignore no-explicit-any
    const back = await k.io.load(path) as any;
    assert.ok(Array.isArray(back.layers) && back.layers.length === 2, "layers is an array");
    assert.deepEqual(Object.keys(back).sort(), ["empty", "layers", "mask", "opt", "step"]);
    assert.equal(back.opt.nu, null);
    assert.deepEqual(back.opt.history, []);
    assert.deepEqual(back.opt.extra, {});
    const pairs: [string, k.Tensor, k.Tensor][] = [
      ["layers.0.w", tree.layers[0].w, back.layers[0].w],
      ["layers.0.b", tree.layers[0].b, back.layers[0].b],
      ["layers.1.w", tree.layers[1].w, back.layers[1].w],
      ["layers.1.b", tree.layers[1].b, back.layers[1].b],
      ["step", tree.step, back.step],
      ["mask", tree.mask, back.mask],
      ["empty", tree.empty, back.empty],
      ["opt.mu", tree.opt.mu, back.opt.mu],
    ];
    for (const [name, a, b] of pairs) {
      assert.ok(b instanceof k.Tensor, name);
      assert.equal(b.dtype, a.dtype, name);
      assertShape(b.shape, a.shape, name);
      // Bit-exact, including -0 and NaN.
      assert.deepEqual(bytesOf(await b.data()), bytesOf(await a.data()), name);
    }
    assert.ok(Object.is((await values(back.layers[0].b))[0], -0));
    // The tree structure is identical to the original one.
    assert.equal(
      k.tree.formatDef(k.tree.structure(back)),
      k.tree.formatDef(k.tree.structure(tree)),
    );
    // A tensor at the root, and a URL path.
    const url = new URL(`file://${dir}/root.safetensors`);
    await k.io.save(url, k.tensor([1, 2, 3], { dtype: "int32" }));
    const root = await k.io.load(url);
    assert.ok(root instanceof k.Tensor);
    assert.deepEqual(await values(root), [1, 2, 3]);
  });
});

Deno.test("io: the bytes follow the safetensors specification", async () => {
  const tree = sampleTree();
  const bytes = await k.io.serialize(tree, { metadata: { epoch: "3" } });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 8-byte little-endian u64 header length, then the JSON header.
  const n = Number(view.getBigUint64(0, true));
  assert.equal(n % 8, 0, "header padded to a multiple of 8");
  assert.ok(8 + n <= bytes.length);
  const raw = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(raw[0], "{");
  const close = raw.lastIndexOf("}");
  assert.ok(/^ *$/.test(raw.slice(close + 1)), "padding is spaces after the JSON");
  assert.ok(raw.length - close - 1 < 8, "at most 7 padding bytes");
  const header = JSON.parse(raw) as Record<string, SpecEntry | Record<string, string>>;
  // __metadata__: a string -> string map with the user's entries.
  const meta = header.__metadata__ as Record<string, string>;
  assert.equal(meta.epoch, "3");
  for (const v of Object.values(meta)) assert.equal(typeof v, "string");
  const entries = Object.entries(header).filter(([key]) => key !== "__metadata__") as [
    string,
    SpecEntry,
  ][];
  assert.deepEqual(entries.map(([key]) => key).sort(), [
    "empty",
    "layers.0.b",
    "layers.0.w",
    "layers.1.b",
    "layers.1.w",
    "mask",
    "opt.mu",
    "step",
  ]);
  const SIZE: Record<string, number> = { F64: 8, F32: 4, I32: 4, BOOL: 1 };
  const want: Record<string, [string, number[]]> = {
    "layers.0.w": ["F32", [2, 2]],
    "layers.0.b": ["F32", [2]],
    "layers.1.w": ["F64", [1, 3]],
    "layers.1.b": ["I32", [3]],
    step: ["I32", []],
    mask: ["BOOL", [3]],
    empty: ["F32", [0, 3]],
    "opt.mu": ["F32", [2]],
  };
  for (const [name, e] of entries) {
    assert.deepEqual([e.dtype, e.shape], want[name], name);
    const [b, end] = e.data_offsets;
    assert.equal(end - b, e.shape.reduce((a, d) => a * d, 1) * SIZE[e.dtype], `${name} size`);
    assert.equal((8 + n + b) % SIZE[e.dtype], 0, `${name} aligned to its item size`);
  }
  // Offsets: contiguous from 0, in order, covering the rest of the file exactly.
  const sorted = entries.map(([, e]) => e.data_offsets).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b, e] of sorted) {
    assert.equal(b, end, "contiguous");
    end = e;
  }
  assert.equal(bytes.length, 8 + n + end, "total length");
  // The data bytes are the little-endian values.
  const data = bytes.subarray(8 + n);
  const at = (name: string) => {
    const [b, e] = (header[name] as SpecEntry).data_offsets;
    return new DataView(data.buffer, data.byteOffset + b, e - b);
  };
  assert.equal(at("layers.0.w").getFloat32(0, true), 1.5);
  assert.equal(at("layers.0.w").getFloat32(4, true), -2);
  assert.equal(at("layers.1.w").getFloat64(16, true), 0.3);
  assert.deepEqual([0, 1, 2].map((i) => at("layers.1.b").getInt32(4 * i, true)), [0, 2, 4]);
  assert.equal(at("step").getInt32(0, true), 7);
  assert.deepEqual([0, 1, 2].map((i) => at("mask").getUint8(i)), [1, 0, 1]);
  // The same tree serializes to the same bytes.
  assert.deepEqual(await k.io.serialize(sampleTree(), { metadata: { epoch: "3" } }), bytes);
});

Deno.test("io: loads files written by another implementation", async () => {
  await inTempDir(async (dir) => {
    const f32 = new Float32Array([1, 2, 3, 4]);
    const f64 = new Float64Array([0.1, -0.2]);
    const i32 = new Int32Array([5, -6, 7]);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer); // 1, -2, inf, 2^-24
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc0a0]).buffer); // 1, -5
    const i64 = new Uint8Array(new BigInt64Array([-3n, 1n << 30n]).buffer);
    const file = handFile(
      {
        "layers.1.bias": { dtype: "F64", shape: [2], bytes: bytesOf(f64) },
        "embed.weight": { dtype: "F32", shape: [2, 2], bytes: bytesOf(f32) },
        "layers.0.bias": { dtype: "I32", shape: [3], bytes: bytesOf(i32) },
        "flags": { dtype: "BOOL", shape: [2], bytes: new Uint8Array([0, 1]) },
        "h": { dtype: "F16", shape: [4], bytes: half },
        "bf": { dtype: "BF16", shape: [2], bytes: bf16 },
        "ids": { dtype: "I64", shape: [2], bytes: i64 },
        "u8": { dtype: "U8", shape: [1, 1], bytes: new Uint8Array([200]) },
      },
      {
        // Data in an order unrelated to the header's.
        layout: ["flags", "u8", "embed.weight", "h", "layers.1.bias", "ids", "bf", "layers.0.bias"],
        metadata: { format: "pt" },
      },
    );
    const path = `${dir}/other.safetensors`;
    await Deno.writeFile(path, file);
    // deno-lint-ignore no-explicit-any
    const t = await k.io.load(path) as any;
    assert.ok(Array.isArray(t.layers), "numeric keys 0..n-1 become an array");
    assert.deepEqual(Object.keys(t).sort(), ["bf", "embed", "flags", "h", "ids", "layers", "u8"]);
    assert.equal(T(t.embed.weight).dtype, "float32");
    assertShape(T(t.embed.weight).shape, [2, 2]);
    assert.deepEqual(await values(t.embed.weight), [1, 2, 3, 4]);
    assert.deepEqual(await values(t.layers[1].bias), [0.1, -0.2]);
    assert.equal(T(t.layers[0].bias).dtype, "int32");
    assert.deepEqual(await values(t.layers[0].bias), [5, -6, 7]);
    assert.equal(T(t.flags).dtype, "bool");
    assert.deepEqual(await values(t.flags), [0, 1]);
    assert.deepEqual(await values(t.h), [1, -2, Infinity, 2 ** -24]);
    assert.deepEqual(await values(t.bf), [1, -5]);
    assert.equal(T(t.ids).dtype, "int32");
    assert.deepEqual(await values(t.ids), [-3, 2 ** 30]);
    assert.deepEqual(await values(t.u8), [200]);
    assert.deepEqual(await k.io.loadMetadata(path), { format: "pt" });
    // Non-contiguous numeric keys stay an object; a name that is both a leaf and a prefix fails.
    const g = handFile({
      "a.0": { dtype: "F32", shape: [], bytes: bytesOf(new Float32Array([1])) },
      "a.2": { dtype: "F32", shape: [], bytes: bytesOf(new Float32Array([2])) },
    });
    // deno-lint-ignore no-explicit-any
    const gt = k.io.deserialize(g) as any;
    assert.ok(!Array.isArray(gt.a) && gt.a["2"] instanceof k.Tensor);
    const clash = handFile({
      "a": { dtype: "F32", shape: [], bytes: bytesOf(new Float32Array([1])) },
      "a.b": { dtype: "F32", shape: [], bytes: bytesOf(new Float32Array([2])) },
    });
    await rejectsWith(() => k.io.deserialize(clash), ['"a"', '"a.b"', "clashes"]);
    // An I64 value outside int32.
    const big = handFile({
      x: { dtype: "I64", shape: [1], bytes: bytesOf(new BigInt64Array([1n << 40n])) },
    });
    await rejectsWith(() => k.io.deserialize(big), ['"x"', "outside the int32 range"]);
  });
});

Deno.test("io: load with like checks dtypes and shapes, naming the keys", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/params.safetensors`;
    const params = k.nn.mlp.init(k.random.key(0), [4, 8, 2]);
    await k.io.save(path, params);
    const back = await k.io.load(path, { like: params });
    assert.equal(back.layers.length, 2);
    assert.deepEqual(await values(back.layers[1].w), await values(params.layers[1].w));
    // Shape mismatch.
    const wider = k.nn.mlp.init(k.random.key(0), [4, 16, 2]);
    await rejectsWith(() => k.io.load(path, { like: wider }), [
      path,
      '"layers.0.w": expected float32 [4, 16], found float32 [4, 8]',
      '"layers.0.b": expected float32 [16], found float32 [8]',
      '"layers.1.w": expected float32 [16, 2], found float32 [8, 2]',
    ]);
    // Dtype mismatch.
    const f64 = k.nn.mlp.init(k.random.key(0), [4, 8, 2], { dtype: "float64" });
    await rejectsWith(() => k.io.load(path, { like: f64 }), [
      '"layers.1.b": expected float64 [2], found float32 [2]',
    ]);
    // Missing and extra keys.
    await rejectsWith(
      () => k.io.load(path, { like: { ...params, step: k.tensor(0, { dtype: "int32" }) } }),
      [
        '"step": expected int32 [], missing from the file',
      ],
    );
    await rejectsWith(() => k.io.load(path, { like: { layers: [params.layers[0]] } }), [
      '"layers.1.w": float32 [8, 2] in the file but not in like',
    ]);
    // like gives its own structure to a file from elsewhere (no kiln.tree metadata).
    const w = new Float32Array([1, 2]), b = new Float32Array([3]);
    const foreign = handFile({
      "layers.0.w": { dtype: "F32", shape: [2, 1], bytes: bytesOf(w) },
      "layers.0.b": { dtype: "F32", shape: [1], bytes: bytesOf(b) },
    });
    const like = { layers: [{ w: k.zeros([2, 1]), b: k.zeros([1]) }] };
    const got = k.io.deserialize(foreign, { like });
    assert.deepEqual(await values(got.layers[0].w), [1, 2]);
  });
});

Deno.test("io: truncated and malformed files raise clear errors", async () => {
  const good = await k.io.serialize({
    a: k.tensor([1, 2, 3]),
    b: k.tensor([4], { dtype: "int32" }),
  });
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  await rejectsWith(() => k.io.deserialize(good.subarray(0, 5)), [
    "5 bytes",
    "too short",
    "truncated",
  ]);
  await rejectsWith(() => k.io.deserialize(good.subarray(0, 8 + n - 4)), [
    `header length ${n} exceeds`,
    "truncated",
  ]);
  await rejectsWith(() => k.io.deserialize(good.subarray(0, good.length - 2)), [
    "extend past the end of the data section",
    "truncated",
  ]);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  await rejectsWith(() => k.io.deserialize(huge), [`header length ${1n << 40n} exceeds`]);
  const f = (o: number[]) => ({ dtype: "F32", shape: [1], data_offsets: o });
  const withHeader = (h: unknown, dataLen: number) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + dataLen);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  await rejectsWith(() => k.io.deserialize(withHeader({ x: f([0, 4]), y: f([2, 6]) }, 8)), [
    "overlaps",
  ]);
  await rejectsWith(() => k.io.deserialize(withHeader({ x: f([0, 4]), y: f([8, 12]) }, 12)), [
    "bytes [4, 8)",
    "belong to no tensor",
  ]);
  await rejectsWith(() => k.io.deserialize(withHeader({ x: f([0, 4]) }, 6)), [
    "data section has 6 bytes but the tensors cover 4",
  ]);
  await rejectsWith(() => k.io.deserialize(withHeader({ x: f([0, 8]) }, 8)), [
    '"x"',
    "hold 8 bytes but F32 [1] needs 4",
  ]);
  await rejectsWith(
    () =>
      k.io.deserialize(withHeader({ x: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, 8)),
    ['"x"', 'unsupported dtype "C64"'],
  );
  await rejectsWith(() => k.io.deserialize(withHeader({ x: f([4, 0]) }, 4)), [
    "not a pair [begin, end] with begin <= end",
  ]);
  await rejectsWith(() => k.io.deserialize(withHeader([1, 2], 0)), ["not a JSON object"]);
  const garbage = new Uint8Array(16);
  new DataView(garbage.buffer).setBigUint64(0, 8n, true);
  garbage.set(new TextEncoder().encode("{bad: 1}"), 8);
  await rejectsWith(() => k.io.deserialize(garbage), ["not valid UTF-8 JSON"]);
  await inTempDir(async (dir) => {
    const path = `${dir}/cut.safetensors`;
    await Deno.writeFile(path, good.subarray(0, good.length - 1));
    await rejectsWith(() => k.io.load(path), [`io.load: ${path}`, "truncated"]);
  });
});

Deno.test("io: writes are atomic: no temp file left, the old file intact when a save fails", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    await k.io.save(path, { w: k.ones([3]) });
    await k.io.save(path, { w: k.ones([3]).mul(2) }); // overwrite
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    const before = await Deno.readFile(path);
    // A non-tensor leaf fails before the file system is touched.
    await rejectsWith(
      () => k.io.save(path, { w: k.zeros([3]), lr: 0.1 } as unknown as k.tree.PyTree),
      [
        'the leaf at "lr" is a number, not a Tensor',
      ],
    );
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    // deno-lint-ignore no-explicit-any
    assert.deepEqual(await values((await k.io.load(path) as any).w), [2, 2, 2]);
    // The rename fails (the target is a directory): the temporary file is removed.
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/keep`, "x");
    await assert.rejects(() => k.io.save(`${dir}/sub`, { w: k.ones([2]) }));
    assert.deepEqual(await listDir(dir), ["model.safetensors", "sub"]);
    // A missing directory fails cleanly, naming io.save and the path (the cause kept).
    await assert.rejects(
      () => k.io.save(`${dir}/missing/x.safetensors`, { w: k.ones([2]) }),
      (e: Error) =>
        e instanceof k.KilnError && e.cause instanceof Deno.errors.NotFound &&
        e.message.startsWith(`io.save: cannot write "${dir}/missing/x.safetensors"`),
    );
    assert.deepEqual(await listDir(dir), ["model.safetensors", "sub"]);
  });
});

Deno.test("io: metadata, name collisions and reserved names", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    await k.io.save(path, { w: k.ones([1]) }, { metadata: { epoch: "3", note: "héllo" } });
    const meta = await k.io.loadMetadata(path);
    assert.equal(meta.epoch, "3");
    assert.equal(meta.note, "héllo");
    assert.ok("kiln.tree" in meta);
  });
  await rejectsWith(() => k.io.serialize({ "a.b": k.ones([1]), a: { b: k.ones([1]) } }), [
    'both flatten to the name "a.b"',
  ]);
  await rejectsWith(() => k.io.serialize({ w: k.ones([1]) }, { metadata: { "kiln.tree": "x" } }), [
    '"kiln.tree" is reserved',
  ]);
  await rejectsWith(
    () => k.io.serialize({ w: k.ones([1]) }, { metadata: { epoch: 3 as unknown as string } }),
    ["metadata values must be strings"],
  );
});

for (const device of DEVICES) {
  Deno.test(`io: saves tensors from and loads them onto a device [${device}]`, async () => {
    const tree = {
      w: k.tensor([[1.5, -2], [0.25, 8]], { device }).mul(2), // lazy, computed on the device
      step: k.tensor(3, { dtype: "int32", device }),
      mask: k.tensor([true, false], { device }),
    };
    const bytes = await k.io.serialize(tree);
    const back = k.io.deserialize(bytes, { like: tree, device });
    for (const key of ["w", "step", "mask"] as const) {
      assert.equal(back[key].device, device, key);
      assert.deepEqual(await values(back[key]), await values(tree[key]), key);
    }
  });
}
