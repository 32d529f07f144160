/**
 * A self-organizing map (Kohonen) on Fashion-MNIST: a 10×10 grid of 784-pixel prototypes. Each
 * jitted step takes a mini-batch, finds every example's best-matching unit (BMU), and pulls all
 * prototypes towards the examples, weighted by a Gaussian of their grid distance to the BMU:
 * `W_j += η · mean_i h(j, bmu_i) (x_i − W_j)`, with the radius σ and the rate η shrinking
 * exponentially. Writes the map as a PNG (similar garments end up next to each other).
 *
 *   deno run -A examples/classic/som.ts [--steps 2000] [--smoke]
 *
 * Verifies: the quantization error (mean distance of a held-out example to its BMU) decreases
 * at every checkpoint (to 1 %) and ends below 60 % of its value at initialization, and the
 * topographic error (share of examples whose two best units are not grid neighbours) < 0.25.
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, loadFashion, parseArgs, progress } from "./_common.ts";
import { encodePng, lineChartSvg, tileImages } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
const STEPS = args.num("steps", 2000, 100), BATCH = 128, SIDE = 10, U = SIDE * SIDE;
const data = await loadFashion("som", args.smoke ? { nTrain: 512, nTest: 250 } : { nTest: 2000 });

// Squared grid distances between units [U, U].
const gd = [];
for (let a = 0; a < U; a++) {
  for (let b = 0; b < U; b++) {
    gd.push((Math.floor(a / SIDE) - Math.floor(b / SIDE)) ** 2 + ((a % SIDE) - (b % SIDE)) ** 2);
  }
}
const grid2 = k.tensor(gd, { shape: [U, U] });

/** Squared distances [B, U] from rows of x to the prototypes. */
const dist2 = (w: k.Tensor, x: k.Tensor) =>
  k.add(
    k.sub(k.sum(k.mul(x, x), { axis: 1, keepdims: true }), k.mul(2, k.matmul(x, w.transpose()))),
    k.sum(k.mul(w, w), { axis: 1 }),
  );

const step = k.jit((w: k.Tensor, x: k.Tensor, sigma: k.Tensor, eta: k.Tensor) => {
  const bmu = k.argmin(dist2(w, x), { axis: 1 });
  const h = k.exp(k.div(k.take(grid2, bmu, { axis: 0 }), k.mul(-2, k.mul(sigma, sigma)))); // [B, U]
  const pull = k.sub(k.matmul(h.transpose(), x), k.mul(k.sum(h, { axis: 0 }).reshape([U, 1]), w));
  return k.add(w, k.mul(k.div(eta, x.shape[0]), pull));
});

/** Quantization error and topographic error of the map on `x`. */
const errors = k.jit((w: k.Tensor, x: k.Tensor) => {
  const d2 = dist2(w, x);
  const qe = k.mean(k.sqrt(k.maximum(k.min(d2, { axis: 1 }), 0)));
  const first = k.argmin(d2, { axis: 1 });
  const masked = k.where(
    k.equal(k.arange(0, U, 1, { dtype: "int32" }), first.reshape([-1, 1])),
    Infinity,
    d2,
  );
  const second = k.argmin(masked, { axis: 1 });
  const gap = k.sum(k.mul(k.oneHot(second, U), k.take(grid2, first, { axis: 0 })), { axis: 1 });
  return [qe, k.mean(k.greater(gap, 2).astype("float32"))] as const; // neighbours: 8-connected
});

// Classic random initialization: small noise around the (standardized) data's origin, so the
// map starts unordered and far from the data.
const n = data.xTrain.shape[0];
let w = k.mul(k.random.normal(k.random.key(0), [U, 784]), 0.1);
const qes: number[] = [], tes: number[] = [];
const measure = async () => {
  const [qe, te] = errors(w, data.xTest);
  qes.push(await qe.item() as number);
  tes.push(await te.item() as number);
};
await measure();
const [S0, S1, E0, E1] = [SIDE / 3, 0.5, 0.5, 0.02];
const bar = progress("SOM", STEPS);
const order = k.random.randint(k.random.key(1), [STEPS, BATCH], 0, n);
const idx = Array.from(await order.data());
const every = Math.max(1, Math.floor(STEPS / 10));
for (let t = 0; t < STEPS; t++) {
  const f = t / (STEPS - 1);
  const batch = k.take(
    data.xTrain,
    k.tensor(idx.slice(t * BATCH, (t + 1) * BATCH), { dtype: "int32" }),
    { axis: 0 },
  );
  w = step(w, batch, k.tensor(S0 * (S1 / S0) ** f), k.tensor(E0 * (E1 / E0) ** f));
  if ((t + 1) % every === 0) {
    await measure();
    bar.tick(t + 1, `quantization error ${qes[qes.length - 1].toFixed(3)}`);
  }
}
bar.done();
console.log(
  `SOM ${SIDE}x${SIDE} on ${n} images, ${STEPS} steps of ${BATCH}: quantization error ` +
    `${qes.map((q) => q.toFixed(2)).join(" -> ")}; topographic error ${
      tes[tes.length - 1].toFixed(3)
    }`,
);
const { pixels, width, height } = tileImages(await w.data(), SIDE, SIDE, 28, 28);
await Deno.writeFile(`${args.out}som.png`, await encodePng(pixels, width, height));
await Deno.writeTextFile(
  `${args.out}som.svg`,
  lineChartSvg({ "quantization error": qes }, { title: "SOM quantization error (held out)" }),
);
console.log(`wrote ${args.out}som.png (${width}x${height}) and som.svg`);

const decreasing = qes.every((q, i) => i === 0 || q <= qes[i - 1] * 1.01);
check(decreasing, "quantization error decreases at every checkpoint (to 1 %)");
check(
  qes[qes.length - 1] < 0.6 * qes[0],
  `final quantization error ${qes[qes.length - 1].toFixed(3)} < 0.6 × initial ${qes[0].toFixed(3)}`,
);
check(tes[tes.length - 1] < 0.25, `topographic error ${tes[tes.length - 1].toFixed(3)} < 0.25`);
finish(t0);
