/**
 * `k.linalg` factorizations and solves (numpy/JAX names and semantics), batched over leading
 * axes, float32 and float64. Each is a host primitive (see `host_call.ts`): lazy, usable under
 * `jit`, `vmap`, `grad` and `jvp`. Singular or non-finite inputs give NaN/inf results as in
 * JAX; `{check: true}` instead raises a `RangeError` naming the function when the value is
 * computed (`await t.data()`, `realize`, or the `jit` call that computes it).
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { asTensor, sameDevice, type TensorLike } from "../tensor/convert.ts";
import { broadcastTo, reshape } from "../tensor/movement.ts";
import { exp, mul } from "../tensor/elementwise.ts";
import { ones, zeros } from "../tensor/creation.ts";
import { broadcastShapes, fmt } from "../shape.ts";
import { checkBool, checkOneOf, checkOptions, shapeError, typeError, userOp } from "../errors.ts";
import { pCholesky, pEigh, pQr, pSlogdet, pSolve, pSvd, pTriSolve } from "./prims.ts";
import { broadcastBatch, col, eyeLike, symmetrize } from "./util.ts";

/** A float matrix (rank ≥ 2) argument, optionally square. */
export function matrixArg(op: string, x: TensorLike, what: string, square = false): Tensor {
  const t = asTensor(op, x, what);
  if (t.dtype !== "float32" && t.dtype !== "float64") {
    throw typeError(op, `${what} must be float32 or float64, got ${t.dtype}${fmt(t.shape)}`);
  }
  if (t.ndim < 2) {
    throw shapeError(op, `${what} must have rank >= 2 (a matrix or a batch), got ${fmt(t.shape)}`);
  }
  const [m, n] = t.shape.slice(-2);
  if (square && m !== n) {
    throw shapeError(op, `${what} must be square in its last two axes, got ${fmt(t.shape)}`);
  }
  return t;
}

/** Options of the checked solvers. */
export interface CheckOptions {
  /**
   * Raise a `RangeError` (when the value is computed) instead of returning NaN/inf for a
   * singular (or, for `cholesky`, not positive definite) matrix. Default false.
   */
  check?: boolean;
}

const checkName = (op: string, o: CheckOptions) =>
  o.check === undefined || !checkBool(op, o.check, "check") ? "" : op;

function sameDtype(op: string, a: Tensor, b: Tensor): void {
  sameDevice(op, [a, b]);
  if (a.dtype !== b.dtype) {
    throw typeError(op, `a and b must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  }
}

/**
 * Solves `a x = b`. `b` is a vector `[n]` (then `x` is `[..., n]`) or a batch of matrices
 * `[..., n, k]`; batch axes broadcast (numpy 2 / JAX semantics). LU with partial pivoting.
 * @example const x = k.linalg.solve(a, b) // a [3,3], b [3] -> x [3]
 */
export function solve(a: TensorLike, b: TensorLike, opts: CheckOptions = {}): Tensor {
  const op = "linalg.solve";
  return userOp(op, () => {
    checkOptions(op, opts, ["check"]);
    const A = matrixArg(op, a, "a", true), B0 = asTensor(op, b, "b");
    const n = A.shape[A.ndim - 1];
    if (B0.ndim < 1 || B0.shape[B0.ndim === 1 ? 0 : B0.ndim - 2] !== n) {
      throw shapeError(
        op,
        `b ${fmt(B0.shape)} does not match a ${fmt(A.shape)}: b must be [${n}] or [..., ${n}, k]`,
      );
    }
    matrixArg(op, B0.ndim === 1 ? col(B0) : B0, "b");
    sameDtype(op, A, B0);
    const vec = B0.ndim === 1;
    const B1 = vec ? col(B0) : B0;
    const batch = broadcastShapes(op, A.shape.slice(0, -2), B1.shape.slice(0, -2));
    const [Ab, Bb] = broadcastBatch([A, B1], batch);
    const out = Ab.size === 0 || Bb.size === 0
      ? zeros(Bb.shape, { dtype: A.dtype, device: A.device })
      : pSolve(Ab, Bb, checkName(op, opts));
    return vec ? reshape(out, out.shape.slice(0, -1)) : out;
  });
}

/**
 * Matrix inverse (`solve(a, I)`). @example const ai = k.linalg.inv(a)
 */
export function inv(a: TensorLike, opts: CheckOptions = {}): Tensor {
  const op = "linalg.inv";
  return userOp(op, () => {
    checkOptions(op, opts, ["check"]);
    const A = matrixArg(op, a, "a", true);
    if (A.size === 0) return zeros(A.shape, { dtype: A.dtype, device: A.device });
    const I = broadcastTo(eyeLike(A.shape[A.ndim - 1], A), A.shape);
    return pSolve(A, I, checkName(op, opts));
  });
}

/**
 * `[sign, logabsdet]` of square matrices (numpy's `slogdet`): `det = sign * exp(logabsdet)`
 * without overflow. A singular matrix gives sign 0 and logabsdet -inf.
 * @example const [sign, logdet] = k.linalg.slogdet(a)
 */
export function slogdet(a: TensorLike): [Tensor, Tensor] {
  const op = "linalg.slogdet";
  return userOp(op, () => {
    const A = matrixArg(op, a, "a", true);
    if (A.size === 0) {
      const o = { dtype: A.dtype, device: A.device };
      return [ones(A.shape.slice(0, -2), o), zeros(A.shape.slice(0, -2), o)];
    }
    return pSlogdet(A);
  });
}

/** Determinant (`sign * exp(logabsdet)` of `slogdet`). @example k.linalg.det(a) */
export function det(a: TensorLike): Tensor {
  return userOp("linalg.det", () => {
    const [s, l] = slogdet(a);
    return mul(s, exp(l));
  });
}

/**
 * Lower Cholesky factor `L` with `L Lᵀ = a` of symmetric positive-definite matrices. As JAX,
 * `a` is symmetrized first (`(a + aᵀ)/2`); a matrix that is not positive definite gives NaN.
 * @example const l = k.linalg.cholesky(a)
 */
export function cholesky(a: TensorLike, opts: CheckOptions = {}): Tensor {
  const op = "linalg.cholesky";
  return userOp(op, () => {
    checkOptions(op, opts, ["check"]);
    const A = matrixArg(op, a, "a", true);
    if (A.size === 0) return zeros(A.shape, { dtype: A.dtype, device: A.device });
    return pCholesky(symmetrize(A), checkName(op, opts));
  });
}

/** Options of `solveTriangular` (as `jax.scipy.linalg.solve_triangular`). */
export interface SolveTriangularOptions extends CheckOptions {
  /** Use the lower triangle of `a` (default false: the upper, as scipy). */
  lower?: boolean;
  /** Solve `aᵀ x = b` (`true`, 1 or "T"; "C" is the same for real matrices). Default false. */
  transpose?: boolean | 0 | 1 | 2 | "N" | "T" | "C";
  /** Assume a unit diagonal (not read). Default false. */
  unitDiagonal?: boolean;
}

/**
 * Solves `a x = b` (or `aᵀ x = b`) for triangular `a`, reading only one triangle. `b` is
 * `[..., n]` (one vector per matrix: rank of `a` minus one) or `[..., n, k]`.
 * @example const x = k.linalg.solveTriangular(l, b, {lower: true})
 */
export function solveTriangular(
  a: TensorLike,
  b: TensorLike,
  opts: SolveTriangularOptions = {},
): Tensor {
  const op = "linalg.solveTriangular";
  return userOp(op, () => {
    checkOptions(op, opts, ["lower", "transpose", "unitDiagonal", "check"]);
    const A = matrixArg(op, a, "a", true), B0 = asTensor(op, b, "b");
    const lower = opts.lower === undefined ? false : checkBool(op, opts.lower, "lower");
    const unitDiagonal = opts.unitDiagonal === undefined
      ? false
      : checkBool(op, opts.unitDiagonal, "unitDiagonal");
    const t = opts.transpose ?? false;
    const codes: unknown[] = [false, true, 0, 1, 2, "N", "T", "C"];
    if (!codes.includes(t)) {
      throw typeError(op, `transpose must be a boolean, 0/1/2 or "N"/"T"/"C", got ${String(t)}`);
    }
    const transpose = t === true || t === 1 || t === 2 || t === "T" || t === "C";
    const n = A.shape[A.ndim - 1];
    const vec = B0.ndim === A.ndim - 1;
    const B1 = vec ? col(B0) : B0;
    if (B1.ndim < 2 || B1.shape[B1.ndim - 2] !== n) {
      throw shapeError(
        op,
        `b ${fmt(B0.shape)} does not match a ${fmt(A.shape)}: b must be [..., ${n}] or ` +
          `[..., ${n}, k]`,
      );
    }
    matrixArg(op, B1, "b");
    sameDtype(op, A, B0);
    const batch = broadcastShapes(op, A.shape.slice(0, -2), B1.shape.slice(0, -2));
    const [Ab, Bb] = broadcastBatch([A, B1], batch);
    const o = { lower, transpose, unitDiagonal };
    const out = Ab.size === 0 || Bb.size === 0
      ? zeros(Bb.shape, { dtype: A.dtype, device: A.device })
      : pTriSolve(Ab, Bb, o, checkName(op, opts));
    return vec ? reshape(out, out.shape.slice(0, -1)) : out;
  });
}

/** Options of `qr`. */
export interface QrOptions {
  /** "reduced" (default: Q m×k, R k×n), "complete" (Q m×m, R m×n) or "r" (R only). */
  mode?: "reduced" | "complete" | "r";
}

/**
 * Householder QR: `[q, r]` with `q r = a`, `q` orthonormal columns, `r` upper triangular
 * (LAPACK's signs, as numpy). With `mode: "r"` returns `r` alone.
 * @example const [q, r] = k.linalg.qr(a)
 */
export function qr(a: TensorLike, opts: QrOptions & { mode: "r" }): Tensor;
export function qr(a: TensorLike, opts?: QrOptions): [Tensor, Tensor];
export function qr(a: TensorLike, opts: QrOptions = {}): [Tensor, Tensor] | Tensor {
  const op = "linalg.qr";
  return userOp(op, () => {
    checkOptions(op, opts, ["mode"]);
    const mode = opts.mode === undefined
      ? "reduced"
      : checkOneOf(op, opts.mode, ["reduced", "complete", "r"], "mode");
    const A = matrixArg(op, a, "a");
    const [m, n] = A.shape.slice(-2), batch = A.shape.slice(0, -2);
    const complete = mode === "complete";
    let res: [Tensor, Tensor];
    if (A.size === 0) {
      const q = complete ? m : Math.min(m, n), o = { dtype: A.dtype, device: A.device };
      const eye = broadcastTo(eyeLike(m, A), [...batch, m, m]);
      res = [complete ? eye : zeros([...batch, m, q], o), zeros([...batch, q, n], o)];
    } else res = pQr(A, complete);
    return mode === "r" ? res[1] : res;
  });
}

/**
 * Symmetric eigendecomposition `[w, v]`: eigenvalues ascending, eigenvectors as the columns
 * of `v` (`a = v diag(w) vᵀ`), each with its largest-magnitude entry positive. As JAX, `a` is
 * symmetrized first (`(a + aᵀ)/2`; numpy reads the lower triangle: equal for symmetric input).
 * Derivatives assume distinct eigenvalues.
 * @example const [w, v] = k.linalg.eigh(cov)
 */
export function eigh(a: TensorLike): [Tensor, Tensor] {
  const op = "linalg.eigh";
  return userOp(op, () => {
    const A = matrixArg(op, a, "a", true);
    if (A.size === 0) {
      const o = { dtype: A.dtype, device: A.device };
      return [zeros(A.shape.slice(0, -1), o), zeros(A.shape, o)];
    }
    return pEigh(symmetrize(A));
  });
}

/** Options of `svd` (numpy's `full_matrices`, `compute_uv`). */
export interface SvdOptions {
  /** U m×m and Vᵀ n×n (default true, as numpy); false: U m×k, Vᵀ k×n, k = min(m, n). */
  fullMatrices?: boolean;
  /** Return `[u, s, vh]` (default true) or only the singular values. */
  computeUv?: boolean;
}

/**
 * Singular value decomposition `[u, s, vh]` with `a = u diag(s) vh`, s descending, by
 * Golub–Kahan–Reinsch (bidiagonalization and implicit-shift QR; singular values accurate to
 * about ε·‖a‖, as LAPACK's). Each column of `u` has its
 * largest-magnitude entry positive (the matching row of `vh` follows). Derivatives need
 * `fullMatrices: false` (or square `a`) and distinct nonzero singular values.
 * @example const [u, s, vh] = k.linalg.svd(x, {fullMatrices: false})
 */
export function svd(a: TensorLike, opts: SvdOptions & { computeUv: false }): Tensor;
export function svd(a: TensorLike, opts?: SvdOptions): [Tensor, Tensor, Tensor];
export function svd(a: TensorLike, opts: SvdOptions = {}): [Tensor, Tensor, Tensor] | Tensor {
  const op = "linalg.svd";
  return userOp(op, () => {
    checkOptions(op, opts, ["fullMatrices", "computeUv"]);
    const full = opts.fullMatrices === undefined
      ? true
      : checkBool(op, opts.fullMatrices, "fullMatrices");
    const uv = opts.computeUv === undefined ? true : checkBool(op, opts.computeUv, "computeUv");
    const A = matrixArg(op, a, "a");
    const [m, n] = A.shape.slice(-2), batch = A.shape.slice(0, -2), k = Math.min(m, n);
    let res: [Tensor, Tensor, Tensor];
    if (A.size === 0) {
      const o = { dtype: A.dtype, device: A.device };
      const eye = (d: number) => broadcastTo(eyeLike(d, A), [...batch, d, d]);
      res = full
        ? [eye(m), zeros([...batch, k], o), eye(n)]
        : [zeros([...batch, m, k], o), zeros([...batch, k], o), zeros([...batch, k, n], o)];
    } else res = pSvd(A, uv ? full : false);
    return uv ? res : res[1];
  });
}
