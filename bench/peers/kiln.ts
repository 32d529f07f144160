/**
 * Kiln's runner for `bench/peers/` (CPU device): each workload as a Kiln user writes it — plain
 * lazy ops for matmul, the chain and softmax (the scheduler fuses them without `jit`), and
 * jitted `valueAndGrad` + `k.optim.sgd` steps over `k.nn.sequential` models for the MLP and
 * the CNN. Prints its report as one `PEERS_JSON` line; `run.ts` spawns it.
 *
 *   npx -y deno@2.9.6 run -A bench/peers/kiln.ts [--quick]
 * @module
 */
import * as k from "../../mod.ts";
import * as c from "./common.ts";
import * as ref from "./reference.ts";

const L = k.nn.layers;
type Params = k.tree.PyTree;

/** Reads every output (as a user printing or plotting them would) and frees them. */
async function readAll(...ts: k.Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push((await t.data()) as Float32Array);
  return out;
}

const f32 = (data: Float32Array, shape: number[]) => k.tensor(data, { shape, device: "cpu" });
const dense = (p: ref.DenseF32) => ({
  w: f32(c.transpose2d(p.w, p.outF, p.inF), [p.inF, p.outF]),
  b: f32(p.b, [p.outF]),
});
const conv = (p: ref.Conv3F32) => ({
  w: f32(p.w, [p.o, p.c, 3, 3]),
  b: f32(p.b, [p.o]),
});

/**
 * A jitted SGD training step of `model` (a `k.nn.sequential` without state), checked over its
 * first two steps against the float64 losses, then timed (each run: one step, loss read back).
 */
async function trainStep(
  s: c.Sizes,
  model: k.nn.Layer<unknown[], unknown[]>,
  params0: Params,
  x: k.Tensor,
  y: k.Tensor,
  want: [number, number],
): Promise<c.Outcome> {
  const state = model.init(k.random.key(0, { device: "cpu" })).state;
  const opt = k.optim.sgd(c.LR);
  const loss = (p: Params, xb: k.Tensor, yb: k.Tensor) =>
    k.nn.softmaxCrossEntropy(
      model.apply(p as unknown[], state, xb, { training: true })[0],
      yb,
    );
  const step = k.jit(
    (p: Params, o: k.optim.OptState, xb: k.Tensor, yb: k.Tensor) => {
      const [value, grads] = k.valueAndGrad(loss)(p, xb, yb);
      const [updates, o2] = opt.update(grads, o, p);
      return [k.optim.applyUpdates(p, updates), o2, value] as const;
    },
  );
  let p = params0, o = opt.init(params0);
  const once = async () => {
    let value: k.Tensor;
    [p, o, value] = step(p, o, x, y);
    return (await readAll(value))[0][0];
  };
  return await c.trainThenTime(s, once, want);
}

/** Kiln's implementation of every workload. */
export function kilnPeer(s: c.Sizes): c.Peer {
  return {
    async matmul(n) {
      const [ad, bd] = c.matmulInputs(n);
      const a = f32(ad, [n, n]), b = f32(bd, [n, n]);
      await k.realize(a, b);
      const run = async () => {
        using y = k.matmul(a, b);
        return (await readAll(y))[0];
      };
      return await c.checkThenTime(s, run, (got) => c.checkMatmul(got, ad, bd, n));
    },
    async chain(n) {
      const xd = c.chainInput(n), x = f32(xd, [n]);
      await k.realize(x);
      const run = async () => {
        using y = k.relu(x.mul(1.5).add(0.5)).mul(k.sigmoid(x)).sub(
          k.tanh(x).mul(0.5),
        );
        return (await readAll(y))[0];
      };
      return await c.checkThenTime(s, run, (got) => c.checkChain(got, xd));
    },
    async softmax(r, cols) {
      const xd = c.softmaxInput(r, cols), x = f32(xd, [r, cols]);
      await k.realize(x);
      const run = async () => {
        using y = k.softmax(x, { axis: -1 });
        return (await readAll(y))[0];
      };
      return await c.checkThenTime(s, run, (got) => c.checkSoftmax(got, xd, r, cols));
    },
    async mlp(batch) {
      const pr = c.mlpProblem(batch);
      const [d0, d1, d2, d3] = c.MLP_DIMS;
      const model = k.nn.sequential([
        L.linear(d0, d1),
        k.nn.relu,
        L.linear(d1, d2),
        k.nn.relu,
        L.linear(d2, d3),
      ]);
      const [l1, l2, l3] = pr.layers.map(dense);
      const x = f32(pr.x, [batch, d0]),
        y = k.tensor(pr.y, { shape: [batch], dtype: "int32" });
      await k.realize(x, y);
      const want = ref.mlpLosses(pr.x, pr.y, pr.layers, c.LR);
      return await trainStep(s, model, [l1, {}, l2, {}, l3], x, y, want);
    },
    async cnn(batch) {
      const pr = c.cnnProblem(batch);
      const model = k.nn.sequential([
        L.conv2d(1, 32, 3),
        k.nn.relu,
        L.conv2d(32, 64, 3),
        k.nn.relu,
        L.maxPool2d(2),
        L.flatten(),
        L.linear(pr.fc.inF, 10),
      ]);
      const params = [
        conv(pr.conv1),
        {},
        conv(pr.conv2),
        {},
        {},
        {},
        dense(pr.fc),
      ];
      const x = f32(pr.x, [batch, 1, c.SIDE, c.SIDE]);
      const y = k.tensor(pr.y, { shape: [batch], dtype: "int32" });
      await k.realize(x, y);
      const want = ref.cnnLosses(
        pr.x,
        pr.y,
        c.SIDE,
        pr.conv1,
        pr.conv2,
        pr.fc,
        c.LR,
      );
      return await trainStep(s, model, params, x, y, want);
    },
  };
}

/** Kiln's whole report for `s` (what the runner prints; the test calls it in-process). */
export async function runKiln(s: c.Sizes): Promise<c.PeerReport> {
  k.setDefaultDevice("cpu");
  const threads = navigator.hardwareConcurrency;
  return {
    peer: "kiln",
    about: `Kiln, cpu device, ${threads} hardware threads`,
    results: await c.runAll(kilnPeer(s), s),
  };
}

if (import.meta.main) c.emit(await runKiln(c.sizesFromArgs(Deno.args)));
