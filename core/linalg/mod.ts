/**
 * `k.linalg`: linear algebra with numpy/JAX names and semantics, batched over leading axes,
 * float32 and float64, differentiable in both modes and usable under `jit` and `vmap`.
 * Factorizations run on the host in float64 (see `host_call.ts`); the rest composes them.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const a = k.tensor([[4, 2], [2, 3]]);
 * console.log(await k.linalg.solve(a, k.tensor([2, 1])).toArray()); // [0.5, 0]
 * const [w] = k.linalg.eigh(a); // ascending eigenvalues, then eigenvectors
 * console.log(await w.toArray()); // [1.438447, 5.561553]
 * const dLogDet = k.grad((m: k.Tensor) => k.linalg.slogdet(m)[1])(a); // inverse transpose
 * console.log(await dLogDet.toArray()); // [[0.375, -0.25], [-0.25, 0.5]]
 * ```
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
