/**
 * Semi-supervised node classification with a two-layer graph convolutional network (Kipf &
 * Welling, ICLR 2017), against an MLP given the same node features and the same labels:
 *
 * 1. Zachary's karate club (34 members, 78 friendships, `karate.json` with its citation):
 *    features are one-hot member ids, only 4 members are labelled (the two leaders and one
 *    friend of each), and the task is the faction every other member joined after the split.
 *    The MLP cannot generalize from ids; the GCN spreads the labels along friendships.
 * 2. A stochastic-block-model graph (10,000 nodes, 4 blocks, ~5 friends inside the block and
 *    ~2 outside per node) with weak Gaussian features (class mean + unit noise) and 2 % of the
 *    nodes labelled: averaging over neighbours cleans the noise.
 *
 * Both models train full-batch with Adam in one jitted step (dropout keyed per step); the
 * graph is normalized once (`k.nn.gcnNorm`) and applied by sparse message passing.
 *
 * Run: `deno run -A examples/graph/karate_gcn.ts [--smoke] [--nodes N] [--epochs N]`
 * @module
 */
import * as k from "../../mod.ts";
import { check, finish, outDir, parseArgs, progress, rng } from "../generative/_common.ts";

const args = parseArgs();
const out = outDir(args, import.meta.url);
const t0 = performance.now();

type Params = { l1: { w: k.Tensor; b: k.Tensor }; l2: { w: k.Tensor; b: k.Tensor } };
type Kind = "gcn" | "mlp";

interface Task {
  name: string;
  x: k.Tensor;
  graph: k.nn.Graph;
  labels: k.Tensor;
  train: k.Tensor;
  test: k.Tensor;
  classes: number;
}

/** Undirected edges as both directions, int32 tensors. */
function bothWays(pairs: readonly (readonly [number, number])[], numNodes: number): k.nn.Graph {
  const src = new Int32Array(2 * pairs.length), dst = new Int32Array(2 * pairs.length);
  pairs.forEach(([a, b], i) => {
    [src[2 * i], dst[2 * i], src[2 * i + 1], dst[2 * i + 1]] = [a, b, b, a];
  });
  return {
    src: k.tensor(src, { dtype: "int32" }),
    dst: k.tensor(dst, { dtype: "int32" }),
    numNodes,
  };
}

function forward(kind: Kind, p: Params, x: k.Tensor, g: k.nn.Graph, key?: k.Tensor): k.Tensor {
  const layer = (q: { w: k.Tensor; b: k.Tensor }, h: k.Tensor) =>
    kind === "gcn" ? k.nn.graphConv.apply(q, h, g, { normalize: false }) : k.nn.linear.apply(q, h);
  let h = k.relu(layer(p.l1, key ? k.nn.dropout(k.random.foldIn(key, 0), x, 0.5) : x));
  if (key) h = k.nn.dropout(k.random.foldIn(key, 1), h, 0.5);
  return layer(p.l2, h);
}

/** Trains one model; returns test accuracy and the logits of every node. */
async function fit(
  kind: Kind,
  t: Task,
  o: { hidden: number; epochs: number; seed: number },
): Promise<{ acc: number; logits: k.Tensor }> {
  const g = k.nn.gcnNorm(t.graph); // once; the layers then skip it
  await k.realize(g.src, g.dst, g.weight!);
  const key = k.random.key(o.seed);
  const [k1, k2] = k.random.split(key);
  const d = t.x.shape[1];
  let params: Params = {
    l1: k.nn.graphConv.init(k1, d, o.hidden),
    l2: k.nn.graphConv.init(k2, o.hidden, t.classes),
  };
  const opt = k.optim.adam(0.01);
  let state = opt.init(params);
  const yTrain = k.take(t.labels, t.train);
  // Kipf & Welling: cross-entropy on the labelled nodes, weight decay 5e-4 on the first layer.
  const loss = (p: Params, dropKey: k.Tensor) =>
    k.nn.softmaxCrossEntropy(
      k.take(forward(kind, p, t.x, g, dropKey), t.train, { axis: 0 }),
      yTrain,
    )
      .add(k.sum(k.mul(p.l1.w, p.l1.w)).mul(5e-4 / 2));
  const step = k.jit((p: Params, s: k.optim.OptState, dropKey: k.Tensor) => {
    const [value, grads] = k.valueAndGrad(loss)(p, dropKey);
    const [updates, next] = opt.update(grads, s, p);
    return [k.optim.applyUpdates(p, updates), next, value] as const;
  });
  const bar = progress(`${t.name} ${kind}`, o.epochs);
  for (let i = 1; i <= o.epochs; i++) {
    let value: k.Tensor;
    [params, state, value] = step(params, state, k.random.foldIn(key, 1000 + i));
    if (i % 10 === 0 || i === o.epochs) {
      bar.tick(i, `loss ${Number(await value.item()).toFixed(4)}`);
    }
  }
  bar.done();
  const logits = forward(kind, params, t.x, g);
  const acc = Number(
    await k.nn.accuracy(k.take(logits, t.test, { axis: 0 }), k.take(t.labels, t.test)).item(),
  );
  return { acc, logits };
}

// 1. Karate club.
const karate = JSON.parse(await Deno.readTextFile(new URL("./karate.json", import.meta.url)));
const kn: number = karate.numNodes;
const labelled = [0, 1, 32, 33]; // members 1 (Mr. Hi), 2, 33, 34 (the Officer)
const kTask: Task = {
  name: "karate",
  x: k.eye(kn),
  graph: bothWays(karate.edges.map(([a, b]: [number, number]) => [a - 1, b - 1]), kn),
  labels: k.tensor(karate.faction, { dtype: "int32" }),
  train: k.tensor(labelled, { dtype: "int32" }),
  test: k.tensor([...Array(kn).keys()].filter((i) => !labelled.includes(i)), { dtype: "int32" }),
  classes: 2,
};
check(karate.edges.length === 78 && kn === 34, "karate club: 34 members, 78 edges");
const seeds = args.smoke ? [0] : [0, 1, 2, 3, 4];
const kAcc: Record<Kind, number[]> = { gcn: [], mlp: [] };
let shown: k.Tensor | undefined;
for (const seed of seeds) {
  for (const kind of ["gcn", "mlp"] as const) {
    const r = await fit(kind, kTask, { hidden: 16, epochs: args.num("epochs", 200, 60), seed });
    kAcc[kind].push(r.acc);
    if (kind === "gcn" && seed === 0) shown = r.logits;
  }
}
const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
console.log(
  `karate club, 4 labelled members, accuracy on the other 30 (mean of ${seeds.length} seeds): ` +
    `GCN ${(100 * mean(kAcc.gcn)).toFixed(1)}%, MLP ${(100 * mean(kAcc.mlp)).toFixed(1)}%`,
);
check(mean(kAcc.gcn) >= 0.85, `karate GCN accuracy ${mean(kAcc.gcn).toFixed(3)} >= 0.85`);
check(
  mean(kAcc.gcn) >= mean(kAcc.mlp) + 0.2,
  `karate GCN beats the MLP on the same features by >= 20 points`,
);
const lg = await shown!.data();
const svg = k.plot.scatter({
  x: Array.from({ length: kn }, (_, i) => lg[2 * i]),
  y: Array.from({ length: kn }, (_, i) => lg[2 * i + 1]),
  labels: karate.faction,
}, {
  title: "karate club: GCN outputs per member, coloured by the faction joined",
  xLabel: "logit Mr. Hi",
  yLabel: "logit Officer",
  classNames: ["Mr. Hi's club", "Officer's club"],
  radius: 4,
});
await k.plot.save(`${out}karate_gcn.svg`, svg);

// 2. Stochastic block model.
const n = args.num("nodes", 10000, 2000), blocks = 4, dim = 8;
const r = rng(7);
const block = Int32Array.from({ length: n }, () => Math.floor(r() * blocks));
const members: number[][] = Array.from({ length: blocks }, () => []);
block.forEach((b, i) => members[b].push(i));
const pairs: [number, number][] = [];
const pick = (v: number[]) => v[Math.floor(r() * v.length)];
for (let e = 0; e < (n * 5) / 2; e++) { // ~5 neighbours in the own block per node
  const u = Math.floor(r() * n), v = pick(members[block[u]]);
  if (u !== v) pairs.push([u, v]);
}
for (let e = 0; e < (n * 2) / 2; e++) { // ~2 in other blocks
  const u = Math.floor(r() * n);
  const v = pick(members[(block[u] + 1 + Math.floor(r() * (blocks - 1))) % blocks]);
  pairs.push([u, v]);
}
const labels = k.tensor(block, { dtype: "int32" });
// Weak features: mean 1 along the class's own axis, unit Gaussian noise everywhere.
const x = k.oneHot(labels, dim).add(k.random.normal(k.random.key(11), [n, dim]));
const order = await k.random.permutation(k.random.key(12), n).data() as Int32Array;
const nTrain = Math.round(0.02 * n);
const sTask: Task = {
  name: `sbm ${n}`,
  x: await (async () => (await k.realize(x), x))(),
  graph: bothWays(pairs, n),
  labels,
  train: k.tensor(order.slice(0, nTrain), { dtype: "int32" }),
  test: k.tensor(order.slice(nTrain), { dtype: "int32" }),
  classes: blocks,
};
const sEpochs = args.num("epochs", 200, 60);
const sg = await fit("gcn", sTask, { hidden: 16, epochs: sEpochs, seed: 0 });
const sm = await fit("mlp", sTask, { hidden: 16, epochs: sEpochs, seed: 0 });
console.log(
  `stochastic block model, ${n} nodes, ${2 * pairs.length} directed edges, ${nTrain} labelled: ` +
    `test accuracy GCN ${(100 * sg.acc).toFixed(1)}%, MLP ${(100 * sm.acc).toFixed(1)}%`,
);
check(sg.acc >= sm.acc + 0.15, `SBM: GCN beats the MLP by >= 15 points`);
check(sg.acc >= 0.8, `SBM GCN accuracy ${sg.acc.toFixed(3)} >= 0.8`);
console.log(`picture: ${out}karate_gcn.svg`);
finish(t0);
