/**
 * Golden-value tests: every case of `fixtures/ops.json` (PyTorch 1.13 reference values, see
 * `fixtures/make_fixtures.py`) run through the matching Kiln op, once in float64 (tight
 * tolerance) and once in float32 (looser; cases whose values leave the float32 range skipped).
 */
import * as k from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import { allClose, assertShape, DEVICES, hasFloat64, tolFor } from "./_util.ts";

type Raw = number | "inf" | "-inf" | "nan";
interface FixTensor {
  shape: number[];
  dtype: "float64" | "int32" | "bool";
  data: Raw[];
}
interface Case {
  name: string;
  op: string;
  inputs: FixTensor[];
  // deno-lint-ignore no-explicit-any
  args: Record<string, any>;
  output: FixTensor;
}

const CASES: Case[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/ops.json", import.meta.url)),
);

function decode(v: Raw): number {
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "nan") return NaN;
  return v;
}

/** Builds a Kiln tensor from a fixture tensor; float64 data is created as `float`. */
function makeInput(t: FixTensor, float: DType, device: string): Tensor {
  const vals = t.data.map(decode);
  const shape = t.shape;
  if (t.dtype === "int32") return k.tensor(Int32Array.from(vals), { shape, device });
  if (t.dtype === "bool") return k.tensor(Uint8Array.from(vals), { shape, device });
  return k.tensor(Float64Array.from(vals), { shape, dtype: float, device });
}

const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 1.1754943508222875e-38;

/** Whether a finite value cannot be held as a normal float32 (overflow or underflow). */
function outsideF32(v: number): boolean {
  const a = Math.abs(v);
  return Number.isFinite(a) && a !== 0 && (a > F32_MAX || a < F32_MIN_NORMAL);
}

/** Cases whose inputs or outputs leave the float32 range are not run in float32. */
function fitsFloat32(c: Case): boolean {
  const floats = [...c.inputs, c.output].filter((t) => t.dtype === "float64");
  const inputsOk = c.inputs.every((t) =>
    t.dtype !== "float64" || !t.data.some((v) => outsideF32(decode(v)))
  );
  // Tiny outputs are fine (atol covers them); only overflow of an output is disqualifying.
  const outputOk = !c.output.data.some((v) =>
    Math.abs(decode(v)) > F32_MAX && Number.isFinite(decode(v))
  );
  return floats.length > 0 && inputsOk && outputOk;
}

const UNARY = new Set([
  "exp",
  "log",
  "log1p",
  "expm1",
  "sqrt",
  "rsqrt",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "relu",
  "erf",
  "floor",
  "ceil",
  "round",
  "abs",
  "sign",
  "neg",
]);
const BINARY = new Set(["add", "sub", "mul", "div", "pow", "maximum", "minimum"]);
const REDUCE = new Set(["sum", "mean", "max", "min", "prod", "variance", "std", "logsumexp"]);

// deno-lint-ignore no-explicit-any
const K = k as unknown as Record<string, (...a: any[]) => Tensor>;

/** Calls the Kiln op a fixture case names. */
function runOp(c: Case, xs: Tensor[], float: DType): Tensor {
  const a = c.args;
  const axis = a.axis === null ? undefined : a.axis;
  if (UNARY.has(c.op)) return K[c.op](xs[0]);
  if (BINARY.has(c.op)) return K[c.op](xs[0], xs[1]);
  if (REDUCE.has(c.op)) return K[c.op](xs[0], { axis, keepdims: a.keepdims ?? false });
  switch (c.op) {
    case "argmax":
      return k.argmax(xs[0], { axis, keepdims: a.keepdims ?? false });
    case "argmin":
      return k.argmin(xs[0], { axis, keepdims: a.keepdims ?? false });
    case "softmax":
      return k.softmax(xs[0], { axis });
    case "logSoftmax":
      return k.logSoftmax(xs[0], { axis });
    case "cumsum":
      return k.cumsum(xs[0], { axis });
    case "matmul":
      return k.matmul(xs[0], xs[1]);
    case "einsum":
      return k.einsum(a.spec, ...xs);
    case "take":
      return k.take(xs[0], xs[1], { axis });
    case "oneHot":
      return k.oneHot(xs[0], a.n, { dtype: float });
    case "pad":
      return k.pad(xs[0], a.pads, { value: a.value });
    case "flip":
      return k.flip(xs[0], { axis });
    case "tile":
      return k.tile(xs[0], a.reps);
    case "repeat":
      return k.repeat(xs[0], a.repeats, { axis });
    case "clip":
      return k.clip(xs[0], a.min, a.max);
    case "where":
      return k.where(xs[0], xs[1], xs[2]);
  }
  throw new Error(`ops_fixtures_test: no mapping for op "${c.op}" (case ${c.name})`);
}

Deno.test("fixtures: every op in ops.json has a mapping", () => {
  for (const c of CASES) {
    const known = UNARY.has(c.op) || BINARY.has(c.op) || REDUCE.has(c.op) ||
      [
        "argmax",
        "argmin",
        "softmax",
        "logSoftmax",
        "cumsum",
        "matmul",
        "einsum",
        "take",
        "oneHot",
        "pad",
        "flip",
        "tile",
        "repeat",
        "clip",
        "where",
      ].includes(c.op);
    if (!known) throw new Error(`unmapped fixture op "${c.op}" in case ${c.name}`);
  }
  if (CASES.length < 100) throw new Error(`expected >= 100 fixture cases, got ${CASES.length}`);
});

for (const device of DEVICES) {
  for (const c of CASES) {
    for (const float of ["float64", "float32"] as const) {
      const ignore = (float === "float32" && !fitsFloat32(c)) ||
        (float === "float64" && !hasFloat64(device));
      Deno.test({
        name: `fixture ${c.name} (${float}) [${device}]`,
        ignore,
        fn: async () => {
          const xs = c.inputs.map((t) => makeInput(t, float, device));
          const y = runOp(c, xs, float);
          const outDtype: DType = c.output.dtype === "float64" ? float : c.output.dtype;
          const tag = `${c.name} ${float} ${device}`;
          assertShape(y.shape, c.output.shape, tag);
          if (y.dtype !== outDtype) {
            throw new Error(`${tag}: dtype ${y.dtype}, expected ${outDtype}`);
          }
          if (y.device !== device) {
            throw new Error(`${tag}: device ${y.device}, expected ${device}`);
          }
          allClose(await y.data(), c.output.data.map(decode), tolFor(outDtype, device), tag);
        },
      });
    }
  }
}
