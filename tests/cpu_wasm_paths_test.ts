// The CPU backend's WebAssembly kernels against its JavaScript kernels (the reference path):
// seeded random programs over shapes with 0, 1, odd and non-multiple-of-4 sizes, run in two
// processes (KILN_CPU_WASM=1 and 0). Ops that both paths compute with one correct rounding
// must agree bit for bit; vector math (≤ 2 ulp per op) and reordered float32 sums within a
// tolerance. Also: which path common kernels take (KILN_DEBUG=2 names it).
import assert from "node:assert/strict";

const script = new URL("./_wasm_paths.ts", import.meta.url).pathname;

async function run(seed: number, wasm: boolean, debug = false): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", script, String(seed)],
    env: { KILN_CPU_WASM: wasm ? "1" : "0", ...(debug ? { KILN_DEBUG: "2" } : {}) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  return debug ? err : new TextDecoder().decode(out.stdout);
}

interface Case {
  kind: "exact" | "close";
  ops: string[];
  shape: number[];
  dtype: string;
  values: (number | "NaN")[];
}

Deno.test("cpu: WebAssembly kernels match the JavaScript kernels on random programs", async () => {
  for (const seed of [7, 2024]) {
    const [a, b] = await Promise.all([run(seed, true), run(seed, false)]);
    const wasm: Case[] = JSON.parse(a), js: Case[] = JSON.parse(b);
    assert.equal(wasm.length, js.length);
    for (let i = 0; i < wasm.length; i++) {
      const w = wasm[i], j = js[i];
      const what = `${w.kind} ${w.dtype}[${w.shape}] ${w.ops.join(" → ")}`;
      assert.equal(w.values.length, j.values.length, what);
      for (let e = 0; e < w.values.length; e++) {
        const x = w.values[e], y = j.values[e];
        if (w.kind === "exact" || x === "NaN" || y === "NaN") {
          assert.ok(Object.is(x, y), `${what}: element ${e}: wasm ${x}, js ${y}`);
        } else {
          const tol = 1e-5 * Math.max(1, Math.abs(y as number));
          assert.ok(Math.abs((x as number) - (y as number)) <= tol, `${what}: ${e}: ${x} vs ${y}`);
        }
      }
    }
  }
});

Deno.test("cpu: common kernels take the WebAssembly path (KILN_DEBUG=2)", async () => {
  const log = await run(3, true, true);
  const paths = [...log.matchAll(/cpu kernel \[([a-z ]+)\]/g)].map((m) => m[1]);
  assert.ok(paths.length > 100, `${paths.length} kernels`);
  const js = paths.filter((p) => p === "js").length;
  assert.equal(js, 0, `${js} of ${paths.length} kernels took the JavaScript path`);
  assert.ok(paths.filter((p) => p === "wasm simd").length > paths.length / 4);
});
