/**
 * The RealNVP of `examples/generative/_realnvp.ts`: the coupling stack inverts exactly, its
 * log-determinant equals `log|det J|` of the Jacobian computed by `k.jacfwd` (and by `jacrev`),
 * and `logProb` integrates to ~1 over the plane (a midpoint rule, independent of the flow).
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { forward, initFlow, inverse, logProb } from "../examples/generative/_realnvp.ts";
import { allClose } from "./_util.ts";

/** Runs `fn` with the CPU as default device (float64 lives there only), restoring it after. */
async function onCpu(fn: () => Promise<void>): Promise<void> {
  const prev = k.defaultDevice();
  k.setDefaultDevice("cpu");
  try {
    await fn();
  } finally {
    k.setDefaultDevice(prev);
  }
}

// Random last layers (not the identity start), float64, so every coupling does real work.
const setup = () => ({
  flow: initFlow(k.random.key(3, { device: "cpu" }), 5, 16, "float64", false),
  x: k.random.normal(k.random.key(4, { device: "cpu" }), [6, 2], { dtype: "float64" }),
});

Deno.test("realnvp: inverse(forward(x)) == x and forward(inverse(z)) == z", () =>
  onCpu(async () => {
    const { flow, x } = setup();
    const { z } = forward(flow, x);
    allClose(await inverse(flow, z).data(), await x.data(), { rtol: 1e-12, atol: 1e-12 }, "x");
    const back = forward(flow, inverse(flow, x)).z;
    allClose(await back.data(), await x.data(), { rtol: 1e-12, atol: 1e-12 }, "z");
    // The couplings are not trivial: z is far from x.
    const d = (await z.sub(x).abs().max().item()) as number;
    assert.ok(d > 0.1, `z - x max ${d}`);
  }));

Deno.test("realnvp: log-determinant equals log|det(jacfwd(f))| and log|det(jacrev(f))|", () =>
  onCpu(async () => {
    const { flow, x } = setup();
    const { logdet } = forward(flow, x);
    const ld = await logdet.data();
    const rows = await x.toArray() as number[][];
    for (let i = 0; i < 3; i++) {
      const f = (p: k.Tensor) => forward(flow, p.reshape([1, 2])).z.reshape([2]);
      const p = k.tensor(rows[i], { dtype: "float64" });
      for (const [name, jac] of [["jacfwd", k.jacfwd(f)], ["jacrev", k.jacrev(f)]] as const) {
        const [[a, b], [c, d]] = await (jac(p) as k.Tensor).toArray() as number[][];
        const want = Math.log(Math.abs(a * d - b * c));
        allClose([ld[i]], [want], { rtol: 1e-10, atol: 1e-12 }, `${name} row ${i}`);
      }
    }
  }));

Deno.test("realnvp: the density integrates to 1 (midpoint rule on [-12, 12]^2)", () =>
  onCpu(async () => {
    const n = 400, lo = -12, h = 24 / n;
    const pts = new Float64Array(2 * n * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        pts[2 * (j * n + i)] = lo + (i + 0.5) * h;
        pts[2 * (j * n + i) + 1] = lo + (j + 0.5) * h;
      }
    }
    const small = initFlow(k.random.key(5), 4, 8, "float64", false);
    const p = k.exp(logProb(small, k.tensor(pts, { shape: [n * n, 2], dtype: "float64" })));
    const mass = ((await p.sum().item()) as number) * h * h;
    assert.ok(Math.abs(mass - 1) < 2e-3, `mass ${mass}`);
  }));
