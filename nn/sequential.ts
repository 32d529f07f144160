/**
 * Composition: the `Layer` interface (one uniform `init`/`apply` with state and context) and
 * `sequential`, which chains layers and threads their parameters, state (batchNorm's running
 * statistics) and random keys (dropout). Configured layers come from `k.nn.layers`
 * (`layers.conv2d(1, 32, 3, {padding: 1})`, `layers.batchNorm(32)`, …); a plain function
 * `(x) => Tensor` such as `k.nn.relu` is a layer without parameters.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";

const E = k.errors;

/** Parameters or state of a layer that has none: an empty object (a pytree with no leaves). */
export type Empty = Record<string, never>;

/** What every layer's `apply` gets besides its parameters, state and input. */
export interface ApplyContext {
  /** Training mode (batch statistics, dropout on) or evaluation. Required: no silent default. */
  training: boolean;
  /**
   * Randomness for this call (dropout). `sequential` gives layer `i` the key
   * `k.random.foldIn(key, i)`. Needed in training when a layer draws random numbers.
   */
  key?: Tensor;
}

/** The result of `Layer.init`: parameters (trained) and state (updated by `apply`). */
export type LayerVariables<P, S> = {
  /** What the optimizer trains. */
  params: P;
  /** What `apply` updates itself (running statistics), returned as a new value. */
  state: S;
};

/**
 * A layer with its configuration bound: `init(key)` gives `{params, state}`, and
 * `apply(params, state, x, ctx)` gives `[y, newState]`. Both are pure; parameters and state
 * are plain pytrees (`k.grad`, optimizers, `k.io.save` work on them directly).
 */
export interface Layer<P = unknown, S = unknown> {
  /** Fresh parameters and state; randomness only from `key`. */
  init(key: Tensor): LayerVariables<P, S>;
  /** The layer's output and its new state (the same object when nothing changed). */
  apply(params: P, state: S, x: Tensor, ctx: ApplyContext): [Tensor, S];
  /** A short description for error messages, e.g. `conv2d(1, 32, 3)`. */
  readonly name: string;
}

/** What `sequential` accepts: a `Layer`, or a parameter-free function such as `k.nn.relu`. */
// deno-lint-ignore no-explicit-any
export type LayerLike = Layer<any, any> | ((x: Tensor) => Tensor);

/** The parameters of a `LayerLike` (`Empty` for a plain function). */
export type ParamsOf<L> = L extends Layer<infer P, infer _S> ? P : Empty;
/** The state of a `LayerLike` (`Empty` for a plain function). */
export type StateOf<L> = L extends Layer<infer _P, infer S> ? S : Empty;

/** The layer `sequential(layers)` builds: params and state are arrays, one entry per layer. */
export type Sequential<L extends readonly LayerLike[]> = Layer<
  { -readonly [I in keyof L]: ParamsOf<L[I]> },
  { -readonly [I in keyof L]: StateOf<L[I]> }
>;

/**
 * Wraps a parameter-free function `f(x)` as a `Layer` (params and state `{}`).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const act = k.nn.layers.fn((x) => k.nn.leakyRelu(x, 0.2), "leakyRelu(0.2)");
 * ```
 */
export function fn(f: (x: Tensor) => Tensor, name?: string): Layer<Empty, Empty> {
  return fnLayer("nn.layers.fn", f, name);
}

/** `fn` under the public name `op`. @internal */
export function fnLayer(op: string, f: unknown, name?: unknown): Layer<Empty, Empty> {
  const g = E.checkFunction<(x: Tensor) => Tensor>(op, f, "f");
  const label = name === undefined ? (g.name || "fn") : E.checkString(op, name, "name");
  return {
    name: label,
    init: () => ({ params: {}, state: {} }),
    apply(_params, state, x) {
      const y = g(x);
      if (!E.isTensorValue(y)) {
        throw E.typeError(label, `the function must return a Tensor, got ${E.describe(y)}`);
      }
      return [y, state];
    },
  };
}

function asLayer(item: unknown, i: number): Layer {
  if (typeof item === "function") return fnLayer("nn.sequential", item);
  const l = item as Layer;
  if (
    item === null || typeof item !== "object" || typeof l.init !== "function" ||
    typeof l.apply !== "function" || typeof l.name !== "string"
  ) {
    throw E.typeError(
      "nn.sequential",
      `layers[${i}] must be a Layer ({name, init, apply}) or a function (x) => Tensor, got ${
        E.describe(item)
      }`,
    );
  }
  return l;
}

/** Re-raises `e` with the layer named after `op: `, keeping its class and the original as cause. */
function inLayer(op: string, e: unknown, i: number, name: string): never {
  if (!(e instanceof Error)) throw e;
  const msg = `${op}: layer ${i} (${name}): ${e.message}`;
  if (e instanceof k.KilnError) throw new k.KilnError(op, msg, { cause: e });
  const Cls = e instanceof TypeError ? TypeError : e instanceof RangeError ? RangeError : Error;
  throw new Cls(msg, { cause: e });
}

/**
 * Chains layers: `apply` feeds each layer's output to the next, in training or evaluation
 * mode, and returns the last output with every layer's new state. Parameters and state are
 * arrays with one entry per layer (`{}` for layers without any), so `params[0].w` is the first
 * convolution's kernel. `init(key)` gives layer `i` the key `k.random.split(key, n)[i]`;
 * `apply` gives it `k.random.foldIn(ctx.key, i)`. A `sequential` is itself a `Layer`, so
 * models nest.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const L = k.nn.layers;
 * const model = k.nn.sequential([
 *   L.conv2d(1, 32, 3, { padding: 1 }), L.batchNorm(32), k.nn.relu, L.maxPool2d(2),
 *   L.conv2d(32, 64, 3, { padding: 1 }), L.batchNorm(64), k.nn.relu, L.maxPool2d(2),
 *   L.flatten(), L.dropout(0.25), L.linear(64 * 7 * 7, 128), k.nn.relu, L.linear(128, 10),
 * ]);
 * const { params, state } = model.init(k.random.key(0));
 * const x = k.zeros([8, 1, 28, 28]), y = k.zeros([8], { dtype: "int32" });
 * const loss = (p: typeof params, s: typeof state, key: k.Tensor) => {
 *   const [logits, s2] = model.apply(p, s, x, { training: true, key });
 *   return [k.nn.softmaxCrossEntropy(logits, y), s2];
 * };
 * const [[value, newState], grads] = k.valueAndGrad(loss, { hasAux: true })(
 *   params, state, k.random.key(1),
 * ) as unknown as [[k.Tensor, typeof state], typeof params];
 * const [logits] = model.apply(params, newState, x, { training: false }); // evaluation
 * ```
 */
export function sequential<const L extends readonly LayerLike[]>(layers: L): Sequential<L> {
  return sequentialImpl(layers) as Sequential<L>;
}

const sequentialImpl = E.publicOp("nn.sequential", (layers: unknown): Layer => {
  if (!Array.isArray(layers)) {
    throw E.typeError("nn.sequential", `layers must be an array, got ${E.describe(layers)}`);
  }
  const ls = layers.map(asLayer);
  const n = ls.length;
  const checkList = (op: string, what: string, v: unknown) => {
    if (!Array.isArray(v) || v.length !== n) {
      const got = Array.isArray(v) ? `${v.length} entries` : E.describe(v);
      throw E.typeError(op, `${what} must be an array with one entry per layer (${n}), got ${got}`);
    }
  };
  const init = E.publicOp("nn.sequential.init", (key: Tensor) => {
    const keys = n > 0 ? k.random.split(key, n) : [];
    const vars = ls.map((l, i) => {
      try {
        // A layer's own code runs as if the user had called it (its errors name it).
        return E.userCallback((kk: Tensor) => l.init(kk))(keys[i]);
      } catch (e) {
        return inLayer("nn.sequential.init", e, i, l.name);
      }
    });
    return { params: vars.map((v) => v.params), state: vars.map((v) => v.state) };
  });
  const apply = E.publicOp(
    "nn.sequential.apply",
    (params: unknown, state: unknown, x: Tensor, ctx: ApplyContext): [Tensor, unknown[]] => {
      const op = "nn.sequential.apply";
      checkList(op, "params", params);
      checkList(op, "state", state);
      const c = E.checkOptions(op, ctx, ["training", "key"]);
      E.checkBool(op, c.training, "ctx.training");
      const ps = params as unknown[], ss = state as unknown[];
      const newState: unknown[] = [];
      let h = x;
      ls.forEach((l, i) => {
        const key = c.key === undefined ? undefined : k.random.foldIn(c.key, i);
        try {
          const call = E.userCallback((p: unknown, s: unknown, t: Tensor) =>
            l.apply(p, s, t, { training: c.training, key })
          );
          const [y, s] = call(ps[i], ss[i], h);
          h = y;
          newState.push(s);
        } catch (e) {
          inLayer(op, e, i, l.name);
        }
      });
      return [h, newState];
    },
  );
  return { name: `sequential(${ls.map((l) => l.name).join(", ")})`, init, apply };
});
