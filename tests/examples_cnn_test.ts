// examples/fashion_cnn.ts --smoke as a subprocess on the CPU backend, on a synthetic
// Fashion-MNIST-shaped dataset written here as IDX files (so CI needs neither the real data
// nor a network): the script trains two epochs of 4 steps, evaluates, writes its SVG,
// parameters and checkpoint; a second run SIGKILLed after epoch 1 and restarted with --resume
// continues at epoch 2 and ends with byte-identical parameters. Needs --allow-run.
import assert from "node:assert/strict";

const N_TRAIN = 512, N_TEST = 250;

/** An IDX file: magic (0, 0, ubyte 0x08, rank), big-endian dims, then the bytes. */
function idx(dims: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

/** Class `c` is a bright horizontal band at rows 2c..2c+5 over deterministic noise. */
function split(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    for (let p = 0; p < 784; p++) {
      const row = Math.floor(p / 28);
      const band = row >= 2 * c && row < 2 * c + 6;
      images[i * 784 + p] = Math.floor((band ? 150 : 0) + 100 * rand());
    }
  }
  return { images, labels };
}

async function writeData(dir: string): Promise<void> {
  for (const [prefix, n, seed] of [["train", N_TRAIN, 1], ["t10k", N_TEST, 2]] as const) {
    const { images, labels } = split(n, seed);
    await Deno.writeFile(`${dir}/${prefix}-images-idx3-ubyte`, idx([n, 28, 28], images));
    await Deno.writeFile(`${dir}/${prefix}-labels-idx1-ubyte`, idx([n], labels));
  }
}

const SCRIPT = new URL("../examples/fashion_cnn.ts", import.meta.url).pathname;
const command = (dataDir: string, outDir: string, extra: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--smoke", "--epochs", "2", "--out", outDir, ...extra],
    env: { KILN_DEVICE: "cpu", KILN_DATA: dataDir, KILN_CACHE: outDir },
    stdout: "piped",
    stderr: "piped",
  });

async function runExample(dataDir: string, outDir: string, extra: string[] = []) {
  const out = await command(dataDir, outDir, extra).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `exit code ${out.code}\n${text}\n${err}`);
  return { text, err };
}

/** Starts a run and SIGKILLs it as soon as it reports its first epoch (checkpoint written). */
async function killAfterEpoch1(dataDir: string, outDir: string): Promise<void> {
  const child = command(dataDir, outDir, []).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream()); // drain the progress bar
  let text = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (/^epoch 1:/m.test(text)) break;
  }
  assert.match(text, /^epoch 1:/m);
  child.kill("SIGKILL");
  await child.status;
  await stderr.catch(() => {});
}

Deno.test("examples: fashion_cnn.ts --smoke trains, writes its files, resumes bit-exactly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_cnn_" });
  try {
    await writeData(dir);
    const a = `${dir}/a`, b = `${dir}/b`;
    await Deno.mkdir(a);
    await Deno.mkdir(b);
    const whole = await runExample(dir, a);
    const m = whole.text.match(
      /epoch 1: test accuracy ([\d.]+)%, ([\d.]+) s\/epoch, (\d+) ms\/step \(batch 32\), last loss ([\d.]+)/,
    );
    assert(m, whole.text);
    const [acc, loss] = [Number(m[1]), Number(m[4])];
    assert(acc >= 0 && acc <= 100, `accuracy ${acc}`);
    assert(Number.isFinite(loss) && loss > 0 && loss < 10, `loss ${loss}`);
    assert.match(whole.text, /^epoch 2: test accuracy [\d.]+%/m);
    assert.match(whole.err, /epoch 2\/2 \[#+\] 4\/4 loss [\d.]+ \d+ ms\/step/); // progress bar
    const svg = await Deno.readTextFile(`${a}/fashion_cnn.svg`);
    assert.match(svg, /^<svg[^>]*>.*<polyline .*<\/svg>\s*$/s);
    assert.ok(svg.includes("training loss") && svg.includes("test error"), "legend");
    for (const f of ["fashion_cnn.safetensors", "fashion_cnn.ckpt"]) {
      assert((await Deno.stat(`${a}/${f}`)).size > 400_000, f); // 0.4M+ float32 parameters
    }

    // Killed after epoch 1 and resumed: the same parameters and statistics, byte for byte.
    await killAfterEpoch1(dir, b);
    const resumed = await runExample(dir, b, ["--resume"]);
    assert.match(resumed.text, /^resuming at epoch 2, step 0$/m);
    assert(!/^epoch 1:/m.test(resumed.text), resumed.text);
    assert.deepEqual(
      await Deno.readFile(`${b}/fashion_cnn.safetensors`),
      await Deno.readFile(`${a}/fashion_cnn.safetensors`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
