// Each generative and graph example's --smoke run as a subprocess on the CPU backend (issue
// 15): it must exit 0 after printing its checks. The Fashion-MNIST examples read a small
// synthetic dataset written here as IDX files (so CI needs neither the real data nor a
// network); their smoke checks are data-independent (training lowers the test loss).
// Pictures go to a temporary folder. Needs --allow-run.
import assert from "node:assert/strict";

/** An IDX file: magic (0, 0, ubyte 0x08, rank), big-endian dims, then the bytes. */
function idx(dims: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

/** Images of class c: a bright band at rows 2c..2c+5 over deterministic noise. */
async function writeData(dir: string): Promise<void> {
  let s = 1;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const [prefix, n] of [["train", 1024], ["t10k", 500]] as const) {
    const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      for (let p = 0; p < 784; p++) {
        const row = Math.floor(p / 28), band = row >= 2 * (i % 10) && row < 2 * (i % 10) + 6;
        images[i * 784 + p] = Math.floor((band ? 150 : 0) + 100 * rand());
      }
    }
    await Deno.writeFile(`${dir}/${prefix}-images-idx3-ubyte`, idx([n, 28, 28], images));
    await Deno.writeFile(`${dir}/${prefix}-labels-idx1-ubyte`, idx([n], labels));
  }
}

const EXAMPLES = [
  "graph/karate_gcn.ts",
  "generative/flow_moons.ts",
  "generative/gan_ring.ts",
  "generative/autoencoder.ts",
  "generative/vae.ts",
  "generative/dcgan.ts",
];

Deno.test("examples: generative and graph --smoke runs pass their checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_gen_" });
  try {
    await writeData(dir);
    const t0 = performance.now();
    for (const name of EXAMPLES) {
      const t = performance.now();
      const script = new URL(`../examples/${name}`, import.meta.url).pathname;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, "--smoke", "--out", dir],
        env: { KILN_DEVICE: "cpu", KILN_DATA: dir, KILN_CACHE: dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `${name}: exit code ${out.code}\n${text}\n${err}`);
      assert.match(text, /all checks passed/, `${name}\n${text}`);
      assert.doesNotMatch(text, /FAILED/, name);
      console.log(`${name} --smoke: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    console.log(
      `all generative/graph smoke runs: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    for (const f of ["karate_gcn.svg", "flow_moons.svg", "gan_ring.svg", "autoencoder_recon.png"]) {
      assert.ok((await Deno.stat(`${dir}/${f}`)).size > 100, f);
    }
    for (
      const f of ["vae_samples.png", "vae_recon.png", "vae_traversal.png", "dcgan_samples.png"]
    ) {
      assert.ok((await Deno.stat(`${dir}/${f}`)).size > 100, f);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
