/** The core's error mechanism (`k.errors`) for the data files: user-level names, validators. */
import * as k from "../core/mod.ts";

export const {
  checkBool,
  checkFunction,
  checkInt,
  checkOneOf,
  checkOptions,
  checkSize,
  checkString,
  checkTensorArg,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userOp,
} = k.errors;
