/**
 * Reverse and forward mode as graph transforms.
 *
 * A traced call wraps each differentiated input in a fresh identity node and runs the user's
 * function on it; the lazy graph it builds is the trace. `tape` snapshots the equations between
 * inputs and outputs in topological order (so later realization, which drops a node's sources,
 * cannot cut it), the reverse sweep applies each primitive's `vjp` rule and the forward sweep
 * its `jvp` rule. Derivatives are lazy graphs again: forward and backward fuse when realized
 * together, and derivatives nest to any order.
 * @module
 */
import { isFloat } from "../dtype.ts";
import { makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { CallArg, ProjArg } from "../ir/call.ts";
import { between, withTracing } from "./trace.ts";
import { prim } from "../ir/primitive.ts";
import * as B from "../ir/build.ts";
import { fmt } from "../shape.ts";
import { withDerivedOrigin } from "../debug.ts";
import { Tensor } from "../tensor/tensor.ts";
import { flatten, formatDef, type PyTree, sameDef, type TreeDef, unflatten } from "./tree.ts";
import {
  checkBool,
  checkFunction,
  checkInt,
  checkInts,
  checkOptions,
  checkTensorArg,
  describe,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
  userOp,
} from "../errors.ts";

/** One recorded equation. */
interface Entry {
  readonly node: Node;
  readonly op: string;
  readonly src: readonly Node[];
  readonly arg: unknown;
}

/** Equations on paths from `ins` to `outs`, in topological order. */
export function tape(outs: readonly Node[], ins: ReadonlySet<Node>): Entry[] {
  // Snapshot sources: realizing a node later drops them, which must not cut the tape.
  return between(outs, ins).map((n) => ({ node: n, op: n.op, src: [...n.src], arg: n.arg }));
}

function accumulate(map: Map<Node, Node>, n: Node, g: Node): void {
  const prev = map.get(n);
  map.set(n, prev ? B.add(prev, g) : g);
}

/** Reverse sweep: cotangents of `ins` given cotangents of `outs` (null: zero). */
export function backward(
  entries: readonly Entry[],
  outs: readonly Node[],
  cts: readonly Node[],
  ins: readonly Node[],
): (Node | null)[] {
  const ct = new Map<Node, Node>();
  // Cotangents of call outputs, gathered from their `proj` nodes (which come later in the tape).
  const callCts = new Map<Node, (Node | null)[]>();
  // A call's VJP computes only the cotangents the sweep can use (on the tape or asked for).
  const wanted = new Set<Node>([...ins, ...entries.map((e) => e.node)]);
  outs.forEach((o, i) => accumulate(ct, o, cts[i]));
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    const p = prim(e.op);
    if (p.kind === "call") {
      const gs = callCts.get(e.node);
      if (!gs) continue;
      if (!p.call?.vjp) throw shapeError("vjp", `${e.op} is not reverse-differentiable`);
      const eq = { src: e.src, arg: e.arg, out: e.node };
      const needed = e.src.map((s) => wanted.has(s));
      withDerivedOrigin(e.node, "gradient", () => p.call!.vjp!(gs, eq, needed)).forEach((gi, j) => {
        if (gi) accumulate(ct, e.src[j], gi);
      });
      continue;
    }
    const g = ct.get(e.node);
    if (!g) continue;
    if (e.op === "proj") {
      const c = e.src[0];
      let gs = callCts.get(c);
      if (!gs) callCts.set(c, gs = (c.arg as CallArg).outs.map(() => null));
      const k = (e.arg as ProjArg).index;
      gs[k] = B.addOpt(gs[k], g);
      continue;
    }
    const rule = p.vjp;
    if (!rule) throw shapeError("vjp", `primitive "${e.op}" has no VJP rule`);
    // NaN debugging attributes the VJP's nodes to the primal op ("gradient of log").
    const gs = withDerivedOrigin(
      e.node,
      "gradient",
      () => rule(g, { src: e.src, arg: e.arg, out: e.node }),
    );
    gs.forEach((gi, j) => {
      if (gi) accumulate(ct, e.src[j], gi);
    });
  }
  return ins.map((n) => ct.get(n) ?? null);
}

/** Forward sweep: tangents of `outs` given tangents of `ins`. */
export function forward(
  entries: readonly Entry[],
  ins: readonly Node[],
  tangents: readonly Node[],
  outs: readonly Node[],
): (Node | null)[] {
  const tan = new Map<Node, Node>();
  const callTans = new Map<Node, (Node | null)[]>();
  ins.forEach((n, i) => tan.set(n, tangents[i]));
  for (const e of entries) {
    if (e.op === "proj") {
      const t = callTans.get(e.src[0])?.[(e.arg as ProjArg).index];
      if (t) tan.set(e.node, t);
      continue;
    }
    const ts = e.src.map((s) => tan.get(s) ?? null);
    if (ts.every((t) => t === null)) continue;
    const p = prim(e.op);
    if (p.kind === "call") {
      if (!p.call?.jvp) throw shapeError("jvp", `${e.op} is not forward-differentiable`);
      const eq = { src: e.src, arg: e.arg, out: e.node };
      callTans.set(e.node, withDerivedOrigin(e.node, "tangent", () => p.call!.jvp!(ts, eq)));
      continue;
    }
    const rule = p.jvp;
    if (!rule) throw shapeError("jvp", `primitive "${e.op}" has no JVP rule`);
    const t = withDerivedOrigin(
      e.node,
      "tangent",
      () => rule(ts, { src: e.src, arg: e.arg, out: e.node }),
    );
    if (t) tan.set(e.node, t);
  }
  return outs.map((o) => tan.get(o) ?? null);
}

/** Fresh identity node standing for a differentiated input. */
function traceInput(t: Tensor): Tensor {
  return new Tensor(makeNode("cast", [t.node], t.dtype));
}

function checkDiffLeaf(op: string, t: unknown, where: string): Tensor {
  if (!(t instanceof Tensor)) {
    throw typeError(op, `${where} must be a Tensor to be differentiated, got ${typeof t}`);
  }
  if (!isFloat(t.dtype)) {
    throw typeError(
      op,
      `${where} has dtype ${t.dtype}${
        fmt(t.shape)
      }; only float tensors can be differentiated (mark it non-differentiable with argnums)`,
    );
  }
  return t;
}

/** A traced call: inputs wrapped, function run, tape recorded. */
interface Trace {
  readonly inDef: TreeDef;
  readonly ins: Node[];
  readonly out: unknown;
  readonly outLeaves: Tensor[];
  readonly outDef: TreeDef;
  readonly entries: Entry[];
}

function trace(
  op: string,
  f: (...args: never[]) => unknown,
  args: readonly unknown[],
  argnums: readonly number[],
  pick: (out: unknown) => unknown = (o) => o,
): Trace {
  for (const a of argnums) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw rangeError(op, `argnums ${a} is out of range for ${args.length} argument(s)`);
    }
  }
  const diffArgs = argnums.map((a) => args[a]);
  const [leaves, inDef] = flatten(diffArgs as PyTree<unknown>);
  const wrapped = leaves.map((l, i) =>
    traceInput(checkDiffLeaf(op, l, `differentiated leaf ${i} of argument(s) ${argnums}`))
  );
  const rebuilt = unflatten(inDef, wrapped) as unknown[];
  const callArgs = [...args];
  argnums.forEach((a, i) => callArgs[a] = rebuilt[i]);
  const out = withTracing(() => (f as (...a: unknown[]) => unknown)(...callArgs));
  const [outLeaves, outDef] = flatten(pick(out) as PyTree<unknown>);
  outLeaves.forEach((l, i) => {
    if (!(l instanceof Tensor)) {
      throw typeError(op, `output leaf ${i} is ${typeof l}, not a Tensor`);
    }
  });
  const ins = wrapped.map((w) => w.node);
  const entries = tape((outLeaves as Tensor[]).map((t) => t.node), new Set(ins));
  return { inDef, ins, out, outLeaves: outLeaves as Tensor[], outDef, entries };
}

const zerosFor = (n: Node) => B.konst(0, n);

function normArgnums(
  a: number | readonly number[] | undefined,
): { nums: number[]; single: boolean } {
  if (a === undefined) return { nums: [0], single: true };
  if (typeof a === "number") return { nums: [a], single: true };
  return { nums: [...a], single: false };
}

/**
 * Checks a user-supplied tree (cotangents, tangents) against the structure and shapes it must
 * mirror, casting each leaf to the reference dtype.
 */
function matchTree(
  op: string,
  what: string,
  of: string,
  tree: unknown,
  def: TreeDef,
  like: readonly Node[],
): Node[] {
  const [leaves, d] = flatten(tree as PyTree<unknown>);
  if (!sameDef(d, def)) {
    throw shapeError(
      op,
      `${what} structure ${formatDef(d)} does not match ${of} structure ${formatDef(def)}`,
    );
  }
  return leaves.map((t, i) => {
    const ref = like[i];
    if (!(t instanceof Tensor) || t.shape.join() !== ref.shape.join()) {
      throw shapeError(
        op,
        `${what} ${i} must have shape ${fmt(ref.shape)}, got ${
          t instanceof Tensor ? fmt(t.shape) : typeof t
        }`,
      );
    }
    return t.dtype === ref.dtype ? t.node : B.cast(t.node, ref.dtype);
  });
}

/**
 * Reverse mode: `[out, pullback]`; `pullback(ct)` returns one cotangent per primal (pytrees of
 * the primals' structure). @example const [y, pb] = k.vjp((x) => x.sin(), x); const [gx] = pb(k.onesLike(y))
 */
export function vjp(
  f: (...args: never[]) => unknown,
  ...primals: unknown[]
): [unknown, (ct: unknown) => unknown[]] {
  return userOp("vjp", () => vjpImpl(userCallback(checkFunction("vjp", f)), primals));
}

function vjpImpl(
  f: (...args: never[]) => unknown,
  primals: unknown[],
): [unknown, (ct: unknown) => unknown[]] {
  const tr = trace("vjp", f, primals, primals.map((_, i) => i));
  const pullback = publicOp("vjp", (ct: unknown): unknown[] => {
    const cts = matchTree(
      "vjp",
      "cotangent",
      "output",
      ct,
      tr.outDef,
      tr.outLeaves.map((t) => t.node),
    );
    const gs = backward(tr.entries, tr.outLeaves.map((t) => t.node), cts, tr.ins);
    return unflatten(tr.inDef, gs.map((g, i) => new Tensor(g ?? zerosFor(tr.ins[i])))) as unknown[];
  });
  return [tr.out, pullback];
}

/** Checks `grad`/`valueAndGrad` arguments at creation time. */
function checkGradArgs(op: string, f: unknown, opts: GradOptions | undefined): GradOptions {
  checkFunction(op, f);
  const o = checkOptions(op, opts, ["argnums", "hasAux"]);
  const a = o.argnums;
  if (a !== undefined) {
    if (typeof a === "number") checkInt(op, a, "argnums", 0);
    else checkInts(op, a, "argnums", 0);
  }
  if (o.hasAux !== undefined) checkBool(op, o.hasAux, "hasAux");
  return o;
}

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate (default 0). A list gives a list of grads. */
  argnums?: number | readonly number[];
  /** `f` returns `[value, aux]`; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

function gradImpl(
  op: string,
  f: (...args: never[]) => unknown,
  opts: GradOptions,
  args: unknown[],
): [unknown, unknown] {
  const { nums, single } = normArgnums(opts.argnums);
  for (const a of nums) {
    // An empty pytree ({} or [], e.g. a layer without parameters) has an empty gradient, as
    // in JAX; a missing or non-container argument without tensors is a mistake.
    const v = args[a];
    const container = typeof v === "object" && v !== null;
    if (a < args.length && !container && flatten(v as PyTree<unknown>)[0].length === 0) {
      throw typeError(
        op,
        `argument ${a} holds no tensor to differentiate, got ${describe(args[a])}`,
      );
    }
  }
  const pick = (o: unknown) => {
    if (!opts.hasAux) return o;
    if (!Array.isArray(o) || o.length !== 2) {
      throw typeError(op, `with hasAux, f must return [value, aux]`);
    }
    return o[0];
  };
  const tr = trace(op, f, args, nums, pick);
  const value = tr.outLeaves[0];
  if (tr.outLeaves.length !== 1 || value.size !== 1 || value.ndim !== 0 || !isFloat(value.dtype)) {
    const got = tr.outLeaves.length === 1
      ? `${value.dtype}${fmt(value.shape)}`
      : `a tree of ${tr.outLeaves.length} tensors`;
    throw typeError(
      op,
      `f must return a scalar float tensor, got ${got} (use vjp or jacrev for non-scalar outputs)`,
    );
  }
  const [g] = [backward(tr.entries, [value.node], [B.konst(1, value.node)], tr.ins)];
  const grads = unflatten(
    tr.inDef,
    g.map((x, i) => new Tensor(x ?? zerosFor(tr.ins[i]))),
  ) as unknown[];
  const result = single ? grads[0] : grads;
  const v = opts.hasAux ? [value, (tr.out as unknown[])[1]] : value;
  return [v, result];
}

/**
 * The gradient of a scalar function, as a function of the same arguments. Pytrees in, same
 * structure out. @example const g = k.grad((w) => k.sum(w.mul(w)))(w) // 2w
 */
export function grad<A extends unknown[], G = A[0]>(
  f: (...args: A) => unknown,
  opts: GradOptions = {},
): (...args: A) => G {
  const o = checkGradArgs("grad", f, opts);
  return publicOp("grad", (...args: A) => {
    const uf = userCallback(f as (...args: never[]) => unknown);
    const [v, g] = gradImpl("grad", uf, o, args);
    return (o.hasAux ? [g, (v as unknown[])[1]] : g) as G;
  });
}

/**
 * `[value, grad]` in one trace (they fuse when realized together); with `{hasAux: true}`, `f`
 * returns `[value, aux]` and the result is `[[value, aux], grad]`.
 * @example const [loss, g] = k.valueAndGrad(lossFn)(params, x, y)
 */
export function valueAndGrad<A extends unknown[], Aux, G = A[0]>(
  f: (...args: A) => readonly [Tensor, Aux],
  opts: GradOptions & { hasAux: true },
): (...args: A) => [[Tensor, Aux], G];
/** `[value, grad]` of a scalar function. */
export function valueAndGrad<A extends unknown[], G = A[0]>(
  f: (...args: A) => unknown,
  opts?: GradOptions,
): (...args: A) => [Tensor, G];
export function valueAndGrad<A extends unknown[], G = A[0]>(
  f: (...args: A) => unknown,
  opts: GradOptions = {},
): (...args: A) => [unknown, G] {
  const o = checkGradArgs("valueAndGrad", f, opts);
  return publicOp("valueAndGrad", (...args: A) => {
    const uf = userCallback(f as (...args: never[]) => unknown);
    return gradImpl("valueAndGrad", uf, o, args) as [unknown, G];
  });
}

/**
 * Forward mode: `[out, tangentOut]` for tangents shaped like the primals.
 * @example const [y, t] = k.jvp((x) => x.exp(), [x], [k.onesLike(x)])
 */
export function jvp(
  f: (...args: never[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
): [unknown, unknown] {
  return userOp("jvp", () => {
    const uf = userCallback(checkFunction("jvp", f));
    if (!Array.isArray(primals)) {
      throw typeError(
        "jvp",
        `primals must be an array (one entry per argument), got ${describe(primals)}`,
      );
    }
    if (!Array.isArray(tangents)) {
      throw typeError(
        "jvp",
        `tangents must be an array (one entry per primal), got ${describe(tangents)}`,
      );
    }
    return jvpImpl(uf, primals, tangents);
  });
}

function jvpImpl(
  f: (...args: never[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
): [unknown, unknown] {
  const tr = trace("jvp", f, primals, primals.map((_, i) => i));
  const tn = matchTree("jvp", "tangent", "primal", tangents, tr.inDef, tr.ins);
  const outs = forward(tr.entries, tr.ins, tn, tr.outLeaves.map((t) => t.node));
  const tout = unflatten(
    tr.outDef,
    outs.map((o, i) => new Tensor(o ?? zerosFor(tr.outLeaves[i].node))),
  );
  return [tr.out, tout];
}

/** Blocks derivatives in both modes; the value passes through. @example k.stopGradient(target) */
export function stopGradient(x: Tensor): Tensor {
  checkTensorArg("stopGradient", x);
  return new Tensor(makeNode("stopGradient", [x.node]));
}
