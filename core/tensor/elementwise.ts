/**
 * Elementwise ops. Binary ops broadcast (numpy rules) and promote (see `dtype.ts`); math that
 * only makes sense on reals (`exp`, `div`, …) computes int/bool inputs in `float32`.
 * @module
 */
import { checkDtype, type DType, isFloat } from "../dtype.ts";
import { publicOp, shapeError, typeError, userOp } from "../errors.ts";
import { makeNode } from "../ir/graph.ts";
import {
  align,
  asTensor,
  broadcastNode,
  castNode,
  checkLike,
  type TensorLike,
  wrap,
} from "./convert.ts";
import { makeLeaf } from "../ir/graph.ts";
import { broadcastShapes } from "../shape.ts";
import type { Tensor } from "./tensor.ts";

const floatOf = (d: DType): DType => isFloat(d) ? d : "float32";

/** A public unary op `name` over primitive `prim` (the same name for all but a few). */
function unaryOp(prim: string, float: boolean, name = prim) {
  return publicOp(name, (x: TensorLike): Tensor => {
    const t = asTensor(name, x);
    if (!float && t.dtype === "bool") {
      if (prim === "neg") throw typeError(name, `not defined for bool; use logicalNot`);
      if (prim !== "relu") return t;
    }
    const d = float ? floatOf(t.dtype) : t.dtype;
    return wrap(makeNode(prim, [castNode(t.node, d)]));
  });
}

/** On bool operands `add`/`maximum` are logical or and `mul`/`minimum` logical and (numpy). */
const BOOL_AS: Record<string, string> = {
  add: "logicalOr",
  maximum: "logicalOr",
  mul: "logicalAnd",
  minimum: "logicalAnd",
};

/** A public binary op `name` over primitive `prim`. */
function binaryOp(
  prim: string,
  mode: "same" | "float" | "compare" | "bool" | "int",
  name = prim,
) {
  return publicOp(name, (x: TensorLike, y: TensorLike): Tensor => {
    let { nodes, dtype } = align(name, [x, y]);
    if (mode === "same" && dtype === "bool") {
      if (BOOL_AS[prim]) return wrap(makeNode(BOOL_AS[prim], nodes));
      throw typeError(name, `not defined for bool operands; cast first with astype("int32")`);
    }
    if (mode === "float" && !isFloat(dtype)) ({ nodes, dtype } = align(name, [x, y], "float32"));
    if (mode === "bool") ({ nodes } = align(name, [x, y], "bool"));
    if (mode === "int" && dtype !== "int32") {
      throw typeError(name, `needs int32 operands, got ${dtypes(x, y)}`);
    }
    return wrap(makeNode(prim, nodes));
  });
}

function dtypes(x: TensorLike, y: TensorLike): string {
  const d = (v: TensorLike) => typeof v === "object" ? `${v.dtype}[${v.shape}]` : typeof v;
  return `${d(x)} and ${d(y)}`;
}

/** `x + y` (broadcasting). @example k.add(k.tensor([1, 2]), 1) // [2, 3] */
export const add: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("add", "same");
/** `x - y`. @example k.sub(x, 1) */
export const sub: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("sub", "same");
/** `x * y`. @example k.mul(x, 2) */
export const mul: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("mul", "same");
/** True division `x / y` (ints give float32). @example k.div(x, 2) */
export const div: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("div", "float");
/** `x ** y`. @example k.pow(x, 2) */
export const pow: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("pow", "same");
/** Elementwise maximum (NaN propagates). @example k.maximum(x, 0) */
export const maximum: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("maximum", "same");
/** Elementwise minimum (NaN propagates). @example k.minimum(x, 1) */
export const minimum: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("minimum", "same");
/** Floor division (`//`). @example k.floorDivide(k.tensor([7], {dtype: "int32"}), 2) // [3] */
export const floorDivide: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "idiv",
  "same",
  "floorDivide",
);
/** Modulo with the divisor's sign (numpy `mod`). @example k.mod(x, 3) */
export const mod: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("mod", "same");
/** `x == y` as bool. @example k.equal(x, 0) */
export const equal: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("equal", "compare");
/** `x != y`. @example k.notEqual(x, 0) */
export const notEqual: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("notEqual", "compare");
/** `x < y`. @example k.less(x, 0) */
export const less: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("less", "compare");
/** `x <= y`. @example k.lessEqual(x, 0) */
export const lessEqual: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("lessEqual", "compare");
/** `x > y`. @example k.greater(x, 0) */
export const greater: (x: TensorLike, y: TensorLike) => Tensor = publicOp(
  "greater",
  (x: TensorLike, y: TensorLike): Tensor => less(y, x),
);
/** `x >= y`. @example k.greaterEqual(x, 0) */
export const greaterEqual: (x: TensorLike, y: TensorLike) => Tensor = publicOp(
  "greaterEqual",
  (x: TensorLike, y: TensorLike): Tensor => lessEqual(y, x),
);
/** Logical and (operands cast to bool). @example k.logicalAnd(a, b) */
export const logicalAnd: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("logicalAnd", "bool");
/** Logical or. @example k.logicalOr(a, b) */
export const logicalOr: (x: TensorLike, y: TensorLike) => Tensor = binaryOp("logicalOr", "bool");
/** Bitwise and of int32. @example k.bitwiseAnd(a, 255) */
export const bitwiseAnd: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "bitAnd",
  "int",
  "bitwiseAnd",
);
/** Bitwise or of int32. @example k.bitwiseOr(a, 1) */
export const bitwiseOr: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "bitOr",
  "int",
  "bitwiseOr",
);
/** Bitwise xor of int32. @example k.bitwiseXor(a, b) */
export const bitwiseXor: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "bitXor",
  "int",
  "bitwiseXor",
);
/** Left shift of int32 bits. @example k.shiftLeft(a, 3) */
export const shiftLeft: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "shl",
  "int",
  "shiftLeft",
);
/** Logical (unsigned) right shift of int32 bits. @example k.shiftRightLogical(a, 3) */
export const shiftRightLogical: (x: TensorLike, y: TensorLike) => Tensor = binaryOp(
  "shr",
  "int",
  "shiftRightLogical",
);

/** `-x`. @example k.neg(x) */
export const neg: (x: TensorLike) => Tensor = unaryOp("neg", false);
/** `|x|`. @example k.abs(x) */
export const abs: (x: TensorLike) => Tensor = unaryOp("abs", false);
/** Sign: -1, 0 or 1. @example k.sign(x) */
export const sign: (x: TensorLike) => Tensor = unaryOp("sign", false);
/** `e^x`. @example k.exp(x) */
export const exp: (x: TensorLike) => Tensor = unaryOp("exp", true);
/** Natural log. @example k.log(x) */
export const log: (x: TensorLike) => Tensor = unaryOp("log", true);
/** `log(1 + x)`, accurate near 0. @example k.log1p(x) */
export const log1p: (x: TensorLike) => Tensor = unaryOp("log1p", true);
/** `e^x - 1`, accurate near 0. @example k.expm1(x) */
export const expm1: (x: TensorLike) => Tensor = unaryOp("expm1", true);
/** Square root. @example k.sqrt(x) */
export const sqrt: (x: TensorLike) => Tensor = unaryOp("sqrt", true);
/** `1 / sqrt(x)`. @example k.rsqrt(x) */
export const rsqrt: (x: TensorLike) => Tensor = unaryOp("rsqrt", true);
/** Sine. @example k.sin(x) */
export const sin: (x: TensorLike) => Tensor = unaryOp("sin", true);
/** Cosine. @example k.cos(x) */
export const cos: (x: TensorLike) => Tensor = unaryOp("cos", true);
/** Hyperbolic tangent. @example k.tanh(x) */
export const tanh: (x: TensorLike) => Tensor = unaryOp("tanh", true);
/** Logistic sigmoid `1 / (1 + e^-x)`. @example k.sigmoid(x) */
export const sigmoid: (x: TensorLike) => Tensor = unaryOp("sigmoid", true);
/** `max(x, 0)` (NaN stays NaN). @example k.relu(x) */
export const relu: (x: TensorLike) => Tensor = unaryOp("relu", false);
/** Error function. @example k.erf(x) */
export const erf: (x: TensorLike) => Tensor = unaryOp("erf", true);
/** Round down. @example k.floor(x) */
export const floor: (x: TensorLike) => Tensor = unaryOp("floor", false);
/** Round up. @example k.ceil(x) */
export const ceil: (x: TensorLike) => Tensor = unaryOp("ceil", false);
/** Round half to even, as numpy and PyTorch. @example k.round(x) */
export const round: (x: TensorLike) => Tensor = unaryOp("round", false);

/** Logical not (input cast to bool). @example k.logicalNot(mask) */
export function logicalNot(x: TensorLike): Tensor {
  const t = asTensor("logicalNot", x);
  return wrap(makeNode("logicalNot", [castNode(t.node, "bool")]));
}

/** Whether each element is NaN. @example k.isnan(x) */
export function isnan(x: TensorLike): Tensor {
  const t = asTensor("isnan", x);
  if (isFloat(t.dtype)) return wrap(makeNode("isnan", [t.node]));
  return wrap(makeLeaf("const", 0, t.shape, "bool", t.device));
}

/** Whether each element is finite. @example k.isfinite(x) */
export function isfinite(x: TensorLike): Tensor {
  const t = asTensor("isfinite", x);
  if (isFloat(t.dtype)) return wrap(makeNode("isfinite", [t.node]));
  return wrap(makeLeaf("const", 1, t.shape, "bool", t.device));
}

/** Converts to another dtype (float->int truncates toward zero). @example k.astype(x, "int32") */
export function astype(x: TensorLike, dtype: DType): Tensor {
  const t = asTensor("astype", x);
  return wrap(castNode(t.node, checkDtype("astype", dtype)));
}

/** `cond ? x : y` elementwise, broadcasting all three. @example k.where(k.greater(x, 0), x, 0) */
export function where(cond: TensorLike, x: TensorLike, y: TensorLike): Tensor {
  const ct = asTensor("where", cond, "cond");
  const { nodes: [a, b] } = align("where", [x, y], undefined, ct.device);
  sameDeviceNodes(ct, a.device);
  const c = castNode(ct.node, "bool");
  const shape = broadcastShapes("where", c.shape, a.shape);
  return wrap(makeNode("where", [c, a, b].map((n) => broadcastNode(n, shape))));
}

function sameDeviceNodes(c: Tensor, device: string): void {
  if (c.device !== device) {
    throw shapeError("where", `cond is on ${c.device} but x and y on ${device}; use k.devicePut`);
  }
}

/** Clamps to `[min, max]` (either may be omitted). @example k.clip(x, -1, 1) */
export function clip(x: TensorLike, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  return userOp("clip", () => {
    let t = asTensor("clip", x);
    if (min !== undefined && min !== null) checkLike("clip", min, "min");
    if (max !== undefined && max !== null) checkLike("clip", max, "max");
    if (min !== undefined && min !== null) t = maximum(t, min);
    if (max !== undefined && max !== null) t = minimum(t, max);
    return t;
  });
}
