/**
 * Newton's method for L2-regularized logistic regression, in float64: `w ← w − H⁻¹ g` with the
 * Hessian from `k.hessian` and the step from `k.linalg.solve`, against plain gradient descent
 * (step 1/L, L = λmax(XᵀX/n)/4 + λ from `k.linalg.eigh`). Task: sneaker vs ankle boot among
 * the first 20 000 Fashion-MNIST training images (about 4000), average-pooled to 7×7 (49
 * features + intercept), so the Hessian is 50×50. The gradient norm per Newton iteration
 * shows quadratic convergence.
 *
 *   deno run -A examples/classic/newton.ts [--gd-steps 1000] [--smoke]
 *
 * Verifies: Newton reaches ‖g‖ < 1e-10 in <= 10 iterations; k.hessian equals the closed form
 * Xᵀ diag(p(1−p)) X / n + λI (1e-10); 1000 GD steps approach the same optimum from above
 * (0 <= f_GD − f* < 1e-3, and f decreasing); the error of Newton's iterates shrinks
 * quadratically (‖g_{t+1}‖ <= C ‖g_t‖² once ‖g_t‖ < 1e-2, C = 100).
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, float64OnCpu, loadFashion, parseArgs, progress } from "./_common.ts";
import { lineChartSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
float64OnCpu("newton");
const GD_STEPS = args.num("gd-steps", 1000), LAMBDA = 1e-2;
const data = await loadFashion("newton", {
  dtype: "float64",
  ...(args.smoke ? { nTrain: 512, nTest: 1 } : { nTrain: 20000, nTest: 1 }),
});
const labels = await data.yTrain.data();
const idx = [...labels.keys()].filter((i) => labels[i] === 7 || labels[i] === 9);
const rows = k.take(data.xTrain, k.tensor(idx, { dtype: "int32" }), { axis: 0 });
const n = idx.length;
// 4×4 average pooling: [n, 784] -> [n, 7, 4, 7, 4] -> mean over the window axes -> [n, 49].
const pooled = k.mean(rows.reshape([n, 7, 4, 7, 4]), { axis: [2, 4] }).reshape([n, 49]);
const X = k.concatenate([k.ones([n, 1], { dtype: "float64" }), pooled], { axis: 1 });
const t = k.tensor(idx.map((i) => (labels[i] === 7 ? 1 : 0)), { dtype: "float64" });
await k.realize(X, t);
const d = X.shape[1];

/**
 * Mean logistic loss + λ/2 ‖w‖², with log(1 + e^z) as logsumexp([0, z]): smooth everywhere, so
 * its Hessian is right at z = 0 too. (`k.nn.sigmoidBinaryCrossEntropy` composes max(z, 0) and
 * |z|, whose second derivatives vanish at the kink: its Hessian at z = 0 comes out 0, not 1/4,
 * and Newton from w = 0 diverges.)
 */
const f = (w: k.Tensor) => {
  const z = k.matmul(X, w);
  const softplus = k.logsumexp(k.stack([k.zerosLike(z), z], { axis: -1 }), { axis: -1 });
  return k.add(k.mean(k.sub(softplus, k.mul(t, z))), k.mul(LAMBDA / 2, k.sum(k.mul(w, w))));
};
const newtonStep = k.jit((w: k.Tensor) => {
  const [value, g] = k.valueAndGrad(f)(w);
  const H = k.hessian(f)(w);
  return [k.sub(w, k.linalg.solve(H, g)), value, k.sqrt(k.sum(k.mul(g, g))), H] as const;
});

let w = k.zeros([d], { dtype: "float64" });
const gnorms: number[] = [], fvals: number[] = [];
let hessErr = NaN;
console.log("Newton's method:");
for (let it = 0; it < 10; it++) {
  const ti = performance.now();
  const [next, value, gn, H] = newtonStep(w);
  if (it === 0) { // the closed-form Hessian at w = 0, where p = 1/2
    const closed = k.add(
      k.div(k.matmul(k.mul(X.transpose(), 0.25), X), n),
      k.mul(LAMBDA, k.eye(d, d, { dtype: "float64" })),
    );
    hessErr = await k.max(k.abs(k.sub(H, closed))).item() as number;
  }
  gnorms.push(await gn.item() as number);
  fvals.push(await value.item() as number);
  console.log(
    `  iteration ${it}: f = ${fvals[it].toFixed(12)}  ‖g‖ = ${gnorms[it].toExponential(3)}  (${
      (performance.now() - ti).toFixed(0)
    } ms)`,
  );
  if (gnorms[it] < 1e-10) break;
  w = next;
}
const fStar = fvals[fvals.length - 1];

// Gradient descent with step 1/L.
const [eig] = k.linalg.eigh(k.div(k.matmul(X.transpose(), X), n));
const L = (await k.max(eig).item() as number) / 4 + LAMBDA;
const gdStep = k.jit((wc: k.Tensor) => {
  const [value, g] = k.valueAndGrad(f)(wc);
  return [k.sub(wc, k.mul(1 / L, g)), value] as const;
});
let wg = k.zeros([d], { dtype: "float64" });
const gdVals: number[] = [];
const bar = progress("gradient descent", GD_STEPS);
for (let s = 1; s <= GD_STEPS; s++) {
  let v: k.Tensor;
  [wg, v] = gdStep(wg);
  if (s % 50 === 0 || s === 1) {
    gdVals.push(await v.item() as number);
    bar.tick(s, `f - f* ${(gdVals[gdVals.length - 1] - fStar).toExponential(2)}`);
  }
}
bar.done();
const fGd = await f(wg).item() as number;
console.log(
  `${n} images, ${d} parameters, λ = ${LAMBDA}: Newton f* = ${fStar.toFixed(12)} in ` +
    `${gnorms.length - 1} steps; ${GD_STEPS} GD steps (1/L = ${(1 / L).toFixed(4)}): ` +
    `f = ${fGd.toFixed(12)}, f - f* = ${(fGd - fStar).toExponential(3)}`,
);
await Deno.writeTextFile(
  `${args.out}newton.svg`,
  lineChartSvg({ "Newton ‖g‖ per iteration": gnorms }, {
    title: "Newton's method: gradient norm",
    logY: true,
  }),
);

check(
  gnorms[gnorms.length - 1] < 1e-10 && gnorms.length <= 11,
  `Newton: ‖g‖ < 1e-10 after ${gnorms.length - 1} iterations (<= 10)`,
);
check(
  hessErr < 1e-10,
  `k.hessian = Xᵀ diag(p(1−p)) X/n + λI at w = 0 (max error ${hessErr.toExponential(2)})`,
);
const quad = gnorms.every((g, i) =>
  i === 0 || gnorms[i - 1] >= 1e-2 || g <= 100 * gnorms[i - 1] ** 2
);
check(quad, "quadratic convergence: ‖g_{t+1}‖ <= 100 ‖g_t‖² once ‖g_t‖ < 1e-2");
check(
  fGd - fStar >= -1e-12 && fGd - fStar < 1e-3 &&
    gdVals.every((v, i) => i === 0 || v <= gdVals[i - 1]),
  `GD decreases f towards f* from above: f_GD − f* = ${
    (fGd - fStar).toExponential(3)
  } in [0, 1e-3)`,
);
finish(t0);
