// A separate Deno project imports Kiln by its package name, as a JSR user would, type-checks a
// small training script against the published surface and runs it: an MLP fitting XOR-like
// data with k.valueAndGrad and k.optim.sgd, whose loss must fall. Offline (--no-remote); needs
// --allow-run, --allow-read and --allow-write (temporary folder).
import assert from "node:assert";
import { tempProject } from "./_project.ts";

const TRAIN = `import * as k from "@kiln/kiln";

type Params = k.nn.MlpParams;

const [initKey, dataKey] = k.random.split(k.random.key(0), 2);
const x = k.random.uniform(dataKey, [64, 2], { minval: -1, maxval: 1 });
const y = x.prod({ axis: 1 }).gt(0).astype("int32"); // same-sign quadrants are class 1

const opt: k.optim.GradientTransformation = k.optim.sgd(0.5, { momentum: 0.9 });
let params: Params = k.nn.mlp.init(initKey, [2, 16, 2]);
let state = opt.init(params);
const loss = (p: Params): k.Tensor => k.nn.softmaxCrossEntropy(k.nn.mlp.apply(p, x), y);
const step = k.jit((p: Params, s: typeof state) => {
  const [value, grads] = k.valueAndGrad(loss)(p);
  const [updates, s2] = opt.update(grads, s, p);
  return [k.optim.applyUpdates(p, updates), s2, value] as const;
});

const losses: number[] = [];
for (let i = 0; i < 30; i++) {
  let value: k.Tensor;
  [params, state, value] = step(params, state);
  losses.push(Number(await value.item()));
}
console.log(JSON.stringify({ first: losses[0], last: losses.at(-1) }));
`;

Deno.test("a separate project imports @kiln/kiln, type-checks and trains", async () => {
  await using project = await tempProject();
  await project.write("train.ts", TRAIN);
  const check = await project.deno(["check", "--no-remote", "train.ts"]);
  assert.strictEqual(check.code, 0, `deno check failed:\n${check.stderr}`);
  const run = await project.deno(["run", "--no-remote", "--no-check", "train.ts"]);
  assert.strictEqual(run.code, 0, `deno run failed:\n${run.stderr}`);
  const { first, last } = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  // Cross-entropy of 2 classes starts near ln 2 and must clearly fall in 30 steps.
  assert.ok(first > 0.5 && first < 1.0, `first loss ${first}`);
  assert.ok(last < 0.8 * first, `loss ${first} -> ${last} did not decrease enough`);
});
