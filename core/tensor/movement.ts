/**
 * Movement ops: views over the same data. Inside a kernel they are index arithmetic, so a chain
 * of them never copies. `concatenate` is a sum of zero-padded views (one fused kernel).
 * @module
 */
import { makeNode } from "../ir/graph.ts";
import type { PadArg } from "../ir/movement.ts";
import { checkShape, fmt, normAxes, normAxis, numel } from "../shape.ts";
import { less, where } from "./elementwise.ts";
import { makeLeaf } from "../ir/graph.ts";
import {
  asTensor,
  broadcastNode,
  castNode,
  resultDtype,
  sameDevice,
  type TensorLike,
  wrap,
} from "./convert.ts";
import type { Tensor } from "./tensor.ts";
import {
  checkInt,
  checkInts,
  checkOptions,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "../errors.ts";

/** Checks `{axis}` options; returns the axis (or undefined). */
function axisOpt(op: string, opts: AxisOption | undefined): number | undefined {
  return checkOptions(op, opts, ["axis"]).axis;
}

/** Checks an axis argument: an integer or an array of integers. */
function axesArg(op: string, axis: unknown, what = "axis"): number | readonly number[] {
  if (typeof axis === "number") return axis;
  if (Array.isArray(axis)) return checkInts(op, axis, what, -Infinity);
  throw typeError(op, `${what} must be an integer or an array of integers, got ${describe(axis)}`);
}

/** Options naming one axis. */
export interface AxisOption {
  /** The axis (negative counts from the end). */
  axis?: number;
}

/** Gives `x` a new shape with the same number of elements; one entry may be -1. @example k.reshape(x, [2, -1]) */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor("reshape", x);
  const s = checkInts("reshape", shape, "shape", -1);
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) {
    throw rangeError("reshape", `invalid target shape ${fmt(s)} for ${fmt(t.shape)}`);
  }
  if (neg === 1) {
    const known = s.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
    if (known === 0 || t.size % known !== 0) {
      throw shapeError(
        "reshape",
        `cannot reshape ${fmt(t.shape)} (${t.size} elements) into ${fmt(s)}`,
      );
    }
    s[s.indexOf(-1)] = t.size / known;
  }
  if (numel(s) !== t.size) {
    throw shapeError(
      "reshape",
      `cannot reshape ${fmt(t.shape)} (${t.size} elements) into ${fmt(s)} (${numel(s)} elements)`,
    );
  }
  if (s.length === t.ndim && s.every((d, i) => d === t.shape[i])) return t;
  if (t.node.op === "reshape") return wrap(makeNode("reshape", [t.node.src[0]], s));
  return wrap(makeNode("reshape", [t.node], s));
}

/** Permutes axes; the default reverses them. @example k.transpose(x, [1, 0]) */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = asTensor("transpose", x);
  const p = perm !== undefined && perm !== null
    ? checkInts("transpose", perm, "perm", -Infinity).map((a) => normAxis("transpose", a, t.ndim))
    : [...Array(t.ndim).keys()].reverse();
  if (p.length !== t.ndim || new Set(p).size !== p.length) {
    throw rangeError(
      "transpose",
      `perm ${JSON.stringify(perm)} is not a permutation of the ${t.ndim} axes of ${fmt(t.shape)}`,
    );
  }
  if (p.every((a, i) => a === i)) return t;
  return wrap(makeNode("permute", [t.node], p));
}

/** Inserts size-1 axes at the given positions (of the result). @example k.expandDims(x, 0) */
export function expandDims(x: TensorLike, axis: number | readonly number[]): Tensor {
  return userOp("expandDims", () => expandDimsImpl(x, axis));
}

function expandDimsImpl(x: TensorLike, axis: number | readonly number[]): Tensor {
  const t = asTensor("expandDims", x);
  const a = axesArg("expandDims", axis);
  const axes = typeof a === "number" ? [a] : [...a];
  const rank = t.ndim + axes.length;
  const norm = normAxes("expandDims", axes, rank);
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : t.shape[j++]);
  return reshape(t, shape);
}

/** Removes size-1 axes (all of them, or the given ones). @example k.squeeze(x, 0) */
export function squeeze(x: TensorLike, axis?: number | readonly number[] | null): Tensor {
  return userOp("squeeze", () => {
    const t = asTensor("squeeze", x);
    const axes = axis === undefined || axis === null
      ? t.shape.flatMap((d, i) => d === 1 ? [i] : [])
      : normAxes("squeeze", axesArg("squeeze", axis), t.ndim);
    for (const a of axes) {
      if (t.shape[a] !== 1) {
        throw shapeError("squeeze", `axis ${a} of ${fmt(t.shape)} has size ${t.shape[a]}, not 1`);
      }
    }
    return reshape(t, t.shape.filter((_, i) => !axes.includes(i)));
  });
}

/** Broadcasts to `shape` (numpy rules). @example k.broadcastTo(k.tensor([1, 2]), [3, 2]) */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor("broadcastTo", x);
  const s = checkShape("broadcastTo", shape);
  const off = s.length - t.ndim;
  if (off < 0 || t.shape.some((d, i) => d !== 1 && d !== s[off + i])) {
    throw shapeError("broadcastTo", `cannot broadcast ${fmt(t.shape)} to ${fmt(s)}`);
  }
  return wrap(broadcastNode(t.node, s));
}

/** One slice entry: `[start, stop?, step?]` (Python semantics, negatives count from the end). */
export type SliceSpec = readonly [(number | null)?, (number | null)?, number?] | readonly number[];

/**
 * Slices leading axes, one `[start, stop, step?]` per axis (Python semantics, negative indices
 * and negative steps allowed). @example k.slice(x, [[0, 2], [1, null, 2]])
 */
export function slice(x: TensorLike, specs: readonly SliceSpec[]): Tensor {
  let t = asTensor("slice", x);
  if (!Array.isArray(specs)) {
    throw typeError(
      "slice",
      `specs must be an array of [start, stop, step?], got ${describe(specs)}`,
    );
  }
  if (specs.length > t.ndim) {
    throw rangeError(
      "slice",
      `${specs.length} slice entries for ${fmt(t.shape)} of rank ${t.ndim}`,
    );
  }
  specs.forEach((spec, i) => {
    const ok = Array.isArray(spec) && spec.length <= 3 &&
      spec.every((v) => v === undefined || v === null || typeof v === "number");
    if (!ok) {
      throw typeError(
        "slice",
        `specs[${i}] must be [start, stop, step?] of integers or null, got ${
          Array.isArray(spec) ? JSON.stringify(spec) : describe(spec)
        }`,
      );
    }
  });
  const flipAxes: boolean[] = new Array(t.ndim).fill(false);
  const arg: [number, number, number][] = t.shape.map((d) => [0, d, 1]);
  specs.forEach((spec, i) => {
    const n = t.shape[i];
    const [s0, s1, s2] = spec as (number | null | undefined)[];
    const step = s2 ?? 1;
    if (!Number.isInteger(step) || step === 0) {
      throw rangeError("slice", `step must be a non-zero integer, got ${step} for axis ${i}`);
    }
    const norm = (v: number | null | undefined, dflt: number, lo: number, hi: number) => {
      if (v === undefined || v === null) return dflt;
      if (!Number.isInteger(v)) {
        throw rangeError("slice", `index ${v} for axis ${i} is not an integer`);
      }
      return Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    };
    if (step > 0) {
      arg[i] = [norm(s0, 0, 0, n), norm(s1, n, 0, n), step];
      if (arg[i][1] < arg[i][0]) arg[i][1] = arg[i][0];
    } else {
      // Negative step: flip, then slice forward from the mirrored start.
      const start = norm(s0, n - 1, -1, n - 1), stop = norm(s1, -1, -1, n - 1);
      flipAxes[i] = true;
      const a = n - 1 - start, z = n - 1 - stop;
      arg[i] = [a, Math.max(a, z), -step];
    }
  });
  if (flipAxes.some((f) => f)) t = wrap(makeNode("flip", [t.node], flipAxes));
  if (arg.every(([a, z, s], i) => a === 0 && z === t.shape[i] && s === 1)) return t;
  return wrap(makeNode("shrink", [t.node], arg));
}

/** Options of `pad`. */
export interface PadOptions {
  /** Fill value (default 0). */
  value?: number;
}

/** Pads leading axes by `[before, after]` each (negative amounts crop). @example k.pad(x, [[1, 1], [0, 2]]) */
export function pad(
  x: TensorLike,
  pads: readonly (readonly [number, number])[],
  opts: PadOptions = {},
): Tensor {
  return userOp("pad", () => padImpl(x, pads, opts));
}

function padImpl(
  x: TensorLike,
  pads: readonly (readonly [number, number])[],
  opts: PadOptions,
): Tensor {
  let t = asTensor("pad", x);
  const value = checkOptions("pad", opts, ["value"]).value;
  if (value !== undefined) checkPadValue(value);
  if (!Array.isArray(pads)) {
    throw typeError("pad", `pads must be an array of [before, after] pairs, got ${describe(pads)}`);
  }
  if (pads.length > t.ndim) {
    throw rangeError("pad", `${pads.length} pad entries for ${fmt(t.shape)} of rank ${t.ndim}`);
  }
  pads.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || p.some((v) => typeof v !== "number")) {
      throw typeError(
        "pad",
        `pads[${i}] must be a [before, after] pair of integers, got ${
          Array.isArray(p) ? JSON.stringify(p) : describe(p)
        }`,
      );
    }
  });
  const full = t.shape.map((_, i) => pads[i] ?? [0, 0]);
  for (const [a, b] of full) {
    if (!Number.isInteger(a) || !Number.isInteger(b)) {
      throw rangeError("pad", `pad amounts must be integers, got ${JSON.stringify(pads)}`);
    }
  }
  full.forEach(([a, b], i) => {
    if (Math.max(0, -a) + Math.max(0, -b) > t.shape[i]) {
      throw rangeError(
        "pad",
        `pads[${i}] = [${a}, ${b}] crops more than the ${t.shape[i]} elements of axis ${i} of ${
          fmt(t.shape)
        }`,
      );
    }
  });
  if (full.some(([a, b]) => a < 0 || b < 0)) {
    t = slice(t, full.map(([a, b], i) => [Math.max(0, -a), t.shape[i] - Math.max(0, -b)]));
  }
  const pos = full.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]);
  if (pos.every(([a, b]) => a === 0 && b === 0)) return t;
  const arg: PadArg = { pads: pos, value: value ?? 0 };
  return wrap(makeNode("pad", [t.node], arg));
}

/** Reverses the given axes (all by default). @example k.flip(x, {axis: 0}) */
export function flip(x: TensorLike, opts: { axis?: number | readonly number[] } = {}): Tensor {
  const t = asTensor("flip", x);
  const axes = normAxes("flip", checkOptions("flip", opts, ["axis"]).axis, t.ndim);
  if (axes.length === 0) return t;
  return wrap(makeNode("flip", [t.node], t.shape.map((_, i) => axes.includes(i))));
}

/** Joins tensors along an existing axis (default 0). @example k.concatenate([a, b], {axis: 1}) */
export function concatenate(ts: readonly TensorLike[], opts: AxisOption = {}): Tensor {
  return userOp("concatenate", () => concatenateImpl(ts, opts));
}

function tensorList(op: string, ts: unknown): Tensor[] {
  if (!Array.isArray(ts)) {
    throw typeError(op, `tensors must be an array of tensors, got ${describe(ts)}`);
  }
  if (ts.length === 0) throw rangeError(op, "needs at least one tensor, got an empty array");
  return ts.map((x, i) => asTensor(op, x, `tensors[${i}]`));
}

function concatenateImpl(ts: readonly TensorLike[], opts: AxisOption): Tensor {
  const xs = tensorList("concatenate", ts);
  const axisArg = axisOpt("concatenate", opts);
  sameDevice("concatenate", xs);
  const rank = xs[0].ndim;
  if (rank === 0) throw shapeError("concatenate", "cannot concatenate 0-d tensors (use stack)");
  const axis = normAxis("concatenate", axisArg ?? 0, rank);
  for (const x of xs) {
    if (x.ndim !== rank || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) {
      throw shapeError(
        "concatenate",
        `shapes ${xs.map((x) => fmt(x.shape)).join(", ")} differ off axis ${axis}`,
      );
    }
  }
  const d = resultDtype(xs);
  const total = xs.reduce((a, x) => a + x.shape[axis], 0);
  if (xs.length === 1) return wrap(castNode(xs[0].node, d));
  // Each output position selects the one piece covering it (a chain of `where`, one kernel).
  const shape = xs[0].shape.map((s, i) => i === axis ? total : s);
  const pos = wrap(makeLeaf("iota", axis, shape, "int32", xs[0].device));
  let before = 0;
  let acc: Tensor | undefined;
  for (const x of xs) {
    const pads = x.shape.map((_, i) =>
      i === axis
        ? [before, total - before - x.shape[axis]] as [number, number]
        : [0, 0] as [number, number]
    );
    const p = pad(wrap(castNode(x.node, d)), pads);
    acc = acc ? where(less(pos, before), acc, p) : p;
    before += x.shape[axis];
  }
  return acc!;
}

/** Stacks tensors of one shape along a new axis. @example k.stack([a, b], {axis: 0}) */
export function stack(ts: readonly TensorLike[], opts: AxisOption = {}): Tensor {
  return userOp("stack", () => {
    const xs = tensorList("stack", ts);
    const axisArg = axisOpt("stack", opts);
    for (const x of xs) {
      if (x.ndim !== xs[0].ndim || x.shape.some((d, i) => d !== xs[0].shape[i])) {
        throw shapeError(
          "stack",
          `all shapes must be equal, got ${xs.map((x) => fmt(x.shape)).join(", ")}`,
        );
      }
    }
    const axis = normAxis("stack", axisArg ?? 0, xs[0].ndim + 1);
    return concatenate(xs.map((x) => expandDims(x, axis)), { axis });
  });
}

/**
 * Splits into equal sections (a number) or at indices (a list), like `numpy.split`.
 * @example const [a, b] = k.split(x, 2, {axis: 1})
 */
export function split(
  x: TensorLike,
  sectionsOrIndices: number | readonly number[],
  opts: AxisOption = {},
): Tensor[] {
  return userOp("split", () => splitImpl(x, sectionsOrIndices, opts));
}

function splitImpl(
  x: TensorLike,
  sectionsOrIndices: number | readonly number[],
  opts: AxisOption,
): Tensor[] {
  const t = asTensor("split", x);
  const axis = normAxis("split", axisOpt("split", opts) ?? 0, t.ndim);
  const n = t.shape[axis];
  let cuts: number[];
  if (typeof sectionsOrIndices === "number") {
    const k = checkInt("split", sectionsOrIndices, "sections", 1);
    if (n % k !== 0) {
      throw shapeError(
        "split",
        `axis ${axis} of ${fmt(t.shape)} (size ${n}) does not split into ${k} equal sections`,
      );
    }
    cuts = [...Array(k + 1).keys()].map((i) => (i * n) / k);
  } else {
    const idx = checkInts("split", sectionsOrIndices, "indices", -Infinity);
    cuts = [0, ...idx.map((i) => Math.min(Math.max(i < 0 ? i + n : i, 0), n)), n];
  }
  const out: Tensor[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const spec: SliceSpec[] = t.shape.map((d, j) =>
      j === axis ? [cuts[i], Math.max(cuts[i], cuts[i + 1])] : [0, d]
    );
    out.push(slice(t, spec));
  }
  return out;
}

/** Repeats the whole tensor `reps` times per axis (`numpy.tile`). @example k.tile(x, [2, 3]) */
export function tile(x: TensorLike, reps: number | readonly number[]): Tensor {
  return userOp("tile", () => tileImpl(x, reps));
}

function tileImpl(x: TensorLike, reps: number | readonly number[]): Tensor {
  let t = asTensor("tile", x);
  const r = checkShape("tile", typeof reps === "number" ? [reps] : reps, "reps");
  const rank = Math.max(r.length, t.ndim);
  while (r.length < rank) r.unshift(1);
  if (t.ndim < rank) t = reshape(t, [...Array(rank - t.ndim).fill(1), ...t.shape]);
  const inter = t.shape.flatMap((d) => [1, d]);
  const big = t.shape.flatMap((d, i) => [r[i], d]);
  return reshape(broadcastTo(reshape(t, inter), big), t.shape.map((d, i) => d * r[i]));
}

/** Repeats each element `repeats` times along `axis` (`numpy.repeat`; flattens without axis). @example k.repeat(x, 2, {axis: 0}) */
export function repeat(x: TensorLike, repeats: number, opts: AxisOption = {}): Tensor {
  return userOp("repeat", () => repeatImpl(x, repeats, opts));
}

function repeatImpl(x: TensorLike, repeats: number, opts: AxisOption): Tensor {
  let t = asTensor("repeat", x);
  checkInt("repeat", repeats, "repeats", 0);
  const axisArg = axisOpt("repeat", opts);
  if (axisArg === undefined) t = reshape(t, [t.size]);
  const axis = normAxis("repeat", axisArg ?? 0, t.ndim);
  const inter = [...t.shape.slice(0, axis + 1), 1, ...t.shape.slice(axis + 1)];
  const big = [...t.shape.slice(0, axis + 1), repeats, ...t.shape.slice(axis + 1)];
  const out = t.shape.map((d, i) => i === axis ? d * repeats : d);
  return reshape(broadcastTo(reshape(t, inter), big), out);
}

/** Pad values may be any number (±Infinity pads max/min pools, NaN marks holes). */
function checkPadValue(v: unknown): void {
  if (typeof v !== "number") throw typeError("pad", `value must be a number, got ${describe(v)}`);
}
