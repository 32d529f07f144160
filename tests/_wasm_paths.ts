// Child process of cpu_wasm_paths_test.ts: runs seeded random programs on the CPU backend (the
// WebAssembly or the JavaScript path, chosen by KILN_CPU_WASM) and prints their outputs as
// JSON, bit patterns included, for the parent to compare.
import * as k from "../mod.ts";

let seed = Number(Deno.args[0] ?? 1);
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
/** Sizes that stress vector loops and their scalar tails: 0, 1, odd, non-multiples of 4. */
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 33];

type Step = (x: k.Tensor) => k.Tensor;
/** Ops whose float32 results WebAssembly computes exactly as JavaScript does. */
const EXACT: Record<string, Step> = {
  add: (x) => x.add(x.mul(0.37)),
  sub: (x) => x.sub(1.25),
  mul: (x) => x.mul(x),
  div: (x) => x.div(x.abs().add(0.5)),
  max: (x) => k.maximum(x, 0.1),
  min: (x) => k.minimum(x, -0.2),
  relu: (x) => k.relu(x),
  floor: (x) => k.floor(x.mul(3)),
  round: (x) => k.round(x.mul(2.5)),
  sqrt: (x) => k.sqrt(x.abs()),
  rsqrt: (x) => k.rsqrt(x.abs().add(1e-3)),
  where: (x) => k.where(x.less(0), x.mul(-2), x),
  castInt: (x) => x.mul(7).astype("int32").add(3).astype("float32"),
  intMod: (x) => k.mod(x.mul(9).astype("int32"), 4).astype("float32"),
  intDiv: (x) => k.floorDivide(x.mul(9).astype("int32"), 3).astype("float32"),
  bool: (x) => k.logicalAnd(x.greater(-0.5), x.less(0.7)).astype("float32"),
  transpose: (x) => x.ndim === 2 ? k.transpose(x).mul(1.5) : x,
  flip: (x) => x.ndim === 2 ? k.flip(x, { axis: 1 }) : x,
  sumOuter: (x) => x.ndim === 2 ? x.sub(x.sum({ axis: 0, keepdims: true })) : x,
  maxInner: (x) => x.ndim === 2 ? x.sub(x.max({ axis: 1, keepdims: true })) : x,
  pad: (x) => x.ndim === 2 ? k.pad(x, [[1, 0], [0, 2]], { value: 0.5 }) : x,
};
/** Ops through vector math (≤ 2 ulp) or reordered vector sums. */
const CLOSE: Record<string, Step> = {
  exp: (x) => k.exp(k.clip(x, -20, 20)),
  log: (x) => k.log(x.abs().add(1e-3)),
  tanh: (x) => k.tanh(x),
  sigmoid: (x) => k.sigmoid(x),
  sin: (x) => k.sin(x.mul(3)),
  erf: (x) => k.erf(x),
  softmax: (x) => k.softmax(x, { axis: -1 }),
  sumInner: (x) => x.ndim === 2 ? x.div(x.abs().sum({ axis: 1, keepdims: true }).add(1)) : x,
  mean: (x) => x.sub(x.mean()),
};

const out: Record<string, unknown>[] = [];
for (const kind of ["exact", "close"] as const) {
  for (let t = 0; t < 40; t++) {
    const shape = rand() < 0.3 ? [pick(SIZES)] : [pick(SIZES), pick(SIZES)];
    const dtype = rand() < 0.8 ? "float32" : "float64";
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, () => (rand() - 0.5) * 8);
    let x = k.tensor(data, { dtype }).reshape(shape);
    const ops: string[] = [];
    const table = kind === "exact" ? EXACT : { ...EXACT, ...CLOSE };
    for (let s = 0; s < 4; s++) {
      const name = pick(Object.keys(table));
      // Ops refused for a shape (max over an empty axis) are recorded and skipped.
      try {
        x = table[name](x);
        ops.push(name);
      } catch {
        ops.push(`(${name} refused)`);
      }
    }
    const v = x.dataSync();
    out.push({
      kind,
      ops,
      shape,
      dtype,
      values: Array.from(v, (y) => Number.isNaN(y) ? "NaN" : y),
    });
  }
}
console.log(JSON.stringify(out));
