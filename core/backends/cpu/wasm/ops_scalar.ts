/**
 * Scalar WebAssembly renderings of the elementwise primitives (`f32`, `f64`, `i32`), with the
 * JavaScript kernels' semantics; see `ops.ts` for the value representation.
 * @module
 */
import type { DType } from "../../../dtype.ts";
import {
  type Emit,
  f64ToInt32,
  type FOp,
  FOPS,
  I,
  type MathName,
  type OpContext,
  V,
  X,
} from "./ops.ts";

const isF = (d: DType) => d === "float32" || d === "float64";
const fty = (d: DType): "f32" | "f64" => d === "float64" ? "f64" : "f32";

const fop = (c: OpContext, op: FOp, d: DType = c.dtype) => c.f.raw(FOPS[fty(d)][op]);
const fconst = (c: OpContext, v: number, d: DType = c.dtype) =>
  fty(d) === "f64" ? c.f.f64(v) : c.f.f32(v);
const bin = (c: OpContext, op: number) => {
  c.arg(0);
  c.arg(1);
  c.f.raw(op);
};

/** Scalar JS truthiness of argument `k` as i32 0/1 (NaN is false). */
function truthy(c: OpContext, k: number): void {
  const d = c.argTypes[k];
  if (isF(d)) {
    c.arg(k);
    c.arg(k);
    fop(c, "eq", d);
    c.arg(k);
    fconst(c, 0, d);
    fop(c, "ne", d);
    c.f.raw(I.and);
  } else {
    c.arg(k);
    c.f.raw(I.eqz, I.eqz);
  }
}

/** An i32 0/1 on the stack converted to the op's result dtype. */
function fromBool(c: OpContext): void {
  if (c.dtype === "float32") c.f.raw(X.f32_convert_i32_s);
  else if (c.dtype === "float64") c.f.raw(X.f64_convert_i32_s);
}

/** Runs `body` on f64 values: promotes float32 arguments and demotes the result. */
function inF64(c: OpContext, body: (arg: (k: number) => void) => void): void {
  const arg = (k: number) => {
    c.arg(k);
    if (c.argTypes[k] === "float32") c.f.raw(X.f64_promote_f32);
    else if (!isF(c.argTypes[k])) c.f.raw(X.f64_convert_i32_s);
  };
  body(arg);
  if (c.dtype === "float32") c.f.raw(X.f32_demote_f64);
}

const mathF: (name: MathName) => Emit = (name) => (c) => {
  const two = name === "pow" || name === "fmod";
  if (c.dtype === "float32" && name !== "fmod" && c.argTypes.every((t) => t === "float32")) {
    c.arg(0);
    c.f.simdOp(V.f32x4_splat);
    if (two) (c.arg(1), c.f.simdOp(V.f32x4_splat));
    c.callV(name);
    c.f.simdOp(V.f32x4_extract_lane, 0);
    return;
  }
  inF64(c, (arg) => {
    arg(0);
    if (two) arg(1);
    c.callF64(name);
  });
};

/** Scalar renderings for float dtypes (float32 and float64). */
const SCALAR_FLOAT: Record<string, Emit> = {
  add: (c) => (c.arg(0), c.arg(1), fop(c, "add")),
  sub: (c) => (c.arg(0), c.arg(1), fop(c, "sub")),
  mul: (c) => (c.arg(0), c.arg(1), fop(c, "mul")),
  div: (c) => (c.arg(0), c.arg(1), fop(c, "div")),
  maximum: (c) => (c.arg(0), c.arg(1), fop(c, "max")),
  minimum: (c) => (c.arg(0), c.arg(1), fop(c, "min")),
  neg: (c) => (c.arg(0), fop(c, "neg")),
  abs: (c) => (c.arg(0), fop(c, "abs")),
  floor: (c) => (c.arg(0), fop(c, "floor")),
  ceil: (c) => (c.arg(0), fop(c, "ceil")),
  round: (c) => (c.arg(0), fop(c, "nearest")),
  sqrt: (c) => (c.arg(0), fop(c, "sqrt")),
  relu: (c) => (c.arg(0), fconst(c, 0), fop(c, "max")),
  rsqrt: (c) => inF64(c, (a) => (c.f.f64(1), a(0), c.f.raw(FOPS.f64.sqrt, FOPS.f64.div))),
  idiv: (c) => inF64(c, (a) => (a(0), a(1), c.f.raw(FOPS.f64.div, FOPS.f64.floor))),
  sign: (c) => {
    // x > 0 ? 1 : x < 0 ? -1 : x (keeps ±0 and NaN).
    fconst(c, 1);
    fconst(c, -1);
    c.arg(0);
    c.arg(0);
    fconst(c, 0);
    fop(c, "lt");
    c.f.raw(I.select);
    c.arg(0);
    fconst(c, 0);
    fop(c, "gt");
    c.f.raw(I.select);
  },
  exp: mathF("exp"),
  log: mathF("log"),
  log1p: mathF("log1p"),
  expm1: mathF("expm1"),
  sin: mathF("sin"),
  cos: mathF("cos"),
  tanh: mathF("tanh"),
  erf: mathF("erf"),
  sigmoid: mathF("sigmoid"),
  pow: mathF("pow"),
  mod: mathF("fmod"),
};

/** Scalar renderings for int32 (and bool, stored as 0/1). */
const SCALAR_INT: Record<string, Emit> = {
  add: (c) => bin(c, I.add),
  sub: (c) => bin(c, I.sub),
  mul: (c) => bin(c, I.mul),
  neg: (c) => (c.f.i32(0), c.arg(0), c.f.raw(I.sub)),
  abs: (c) => {
    c.f.i32(0);
    c.arg(0);
    c.f.raw(I.sub);
    c.arg(0);
    c.arg(0);
    c.f.i32(0);
    c.f.raw(I.lt_s, I.select);
  },
  maximum: (c) => (c.arg(0), c.arg(1), c.arg(0), c.arg(1), c.f.raw(I.gt_s, I.select)),
  minimum: (c) => (c.arg(0), c.arg(1), c.arg(0), c.arg(1), c.f.raw(I.lt_s, I.select)),
  relu: (c) => (c.arg(0), c.f.i32(0), c.arg(0), c.f.i32(0), c.f.raw(I.gt_s, I.select)),
  sign: (
    c,
  ) => (c.arg(0), c.f.i32(0), c.f.raw(I.gt_s), c.arg(0), c.f.i32(0), c.f.raw(I.lt_s, I.sub)),
  floor: (c) => c.arg(0),
  ceil: (c) => c.arg(0),
  round: (c) => c.arg(0),
  bitAnd: (c) => bin(c, I.and),
  bitOr: (c) => bin(c, I.or),
  bitXor: (c) => bin(c, I.xor),
  bitNot: (c) => (c.arg(0), c.f.i32(-1), c.f.raw(I.xor)),
  shl: (c) => bin(c, I.shl),
  shr: (c) => bin(c, I.shr_u),
  idiv: (c) => {
    // Floor division through i64 (no trap for INT_MIN / -1); x / 0 = 0 as `Math.floor(x/0)|0`.
    const f = c.f, a = c.temp("i64"), b = c.temp("i64"), r = c.temp("i64");
    c.arg(0);
    f.raw(X.i64_extend_i32_s).set(a);
    c.arg(1);
    f.i32(1);
    c.arg(1);
    f.raw(I.select, X.i64_extend_i32_s).set(b);
    f.get(a).get(b).raw(X.i64_rem_s).set(r);
    f.get(a).get(b).raw(X.i64_div_s);
    // q − (r ≠ 0 && sign(r) ≠ sign(b))
    f.get(r).raw(0x42, 0, X.i64_ne); // i64.const 0
    f.get(r).get(b).raw(X.i64_xor, 0x42, 0, X.i64_lt_s, I.and, X.i64_extend_i32_u, X.i64_sub);
    f.raw(I.wrap_i64);
    f.i32(0);
    c.arg(1);
    f.raw(I.select);
  },
  mod: (c) => {
    // r = a rem b' (b' = b or 1), plus b where r and b differ in sign; x mod 0 = 0.
    const f = c.f, r = c.temp("i32");
    c.arg(0);
    c.arg(1);
    f.i32(1);
    c.arg(1);
    f.raw(I.select, I.rem_s).set(r);
    f.get(r);
    c.arg(1);
    f.i32(0);
    f.get(r).i32(0).raw(I.ne).get(r);
    c.arg(1);
    f.raw(I.xor).i32(0).raw(I.lt_s, I.and, I.select, I.add);
    f.i32(0);
    c.arg(1);
    f.raw(I.select);
  },
  pow: (c) => {
    c.arg(0);
    c.f.raw(X.f64_convert_i32_s);
    c.arg(1);
    c.f.raw(X.f64_convert_i32_s);
    c.callF64("pow");
    f64ToInt32(c);
  },
};

/** Scalar renderings whose behaviour depends on argument dtypes, any result dtype. */
const SCALAR_ANY: Record<string, Emit> = {
  less: (c) => compare(c, "lt", I.lt_s),
  lessEqual: (c) => compare(c, "le", I.le_s),
  equal: (c) => compare(c, "eq", I.eq),
  notEqual: (c) => compare(c, "ne", I.ne),
  isnan: (c) => {
    if (isF(c.argTypes[0])) (c.arg(0), c.arg(0), fop(c, "ne", c.argTypes[0]));
    else c.f.i32(0);
    fromBool(c);
  },
  isfinite: (c) => {
    const d = c.argTypes[0];
    if (isF(d)) (c.arg(0), fop(c, "abs", d), fconst(c, Infinity, d), fop(c, "lt", d));
    else c.f.i32(1);
    fromBool(c);
  },
  logicalNot: (c) => (truthy(c, 0), c.f.raw(I.eqz), fromBool(c)),
  logicalAnd: (c) => (truthy(c, 0), truthy(c, 1), c.f.raw(I.and), fromBool(c)),
  logicalOr: (c) => (truthy(c, 0), truthy(c, 1), c.f.raw(I.or), fromBool(c)),
  where: (c) => (c.arg(1), c.arg(2), truthy(c, 0), c.f.raw(I.select)),
  cast: (c) => castScalar(c),
  stopGradient: (c) => c.arg(0),
};

function compare(c: OpContext, f: FOp, i: number): void {
  c.arg(0);
  c.arg(1);
  if (isF(c.argTypes[0])) fop(c, f, c.argTypes[0]);
  else c.f.raw(i);
  fromBool(c);
}

function castScalar(c: OpContext): void {
  const from = c.argTypes[0], to = c.dtype, f = c.f;
  c.arg(0);
  if (from === to) return;
  if (to === "bool") {
    if (isF(from)) (fconst(c, 0, from), fop(c, "ne", from)); // NaN is true, as numpy
    else f.i32(0).raw(I.ne);
  } else if (to === "float32") {
    f.raw(from === "float64" ? X.f32_demote_f64 : X.f32_convert_i32_s);
  } else if (to === "float64") {
    f.raw(from === "float32" ? X.f64_promote_f32 : X.f64_convert_i32_s);
  } else if (isF(from)) { // to int32
    if (from === "float32") f.raw(X.f64_promote_f32);
    f64ToInt32(c);
  }
}

/** The scalar rendering of `op` for result dtype `d` and argument dtypes, if there is one. */
export function scalarOp(op: string, d: DType, args: readonly DType[]): Emit | undefined {
  if (d === "float16" || args.includes("float16")) return undefined;
  const any = SCALAR_ANY[op];
  if (any) return any;
  if (isF(d)) return args.every(isF) ? SCALAR_FLOAT[op] : undefined;
  return args.every((a) => !isF(a)) ? SCALAR_INT[op] : undefined;
}
