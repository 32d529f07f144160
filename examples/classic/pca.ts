/**
 * PCA and whitening on Fashion-MNIST (the first 2000 training images, average-pooled 2×2 to
 * 14×14 = 196 features so that the float64 host decompositions take seconds), two ways:
 * `k.linalg.eigh` of the covariance, and `k.linalg.svd` of the centred data (eigenvalues
 * s²/(n−1), components the rows of vh). Whitening maps the data onto the top 50 components
 * scaled by 1/√λ. Writes an SVG scatter of the first two components coloured by class.
 *
 *   deno run -A examples/classic/pca.ts [--smoke]
 *
 * Verifies: eigh and svd agree (ratios to 1e-10, top-10 components up to sign to 1e-6); the
 * explained-variance ratios equal numpy's (`reference.py` → reference.json, 1e-4; skipped under
 * --smoke, whose data is a subset); the whitened data's covariance is I to 1e-4.
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, float64OnCpu, loadFashion, parseArgs } from "./_common.ts";
import { scatterSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
float64OnCpu("pca");
const here = new URL(".", import.meta.url);
const ref = JSON.parse(await Deno.readTextFile(new URL("reference.json", here))).pca;
const N = args.smoke ? 300 : ref.n, K = 50;
const data = await loadFashion("pca", { nTrain: N, nTest: 1, dtype: "float64" });
const n = data.xTrain.shape[0];
// Back to pixels in [0, 1] (as the numpy reference), then 2×2 average pooling.
const pixels = k.add(k.mul(data.xTrain, 0.3530), 0.2860);
const x = k.mean(pixels.reshape([n, 14, 2, 14, 2]), { axis: [2, 4] }).reshape([n, 196]);
const xc = k.sub(x, k.mean(x, { axis: 0 }));
const d = xc.shape[1];

// 1. eigh of the covariance: ascending, so reversed to largest first.
const cov = k.div(k.matmul(xc.transpose(), xc), n - 1);
let t = performance.now();
const [wAsc, vAsc] = k.linalg.eigh(cov);
const lamE = Array.from(await wAsc.data()).reverse();
const vE = k.flip(vAsc, { axis: 1 }); // columns = components, largest first
await k.realize(vE);
const tEigh = performance.now() - t;
// 2. svd of the centred data.
t = performance.now();
const [, s, vh] = k.linalg.svd(xc, { fullMatrices: false });
const lamS = Array.from(await s.data()).map((v) => (v * v) / (n - 1));
const tSvd = performance.now() - t;

const ratios = (lam: number[]) => {
  const total = lam.reduce((a, b) => a + b, 0);
  return lam.map((v) => v / total);
};
const rE = ratios(lamE), rS = ratios(lamS);
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
// Components agree up to sign: |v_i · vh_i| = 1 for the top 10 (distinct eigenvalues).
const dots = Array.from(
  await k.abs(
    k.sum(k.mul(vE.slice([[0, d], [0, 10]]).transpose(), vh.slice([[0, 10]])), { axis: 1 }),
  )
    .data(),
);
const compErr = Math.max(...dots.map((v) => Math.abs(1 - v)));

// Whitening onto the top K components: z = xc V_K diag(λ_K)^(-1/2), so cov(z) = I.
const vK = vE.slice([[0, d], [0, K]]);
const z = k.div(k.matmul(xc, vK), k.sqrt(k.tensor(lamE.slice(0, K), { dtype: "float64" })));
const covZ = k.div(k.matmul(z.transpose(), z), n - 1);
const whiteErr = await k.max(k.abs(k.sub(covZ, k.eye(K, K, { dtype: "float64" }))))
  .item() as number;

const cum = (r: number[], m: number) => r.slice(0, m).reduce((a, b) => a + b, 0);
console.log(
  `PCA of ${n} images (${d} features): eigh ${(tEigh / 1000).toFixed(2)} s, svd ${
    (tSvd / 1000).toFixed(2)
  } s`,
);
console.log(
  `  explained-variance ratios (eigh): ${rE.slice(0, 6).map((v) => v.toFixed(4)).join(" ")} …`,
);
console.log(
  `  explained-variance ratios (svd):  ${rS.slice(0, 6).map((v) => v.toFixed(4)).join(" ")} …`,
);
console.log(
  `  top 2: ${(100 * cum(rE, 2)).toFixed(1)}%, top 10: ${(100 * cum(rE, 10)).toFixed(1)}%, ` +
    `top ${K}: ${(100 * cum(rE, K)).toFixed(1)}% of the variance`,
);

const pc = Array.from(await k.matmul(xc, vE.slice([[0, d], [0, 2]])).data());
const labels = await data.yTrain.data();
await Deno.writeTextFile(
  `${args.out}pca.svg`,
  scatterSvg(
    Array.from({ length: n }, (_, i) => [pc[2 * i], pc[2 * i + 1]] as const),
    labels,
    {
      title: "Fashion-MNIST: first two principal components",
      classNames: k.data.FASHION_MNIST_CLASSES,
    },
  ),
);
console.log(`wrote ${args.out}pca.svg`);

check(
  maxDiff(rE, rS) < 1e-10,
  `eigh and svd ratios agree (max diff ${maxDiff(rE, rS).toExponential(2)})`,
);
check(
  compErr < 1e-6,
  `top-10 components agree up to sign (max 1 − |v·v'| = ${compErr.toExponential(2)})`,
);
if (!args.smoke) {
  const err = maxDiff(rE.slice(0, ref.ratios.length), ref.ratios);
  check(
    err < 1e-4,
    `ratios equal numpy ${
      JSON.parse(await Deno.readTextFile(new URL("reference.json", here))).numpy
    }'s (max diff ${err.toExponential(2)})`,
  );
} else {console.log(
    "(--smoke: the numpy reference is for the first 2000 real images; not compared)",
  );}
check(whiteErr < 1e-4, `whitened covariance = I (max error ${whiteErr.toExponential(2)})`);
finish(t0);
