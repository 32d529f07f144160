// examples/fashion_cnn.ts --smoke as a subprocess on the CPU backend, on a synthetic
// Fashion-MNIST-shaped dataset written here as IDX files (so CI needs neither the real data
// nor a network): the script trains a few steps, evaluates, writes its SVG, parameters and
// checkpoint, and a second run with --resume --epochs 2 continues at epoch 2 from that
// checkpoint. Needs --allow-run.
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

async function runExample(dataDir: string, outDir: string, extra: string[]) {
  const script = new URL("../examples/fashion_cnn.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--smoke", "--out", outDir, ...extra],
    env: { KILN_DEVICE: "cpu", KILN_DATA: dataDir, KILN_CACHE: outDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `exit code ${out.code}\n${text}\n${err}`);
  return { text, err };
}

Deno.test("examples: fashion_cnn.ts --smoke trains, writes its files and resumes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_cnn_" });
  try {
    await writeData(dir);
    const first = await runExample(dir, dir, []);
    const m = first.text.match(
      /epoch 1: test accuracy ([\d.]+)%, ([\d.]+) s\/epoch, (\d+) ms\/step \(batch 32\), last loss ([\d.]+)/,
    );
    assert(m, first.text);
    const [acc, loss] = [Number(m[1]), Number(m[4])];
    assert(acc >= 0 && acc <= 100, `accuracy ${acc}`);
    assert(Number.isFinite(loss) && loss > 0 && loss < 10, `loss ${loss}`);
    assert.match(first.err, /epoch 1\/1 \[#+\] 4\/4 loss [\d.]+ \d+ ms\/step/); // progress bar
    const svg = await Deno.readTextFile(`${dir}/fashion_cnn.svg`);
    assert.match(svg, /^<svg[^>]*>.*<polyline .*<\/svg>\s*$/s);
    assert.ok(svg.includes("training loss") && svg.includes("test error"), "legend");
    for (const f of ["fashion_cnn.safetensors", "fashion_cnn.ckpt"]) {
      assert((await Deno.stat(`${dir}/${f}`)).size > 400_000, f); // 0.4M+ float32 parameters
    }

    const second = await runExample(dir, dir, ["--resume", "--epochs", "2"]);
    assert.match(second.text, /^resuming at epoch 2, step 0$/m);
    assert(!/^epoch 1:/m.test(second.text), second.text);
    assert.match(second.text, /^epoch 2: test accuracy [\d.]+%/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
