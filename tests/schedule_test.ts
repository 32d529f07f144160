// Fusion is part of the contract: these kernel counts fail CI when a fusion rule regresses
// (or when one improves: then lower the number here).
import assert from "node:assert/strict";
import * as k from "../mod.ts";

const rand = (shape: number[]) =>
  k.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1)),
    {
      shape,
    },
  );

function kernels(...ts: k.Tensor[]): k.KernelInfo[] {
  return k.schedule(...ts);
}

const a = rand([64, 32]), b = rand([64, 32]), c = rand([64, 32]), d = rand([64, 32]);
const x = rand([128, 64]);
const w = rand([64, 16]);
const bias = rand([16]);

const table: [string, () => k.Tensor, number][] = [
  ["a.add(b.mul(c)).sub(d)", () => a.add(b.mul(c)).sub(d), 1],
  [
    "relu(x*1.5+0.5)*sigmoid(x) - tanh(x)*0.5",
    () => k.relu(x.mul(1.5).add(0.5)).mul(k.sigmoid(x)).sub(k.tanh(x).mul(0.5)),
    1,
  ],
  ["a.mul(b).sum()", () => a.mul(b).sum(), 1],
  ["sum(a,{axis:0}).add(bias32)", () => k.sum(a, { axis: 0 }).add(rand([32])), 1],
  ["relu(matmul(x,w).add(bias))", () => k.relu(k.matmul(x, w).add(bias)), 1],
  ["softmax(x,{axis:-1})", () => k.softmax(x, { axis: -1 }), 3],
  ["logSoftmax(x,{axis:-1})", () => k.logSoftmax(x, { axis: -1 }), 3],
  ["transpose/reshape/slice/pad chain + add", () => {
    const t = k.pad(k.slice(k.reshape(k.transpose(a), [16, 128]), [[2, 14], [0, 128, 2]]), [
      [1, 1],
      [0, 0],
    ]);
    return t.add(1).mul(k.flip(t, { axis: 0 }));
  }, 1],
  [
    "matmul chain (2-layer MLP forward)",
    () => k.matmul(k.relu(k.matmul(x, w).add(bias)), rand([16, 10])),
    2,
  ],
  ["mean/variance of a row (layer-norm style)", () => {
    const m = x.mean({ axis: -1, keepdims: true });
    return x.sub(m).div(x.variance({ axis: -1, keepdims: true }).add(1e-5).sqrt());
  }, 3],
  ["einsum bij,bjk->bik", () => k.einsum("bij,bjk->bik", rand([4, 8, 16]), rand([4, 16, 8])), 1],
  [
    "take (gather) + elementwise",
    () => k.take(w, k.tensor([3, 1, 0], { dtype: "int32" }), { axis: 0 }).mul(2),
    1,
  ],
  ["concatenate of three", () => k.concatenate([a, b.mul(2), c], { axis: 1 }), 1],
  ["cumsum", () => k.cumsum(a, { axis: 1 }), 1],
];

for (const [name, make, n] of table) {
  Deno.test(`schedule: ${name} -> ${n} kernel(s)`, () => {
    assert.equal(kernels(make()).length, n, kernels(make()).map(String).join("\n"));
  });
}

Deno.test("schedule: movement chains are index math, not copy kernels", () => {
  const t = k.reshape(k.transpose(k.slice(a, [[0, 64, 2]])), [32, 32]).add(1);
  const ks = kernels(t);
  assert.equal(ks.length, 1);
  assert.deepEqual(ks[0].inputs, [[64, 32]]);
});

Deno.test("schedule: realized tensors are not recomputed", async () => {
  const y = a.mul(b).add(c);
  await k.realize(y);
  assert.equal(kernels(y).length, 0);
  const z = y.mul(2);
  const ks = kernels(z);
  assert.equal(ks.length, 1);
  assert.deepEqual(ks[0].inputs, [[64, 32]], "z reads y's buffer only");
});

Deno.test("schedule: realize of several tensors shares one schedule", () => {
  const s = k.sum(a, { axis: 1 });
  // `s` is used by two outputs: it is materialized once, not recomputed in each.
  assert.equal(kernels(s.add(1), s.mul(2)).length, 3);
});

Deno.test("schedule: kernels are printable with their source", () => {
  const text = String(kernels(k.relu(k.matmul(x, w).add(bias)))[0]);
  assert.match(text, /float32\[128,16\]/);
  assert.match(text, /for \(/);
});
