/**
 * The scheduler: which nodes become kernel outputs (materialized), in what order.
 *
 * Fusion rules (each kernel computes one output node, everything else inside is inlined):
 * 1. Requested tensors are kernel outputs; realized nodes are plain loads.
 * 2. Elementwise ops and movement ops fuse into their consumer (movement ops are index
 *    arithmetic, never copies); cheap elementwise work shared by several kernels is recomputed.
 * 3. A reduction fuses into its consumer as long as no broadcast (`expand`) lies between them:
 *    its elementwise producers become the loop body and its elementwise consumers its
 *    epilogue (`relu(matmul(a, w) + b)` is one kernel).
 * 4. Broadcasting a computed value would recompute it per broadcast element, so any non-leaf
 *    node reached through an expanding `expand`, an `unwindow` (col2im) or read by a gather is
 *    materialized: softmax's row max and row sum, a hidden layer feeding the next matmul, the
 *    columns of a convolution's input gradient.
 * 5. A reduction consumed by several kernels is materialized once, and so is a contraction
 *    read inside another reduction's loop or through a reshape that merges its axes: nesting
 *    it, or splitting a merged index again by division, would keep it off the tiled
 *    contraction path (a convolution feeding a max pool; a grouped convolution's
 *    `[groups, out/groups]` channels merged into one axis).
 * 6. A kernel never reads more buffers than its device binds (`maxKernelInputs`).
 * 7. Elementwise work shared by several kernels is recomputed in each unless it is costly (a
 *    long chain, or branches on data: masks, `where`): then it is materialized once. Batch
 *    norm's backward reads the same masked cotangent in three kernels.
 * @module
 */
import type { Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import type { KernelIR } from "../ir/kernel.ts";
import { lower } from "./lower.ts";
import { fmt } from "../shape.ts";
import { projsOf } from "../ir/call.ts";
import { getBackend } from "../backends/backend.ts";

/** One kernel of a schedule. */
export interface ScheduledKernel {
  readonly kind: "kernel";
  /** The node this kernel computes. */
  readonly output: Node;
  /** Nodes read from memory, one per input slot. */
  readonly inputs: readonly Node[];
  readonly ir: KernelIR;
  /** A one-line summary. */
  toString(): string;
}

/** A call primitive (`scan`, `cond`, a jitted call) run on the host between kernels. */
export interface ScheduledCall {
  readonly kind: "call";
  /** The call node. */
  readonly call: Node;
  /** Nodes read from memory, one per call operand. */
  readonly inputs: readonly Node[];
  /** The call's output nodes by index (`undefined`: no longer referenced). */
  readonly outputs: readonly (Node | undefined)[];
  toString(): string;
}

/** One step of a schedule. */
export type ScheduleItem = ScheduledKernel | ScheduledCall;

/** Values read from memory rather than computed: realized data and traced inputs. */
export const isLoaded = (n: Node): boolean => n.realized || n.op === "placeholder";

/** Whether a subgraph is free to recompute anywhere (constants and iota through views/math). */
function leafishTest(): (n: Node) => boolean {
  const memo = new Map<Node, boolean>();
  const test = (n: Node): boolean => {
    let r = memo.get(n);
    if (r === undefined) {
      const k = prim(n.op).kind;
      if (k === "source") r = n.op !== "buffer" && n.op !== "placeholder" && !n.realized;
      else if (k === "movement" || k === "elementwise") r = !n.realized && n.src.every(test);
      else r = false;
      memo.set(n, r);
    }
    return r;
  };
  return test;
}

/**
 * Whether `n` reads its source in a way that makes fusing a computed source wasteful: a
 * broadcasting `expand` (recomputed per copy), or an `unwindow` (col2im), whose masked strided
 * reads would evaluate a fused producer where the mask is false and keep a contraction
 * producing the columns off the tiled path.
 */
function broadcasts(n: Node): boolean {
  if (n.op === "unwindow") return true;
  return n.op === "expand" && n.src[0].shape.some((d, i) => d !== n.shape[i]);
}

/** A stable key for a node argument; non-finite numbers stay distinct (JSON maps them to null). */
function argKey(arg: unknown): string {
  return JSON.stringify(
    arg,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? `#${v}` : v),
  ) ??
    "";
}

/**
 * Graph-level CSE: structurally identical nodes (same op, arg, dtype, shape and canonical
 * sources) map to one representative, so e.g. the mean computed twice by `x - mean(x)` and
 * `variance(x)` is computed once. Requested targets always represent themselves.
 */
function canonicalizer(targets: readonly Node[]): (n: Node) => Node {
  const byKey = new Map<string, Node>();
  const canonOf = new Map<Node, Node>();
  const targetSet = new Set(targets);
  const opaque = (n: Node) => n.realized || n.op === "disposed" || n.op === "placeholder";
  // Iterative post-order: unrolled loops make graphs thousands of nodes deep.
  const canon = (root: Node): Node => {
    const stack: Node[] = [root];
    while (stack.length) {
      const n = stack[stack.length - 1];
      if (canonOf.has(n)) {
        stack.pop();
        continue;
      }
      if (!opaque(n)) {
        const todo = n.src.filter((s) => !canonOf.has(s));
        if (todo.length) {
          stack.push(...todo);
          continue;
        }
      }
      stack.pop();
      let c = n;
      if (!opaque(n)) {
        const src = n.src.map((x) => canonOf.get(x)!);
        const key = `${n.op}|${n.dtype}|${n.shape}|${argKey(n.arg)}|${src.map((x) => x.id)}`;
        const prev = byKey.get(key);
        if (prev && !targetSet.has(n)) c = prev;
        else if (!prev) byKey.set(key, n);
      }
      canonOf.set(n, c);
    }
    return canonOf.get(root)!;
  };
  for (const t of targets) canon(t);
  return canon;
}

/**
 * Device buffer limits (rule 6): where a backend binds at most `maxKernelInputs` buffers per
 * kernel (WebGPU's storage buffers per shader stage), a kernel whose region would read more is
 * split by materializing the region node that gathers the most inputs within the limit. Returns
 * whether a root was added (the fusion rules then run again).
 */
function splitWide(roots: Set<Node>, srcOf: (n: Node) => Node[]): boolean {
  let added = false;
  for (const r of [...roots]) {
    if (r.op === "proj" || isLoaded(r)) continue;
    const limit = getBackend(r.device).maxKernelInputs;
    if (limit === undefined) continue;
    const under = new Map<Node, Set<Node>>();
    const walk = (n: Node): Set<Node> => {
      if (isLoaded(n) || (n !== r && roots.has(n))) return new Set([n]);
      let s = under.get(n);
      if (!s) {
        s = new Set();
        for (const x of srcOf(n)) for (const i of walk(x)) s.add(i);
        under.set(n, s);
      }
      return s;
    };
    const all = walk(r);
    if (all.size <= limit) continue;
    let best: Node | undefined;
    for (const [n, s] of under) {
      if (n !== r && s.size <= limit && s.size > (best ? under.get(best)!.size : 1)) best = n;
    }
    if (!best) {
      throw new Error(
        `schedule: a kernel computing ${r.op}${fmt(r.shape)} reads ${all.size} buffers, more ` +
          `than the ${r.device} device binds (${limit}), and cannot be split`,
      );
    }
    roots.add(best);
    added = true;
  }
  return added;
}

/**
 * Whether `n` is a contraction: a sum of a product whose operands are both broadcast (a matmul,
 * an einsum, a convolution's window times its kernel).
 */
function contractionLike(n: Node, srcOf: (n: Node) => Node[]): boolean {
  if (n.op !== "sum") return false;
  const p = srcOf(n)[0];
  if (p.op !== "mul") return false;
  const broadcast = (x: Node): boolean => {
    for (;;) {
      if (broadcasts(x) || x.op === "rewindow") return true;
      if (prim(x.op).kind !== "movement" && x.op !== "cast") return false;
      x = srcOf(x)[0];
    }
  };
  return srcOf(p).every(broadcast);
}

/** Ops that branch on data in the CPU's loops (mispredicted on random masks) or are slow. */
const WEIGHT: Record<string, number> = {
  where: 3,
  less: 2,
  lessEqual: 2,
  greater: 2,
  greaterEqual: 2,
  equal: 2,
  notEqual: 2,
  relu: 2,
  exp: 3,
  log: 3,
  tanh: 4,
  sigmoid: 4,
  erf: 4,
  pow: 4,
  sin: 3,
  cos: 3,
};

/**
 * Whether recomputing `n` in each kernel that reads it costs more than storing it once: at
 * least 1024 elements and a fused region (up to loads and other kernels' outputs) of weighted
 * cost 10 or more.
 */
function costly(n: Node, srcOf: (n: Node) => Node[], roots: ReadonlySet<Node>): boolean {
  if (n.shape.reduce((a, d) => a * d, 1) < 1024) return false;
  let cost = 0;
  const seen = new Set<Node>();
  const stack = [n];
  while (stack.length && cost < 10) {
    const x = stack.pop()!;
    if (seen.has(x) || isLoaded(x) || (x !== n && roots.has(x))) continue;
    seen.add(x);
    const kind = prim(x.op).kind;
    if (kind === "reduce" || kind === "call" || kind === "proj") continue;
    if (kind === "elementwise") cost += WEIGHT[x.op] ?? 1;
    stack.push(...srcOf(x));
  }
  return cost >= 10;
}

/** Whether reshaping `from` to `to` merges two or more axes larger than 1 into one. */
function mergesAxes(from: readonly number[], to: readonly number[]): boolean {
  let i = 0, j = 0;
  while (i < from.length && j < to.length) {
    let a = from[i++], b = to[j++], bigA = a > 1 ? 1 : 0;
    while (a !== b) {
      if (a < b) {
        if (i >= from.length) return false;
        a *= from[i];
        if (from[i++] > 1) bigA++;
      } else {
        if (j >= to.length) return false;
        b *= to[j++];
      }
    }
    if (bigA > 1) return true;
  }
  return false;
}

/** Chooses kernel roots and returns kernels (and host calls) in dependency order. */
export function scheduleNodes(targets: readonly Node[]): ScheduleItem[] {
  const canon = canonicalizer(targets);
  const srcOf = (n: Node) => n.src.map(canon);
  // Traced inputs requested as outputs are read from memory (a program copies them out).
  const roots = new Set<Node>(targets.filter((t) => !isLoaded(t)));
  const isLeafish = leafishTest();
  for (;;) {
    const owners = new Map<Node, Set<Node>>();
    const users = new Map<Node, Set<Node>>();
    const before = roots.size;
    for (const r of [...roots]) {
      const seen = new Set<string>();
      const stack: [Node, boolean, boolean][] = [[r, false, false]];
      // `nested`: reached from inside a reduction's loop.
      let nested = false;
      const visit = (n: Node, bcast: boolean) => stack.push([n, bcast, nested]);
      const step = (n: Node, bcast: boolean, inLoop: boolean) => {
        nested = inLoop;
        if (n.realized || (n !== r && roots.has(n))) return;
        if (n.op === "placeholder" && n !== r) return;
        const key = `${n.id}:${bcast}:${inLoop}`;
        if (seen.has(key)) return;
        seen.add(key);
        const kind = prim(n.op).kind;
        if (kind === "proj") {
          // A call's output: produced by the call; the call's operands live in memory.
          if (n !== r) roots.add(n);
          else for (const s of srcOf(canon(n.src[0]))) if (!isLoaded(s)) roots.add(s);
          return;
        }
        // Identity ops (a same-dtype cast wrapping a traced input, stopGradient) are free.
        const identity = (n.op === "cast" && n.dtype === n.src[0].dtype) || n.op === "stopGradient";
        if (
          bcast && n !== r && kind !== "movement" && kind !== "source" && !identity && !isLeafish(n)
        ) {
          roots.add(n);
          return;
        }
        if (kind === "elementwise" && n !== r && !identity && !isLeafish(n)) {
          if (!users.has(n)) users.set(n, new Set());
          users.get(n)!.add(r);
        }
        if (kind === "reduce") {
          if (inLoop && n !== r && contractionLike(n, srcOf)) {
            roots.add(n);
            return;
          }
          if (!owners.has(n)) owners.set(n, new Set());
          owners.get(n)!.add(r);
          nested = true;
          visit(srcOf(n)[0], false);
        } else if (kind === "gather") {
          visit(srcOf(n)[0], true);
          visit(srcOf(n)[1], bcast);
        } else if (kind === "scatter") {
          // Scatter-add writes at data-dependent places: always a kernel of its own. Its
          // operands fuse into its passes (x into the copy, indices and updates into the loop
          // over the updates); read there as in a loop, a contraction stays on the tiled path.
          if (n !== r) {
            roots.add(n);
            return;
          }
          nested = true;
          for (const s of srcOf(n)) visit(s, false);
        } else {
          const b2 = bcast || broadcasts(n);
          const s0 = srcOf(n)[0];
          if (n.op === "reshape" && mergesAxes(s0.shape, n.shape) && contractionLike(s0, srcOf)) {
            roots.add(s0);
            return;
          }
          for (const s of srcOf(n)) visit(s, b2);
        }
      };
      while (stack.length) step(...stack.pop()!);
      nested = false;
    }
    for (const [n, o] of owners) if (o.size > 1) roots.add(n);
    // Consumers first: materializing one makes its whole region single-use (rule 7).
    const covered = new Set<Node>();
    const shared = [...users].filter(([, u]) => u.size > 1).map(([n]) => n);
    for (const n of shared.sort((a, b) => b.id - a.id)) {
      if (covered.has(n) || !costly(n, srcOf, roots)) continue;
      roots.add(n);
      const stack = [...srcOf(n)];
      while (stack.length) {
        const x = stack.pop()!;
        if (covered.has(x) || isLoaded(x) || roots.has(x)) continue;
        covered.add(x);
        stack.push(...srcOf(x));
      }
    }
    if (roots.size === before && !splitWide(roots, srcOf)) break;
  }

  // Order: a kernel after every kernel whose output it loads.
  const order: Node[] = [];
  const items = new Map<Node, ScheduledCall>();
  const done = new Set<Node>();
  const lowered = new Map<Node, ReturnType<typeof lower>>();
  const isBoundary = (n: Node) => roots.has(n);
  const depsOf = (r: Node): Node[] => {
    if (r.op === "proj") return srcOf(canon(r.src[0])).filter((i) => roots.has(i) && !i.realized);
    const l = lower(r, isBoundary, canon);
    lowered.set(r, l);
    return l.inputs.filter((i) => i !== r && roots.has(i) && !i.realized);
  };
  const emit = (r: Node) => {
    if (r.op !== "proj") {
      order.push(r);
      return;
    }
    const c = canon(r.src[0]);
    if (items.has(c)) return;
    const inputs = srcOf(c);
    const outputs = projsOf(c);
    const line = `call ${c.op}: ${outputs.length} output(s) reads ${
      inputs.map((n) => `${n.dtype}${fmt(n.shape)}`).join(", ") || "nothing"
    }`;
    items.set(c, { kind: "call", call: c, inputs, outputs, toString: () => line });
    order.push(c);
  };
  // Depth-first, iteratively (a chain of thousands of kernels must not overflow the stack).
  const deps = new Map<Node, Node[]>();
  const place = (start: Node) => {
    const stack = [start];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (done.has(top)) {
        stack.pop();
        continue;
      }
      let d = deps.get(top);
      if (!d) deps.set(top, d = depsOf(top));
      const pending = d.filter((x) => !done.has(x));
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      done.add(top);
      emit(top);
    }
  };
  for (const r of [...roots].sort((a, b) => a.id - b.id)) place(r);
  let kernelNo = 0;
  return order.map((r): ScheduleItem => {
    const call = items.get(r);
    if (call) return call;
    const i = kernelNo++;
    const l = lowered.get(r)!;
    // Described now: realizing drops the graph this summary is read from.
    const line = `kernel ${i}: ${describe(r, roots, canon)} -> ${r.dtype}${fmt(r.shape)} reads ${
      l.inputs.map((n) => `${n.dtype}${fmt(n.shape)}`).join(", ") || "nothing"
    }`;
    return { kind: "kernel", output: r, inputs: l.inputs, ir: l.ir, toString: () => line };
  });
}

/** The ops fused into the kernel computing `n` (stopping at other kernels' outputs). */
function describe(n: Node, roots: ReadonlySet<Node>, canon: (n: Node) => Node): string {
  const ops: string[] = [];
  const seen = new Set<Node>();
  const walk = (x: Node) => {
    if (seen.has(x) || x.realized || (x !== n && roots.has(x))) return;
    seen.add(x);
    for (const s of x.src) walk(canon(s));
    if (prim(x.op).kind !== "movement" && x.op !== "const" && x.op !== "placeholder") {
      ops.push(x.op);
    }
  };
  walk(n);
  const uniq = [...new Set(ops)];
  return uniq.length > 8 ? `${uniq.slice(0, 8).join(",")},…` : uniq.join(",");
}
