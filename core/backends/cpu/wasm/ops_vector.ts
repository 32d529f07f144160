/**
 * `v128` WebAssembly renderings of the elementwise primitives (f32x4, i32x4, bool lanes as
 * masks), with the JavaScript kernels' semantics; see `ops.ts` for the value representation.
 * @module
 */
import type { DType } from "../../../dtype.ts";
import {
  type Emit,
  f64ToInt32,
  HIGH_HALF,
  LOW_HALVES,
  type MathName,
  type OpContext,
  V,
  X,
} from "./ops.ts";

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
