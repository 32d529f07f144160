/**
 * `jit`: trace a function once per input signature (tree structure, shapes, dtypes, devices,
 * static values), schedule and compile the traced graph once, and from then on only bind
 * buffers and launch. A call is one `jit` call node in the graph; on a synchronous backend
 * (the CPU) it runs at once, elsewhere it runs with the next realize, in the same submit.
 * Under another transform (grad, vmap, an outer jit) the function is inlined instead.
 * @module
 */
import { getBackend } from "../backends/backend.ts";
import type { Node } from "../ir/node.ts";
import {
  type Aval,
  CallArg,
  type CallPrimitive,
  type Graph,
  makeCall,
  placeholder,
} from "../ir/call.ts";
import { register } from "../ir/primitive.ts";
import { graphPlan } from "../schedule/program.ts";
import { realizeNodesSync } from "../schedule/realize.ts";
import { debugLevel } from "../debug.ts";
import { fmt } from "../shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { defaultDevice } from "../tensor/device.ts";
import { formatGraph, isTracing, withTracing } from "./trace.ts";
import {
  flattenWithPath,
  formatDef,
  keystr,
  type PyTree,
  type TreeDef,
  unflatten,
} from "./tree.ts";
import {
  checkFunction,
  checkInt,
  checkInts,
  checkOptions,
  checkString,
  describe,
  publicOp,
  typeError,
  userCallback,
} from "../errors.ts";

/** Options of `jit`. */
export interface JitOptions {
  /** Positional arguments passed as JS values (part of the cache key, not traced). */
  staticArgnums?: number | readonly number[];
  /** Keys of object arguments (an options bag) passed as JS values. */
  staticArgnames?: string | readonly string[];
  /** Name used in debug output (default: the function's name). */
  name?: string;
}

/** The traced and compiled form of one signature, as `.lower()` returns it. */
export interface Lowered {
  /** The traced graph, one equation per line. */
  readonly graph: string;
  /** The kernels of the compiled program, one line each. */
  readonly kernels: readonly string[];
  /** Graph and kernels. */
  toString(): string;
}

/** A jitted function: the function plus its compilation cache. */
export interface Jitted<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  /** Number of compiled signatures. */
  cacheSize(): number;
  /** Drops every compiled signature. */
  clearCache(): void;
  /** Traces and compiles for these arguments (or reuses the cache) and describes the result. */
  lower(...args: Parameters<F>): Lowered;
}

class JitArg extends CallArg {
  constructor(outs: readonly Aval[], device: string, readonly graph: Graph) {
    super(outs, device);
  }
}

/** A jitted call: runs its compiled graph. Never differentiated (jit inlines under traces). */
const JIT: CallPrimitive = {
  name: "jit",
  kind: "call",
  call: {
    *run(ctx, eq, inputs) {
      return yield* ctx.runGraph((eq.arg as JitArg).graph, inputs);
    },
    graphs: (arg) => ({ body: (arg as JitArg).graph }),
  },
};
register(JIT);

interface Entry {
  readonly parts: readonly string[];
  readonly arg: JitArg | null;
  readonly outDef: TreeDef;
  /** Output leaves: `null` where a traced tensor goes. */
  readonly outStatic: readonly unknown[];
  readonly graph: Graph;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

/** A cache-key text for a static value: by value for data, by identity otherwise. */
function staticRepr(v: unknown): string {
  if (v === null || v === undefined || typeof v !== "object" && typeof v !== "function") {
    return `${typeof v}:${String(v)}`;
  }
  if (!(v instanceof Tensor) && typeof v === "object") {
    try {
      const s = JSON.stringify(v, (_k, x) => {
        if (x instanceof Tensor) throw new Error("tensor");
        if (x && typeof x === "object" && !Array.isArray(x)) {
          return Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]));
        }
        return x;
      });
      if (s !== undefined) return `json:${s}`;
    } catch { /* not plain data: identity */ }
  }
  let id = objectIds.get(v as object);
  if (id === undefined) objectIds.set(v as object, id = nextObjectId++);
  return `object#${id}`;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Tensor) &&
  Object.getPrototypeOf(x) === Object.prototype;

interface Split {
  readonly parts: string[];
  readonly tensors: Tensor[];
  readonly labels: string[];
  /** Rebuilds the arguments from (traced) tensors. */
  rebuild(ts: readonly Tensor[]): unknown[];
}

/** Splits arguments into traced tensors and static values, with the cache-key parts. */
function splitArgs(args: readonly unknown[], statics: Set<number>, names: Set<string>): Split {
  const parts: string[] = [`arguments: ${args.length}`];
  const tensors: Tensor[] = [];
  const labels: string[] = [];
  const builders: ((ts: readonly Tensor[]) => unknown)[] = [];
  args.forEach((a, ai) => {
    if (statics.has(ai)) {
      parts.push(`argument ${ai} (static) = ${staticRepr(a)}`);
      builders.push(() => a);
      return;
    }
    let traced = a;
    const fixed: Record<string, unknown> = {};
    if (names.size && isPlainObject(a)) {
      traced = Object.fromEntries(Object.entries(a).filter(([k]) => !names.has(k)));
      for (const k of Object.keys(a).sort()) {
        if (names.has(k)) {
          fixed[k] = a[k];
          parts.push(`argument ${ai}.${k} (static) = ${staticRepr(a[k])}`);
        }
      }
    }
    const [paths, leaves, def] = flattenWithPath(traced as PyTree<unknown>);
    parts.push(`argument ${ai} structure ${formatDef(def)}`);
    const slots = leaves.map((l, li) => {
      const label = `argument ${ai}${keystr(paths[li])}`;
      if (l instanceof Tensor) {
        parts.push(`${label}: ${l.dtype}${fmt(l.shape)} on ${l.device}`);
        tensors.push(l);
        labels.push(label);
        return tensors.length - 1;
      }
      parts.push(`${label} = ${staticRepr(l)}`);
      return -1;
    });
    builders.push((ts) => {
      const rebuilt = unflatten(def, leaves.map((l, li) => (slots[li] < 0 ? l : ts[slots[li]])));
      return Object.keys(fixed).length ? { ...(rebuilt as object), ...fixed } : rebuilt;
    });
  });
  return { parts, tensors, labels, rebuild: (ts) => builders.map((b) => b(ts)) };
}

/** Why a signature missed: the first part that differs from the closest cached signature. */
function explainMiss(parts: readonly string[], cached: readonly Entry[]): string {
  if (!cached.length) return "first call";
  let best = "";
  let bestDiff = Infinity;
  for (const e of cached) {
    const theirs = new Set(e.parts);
    const mine = new Set(parts);
    const diff = parts.filter((p) => !theirs.has(p));
    if (diff.length < bestDiff) {
      bestDiff = diff.length;
      const was = e.parts.filter((p) => !mine.has(p));
      best = `${diff[0] ?? "(order)"}${was.length ? `; cached signature had ${was[0]}` : ""}`;
    }
  }
  return `${best} (${cached.length} signature(s) cached)`;
}

function normStatic(s: number | readonly number[] | undefined, n: number): Set<number> {
  const list = s === undefined ? [] : typeof s === "number" ? [s] : s;
  return new Set(list.map((i) => (i < 0 ? i + n : i)));
}

/**
 * Compiles `f` once per input signature; later calls with the same shapes, dtypes, structure
 * and static values only launch the compiled kernels.
 * @example
 * const step = k.jit((params, x, y) => update(params, k.grad(loss)(params, x, y)));
 * params = step(params, x, y); // traced and compiled on the first call only
 */
export function jit<F extends (...args: never[]) => unknown>(
  f: F,
  opts: JitOptions = {},
): Jitted<F> {
  checkFunction("jit", f);
  checkOptions("jit", opts, ["staticArgnums", "staticArgnames", "name"]);
  if (opts.name !== undefined) checkString("jit", opts.name, "name");
  const sa = opts.staticArgnums;
  if (sa !== undefined && typeof sa !== "number") checkInts("jit", sa, "staticArgnums", -Infinity);
  if (typeof sa === "number") checkInt("jit", sa, "staticArgnums");
  const sn = opts.staticArgnames;
  if (sn !== undefined && typeof sn !== "string") {
    if (!Array.isArray(sn) || sn.some((s) => typeof s !== "string")) {
      throw typeError(
        "jit",
        `staticArgnames must be a string or an array of strings, got ${describe(sn)}`,
      );
    }
  }
  const name = opts.name ?? (f.name || "anonymous");
  const names = new Set(
    opts.staticArgnames === undefined
      ? []
      : typeof opts.staticArgnames === "string"
      ? [opts.staticArgnames]
      : opts.staticArgnames,
  );
  const cache = new Map<string, Entry>();
  const userF = f as unknown as (...a: unknown[]) => unknown;
  // The user's function runs in the context of whoever called the jitted function.
  let call = userF;

  const trace = (split: Split, args: readonly unknown[]): Entry => {
    const holes = split.tensors.map((t, i) =>
      new Tensor(placeholder(t.shape, t.dtype, t.device, "jit", split.labels[i]))
    );
    const out = withTracing(() => call(...split.rebuild(holes)));
    if (out instanceof Promise) {
      out.catch(() => {}); // its own rejection (a traced read) is reported by the error below
      throw new TypeError(
        `jit(${name}): the function returned a Promise; a jitted function must be synchronous ` +
          "(values cannot be awaited while tracing: use k.cond / k.whileLoop or static arguments)",
      );
    }
    void args;
    const [, leaves, outDef] = flattenWithPath(out as PyTree<unknown>);
    const outNodes: Node[] = [];
    const outStatic = leaves.map((l) => {
      if (l instanceof Tensor) {
        outNodes.push(l.node);
        return null;
      }
      return l;
    });
    const graph: Graph = { inputs: holes.map((h) => h.node), outputs: outNodes };
    const plan = graphPlan(graph); // schedule and compile now, once
    void plan;
    const device = split.tensors[0]?.device ?? outNodes[0]?.device ?? defaultDevice();
    const arg = outNodes.length
      ? new JitArg(outNodes.map((n) => ({ shape: n.shape, dtype: n.dtype })), device, graph)
      : null;
    return { parts: split.parts, arg, outDef, outStatic, graph };
  };

  const lookup = (args: readonly unknown[], store: boolean): [Entry, Split] => {
    const split = splitArgs(args, normStatic(opts.staticArgnums, args.length), names);
    const key = split.parts.join("\n");
    let e = cache.get(key);
    if (!e) {
      if (debugLevel() >= 1) {
        console.error(
          `kiln: jit(${name}) cache miss: ${explainMiss(split.parts, [...cache.values()])}`,
        );
      }
      e = trace(split, args);
      if (store) cache.set(key, e);
    }
    return [e, split];
  };

  const jitted = publicOp("jit", (...args: unknown[]): unknown => {
    call = userCallback(userF);
    if (isTracing()) return call(...args);
    const [e, split] = lookup(args, true);
    const projs = e.arg ? makeCall("jit", split.tensors.map((t) => t.node), e.arg) : [];
    if (e.arg && getBackend(e.arg.device).synchronous) realizeNodesSync(projs, `jit(${name})`);
    let k = 0;
    return unflatten(e.outDef, e.outStatic.map((s) => (s === null ? new Tensor(projs[k++]) : s)));
  }) as unknown as Jitted<F>;
  jitted.cacheSize = () => cache.size;
  jitted.clearCache = () => cache.clear();
  jitted.lower = publicOp("jit", (...args: Parameters<F>): Lowered => {
    call = userCallback(userF);
    const [e] = lookup(args, false);
    const graph = formatGraph(e.graph);
    const kernels = graphPlan(e.graph).items.map((it) => String(it));
    return {
      graph,
      kernels,
      toString: () =>
        `${graph}\n${kernels.length} step(s):\n${kernels.map((k) => `  ${k}`).join("\n")}`,
    };
  });
  return jitted;
}
