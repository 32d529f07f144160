/**
 * `k.nn.messagePassing`, `gcnNorm`, `graphConv` against dense references computed here in
 * plain float64 JavaScript (`D^-1/2 (A + I) D^-1/2 X W + b` with an explicit N×N matrix).
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { allClose, DEVICES, hasFloat64, rng, throwsWith } from "./_util.ts";

interface Edges {
  src: number[];
  dst: number[];
  w?: number[];
  n: number;
}

/** A random directed graph with duplicate edges and an isolated node (the last one). */
function randomGraph(seed: number, n: number, e: number, weighted: boolean): Edges {
  const r = rng(seed);
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let i = 0; i < e; i++) {
    src.push(Math.floor(r() * (n - 1)));
    dst.push(Math.floor(r() * (n - 1)));
    w.push(0.5 + r());
  }
  return { src, dst, w: weighted ? w : undefined, n };
}

function toGraph(g: Edges, device: string, dtype: k.DType): k.nn.Graph {
  return {
    src: k.tensor(g.src, { dtype: "int32", device }),
    dst: k.tensor(g.dst, { dtype: "int32", device }),
    numNodes: g.n,
    ...(g.w ? { weight: k.tensor(g.w, { dtype, device }) } : {}),
  };
}

/** Dense `A[dst][src] += w` (messages flow src -> dst), plus I when asked. */
function dense(g: Edges, loops: boolean): number[][] {
  const a = Array.from({ length: g.n }, () => new Array(g.n).fill(0));
  g.src.forEach((s, e) => a[g.dst[e]][s] += g.w?.[e] ?? 1);
  if (loops) { for (let i = 0; i < g.n; i++) a[i][i] += 1; }
  return a;
}

function gcnDense(g: Edges): number[][] {
  const a = dense(g, true);
  const deg = a.map((row) => row.reduce((s, v) => s + v, 0));
  const inv = deg.map((d) => (d > 0 ? 1 / Math.sqrt(d) : 0));
  return a.map((row, i) => row.map((v, j) => inv[i] * v * inv[j]));
}

const matmul = (a: number[][], b: number[][]) =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, t) => s + v * b[t][j], 0)));

const randMat = (seed: number, r: number, c: number) => {
  const g = rng(seed);
  return Array.from({ length: r }, () => Array.from({ length: c }, () => g() * 2 - 1));
};

for (const device of DEVICES) {
  const dtype = hasFloat64(device) ? "float64" : "float32";
  const tol = dtype === "float64" ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };

  Deno.test(`nn.messagePassing: sum and mean equal the dense adjacency product (${device})`, async () => {
    for (const weighted of [false, true]) {
      const g = randomGraph(weighted ? 2 : 1, 9, 30, weighted);
      const x = randMat(3, 9, 4);
      const a = dense(g, false);
      const want = matmul(a, x);
      const xt = k.tensor(x, { dtype, device });
      const got = k.nn.messagePassing(xt, toGraph(g, device, dtype));
      allClose(await got.data(), want.flat(), tol, `sum weighted=${weighted}`);
      // Mean: divide by the number of incoming edges (not their weights), zeros when none.
      const count = new Array(9).fill(0);
      g.dst.forEach((d) => count[d]++);
      const mean = want.map((row, i) => row.map((v) => (count[i] ? v / count[i] : 0)));
      const gotMean = k.nn.messagePassing(xt, toGraph(g, device, dtype), { aggregate: "mean" });
      allClose(await gotMean.data(), mean.flat(), tol, `mean weighted=${weighted}`);
    }
  });

  Deno.test(`nn.gcnNorm + graphConv equal D^-1/2 (A+I) D^-1/2 X W + b (${device})`, async () => {
    for (const weighted of [false, true]) {
      const g = randomGraph(weighted ? 5 : 4, 12, 40, weighted);
      const x = randMat(6, 12, 5), w = randMat(7, 5, 3), b = [0.1, -0.2, 0.3];
      const want = matmul(gcnDense(g), matmul(x, w)).map((row) => row.map((v, j) => v + b[j]));
      const params = { w: k.tensor(w, { dtype, device }), b: k.tensor(b, { dtype, device }) };
      const graph = toGraph(g, device, dtype);
      const xt = k.tensor(x, { dtype, device });
      const got = k.nn.graphConv.apply(params, xt, graph);
      allClose(await got.data(), want.flat(), tol, `graphConv weighted=${weighted}`);
      // Normalizing once and passing {normalize: false} gives the same.
      const pre = k.nn.graphConv.apply(params, xt, k.nn.gcnNorm(graph, { dtype }), {
        normalize: false,
      });
      allClose(await pre.data(), want.flat(), tol, "pre-normalized");
      // The isolated last node only sees itself: row = x W + b exactly.
      const last = matmul([x[11]], w)[0].map((v, j) => v + b[j]);
      allClose((await got.data()).slice(33, 36), last, tol, "isolated node");
    }
  });
}

Deno.test("nn.gcnNorm: without self-loops, and the two-node example", async () => {
  const g = { src: [0, 1, 1, 2], dst: [1, 0, 2, 1], n: 3 };
  const norm = k.nn.gcnNorm(toGraph(g, "cpu", "float64"), { addSelfLoops: false });
  // Degrees 1, 2, 1: every edge touches node 1, weight 1/sqrt(2).
  allClose(await norm.weight!.toArray() as number[], new Array(4).fill(Math.SQRT1_2), {
    rtol: 1e-7,
    atol: 0,
  }, "weights");
  const two = k.nn.gcnNorm(toGraph({ src: [0, 1], dst: [1, 0], n: 2 }, "cpu", "float32"));
  allClose(await two.weight!.data(), [0.5, 0.5, 0.5, 0.5], { rtol: 1e-6, atol: 0 }, "2 nodes");
  assert.deepStrictEqual(await two.src.toArray(), [0, 1, 0, 1]);
});

Deno.test("nn.graphConv: gradients match float64 finite differences", async () => {
  const g = toGraph(randomGraph(8, 6, 14, true), "cpu", "float64");
  const cpu = { dtype: "float64", device: "cpu" } as const;
  const x = k.tensor(randMat(9, 6, 3), cpu);
  const w = k.tensor(randMat(10, 3, 2), cpu);
  const b = k.tensor([0.5, -0.5], cpu);
  const ew = g.weight!;
  await k.testing.checkGrads(
    (x, w, b, ew) => k.tanh(k.nn.graphConv.apply({ w, b }, x, { ...g, weight: ew })).sum(),
    [x, w, b, ew],
    { order: 1 },
  );
});

Deno.test("nn.graphConv.init: Glorot-uniform w, zero b", async () => {
  const p = k.nn.graphConv.init(k.random.key(0), 300, 200);
  const w = await p.w.data() as Float32Array;
  const bound = Math.sqrt(6 / 500);
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  const varW = w.reduce((s, v) => s + v * v, 0) / w.length;
  assert.ok(Math.abs(varW / (bound * bound / 3) - 1) < 0.02, `variance ${varW}`);
  assert.deepStrictEqual([...(await p.b.data())], new Array(200).fill(0));
});

Deno.test("nn graph ops: bad input names the function, argument and shapes", () => {
  const g = toGraph({ src: [0, 1], dst: [1, 0], n: 2 }, "cpu", "float32");
  throwsWith(() => k.nn.messagePassing(k.zeros([3, 4]), g), [
    "nn.messagePassing: ",
    "[2, ...]",
    "[3,4]",
  ]);
  throwsWith(() => k.nn.messagePassing(k.zeros([2, 4]), { ...g, src: k.zeros([2]) }), [
    "nn.messagePassing: ",
    "graph.src must be int32",
  ]);
  throwsWith(() => k.nn.gcnNorm({ ...g, weight: k.ones([3]) }), ["nn.gcnNorm: ", "graph.weight"]);
  const p = k.nn.graphConv.init(k.random.key(0), 4, 2);
  throwsWith(() => k.nn.graphConv.apply(p, k.zeros([2, 5]), g), [
    "nn.graphConv.apply: ",
    "[2, 4]",
  ]);
  throwsWith(() => k.nn.messagePassing(k.zeros([2, 4]), g, { aggregate: "max" as "sum" }), [
    "nn.messagePassing: ",
    "aggregate",
  ]);
});
