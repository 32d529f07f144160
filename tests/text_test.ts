// k.data text pieces: vocabularies against hand-written id tables, next-token windows against a
// plain loop over the token array, the split rules, the unigram entropy against its closed
// form, and the fortunes loader on a temporary folder of fake files (never the network, never
// the installed package).
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { DEVICES, rejectsWith, throwsWith } from "./_util.ts";

const cpuKey = (seed: number) => k.random.key(seed, { device: "cpu" });

Deno.test("charVocab: sorted code points, round trip, unknown policies", () => {
  const v = k.data.charVocab("hello world");
  assert.equal(v.kind, "char");
  assert.deepEqual(v.tokens, [" ", "d", "e", "h", "l", "o", "r", "w"]);
  assert.equal(v.size, 8);
  assert.deepEqual([...v.encode("hold")], [3, 5, 4, 1]);
  assert.equal(v.decode([3, 5, 4, 1]), "hold");
  assert.equal(v.decode(v.encode("world hello")), "world hello");
  assert.equal(v.unknownId, undefined);
  const msg = throwsWith(() => v.encode("hex"), ["data.charVocab.encode: ", '"x"', "position 2"]);
  assert.match(msg, /U\+0078/);
  const skip = k.data.charVocab("ab", { unknown: "skip" });
  assert.deepEqual([...skip.encode("axb")], [0, 1]);
  const rep = k.data.charVocab("ab", { unknown: "replace" });
  assert.equal(rep.size, 3);
  assert.equal(rep.unknownId, 2);
  assert.deepEqual([...rep.encode("axb")], [0, 2, 1]);
  assert.equal(rep.decode([0, 2, 1]), "a\uFFFDb");
  throwsWith(() => rep.decode([3]), ["data.charVocab.decode: ", "ids[0] = 3", "0…2"]);
  throwsWith(() => rep.decode("ab" as never), ["data.charVocab.decode: ", "ids must be"]);
});

Deno.test("charVocab: astral characters are one token; minCount folds rare ones", () => {
  const v = k.data.charVocab("a😀a");
  assert.deepEqual(v.tokens, ["a", "😀"]);
  assert.deepEqual([...v.encode("😀a😀")], [1, 0, 1]);
  const r = k.data.charVocab("aaabbc", { minCount: 2, unknown: "replace" });
  assert.deepEqual(r.tokens, ["a", "b", "\uFFFD"]);
  assert.deepEqual([...r.encode("abc")], [0, 1, 2]);
  throwsWith(() => k.data.charVocab("", {}), ["data.charVocab: ", "empty"]);
  throwsWith(() => k.data.charVocab("ab", { unknown: "drop" as never }), [
    "data.charVocab: ",
    "unknown must be one of",
  ]);
  throwsWith(() => k.data.charVocab("ab", { minCount: 0 }), ["data.charVocab: ", "minCount"]);
  throwsWith(() => k.data.charVocab(3 as never), ["data.charVocab: ", "text must be a string"]);
});

Deno.test("byteVocab: UTF-8 bytes both ways", () => {
  const v = k.data.byteVocab();
  assert.equal(v.size, 256);
  assert.deepEqual([...v.encode("hé!")], [104, 0xc3, 0xa9, 33]);
  assert.equal(v.decode([104, 0xc3, 0xa9, 33]), "hé!");
  assert.equal(v.decode([0xc3]), "\uFFFD"); // a cut sequence, as a sampled model may produce
  throwsWith(() => v.decode([256]), ["data.byteVocab.decode: ", "ids[0] = 256"]);
});

/** The windows a plain loop takes: starts 0, stride, 2·stride, … while start+seqLen < n. */
function loopWindows(tokens: number[], seqLen: number, stride: number): [number[], number[]][] {
  const out: [number[], number[]][] = [];
  for (let s = 0; s + seqLen < tokens.length; s += stride) {
    out.push([tokens.slice(s, s + seqLen), tokens.slice(s + 1, s + seqLen + 1)]);
  }
  return out;
}

for (const device of DEVICES) {
  Deno.test(`sequenceBatches (${device}): text-order windows equal a plain loop`, async () => {
    const tokens = Array.from({ length: 50 }, (_, i) => (i * 7) % 13);
    const want = loopWindows(tokens, 6, 6); // starts 0..42: 8 windows
    assert.equal(want.length, 8);
    const got: [number[], number[]][] = [];
    const opts = { seqLen: 6, batchSize: 3, device };
    assert.equal(k.data.numSequenceBatches(50, opts), 2);
    for (const { inputs, targets } of k.data.sequenceBatches(tokens, opts)) {
      assert.deepEqual(inputs.shape, [3, 6]);
      assert.equal(inputs.dtype, "int32");
      assert.equal(targets.device, device);
      const x = [...await inputs.data()], y = [...await targets.data()];
      for (let r = 0; r < 3; r++) got.push([x.slice(r * 6, r * 6 + 6), y.slice(r * 6, r * 6 + 6)]);
    }
    assert.deepEqual(got, want.slice(0, 6)); // the 2 windows of the incomplete batch dropped
    // dropRemainder: false gives the rest as a smaller last batch; stride 4 overlaps windows.
    const all = [...k.data.sequenceBatches(tokens, { ...opts, stride: 4, dropRemainder: false })];
    const w4 = loopWindows(tokens, 6, 4);
    assert.equal(all.length, Math.ceil(w4.length / 3));
    const last = all[all.length - 1];
    assert.deepEqual(last.inputs.shape, [w4.length % 3 || 3, 6]);
    assert.deepEqual([...await last.targets.data()].slice(0, 6), w4[3 * (all.length - 1)][1]);
  });
}

Deno.test("sequenceBatches: a key shuffles whole windows deterministically", () => {
  const tokens = Int32Array.from({ length: 401 }, (_, i) => i); // token = its position
  const opts = { seqLen: 10, batchSize: 8, device: "cpu" }; // read back with dataSync
  const epoch = (key: k.Tensor) =>
    [...k.data.sequenceBatches(tokens, { ...opts, key })].flatMap(({ inputs, targets }) => {
      const x = inputs.dataSync() as Int32Array, y = targets.dataSync() as Int32Array;
      for (let i = 0; i < x.length; i++) assert.equal(y[i], x[i] + 1); // next token
      return Array.from({ length: 8 }, (_, r) => x[r * 10]); // window starts
    });
  const a = epoch(cpuKey(1)), b = epoch(cpuKey(1)), c = epoch(cpuKey(2));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 40); // 40 windows, 5 batches
  assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 40 }, (_, i) => i * 10));
  assert.deepEqual(a, [...k.data.shuffledIndices(cpuKey(1), 40)].map((w) => w * 10));
});

Deno.test("sequenceBatches: bad input names the argument", () => {
  const t = new Int32Array(20);
  throwsWith(() => k.data.sequenceBatches(t, { seqLen: 30, batchSize: 1 }), [
    "data.sequenceBatches: ",
    "20 tokens give 0 windows",
  ]);
  throwsWith(() => k.data.sequenceBatches(t, { seqLen: 0, batchSize: 1 }), [
    "data.sequenceBatches: ",
    "seqLen",
  ]);
  throwsWith(() => k.data.sequenceBatches(k.zeros([20]) as never, { seqLen: 4, batchSize: 1 }), [
    "data.sequenceBatches: ",
    "tokens must be an Int32Array",
  ]);
  throwsWith(() => k.data.sequenceBatches(t, { seqLen: 4, batchSize: 1, shuffle: true }), [
    "data.sequenceBatches: ",
    "shuffle needs a key",
  ]);
  throwsWith(() => k.data.sequenceBatches(t, { seqLen: 4, batchSize: 1, len: 3 } as never), [
    "data.sequenceBatches: ",
    "len",
  ]);
});

Deno.test("textSplit: documents whole (keyed), texts and tokens at the tail", () => {
  const docs = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
  assert.deepEqual(k.data.textSplit(docs, { validation: 0.2 }), [docs.slice(0, 8), ["i", "j"]]);
  const [tr, va] = k.data.textSplit(docs, { validation: 3, key: cpuKey(0) });
  const order = [...k.data.shuffledIndices(cpuKey(0), 10)].map((i) => docs[i]);
  assert.deepEqual([tr, va], [order.slice(0, 7), order.slice(7)]);
  assert.deepEqual(k.data.textSplit("abcdefghij", { validation: 0.25 }), ["abcdefg", "hij"]);
  const [x, y] = k.data.textSplit(Int32Array.of(1, 2, 3, 4, 5));
  assert.deepEqual([[...x], [...y]], [[1, 2, 3, 4], [5]]); // default 0.1 rounds up to one
  throwsWith(() => k.data.textSplit("abc", { key: cpuKey(0) }), ["data.textSplit: ", "key"]);
  throwsWith(() => k.data.textSplit("abc", { validation: 3 }), ["data.textSplit: ", "nothing"]);
  throwsWith(() => k.data.textSplit("abc", { validation: 1.5 }), ["data.textSplit: "]);
});

Deno.test("unigramEntropy: closed forms", () => {
  assert.equal(k.data.unigramEntropy([3, 3, 3]), 0);
  assert.ok(Math.abs(k.data.unigramEntropy([0, 1, 0, 1]) - Math.LN2) < 1e-15);
  // p = (1/2, 1/4, 1/4): H = 1.5 ln 2
  assert.ok(Math.abs(k.data.unigramEntropy(Int32Array.of(7, 7, 1, 2)) - 1.5 * Math.LN2) < 1e-15);
  throwsWith(() => k.data.unigramEntropy([]), ["data.unigramEntropy: ", "empty"]);
});

Deno.test("fortunes: reads fake files, skips .dat/.u8/symlinks, cleans overstrike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_fortunes_" });
  try {
    const sub = `${dir}/fortunes`;
    await Deno.mkdir(sub);
    await Deno.writeTextFile(`${sub}/beta`, "Second file.\n%\nB_\bo_\bl_\bd and C\bCAPS\x07.\n%\n");
    await Deno.writeTextFile(
      `${sub}/alpha`,
      "First fortune,\n\ttwo lines.\n%\n%\nAnother one.\r\n",
    );
    await Deno.writeFile(`${sub}/alpha.dat`, new Uint8Array([0, 0, 0, 2, 255, 1]));
    await Deno.symlink(`${sub}/alpha`, `${sub}/alpha.u8`);
    await Deno.symlink(`${sub}/beta`, `${sub}/gamma`); // a symlinked duplicate
    await Deno.writeTextFile(`${sub}/.hidden`, "not a fortune\n");
    const want = [
      "First fortune,\n\ttwo lines.",
      "Another one.",
      "Second file.",
      "Bold and CAPS.",
    ];
    const viaEnv = await withEnv("KILN_DATA", dir, () => k.data.fortunes());
    assert.deepEqual(viaEnv.fortunes, want);
    assert.deepEqual(viaEnv.files, ["alpha", "beta"]);
    assert.equal(viaEnv.text, want.join("\n\n"));
    assert.equal(viaEnv.dir, sub);
    const direct = await k.data.fortunes({ dir: sub });
    assert.deepEqual(direct.fortunes, want);
    const empty = `${dir}/empty`;
    await Deno.mkdir(empty);
    const msg = await rejectsWith(() => k.data.fortunes({ searchPath: [empty, `${dir}/nope`] }), [
      "data.fortunes: ",
      "sudo apt-get install -y fortunes",
      `${empty} (no fortune files)`,
      `${dir}/nope (missing)`,
      "KILN_DATA",
    ]);
    assert.ok(msg.length > 0);
    await rejectsWith(() => k.data.fortunes({ dir: 3 } as never), ["data.fortunes: ", "dir"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function withEnv<T>(name: string, value: string, f: () => Promise<T>): Promise<T> {
  const old = Deno.env.get(name);
  Deno.env.set(name, value);
  try {
    return await f();
  } finally {
    if (old === undefined) Deno.env.delete(name);
    else Deno.env.set(name, old);
  }
}
