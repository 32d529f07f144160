/**
 * Crash-safe training state: `k.io.checkpoint` / `saveCheckpoint` / `loadCheckpoint` round
 * trips, stale temporary files of killed saves, errors that name the io function and path, and
 * the real thing: a training run (tests/_checkpoint_train.ts, CPU) killed with SIGKILL again and
 * again at random moments and resumed each time ends with parameters, optimizer state, running
 * statistics and PRNG key byte-identical to a run that was never interrupted.
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { rejectsWith, rng } from "./_util.ts";

async function inTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln_ckpt_" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const listDir = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

/** The bit patterns of a tensor's elements. */
const bits = async (t: k.Tensor) => [...new Uint8Array((await t.data()).slice().buffer)];

Deno.test("checkpoint: tensors bit-exact, JSON leaves exact, structure kept", async () => {
  await inTempDir(async (dir) => {
    const params = k.nn.mlp.init(k.random.key(3), [3, 5, 2]);
    const opt = k.optim.adam(1e-3).init(params);
    const state = {
      params,
      opt,
      key: k.random.key(7),
      mask: k.tensor([true, false]),
      half: k.tensor([0.1, -0], { dtype: "float16" }),
      step: 12,
      lr: 0.1 + 0.2,
      odd: [NaN, Infinity, -Infinity, -0, 2 ** 53 - 1],
      name: "run-1",
      flags: { done: false, note: null },
      history: [1.5, 0.25],
    };
    const path = `${dir}/run.ckpt`;
    await k.io.saveCheckpoint(path, state);
    const back = await k.io.loadCheckpoint<typeof state>(path, { like: state });
    assert.ok(back);
    assert.deepEqual(await bits(back.params.layers[1].w), await bits(params.layers[1].w));
    assert.deepEqual(await bits(back.key), await bits(state.key));
    assert.equal(back.key.dtype, "int32");
    assert.deepEqual([...await back.mask.data()], [1, 0]);
    assert.equal(back.half.dtype, "float16");
    assert.ok(Object.is((await back.half.data())[1], -0));
    for (const leaf of k.tree.leaves(back.opt as k.tree.PyTree<k.Tensor>)) {
      assert.ok(leaf instanceof k.Tensor);
    }
    const counts = k.tree.leaves(back.opt as k.tree.PyTree<k.Tensor>).filter((t) =>
      t.dtype === "int32"
    );
    assert.ok(counts.length >= 1, "Adam's step count is an int32 tensor");
    assert.equal(back.step, 12);
    assert.equal(back.lr, 0.1 + 0.2);
    assert.ok(Number.isNaN(back.odd[0]));
    assert.deepEqual(back.odd.slice(1, 3), [Infinity, -Infinity]);
    assert.ok(Object.is(back.odd[3], -0));
    assert.equal(back.odd[4], 2 ** 53 - 1);
    assert.equal(back.name, "run-1");
    assert.deepEqual(back.flags, { done: false, note: null });
    assert.deepEqual(back.history, [1.5, 0.25]);
    // The file is a plain safetensors file: tensors under their dotted paths.
    const plain = await k.io.load(path) as Record<string, unknown>;
    assert.ok("params" in plain && "key" in plain);
    // The checkpoint object: null before the first save, removal is idempotent.
    const ck = k.io.checkpoint<{ w: k.Tensor; step: number }>(`${dir}/other.ckpt`);
    assert.equal(await ck.load(), null);
    await ck.save({ w: k.ones([2]), step: 1 });
    assert.equal((await ck.load())?.step, 1);
    await ck.remove();
    await ck.remove();
    assert.equal(await ck.load(), null);
  });
});

Deno.test("checkpoint: mismatches and bad values are named", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/run.ckpt`;
    await k.io.saveCheckpoint(path, { w: k.zeros([2, 3]), step: 0 });
    await rejectsWith(() => k.io.loadCheckpoint(path, { like: { w: k.zeros([3, 2]), step: 0 } }), [
      `io.loadCheckpoint: ${path}`,
      "w",
      "expected float32 [3, 2], found float32 [2, 3]",
    ]);
    await rejectsWith(
      () => k.io.saveCheckpoint(path, { w: k.zeros([1]), when: new Date() } as never),
      ['io.saveCheckpoint: the value at "when" is', "a checkpoint holds tensors"],
    );
    await rejectsWith(() => k.io.saveCheckpoint(42 as never, {}), ["io.saveCheckpoint: path"]);
    await k.io.save(`${dir}/plain.safetensors`, { w: k.zeros([1]) });
    await rejectsWith(() => k.io.loadCheckpoint(`${dir}/plain.safetensors`), [
      "not a checkpoint",
      "io.load",
    ]);
  });
});

Deno.test("io: errors name io.save / io.load and the path, never a raw Deno error", async () => {
  await inTempDir(async (dir) => {
    const missing = `${dir}/nope.safetensors`;
    const e = await rejectsWith(() => k.io.load(missing), [
      `io.load: cannot read "${missing}": no such file`,
    ]);
    void e;
    await assert.rejects(() => k.io.load(missing), (err: Error) => {
      return err instanceof k.KilnError && err.cause instanceof Deno.errors.NotFound;
    });
    await rejectsWith(() => k.io.loadMetadata(missing), [`io.loadMetadata: cannot read`]);
    await rejectsWith(() => k.io.save(`${dir}/no/such/dir/x.st`, { w: k.zeros([1]) }), [
      `io.save: cannot write "${dir}/no/such/dir/x.st": its directory does not exist`,
    ]);
    await rejectsWith(() => k.io.load(dir), [`io.load: cannot read "${dir}"`]);
    await rejectsWith(() => k.io.save(null as never, { w: k.zeros([1]) }), [
      "io.save: path must be a string or a file: URL, got null",
    ]);
  });
});

Deno.test("io: a save removes the temporary files of killed saves to the same path", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    // What a process killed between open and rename leaves behind (and unrelated files).
    await Deno.writeTextFile(`${dir}/.model.safetensors.123456.tmp`, "partial");
    await Deno.writeTextFile(`${dir}/.model.safetensors.9.tmp`, "partial");
    await Deno.writeTextFile(`${dir}/.other.safetensors.77.tmp`, "someone else's");
    await Deno.writeTextFile(`${dir}/notes.tmp`, "unrelated");
    await k.io.save(path, { w: k.ones([2]) });
    assert.deepEqual(await listDir(dir), [
      ".other.safetensors.77.tmp",
      "model.safetensors",
      "notes.tmp",
    ]);
  });
});

/** Runs the training script; `killAfter` ms later it is SIGKILLed unless it finished. */
async function train(
  dir: string,
  name: string,
  killAfter?: number,
): Promise<{ finished: boolean; ms: number }> {
  const script = new URL("./_checkpoint_train.ts", import.meta.url).pathname;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--ckpt", `${dir}/${name}.ckpt`, "--out", `${dir}/${name}.out`],
    env: { KILN_DEVICE: "cpu" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (killAfter !== undefined) {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }, killAfter);
  }
  const out = await child.output();
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (out.success) return { finished: true, ms };
  assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
  return { finished: false, ms };
}

Deno.test("checkpoint: a run SIGKILLed at random moments resumes bit-identically", async () => {
  await inTempDir(async (dir) => {
    const ref = await train(dir, "ref");
    assert.ok(ref.finished);
    const rand = rng(17);
    let kills = 0, runs = 0;
    const steps: number[] = [];
    for (;;) {
      runs++;
      assert.ok(runs <= 40, "the resumed run never finished");
      // Kill anywhere from start-up to most of a full run; the last tries let it finish.
      const delay = runs > 12 ? undefined : 150 + rand() * ref.ms * 0.6;
      const r = await train(dir, "cut", delay);
      const temps = (await listDir(dir)).filter((f) => f.endsWith(".tmp"));
      assert.ok(temps.length <= 1, `stale temporary files: ${temps}`);
      if (r.finished) break;
      kills++;
      const saved = await k.io.loadCheckpoint<{ step: number }>(`${dir}/cut.ckpt`);
      steps.push(saved?.step ?? 0);
    }
    assert.ok(kills >= 5, `only ${kills} kills`);
    // Progress only moves forward across kills (a checkpoint is never torn or rolled back).
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i] >= steps[i - 1], `${steps}`);
    assert.ok(steps.some((s) => s > 0 && s < 300), `kills landed mid-run: ${steps}`);
    const a = await Deno.readFile(`${dir}/ref.out`);
    const b = await Deno.readFile(`${dir}/cut.out`);
    assert.equal(a.length, b.length);
    assert.ok(a.every((v, i) => v === b[i]), "final state differs from the uninterrupted run");
    // And the run did train: the parameters moved away from their initial values.
    const fin = await k.io.load(`${dir}/ref.out`) as { params: k.nn.MlpParams };
    const init = k.nn.mlp.init(k.random.split(k.random.key(42), 4)[1], [8, 32, 4]);
    const moved = await k.abs(fin.params.layers[0].w.sub(init.layers[0].w)).max().item();
    assert.ok((moved as number) > 1e-2, `parameters did not move (${moved})`);
    console.log(`  ${kills} kills over ${runs} runs; checkpoint steps at kills: ${steps}`);
  });
});
