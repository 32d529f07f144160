/**
 * NaN hunting (`KILN_DEBUG_NANS`): when a kernel's float output holds a NaN (or, in `"inf"`
 * mode, an infinity), the nodes fused into that kernel are evaluated again one by one, in
 * program order, on the kernel's own input buffers, and the first node whose value goes bad is
 * reported with the user-level op and source line recorded when it was built. This runs only
 * after a bad value was seen, so its cost does not matter.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { type DebugNansMode, FloatingPointError } from "../debug.ts";
import { type BufferHandle, Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import type { Exec } from "../ir/call.ts";
import { fmt } from "../shape.ts";
import { compilePlan, type Executor, type Plan, type Step } from "./program.ts";

export { isFloat } from "../dtype.ts";

/** Index of the first NaN (with `"inf"`: or ±Infinity) in `a`, or -1. */
export function firstBad(a: TypedArray, mode: DebugNansMode): number {
  const n = a.length;
  if (mode === "inf") {
    for (let i = 0; i < n; i++) if (!Number.isFinite(a[i])) return i;
  } else {
    for (let i = 0; i < n; i++) if (a[i] !== a[i]) return i;
  }
  return -1;
}

const isFloatD = (d: DType) => d === "float32" || d === "float64" || d === "float16";

/** The buffers the program holds right now, by node (inputs, constants, computed slots). */
function available(
  plan: Plan,
  bufs: readonly (BufferHandle | undefined)[],
): Map<Node, BufferHandle> {
  const m = new Map<Node, BufferHandle>();
  plan.inputs.forEach((n, s) => bufs[s] && m.set(n, bufs[s]!));
  for (const [s, n] of plan.consts) if (bufs[s]) m.set(n, bufs[s]!);
  plan.slotNode.forEach((n, s) => n && bufs[s] && m.set(n, bufs[s]!));
  return m;
}

/** The nodes computed inside the kernel rooted at `root`, in program (creation) order. */
function region(root: Node, avail: ReadonlyMap<Node, BufferHandle>): Node[] | null {
  const seen = new Set<Node>([root]);
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    const k = prim(n.op).kind;
    if (k === "call" || k === "proj" || n.op === "placeholder" || n.op === "disposed") {
      return null; // cannot be recomputed on its own: report the kernel's root instead
    }
    for (const s of n.src) {
      if (seen.has(s) || avail.has(s) || s.buffer) continue;
      seen.add(s);
      stack.push(s);
    }
  }
  return [...seen].sort((a, b) => a.id - b.id);
}

/** `[i,j,...]` of a flat index. */
function unravel(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${idx.join(",")}]`;
}

/** The shape a user passed in: before the reshape + expand that broadcasting adds. */
function userShape(n: Node): readonly number[] {
  if (n.op !== "expand") return n.shape;
  const s = n.src[0];
  if (s.op === "reshape" && s.src[0].shape.length < s.shape.length) return s.src[0].shape;
  return s.shape;
}

/** An input as the user wrote it: a shape, or the number a JS scalar became. */
const inputText = (s: Node): string =>
  s.op === "const" ? `${s.dtype} ${s.arg}` : `${s.dtype}${fmt(userShape(s))}`;

const describe = (v: number) => Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";

/**
 * Re-evaluates the kernel of `step` node by node and throws a `FloatingPointError` naming the
 * first node whose value is bad. Never returns normally.
 */
export function* explainBadValue(
  ex: Executor,
  plan: Plan,
  step: Extract<Step, { kind: "kernel" }>,
  bufs: readonly (BufferHandle | undefined)[],
  mode: DebugNansMode,
): Exec<never> {
  const root = step.item.output;
  const avail = available(plan, bufs);
  const nodes = region(root, avail) ?? [root];
  const computed = new Map<Node, BufferHandle>();
  const standIn = (s: Node): Node => {
    const buf = avail.get(s) ?? computed.get(s) ?? s.buffer;
    if (!buf) throw new Error(`internal: debugNans lost the value of ${s.op}`);
    const n = new Node("buffer", [], undefined, s.shape, s.dtype, s.device);
    n.buffer = buf;
    return n;
  };
  ex.explaining = true;
  try {
    for (const n of nodes) {
      let buf: BufferHandle;
      if (nodes.length === 1) buf = bufs[step.out]!;
      else {
        const clone = new Node(n.op, n.src.map(standIn), n.arg, n.shape, n.dtype, n.device);
        const sub = compilePlan([clone], [], true);
        buf = (yield* ex.run(sub, []))[sub.outSlots[0]]!;
        computed.set(n, buf);
      }
      if (prim(n.op).kind === "movement" || !isFloatD(n.dtype)) continue;
      const data = yield* ex.read(buf);
      const at = firstBad(data, mode);
      if (at < 0) continue;
      // The culprit: say what its inputs held (and whether the bad value came in with them).
      const ins: TypedArray[] = [];
      for (const s of n.src) ins.push(yield* ex.read(avail.get(s) ?? computed.get(s) ?? s.buffer!));
      const elementwise = prim(n.op).kind === "elementwise";
      const values = elementwise
        ? `; input values there: ${ins.map((a) => String(a[at])).join(", ")}`
        : "";
      const carried = n.src.findIndex((s, i) => isFloatD(s.dtype) && firstBad(ins[i], mode) >= 0);
      const op = n.origin?.op ?? n.op;
      const site = n.origin?.site ?? "";
      const v = describe(data[at]);
      const msg = `${op}: produced ${v} at index ${unravel(at, n.shape)} of its ${n.dtype}` +
        `${fmt(n.shape)} output` + (site ? `, at ${site}` : "") +
        `\n  primitive ${n.op}, inputs ${n.src.map(inputText).join(", ") || "none"}${values}` +
        (carried >= 0
          ? `\n  note: input ${carried} already held ${mode === "inf" ? "NaN/Infinity" : "NaN"} ` +
            "(passed in as data, not computed by an op)"
          : "") +
        (n.origin ? "" : "\n  (built before NaN debugging was turned on: no source line)") +
        `\n  in ${step.item} (KILN_DEBUG_NANS${mode === "inf" ? "=inf" : "=1"})`;
      throw new FloatingPointError(msg, op, n.op, site, v);
    }
    // Evaluated one by one, nothing went bad (fusion changed the arithmetic): name the root.
    const op = root.origin?.op ?? root.op;
    throw new FloatingPointError(
      `${op}: produced a ${mode === "inf" ? "NaN or Infinity" : "NaN"} in ${step.item}` +
        (root.origin?.site ? `, at ${root.origin.site}` : ""),
      op,
      root.op,
      root.origin?.site ?? "",
      "NaN",
    );
  } finally {
    ex.explaining = false;
    for (const b of computed.values()) ex.release(b);
  }
}
