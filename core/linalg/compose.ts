/**
 * `k.linalg` functions composed from the factorizations and ordinary ops: least squares and
 * the pseudo-inverse (from the SVD, as numpy and JAX), matrix powers, norms, and the
 * triangle/diagonal helpers over the last two axes.
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { asTensor, castNode, sameDevice, type TensorLike, wrap } from "../tensor/convert.ts";
import { broadcastTo, expandDims, reshape, transpose } from "../tensor/movement.ts";
import { abs, div, greater, mul, notEqual, pow, sqrt, sub, where } from "../tensor/elementwise.ts";
import { max, min, sum } from "../tensor/reduce.ts";
import { finfo } from "../dtype.ts";
import { fmt } from "../shape.ts";
import {
  checkInt,
  checkNumber,
  checkOptions,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "../errors.ts";
import { inv, matrixArg, svd } from "./api.ts";
import { col, diagonalOf, eyeLike, mm, mT, tril as trilOf, triu as triuOf } from "./util.ts";

/** Options of `lstsq`. */
export interface LstsqOptions {
  /** Singular values below `rcond * max(s)` count as zero (default `eps * max(m, n)`). */
  rcond?: number;
}

/** 1/s where `keep`, else 0 (no inf, no NaN in derivatives). */
function cutInverse(s: Tensor, keep: Tensor): Tensor {
  const k = wrap(castNode(keep.node, s.dtype));
  return mul(div(1, where(keep, s, 1)), k);
}

function cutoff(s: Tensor, rcond: number): Tensor {
  return greater(s, mul(max(s, { axis: -1, keepdims: true }), rcond));
}

/**
 * Least-squares solution of `a x ≈ b` by the SVD: `[x, residuals, rank, s]` as numpy, except
 * that `residuals` (squared 2-norm of `b - a x` per column) is always returned, as JAX does
 * (numpy returns an empty array when rank < n or m <= n). `b` is `[..., m]` (one vector per
 * matrix) or `[..., m, k]`.
 * @example const [x] = k.linalg.lstsq(X, y)
 */
export function lstsq(
  a: TensorLike,
  b: TensorLike,
  opts: LstsqOptions = {},
): [Tensor, Tensor, Tensor, Tensor] {
  const op = "linalg.lstsq";
  return userOp(op, () => {
    checkOptions(op, opts, ["rcond"]);
    const A = matrixArg(op, a, "a"), B0 = asTensor(op, b, "b");
    const [m, n] = A.shape.slice(-2);
    const vec = B0.ndim === A.ndim - 1;
    const B = vec ? col(B0) : B0;
    if (B.ndim !== A.ndim || B.shape[B.ndim - 2] !== m) {
      throw shapeError(
        op,
        `b ${fmt(B0.shape)} does not match a ${fmt(A.shape)}: b must be [..., ${m}] or ` +
          `[..., ${m}, k]`,
      );
    }
    sameDevice(op, [A, B]);
    if (B.dtype !== A.dtype) {
      throw typeError(op, `a and b must have the same dtype, got ${A.dtype} and ${B.dtype}`);
    }
    const rcond = opts.rcond === undefined
      ? finfo(A.dtype).eps * Math.max(m, n)
      : checkNumber(op, opts.rcond, "rcond");
    const [u, s, vh] = svd(A, { fullMatrices: false });
    const keep = cutoff(s, rcond);
    const sInv = cutInverse(s, keep);
    let x = mm(mT(vh), mul(expandDims(sInv, -1), mm(mT(u), B)));
    const r = sub(B, mm(A, x));
    let resid = sum(mul(r, r), { axis: -2 });
    const rank = sum(wrap(castNode(keep.node, "int32")), { axis: -1 });
    if (vec) {
      x = reshape(x, x.shape.slice(0, -1));
      resid = reshape(resid, resid.shape.slice(0, -1));
    }
    return [x, resid, rank, s];
  });
}

/** Options of `pinv`. */
export interface PinvOptions {
  /** Cutoff relative to the largest singular value (default `10 * max(m, n) * eps`, as JAX). */
  rcond?: number;
}

/** Moore-Penrose pseudo-inverse from the SVD. @example const p = k.linalg.pinv(a) */
export function pinv(a: TensorLike, opts: PinvOptions = {}): Tensor {
  const op = "linalg.pinv";
  return userOp(op, () => {
    checkOptions(op, opts, ["rcond"]);
    const A = matrixArg(op, a, "a");
    const [m, n] = A.shape.slice(-2);
    const rcond = opts.rcond === undefined
      ? 10 * Math.max(m, n) * finfo(A.dtype).eps
      : checkNumber(op, opts.rcond, "rcond");
    const [u, s, vh] = svd(A, { fullMatrices: false });
    const sInv = cutInverse(s, cutoff(s, rcond));
    return mm(mT(vh), mul(expandDims(sInv, -1), mT(u)));
  });
}

/**
 * `a` to an integer power by repeated squaring (negative powers invert first; 0 gives I).
 * @example k.linalg.matrixPower(a, 3)
 */
export function matrixPower(a: TensorLike, n: number): Tensor {
  const op = "linalg.matrixPower";
  return userOp(op, () => {
    const A = matrixArg(op, a, "a", true);
    let e = checkInt(op, n, "n");
    let base = e < 0 ? inv(A) : A;
    e = Math.abs(e);
    let acc: Tensor | null = null;
    while (e > 0) {
      if (e & 1) acc = acc ? mm(acc, base) : base;
      e >>= 1;
      if (e) base = mm(base, base);
    }
    return acc ?? broadcastTo(eyeLike(A.shape[A.ndim - 1], A), A.shape);
  });
}

/** Options of `norm` (numpy's `ord`, `axis`, `keepdims`). */
export interface NormOptions {
  /**
   * Vectors: any number (default 2), `Infinity`, `-Infinity`, 0 (count of nonzeros).
   * Matrices: "fro" (default), "nuc", 1, -1, 2, -2, `Infinity`, `-Infinity`.
   */
  ord?: number | "fro" | "nuc";
  /** One axis (vector norm) or two (matrix norm); default all axes of a 1-D or 2-D input. */
  axis?: number | readonly [number, number];
  /** Keep the reduced axes as size 1. */
  keepdims?: boolean;
}

/**
 * Vector and matrix norms with numpy's `ord`/`axis` semantics. Without `ord` and `axis` the
 * 2-norm of all entries. @example k.linalg.norm(x, {ord: 1, axis: -1})
 */
export function norm(x: TensorLike, opts: NormOptions = {}): Tensor {
  const op = "linalg.norm";
  return userOp(op, () => {
    checkOptions(op, opts, ["ord", "axis", "keepdims"]);
    let X = asTensor(op, x, "x");
    if (X.dtype !== "float32" && X.dtype !== "float64") X = X.astype("float32");
    const keep = opts.keepdims ?? false;
    const ord = opts.ord;
    const norm1 = (a: number) => (a < 0 ? a + X.ndim : a);
    const checkAx = (a: unknown) => {
      const v = checkInt(op, a, "axis");
      if (v < -X.ndim || v >= X.ndim) {
        throw rangeError(op, `axis ${v} is out of range for x ${fmt(X.shape)}`);
      }
      return norm1(v);
    };
    let axes: number[];
    if (opts.axis === undefined) {
      if (ord === undefined) {
        const all = [...X.shape.keys()];
        return sqrt(sum(mul(X, X), { axis: all, keepdims: keep }));
      }
      if (X.ndim !== 1 && X.ndim !== 2) {
        throw shapeError(op, `ord needs axis for x ${fmt(X.shape)} of rank ${X.ndim}`);
      }
      axes = [...X.shape.keys()];
    } else if (typeof opts.axis === "number") axes = [checkAx(opts.axis)];
    else if (Array.isArray(opts.axis) && opts.axis.length === 2) {
      axes = opts.axis.map(checkAx);
      if (axes[0] === axes[1]) throw rangeError(op, `axis names ${axes[0]} twice`);
    } else throw typeError(op, `axis must be a number or a pair of numbers`);
    return axes.length === 1
      ? vectorNorm(op, X, axes[0], ord, keep)
      : matrixNorm(op, X, axes as [number, number], ord, keep);
  });
}

function vectorNorm(
  op: string,
  x: Tensor,
  axis: number,
  ord: number | string | undefined,
  keepdims: boolean,
): Tensor {
  const o = { axis, keepdims };
  if (ord === undefined || ord === 2) return sqrt(sum(mul(x, x), o));
  if (typeof ord !== "number") throw typeError(op, `ord ${String(ord)} is not a vector norm`);
  if (ord === Infinity) return max(abs(x), o);
  if (ord === -Infinity) return min(abs(x), o);
  if (ord === 0) return sum(wrap(castNode(notEqual(x, 0).node, x.dtype)), o);
  if (ord === 1) return sum(abs(x), o);
  return pow(sum(pow(abs(x), ord), o), 1 / ord);
}

function matrixNorm(
  op: string,
  x: Tensor,
  [r, c]: [number, number],
  ord: number | string | undefined,
  keepdims: boolean,
): Tensor {
  const back = (t: Tensor) => {
    if (!keepdims) return t;
    const shape = [...x.shape];
    shape[r] = shape[c] = 1;
    return reshape(t, shape);
  };
  if (ord === undefined || ord === "fro") return back(sqrt(sum(mul(x, x), { axis: [r, c] })));
  if (ord === Infinity || ord === -Infinity || ord === 1 || ord === -1) {
    const inner = ord === 1 || ord === -1 ? r : c; // sum down columns for 1, along rows for inf
    const outer = inner === r ? c : r;
    const sums = sum(abs(x), { axis: inner, keepdims: true });
    const red = ord > 0 ? max : min;
    return back(red(sums, { axis: [inner, outer] }));
  }
  if (ord === 2 || ord === -2 || ord === "nuc") {
    const rest = [...x.shape.keys()].filter((a) => a !== r && a !== c);
    const s = svd(transpose(x, [...rest, r, c]), { computeUv: false });
    const v = ord === "nuc" ? sum(s, { axis: -1 }) : (ord === 2 ? max : min)(s, { axis: -1 });
    return back(v);
  }
  throw typeError(
    op,
    `ord ${String(ord)} is not a matrix norm (use "fro", "nuc", ±1, ±2, ±Infinity)`,
  );
}

function rank2(op: string, x: TensorLike): Tensor {
  const t = asTensor(op, x, "x");
  if (t.ndim < 2) throw shapeError(op, `x must have rank >= 2, got ${fmt(t.shape)}`);
  return t;
}

/** Options of `diagonal` and `trace`. */
export interface DiagonalOptions {
  /** Diagonal offset: > 0 above the main diagonal, < 0 below (default 0). */
  offset?: number;
}

/** Diagonal of the last two axes (`numpy.linalg.diagonal`). @example k.linalg.diagonal(a) */
export function diagonal(x: TensorLike, opts: DiagonalOptions = {}): Tensor {
  const op = "linalg.diagonal";
  return userOp(op, () => {
    checkOptions(op, opts, ["offset"]);
    const off = opts.offset === undefined ? 0 : checkInt(op, opts.offset, "offset");
    return diagonalOf(rank2(op, x), off);
  });
}

/** Sum of the diagonal of the last two axes (`numpy.linalg.trace`). @example k.linalg.trace(a) */
export function trace(x: TensorLike, opts: DiagonalOptions = {}): Tensor {
  const op = "linalg.trace";
  return userOp(op, () => {
    checkOptions(op, opts, ["offset"]);
    const off = opts.offset === undefined ? 0 : checkInt(op, opts.offset, "offset");
    return sum(diagonalOf(rank2(op, x), off), { axis: -1 });
  });
}

/** Lower triangle of the last two axes (entries with col - row <= k). @example k.linalg.tril(a) */
export function tril(x: TensorLike, k = 0): Tensor {
  const op = "linalg.tril";
  return userOp(op, () => trilOf(rank2(op, x), checkInt(op, k, "k")));
}

/** Upper triangle of the last two axes (entries with col - row >= k). @example k.linalg.triu(a, 1) */
export function triu(x: TensorLike, k = 0): Tensor {
  const op = "linalg.triu";
  return userOp(op, () => triuOf(rank2(op, x), checkInt(op, k, "k")));
}
