/**
 * Multiclass linear SVM on Fashion-MNIST: the hinge loss of Weston & Watkins (`k.nn.hinge`,
 * PyTorch's `MultiMarginLoss`: Σ_{j≠y} max(0, 1 − s_y + s_j) / C) and of Crammer & Singer
 * (max_{j≠y} max(0, 1 − s_y + s_j)), each with an L2 penalty λ/2 ‖W‖², trained side by side by
 * mini-batch Adam with jitted steps.
 *
 *   deno run -A examples/classic/svm.ts [--epochs 8] [--l2 1e-4] [--smoke]
 *
 * Verifies: both test accuracies >= 82 % (under --smoke, on 512 examples: >= 50 %), and that
 * training brings the mean hinge on the training set below 3/4 of its value at W = 0.
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, loadFashion, parseArgs } from "./_common.ts";
import { fitLinear, linearAccuracy, linearLogits } from "./_linear.ts";
import { lineChartSvg } from "./_svg.ts";

const t0 = performance.now();
const args = parseArgs();
const EPOCHS = args.num("epochs", 8, 2),
  L2 = args.num("l2", 1e-4),
  BATCH = args.num("batch", 256, 64);
const data = await loadFashion("svm", args.smoke ? { nTrain: 512, nTest: 250 } : {});

/** Crammer–Singer: the largest margin violation among the wrong classes. */
function crammerSinger(logits: k.Tensor, labels: k.Tensor): k.Tensor {
  const onehot = k.oneHot(labels, logits.shape[1]);
  const sy = k.sum(k.mul(onehot, logits), { axis: -1, keepdims: true });
  const viol = k.where(k.greater(onehot, 0), 0, k.relu(k.add(k.sub(logits, sy), 1)));
  return k.mean(k.max(viol, { axis: -1 }));
}

const losses = {
  "Weston-Watkins (k.nn.hinge)": (s: k.Tensor, y: k.Tensor) => k.nn.hinge(s, y),
  "Crammer-Singer": crammerSinger,
};
const curves: Record<string, number[]> = {};
const results: [string, number, number, number][] = [];
for (const [name, loss] of Object.entries(losses)) {
  const { params, losses: curve } = await fitLinear(data.xTrain, data.yTrain, {
    label: name,
    loss,
    classes: 10,
    l2: L2,
    lr: 2e-3,
    epochs: EPOCHS,
    batch: BATCH,
    key: k.random.key(1),
  });
  curves[name] = curve;
  const acc = await linearAccuracy(params, data.xTest, data.yTest);
  const trainHinge = await loss(linearLogits(params, data.xTrain), data.yTrain).item() as number;
  // The hinge at W = 0, b = 0 (all scores equal): what training has to bring down.
  const atZero = await loss(k.zeros([1, 10]), k.tensor([0], { dtype: "int32" })).item() as number;
  results.push([name, acc, trainHinge, atZero]);
}
console.log(`multiclass linear SVM, L2 ${L2}, ${EPOCHS} epochs:`);
console.log("  loss                          test acc   train hinge");
for (const [name, acc, h] of results) {
  console.log(`  ${name.padEnd(30)}${(100 * acc).toFixed(2).padStart(6)}%   ${h.toFixed(4)}`);
}
await Deno.writeTextFile(
  `${args.out}svm.svg`,
  lineChartSvg(curves, { title: "SVM objective per epoch" }),
);
const min = args.smoke ? 0.5 : 0.82;
for (const [name, acc, h, h0] of results) {
  check(acc >= min, `${name}: test accuracy ${(100 * acc).toFixed(2)}% >= ${100 * min}%`);
  check(
    h < 0.75 * h0,
    `${name}: training hinge ${h.toFixed(4)} < 0.75 × its value at W = 0 (${h0.toFixed(2)})`,
  );
}
finish(t0);
