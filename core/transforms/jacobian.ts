/**
 * Jacobians and Hessians from `vjp`/`jvp`: one pullback per output element (`jacrev`) or one
 * pushforward per input element (`jacfwd`), stacked lazily into one graph.
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { reshape, transpose } from "../tensor/movement.ts";
import { eye } from "../tensor/creation.ts";
import { jvp, vjp } from "./autodiff.ts";
import { vmap } from "./vmap.ts";
import { fmt } from "../shape.ts";
import {
  checkFunction,
  checkInt,
  checkOptions,
  checkTensorArg,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
} from "../errors.ts";

/** Options of the Jacobian transforms. */
export interface JacOptions {
  /** The positional argument to differentiate (default 0). */
  argnums?: number;
}

/** A function from tensors to a tensor. */
export type TensorFn = (...args: Tensor[]) => Tensor;

function checkOut(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) {
    throw typeError(op, `f must return a single Tensor, got ${typeof y}`);
  }
  return y;
}

/** The `n` standard basis vectors shaped like `like`, stacked: `[n, ...like.shape]`. */
function basis(n: number, like: Tensor): Tensor {
  return reshape(eye(n, n, { dtype: like.dtype, device: like.device }), [n, ...like.shape]);
}

/**
 * Reverse-mode Jacobian: shape `out.shape + x.shape`.
 * @example const J = k.jacrev((x) => x.mul(x))(x) // diag(2x)
 */
export function jacrev(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  const a = jacArgs("jacrev", f, opts);
  return publicOp("jacrev", (...args: Tensor[]) => {
    const uf = userCallback(f);
    const x = argAt("jacrev", args, a);
    const g = (xi: Tensor) => uf(...args.map((v, i) => (i === a ? xi : v)));
    const [y, pb] = vjp(g as (...args: never[]) => unknown, x);
    const out = checkOut("jacrev", y);
    if (out.size === 0) return reshape(x.mul(0).sum(), [...out.shape, ...x.shape]);
    // One batched pullback over the basis (as JAX's vmap of the VJP), not one per row.
    const rows = vmap((e: Tensor) => pb(e)[0] as Tensor)(basis(out.size, out)) as Tensor;
    return reshape(rows, [...out.shape, ...x.shape]);
  });
}

/** Checks `f` and the options; returns the differentiated argument's index. */
function jacArgs(op: string, f: unknown, opts: JacOptions | undefined): number {
  checkFunction(op, f);
  const o = checkOptions(op, opts, ["argnums"]);
  return o.argnums === undefined ? 0 : checkInt(op, o.argnums, "argnums", 0);
}

/** The differentiated argument: a Tensor at index `a`. */
function argAt(op: string, args: readonly Tensor[], a: number): Tensor {
  if (a >= args.length) {
    throw rangeError(op, `argnums ${a} is out of range for ${args.length} argument(s)`);
  }
  return checkTensorArg(op, args[a], `argument ${a}`);
}

/**
 * Forward-mode Jacobian: shape `out.shape + x.shape`.
 * @example const J = k.jacfwd((x) => x.sin())(x)
 */
export function jacfwd(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  const a = jacArgs("jacfwd", f, opts);
  return publicOp("jacfwd", (...args: Tensor[]) => {
    const uf = userCallback(f);
    const x = argAt("jacfwd", args, a);
    const g = (xi: Tensor) => uf(...args.map((v, i) => (i === a ? xi : v)));
    if (x.size === 0) throw shapeError("jacfwd", `input ${fmt(x.shape)} has no elements`);
    // One batched pushforward over the basis (as JAX's vmap of the JVP), not one per column.
    const cols = vmap((e: Tensor) => {
      const [y, t] = jvp(g as (...args: never[]) => unknown, [x], [e]);
      checkOut("jacfwd", y);
      return t as Tensor;
    })(basis(x.size, x)) as Tensor; // [n, ...out]
    const r = cols.ndim - 1;
    const moved = transpose(cols, [...Array(r).keys()].map((i) => i + 1).concat(0));
    return reshape(moved, [...cols.shape.slice(1), ...x.shape]);
  });
}

/**
 * Hessian of a scalar function, `jacfwd(jacrev(f))`: shape `x.shape + x.shape`.
 * @example const H = k.hessian((w) => k.sum(w.pow(3)))(w) // diag(6w)
 */
export function hessian(f: TensorFn, opts: JacOptions = {}): (...args: Tensor[]) => Tensor {
  jacArgs("hessian", f, opts);
  // f is the user's: it runs in the caller's context, jacfwd/jacrev report as hessian.
  return publicOp("hessian", (...args: Tensor[]) => {
    const uf = userCallback(f);
    return jacfwd(jacrev(uf, opts), opts)(...args);
  });
}
