/**
 * `k.linalg`: linear algebra with numpy/JAX names and semantics, batched over leading axes,
 * float32 and float64, differentiable in both modes and usable under `jit` and `vmap`.
 * Factorizations run on the host in float64 (see `host_call.ts`); the rest composes them.
 * @module
 */
import "./prims.ts";
export {
  type CheckOptions,
  cholesky,
  det,
  eigh,
  inv,
  qr,
  type QrOptions,
  slogdet,
  solve,
  solveTriangular,
  type SolveTriangularOptions,
  svd,
  type SvdOptions,
} from "./api.ts";
export {
  diagonal,
  type DiagonalOptions,
  lstsq,
  type LstsqOptions,
  matrixPower,
  norm,
  type NormOptions,
  pinv,
  type PinvOptions,
  trace,
  tril,
  triu,
} from "./compose.ts";
