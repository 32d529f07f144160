/** Shape arithmetic shared by the IR and the op API: broadcasting, axes, strides. @module */
import { checkInts, describe, rangeError, shapeError, typeError } from "./errors.ts";

/** A tensor shape: one non-negative integer per axis. */
export type Shape = readonly number[];

/** `[2,3]` style rendering for error messages. */
export function fmt(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Whether two shapes are equal. */
export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting of several shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else {
        throw shapeError(
          op,
          `shapes ${shapes.map(fmt).join(" and ")} do not broadcast (axis ${o - rank}: ${
            out[o]
          } vs ${d})`,
        );
      }
    }
  }
  return out;
}

/** Normalizes one possibly negative axis against `rank`. */
export function normAxis(op: string, axis: number, rank: number, what = "axis"): number {
  if (typeof axis !== "number") {
    throw typeError(op, `${what} must be an integer, got ${describe(axis)}`);
  }
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw rangeError(op, `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes `axis` (number, list, or null/undefined = all axes) to sorted unique axes. */
export function normAxes(
  op: string,
  axis: number | readonly number[] | null | undefined,
  rank: number,
): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  if (typeof axis !== "number" && !Array.isArray(axis)) {
    throw typeError(op, `axis must be an integer or an array of integers, got ${describe(axis)}`);
  }
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normAxis(op, a, rank));
  const uniq = [...new Set(out)].sort((a, b) => a - b);
  if (uniq.length !== out.length) {
    throw rangeError(op, `repeated axis in ${JSON.stringify(axis)}`);
  }
  return uniq;
}

/** Validates a user shape: non-negative integers. */
export function checkShape(op: string, shape: unknown, what = "shape"): number[] {
  return checkInts(op, shape, what, 0);
}
