/** The core's error mechanism (`k.errors`) for the nn files: user-level names, validators. */
import * as k from "../core/mod.ts";

export const {
  checkFunction,
  checkInt,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkSize,
  checkTensorArg,
  checkTensorLikeArg,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
  userOp,
} = k.errors;
