/**
 * jax-js (`@jax-js/jax`, its `wasm` device) for `bench/peers/run.ts`, in its own process: each
 * workload as a jax-js user writes it — `jit` where JAX users jit (everything, even the lone
 * matmul, which runs faster jitted), `valueAndGrad` and a `tree.map` SGD update,
 * NCHW `lax.conv` and a `lax.reduceWindow` max pool, with jax-js's reference counting (`.ref`).
 *
 *   npx -y deno@2.9.6 run -A --config bench/peers/deno.json bench/peers/jaxjs.ts [--quick]
 *
 * jax-js is imported dynamically through `bench/peers/deno.json`'s import map, so the library's
 * own `deno check` never resolves (or locks) it; the facade below types the part used here.
 * @module
 */
import * as c from "./common.ts";
import * as ref from "./reference.ts";

/** The jax-js array methods used here (each consumes its receiver unless reached by `.ref`). */
interface JArr {
  readonly ref: JArr;
  dispose(): void;
  data(): Promise<Float32Array>;
  add(o: JArr | number): JArr;
  sub(o: JArr | number): JArr;
  mul(o: JArr | number): JArr;
  neg(): JArr;
  sum(axis?: number): JArr;
  mean(): JArr;
  max(): JArr;
  reshape(shape: number[]): JArr;
}
/** Parameters as jax-js pytrees. */
type Tree = { w: JArr; b: JArr }[];
/** The jax-js functions used here (`@jax-js/jax` 0.1.25). */
interface Jax {
  init(...devices: string[]): Promise<string[]>;
  defaultDevice(device?: string): string;
  numpy: {
    array(v: Float32Array | Int32Array, o: { shape: number[]; dtype?: unknown }): JArr;
    matmul(a: JArr, b: JArr): JArr;
    tanh(x: JArr): JArr;
    int32: unknown;
  };
  nn: {
    relu(x: JArr): JArr;
    sigmoid(x: JArr): JArr;
    softmax(x: JArr, axis?: number): JArr;
    logSoftmax(x: JArr, axis?: number): JArr;
    oneHot(x: JArr, classes: number): JArr;
  };
  lax: {
    conv(x: JArr, w: JArr, strides: number[], padding: "VALID"): JArr;
    reduceWindow(x: JArr, f: (w: JArr) => JArr, dims: number[], strides: number[]): JArr;
  };
  jit<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R;
  valueAndGrad<A extends unknown[]>(f: (p: Tree, ...a: A) => JArr): (p: Tree, ...a: A) => [
    JArr,
    Tree,
  ];
  tree: { map(f: (p: JArr, g: JArr) => JArr, t: Tree, g: Tree): Tree; ref(t: Tree): Tree };
}

const JAX = "@jax-js/jax";

function jaxPeer(jax: Jax, s: c.Sizes): c.Peer {
  const { numpy: np, nn, lax } = jax;
  const f32 = (d: Float32Array, shape: number[]) => np.array(d, { shape });
  /** Times `f` (a fresh result each call, read back; `data()` consumes it). */
  const timed = (f: () => JArr, check: (got: Float32Array) => string) =>
    c.checkThenTime(s, () => f().data(), check);
  /** Mean cross-entropy of logits `z` against one-hot `y`. */
  const xent = (z: JArr, y: JArr) => nn.logSoftmax(z, -1).mul(y).sum(-1).mean().neg();
  /** A jitted SGD step on `loss`, checked over its first two steps, then timed. */
  const train = (
    loss: (p: Tree, x: JArr, y: JArr) => JArr,
    p0: Tree,
    x: JArr,
    y: JArr,
    want: [number, number],
  ) => {
    const step = jax.jit((p: Tree, xb: JArr, yb: JArr): [Tree, JArr] => {
      const [value, grads] = jax.valueAndGrad(loss)(jax.tree.ref(p), xb, yb);
      return [jax.tree.map((w, g) => w.sub(g.mul(c.LR)), p, grads), value];
    });
    let p = p0;
    const once = async () => {
      const [p2, value] = step(p, x.ref, y.ref);
      p = p2;
      return (await value.data())[0];
    };
    return c.trainThenTime(s, once, want);
  };
  const labels = (d: Int32Array) =>
    nn.oneHot(np.array(d, { shape: [d.length], dtype: np.int32 }), 10);
  return {
    matmul(n) {
      const [ad, bd] = c.matmulInputs(n);
      const a = f32(ad, [n, n]), b = f32(bd, [n, n]);
      // Jitted although it is one op: 23 vs 17 GFLOP/s at n = 1024 here (the stricter rival).
      const mm = jax.jit((x: JArr, y: JArr) => np.matmul(x, y));
      return timed(() => mm(a.ref, b.ref), (got) => c.checkMatmul(got, ad, bd, n));
    },
    chain(n) {
      const xd = c.chainInput(n), x = f32(xd, [n]);
      const f = jax.jit((v: JArr) =>
        nn.relu(v.ref.mul(1.5).add(0.5)).mul(nn.sigmoid(v.ref)).sub(np.tanh(v).mul(0.5))
      );
      return timed(() => f(x.ref), (got) => c.checkChain(got, xd));
    },
    softmax(r, cols) {
      const xd = c.softmaxInput(r, cols), x = f32(xd, [r, cols]);
      const f = jax.jit((v: JArr) => nn.softmax(v, -1));
      return timed(() => f(x.ref), (got) => c.checkSoftmax(got, xd, r, cols));
    },
    mlp(batch) {
      const pr = c.mlpProblem(batch);
      const p0 = pr.layers.map((l) => ({
        w: f32(c.transpose2d(l.w, l.outF, l.inF), [l.inF, l.outF]),
        b: f32(l.b, [l.outF]),
      }));
      const loss = (p: Tree, x: JArr, y: JArr) => {
        let h = x;
        p.forEach((l, i) => {
          h = np.matmul(h, l.w).add(l.b);
          if (i < p.length - 1) h = nn.relu(h);
        });
        return xent(h, y);
      };
      const x = f32(pr.x, [batch, c.MLP_DIMS[0]]);
      return train(loss, p0, x, labels(pr.y), ref.mlpLosses(pr.x, pr.y, pr.layers, c.LR));
    },
    cnn(batch) {
      const pr = c.cnnProblem(batch);
      const conv = (q: ref.Conv3F32) => ({
        w: f32(q.w, [q.o, q.c, 3, 3]),
        b: f32(q.b, [q.o, 1, 1]),
      });
      const fc = pr.fc;
      const p0 = [
        conv(pr.conv1),
        conv(pr.conv2),
        { w: f32(c.transpose2d(fc.w, fc.outF, fc.inF), [fc.inF, fc.outF]), b: f32(fc.b, [10]) },
      ];
      const loss = (p: Tree, x: JArr, y: JArr) => {
        const h1 = nn.relu(lax.conv(x, p[0].w, [1, 1], "VALID").add(p[0].b));
        const h2 = nn.relu(lax.conv(h1, p[1].w, [1, 1], "VALID").add(p[1].b));
        const pooled = lax.reduceWindow(h2, (w) => w.max(), [1, 1, 2, 2], [1, 1, 2, 2]);
        return xent(np.matmul(pooled.reshape([batch, fc.inF]), p[2].w).add(p[2].b), y);
      };
      const x = f32(pr.x, [batch, 1, c.SIDE, c.SIDE]);
      const want = ref.cnnLosses(pr.x, pr.y, c.SIDE, pr.conv1, pr.conv2, pr.fc, c.LR);
      return train(loss, p0, x, labels(pr.y), want);
    },
  };
}

const jax = (await import(JAX)) as Jax;
await jax.init("wasm");
jax.defaultDevice("wasm");
const sizes = c.sizesFromArgs(Deno.args);
c.emit({
  peer: "jax-js",
  about: `@jax-js/jax 0.1.25, wasm device, ${navigator.hardwareConcurrency} hardware threads`,
  results: await c.runAll(jaxPeer(jax, sizes), sizes),
});
// jax-js's wasm worker pool keeps a Deno process alive after the script's last line.
Deno.exit(0);
