/**
 * The one tracing mechanism behind `jit`, `vmap` and the control-flow primitives: run a
 * function on placeholders, keep the lazy graph it builds, and rewrite graphs (substitute
 * inputs, hoist free variables, print).
 * @module
 */
import { Node, withGraphKept } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import { type Graph, makeCall, type PlaceholderArg, placeholderLike, projsOf } from "../ir/call.ts";
import type { CallArg, ProjArg } from "../ir/call.ts";
import { fmt } from "../shape.ts";
import { withDerivedOrigin } from "../debug.ts";

let depth = 0;

/** Whether a transform is tracing a function right now. */
export function isTracing(): boolean {
  return depth > 0;
}

/** Runs `f` as a trace: nested `jit` inlines, realized nodes keep their graph. */
export function withTracing<T>(f: () => T): T {
  depth++;
  try {
    return withGraphKept(f);
  } finally {
    depth--;
  }
}

/** Nodes on paths from `outs` down to `stop` (exclusive), in topological order. */
export function between(outs: readonly Node[], stop: ReadonlySet<Node>): Node[] {
  const depends = new Map<Node, boolean>();
  const order: Node[] = [];
  const stack: [Node, number][] = outs.map((o) => [o, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [n, i] = top;
    if (depends.has(n)) {
      stack.pop();
      continue;
    }
    if (stop.has(n)) {
      depends.set(n, true);
      stack.pop();
      continue;
    }
    if (i < n.src.length) {
      top[1]++;
      if (!depends.has(n.src[i])) stack.push([n.src[i], 0]);
      continue;
    }
    stack.pop();
    const d = n.src.some((s) => depends.get(s));
    depends.set(n, d);
    if (d) order.push(n);
  }
  return order;
}

/**
 * Rebuilds `outs` with `subst` applied (same shapes and dtypes); nodes that do not depend on
 * a substituted node are shared, not copied. Call nodes are rebuilt with their outputs.
 */
export function substitute(outs: readonly Node[], subst: ReadonlyMap<Node, Node>): Node[] {
  const map = new Map(subst);
  const calls = new Map<Node, Node[]>();
  for (const n of between(outs, new Set(subst.keys()))) {
    if (n.op === "proj") {
      const c = n.src[0];
      let projs = calls.get(c);
      if (!projs) {
        projs = makeCall(c.op, c.src.map((s) => map.get(s) ?? s), c.arg as CallArg);
        calls.set(c, projs);
      }
      map.set(n, projs[(n.arg as ProjArg).index]);
    } else if (prim(n.op).kind !== "call") {
      const src = n.src.map((s) => map.get(s) ?? s);
      // A rebuilt node keeps its origin (NaN debugging): the op and line the user wrote.
      map.set(
        n,
        withDerivedOrigin(n, "", () => new Node(n.op, src, n.arg, n.shape, n.dtype, n.device)),
      );
    }
  }
  return outs.map((o) => map.get(o) ?? o);
}

/** Evaluates a traced graph on new inputs (lazily: returns the output nodes). */
export function evalGraph(g: Graph, inputs: readonly Node[]): Node[] {
  return substitute(g.outputs, new Map(g.inputs.map((p, i) => [p, inputs[i]])));
}

/** Whether a node is free to recompute anywhere: constants and iota through math and views. */
function constantOnly(n: Node, memo: Map<Node, boolean>): boolean {
  let r = memo.get(n);
  if (r === undefined) {
    const k = prim(n.op).kind;
    if (n.realized) r = false;
    else if (k === "source") r = n.op === "const" || n.op === "iota";
    else if (k === "elementwise" || k === "movement") r = n.src.every((s) => constantOnly(s, memo));
    else r = false;
    memo.set(n, r);
  }
  return r;
}

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** A movement op that is a view of its one source (not `custom`, which carries rules). */
function isView(n: Node): boolean {
  return !n.realized && n.src.length === 1 && n.op !== "custom" &&
    prim(n.op).kind === "movement";
}

/** A graph whose free variables became inputs, and the values to feed them. */
export interface Closed {
  readonly graph: Graph;
  /** Values of the extra inputs (after `graph.inputs` of the original). */
  readonly consts: Node[];
}

/**
 * Closure conversion: every value the traced outputs use that does not depend on the
 * graph's inputs (a captured tensor, a value of an enclosing trace) becomes an extra input,
 * so the graph is self-contained and derivatives flow to the captured values.
 */
export function closeOver(g: Graph, transform: string): Closed {
  const inputs = new Set(g.inputs);
  const inner = new Set(between(g.outputs, inputs));
  const memo = new Map<Node, boolean>();
  const free = new Map<Node, Node>();
  const consts: Node[] = [];
  const visit = (v: Node) => {
    let n = v;
    // Capture a view's base: inside the graph the view is free index arithmetic, while a
    // captured view is materialized (a weight expanded for a batched matmul is batch times
    // its size, and so is its cotangent in a loop's carry). Not through a view smaller than
    // its base (a slice of a large computed value is computed as the slice alone).
    while (isView(n) && !inner.has(n) && numel(n.src[0].shape) <= numel(n.shape)) n = n.src[0];
    if (inputs.has(n) || free.has(n)) return;
    if (inner.has(n)) return;
    if (constantOnly(n, memo)) return;
    const p = placeholderLike(n, transform, "captured value");
    free.set(n, p);
    consts.push(n);
  };
  for (const n of inner) for (const s of n.src) visit(s);
  for (const o of g.outputs) visit(o);
  if (!consts.length) return { graph: g, consts };
  const outputs = substitute(g.outputs, free);
  return { graph: { inputs: [...g.inputs, ...free.values()], outputs }, consts };
}

/** A readable listing of a graph, one equation per line (as a jaxpr). */
export function formatGraph(g: Graph, indent = ""): string {
  const names = new Map<Node, string>();
  let k = 0;
  const name = (n: Node): string => {
    let s = names.get(n);
    if (!s) {
      let i = k++;
      s = "";
      do {
        s = String.fromCharCode(97 + (i % 26)) + s;
        i = Math.floor(i / 26) - 1;
      } while (i >= 0);
      names.set(n, s);
    }
    return s;
  };
  const ty = (n: Node) => `${n.dtype}${fmt(n.shape)}`;
  const lines: string[] = [];
  const ins = g.inputs.map((p) => `${name(p)}:${ty(p)}`).join(" ");
  lines.push(`${indent}{ lambda ${ins} . let`);
  const inputs = new Set(g.inputs);
  const all = new Set<Node>();
  // Every node reachable from the outputs, down to inputs and data.
  const stack = [...g.outputs];
  while (stack.length) {
    const n = stack.pop()!;
    if (all.has(n) || inputs.has(n)) continue;
    all.add(n);
    if (!n.realized) stack.push(...n.src);
  }
  const seq = [...all].sort((a, b) => a.id - b.id);
  for (const n of seq) {
    if (n.op === "proj") continue;
    const kind = prim(n.op).kind;
    if (kind === "call") {
      const outs = projsOf(n).map((p) => (p && all.has(p) ? `${name(p)}:${ty(p)}` : "_"));
      lines.push(`${indent}    ${outs.join(" ")} = ${n.op} ${n.src.map(name).join(" ")}`);
      const graphs = prim(n.op).call?.graphs?.(n.arg) ?? {};
      for (const [label, sub] of Object.entries(graphs)) {
        lines.push(`${indent}      ${label}=`);
        lines.push(formatGraph(sub, indent + "        "));
      }
      continue;
    }
    let rhs: string;
    if (n.realized) rhs = `data`;
    else if (n.op === "const") rhs = `const ${n.arg}`;
    else if (n.op === "placeholder") rhs = `input (${(n.arg as PlaceholderArg).label})`;
    else {
      const a = n.arg === undefined ? "" : `[${JSON.stringify(n.arg)}]`;
      rhs = `${n.op}${a} ${n.src.map(name).join(" ")}`;
    }
    lines.push(`${indent}    ${name(n)}:${ty(n)} = ${rhs}`);
  }
  lines.push(`${indent}  in (${g.outputs.map(name).join(", ")}) }`);
  return lines.join("\n");
}
