/**
 * ONNX operators on Kiln ops: elementwise math, comparisons, reductions, shapes and indexing.
 * Numpy broadcasting is ONNX's (multidirectional), as Kiln's.
 * @module
 */
import * as k from "../core/mod.ts";
import type { DType } from "../core/dtype.ts";
import {
  checkShapeBound,
  decodeTensor,
  isStatic,
  numel,
  type OpContext,
  RUN,
  type Static,
  staticOf,
  type Val,
} from "./values.ts";
import { kilnType } from "./values.ts";

/** An operator: its node's inputs to its outputs. */
export type OpImpl = (c: OpContext) => Val | Val[];

const unary = (f: (x: k.Tensor) => k.Tensor): OpImpl => (c) => f(c.t(0));
const binary = (f: (a: k.Tensor, b: k.Tensor) => k.Tensor): OpImpl => (c) => f(c.t(0), c.t(1));
const variadic = (f: (a: k.Tensor, b: k.Tensor) => k.Tensor): OpImpl => (c) => {
  let r = c.t(0);
  for (let i = 1; i < c.inputs.length; i++) if (c.opt(i)) r = f(r, c.t(i));
  return r;
};

const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Integer division truncating toward zero (ONNX `Div` on integers). */
function div(a: k.Tensor, b: k.Tensor): k.Tensor {
  if (a.dtype !== "int32" || b.dtype !== "int32") return k.div(a, b);
  const q = k.floorDivide(a, b);
  const r = k.sub(a, k.mul(q, b));
  const fix = k.logicalAnd(k.notEqual(r, 0), k.less(k.mul(a, b), 0));
  return k.add(q, k.astype(fix, "int32"));
}

/** Axes from the attribute (older opsets) or the optional input `i` (newer ones). */
function axesOf(c: OpContext, i: number): number[] | undefined {
  const a = c.ints("axes");
  if (a) return a;
  return c.opt(i) === undefined ? undefined : c.host(i, "axes");
}

function reduce(f: (x: k.Tensor, o: k.ReduceOptions) => k.Tensor, axesInput: number): OpImpl {
  return (c) => {
    const x = c.t(0);
    const axes = axesOf(c, c.opset >= axesInput ? 1 : 99);
    const keepdims = c.int("keepdims", 1) === 1;
    if ((!axes || !axes.length) && c.int("noop_with_empty_axes", 0) === 1) return x;
    return f(x, { axis: axes && axes.length ? axes.map((a) => norm(a, x.ndim)) : null, keepdims });
  };
}

function softmaxLike(f: (x: k.Tensor, o: { axis: number }) => k.Tensor): OpImpl {
  return (c) => {
    const x = c.t(0);
    if (c.opset >= 13) return f(x, { axis: norm(c.int("axis", -1), x.ndim) });
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1).
    const axis = norm(c.int("axis", 1), x.ndim);
    const flat = k.reshape(x, [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))]);
    return k.reshape(f(flat, { axis: 1 }), x.shape);
  };
}

/** The value of a `Constant` node. */
function constant(c: OpContext): Val {
  const a = c.node.attribute?.[0];
  if (!a) throw c.error("no value attribute");
  const where = `${c.label} attribute ${a.name}`;
  switch (a.name) {
    case "value": {
      // Host constants, made tensors where used (on the device of the other operands).
      const t = decodeTensor(a.t ?? {}, where);
      return staticOf(Array.from(t.data), t.shape, t.dtype);
    }
    case "value_float":
      return staticOf([a.f ?? 0], [], "float32");
    case "value_floats":
      return staticOf(a.floats ?? [], [(a.floats ?? []).length], "float32");
    case "value_int":
      return staticOf([a.i ?? 0], [], "int32");
    case "value_ints":
      return staticOf(a.ints ?? [], [(a.ints ?? []).length], "int32");
  }
  throw c.error(`unsupported attribute ${a.name}`);
}

/** ONNX `Reshape`: 0 copies the input's size (unless `allowzero`), -1 is inferred. */
function reshape(c: OpContext): Val {
  const x = c.t(0);
  const spec = c.opset >= 5 ? c.host(1, "shape") : c.ints("shape") ?? [];
  const allowZero = c.int("allowzero", 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const known = numel(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? (known ? numel(x.shape) / known : 0) : d));
  if (numel(out) !== numel(x.shape) || out.some((d) => !Number.isInteger(d))) {
    throw c.error(`cannot reshape [${x.shape}] to [${spec}]`);
  }
  return k.reshape(x, out);
}

/** ONNX `Slice` (clamping as the spec says, negative steps included). */
function slice(c: OpContext): Val {
  const x = c.t(0);
  const old = c.opset < 10;
  const starts = old ? c.ints("starts") ?? [] : c.host(1, "starts");
  const ends = old ? c.ints("ends") ?? [] : c.host(2, "ends");
  const axes = (old ? c.ints("axes") : c.opt(3) ? c.host(3, "axes") : undefined) ??
    starts.map((_, i) => i);
  const steps = !old && c.opt(4) ? c.host(4, "steps") : axes.map(() => 1);
  const specs: [number, number | null, number][] = x.shape.map((d) => [0, d, 1]);
  axes.forEach((a0, i) => {
    const a = norm(a0, x.ndim), d = x.shape[a], st = steps[i];
    if (!st) throw c.error("a step is 0");
    const fix = (v: number) => (v < 0 ? v + d : v);
    if (st > 0) {
      const s = Math.min(Math.max(fix(starts[i]), 0), d);
      const e = Math.min(Math.max(fix(ends[i]), 0), d);
      specs[a] = [s, e, st];
    } else {
      const s = Math.min(Math.max(fix(starts[i]), 0), d - 1);
      const e = Math.min(Math.max(fix(ends[i]), -1), d - 1);
      specs[a] = [s, e < 0 ? null : e, st];
    }
  });
  return k.slice(x, specs);
}

function squeezeOp(c: OpContext): Val {
  const x = c.t(0);
  const axes = axesOf(c, 1);
  return k.squeeze(x, axes ? axes.map((a) => norm(a, x.ndim)) : null);
}

function unsqueezeOp(c: OpContext): Val {
  const x = c.t(0);
  const axes = axesOf(c, 1) ?? [];
  const rank = x.ndim + axes.length;
  return k.expandDims(x, axes.map((a) => norm(a, rank)).sort((a, b) => a - b));
}

function expand(c: OpContext): Val {
  const x = c.t(0);
  const s = c.host(1, "shape");
  const rank = Math.max(x.ndim, s.length);
  const xs = [...Array(rank - x.ndim).fill(1), ...x.shape];
  const ss = [...Array(rank - s.length).fill(1), ...s];
  const out = xs.map((d, i) => (d === 1 ? ss[i] : d));
  checkShapeBound(RUN, c.label, out);
  return k.broadcastTo(x, out);
}

function shapeOp(c: OpContext): Val {
  const v = c.opt(0)!;
  const shape = isStatic(v) ? v.shape : v.shape;
  const r = shape.length;
  const clampAxis = (a: number) => Math.min(Math.max(norm(a, r), 0), r);
  const s = clampAxis(c.int("start", 0)), e = c.has("end") ? clampAxis(c.int("end", r)) : r;
  const dims = shape.slice(s, Math.max(s, e));
  return staticOf(dims, [dims.length], "int32");
}

function constantOfShape(c: OpContext): Val {
  const shape = checkShapeBound(RUN, c.label, c.host(0, "shape"));
  const a = c.attr("value");
  const t = a?.t ? decodeTensor(a.t, c.label) : { dtype: "float32" as DType, data: [0] };
  const v = Number(t.data[0] ?? 0);
  if (numel(shape) <= 64) return staticOf(new Array(numel(shape)).fill(v), shape, t.dtype);
  return k.full(shape, v, { dtype: t.dtype });
}

function range(c: OpContext): Val {
  const [s, l, d] = [0, 1, 2].map((i) => c.host(i, ["start", "limit", "delta"][i])[0]);
  const n = Math.max(Math.ceil((l - s) / d), 0);
  checkShapeBound(RUN, c.label, [n]);
  const v = c.opt(0) as Static;
  return staticOf(Array.from({ length: n }, (_, i) => s + i * d), [n], v.dtype);
}

function cast(c: OpContext): Val {
  const to = kilnType(c.int("to", 1));
  if (!to) throw c.error(`unsupported target type ${c.int("to", 1)}`);
  return k.astype(c.t(0), to);
}

function gather(c: OpContext): Val {
  const x = c.t(0);
  const axis = norm(c.int("axis", 0), x.ndim);
  const ind = c.t(1);
  return k.take(x, ind.dtype === "int32" ? ind : k.astype(ind, "int32"), { axis });
}

function pad(c: OpContext): Val {
  const x = c.t(0);
  const mode = c.str("mode", "constant");
  if (mode !== "constant") throw c.error(`pad mode "${mode}" is not supported (only constant)`);
  const pads = c.opset >= 11 ? c.host(1, "pads") : c.ints("pads") ?? [];
  const value = c.opset >= 11
    ? (c.opt(2) ? c.host(2, "constant_value")[0] : 0)
    : c.float("value", 0);
  const axes = c.opset >= 18 && c.opt(3) ? c.host(3, "axes").map((a) => norm(a, x.ndim)) : null;
  const n = axes ? axes.length : x.ndim;
  const per: [number, number][] = x.shape.map(() => [0, 0]);
  for (let i = 0; i < n; i++) per[axes ? axes[i] : i] = [pads[i], pads[i + n]];
  checkShapeBound(RUN, c.label, x.shape.map((d, i) => d + per[i][0] + per[i][1]));
  return k.pad(x, per, { value });
}

function split(c: OpContext): Val[] {
  const x = c.t(0);
  const axis = norm(c.int("axis", 0), x.ndim);
  const nOut = (c.node.output ?? []).length;
  let sizes = c.ints("split") ?? (c.opset >= 13 && c.opt(1) ? c.host(1, "split") : undefined);
  if (!sizes) {
    const n = c.int("num_outputs", nOut), d = x.shape[axis], each = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d - i * each)));
  }
  let at = 0;
  return sizes.map((s) => {
    const spec: [number, number][] = x.shape.map((d) => [0, d]);
    spec[axis] = [at, at + s];
    at += s;
    return k.slice(x, spec);
  });
}

const where = (c: OpContext) => {
  const cond = c.t(0);
  return k.where(cond.dtype === "bool" ? cond : k.notEqual(cond, 0), c.t(1), c.t(2));
};

/** Operators folded on the host when all their inputs are host constants. */
export const FOLDABLE: ReadonlySet<string> = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Equal",
  "Less",
  "Greater",
  "Where",
  "Cast",
  "Concat",
  "Gather",
  "Unsqueeze",
  "Squeeze",
  "Slice",
  "Reshape",
  "Identity",
  "Neg",
  "Abs",
  "Max",
  "Min",
  "Not",
  "Floor",
  "Ceil",
  "Sqrt",
  "Expand",
  "Mod",
  "And",
  "Or",
  "ReduceProd",
  "Tile",
]);

/** The basic operator table. */
export const BASIC_OPS: Record<string, OpImpl> = {
  Identity: (c) => c.opt(0)!,
  Dropout: (c) => c.t(0),
  Constant: constant,
  Cast: cast,
  CastLike: (c) => k.astype(c.t(0), c.t(1).dtype),
  Add: binary(k.add),
  Sub: binary(k.sub),
  Mul: binary(k.mul),
  Div: binary(div),
  Pow: binary(k.pow),
  Mod: binary(k.mod),
  Max: variadic(k.maximum),
  Min: variadic(k.minimum),
  Sum: variadic(k.add),
  Mean: (c) => k.div(variadic(k.add)(c) as k.Tensor, c.inputs.filter(Boolean).length),
  Neg: unary(k.neg),
  Abs: unary(k.abs),
  Sign: unary(k.sign),
  Exp: unary(k.exp),
  Log: unary(k.log),
  Sqrt: unary(k.sqrt),
  Reciprocal: unary((x) => k.div(1, x)),
  Sin: unary(k.sin),
  Cos: unary(k.cos),
  Tanh: unary(k.tanh),
  Sigmoid: unary(k.sigmoid),
  Relu: unary(k.relu),
  Erf: unary(k.erf),
  Floor: unary(k.floor),
  Ceil: unary(k.ceil),
  Round: unary(k.round),
  Not: unary(k.logicalNot),
  IsNaN: unary(k.isnan),
  IsInf: (c) => {
    const x = c.t(0);
    const inf = k.logicalAnd(k.logicalNot(k.isfinite(x)), k.logicalNot(k.isnan(x)));
    const pos = c.int("detect_positive", 1), neg = c.int("detect_negative", 1);
    if (pos && neg) return inf;
    return k.logicalAnd(inf, pos ? k.greater(x, 0) : neg ? k.less(x, 0) : k.less(x, x));
  },
  Equal: binary(k.equal),
  Less: binary(k.less),
  Greater: binary(k.greater),
  LessOrEqual: binary(k.lessEqual),
  GreaterOrEqual: binary(k.greaterEqual),
  And: binary(k.logicalAnd),
  Or: binary(k.logicalOr),
  Where: where,
  Clip: (c) => {
    const lo = c.opset >= 11 ? (c.opt(1) ? c.t(1) : null) : c.has("min") ? c.float("min", 0) : null;
    const hi = c.opset >= 11 ? (c.opt(2) ? c.t(2) : null) : c.has("max") ? c.float("max", 0) : null;
    return k.clip(c.t(0), lo, hi);
  },
  MatMul: binary(k.matmul),
  Einsum: (c) => k.einsum(c.str("equation", ""), ...c.inputs.map((_, i) => c.t(i))),
  ReduceSum: reduce(k.sum, 13),
  ReduceMean: reduce(k.mean, 18),
  ReduceMax: reduce(k.max, 18),
  ReduceMin: reduce(k.min, 18),
  ReduceProd: reduce(k.prod, 18),
  Softmax: softmaxLike(k.softmax),
  LogSoftmax: softmaxLike(k.logSoftmax),
  ArgMax: (c) => {
    const x = c.t(0);
    if (c.int("select_last_index", 0)) throw c.error("select_last_index is not supported");
    return k.argmax(x, {
      axis: norm(c.int("axis", 0), x.ndim),
      keepdims: c.int("keepdims", 1) === 1,
    });
  },
  Reshape: reshape,
  Flatten: (c) => {
    const x = c.t(0);
    const axis = norm(c.int("axis", 1), x.ndim);
    return k.reshape(x, [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))]);
  },
  Transpose: (c) => {
    const x = c.t(0);
    return k.transpose(x, c.ints("perm") ?? x.shape.map((_, i) => x.ndim - 1 - i));
  },
  Concat: (c) => {
    const ts = c.inputs.flatMap((v, i) => (v ? [c.t(i)] : []));
    return k.concatenate(ts, { axis: norm(c.int("axis", 0), ts[0].ndim) });
  },
  Split: split,
  Slice: slice,
  Squeeze: squeezeOp,
  Unsqueeze: unsqueezeOp,
  Expand: expand,
  Tile: (c) => {
    const x = c.t(0), reps = c.host(1, "repeats");
    checkShapeBound(RUN, c.label, x.shape.map((d, i) => d * reps[i]));
    return k.tile(x, reps);
  },
  Gather: gather,
  Shape: shapeOp,
  Size: (c) => staticOf([numel((c.opt(0) as Val).shape)], [], "int32"),
  ConstantOfShape: constantOfShape,
  Range: range,
  Pad: pad,
};
