/**
 * A GAN on the standard mode-collapse check: a mixture of 8 Gaussians (σ = 0.05) centred on a
 * circle of radius 2. Generator and discriminator are MLPs (128 units, two hidden layers), the
 * loss is the non-saturating one of Goodfellow et al. (2014); two Adam optimizers (β1 = 0.5)
 * and alternating updates, each a jitted step. At the end, of 2,000 generated points: a mode
 * counts as covered when at least 1 % of them lie within 3σ of it; the checks are ≥ 7 of 8
 * modes covered and ≥ 80 % of the points within 3σ of some mode. Writes `gan_ring.svg`.
 *
 * Run: `deno run -A examples/generative/gan_ring.ts [--smoke] [--steps N]`
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, outDir, parseArgs, progress } from "./_common.ts";

const args = parseArgs();
const out = outDir(args, import.meta.url);
const t0 = performance.now();

const MODES = 8, RADIUS = 2, SIGMA = 0.05, NOISE = 8, HIDDEN = 128, BATCH = 256;
const centres = Array.from({ length: MODES }, (_, i) => {
  const a = (2 * Math.PI * i) / MODES;
  return [RADIUS * Math.cos(a), RADIUS * Math.sin(a)];
});
const centresT = k.tensor(centres);

/** `n` points of the ring mixture (uniform mode, Gaussian around it), keyed. */
function real(key: k.Tensor, n: number): k.Tensor {
  const [km, kn] = k.random.split(key);
  const mode = k.random.randint(km, [n], 0, MODES);
  return k.take(centresT, mode, { axis: 0 }).add(k.random.normal(kn, [n, 2]).mul(SIGMA));
}

type Mlp = k.nn.MlpParams;
const leaky = (x: k.Tensor) => k.nn.leakyRelu(x, 0.2);

function generate(g: Mlp, z: k.Tensor): k.Tensor {
  return k.nn.mlp.apply(g, z, { activation: k.relu });
}
function discriminate(d: Mlp, x: k.Tensor): k.Tensor {
  return k.nn.mlp.apply(d, x, { activation: leaky }).reshape([-1]);
}

const [kg, kd] = k.random.split(k.random.key(0));
let gParams: Mlp = k.nn.mlp.init(kg, [NOISE, HIDDEN, HIDDEN, 2]);
let dParams: Mlp = k.nn.mlp.init(kd, [2, HIDDEN, HIDDEN, 1]);
const gOpt = k.optim.adam(1e-3, { b1: 0.5 }), dOpt = k.optim.adam(1e-3, { b1: 0.5 });
let gState = gOpt.init(gParams), dState = dOpt.init(dParams);
// softplus(-l) = -log σ(l), softplus(l) = -log(1 - σ(l)): the logistic losses, stable.
const sp = (x: k.Tensor) => k.nn.softplus(x);

const dStep = k.jit((d: Mlp, s: k.optim.OptState, g: Mlp, key: k.Tensor) => {
  const [kr, kz] = k.random.split(key);
  const fake = generate(g, k.random.normal(kz, [BATCH, NOISE]));
  const loss = (p: Mlp) =>
    sp(discriminate(p, real(kr, BATCH)).neg()).mean().add(sp(discriminate(p, fake)).mean());
  const [value, grads] = k.valueAndGrad(loss)(d);
  const [updates, next] = dOpt.update(grads, s, d);
  return [k.optim.applyUpdates(d, updates), next, value] as const;
});
const gStep = k.jit((g: Mlp, s: k.optim.OptState, d: Mlp, key: k.Tensor) => {
  // Non-saturating generator loss: -log D(G(z)).
  const loss = (p: Mlp) =>
    sp(discriminate(d, generate(p, k.random.normal(key, [BATCH, NOISE]))).neg()).mean();
  const [value, grads] = k.valueAndGrad(loss)(g);
  const [updates, next] = gOpt.update(grads, s, g);
  return [k.optim.applyUpdates(g, updates), next, value] as const;
});

/** Of `n` generated points: the share within 3σ of a mode, and how many each mode got. */
async function evaluate(
  n: number,
): Promise<{ samples: Float32Array; good: number; perMode: number[] }> {
  const samples = await generate(gParams, k.random.normal(k.random.key(9), [n, NOISE]))
    .data() as Float32Array;
  const perMode = new Array(MODES).fill(0);
  let good = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity, arg = 0;
    centres.forEach(([cx, cy], m) => {
      const dist = Math.hypot(samples[2 * i] - cx, samples[2 * i + 1] - cy);
      if (dist < best) [best, arg] = [dist, m];
    });
    if (best <= 3 * SIGMA) [good, perMode[arg]] = [good + 1, perMode[arg] + 1];
  }
  return { samples, good: good / n, perMode };
}

const steps = args.num("steps", 3000, 100);
const bar = progress("gan", steps);
const base = k.random.key(1);
for (let i = 1; i <= steps; i++) {
  let dLoss: k.Tensor, gLoss: k.Tensor;
  [dParams, dState, dLoss] = dStep(dParams, dState, gParams, k.random.foldIn(base, 2 * i));
  [gParams, gState, gLoss] = gStep(gParams, gState, dParams, k.random.foldIn(base, 2 * i + 1));
  if (i % 50 === 0 || i === steps) {
    const [dl, gl] = [Number(await dLoss.item()), Number(await gLoss.item())];
    bar.tick(i, `D ${dl.toFixed(3)} G ${gl.toFixed(3)}`);
  }
  if (i % 500 === 0 && i < steps) {
    const e = await evaluate(1000);
    bar.done();
    console.log(`step ${i}: ${(100 * e.good).toFixed(1)}% within 3σ, per mode [${e.perMode}]`);
  }
}
bar.done();

const n = 2000;
const { samples, good: goodFrac, perMode } = await evaluate(n);
const good = goodFrac * n;
const covered = perMode.filter((c) => c >= 0.01 * n).length;
console.log(
  `of ${n} samples: ${(100 * good / n).toFixed(1)}% within 3σ of a mode; per mode ` +
    `[${perMode.join(", ")}]: ${covered} of ${MODES} modes covered`,
);
if (args.smoke) {
  // A few hundred steps only reach a blur around the ring: smoke checks that both jitted
  // steps ran and stayed finite; the mode checks are the full run's.
  check(samples.every(Number.isFinite), "smoke: generator samples are finite");
} else {
  check(covered >= 7, `modes covered ${covered} >= 7`);
  check(good / n >= 0.8, `${(100 * good / n).toFixed(1)}% of samples within 3σ >= 80%`);
}

const shown = 1000, realPts = await real(k.random.key(10), shown).data();
await k.plot.save(
  `${out}gan_ring.svg`,
  k.plot.scatter({
    x: [
      ...Array.from(realPts.subarray(0, 2 * shown).filter((_, j) => j % 2 === 0)),
      ...Array.from({ length: shown }, (_, i) => samples[2 * i]),
    ],
    y: [
      ...Array.from(realPts.subarray(0, 2 * shown).filter((_, j) => j % 2 === 1)),
      ...Array.from({ length: shown }, (_, i) => samples[2 * i + 1]),
    ],
    labels: [...new Array(shown).fill(0), ...new Array(shown).fill(1)],
  }, {
    title: `GAN on 8 Gaussians: ${covered}/8 modes, ${(100 * good / n).toFixed(0)}% within 3σ`,
    classNames: ["data", "generator"],
    xRange: [-3, 3],
    yRange: [-3, 3],
    width: 460,
    height: 460,
  }),
);
console.log(`picture: ${out}gan_ring.svg`);
finish(t0);
