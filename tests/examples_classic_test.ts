// Every examples/classic script with --smoke, as a subprocess on the CPU backend, on a
// synthetic Fashion-MNIST-shaped dataset written here as IDX files (CI needs neither the real
// data nor a network; linear_regression reads its committed CSV). Each script verifies its own
// result and exits 2 when a check fails; here we also require its summary line, its pictures,
// and its progress bar. Needs --allow-run.
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

/**
 * Class `c` (i % 10) is a bright vertical bar at columns 2c+4 … 2c+8 whose brightness varies
 * per image, over uniform noise: separable classes, a spectrum with distinct eigenvalues.
 */
function split(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    const c = i % 10, level = 100 + 80 * rand();
    labels[i] = c;
    for (let p = 0; p < 784; p++) {
      const col = p % 28;
      const bar = col >= 2 * c + 4 && col < 2 * c + 9;
      images[i * 784 + p] = Math.floor((bar ? level : 0) + 70 * rand());
    }
  }
  return { images, labels };
}

const dataDir = await Deno.makeTempDir({ prefix: "kiln_classic_" });
for (const [prefix, n, seed] of [["train", N_TRAIN, 1], ["t10k", N_TEST, 2]] as const) {
  const { images, labels } = split(n, seed);
  await Deno.writeFile(`${dataDir}/${prefix}-images-idx3-ubyte`, idx([n, 28, 28], images));
  await Deno.writeFile(`${dataDir}/${prefix}-labels-idx1-ubyte`, idx([n], labels));
}

async function smoke(name: string): Promise<{ text: string; err: string; out: string }> {
  const script = new URL(`../examples/classic/${name}.ts`, import.meta.url).pathname;
  const out = `${dataDir}/${name}/`;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--smoke", "--out", out],
    env: { KILN_DEVICE: "cpu", KILN_DATA: dataDir, KILN_CACHE: dataDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(res.stdout);
  const err = new TextDecoder().decode(res.stderr);
  assert.equal(res.code, 0, `${name} exited with ${res.code}\n${text}\n${err}`);
  assert.match(text, /^all checks passed in [\d.]+ s$/m);
  assert(!/FAILED/.test(text + err), text + err);
  return { text, err, out };
}

async function svg(path: string, element: string): Promise<void> {
  const s = await Deno.readTextFile(path);
  assert.match(s, new RegExp(`^<svg [^>]*>.*<${element} .*</svg>\\n$`, "s"), path);
}

async function png(path: string): Promise<void> {
  const b = await Deno.readFile(path);
  assert.deepEqual([...b.subarray(1, 4)], [0x50, 0x4e, 0x47], path); // "PNG"
  assert.deepEqual([...b.subarray(b.length - 8, b.length - 4)], [0x49, 0x45, 0x4e, 0x44]); // IEND
}

const bar = /\[#+\] (\d+)\/\1 /; // a progress bar that reached its end

Deno.test("examples/classic: logistic_regression --smoke", async () => {
  const { text, err, out } = await smoke("logistic_regression");
  const bin = Number(text.match(/binary logistic regression .* test accuracy ([\d.]+)%/)![1]);
  const soft = Number(text.match(/softmax regression .* test accuracy ([\d.]+)%/)![1]);
  assert(bin >= 90 && soft >= 90, `synthetic classes are separable: ${bin}%, ${soft}%`);
  assert.match(err, bar);
  await svg(`${out}logistic_regression.svg`, "polyline");
});

Deno.test("examples/classic: svm --smoke", async () => {
  const { text, out } = await smoke("svm");
  assert.match(text, /Weston-Watkins \(k\.nn\.hinge\)\s+[\d.]+%/);
  assert.match(text, /Crammer-Singer\s+[\d.]+%/);
  await svg(`${out}svm.svg`, "polyline");
});

Deno.test("examples/classic: perceptron --smoke", async () => {
  const { text, out } = await smoke("perceptron");
  assert.match(text, /^separable \(\d+ points\): converged after \d+ epochs/m);
  assert.match(text, /^XOR: no convergence in 50 epochs/m);
  assert.match(text, /^MLP 2-8-1 on XOR: 4\/4 correct/m);
  await svg(`${out}perceptron.svg`, "circle");
});

Deno.test("examples/classic: som --smoke", async () => {
  const { text, out } = await smoke("som");
  const qe = text.match(/quantization error ([\d. >-]+);/)![1].split(" -> ").map(Number);
  assert.equal(qe.length, 11);
  assert(qe[10] < qe[0], `${qe}`);
  await png(`${out}som.png`);
  await svg(`${out}som.svg`, "polyline");
});

Deno.test("examples/classic: kmeans --smoke", async () => {
  const { text, out } = await smoke("kmeans");
  const purity = Number(text.match(/purity ([\d.]+)/)![1]);
  assert(purity >= 0.8, `separable bars, a local minimum merges at most a class: ${purity}`);
  await png(`${out}kmeans.png`);
});

Deno.test("examples/classic: linear_regression --smoke", async () => {
  const { text, out } = await smoke("linear_regression");
  assert.match(text, /^ {2}solve \(normal eq\.\)\s+152\.1335\s+24\.7265\s+15\.4294\s+35\.7344/m);
  await svg(`${out}linear_regression.svg`, "polyline");
});

Deno.test("examples/classic: newton --smoke", async () => {
  const { text } = await smoke("newton");
  const its = [...text.matchAll(/iteration (\d+): .*‖g‖ = ([\d.e+-]+)/g)];
  assert(its.length >= 2 && its.length <= 11, text);
  assert(Number(its[its.length - 1][2]) < 1e-10, text);
});

Deno.test("examples/classic: pca --smoke", async () => {
  const { text, out } = await smoke("pca");
  assert.match(text, /^PCA of 300 images \(196 features\)/m);
  await svg(`${out}pca.svg`, "circle");
});

Deno.test("examples/classic: remove the synthetic data", async () => {
  await Deno.remove(dataDir, { recursive: true });
});
