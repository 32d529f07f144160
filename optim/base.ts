/**
 * The gradient-transformation contract, `chain` and `applyUpdates`.
 * @module
 */
import * as k from "../core/mod.ts";
import { map, transformation, userOp } from "./_state.ts";

/**
 * A pytree of tensors: parameters, gradients or updates (one structure for all three). Nested
 * plain objects and arrays with tensors at the leaves (`null`/`undefined` are empty subtrees, as
 * in `k.tree`). Typed as `object` so that interfaces such as `k.nn.LinearParams` fit; a leaf
 * that is not a tensor is an error at run time.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params: k.optim.Params = { w: k.zeros([3, 2]), b: k.zeros([2]), extra: [k.ones([1])] };
 * ```
 */
export type Params = object | null | undefined;

/**
 * An optimizer's state: a pytree of tensors (plain objects and arrays; step counts are int32
 * scalar tensors), so `k.tree` functions apply to it.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const state: k.optim.OptState = k.optim.adam(1e-3).init({ w: k.zeros([2]) });
 * k.tree.leaves(state); // [count, mu.w, nu.w]
 * ```
 */
export type OptState = k.tree.PyTree<k.Tensor>;

/**
 * A gradient transformation, as in Optax: `init` builds the state for some parameters, and
 * `update` maps gradients (or the updates of a previous transformation) and the state to updates
 * and a new state. Optimizers return updates to ADD to the parameters (already negated); apply them
 * with {@link applyUpdates}. `update` uses tensor ops only (it never reads values back), so it can
 * run inside traced functions. `params` is needed only by transformations that use the
 * parameters (weight decay).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt: k.optim.GradientTransformation = k.optim.adam(1e-3);
 * let params = { w: k.zeros([3]) };
 * let state = opt.init(params);
 * const grads = { w: k.ones([3]) };
 * let updates;
 * [updates, state] = opt.update(grads, state, params);
 * params = k.optim.applyUpdates(params, updates);
 * ```
 */
export interface GradientTransformation {
  /** The initial state for `params` (only their shapes, dtypes and devices are used). */
  init(params: Params): OptState;
  /** `[updates, newState]` from gradients (or incoming updates), the state and the params. */
  update(updates: Params, state: OptState, params?: Params): [Params, OptState];
}

/**
 * Runs transformations one after another: each one's updates feed the next. The state is an
 * array holding each transformation's state, in order.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.chain(k.optim.clipByGlobalNorm(1), k.optim.adam(1e-3));
 * ```
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  return transformation("optim.chain", () => {
    transforms.forEach((t, i) => {
      const ok = t !== null && typeof t === "object" && typeof t.init === "function" &&
        typeof t.update === "function";
      if (!ok) {
        throw k.errors.typeError(
          "optim.chain",
          `transforms[${i}] must be a transformation {init, update}, got ${k.errors.describe(t)}`,
        );
      }
    });
    return {
      init: (params: Params): OptState => transforms.map((t) => t.init(params)),
      update: (updates: Params, state: OptState, params?: Params): [Params, OptState] => {
        if (!Array.isArray(state) || state.length !== transforms.length) {
          throw k.errors.typeError(
            "optim.chain",
            `expected the state of ${transforms.length} transformations (an array, as ` +
              `init returns), got ${
                Array.isArray(state) ? `${state.length} entries` : typeof state
              }`,
          );
        }
        const next: OptState[] = [];
        transforms.forEach((t, i) => {
          let s: OptState;
          [updates, s] = t.update(updates, state[i], params);
          next.push(s);
        });
        return [updates, next];
      },
    };
  });
}

/**
 * `params + updates` leaf by leaf, each result cast to its parameter's dtype.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const p = k.optim.applyUpdates({ w: k.ones([2]) }, { w: k.tensor([-0.5, 0.5]) }); // {w: [0.5, 1.5]}
 * ```
 */
export function applyUpdates<P extends Params>(params: P, updates: Params): P {
  return userOp("optim.applyUpdates", () => {
    for (const [what, t] of [["params", params], ["updates", updates]] as const) {
      if (t === null || t === undefined) {
        throw k.errors.typeError(
          "optim.applyUpdates",
          `${what} must be a pytree of tensors, got ${t}`,
        );
      }
    }
    return map("optim.applyUpdates", (p, u) => p.add(u).astype(p.dtype), params, updates) as P;
  });
}

/**
 * The transformation that changes nothing (empty state).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const opt = k.optim.chain(k.optim.identity(), k.optim.sgd(0.1));
 * ```
 */
export function identity(): GradientTransformation {
  return transformation("optim.identity", () => {
    return {
      init: (_params: Params): OptState => ({}),
      update: (updates: Params, state: OptState): [Params, OptState] => [updates, state],
    };
  });
}
