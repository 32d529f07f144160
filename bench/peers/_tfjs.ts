/**
 * TensorFlow.js's runner for `bench/peers/`, shared by `tfjs_cpu.ts` and `tfjs_wasm.ts`: each
 * workload as a tfjs user writes it (`tf.tidy`, `tf.train.sgd(lr).minimize`), NHWC for the CNN
 * (tfjs's convolution layout) with the same parameters transposed.
 *
 * tfjs is imported dynamically through `bench/peers/deno.json`'s import map, so the library's
 * own `deno check` never resolves (or locks) it; the facade below types the part used here.
 * @module
 */
import * as c from "./common.ts";
import * as ref from "./reference.ts";

/** The tfjs tensor methods used here. */
interface TfTensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}
type Operand = TfTensor | number;
/** The tfjs functions used here (`@tensorflow/tfjs` 4.22). */
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  version: Record<string, string>;
  env(): { getAsync(flag: string): Promise<unknown> };
  tensor(values: Float32Array | Int32Array, shape: number[], dtype?: string): TfTensor;
  variable(t: TfTensor): TfTensor;
  tidy<T extends TfTensor>(f: () => T): T;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  add(a: Operand, b: Operand): TfTensor;
  sub(a: Operand, b: Operand): TfTensor;
  mul(a: Operand, b: Operand): TfTensor;
  relu(x: TfTensor): TfTensor;
  sigmoid(x: TfTensor): TfTensor;
  tanh(x: TfTensor): TfTensor;
  softmax(x: TfTensor, dim?: number): TfTensor;
  reshape(x: TfTensor, shape: number[]): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  conv2d(x: TfTensor, filter: TfTensor, strides: number, pad: "valid"): TfTensor;
  maxPool(x: TfTensor, size: number, strides: number, pad: "valid"): TfTensor;
  losses: { softmaxCrossEntropy(onehot: TfTensor, logits: TfTensor): TfTensor };
  train: { sgd(lr: number): { minimize(f: () => TfTensor, returnCost: true): TfTensor | null } };
}

const TFJS = "@tensorflow/tfjs", TFJS_WASM = "@tensorflow/tfjs-backend-wasm";

/** `[O, C, 3, 3]` (PyTorch) → `[3, 3, C, O]` (tfjs's filter layout). */
function filterHwio(p: ref.Conv3F32): Float32Array {
  const out = new Float32Array(p.w.length);
  for (let o = 0; o < p.o; o++) {
    for (let ch = 0; ch < p.c; ch++) {
      for (let t = 0; t < 9; t++) out[(t * p.c + ch) * p.o + o] = p.w[(o * p.c + ch) * 9 + t];
    }
  }
  return out;
}

/** The dense head's `[10, C·H·W]` weight reordered for an NHWC flatten, as `[H·W·C, 10]`. */
function headHwc(fc: ref.DenseF32, ch: number): Float32Array {
  const hw = fc.inF / ch, out = new Float32Array(fc.w.length);
  for (let o = 0; o < fc.outF; o++) {
    for (let k = 0; k < ch; k++) {
      for (let p = 0; p < hw; p++) out[(p * ch + k) * fc.outF + o] = fc.w[o * fc.inF + k * hw + p];
    }
  }
  return out;
}

function tfjsPeer(tf: Tf, s: c.Sizes): c.Peer {
  const f32 = (d: Float32Array, shape: number[]) => tf.tensor(d, shape, "float32");
  /** Times `f` (result read back, then freed) after checking its first result. */
  const timed = (f: () => TfTensor, check: (got: Float32Array) => string) => {
    const run = async () => {
      const y = f();
      const d = await y.data();
      y.dispose();
      return d;
    };
    return c.checkThenTime(s, run, check);
  };
  /** SGD steps on `loss` (tfjs variables), checked over the first two, then timed. */
  const train = (loss: () => TfTensor, want: [number, number]) => {
    const opt = tf.train.sgd(c.LR);
    const once = async () => {
      const l = opt.minimize(loss, true)!;
      const v = (await l.data())[0];
      l.dispose();
      return v;
    };
    return c.trainThenTime(s, once, want);
  };
  return {
    matmul(n) {
      const [ad, bd] = c.matmulInputs(n);
      const a = f32(ad, [n, n]), b = f32(bd, [n, n]);
      return timed(() => tf.matMul(a, b), (got) => c.checkMatmul(got, ad, bd, n));
    },
    chain(n) {
      const xd = c.chainInput(n), x = f32(xd, [n]);
      const f = () =>
        tf.tidy(() =>
          tf.sub(
            tf.mul(tf.relu(tf.add(tf.mul(x, 1.5), 0.5)), tf.sigmoid(x)),
            tf.mul(tf.tanh(x), 0.5),
          )
        );
      return timed(f, (got) => c.checkChain(got, xd));
    },
    softmax(r, cols) {
      const xd = c.softmaxInput(r, cols), x = f32(xd, [r, cols]);
      return timed(() => tf.softmax(x, -1), (got) => c.checkSoftmax(got, xd, r, cols));
    },
    mlp(batch) {
      const pr = c.mlpProblem(batch);
      const x = f32(pr.x, [batch, c.MLP_DIMS[0]]);
      const y = tf.oneHot(tf.tensor(pr.y, [batch], "int32"), 10);
      const ps = pr.layers.map((l) => ({
        w: tf.variable(f32(c.transpose2d(l.w, l.outF, l.inF), [l.inF, l.outF])),
        b: tf.variable(f32(l.b, [l.outF])),
      }));
      const loss = () => {
        let h = x;
        ps.forEach((p, i) => {
          h = tf.add(tf.matMul(h, p.w), p.b);
          if (i < ps.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h);
      };
      return train(loss, ref.mlpLosses(pr.x, pr.y, pr.layers, c.LR));
    },
    cnn(batch) {
      const pr = c.cnnProblem(batch);
      const x = f32(pr.x, [batch, c.SIDE, c.SIDE, 1]); // one channel: NCHW and NHWC coincide
      const y = tf.oneHot(tf.tensor(pr.y, [batch], "int32"), 10);
      const conv = (p: ref.Conv3F32) => ({
        w: tf.variable(f32(filterHwio(p), [3, 3, p.c, p.o])),
        b: tf.variable(f32(p.b, [p.o])),
      });
      const [c1, c2] = [conv(pr.conv1), conv(pr.conv2)];
      const fw = tf.variable(f32(headHwc(pr.fc, pr.conv2.o), [pr.fc.inF, 10]));
      const fb = tf.variable(f32(pr.fc.b, [10]));
      const loss = () => {
        const h1 = tf.relu(tf.add(tf.conv2d(x, c1.w, 1, "valid"), c1.b));
        const h2 = tf.relu(tf.add(tf.conv2d(h1, c2.w, 1, "valid"), c2.b));
        const flat = tf.reshape(tf.maxPool(h2, 2, 2, "valid"), [batch, pr.fc.inF]);
        return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(flat, fw), fb));
      };
      const want = ref.cnnLosses(pr.x, pr.y, c.SIDE, pr.conv1, pr.conv2, pr.fc, c.LR);
      return train(loss, want);
    },
  };
}

/** Runs every workload of `s` on tfjs's `backend` (`cpu` or `wasm`) and prints the report. */
export async function runTfjs(backend: "cpu" | "wasm", s: c.Sizes): Promise<void> {
  const tf = (await import(TFJS)) as Tf;
  if (backend === "wasm") await import(TFJS_WASM);
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} unavailable`);
  await tf.ready();
  let about = `@tensorflow/tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`;
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    about += ` (SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off: one thread"})`;
  } else about += " (plain JavaScript, one thread)";
  c.emit({ peer: `tfjs-${backend}`, about, results: await c.runAll(tfjsPeer(tf, s), s) });
}
