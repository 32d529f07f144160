/**
 * k-means (Lloyd's algorithm) on the first 10 000 Fashion-MNIST training images, with
 * k-means++ initialization drawn from a PRNG key: the first centre uniformly, each next one
 * with probability ∝ D(x)², the squared distance to the nearest centre chosen so far
 * (`k.random.categorical` on log D²). Each Lloyd iteration is one jitted step: assign every
 * image to its nearest centre, move each centre to the mean of its images. Compared with a
 * uniformly random initialization (same key).
 *
 *   deno run -A examples/classic/kmeans.ts [--k 10] [--iters 150] [--smoke]
 *
 * Verifies: the inertia never increases (Lloyd's theorem); the run reaches a fixed point (no
 * assignment changes); the final centres equal the means of their clusters recomputed in
 * float64 plain JS (to 1e-4); the same key gives the same initialization; purity (the share
 * of images in their cluster's majority class) >= 0.5 (smoke: >= 0.3).
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, loadFashion, parseArgs, progress } from "./_common.ts";
import { encodePng, lineChartSvg, tileImages } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
const K = args.num("k", 10), ITERS = args.num("iters", 150, 40);
const data = await loadFashion(
  "kmeans",
  args.smoke ? { nTrain: 512, nTest: 1 } : { nTrain: 10000, nTest: 1 },
);
const x = data.xTrain, n = x.shape[0];

/** Squared distances [N, K] from rows of x to the centres c. */
const dist2 = (c: k.Tensor, xs: k.Tensor) =>
  k.add(
    k.sub(k.sum(k.mul(xs, xs), { axis: 1, keepdims: true }), k.mul(2, k.matmul(xs, c.transpose()))),
    k.sum(k.mul(c, c), { axis: 1 }),
  );

/** k-means++: K centres, each drawn ∝ D² by its own key from `split(key, K)`. */
async function kmeansPlusPlus(key: k.Tensor): Promise<number[]> {
  const keys = k.random.split(key, K);
  const picked = [await k.random.randint(keys[0], [], 0, n).item() as number];
  let d2 = k.full([n], Infinity);
  for (let j = 1; j < K; j++) {
    const last = k.take(x, k.tensor([picked[j - 1]], { dtype: "int32" }), { axis: 0 });
    d2 = k.minimum(d2, dist2(last, x).reshape([n]));
    picked.push(await k.random.categorical(keys[j], k.log(k.maximum(d2, 0))).item() as number);
  }
  return picked;
}

const lloyd = k.jit((c: k.Tensor) => {
  const d2 = dist2(c, x);
  const assign = k.argmin(d2, { axis: 1 });
  const onehot = k.oneHot(assign, K);
  const counts = k.sum(onehot, { axis: 0 }).reshape([K, 1]);
  const means = k.div(k.matmul(onehot.transpose(), x), k.maximum(counts, 1));
  const inertia = k.sum(k.maximum(k.min(d2, { axis: 1 }), 0));
  return [k.where(k.greater(counts, 0), means, c), assign, inertia] as const; // empty: stays
});

/** Runs Lloyd's iterations from `init` until the assignment stops changing. */
async function run(label: string, init: number[]) {
  let c = k.take(x, k.tensor(init, { dtype: "int32" }), { axis: 0 });
  const inertias: number[] = [];
  let prev: number[] | null = null, assign: number[] = [], converged = false;
  const bar = progress(label, ITERS);
  for (let it = 1; it <= ITERS && !converged; it++) {
    const [next, a, inertia] = lloyd(c);
    assign = Array.from(await a.data());
    inertias.push(await inertia.item() as number);
    converged = prev !== null && assign.every((v, i) => v === prev![i]);
    prev = assign;
    c = next;
    bar.tick(it, `inertia ${inertias[inertias.length - 1].toExponential(4)}`);
  }
  bar.done();
  return { c, assign, inertias, converged };
}

const key = k.random.key(42);
const initPP = await kmeansPlusPlus(key);
const again = await kmeansPlusPlus(key);
const initRandom = Array.from(await k.random.permutation(key, n).slice([[0, K]]).data());
const pp = await run("k-means++ init, Lloyd", initPP);
const rnd = await run("random init, Lloyd", initRandom);

// Independent check of the fixed point: centre j = mean of the images assigned to it, in JS.
const xs = await x.data(), cs = await pp.c.data();
const sums = new Float64Array(K * 784), counts = new Float64Array(K);
for (let i = 0; i < n; i++) {
  const a = pp.assign[i];
  counts[a]++;
  for (let p = 0; p < 784; p++) sums[a * 784 + p] += xs[i * 784 + p];
}
let maxErr = 0;
for (let j = 0; j < K; j++) {
  for (let p = 0; p < 784; p++) {
    if (counts[j] > 0) {
      maxErr = Math.max(maxErr, Math.abs(sums[j * 784 + p] / counts[j] - cs[j * 784 + p]));
    }
  }
}
const labels = await data.yTrain.data();
const table = Array.from({ length: K }, () => new Array(10).fill(0));
for (let i = 0; i < n; i++) table[pp.assign[i]][labels[i]]++;
const purity = table.reduce((s, row) => s + Math.max(...row), 0) / n;

const last = (a: number[]) => a[a.length - 1];
console.log(`k-means, k = ${K}, ${n} images:`);
console.log(
  `  k-means++ init: inertia ${pp.inertias[0].toExponential(4)} -> ${
    last(pp.inertias).toExponential(4)
  } ` +
    `in ${pp.inertias.length} iterations${pp.converged ? " (converged)" : ""}, purity ${
      purity.toFixed(3)
    }`,
);
console.log(
  `  random init:    inertia ${rnd.inertias[0].toExponential(4)} -> ${
    last(rnd.inertias).toExponential(4)
  } ` +
    `in ${rnd.inertias.length} iterations${rnd.converged ? " (converged)" : ""}`,
);
const { pixels, width, height } = tileImages(cs, 1, K, 28, 28);
await Deno.writeFile(`${args.out}kmeans.png`, await encodePng(pixels, width, height));
await Deno.writeTextFile(
  `${args.out}kmeans.svg`,
  lineChartSvg({ "k-means++": pp.inertias, random: rnd.inertias }, { title: "k-means inertia" }),
);

const monotone = (a: number[]) => a.every((v, i) => i === 0 || v <= a[i - 1] * (1 + 1e-5));
check(
  monotone(pp.inertias) && monotone(rnd.inertias),
  "inertia never increases (to 1e-5, float32)",
);
check(pp.converged, `k-means++ run reached a fixed point in ${pp.inertias.length} iterations`);
check(
  maxErr < 1e-4,
  `centres = float64 means of their clusters (max error ${maxErr.toExponential(2)})`,
);
check(initPP.every((v, i) => v === again[i]), "same key, same k-means++ centres");
const minPurity = args.smoke ? 0.3 : 0.5;
check(purity >= minPurity, `purity ${purity.toFixed(3)} >= ${minPurity}`);
finish(t0);
