/**
 * Activation functions. Each maps a tensor to a tensor of the same shape and (float) dtype,
 * computed with numerically careful formulas; gradients follow PyTorch's conventions at the
 * kinks (`relu'(0) = 0`, `leakyRelu'(0) = negativeSlope`, `elu'(0) = alpha`).
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor, TensorLike } from "../core/mod.ts";
import { checkNumber, checkOptions, checkTensorLikeArg, userOp } from "./_errors.ts";

/** Options of `gelu`. */
export interface GeluOptions {
  /**
   * Use the tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` instead of the
   * exact erf form (default false, as PyTorch's `approximate="none"`).
   */
  approximate?: boolean;
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * `max(x, 0)`; its derivative at 0 is 0 (as PyTorch and JAX).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.relu(k.tensor([-1, 0, 2])); // [0, 0, 2]
 * ```
 */
export function relu(x: TensorLike): Tensor {
  return userOp("nn.relu", () => {
    return k.relu(checkTensorLikeArg<TensorLike>("nn.relu", x));
  });
}

/**
 * Leaky ReLU: `x` where `x > 0`, else `negativeSlope·x` (default slope 0.01, as PyTorch).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.leakyRelu(k.tensor([-2, 3]), 0.1); // [-0.2, 3]
 * ```
 */
export function leakyRelu(x: TensorLike, negativeSlope = 0.01): Tensor {
  return userOp("nn.leakyRelu", () => {
    checkNumber("nn.leakyRelu", negativeSlope, "negativeSlope");
    const t = float(x);
    return k.where(k.greater(t, 0), t, k.mul(t, negativeSlope));
  });
}

/**
 * Exponential linear unit: `x` where `x > 0`, else `alpha·(eˣ − 1)` (default alpha 1). The
 * exponential only ever sees `min(x, 0)`, so large inputs cannot overflow into the gradient.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.elu(k.tensor([-1, 2])); // [-0.632…, 2]
 * ```
 */
export function elu(x: TensorLike, alpha = 1): Tensor {
  return userOp("nn.elu", () => {
    checkNumber("nn.elu", alpha, "alpha");
    const t = float(x);
    const pos = k.greater(t, 0);
    const neg = k.where(pos, 0, t);
    return k.where(pos, t, k.mul(k.expm1(neg), alpha));
  });
}

/**
 * Gaussian error linear unit, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` (exact, PyTorch's default), or
 * its tanh approximation with `{approximate: true}`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.gelu(k.tensor([1])); // [0.8413…]
 * k.nn.gelu(k.tensor([1]), { approximate: true }); // [0.8411…]
 * ```
 */
export function gelu(x: TensorLike, opts: GeluOptions = {}): Tensor {
  return userOp("nn.gelu", () => {
    checkOptions("nn.gelu", opts, ["approximate"]);
    const t = float(x);
    if (opts.approximate) {
      const inner = k.mul(k.add(t, k.mul(k.mul(k.mul(t, t), t), 0.044715)), SQRT_2_OVER_PI);
      return k.mul(k.mul(t, 0.5), k.add(k.tanh(inner), 1));
    }
    return k.mul(k.mul(t, 0.5), k.add(k.erf(k.mul(t, SQRT1_2)), 1));
  });
}

/**
 * Sigmoid linear unit (swish), `x·sigmoid(x)`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.silu(k.tensor([0, 1])); // [0, 0.7310…]
 * ```
 */
export function silu(x: TensorLike): Tensor {
  return userOp("nn.silu", () => {
    const t = float(x);
    return k.mul(t, k.sigmoid(t));
  });
}

/**
 * `log(1 + eˣ)` computed stably as `max(x, 0) + log1p(e^−|x|)`, with the derivative `σ(x)` as a
 * custom JVP: the stable form has kinks at 0 (`max`, `|x|`) whose second derivatives vanish
 * there, so autodiff of it would give a zero Hessian at 0 instead of σ'(0) = 1/4 (Newton's
 * method on a logistic loss starting from w = 0 would stall).
 */
const smoothSoftplus: (x: Tensor) => Tensor = k.customJvp(
  (x: Tensor) => k.add(k.maximum(x, 0), k.log1p(k.exp(k.neg(k.abs(x))))),
  {
    jvp: ([x], [t]) => [
      k.add(k.maximum(x, 0), k.log1p(k.exp(k.neg(k.abs(x))))),
      k.mul(t, k.sigmoid(x)),
    ],
  },
);

/**
 * `log(1 + eˣ)`, computed stably as `max(x, 0) + log1p(e^(−|x|))` (that is `logaddexp(x, 0)`):
 * `softplus(100) = 100`, `softplus(−100) ≈ 3.7e-44`, never `inf`. Its derivative is
 * `sigmoid(x)` (0.5 at 0).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.softplus(k.tensor([0, 100])); // [0.6931…, 100]
 * ```
 */
export function softplus(x: TensorLike): Tensor {
  return userOp("nn.softplus", () => {
    const t = float(x);
    return smoothSoftplus(t);
  });
}

/**
 * Logistic sigmoid `1 / (1 + e^(−x))` (the core op).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.sigmoid(k.tensor([0])); // [0.5]
 * ```
 */
export function sigmoid(x: TensorLike): Tensor {
  return userOp("nn.sigmoid", () => {
    return k.sigmoid(checkTensorLikeArg<TensorLike>("nn.sigmoid", x));
  });
}

/**
 * Hyperbolic tangent (the core op).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * k.nn.tanh(k.tensor([0, 1])); // [0, 0.7615…]
 * ```
 */
export function tanh(x: TensorLike): Tensor {
  return userOp("nn.tanh", () => {
    return k.tanh(checkTensorLikeArg<TensorLike>("nn.tanh", x));
  });
}

/** Tensor in a float dtype (int/bool inputs compute in float32, as the core's math ops). */
function float(x: TensorLike): Tensor {
  checkTensorLikeArg("nn.activation", x); // named after the calling public function
  const t = x instanceof k.Tensor ? x : k.tensor(x);
  return t.dtype === "float32" || t.dtype === "float64" ? t : k.astype(t, "float32");
}
