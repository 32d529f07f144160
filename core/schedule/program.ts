/**
 * Programs: a schedule compiled once into steps over numbered buffer slots, then run any
 * number of times on fresh input buffers. An eager realize is a program with no inputs; a
 * `jit` call and a loop body are programs whose inputs are placeholders.
 *
 * Running is a generator: kernel launches and copies are queued, and only a call that must
 * see data (`cond`'s predicate, `whileLoop`'s condition) yields to the driver, which flushes
 * the queue and reads the buffer back — synchronously on the CPU, with `await` on WebGPU.
 * Everything between two reads is one `execute` (one command-encoder submit on WebGPU).
 * @module
 */
import { getBackend } from "../backends/backend.ts";
import type { CompiledKernel, Launch } from "../backends/backend.ts";
import type { DType, TypedArray } from "../dtype.ts";
import type { BufferHandle, Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import type {
  CallRules,
  Exec,
  ExecContext,
  ExecRequest,
  Graph,
  PlaceholderArg,
} from "../ir/call.ts";
import { type ScheduledKernel, type ScheduleItem, scheduleNodes } from "./schedule.ts";
import { fmt } from "../shape.ts";
import { nanMode } from "../debug.ts";
import { explainBadValue, firstBad, isFloat } from "./nans.ts";

/** A buffer that can give its memory back. */
export interface Releasable extends BufferHandle {
  release(): void;
  /**
   * What the garbage-collection finalizer holds instead of the buffer, if the memory can be
   * reclaimed by the JS garbage collector itself (host memory): the buffer then dies with its
   * node, and the token only settles the accounting when (if ever) the finalizer runs.
   */
  finalizationToken?(): { release(): void };
}

export type Step =
  | {
    readonly kind: "kernel";
    readonly kernel: CompiledKernel;
    readonly device: string;
    readonly ins: readonly number[];
    readonly out: number;
    readonly dtype: DType;
    readonly size: number;
    /** The scheduled kernel (NaN debugging re-evaluates its nodes one by one). */
    readonly item: ScheduledKernel;
  }
  | {
    readonly kind: "copy";
    readonly device: string;
    readonly src: number;
    readonly out: number;
    readonly dtype: DType;
    readonly size: number;
  }
  | {
    readonly kind: "call";
    readonly rules: CallRules;
    readonly node: Node;
    readonly src: readonly Node[];
    readonly ins: readonly number[];
    readonly outs: readonly number[];
  };

/** A compiled program. */
export interface Plan {
  readonly steps: readonly Step[];
  readonly nSlots: number;
  /** Realized nodes read by the program (their buffers are looked up at run time). */
  readonly consts: ReadonlyMap<number, Node>;
  /** The placeholders bound to the first slots. */
  readonly inputs: readonly Node[];
  readonly outSlots: readonly number[];
  /** The node each computed slot stands for (eager realize binds them). */
  readonly slotNode: readonly (Node | undefined)[];
  /** Slots to release after each step (intermediates of programs that do not keep them). */
  readonly releaseAfter: readonly (readonly number[])[];
  /** The schedule it came from. */
  readonly items: readonly ScheduleItem[];
  /** Number of kernels (not counting calls' sub-programs). */
  readonly kernels: number;
}

/** The error for reading a traced value as data, naming the fixes. */
export function tracedValueError(n: Node): Error {
  const a = n.arg as PlaceholderArg;
  const what = `${a.label ? a.label + ", " : ""}${n.dtype}${fmt(n.shape)}`;
  return new TypeError(
    `${a.transform}: a traced value (${what}) was used as concrete data while tracing. ` +
      `Inside ${a.transform}, values are not known until the traced function runs: use ` +
      "k.cond / k.switchCase for a data-dependent branch, k.whileLoop / k.foriLoop for a " +
      "data-dependent loop, or pass the value as a static argument (jit's staticArgnums), " +
      "and read results after the transformed function returns.",
  );
}

/** The first placeholder among `nodes`' ancestors that is not in `allowed`, if any. */
export function findPlaceholder(
  nodes: readonly Node[],
  allowed: ReadonlySet<Node> = new Set(),
): Node | undefined {
  const seen = new Set<Node>();
  const stack = [...nodes];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n) || n.realized) continue;
    seen.add(n);
    if (n.op === "placeholder" && !allowed.has(n)) return n;
    for (const s of n.src) stack.push(s);
  }
  return undefined;
}

/**
 * Compiles the program computing `outputs` from `inputs` (placeholders). With `keep`, every
 * computed slot survives the run (eager realize binds them to their nodes).
 */
export function compilePlan(
  outputs: readonly Node[],
  inputs: readonly Node[] = [],
  keep = false,
): Plan {
  const stray = findPlaceholder(outputs, new Set(inputs));
  if (stray) throw tracedValueError(stray);
  const items = scheduleNodes(outputs);
  const slotOf = new Map<Node, number>();
  const slotNode: (Node | undefined)[] = [];
  const consts = new Map<number, Node>();
  const newSlot = (n?: Node) => {
    slotNode.push(n);
    return slotNode.length - 1;
  };
  inputs.forEach((n) => slotOf.set(n, newSlot()));
  const read = (n: Node): number => {
    let s = slotOf.get(n);
    if (s === undefined) {
      if (!n.realized) throw new Error(`internal: ${n.op} read before it is computed`);
      s = newSlot();
      slotOf.set(n, s);
      consts.set(s, n);
    }
    return s;
  };
  const steps: Step[] = [];
  let kernels = 0;
  for (const it of items) {
    if (it.kind === "kernel") {
      const ins = it.inputs.map(read);
      const out = newSlot(it.output);
      slotOf.set(it.output, out);
      const device = it.output.device;
      const size = it.ir.outShape.reduce((a, d) => a * d, 1);
      const kernel = getBackend(device).compile(it.ir);
      const dtype = it.output.dtype;
      steps.push({ kind: "kernel", kernel, device, ins, out, dtype, size, item: it });
      kernels++;
    } else {
      const ins = it.inputs.map(read);
      const outs = it.outputs.map((o) => {
        const s = newSlot(o);
        if (o) slotOf.set(o, s);
        return s;
      });
      const rules = prim(it.call.op).call!;
      steps.push({ kind: "call", rules, node: it.call, src: it.inputs, ins, outs });
    }
  }
  // Every output gets a buffer of its own: inputs, constants and repeats are copied.
  const owned = new Set<number>();
  const outSlots = outputs.map((o) => {
    const s = read(o);
    if (!owned.has(s) && !consts.has(s) && s >= inputs.length) {
      owned.add(s);
      return s;
    }
    const out = newSlot(o);
    const size = o.shape.reduce((a, d) => a * d, 1);
    steps.push({ kind: "copy", device: o.device, src: s, out, dtype: o.dtype, size });
    owned.add(out);
    return out;
  });
  const releaseAfter: number[][] = steps.map(() => []);
  if (!keep) {
    const last = new Map<number, number>();
    steps.forEach((st, i) => {
      const reads = st.kind === "copy" ? [st.src] : st.ins;
      for (const r of reads) last.set(r, i);
      const writes = st.kind === "call" ? st.outs : [st.out];
      for (const w of writes) if (!last.has(w)) last.set(w, i);
    });
    for (const [s, i] of last) {
      if (s >= inputs.length && !consts.has(s) && !owned.has(s)) releaseAfter[i].push(s);
    }
  }
  return {
    steps,
    nSlots: slotNode.length,
    consts,
    inputs,
    outSlots,
    slotNode,
    releaseAfter,
    items,
    kernels,
  };
}

/** A read the driver must perform. */
interface ReadRequest {
  readonly read: BufferHandle;
}

/** Queues launches and hands out buffers while programs run. */
export class Executor implements ExecContext {
  private pending = new Map<string, Launch[]>();
  /** Kernels launched so far. */
  launched = 0;
  /** Set while NaN debugging re-evaluates a kernel (its own kernels are not checked). */
  explaining = false;

  alloc(dtype: DType, size: number, device: string): BufferHandle {
    return getBackend(device).alloc(dtype, size);
  }

  release(buf: BufferHandle): void {
    (buf as Releasable).release();
  }

  private push(device: string, l: Launch): void {
    let list = this.pending.get(device);
    if (!list) this.pending.set(device, list = []);
    list.push(l);
  }

  copy(src: BufferHandle, srcOffset: number, dst: BufferHandle, dstOffset: number, size: number) {
    if (size > 0) this.push(dst.device, { copy: true, src, srcOffset, dst, dstOffset, size });
  }

  /** Takes the queued launches, per device. */
  drain(): [string, Launch[]][] {
    const all = [...this.pending];
    this.pending = new Map();
    return all;
  }

  *runGraph(g: Graph, inputs: readonly BufferHandle[]): Exec<BufferHandle[]> {
    const plan = graphPlan(g);
    const bufs = yield* this.run(plan, inputs);
    return plan.outSlots.map((s) => bufs[s]!);
  }

  *read(buf: BufferHandle): Exec<TypedArray> {
    return (yield { read: buf } satisfies ReadRequest) as TypedArray;
  }

  /** Runs a plan; returns every slot's buffer (released ones are `undefined`). */
  *run(plan: Plan, inputs: readonly BufferHandle[]): Exec<(BufferHandle | undefined)[]> {
    const bufs: (BufferHandle | undefined)[] = new Array(plan.nSlots);
    inputs.forEach((b, i) => bufs[i] = b);
    for (const [s, n] of plan.consts) {
      if (!n.buffer) throw new Error("a tensor captured by a compiled function was disposed");
      bufs[s] = n.buffer;
    }
    for (let i = 0; i < plan.steps.length; i++) {
      const st = plan.steps[i];
      if (st.kind === "kernel") {
        const output = this.alloc(st.dtype, st.size, st.device);
        bufs[st.out] = output;
        this.push(st.device, { kernel: st.kernel, inputs: st.ins.map((s) => bufs[s]!), output });
        this.launched++;
        const mode = nanMode();
        // NaN debugging: read every float output back (only in this mode: no reads otherwise).
        if (mode !== false && !this.explaining && isFloat(st.dtype)) {
          const bad = firstBad(yield* this.read(output), mode);
          if (bad >= 0) yield* explainBadValue(this, plan, st, bufs, mode);
        }
      } else if (st.kind === "copy") {
        const out = this.alloc(st.dtype, st.size, st.device);
        bufs[st.out] = out;
        this.copy(bufs[st.src]!, 0, out, 0, st.size);
      } else {
        const eq = { src: st.src, arg: st.node.arg, out: st.node };
        const outs = yield* st.rules.run(this, eq, st.ins.map((s) => bufs[s]!));
        st.outs.forEach((s, j) => bufs[s] = outs[j]);
      }
      for (const s of plan.releaseAfter[i]) {
        this.release(bufs[s]!);
        bufs[s] = undefined;
      }
    }
    return bufs;
  }
}

const graphPlans = new WeakMap<Graph, Plan>();

/** The (cached) program of a sub-graph. */
export function graphPlan(g: Graph): Plan {
  let p = graphPlans.get(g);
  if (!p) {
    p = compilePlan(g.outputs, g.inputs);
    graphPlans.set(g, p);
  }
  return p;
}

/** Drives a program synchronously (every backend involved must be synchronous). */
export function driveSync<T>(ex: Executor, gen: Exec<T>, op: string): T {
  const flush = () => {
    for (const [d, launches] of ex.drain()) {
      const be = getBackend(d);
      if (!be.synchronous) {
        throw new Error(
          `${op}: the ${d} backend cannot read synchronously; use \`await t.data()\``,
        );
      }
      be.execute(launches);
    }
  };
  let r = gen.next();
  while (!r.done) {
    flush();
    const buf = (r.value as ReadRequest).read;
    r = gen.next(getBackend(buf.device).readSync(buf));
  }
  flush();
  return r.value;
}

/** Drives a program, awaiting device work only where a value must be read. */
export async function driveAsync<T>(ex: Executor, gen: Exec<T>): Promise<T> {
  const flush = async () => {
    for (const [d, launches] of ex.drain()) await getBackend(d).execute(launches);
  };
  let r = gen.next();
  while (!r.done) {
    await flush();
    const buf = (r.value as ReadRequest).read;
    r = gen.next(await getBackend(buf.device).read(buf));
  }
  await flush();
  return r.value;
}

export type { ExecRequest };
