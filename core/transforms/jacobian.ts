/**
 * Jacobians and Hessians from `vjp`/`jvp`: one pullback per output element (`jacrev`) or one
 * pushforward per input element (`jacfwd`), stacked lazily into one graph.
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { reshape, stack } from "../tensor/movement.ts";
import { eye } from "../tensor/creation.ts";
import { jvp, vjp } from "./autodiff.ts";
import { fmt } from "../shape.ts";

/** Options of the Jacobian transforms. */
export interface JacOptions {
  /** The positional argument to differentiate (default 0). */
  argnums?: number;
}

/** A function from tensors to a tensor. */
export type TensorFn = (...args: Tensor[]) => Tensor;

function checkOut(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) {
    throw new TypeError(`${op}: f must return a single Tensor, got ${typeof y}`);
  }
  return y;
}

function basis(n: number, like: Tensor): Tensor[] {
  const I = eye(n, n, { dtype: like.dtype, device: like.device });
  return [...Array(n).keys()].map((i) => reshape(I.slice([[i, i + 1]]), like.shape));
}

/**
 * Reverse-mode Jacobian: shape `out.shape + x.shape`.
 * @example const J = k.jacrev((x) => x.mul(x))(x) // diag(2x)
 */
export function jacrev(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  const a = opts.argnums ?? 0;
  return (...args: Tensor[]) => {
    const x = args[a];
    const g = (xi: Tensor) => f(...args.map((v, i) => (i === a ? xi : v)));
    const [y, pb] = vjp(g as (...args: never[]) => unknown, x);
    const out = checkOut("jacrev", y);
    const rows = basis(out.size, out).map((e) => pb(e)[0] as Tensor);
    if (rows.length === 0) return reshape(x.mul(0).sum(), [...out.shape, ...x.shape]);
    return reshape(stack(rows), [...out.shape, ...x.shape]);
  };
}

/**
 * Forward-mode Jacobian: shape `out.shape + x.shape`.
 * @example const J = k.jacfwd((x) => x.sin())(x)
 */
export function jacfwd(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  const a = opts.argnums ?? 0;
  return (...args: Tensor[]) => {
    const x = args[a];
    const g = (xi: Tensor) => f(...args.map((v, i) => (i === a ? xi : v)));
    const cols = basis(x.size, x).map((e) => {
      const [y, t] = jvp(g as (...args: never[]) => unknown, [x], [e]);
      checkOut("jacfwd", y);
      return t as Tensor;
    });
    if (cols.length === 0) throw new Error(`jacfwd: input ${fmt(x.shape)} has no elements`);
    const outShape = cols[0].shape;
    return reshape(stack(cols, { axis: -1 }), [...outShape, ...x.shape]);
  };
}

/**
 * Hessian of a scalar function, `jacfwd(jacrev(f))`: shape `x.shape + x.shape`.
 * @example const H = k.hessian((w) => k.sum(w.pow(3)))(w) // diag(6w)
 */
export function hessian(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  return jacfwd(jacrev(f, opts), opts);
}
