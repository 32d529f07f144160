/**
 * WebAssembly renderings of the elementwise primitives, scalar and `v128`, for the CPU
 * backend's kernel compiler (`lower.ts`). Each rendering pushes its arguments through the
 * context (`c.arg(k)`, any number of times: arguments live in locals) and appends the
 * instructions that leave its result on the stack.
 *
 * Semantics are the JavaScript renderings' (`../renders.ts`), bit for bit: float32 `+ − × ÷ √`
 * are correctly rounded in WebAssembly as `Math.fround` of the float64 result is; ops that
 * JavaScript computes in float64 before rounding (`rsqrt`, float floor-division, `sigmoid`)
 * are computed in float64 here too; int32 arithmetic wraps; float → int32 casts truncate and
 * wrap modulo 2^32 like `|0`; transcendental functions call the vector math of `vmath.ts`
 * (≤ 2 ulp, special values exact) or, for float64, JavaScript's own `Math` functions.
 *
 * Value representation: float32 `f32`/`f32x4`, float64 `f64`, int32 `i32`/`i32x4`, bool
 * `i32` 0/1 as a scalar and an all-ones/zero lane mask as a vector (what comparisons give and
 * `v128.bitselect` takes).
 * @module
 */
import type { DType } from "../../../dtype.ts";
import type { FuncBuilder } from "./assembler.ts";

/** What a rendering may ask of the kernel compiler. */
export interface OpContext {
  readonly f: FuncBuilder;
  /** Pushes argument `k` (in the current mode: scalar, or vector with bools as masks). */
  arg(k: number): void;
  /** The argument dtypes and the result dtype. */
  readonly argTypes: readonly DType[];
  readonly dtype: DType;
  /** A scratch local of a wasm type (`i32`, `i64`, `f64`, `v128`), valid during this op. */
  temp(t: "i32" | "i64" | "f64" | "v128"): number;
  /** Calls math function `name` on f64 scalars (JavaScript's `Math`: exact JS semantics). */
  callF64(name: MathName): void;
  /** Calls the f32x4 vector math function `name` (lane-wise). */
  callV(name: MathName): void;
}

/** Transcendental functions: JavaScript imports (f64) and vector math (f32x4). */
export type MathName =
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sin"
  | "cos"
  | "tanh"
  | "erf"
  | "sigmoid"
  | "pow"
  | "fmod";

type Emit = (c: OpContext) => void;

// ---------------------------------------------------------------- opcodes (binary format) --
/** Scalar float opcodes, per type. */
const FOPS = {
  f32: {
    eq: 0x5b,
    ne: 0x5c,
    lt: 0x5d,
    gt: 0x5e,
    le: 0x5f,
    ge: 0x60,
    abs: 0x8b,
    neg: 0x8c,
    ceil: 0x8d,
    floor: 0x8e,
    trunc: 0x8f,
    nearest: 0x90,
    sqrt: 0x91,
    add: 0x92,
    sub: 0x93,
    mul: 0x94,
    div: 0x95,
    min: 0x96,
    max: 0x97,
  },
  f64: {
    eq: 0x61,
    ne: 0x62,
    lt: 0x63,
    gt: 0x64,
    le: 0x65,
    ge: 0x66,
    abs: 0x99,
    neg: 0x9a,
    ceil: 0x9b,
    floor: 0x9c,
    trunc: 0x9d,
    nearest: 0x9e,
    sqrt: 0x9f,
    add: 0xa0,
    sub: 0xa1,
    mul: 0xa2,
    div: 0xa3,
    min: 0xa4,
    max: 0xa5,
  },
} as const;
type FOp = keyof typeof FOPS.f32;

/** i32 opcodes. */
export const I = {
  eqz: 0x45,
  eq: 0x46,
  ne: 0x47,
  lt_s: 0x48,
  gt_s: 0x4a,
  le_s: 0x4c,
  ge_s: 0x4e,
  add: 0x6a,
  sub: 0x6b,
  mul: 0x6c,
  div_s: 0x6d,
  rem_s: 0x6f,
  and: 0x71,
  or: 0x72,
  xor: 0x73,
  shl: 0x74,
  shr_u: 0x76,
  wrap_i64: 0xa7,
  select: 0x1b,
} as const;

/** Other scalar opcodes. */
export const X = {
  f32_convert_i32_s: 0xb2,
  f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7,
  f64_promote_f32: 0xbb,
  i64_extend_i32_s: 0xac,
  i64_div_s: 0x7f,
  i64_rem_s: 0x81,
  i64_sub: 0x7d,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_xor: 0x85,
  i64_extend_i32_u: 0xad,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const V = {
  i8x16_shuffle: 0x0d,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  i32x4_extract_lane: 0x1b,
  i32x4_replace_lane: 0x1c,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,
  f64x2_extract_lane: 0x21,
  i32x4_eq: 0x37,
  i32x4_ne: 0x38,
  i32x4_lt_s: 0x39,
  i32x4_gt_s: 0x3b,
  i32x4_le_s: 0x3d,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  not: 0x4d,
  and: 0x4e,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  any_true: 0x53,
  f32x4_demote_f64x2_zero: 0x5e,
  f64x2_promote_low_f32x4: 0x5f,
  f32x4_ceil: 0x67,
  f32x4_floor: 0x68,
  f32x4_nearest: 0x6a,
  i32x4_abs: 0xa0,
  i32x4_neg: 0xa1,
  i32x4_shl: 0xab,
  i32x4_shr_u: 0xad,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,
  i32x4_mul: 0xb5,
  i32x4_min_s: 0xb6,
  i32x4_max_s: 0xb8,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f64x2_sqrt: 0xef,
  f64x2_add: 0xf0,
  f64x2_mul: 0xf2,
  f64x2_div: 0xf3,
  f64x2_floor: 0x75,
  f64x2_max: 0xf5,
  f64x2_min: 0xf4,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  f32x4_convert_i32x4_s: 0xfa,
} as const;

/** Shuffle lanes: the high two f32 lanes of the first operand moved low. */
export const HIGH_HALF: readonly number[] = [
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
];
/** Shuffle lanes: the low two lanes of each operand, concatenated. */
export const LOW_HALVES: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
];

// ------------------------------------------------------------------------- scalar ops --
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

/** The f64 on the stack truncated and wrapped to int32 exactly as JavaScript's `x | 0`. */
export function f64ToInt32(c: Pick<OpContext, "f" | "temp">): void {
  const t = c.temp("f64");
  const f = c.f;
  f.raw(FOPS.f64.trunc).set(t);
  // t − 2^32·floor(t / 2^32) is exact and in [0, 2^32); NaN and ±inf become NaN, then 0.
  f.get(t).f64(2 ** 32).get(t).f64(2 ** -32).raw(FOPS.f64.mul, FOPS.f64.floor, FOPS.f64.mul);
  f.raw(FOPS.f64.sub, 0xfc, 0x06, I.wrap_i64); // i64.trunc_sat_f64_s, i32.wrap_i64
}

/** A math function on scalars: float32 goes through the same vector function as whole
 * vectors do (one lane used), so an element's value never depends on where it falls; float64
 * and float32 `mod` call JavaScript's float64 functions. */
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

// ------------------------------------------------------------------------- vector ops --
const simd = (c: OpContext, ...ops: number[]) => {
  for (const o of ops) c.f.simdOp(o);
};
const vbin = (c: OpContext, op: number) => (c.arg(0), c.arg(1), simd(c, op));
const vun = (c: OpContext, op: number) => (c.arg(0), simd(c, op));
const splatF = (c: OpContext, v: number) => (c.f.f32(v), simd(c, V.f32x4_splat));
const splatI = (c: OpContext, v: number) => (c.f.i32(v), simd(c, V.i32x4_splat));

/** Vector truthiness mask of argument `k`. */
function vtruthy(c: OpContext, k: number): void {
  const d = c.argTypes[k];
  c.arg(k);
  if (d === "bool") return;
  if (d === "float32") {
    c.arg(k);
    simd(c, V.f32x4_eq);
    c.arg(k);
    splatF(c, 0);
    simd(c, V.f32x4_ne, V.and);
  } else {
    splatI(c, 0);
    simd(c, V.i32x4_ne);
  }
}

/** A lane mask on the stack converted to the result dtype (bool stays a mask). */
function vfromMask(c: OpContext): void {
  if (c.dtype === "float32") (splatF(c, 1), simd(c, V.and));
  else if (c.dtype === "int32") (splatI(c, 1), simd(c, V.and));
}

/** Runs a float64 computation on each f32x4 half: `body` maps f64x2 argument pushers to one
 * f64x2 on the stack; the halves are demoted and joined. */
function vInF64(c: OpContext, body: (arg: (k: number) => void) => void): void {
  const half = (high: boolean) => {
    body((k) => {
      c.arg(k);
      if (high) (c.arg(k), c.f.simdOp(V.i8x16_shuffle, ...HIGH_HALF));
      simd(c, V.f64x2_promote_low_f32x4);
    });
    simd(c, V.f32x4_demote_f64x2_zero);
  };
  half(false);
  half(true);
  c.f.simdOp(V.i8x16_shuffle, ...LOW_HALVES);
}

const vmath = (name: MathName): Emit => (c) => {
  c.arg(0);
  if (name === "pow") c.arg(1);
  c.callV(name);
};

/** f32x4 renderings (float32 results from float32 arguments). */
const VECTOR_FLOAT: Record<string, Emit> = {
  add: (c) => vbin(c, V.f32x4_add),
  sub: (c) => vbin(c, V.f32x4_sub),
  mul: (c) => vbin(c, V.f32x4_mul),
  div: (c) => vbin(c, V.f32x4_div),
  maximum: (c) => vbin(c, V.f32x4_max),
  minimum: (c) => vbin(c, V.f32x4_min),
  neg: (c) => vun(c, V.f32x4_neg),
  abs: (c) => vun(c, V.f32x4_abs),
  floor: (c) => vun(c, V.f32x4_floor),
  ceil: (c) => vun(c, V.f32x4_ceil),
  round: (c) => vun(c, V.f32x4_nearest),
  sqrt: (c) => vun(c, V.f32x4_sqrt),
  relu: (c) => (c.arg(0), splatF(c, 0), simd(c, V.f32x4_max)),
  sign: (c) => {
    splatF(c, 1);
    splatF(c, -1);
    c.arg(0);
    c.arg(0);
    splatF(c, 0);
    simd(c, V.f32x4_lt, V.bitselect);
    c.arg(0);
    splatF(c, 0);
    simd(c, V.f32x4_gt, V.bitselect);
  },
  rsqrt: (c) =>
    vInF64(c, (a) => {
      c.f.f64(1);
      c.f.simdOp(0x14); // f64x2.splat
      a(0);
      simd(c, V.f64x2_sqrt, V.f64x2_div);
    }),
  idiv: (c) => vInF64(c, (a) => (a(0), a(1), simd(c, V.f64x2_div, V.f64x2_floor))),
  exp: vmath("exp"),
  log: vmath("log"),
  log1p: vmath("log1p"),
  expm1: vmath("expm1"),
  sin: vmath("sin"),
  cos: vmath("cos"),
  tanh: vmath("tanh"),
  erf: vmath("erf"),
  sigmoid: vmath("sigmoid"),
  pow: vmath("pow"),
};

/** i32x4 renderings (int32 results from int32 or bool-as-0/1 arguments). */
const VECTOR_INT: Record<string, Emit> = {
  add: (c) => vbin(c, V.i32x4_add),
  sub: (c) => vbin(c, V.i32x4_sub),
  mul: (c) => vbin(c, V.i32x4_mul),
  maximum: (c) => vbin(c, V.i32x4_max_s),
  minimum: (c) => vbin(c, V.i32x4_min_s),
  neg: (c) => vun(c, V.i32x4_neg),
  abs: (c) => vun(c, V.i32x4_abs),
  relu: (c) => (c.arg(0), splatI(c, 0), simd(c, V.i32x4_max_s)),
  // (x < 0 mask) − (x > 0 mask): −1, 0 or 1.
  sign: (c) => {
    c.arg(0);
    splatI(c, 0);
    simd(c, V.i32x4_lt_s);
    c.arg(0);
    splatI(c, 0);
    simd(c, V.i32x4_gt_s, V.i32x4_sub);
  },
  floor: (c) => c.arg(0),
  ceil: (c) => c.arg(0),
  round: (c) => c.arg(0),
  bitAnd: (c) => vbin(c, V.and),
  bitOr: (c) => vbin(c, V.or),
  bitXor: (c) => vbin(c, V.xor),
  bitNot: (c) => vun(c, V.not),
};

/** Vector renderings that depend on argument dtypes. `shl`/`shr` are handled by the compiler
 * (their shift count must be one scalar). */
const VECTOR_ANY: Record<string, Emit> = {
  less: (c) => vcompare(c, V.f32x4_lt, V.i32x4_lt_s),
  lessEqual: (c) => vcompare(c, V.f32x4_le, V.i32x4_le_s),
  equal: (c) => vcompare(c, V.f32x4_eq, V.i32x4_eq),
  notEqual: (c) => vcompare(c, V.f32x4_ne, V.i32x4_ne),
  isnan: (c) => {
    if (c.argTypes[0] === "float32") (c.arg(0), c.arg(0), simd(c, V.f32x4_ne));
    else splatI(c, 0);
    vfromMask(c);
  },
  isfinite: (c) => {
    if (c.argTypes[0] === "float32") {
      c.arg(0);
      simd(c, V.f32x4_abs);
      splatF(c, Infinity);
      simd(c, V.f32x4_lt);
    } else splatI(c, -1);
    vfromMask(c);
  },
  logicalNot: (c) => (vtruthy(c, 0), simd(c, V.not), vfromMask(c)),
  logicalAnd: (c) => (vtruthy(c, 0), vtruthy(c, 1), simd(c, V.and), vfromMask(c)),
  logicalOr: (c) => (vtruthy(c, 0), vtruthy(c, 1), simd(c, V.or), vfromMask(c)),
  where: (c) => (c.arg(1), c.arg(2), vtruthy(c, 0), simd(c, V.bitselect)),
  stopGradient: (c) => c.arg(0),
  cast: (c) => castVector(c),
};

function vcompare(c: OpContext, f: number, i: number): void {
  c.arg(0);
  c.arg(1);
  simd(c, c.argTypes[0] === "float32" ? f : i);
  vfromMask(c);
}

function castVector(c: OpContext): void {
  const from = c.argTypes[0], to = c.dtype;
  if (from === to) return c.arg(0);
  if (to === "bool") return vtruthyNumber(c);
  if (from === "bool") return (c.arg(0), vfromMask(c));
  if (to === "float32") return (c.arg(0), simd(c, V.f32x4_convert_i32x4_s));
  // float32 -> int32: saturating truncation is exact below 2^31 in magnitude; lanes beyond
  // (rare) are redone one by one with JavaScript's wrapping `|0`.
  const f = c.f, x = c.temp("v128"), r = c.temp("v128");
  c.arg(0);
  f.tee(x);
  simd(c, V.i32x4_trunc_sat_f32x4_s);
  f.set(r);
  f.get(x);
  simd(c, V.f32x4_abs);
  splatF(c, 2 ** 31);
  simd(c, V.f32x4_ge, V.any_true);
  f.if(undefined, () => {
    for (let lane = 0; lane < 4; lane++) {
      f.get(r).get(x).simdOp(V.f32x4_extract_lane, lane).raw(X.f64_promote_f32);
      f64ToInt32(c);
      f.simdOp(V.i32x4_replace_lane, lane).set(r);
    }
  });
  f.get(r);
}

/** numpy's bool cast: x != 0 (NaN is true). */
function vtruthyNumber(c: OpContext): void {
  c.arg(0);
  if (c.argTypes[0] === "float32") (splatF(c, 0), simd(c, V.f32x4_ne));
  else (splatI(c, 0), simd(c, V.i32x4_ne));
}

/** The vector rendering of `op`, if the op vectorizes for these dtypes. */
export function vectorOp(op: string, d: DType, args: readonly DType[]): Emit | undefined {
  const ok = (t: DType) => t === "float32" || t === "int32" || t === "bool";
  if (!ok(d) || !args.every(ok)) return undefined;
  // Bool lanes are masks (−1/0): ordering comparisons would see them reversed.
  if ((op === "less" || op === "lessEqual") && args[0] === "bool") return undefined;
  const any = VECTOR_ANY[op];
  if (any) return any;
  if (d === "float32") return args.every((a) => a === "float32") ? VECTOR_FLOAT[op] : undefined;
  if (d === "int32") return args.every((a) => a === "int32") ? VECTOR_INT[op] : undefined;
  return undefined;
}
