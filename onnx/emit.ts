/**
 * Kiln primitives to ONNX operators. Each traced node becomes a few standard ops; three
 * patterns get better forms: Kiln's convolutions and pools become `Conv`, `ConvTranspose`,
 * `MaxPool` and `AveragePool` nodes (patterns.ts); a broadcast multiply summed over axes (matmul, convolution,
 * attention) becomes one `Einsum` over the operands before broadcasting, and a window view
 * (`rewindow`, the im2col of convolutions and pools) becomes strided `Slice`s concatenated
 * along the window axis, with no `Gather`.
 * @module
 */
import type { DType } from "../core/dtype.ts";
import { isFloat } from "../core/dtype.ts";
import type { Node } from "../core/ir/node.ts";
import type { PadArg } from "../core/ir/movement.ts";
import type { WindowArg } from "../core/ir/window.ts";
import { typeError } from "../core/errors.ts";
import { type GraphBuilder, onnxType } from "./builder.ts";
import { OP, STACK, type SymShape } from "./trace.ts";
import { patternOf } from "./patterns.ts";

const UNARY: Record<string, string> = {
  neg: "Neg",
  abs: "Abs",
  sign: "Sign",
  exp: "Exp",
  log: "Log",
  sqrt: "Sqrt",
  sin: "Sin",
  cos: "Cos",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  relu: "Relu",
  erf: "Erf",
  floor: "Floor",
  ceil: "Ceil",
  round: "Round",
  isnan: "IsNaN",
};
const BINARY: Record<string, string> = {
  add: "Add",
  sub: "Sub",
  mul: "Mul",
  div: "Div",
  pow: "Pow",
  maximum: "Max",
  minimum: "Min",
  less: "Less",
  lessEqual: "LessOrEqual",
  equal: "Equal",
};
const REDUCE: Record<string, string> = {
  sum: "ReduceSum",
  prod: "ReduceProd",
  max: "ReduceMax",
  min: "ReduceMin",
};

/** Every Kiln primitive the exporter handles (plus `placeholder`, `const`, data). */
export const EXPORTED_PRIMITIVES: readonly string[] = [
  ...Object.keys(UNARY),
  ...Object.keys(BINARY),
  ...Object.keys(REDUCE),
  "rsqrt",
  "log1p",
  "expm1",
  "isfinite",
  "logicalNot",
  "logicalAnd",
  "logicalOr",
  "notEqual",
  "idiv",
  "mod",
  "cast",
  "stopGradient",
  "where",
  "reshape",
  "permute",
  "expand",
  "pad",
  "shrink",
  "flip",
  "rewindow",
  "gather",
  "scan (unrolled)",
  "jit",
  "checkpoint",
  "custom",
];

/** A multiply summed over axes, as one Einsum over the operands before broadcasting. */
interface Contraction {
  readonly a: Node;
  readonly b: Node;
  readonly eq: string;
  readonly reduced: readonly number[];
}

const operand = (n: Node) => (n.op === "expand" ? n.src[0] : n);

/** The Einsum form of `sum(mul(expand(a), expand(b)))`, or null. */
export function contraction(n: Node): Contraction | null {
  if (n.op !== "sum" || !isFloat(n.dtype)) return null;
  const m = n.src[0];
  if (m.realized || m.op !== "mul" || m.shape.length > 26) return null;
  if (m.src[0].op !== "expand" && m.src[1].op !== "expand") return null;
  const full = m.shape, a = operand(m.src[0]), b = operand(m.src[1]);
  const letter = (j: number) => String.fromCharCode(97 + j);
  const keep = (o: Node) => full.flatMap((d, j) => (o.shape[j] === 1 && d !== 1 ? [] : [j]));
  const ka = keep(a), kb = keep(b);
  if (full.some((_, j) => !ka.includes(j) && !kb.includes(j))) return null;
  const reduced = n.arg as number[];
  const outAxes = full.flatMap((_, j) => (reduced.includes(j) ? [] : [j]));
  const eq = `${ka.map(letter).join("")},${kb.map(letter).join("")}->${
    outAxes.map(letter).join("")
  }`;
  return { a, b, eq, reduced };
}

/** What a window view reads: the tensor before its broadcast, when it was one. */
function windowSource(n: Node): Node {
  return n.src[0].op === "expand" ? n.src[0].src[0] : n.src[0];
}

/** Sources the ONNX form of `n` reads (fewer than `n.src` for the two patterns). */
export function emitDeps(n: Node): readonly Node[] {
  const p = patternOf(n);
  if (p) return p.inputs;
  const c = contraction(n);
  if (c) return [c.a, c.b];
  if (n.op === "rewindow") return [windowSource(n)];
  return n.src;
}

/** Emits one node's ONNX form, given its sources' names. */
export function emitNode(
  g: GraphBuilder,
  n: Node,
  name: (n: Node) => string,
  shape: (n: Node) => SymShape,
): string {
  const x = () => name(n.src[0]);
  const toBool = (s: Node) =>
    s.dtype === "bool" ? name(s) : g.op("Cast", [name(s)], { to: onnxType("bool") });
  const fromBool = (v: string) =>
    n.dtype === "bool" ? v : g.op("Cast", [v], { to: onnxType(n.dtype) });
  const one = () => g.scalar(1, n.dtype);
  const p = patternOf(n);
  if (p) return g.op(p.type, p.inputs.map(name), p.attrs);
  if (UNARY[n.op]) return g.op(UNARY[n.op], [x()]);
  if (BINARY[n.op]) return g.op(BINARY[n.op], n.src.map(name));
  const c = contraction(n);
  if (c) {
    // Broadcast axes are dropped from each operand (the equation omits their letters).
    const sq = (o: Node) => {
      const drop = o.shape.flatMap((d, j) => (d === 1 && n.src[0].shape[j] !== 1 ? [j] : []));
      return g.axesOp("Squeeze", name(o), drop);
    };
    const out = g.op("Einsum", [sq(c.a), sq(c.b)], { equation: c.eq });
    return g.axesOp("Unsqueeze", out, c.reduced);
  }
  if (REDUCE[n.op]) return g.reduce(REDUCE[n.op], x(), n.arg as number[]);
  switch (n.op) {
    case "rsqrt":
      return g.op("Reciprocal", [g.op("Sqrt", [x()])]);
    case "log1p":
      return g.op("Log", [g.op("Add", [x(), one()])]);
    case "expm1":
      return g.op("Sub", [g.op("Exp", [x()]), one()]);
    case "isfinite":
      return g.op("Not", [g.op("Or", [g.op("IsNaN", [x()]), g.op("IsInf", [x()])])]);
    case "logicalNot":
      return fromBool(g.op("Not", [toBool(n.src[0])]));
    case "logicalAnd":
      return fromBool(g.op("And", [toBool(n.src[0]), toBool(n.src[1])]));
    case "logicalOr":
      return fromBool(g.op("Or", [toBool(n.src[0]), toBool(n.src[1])]));
    case "notEqual":
      return g.op("Not", [g.op("Equal", n.src.map(name))]);
    case "idiv": {
      const [a, b] = n.src.map(name);
      if (isFloat(n.dtype)) return g.op("Floor", [g.op("Div", [a, b])]);
      return g.op("Div", [g.op("Sub", [a, g.op("Mod", [a, b], { fmod: 0 })]), b]);
    }
    case "mod": {
      const [a, b] = n.src.map(name);
      if (!isFloat(n.dtype)) return g.op("Mod", [a, b], { fmod: 0 });
      return g.op("Sub", [a, g.op("Mul", [g.op("Floor", [g.op("Div", [a, b])]), b])]);
    }
    case "cast":
      return g.op("Cast", [x()], { to: onnxType(n.arg as DType) });
    case "stopGradient":
      return x();
    case "where": {
      return g.op("Where", [toBool(n.src[0]), name(n.src[1]), name(n.src[2])]);
    }
    case "reshape":
      return g.op("Reshape", [x(), g.shape(shape(n))]);
    case "expand":
      return g.op("Expand", [x(), g.shape(shape(n))]);
    case "permute":
      return g.op("Transpose", [x()], { perm: [...(n.arg as number[])] });
    case "pad": {
      const { pads, value } = n.arg as PadArg;
      const p = [...pads.map((q) => q[0]), ...pads.map((q) => q[1])];
      return g.op("Pad", [x(), g.i64(p), g.scalar(value, n.dtype)], { mode: "constant" });
    }
    case "shrink": {
      const arg = n.arg as [number, number, number][];
      const src = n.src[0].shape;
      const axes = arg.flatMap(([a, z, s], i) => (a === 0 && z === src[i] && s === 1 ? [] : [i]));
      if (!axes.length) return x();
      return g.op("Slice", [
        x(),
        g.i64(axes.map((i) => arg[i][0])),
        g.i64(axes.map((i) => arg[i][1])),
        g.i64(axes),
        g.i64(axes.map((i) => arg[i][2])),
      ]);
    }
    case "flip": {
      const axes = (n.arg as boolean[]).flatMap((f, i) => (f ? [i] : []));
      if (!axes.length) return x();
      return g.op("Slice", [
        x(),
        g.i64(axes.map(() => -1)),
        g.i64(axes.map((i) => -n.shape[i] - 1)),
        g.i64(axes),
        g.i64(axes.map(() => -1)),
      ]);
    }
    case "rewindow":
      return emitWindow(g, n, name, shape);
    case "gather": {
      const axis = n.arg as number;
      const len = n.src[0].shape[axis];
      const ind = n.src[1];
      const d = ind.dtype;
      const clamped = g.op("Max", [
        g.op("Min", [name(ind), g.scalar(len - 1, d)]),
        g.scalar(-len, d),
      ]);
      return g.op("Gather", [x(), clamped], { axis });
    }
    case STACK:
      return g.op("Concat", n.src.map((s) => g.axesOp("Unsqueeze", name(s), [0])), { axis: 0 });
  }
  throw typeError(
    OP,
    `the primitive "${n.op}" (output ${n.dtype}[${n.shape.join(",")}]) has no ONNX export`,
  );
}

/** `rewindow` as per-tap strided slices concatenated along each window axis. */
function emitWindow(
  g: GraphBuilder,
  n: Node,
  name: (n: Node) => string,
  shape: (n: Node) => SymShape,
): string {
  const { stride, dilation, to } = n.arg as WindowArg;
  const src = windowSource(n);
  const k = to.length, at = n.shape.length - 2 * k;
  let cur = name(src);
  for (let i = 0; i < k; i++) {
    const sAxis = at + i, kAxis = at + k + i, K = n.shape[kAxis];
    const whole = src.shape[kAxis] !== 1;
    const taps: string[] = [];
    for (let t = 0; t < K; t++) {
      const start = t * dilation[i], end = start + (to[i] - 1) * stride[i] + 1;
      taps.push(g.op("Slice", [
        cur,
        g.i64(whole ? [start, t] : [start]),
        g.i64(whole ? [end, t + 1] : [end]),
        g.i64(whole ? [sAxis, kAxis] : [sAxis]),
        g.i64(whole ? [stride[i], 1] : [stride[i]]),
      ]));
    }
    cur = taps.length === 1 ? taps[0] : g.op("Concat", taps, { axis: kAxis });
  }
  const lead = n.shape.slice(0, at);
  if (lead.some((d, j) => d !== src.shape[j])) cur = g.op("Expand", [cur, g.shape(shape(n))]);
  return cur;
}
