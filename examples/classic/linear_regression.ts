/**
 * Linear regression on the diabetes data (Efron et al. 2004; `data/diabetes.csv`, 442 × 10,
 * see data/README.md) in float64, four ways side by side: the normal equations
 * `(XᵀX) w = Xᵀy` with `k.linalg.solve`, least squares by the SVD with `k.linalg.lstsq`,
 * full-batch gradient descent (one jitted `k.foriLoop`, step 2/(λmax + λmin) from
 * `k.linalg.eigh` of XᵀX/n), and mini-batch SGD with a decaying step. Features are
 * standardized; the first column of X is the intercept.
 *
 *   deno run -A examples/classic/linear_regression.ts [--smoke]
 *
 * Verifies: solve = lstsq (1e-8); GD within 1e-5 of the closed form (max abs, float64); the
 * coefficients and R² equal numpy's (`reference.py` → reference.json, 1e-8); SGD's training
 * MSE within 1 % of the optimum.
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, float64OnCpu, parseArgs, progress } from "./_common.ts";
import { lineChartSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
float64OnCpu("linear_regression");
const here = new URL(".", import.meta.url);
const csv = await k.data.loadCsv(new URL("data/diabetes.csv", here).pathname, { dtype: "float64" });
const all = csv.data, n = all.shape[0];
const raw = all.slice([[0, n], [0, 10]]), y = all.slice([[0, n], [10, 11]]).reshape([n]);
const mu = k.mean(raw, { axis: 0 }), sd = k.std(raw, { axis: 0 });
const X = k.concatenate([k.ones([n, 1], { dtype: "float64" }), k.div(k.sub(raw, mu), sd)], {
  axis: 1,
});
const d = X.shape[1];
const sq = (t: k.Tensor) => k.mul(t, t);
const mse = (w: k.Tensor) => k.mean(sq(k.sub(k.matmul(X, w), y)));

// 1. Normal equations and 2. least squares.
const XtX = k.matmul(X.transpose(), X), Xty = k.matmul(X.transpose(), y);
const wSolve = k.linalg.solve(XtX, Xty);
const [wLstsq] = k.linalg.lstsq(X, y);

// 3. Batch gradient descent on f(w) = ‖Xw − y‖²/(2n), with the step that minimizes the
// contraction factor (κ − 1)/(κ + 1) for the Hessian XᵀX/n's eigenvalues.
const [eig] = k.linalg.eigh(k.div(XtX, n));
const ev = Array.from(await eig.data());
const [lmin, lmax] = [ev[0], ev[ev.length - 1]];
const LR = 2 / (lmax + lmin), GD_STEPS = 6000, CHUNK = 500;
const gdChunk = k.jit((w: k.Tensor) =>
  k.foriLoop(
    0,
    CHUNK,
    (_i, wc: k.Tensor) =>
      k.sub(wc, k.mul(LR / n, k.matmul(X.transpose(), k.sub(k.matmul(X, wc), y)))),
    w,
  )
);
let wGd = k.zeros([d], { dtype: "float64" });
const gdErr: number[] = [];
let bar = progress("batch GD", GD_STEPS);
for (let s = CHUNK; s <= GD_STEPS; s += CHUNK) {
  wGd = gdChunk(wGd);
  gdErr.push(await k.max(k.abs(k.sub(wGd, wSolve))).item() as number);
  bar.tick(s, `max |w - w*| ${gdErr[gdErr.length - 1].toExponential(2)}`);
}
bar.done();

// 4. Mini-batch SGD (batch 32), step 0.5/λmax decaying as 1/(1 + t/T) (Robbins–Monro).
const EPOCHS = args.num("epochs", 200, 50), B = 32, STEPS = Math.floor(n / B);
const sgdStep = k.jit((w: k.Tensor, xb: k.Tensor, yb: k.Tensor, lr: k.Tensor) =>
  k.sub(w, k.mul(k.div(lr, B), k.matmul(xb.transpose(), k.sub(k.matmul(xb, w), yb))))
);
let wSgd = k.zeros([d], { dtype: "float64" });
const sgdMse: number[] = [];
bar = progress("SGD", EPOCHS);
for (let e = 0; e < EPOCHS; e++) {
  let t = e * STEPS;
  for (const b of k.data.batches({ x: X, y }, { batchSize: B, key: k.random.key(e) })) {
    wSgd = sgdStep(
      wSgd,
      b.x,
      b.y,
      k.tensor(0.5 / lmax / (1 + t++ / (20 * STEPS)), { dtype: "float64" }),
    );
  }
  sgdMse.push(await mse(wSgd).item() as number);
  bar.tick(e + 1, `mse ${sgdMse[e].toFixed(2)}`);
}
bar.done();

const ref = JSON.parse(await Deno.readTextFile(new URL("reference.json", here))).diabetes;
const vals = async (w: k.Tensor) => Array.from(await w.data());
const rows = { "solve (normal eq.)": wSolve, "lstsq (SVD)": wLstsq, "batch GD": wGd, SGD: wSgd };
const tss = await k.sum(sq(k.sub(y, k.mean(y)))).item() as number;
console.log(`diabetes, n = ${n}, κ(XᵀX) = ${(lmax / lmin).toFixed(1)}, GD step ${LR.toFixed(4)}`);
console.log(`  method               intercept     bmu       bp       s5      MSE        R²`);
const W: Record<string, number[]> = {};
for (const [name, w] of Object.entries(rows)) {
  W[name] = await vals(w);
  const m = await mse(w).item() as number;
  const c = W[name];
  console.log(
    `  ${name.padEnd(20)}${c[0].toFixed(4).padStart(10)}${c[3].toFixed(4).padStart(9)}` +
      `${c[4].toFixed(4).padStart(9)}${c[9].toFixed(4).padStart(9)}${m.toFixed(3).padStart(10)}` +
      `${(1 - (m * n) / tss).toFixed(6).padStart(10)}`,
  );
}
await Deno.writeTextFile(
  `${args.out}linear_regression.svg`,
  lineChartSvg({ "batch GD: max |w − w*|": gdErr }, {
    title: "GD distance to the closed form, every 500 steps",
    logY: true,
  }),
);
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const optMse = await mse(wSolve).item() as number;
const r2 = 1 - (optMse * n) / tss;
check(maxDiff(W["solve (normal eq.)"], W["lstsq (SVD)"]) < 1e-8, "solve and lstsq agree to 1e-8");
check(
  maxDiff(W["solve (normal eq.)"], ref.coef) < 1e-8 && Math.abs(r2 - ref.r2) < 1e-10,
  `coefficients and R² = ${r2.toFixed(10)} equal numpy's (${ref.r2.toFixed(10)})`,
);
const gdDist = maxDiff(W["batch GD"], W["solve (normal eq.)"]);
check(
  gdDist < 1e-5,
  `GD within 1e-5 of the closed form after ${GD_STEPS} steps (${gdDist.toExponential(2)})`,
);
const sgdLast = sgdMse[sgdMse.length - 1];
check(
  sgdLast < optMse * 1.01,
  `SGD training MSE ${sgdLast.toFixed(3)} within 1 % of ${optMse.toFixed(3)}`,
);
finish(t0);
