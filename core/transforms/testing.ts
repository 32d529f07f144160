/** Testing utilities (`k.testing`). @module */
export { checkGrads, type CheckGradsOptions } from "./check.ts";
