/**
 * A linear classifier `x W + b` trained by mini-batch Adam with a jitted step: the shared loop
 * of the softmax-regression and SVM examples (they differ only in the loss).
 * @module
 */
import * as k from "../../mod.ts";
import { progress } from "./_common.ts";

/** Parameters of a linear model: weights `[D, C]`, bias `[C]`. */
export interface LinearParams {
  /** Weights `[D, C]`. */
  w: k.Tensor;
  /** Bias `[C]`. */
  b: k.Tensor;
}

/** Options of `fitLinear`. */
export interface FitLinearOptions {
  /** Label of the progress bar. */
  label: string;
  /** Loss of a batch's logits `[B, C]` and labels `[B]` (mean over the batch). */
  loss: (logits: k.Tensor, labels: k.Tensor) => k.Tensor;
  /** Number of classes C. */
  classes: number;
  /** L2 penalty λ: the objective adds `λ/2 ‖W‖²` (the bias is not penalized). */
  l2: number;
  /** Adam's learning rate (cosine-decayed to 0 over the run). */
  lr: number;
  /** Passes over the training set. */
  epochs: number;
  /** Batch size. */
  batch: number;
  /** Key of the shuffle order. */
  key: k.Tensor;
}

/**
 * Logits `x W + b`.
 * @example
 * ```ts
 * const logits = linearLogits(params, x);
 * ```
 */
export function linearLogits(p: LinearParams, x: k.Tensor): k.Tensor {
  return k.add(k.matmul(x, p.w), p.b);
}

/**
 * Trains from zero weights; returns the parameters and the mean objective of each epoch.
 * @example
 * ```ts
 * const { params } = await fitLinear(x, y, { label: "softmax", loss: k.nn.softmaxCrossEntropy,
 *   classes: 10, l2: 1e-4, lr: 1e-3, epochs: 5, batch: 256, key: k.random.key(0) });
 * ```
 */
export async function fitLinear(
  x: k.Tensor,
  y: k.Tensor,
  o: FitLinearOptions,
): Promise<{ params: LinearParams; losses: number[] }> {
  const d = x.shape[1];
  let params: LinearParams = { w: k.zeros([d, o.classes]), b: k.zeros([o.classes]) };
  const steps = Math.floor(x.shape[0] / o.batch);
  const optimizer = k.optim.adam(k.optim.cosineDecay({ init: o.lr, decaySteps: o.epochs * steps }));
  let state = optimizer.init(params);
  const objective = (p: LinearParams, xb: k.Tensor, yb: k.Tensor) =>
    k.add(o.loss(linearLogits(p, xb), yb), k.mul(0.5 * o.l2, k.sum(k.mul(p.w, p.w))));
  const step = k.jit((p: LinearParams, s: k.optim.OptState, xb: k.Tensor, yb: k.Tensor) => {
    const [value, grads] = k.valueAndGrad(objective)(p, xb, yb);
    const [updates, next] = optimizer.update(grads, s, p);
    return [k.optim.applyUpdates(p, updates), next, value] as const;
  });
  const losses: number[] = [];
  const shuffleKey = await k.devicePut(o.key, "cpu"); // data.batches orders on the host
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const bar = progress(`${o.label} epoch ${epoch + 1}/${o.epochs}`, steps);
    let i = 0, sum = k.zeros([]);
    const order = k.data.batches({ x, y }, {
      batchSize: o.batch,
      key: k.random.foldIn(shuffleKey, epoch),
    });
    for (const b of order) {
      let value: k.Tensor;
      [params, state, value] = step(params, state, b.x, b.y);
      sum = k.add(sum, value);
      i++;
      if (i % 50 === 0 || i === steps) {
        bar.tick(i, `objective ${((await sum.item() as number) / i).toFixed(4)}`);
      }
    }
    bar.done();
    losses.push((await sum.item() as number) / steps);
  }
  return { params, losses };
}

/**
 * Test accuracy of a linear model, in `[0, 1]`.
 * @example
 * ```ts
 * const acc = await linearAccuracy(params, xTest, yTest);
 * ```
 */
export async function linearAccuracy(
  p: LinearParams,
  x: k.Tensor,
  y: k.Tensor,
): Promise<number> {
  return await k.nn.accuracy(linearLogits(p, x), y).item() as number;
}
