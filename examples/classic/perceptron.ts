/**
 * Rosenblatt's perceptron: mistake-driven updates `w ← w + y·x` whenever `y·(w·x) ≤ 0`, one
 * example at a time (one jitted `k.scan` per epoch). It converges on linearly separable data
 * within Novikoff's bound of (R/γ)² mistakes, and never converges on XOR, which a 2-layer MLP
 * (2-8-1, tanh) then fits.
 *
 *   deno run -A examples/classic/perceptron.ts [--n 400] [--smoke]
 *
 * Verifies: a mistake-free epoch on the separable data with total mistakes <= (R/γ)²; every
 * XOR epoch has a mistake; the MLP classifies all four XOR points with loss < 0.05.
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, parseArgs, progress } from "./_common.ts";
import { scatterSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
const N = args.num("n", 400, 100), MAX_EPOCHS = args.num("epochs", 100, 50);

/** One pass over the examples in order; returns the new weights and the number of mistakes. */
const epoch = k.jit((w: k.Tensor, x: k.Tensor, y: k.Tensor) => {
  const [wOut, mistakes] = k.scan(
    (wc: k.Tensor, xy: { x: k.Tensor; y: k.Tensor }) => {
      const wrong = k.lessEqual(k.mul(xy.y, k.sum(k.mul(wc, xy.x))), 0).astype("float32");
      return [k.add(wc, k.mul(k.mul(wrong, xy.y), xy.x)), wrong];
    },
    w,
    { x, y },
  );
  return [wOut, k.sum(mistakes)] as const;
});

/** Runs epochs until one makes no mistake; returns the weights and the mistakes per epoch. */
async function perceptron(label: string, x: k.Tensor, y: k.Tensor) {
  let w = k.zeros([x.shape[1]]);
  const perEpoch: number[] = [];
  const bar = progress(label, MAX_EPOCHS);
  for (let e = 1; e <= MAX_EPOCHS; e++) {
    let m: k.Tensor;
    [w, m] = epoch(w, x, y);
    perEpoch.push(await m.item() as number);
    bar.tick(e, `mistakes ${perEpoch[e - 1]}`);
    if (perEpoch[e - 1] === 0) break;
  }
  bar.done();
  return { w: Array.from(await w.data()), perEpoch };
}

// Separable data: points in [-1, 1]² labelled by the side of the line u·(x, 1) = 0, keeping
// only those at distance >= 0.05 from it (a margin, so the bound is finite).
const u = [Math.cos(0.7), Math.sin(0.7), 0.15];
const raw = Array.from(
  await k.random.uniform(k.random.key(0), [4 * N, 2], { minval: -1, maxval: 1 }).data(),
);
const pts: number[][] = [];
for (let i = 0; i < 4 * N && pts.length < N; i++) {
  const p = [raw[2 * i], raw[2 * i + 1], 1]; // augmented with a constant 1: the bias
  if (Math.abs(u[0] * p[0] + u[1] * p[1] + u[2]) / Math.hypot(u[0], u[1]) >= 0.05) pts.push(p);
}
const labels = pts.map((p) => (u[0] * p[0] + u[1] * p[1] + u[2] > 0 ? 1 : -1));
const sep = await perceptron("perceptron, separable", k.tensor(pts), k.tensor(labels));
const total = sep.perEpoch.reduce((a, b) => a + b, 0);
// Novikoff: mistakes <= (R/γ)² for R = max ‖x̃‖ and γ the margin of any unit separator (u/‖u‖).
const un = Math.hypot(...u);
const R = Math.max(...pts.map((p) => Math.hypot(...p)));
const gamma = Math.min(...pts.map((p, i) => labels[i] * (u[0] * p[0] + u[1] * p[1] + u[2]) / un));
const bound = (R / gamma) ** 2;
const trainErr =
  pts.filter((p, i) => labels[i] * (sep.w[0] * p[0] + sep.w[1] * p[1] + sep.w[2]) <= 0).length;
console.log(
  `separable (${pts.length} points): converged after ${sep.perEpoch.length} epochs, ` +
    `${total} mistakes in all (Novikoff bound (R/γ)² = ${bound.toFixed(0)}); mistakes per ` +
    `epoch ${sep.perEpoch.join(" ")}; w = [${sep.w.map((v) => v.toFixed(3)).join(", ")}]`,
);
await Deno.writeTextFile(
  `${args.out}perceptron.svg`,
  scatterSvg(pts.map((p) => [p[0], p[1]] as const), labels.map((l) => (l > 0 ? 1 : 0)), {
    title: "linearly separable data (perceptron converges)",
    classNames: ["y = -1", "y = +1"],
  }),
);

// XOR: no line separates it, so every epoch has a mistake.
const xorX = k.tensor([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]);
const xorY = [-1, 1, 1, -1];
const xor = await perceptron("perceptron, XOR", xorX, k.tensor(xorY));
console.log(
  `XOR: no convergence in ${xor.perEpoch.length} epochs (mistakes per epoch, last 10: ` +
    `${xor.perEpoch.slice(-10).join(" ")})`,
);

// A 2-layer MLP fits XOR: full-batch Adam on the binary cross-entropy.
const x2 = xorX.slice([[0, 4], [0, 2]]), t2 = k.tensor(xorY.map((v) => (v + 1) / 2));
type P = k.nn.MlpParams;
const loss = (p: P) =>
  k.nn.sigmoidBinaryCrossEntropy(k.nn.mlp.apply(p, x2, { activation: k.tanh }).reshape([4]), t2);
const optimizer = k.optim.adam(0.05);
const step = k.jit((p: P, s: k.optim.OptState) => {
  const [value, g] = k.valueAndGrad(loss)(p);
  const [upd, next] = optimizer.update(g, s, p);
  return [k.optim.applyUpdates(p, upd), next, value] as const;
});
let params: P = k.nn.mlp.init(k.random.key(3), [2, 8, 1]);
let state = optimizer.init(params), value = k.zeros([]);
const STEPS = 400;
const bar = progress("MLP on XOR", STEPS);
for (let i = 1; i <= STEPS; i++) {
  [params, state, value] = step(params, state);
  if (i % 50 === 0) bar.tick(i, `loss ${(await value.item() as number).toFixed(4)}`);
}
bar.done();
const out = Array.from(await k.nn.mlp.apply(params, x2, { activation: k.tanh }).data());
const mlpLoss = await value.item() as number;
const correct = out.filter((o, i) => (o > 0 ? 1 : -1) === xorY[i]).length;
console.log(
  `MLP 2-8-1 on XOR: ${correct}/4 correct, loss ${mlpLoss.toFixed(5)}, logits ` +
    `[${out.map((v) => v.toFixed(2)).join(", ")}]`,
);

check(
  sep.perEpoch[sep.perEpoch.length - 1] === 0 && trainErr === 0,
  "perceptron separates the separable data",
);
check(total <= bound, `perceptron mistakes ${total} <= Novikoff bound ${bound.toFixed(0)}`);
check(
  xor.perEpoch.every((m) => m > 0),
  `perceptron makes mistakes in all ${xor.perEpoch.length} XOR epochs`,
);
check(correct === 4 && mlpLoss < 0.05, `MLP solves XOR (4/4, loss ${mlpLoss.toFixed(5)} < 0.05)`);
finish(t0);
