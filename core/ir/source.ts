/**
 * Source primitives (realized buffers, constants, iota) and gather.
 * @module
 */
import { type Primitive, register } from "./primitive.ts";

/** Realized data. */
export const BUFFER: Primitive = { name: "buffer", kind: "source" };
/** A constant of any shape: `arg` is the value. */
export const CONST: Primitive = { name: "const", kind: "source" };
/** Index along axis `arg`: `iota([2,3], 1)` is `[[0,1,2],[0,1,2]]`. */
export const IOTA: Primitive = { name: "iota", kind: "source" };

/**
 * `gather(x, indices)` along axis `arg`: output shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from the end;
 * out-of-range indices are clamped (JAX's `mode="clip"`).
 */
export const GATHER: Primitive = {
  name: "gather",
  kind: "gather",
  shape: ([x, ind], arg) => {
    const a = arg as number;
    return [...x.slice(0, a), ...ind, ...x.slice(a + 1)];
  },
};

register(BUFFER, CONST, IOTA, GATHER);
