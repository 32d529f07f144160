/**
 * k.data: IDX/CSV/.npy readers on small files written here byte by byte, Fashion-MNIST from the
 * Debian package (when installed) and through the download path against a loopback server,
 * batching and train/test splits.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import * as k from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { progressLine } from "../data/fashion_mnist.ts";
import { allClose, assertShape, throwsWith } from "./_util.ts";

const SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";
const hasSystemCopy = (() => {
  try {
    return Deno.statSync(`${SYSTEM_DIR}/train-images-idx3-ubyte.gz`).isFile;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------------------------
// Helpers

/** An IDX file: magic `00 00 code ndim`, big-endian uint32 sizes, big-endian values. */
function makeIdx(code: number, shape: number[], values: number[]): Uint8Array {
  const size: Record<number, number> = { 8: 1, 9: 1, 0xb: 2, 0xc: 4, 0xd: 4, 0xe: 8 };
  const head = 4 + 4 * shape.length;
  const out = new Uint8Array(head + values.length * size[code]);
  const v = new DataView(out.buffer);
  out.set([0, 0, code, shape.length]);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  values.forEach((x, i) => {
    const o = head + i * size[code];
    if (code === 8) v.setUint8(o, x);
    else if (code === 9) v.setInt8(o, x);
    else if (code === 0xb) v.setInt16(o, x, false);
    else if (code === 0xc) v.setInt32(o, x, false);
    else if (code === 0xd) v.setFloat32(o, x, false);
    else v.setFloat64(o, x, false);
  });
  return out;
}

/** Gzips bytes with the built-in `CompressionStream`. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const src = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
  return new Uint8Array(
    await new Response(src.pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
}

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

/** Awaits `p` and asserts it rejects with an Error mentioning every part. */
async function rejectsWith(p: Promise<unknown>, parts: string[]): Promise<string> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected a rejection mentioning ${JSON.stringify(parts)}`);
  for (const part of parts) {
    assert.ok(
      err.message.includes(part),
      `error message ${JSON.stringify(err.message)} does not mention ${JSON.stringify(part)}`,
    );
  }
  return err.message;
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln_data_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Values of a tensor as plain numbers. */
async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// ---------------------------------------------------------------------------------------------
// IDX

Deno.test("idx: every element type decodes big-endian to the documented dtype", () => {
  const cases: [number, string, number[]][] = [
    [0x08, "int32", [0, 1, 127, 128, 255, 7]],
    [0x09, "int32", [-128, -1, 0, 1, 127, 5]],
    [0x0b, "int32", [-32768, -2, 0, 300, 32767, 1]],
    [0x0c, "int32", [-(2 ** 31), -5, 0, 65536, 2 ** 31 - 1, 9]],
    [0x0d, "float32", [-1.5, 0, 0.25, Math.fround(3e10), -7, Math.fround(0.1)]],
    [0x0e, "float64", [-1.5, 0, 0.1, 1e300, -7, Math.PI]],
  ];
  for (const [code, dtype, vals] of cases) {
    const t = k.data.readIdx(makeIdx(code, [2, 3], vals));
    assert.equal(t.dtype, dtype, `type 0x${code.toString(16)}`);
    assertShape(t.shape, [2, 3]);
    allClose(t.dataSync(), vals, { rtol: 0, atol: 0 }, `type 0x${code.toString(16)}`);
  }
  const scalar = k.data.readIdx(makeIdx(0x08, [], [42]));
  assertShape(scalar.shape, []);
  assert.equal(scalar.dataSync()[0], 42);
  const empty = k.data.readIdx(makeIdx(0x0d, [0, 4], []));
  assertShape(empty.shape, [0, 4]);
});

Deno.test("idx: loadIdx reads raw and gzipped files", async () => {
  await withTempDir(async (dir) => {
    const vals = Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
    const raw = makeIdx(0x08, [2, 3, 4], vals);
    await Deno.writeFile(`${dir}/a-idx3-ubyte`, raw);
    await Deno.writeFile(`${dir}/a-idx3-ubyte.gz`, await gzip(raw));
    for (const name of ["a-idx3-ubyte", "a-idx3-ubyte.gz"]) {
      const t = await k.data.loadIdx(`${dir}/${name}`);
      assert.equal(t.dtype, "int32");
      assertShape(t.shape, [2, 3, 4], name);
      assert.deepEqual(await values(t), vals, name);
    }
    const f = makeIdx(0x0d, [3], [0.5, -2, 1e-3]);
    await Deno.writeFile(`${dir}/f.gz`, await gzip(f));
    const ft = await k.data.loadIdx(`${dir}/f.gz`);
    assert.equal(ft.dtype, "float32");
    allClose(await ft.data(), [0.5, -2, Math.fround(1e-3)], { rtol: 0, atol: 0 });
  });
});

Deno.test("idx: bad magic, truncation and trailing bytes fail naming the file", async () => {
  const good = makeIdx(0x08, [2, 2], [1, 2, 3, 4]);
  throwsWith(() => k.data.readIdx(new Uint8Array([1, 2, 8, 1, 0, 0, 0, 1, 5])), ["bad magic"]);
  throwsWith(() => k.data.readIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 1, 5])), ["bad magic"]);
  throwsWith(() => k.data.readIdx(new Uint8Array([0, 0])), ["not an IDX file"]);
  throwsWith(() => k.data.readIdx(good.subarray(0, 7)), ["truncated IDX header"]);
  throwsWith(() => k.data.readIdx(good.subarray(0, good.length - 1)), [
    "truncated IDX data",
    "needs 16 bytes, got 15",
  ]);
  const long = new Uint8Array(good.length + 1);
  long.set(good);
  throwsWith(() => k.data.readIdx(long), ["trailing bytes"]);
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/bad.idx`, new TextEncoder().encode("hello world"));
    await rejectsWith(k.data.loadIdx(`${dir}/bad.idx`), [`${dir}/bad.idx`, "bad magic"]);
    await Deno.writeFile(`${dir}/short.idx`, good.subarray(0, 12));
    await rejectsWith(k.data.loadIdx(`${dir}/short.idx`), [`${dir}/short.idx`, "truncated"]);
    const gz = await gzip(good);
    await Deno.writeFile(`${dir}/cut.gz`, gz.subarray(0, gz.length - 6));
    await rejectsWith(k.data.loadIdx(`${dir}/cut.gz`), [`${dir}/cut.gz`, "gzip"]);
    await rejectsWith(k.data.loadIdx(`${dir}/missing.idx`), [`${dir}/missing.idx`]);
  });
});

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST

Deno.test({
  name: "fashionMnist: the Debian package's train split (shapes, range, labels, timing)",
  ignore: !hasSystemCopy,
  async fn() {
    const t0 = performance.now();
    const { images, labels } = await k.data.fashionMnist({ split: "train", dir: SYSTEM_DIR });
    const ms = performance.now() - t0;
    console.log(`  fashionMnist train split loaded in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 5000, `loading took ${ms} ms`);
    assert.equal(images.dtype, "float32");
    assertShape(images.shape, [60000, 28, 28]);
    assert.equal(labels.dtype, "int32");
    assertShape(labels.shape, [60000]);
    const px = await images.data();
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < px.length; i++) {
      if (px[i] < min) min = px[i];
      if (px[i] > max) max = px[i];
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // Independent decode of the first and last image and every label with node:zlib.
    const rawImages = gunzipSync(await Deno.readFile(`${SYSTEM_DIR}/train-images-idx3-ubyte.gz`));
    const rawLabels = gunzipSync(await Deno.readFile(`${SYSTEM_DIR}/train-labels-idx1-ubyte.gz`));
    for (const i of [0, 59999]) {
      const want = Array.from(rawImages.subarray(16 + 784 * i, 16 + 784 * (i + 1)), (v) => v / 255);
      allClose(px.subarray(784 * i, 784 * (i + 1)), want, { rtol: 1e-7, atol: 0 }, `image ${i}`);
    }
    const lab = await labels.data();
    assert.deepEqual(Array.from(lab), Array.from(rawLabels.subarray(8)));
    const hist = new Array(10).fill(0);
    for (const l of lab) hist[l]++;
    assert.deepEqual(hist, new Array(10).fill(6000));
  },
});

Deno.test({
  name: "fashionMnist: the default lookup finds the system copy (test split)",
  ignore: !hasSystemCopy,
  async fn() {
    const prev = Deno.env.get("KILN_DATA");
    Deno.env.delete("KILN_DATA");
    try {
      await withTempDir(async (cacheDir) => {
        const { images, labels } = await k.data.fashionMnist({
          split: "test",
          cacheDir,
          download: false,
        });
        assertShape(images.shape, [10000, 28, 28]);
        assertShape(labels.shape, [10000]);
        const hist = new Array(10).fill(0);
        for (const l of await labels.data()) hist[l]++;
        assert.deepEqual(hist, new Array(10).fill(1000));
      });
    } finally {
      if (prev !== undefined) Deno.env.set("KILN_DATA", prev);
    }
  },
});

Deno.test("fashionMnist: the Debian copy's IDX content matches the published files", {
  ignore: !hasSystemCopy,
}, async () => {
  // The package recompresses the .gz files (so their md5 differs from the published one); the
  // unpacked IDX bytes must match the well-known md5 of the official unpacked files.
  const unpacked: Record<string, string> = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
  };
  assert.deepEqual(Object.keys(k.data.FASHION_MNIST_MD5).sort(), Object.keys(unpacked).sort());
  for (const [name, sum] of Object.entries(unpacked)) {
    assert.equal(md5(gunzipSync(await Deno.readFile(`${SYSTEM_DIR}/${name}`))), sum, name);
  }
});

/** Four small Fashion-MNIST-shaped files (gzipped) with their md5s. */
async function smallDataset(nTrain = 12, nTest = 5) {
  const files: Record<string, Uint8Array> = {};
  const raw: Record<string, { pixels: number[]; labels: number[] }> = {};
  for (const [split, prefix, n] of [["train", "train", nTrain], ["test", "t10k", nTest]] as const) {
    const pixels = Array.from({ length: n * 784 }, (_, i) => (i * 31 + n) % 256);
    const labels = Array.from({ length: n }, (_, i) => (i * 3 + 1) % 10);
    raw[split] = { pixels, labels };
    files[`${prefix}-images-idx3-ubyte.gz`] = await gzip(makeIdx(8, [n, 28, 28], pixels));
    files[`${prefix}-labels-idx1-ubyte.gz`] = await gzip(makeIdx(8, [n], labels));
  }
  const checksums = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, md5(b)]));
  return { files, raw, checksums };
}

/** Serves `files` under `/mirror/` on 127.0.0.1, counting requests per path. */
function serveFiles(files: Record<string, Uint8Array>, missing: string[] = []) {
  const hits: Record<string, number> = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const name = path.replace(/^\/mirror\//, "");
    const body = files[name];
    if (!path.startsWith("/mirror/") || !body || missing.includes(name)) {
      return new Response("not found", { status: 404 });
    }
    return new Response(body as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/gzip" },
    });
  });
  return { server, hits, base: `http://127.0.0.1:${server.addr.port}/mirror` };
}

/** Names of the files in a folder (empty when it does not exist). */
async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

Deno.test("fashionMnist: downloads into the cache with checksums, then reads the cache", async () => {
  const { files, raw, checksums } = await smallDataset();
  const { server, hits, base } = serveFiles(files);
  try {
    await withTempDir(async (cacheDir) => {
      const opts = { baseUrl: base, cacheDir, checksums, searchPath: [], progress: false };
      const train = await k.data.fashionMnist({ split: "train", ...opts });
      assertShape(train.images.shape, [12, 28, 28]);
      assert.equal(train.images.dtype, "float32");
      assert.equal(train.labels.dtype, "int32");
      allClose(
        await train.images.data(),
        raw.train.pixels.map((v) => v / 255),
        { rtol: 1e-7, atol: 0 },
      );
      assert.deepEqual(await values(train.labels), raw.train.labels);
      // All four files are fetched once, verified and renamed into <cacheDir>/fashion-mnist.
      assert.deepEqual(Object.values(hits), [1, 1, 1, 1]);
      const folder = `${cacheDir}/fashion-mnist`;
      assert.deepEqual(await listDir(folder), Object.keys(files).sort());
      for (const [name, bytes] of Object.entries(files)) {
        assert.deepEqual(await Deno.readFile(`${folder}/${name}`), bytes, name);
      }
      // The test split now comes from the cache: no request, even with the server unreachable.
      const test = await k.data.fashionMnist({
        ...opts,
        split: "test",
        baseUrl: `http://127.0.0.1:${closedPort()}/`,
      });
      assertShape(test.images.shape, [5, 28, 28]);
      assert.deepEqual(await values(test.labels), raw.test.labels);
      assert.equal(Object.values(hits).reduce((a, b) => a + b), 4);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("fashionMnist: a checksum mismatch throws and leaves nothing in the cache", async () => {
  const { files, checksums } = await smallDataset();
  const { server, base } = serveFiles(files);
  try {
    await withTempDir(async (cacheDir) => {
      const bad = { ...checksums, "train-images-idx3-ubyte.gz": "0".repeat(32) };
      await rejectsWith(
        k.data.fashionMnist({
          split: "train",
          baseUrl: base,
          cacheDir,
          checksums: bad,
          searchPath: [],
          progress: false,
        }),
        [
          "checksum mismatch",
          "train-images-idx3-ubyte.gz",
          checksums["train-images-idx3-ubyte.gz"],
        ],
      );
      const left = await listDir(`${cacheDir}/fashion-mnist`);
      assert.ok(!left.includes("train-images-idx3-ubyte.gz"), `cache holds ${left}`);
      assert.ok(left.every((n) => !n.includes(".tmp")), `temporary files left: ${left}`);
      // The published checksums are the default: the small files do not match them either.
      await rejectsWith(
        k.data.fashionMnist({
          split: "train",
          baseUrl: base,
          cacheDir: `${cacheDir}/other`,
          searchPath: [],
          progress: false,
        }),
        ["checksum mismatch", k.data.FASHION_MNIST_MD5["train-images-idx3-ubyte.gz"]],
      );
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("fashionMnist: offline with no copy says how to get the data", async () => {
  await withTempDir(async (dir) => {
    const howTo = ["sudo apt-get install -y dataset-fashion-mnist", "KILN_DATA", "--allow-net="];
    const msg = await rejectsWith(
      k.data.fashionMnist({
        split: "train",
        baseUrl: `http://127.0.0.1:${closedPort()}/`,
        cacheDir: `${dir}/cache`,
        searchPath: [`${dir}/empty`],
        progress: false,
      }),
      [...howTo, "download failed", `${dir}/empty (files missing)`],
    );
    assert.ok(msg.includes(`${dir}/cache/fashion-mnist`), msg);
    await rejectsWith(
      k.data.fashionMnist({ split: "test", cacheDir: dir, searchPath: [], download: false }),
      [...howTo, "download: false"],
    );
    const { files, checksums } = await smallDataset();
    const { server, base } = serveFiles(files, ["t10k-images-idx3-ubyte.gz"]);
    try {
      await rejectsWith(
        k.data.fashionMnist({
          split: "test",
          baseUrl: base,
          cacheDir: `${dir}/cache2`,
          checksums,
          searchPath: [],
          progress: false,
        }),
        [...howTo, "HTTP 404"],
      );
    } finally {
      await server.shutdown();
    }
    await rejectsWith(k.data.fashionMnist({ split: "valid" as "test" }), ["split"]);
  });
});

const TMP_ROOT = Deno.env.get("TMPDIR") || "/tmp";
Deno.test({
  name: "fashionMnist: denied env, read and net permissions are reported, not thrown raw",
  permissions: { env: false, net: false, read: [TMP_ROOT], write: [TMP_ROOT] },
  async fn() {
    await withTempDir(async (cacheDir) => {
      const msg = await rejectsWith(
        k.data.fashionMnist({ split: "test", cacheDir, progress: false }),
        [
          "KILN_DATA (unset)",
          `${SYSTEM_DIR} (read permission denied)`,
          "no network permission (run with --allow-net=fashion-mnist.s3-website",
          "sudo apt-get install -y dataset-fashion-mnist",
        ],
      );
      assert.ok(msg.includes(`${cacheDir}/fashion-mnist (files missing)`), msg);
      assert.deepEqual(await listDir(`${cacheDir}/fashion-mnist`), []);
    });
  },
});

Deno.test("fashionMnist: KILN_DATA (with a fashion-mnist/ subfolder, unpacked files) and dir", async () => {
  const { raw } = await smallDataset(3, 2);
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/fashion-mnist`);
    await Deno.writeFile(
      `${dir}/fashion-mnist/t10k-images-idx3-ubyte`,
      makeIdx(8, [2, 28, 28], raw.test.pixels),
    );
    await Deno.writeFile(
      `${dir}/fashion-mnist/t10k-labels-idx1-ubyte`,
      makeIdx(8, [2], raw.test.labels),
    );
    const prev = Deno.env.get("KILN_DATA");
    Deno.env.set("KILN_DATA", dir);
    try {
      const { images, labels } = await k.data.fashionMnist({
        split: "test",
        cacheDir: `${dir}/cache`,
        download: false,
      });
      assertShape(images.shape, [2, 28, 28]);
      assert.deepEqual(await values(labels), raw.test.labels);
    } finally {
      if (prev === undefined) Deno.env.delete("KILN_DATA");
      else Deno.env.set("KILN_DATA", prev);
    }
    const viaDir = await k.data.fashionMnist({ split: "test", dir });
    assertShape(viaDir.images.shape, [2, 28, 28]);
    await rejectsWith(k.data.fashionMnist({ split: "train", dir }), [dir, "files missing"]);
    // Inconsistent files are rejected with the file's name.
    await Deno.writeFile(
      `${dir}/t10k-images-idx3-ubyte`,
      makeIdx(8, [2, 28, 27], raw.test.pixels.slice(0, 2 * 28 * 27)),
    );
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, makeIdx(8, [2], raw.test.labels));
    await rejectsWith(k.data.fashionMnist({ split: "test", dir }), [
      `${dir}/t10k-images-idx3-ubyte`,
      "[N, 28, 28]",
    ]);
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, makeIdx(8, [2, 28, 28], raw.test.pixels));
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, makeIdx(8, [3], [1, 2, 3]));
    await rejectsWith(k.data.fashionMnist({ split: "test", dir }), ["2 images", "3 labels"]);
  });
});

Deno.test("fashionMnist: progress line", () => {
  assert.equal(
    progressLine("f.gz", 13_200_000, 26_400_000),
    "f.gz [############------------]  50% 13.2/26.4 MB",
  );
  assert.equal(progressLine("f.gz", 1_500_000, 0), "f.gz 1.5 MB");
  assert.equal(
    progressLine("l.gz", 1_000, 5_125),
    "l.gz [#####-------------------]  19% 1.0/5.1 kB",
  );
});

// ---------------------------------------------------------------------------------------------
// Batches and splits

/** `{x: [n, 3] with rows i*3 + 0..2, y: [n] = 0..n-1}`. */
function toyDataset(n: number): { x: Tensor; y: Tensor } {
  return { x: k.arange(n * 3).reshape([n, 3]).astype("float32"), y: k.arange(n) };
}

/** The y values of each batch, checking that x rows agree with y. */
async function batchIds(
  ds: { x: Tensor; y: Tensor },
  opts: k.data.BatchOptions,
): Promise<number[][]> {
  const out: number[][] = [];
  for (const b of k.data.batches(ds, opts)) {
    const ys = await values(b.y);
    assertShape(b.x.shape, [ys.length, 3]);
    assert.deepEqual(await values(b.x), ys.flatMap((y) => [3 * y, 3 * y + 1, 3 * y + 2]));
    out.push(ys);
  }
  return out;
}

Deno.test("batches: stored order, dropRemainder and constant shapes", async () => {
  const ds = toyDataset(10);
  assert.deepEqual(await batchIds(ds, { batchSize: 4 }), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(await batchIds(ds, { batchSize: 4, dropRemainder: false }), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  assert.deepEqual(await batchIds(ds, { batchSize: 5 }), [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
  const big = { x: k.zeros([1000, 784]), y: k.zeros([1000], { dtype: "int32" }) };
  const key = k.random.key(3);
  let count = 0;
  for (const b of k.data.batches(big, { batchSize: 128, key })) {
    assertShape(b.x.shape, [128, 784]);
    assertShape(b.y.shape, [128]);
    assert.equal(b.y.dtype, "int32");
    count++;
  }
  assert.equal(count, k.data.numBatches(1000, 128));
  assert.equal(count, 7);
  assert.equal(k.data.numBatches(1000, 128, false), 8);
  assert.equal(k.data.numBatches(0, 5), 0);
});

Deno.test("batches: shuffled by key, every example once per epoch, deterministic", async () => {
  const ds = toyDataset(100);
  const epoch = async (key: Tensor, batchSize = 7) =>
    (await batchIds(ds, { batchSize, key, dropRemainder: false })).flat();
  const a = await epoch(k.random.key(0));
  assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(await epoch(k.random.key(0), 10), a, "same key, same order");
  assert.notDeepEqual(await epoch(k.random.key(1)), a, "another key, another order");
  assert.notDeepEqual(await epoch(k.random.foldIn(k.random.key(0), 1)), a);
  // With dropRemainder, every batch is full and no example repeats.
  const full = await batchIds(ds, { batchSize: 30, key: k.random.key(5) });
  assert.deepEqual(full.map((b) => b.length), [30, 30, 30]);
  assert.equal(new Set(full.flat()).size, 90);
  // shuffle: false keeps the stored order even with a key.
  const kept = await batchIds(ds, { batchSize: 50, key: k.random.key(5), shuffle: false });
  assert.deepEqual(kept.flat(), Array.from({ length: 100 }, (_, i) => i));
});

Deno.test("batches: the order is the stable argsort of the key's random bits", () => {
  const key = k.random.key(11);
  const n = 60000;
  const t0 = performance.now();
  const order = k.data.shuffledIndices(key, n);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `shuffledIndices(60000) took ${ms} ms`);
  const words = new Uint32Array((k.random.bits(key, [n]).dataSync() as Int32Array).buffer);
  const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => words[a] - words[b] || a - b);
  assert.deepEqual(Array.from(order), want);
  assert.deepEqual(Array.from(k.data.shuffledIndices(key, 0)), []);
});

Deno.test("batches: nested pytrees keep their structure", async () => {
  const ds = { a: [k.arange(6), { b: k.arange(12).reshape([6, 2]) }], c: null };
  const out = [...k.data.batches(ds, { batchSize: 3, key: k.random.key(2) })];
  assert.equal(out.length, 2);
  for (const batch of out) {
    assert.equal(batch.c, null);
    const [ids, inner] = batch.a as [Tensor, { b: Tensor }];
    assertShape(inner.b.shape, [3, 2]);
    const iv = await values(ids);
    assert.deepEqual(await values(inner.b), iv.flatMap((i) => [2 * i, 2 * i + 1]));
  }
});

Deno.test("batches: bad arguments", () => {
  const ds = toyDataset(10);
  throwsWith(() => k.data.batches(ds, { batchSize: 4, shuffle: true }), ["shuffle needs a key"]);
  throwsWith(() => k.data.batches(ds, { batchSize: 0 }), ["batchSize"]);
  throwsWith(() => k.data.batches(ds, { batchSize: 2.5 }), ["batchSize"]);
  throwsWith(() => k.data.batches(ds, { batchSize: 11 }), ["larger than the dataset"]);
  assert.equal([...k.data.batches(ds, { batchSize: 11, dropRemainder: false })].length, 1);
  throwsWith(
    () => k.data.batches({ x: k.zeros([10, 2]), y: k.zeros([9]) }, { batchSize: 2 }),
    ["leading size", "10", "9"],
  );
  throwsWith(() => k.data.batches({}, { batchSize: 2 }), ["no tensors"]);
  throwsWith(() => k.data.batches({ x: k.zeros([]) }, { batchSize: 1 }), ["0-d"]);
});

Deno.test("trainTestSplit: sizes, disjoint cover, determinism", async () => {
  const ds = toyDataset(10);
  const ids = async (p: { x: Tensor; y: Tensor }) => {
    const ys = await values(p.y);
    assert.deepEqual(await values(p.x), ys.flatMap((y) => [3 * y, 3 * y + 1, 3 * y + 2]));
    return ys;
  };
  const [train, test] = k.data.trainTestSplit(ds, { testSize: 0.25, key: k.random.key(4) });
  const tr = await ids(train), te = await ids(test);
  assert.equal(te.length, 3, "ceil(0.25 * 10)");
  assert.equal(tr.length, 7);
  assert.deepEqual([...tr, ...te].sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
  assert.notDeepEqual(tr, [0, 1, 2, 3, 4, 5, 6], "shuffled");
  const [train2] = k.data.trainTestSplit(ds, { testSize: 0.25, key: k.random.key(4) });
  assert.deepEqual(await ids(train2), tr, "same key, same split");
  const [, te4] = k.data.trainTestSplit(ds, { testSize: 4 });
  assert.deepEqual(await ids(te4), [6, 7, 8, 9], "unshuffled: the last examples");
  const [tr1, te1] = k.data.trainTestSplit(ds, { testSize: 1, key: k.random.key(0) });
  assert.equal(tr1.y.shape[0], 9);
  assert.equal(te1.y.shape[0], 1);
  for (const bad of [0, 1.5, 10, -1, NaN]) {
    throwsWith(() => k.data.trainTestSplit(ds, { testSize: bad }), ["testSize"]);
  }
  throwsWith(() => k.data.trainTestSplit(ds, { testSize: 0.5, shuffle: true }), ["key"]);
});

// ---------------------------------------------------------------------------------------------
// CSV

Deno.test("csv: header detection, quoting, CRLF, blank lines, special values", async () => {
  const a = k.data.parseCsv("a,b,c\n1,2,3\n4.5,-6e2,.5\n");
  assert.deepEqual(a.columns, ["a", "b", "c"]);
  assert.equal(a.data.dtype, "float32");
  assertShape(a.data.shape, [2, 3]);
  assert.deepEqual(await values(a.data), [1, 2, 3, 4.5, -600, 0.5]);
  const b = k.data.parseCsv("1,2\r\n3,4\r\n\r\n");
  assert.equal(b.columns, null);
  assert.deepEqual(await values(b.data), [1, 2, 3, 4]);
  const quoted = k.data.parseCsv(
    '\ufeff"x, with comma","say ""hi""","multi\nline"\r\n" 1 ",2,"3"\n\n4, 5 ,6',
  );
  assert.deepEqual(quoted.columns, ["x, with comma", 'say "hi"', "multi\nline"]);
  assert.deepEqual(await values(quoted.data), [1, 2, 3, 4, 5, 6]);
  const special = k.data.parseCsv("1,,nan\n-inf,Infinity,+2\n", { dtype: "float64" });
  assert.equal(special.data.dtype, "float64");
  const sv = await values(special.data);
  assert.ok(Number.isNaN(sv[1]) && Number.isNaN(sv[2]));
  assert.deepEqual([sv[0], sv[3], sv[4], sv[5]], [1, -Infinity, Infinity, 2]);
  const semi = k.data.parseCsv("p;q\n1;2\n", { delimiter: ";", dtype: "int32" });
  assert.deepEqual(semi.columns, ["p", "q"]);
  assert.equal(semi.data.dtype, "int32");
  const tabs = k.data.parseCsv("1\t2\n3\t4", { delimiter: "\t", header: true });
  assert.deepEqual(tabs.columns, ["1", "2"]);
  assert.deepEqual(await values(tabs.data), [3, 4]);
  const forcedOff = k.data.parseCsv("5,6\n", { header: false });
  assert.equal(forcedOff.columns, null);
  const headerOnly = k.data.parseCsv("a,b\n");
  assertShape(headerOnly.data.shape, [0, 2]);
  assertShape(k.data.parseCsv("").data.shape, [0, 0]);
  const one = k.data.parseCsv("v\n1\n2\n");
  assertShape(one.data.shape, [2, 1]);
});

Deno.test("csv: errors name the line and the column", () => {
  throwsWith(() => k.data.parseCsv("a,b\n1,2\n3,x7\n"), [
    "line 3",
    "column 2",
    '"b"',
    '"x7" is not a number',
  ]);
  throwsWith(() => k.data.parseCsv("1,2\n3,oops\n"), ["line 2, column 2", "oops"]);
  throwsWith(() => k.data.parseCsv("a,b\n1,2\n3\n"), ["line 3", "1 fields, expected 2"]);
  throwsWith(() => k.data.parseCsv('a,b\n1,"2\n'), ["line 2", "unterminated"]);
  throwsWith(() => k.data.parseCsv('1,2"3\n'), ["line 1", "quote"]);
  throwsWith(() => k.data.parseCsv('"1"x,2\n'), ["after a closing quote"]);
  throwsWith(() => k.data.parseCsv("1,2.5\n", { dtype: "int32" }), ["not an int32"]);
  throwsWith(() => k.data.parseCsv("1,\n", { dtype: "int32" }), ["column 2", "not an int32"]);
  throwsWith(() => k.data.parseCsv("1,2", { delimiter: "::" }), ["delimiter"]);
  throwsWith(() => k.data.parseCsv("1,0x10\n"), ["line 1, column 2", '"0x10" is not a number']);
  // A first row with a number in it is data, not a header; a header needs no numeric cell.
  throwsWith(() => k.data.parseCsv("id,1\n2,3\n"), ["line 1, column 1", '"id"']);
});

Deno.test("csv: loadCsv reads plain and gzipped files, errors name the file", async () => {
  await withTempDir(async (dir) => {
    const text = "w,h\n1.5,2\n3,4\n";
    await Deno.writeTextFile(`${dir}/a.csv`, text);
    await Deno.writeFile(`${dir}/a.csv.gz`, await gzip(new TextEncoder().encode(text)));
    for (const name of ["a.csv", "a.csv.gz"]) {
      const { columns, data } = await k.data.loadCsv(`${dir}/${name}`);
      assert.deepEqual(columns, ["w", "h"]);
      assert.deepEqual(await values(data), [1.5, 2, 3, 4]);
    }
    await Deno.writeTextFile(`${dir}/bad.csv`, "w,h\n1,?\n");
    await rejectsWith(k.data.loadCsv(`${dir}/bad.csv`), [`${dir}/bad.csv`, "line 2, column 2"]);
    await rejectsWith(k.data.loadCsv(`${dir}/nope.csv`), [`${dir}/nope.csv`]);
  });
});

// ---------------------------------------------------------------------------------------------
// .npy

/** A .npy file built by hand per the format spec: magic, version, header length, header, data. */
function makeNpy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  const padded = header + " ".repeat(total - pre - header.length - 1) + "\n";
  const out = new Uint8Array(total + data.length);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, padded.length, true);
  else v.setUint32(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), pre);
  out.set(data, total);
  return out;
}

/** Little-endian bytes of numbers in a given typed-array layout. */
function le(kind: "f4" | "f8" | "i4" | "i8", vals: number[]): Uint8Array {
  const size = kind === "i4" || kind === "f4" ? 4 : 8;
  const out = new Uint8Array(vals.length * size);
  const v = new DataView(out.buffer);
  vals.forEach((x, i) => {
    if (kind === "f4") v.setFloat32(i * size, x, true);
    else if (kind === "f8") v.setFloat64(i * size, x, true);
    else if (kind === "i4") v.setInt32(i * size, x, true);
    else v.setBigInt64(i * size, BigInt(x), true);
  });
  return out;
}

Deno.test("npy: hand-built files of every supported dtype, versions 1.0 and 2.0", async () => {
  const dict = (descr: string, shape: string) =>
    `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const f4 = k.data.parseNpy(makeNpy(dict("<f4", "(2, 3)"), le("f4", [1, 2, 3, 4, 5, -6.5])));
  assert.equal(f4.dtype, "float32");
  assertShape(f4.shape, [2, 3]);
  assert.deepEqual(await values(f4), [1, 2, 3, 4, 5, -6.5]);
  const f8 = k.data.parseNpy(makeNpy(dict("<f8", "(3,)"), le("f8", [0.1, 1e300, -2]), 2));
  assert.equal(f8.dtype, "float64");
  assert.deepEqual(await values(f8), [0.1, 1e300, -2]);
  const i4 = k.data.parseNpy(makeNpy(dict("<i4", "(2,)"), le("i4", [-(2 ** 31), 7])));
  assert.equal(i4.dtype, "int32");
  assert.deepEqual(await values(i4), [-(2 ** 31), 7]);
  const i8 = k.data.parseNpy(makeNpy(dict("<i8", "(1, 3)"), le("i8", [-5, 0, 2 ** 31 - 1]), 2));
  assert.equal(i8.dtype, "int32");
  assertShape(i8.shape, [1, 3]);
  assert.deepEqual(await values(i8), [-5, 0, 2 ** 31 - 1]);
  const u1 = k.data.parseNpy(makeNpy(dict("|u1", "(4,)"), new Uint8Array([0, 1, 200, 255])));
  assert.equal(u1.dtype, "int32");
  assert.deepEqual(await values(u1), [0, 1, 200, 255]);
  const b1 = k.data.parseNpy(makeNpy(dict("|b1", "(2, 2)"), new Uint8Array([1, 0, 0, 1])));
  assert.equal(b1.dtype, "bool");
  assert.deepEqual(await b1.toArray(), [[true, false], [false, true]]);
  const scalar = k.data.parseNpy(makeNpy(dict("<f8", "()"), le("f8", [2.5])));
  assertShape(scalar.shape, []);
  assert.equal(await scalar.item(), 2.5);
  const empty = k.data.parseNpy(makeNpy(dict("<f4", "(0, 5)"), new Uint8Array(0)));
  assertShape(empty.shape, [0, 5]);
  // Key order and quoting are free in the dict literal.
  const reordered = k.data.parseNpy(
    makeNpy(`{"shape": (2,), "fortran_order": False, "descr": "<i4"}`, le("i4", [3, 4])),
  );
  assert.deepEqual(await values(reordered), [3, 4]);
});

Deno.test("npy: unsupported and broken files fail clearly", async () => {
  const dict = (descr: string, shape: string, fortran = "False") =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  throwsWith(
    () => k.data.parseNpy(makeNpy(dict("<f4", "(2, 2)", "True"), le("f4", [1, 2, 3, 4]))),
    ["fortran_order True"],
  );
  throwsWith(() => k.data.parseNpy(makeNpy(dict(">f4", "(1,)"), le("f4", [1]))), [
    "unsupported .npy dtype",
    ">f4",
  ]);
  throwsWith(() => k.data.parseNpy(makeNpy(dict("<c8", "(1,)"), le("f8", [1]))), ["<c8"]);
  throwsWith(() => k.data.parseNpy(makeNpy(dict("<i8", "(1,)"), le("i8", [2 ** 31]))), [
    "does not fit int32",
  ]);
  const good = makeNpy(dict("<f4", "(2,)"), le("f4", [1, 2]));
  throwsWith(() => k.data.parseNpy(good.subarray(0, good.length - 1)), ["truncated .npy data"]);
  throwsWith(() => k.data.parseNpy(good.subarray(0, 30)), ["truncated .npy header"]);
  const wrongMagic = good.slice();
  wrongMagic[1] = 0x6e;
  throwsWith(() => k.data.parseNpy(wrongMagic), ["not a .npy file"]);
  const v9 = good.slice();
  v9[6] = 9;
  throwsWith(() => k.data.parseNpy(v9), ["version 9.0"]);
  throwsWith(() => k.data.parseNpy(makeNpy("{'descr': '<f4'}", new Uint8Array(0))), [
    "fortran_order",
  ]);
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/x.npy`, good.subarray(0, good.length - 2));
    await rejectsWith(k.data.loadNpy(`${dir}/x.npy`), [`${dir}/x.npy`, "truncated"]);
  });
});

Deno.test("npy: encodeNpy writes NumPy's exact layout; save/load round trips", async () => {
  const t = k.tensor([[1.5, -2], [3, 4], [5, 6]]);
  const bytes = await k.data.encodeNpy(t);
  const hlen = bytes[8] | (bytes[9] << 8);
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [0x93, 78, 85, 77, 80, 89, 1, 0]);
  assert.equal((10 + hlen) % 64, 0, "data starts 64-byte aligned");
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + hlen));
  assert.equal(header.trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }");
  assert.ok(header.endsWith("\n"));
  assert.deepEqual(
    Array.from(bytes.subarray(10 + hlen)),
    Array.from(le("f4", [1.5, -2, 3, 4, 5, 6])),
  );
  const oneD = new TextDecoder().decode((await k.data.encodeNpy(k.arange(3))).subarray(10, 74));
  assert.ok(oneD.includes("'descr': '<i4'") && oneD.includes("'shape': (3,)"), oneD);
  await withTempDir(async (dir) => {
    const cases: Tensor[] = [
      t,
      k.tensor([0.1, 1e-300, -Infinity], { dtype: "float64" }),
      k.arange(24).reshape([2, 3, 4]),
      k.tensor([[true, false, true]]),
      k.tensor(7),
      k.zeros([0, 3]),
    ];
    for (const [i, x] of cases.entries()) {
      const path = `${dir}/t${i}.npy`;
      await k.data.saveNpy(path, x);
      const y = await k.data.loadNpy(path);
      assert.equal(y.dtype, x.dtype, `case ${i}`);
      assertShape(y.shape, x.shape, `case ${i}`);
      assert.deepEqual(await values(y), await values(x), `case ${i}`);
    }
    assert.deepEqual((await listDir(dir)).filter((n) => n.includes(".tmp")), []);
  });
});
