/**
 * Internal helpers of the optim module: step counts, state fields, per-dtype scalars.
 * Not re-exported by `mod.ts`.
 * @module
 */
import * as k from "../core/mod.ts";
import type { GradientTransformation, OptState, Params } from "./base.ts";
import type { Schedule } from "./schedules.ts";

const INT32_MAX = 2147483647;

/** The leaves of a pytree of tensors (throws on a leaf that is not a tensor). */
export function leavesOf(op: string, tree: Params | OptState): k.Tensor[] {
  const leaves = k.tree.leaves(tree as k.tree.PyTree<unknown>);
  for (const x of leaves) {
    if (!(x instanceof k.Tensor)) {
      throw k.errors.typeError(op, `pytree leaves must be Tensors, got ${k.errors.describe(x)}`);
    }
  }
  return leaves as k.Tensor[];
}

/** A fresh int32 step count (0) on the device of the first parameter. */
export function initCount(params: Params): k.Tensor {
  const first = leavesOf("init", params)[0];
  return k.zeros([], { dtype: "int32", device: first?.device });
}

/** `count + 1`, saturating at the int32 maximum instead of wrapping. */
export function incrementCount(count: k.Tensor): k.Tensor {
  return k.where(k.less(count, INT32_MAX), count.add(1), count);
}

/** The dtype scalars take next to a leaf of dtype `d` (ints and bools compute in float32). */
export function floatOf(d: k.DType): k.DType {
  return d === "float64" ? "float64" : "float32";
}

/**
 * Zeros for a state leaf of parameter `p`: float16 parameters keep their optimizer state in
 * float32 (as mixed-precision training does), since float16 cannot hold squared gradients
 * (1e-4² underflows) or Adam's eps; updates are then float32, rounded by `applyUpdates`.
 */
export function stateFull(p: k.Tensor, value = 0): k.Tensor {
  const dtype = p.dtype === "float16" ? "float32" : p.dtype;
  return k.full(p.shape, value, { dtype, device: p.device });
}

/** `g` in the dtype of its float32 state `a` when `g` is float16 (widened before squaring,
 * where float16 underflows), else `g`. */
export function widenTo(g: k.Tensor, a: k.Tensor): k.Tensor {
  return g.dtype === "float16" && a.dtype !== "float16" ? g.astype(a.dtype) : g;
}

/** Memoizes a per-dtype scalar, so each one is built once per update. */
export function perDtype(f: (d: k.DType) => k.Tensor): (d: k.DType) => k.Tensor {
  const cache = new Map<k.DType, k.Tensor>();
  return (d) => {
    const fd = floatOf(d);
    let v = cache.get(fd);
    if (!v) cache.set(fd, v = f(fd));
    return v;
  };
}

/** Reads field `key` of a transformation's state, with a clear error if it is missing. */
export function field(op: string, state: OptState, key: string): OptState {
  if (state === null || typeof state !== "object" || Array.isArray(state) || !(key in state)) {
    throw k.errors.typeError(
      op,
      `the state has no "${key}"; pass the state that this transformation's init or ` +
        `update returned`,
    );
  }
  return (state as Record<string, OptState>)[key];
}

/** Reads the step count of a state. */
export function countOf(op: string, state: OptState): k.Tensor {
  const c = field(op, state, "count");
  if (!(c instanceof k.Tensor)) throw k.errors.typeError(op, "the state's count is not a tensor");
  return c;
}

/** Maps corresponding leaves of trees of one structure, checking that they are tensors. */
export function map(
  op: string,
  f: (...xs: k.Tensor[]) => k.Tensor,
  tree: Params | OptState,
  ...rest: (Params | OptState)[]
): OptState {
  const g = (...xs: unknown[]): k.Tensor => {
    for (const x of xs) {
      if (!(x instanceof k.Tensor)) {
        throw k.errors.typeError(op, `pytree leaves must be Tensors, got ${k.errors.describe(x)}`);
      }
    }
    return f(...(xs as k.Tensor[]));
  };
  return k.tree.map<unknown, k.Tensor>(
    g,
    tree as k.tree.PyTree<unknown>,
    ...(rest as k.tree.PyTree<unknown>[]),
  ) as OptState;
}

/**
 * The running average `decay * avg + (1 - decay) * g^order` leaf by leaf (order 1 or 2): the
 * moments of Adam and RMSprop.
 */
export function movingAverage(
  op: string,
  updates: Params,
  avg: OptState,
  decay: number,
  order: 1 | 2,
): OptState {
  return map(
    op,
    (g, a) => {
      const x = widenTo(g, a);
      return a.mul(decay).add((order === 2 ? x.mul(x) : x).mul(1 - decay));
    },
    updates,
    avg,
  );
}

/** Throws a RangeError unless `ok` (option checks, with torch's conditions). */
export function check(op: string, ok: boolean, what: string, value: unknown): void {
  if (typeof value === "number" || typeof value === "boolean") {
    if (typeof value === "number" && !Number.isFinite(value)) ok = false;
    if (!ok) throw k.errors.rangeError(op, `invalid ${what}: ${value}`);
    return;
  }
  throw k.errors.typeError(op, `${what} must be a number, got ${k.errors.describe(value)}`);
}

/** Throws unless `params` were passed to an update that needs them. */
export function needParams(op: string, params: Params | undefined): Params {
  if (params === undefined) {
    throw k.errors.typeError(op, "update needs the params (pass them as the third argument)");
  }
  return params;
}

/** The error mechanism of the core (`k.errors`), for optim's files. */
export const {
  checkFunction,
  checkOptions,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
  userOp,
} = k.errors;

/**
 * Builds a transformation as public op `op`: construction-time errors and every later
 * `init`/`update` error name `op` (`optim.adam: …`), whichever transformations it chains.
 */
export function transformation(
  op: string,
  make: () => GradientTransformation,
): GradientTransformation {
  const t = userOp(op, make);
  return { init: publicOp(op, t.init), update: publicOp(op, t.update) };
}

/** Builds a schedule as public op `op`: its errors, and those of calling it, name `op`. */
export function scheduleOp(op: string, make: () => Schedule): Schedule {
  return publicOp(op, userOp(op, make));
}
