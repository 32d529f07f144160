/**
 * Logistic regression (binary: sneaker vs ankle boot) and softmax regression (all ten classes)
 * on Fashion-MNIST, both with L2 regularization, trained by mini-batch Adam with jitted steps.
 *
 *   deno run -A examples/classic/logistic_regression.ts [--epochs 10] [--l2 1e-4] [--lr 2e-3]
 *
 * Verifies: binary test accuracy >= 95 % and softmax-regression test accuracy >= 84 %
 * (under --smoke, on a 512-example subset: both >= 50 %).
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, loadFashion, parseArgs, progress } from "./_common.ts";
import { fitLinear, linearAccuracy } from "./_linear.ts";
import { lineChartSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
const EPOCHS = args.num("epochs", 10, 2),
  L2 = args.num("l2", 1e-4),
  BATCH = args.num("batch", 256, 64);
const data = await loadFashion(
  "logistic_regression",
  args.smoke ? { nTrain: 512, nTest: 250 } : {},
);
const key = k.random.key(0);

// --- Binary logistic regression: p(y = 1 | x) = sigmoid(x·w + b), classes 7 (1) and 9 (0).
const [POS, NEG] = [7, 9];
const pick = async (x: k.Tensor, y: k.Tensor) => {
  const labels = await y.data();
  const idx = [...labels.keys()].filter((i) => labels[i] === POS || labels[i] === NEG);
  const ix = k.tensor(idx, { dtype: "int32" });
  return { x: k.take(x, ix, { axis: 0 }), t: k.equal(k.take(y, ix), POS).astype("float32") };
};
const tr = await pick(data.xTrain, data.yTrain), te = await pick(data.xTest, data.yTest);
type Bin = { w: k.Tensor; b: k.Tensor };
const binObjective = (p: Bin, x: k.Tensor, t: k.Tensor) =>
  k.add(
    k.nn.sigmoidBinaryCrossEntropy(k.add(k.matmul(x, p.w), p.b), t),
    k.mul(0.5 * L2, k.sum(k.mul(p.w, p.w))),
  );
// Full-batch gradient descent: the binary problem is small (12 000 rows) and convex.
const LR = 0.1, BIN_STEPS = args.smoke ? 50 : 300;
const gdStep = k.jit((p: Bin, x: k.Tensor, t: k.Tensor) => {
  const [value, g] = k.valueAndGrad(binObjective)(p, x, t);
  return [{ w: k.sub(p.w, k.mul(LR, g.w)), b: k.sub(p.b, k.mul(LR, g.b)) }, value] as const;
});
let bin: Bin = { w: k.zeros([784]), b: k.zeros([]) };
const binCurve: number[] = [];
const bar = progress("binary logistic GD", BIN_STEPS);
for (let i = 1; i <= BIN_STEPS; i++) {
  let value: k.Tensor;
  [bin, value] = gdStep(bin, tr.x, tr.t);
  if (i % 10 === 0) {
    binCurve.push(await value.item() as number);
    bar.tick(i, `objective ${binCurve[binCurve.length - 1].toFixed(4)}`);
  }
}
bar.done();
const binAcc = await k.mean(
  k.equal(k.greater(k.add(k.matmul(te.x, bin.w), bin.b), 0), k.greater(te.t, 0.5)).astype(
    "float32",
  ),
).item() as number;
console.log(
  `binary logistic regression (sneaker vs ankle boot, ${tr.x.shape[0]} train rows): ` +
    `test accuracy ${(100 * binAcc).toFixed(2)}% on ${te.x.shape[0]} rows`,
);

// --- Softmax regression: p(y | x) = softmax(x W + b), cross-entropy + λ/2 ‖W‖².
const { params, losses } = await fitLinear(data.xTrain, data.yTrain, {
  label: "softmax regression",
  loss: (logits, y) => k.nn.softmaxCrossEntropy(logits, y),
  classes: 10,
  l2: L2,
  lr: args.num("lr", 2e-3),
  epochs: EPOCHS,
  batch: BATCH,
  key,
});
const acc = await linearAccuracy(params, data.xTest, data.yTest);
console.log(
  `softmax regression (L2 ${L2}, ${EPOCHS} epochs): test accuracy ${(100 * acc).toFixed(2)}%, ` +
    `final objective ${losses[losses.length - 1].toFixed(4)}`,
);

await Deno.writeTextFile(
  `${args.out}logistic_regression.svg`,
  lineChartSvg({ "softmax (per epoch)": losses }, { title: "softmax regression objective" }),
);
const [binMin, softMin] = args.smoke ? [0.5, 0.5] : [0.95, 0.84];
check(binAcc >= binMin, `binary test accuracy ${(100 * binAcc).toFixed(2)}% >= ${100 * binMin}%`);
check(acc >= softMin, `softmax test accuracy ${(100 * acc).toFixed(2)}% >= ${100 * softMin}%`);
finish(t0);
