/**
 * Smoke test of `bench/peers/`: Kiln's runner on the `--quick` sizes, in-process (the npm peers
 * and PyTorch are left to `bench/peers/run.ts`). Every workload must pass its check against the
 * float64 references of `bench/peers/reference.ts` and report a time.
 */
import assert from "node:assert";
import { QUICK, workloadNames } from "../bench/peers/common.ts";
import * as ref from "../bench/peers/reference.ts";
import { runKiln } from "../bench/peers/kiln.ts";

Deno.test("bench/peers: Kiln's runner passes every check on the quick sizes", async () => {
  const report = await runKiln(QUICK);
  assert.deepStrictEqual(report.results.map((r) => r.name), workloadNames(QUICK));
  for (const r of report.results) {
    assert.strictEqual(r.na, undefined, `${r.name}: ${r.na}`);
    assert.ok(r.check && r.ms !== undefined && r.ms > 0 && r.runs === QUICK.runs, r.name);
  }
  // The training rows carry the two losses they were checked with: a loss that drops.
  const [mlp, cnn] = report.results.slice(-2);
  for (const r of [mlp, cnn]) assert.ok(r.losses![1] < r.losses![0], r.name);
});

Deno.test("bench/peers: the float64 references match closed forms", () => {
  // softmax of [0, ln 3] is [1/4, 3/4]; the chain at 0 is relu(0.5)·sigmoid(0) − 0 = 0.25.
  const sm = ref.softmaxRows(new Float32Array([0, Math.log(3)]), 1, 2);
  assert.ok(Math.abs(sm[0] - 0.25) < 1e-7 && Math.abs(sm[1] - 0.75) < 1e-7);
  assert.strictEqual(ref.chain(new Float32Array([0]))[0], 0.25);
  // With zero weights the logits are the biases: the first loss is the cross-entropy of b.
  const zero = (inF: number, outF: number, b: number[]) => ({
    w: new Float32Array(inF * outF),
    b: Float32Array.from(b),
    inF,
    outF,
  });
  const [l1] = ref.mlpLosses(new Float32Array(4), new Int32Array([1, 1]), [
    zero(2, 3, [0, 0, 0]),
    zero(3, 3, [0, 0, 0]),
    zero(3, 2, [0, Math.log(3)]),
  ], 0.1);
  assert.ok(Math.abs(l1 - Math.log(4 / 3)) < 1e-7);
});
