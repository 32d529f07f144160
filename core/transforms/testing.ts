/**
 * Testing utilities (`k.testing`): `checkGrads` compares a function's reverse- and
 * forward-mode derivatives, up to any order, with central finite differences in float64.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const softplus = (x: k.Tensor) => k.log1p(k.exp(x)).sum();
 * await k.testing.checkGrads(softplus, [k.tensor([-1, 0, 2])], { order: 2 }); // throws if wrong
 * ```
 * @module
 */
export { checkGrads, type CheckGradsOptions } from "./check.ts";
