/**
 * `vmap`: trace the function once per example (on placeholders without the batch axis), then
 * rewrite the traced graph with each primitive's batching rule. The batched graph is an
 * ordinary lazy graph, so it fuses, differentiates and jits like any other.
 * @module
 */
import { Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import type { BatchContext, Batched } from "../ir/primitive.ts";
import { type CallArg, makeCall, placeholder, type ProjArg } from "../ir/call.ts";
import { moveBatch } from "../ir/batching.ts";
import { Tensor } from "../tensor/tensor.ts";
import { fmt } from "../shape.ts";
import { between, withTracing } from "./trace.ts";
import { flattenWithPath, keystr, type PyTree, unflatten } from "./tree.ts";
import { withDerivedOrigin } from "../debug.ts";
import {
  checkFunction,
  checkOptions,
  checkSize,
  publicOp,
  rangeError,
  shapeError,
  typeError,
  userCallback,
} from "../errors.ts";

/** Options of `vmap`. */
export interface VmapOptions {
  /**
   * The mapped axis of each argument: a number (every leaf), `null` (not mapped), or per
   * argument a pytree prefix of it (`[0, null, {w: 0, b: null}]`). Default 0.
   */
  inAxes?: unknown;
  /** Where the batch axis goes in each output (a number, or a pytree prefix). Default 0. */
  outAxes?: unknown;
  /** The batch size when no argument is mapped. */
  axisSize?: number;
}

/** Rewrites `outs` from per-example to batched values, given batched stand-ins in `env`. */
export function batchNodes(
  outs: readonly Node[],
  env: ReadonlyMap<Node, Batched>,
  size: number,
): Batched[] {
  const res = new Map<Node, Batched>(env);
  const callOuts = new Map<Node, Batched[]>();
  const ctx: BatchContext = {
    size,
    rewrite: (nodes, extra) => batchNodes(nodes, new Map([...res, ...extra]), size),
  };
  for (const n of between(outs, new Set(env.keys()))) {
    if (n.op === "proj") {
      res.set(n, callOuts.get(n.src[0])![(n.arg as ProjArg).index]);
      continue;
    }
    const src = n.src.map((s): Batched => res.get(s) ?? [s, null]);
    const p = prim(n.op);
    const eq = { src: n.src, arg: n.arg, out: n };
    const unbatched = src.every(([, d]) => d === null);
    if (p.kind === "call") {
      if (unbatched) {
        const projs = makeCall(n.op, src.map(([s]) => s), n.arg as CallArg);
        callOuts.set(n, projs.map((q) => [q, null]));
      } else {
        if (!p.call?.batch) throw shapeError("vmap", `${n.op} has no batching rule`);
        callOuts.set(n, withDerivedOrigin(n, "", () => p.call!.batch!(src, eq, ctx)));
      }
      continue;
    }
    if (unbatched) {
      const same = src.every(([s], i) => s === n.src[i]);
      res.set(n, [
        same ? n : withDerivedOrigin(
          n,
          "",
          () => new Node(n.op, src.map(([s]) => s), n.arg, n.shape, n.dtype, n.device),
        ),
        null,
      ]);
      continue;
    }
    if (!p.batch) throw shapeError("vmap", `primitive "${n.op}" has no batching rule`);
    // NaN debugging attributes the batched nodes to the op the user wrote.
    res.set(n, withDerivedOrigin(n, "", () => p.batch!(src, eq, ctx)));
  }
  return outs.map((o) => res.get(o) ?? [o, null]);
}

/** Per-leaf axes from a pytree-prefix specification. */
function leafAxes(op: string, what: string, spec: unknown, tree: unknown): (number | null)[] {
  const out: (number | null)[] = [];
  const walk = (s: unknown, t: unknown, path: string) => {
    if (s === null || s === undefined || typeof s === "number") {
      const [ls] = flattenWithPath(t as PyTree<unknown>);
      for (let i = 0; i < ls.length; i++) out.push(s ?? null);
      return;
    }
    if (Array.isArray(s)) {
      if (!Array.isArray(t) || t.length !== s.length) {
        throw shapeError(
          op,
          `${what} ${path || "(root)"} is an array of ${s.length} axes, but the value ` +
            `there is ${Array.isArray(t) ? `an array of ${t.length}` : typeof t}`,
        );
      }
      s.forEach((si, i) => walk(si, t[i], `${path}[${i}]`));
      return;
    }
    if (typeof s === "object") {
      const so = s as Record<string, unknown>;
      if (typeof t !== "object" || t === null || t instanceof Tensor || Array.isArray(t)) {
        throw shapeError(op, `${what} ${path || "(root)"} is an object, the value is not`);
      }
      const keys = Object.keys(t as object).sort();
      for (const k of keys) {
        if (!(k in so)) {
          throw shapeError(op, `${what} ${path || "(root)"} has no entry for key "${k}"`);
        }
        walk(so[k], (t as Record<string, unknown>)[k], `${path}.${k}`);
      }
      return;
    }
    throw typeError(op, `${what} must be numbers, null, or pytrees of them`);
  };
  walk(spec, tree, "");
  return out;
}

const normAxis = (op: string, a: number, ndim: number, what: string) => {
  const r = a < 0 ? a + ndim : a;
  if (!Number.isInteger(a) || r < 0 || r >= ndim) {
    throw rangeError(op, `axis ${a} of ${what} is out of range for rank ${ndim - 1}+1`);
  }
  return r;
};

/**
 * Vectorizes `f` over a batch axis: `vmap(f)(xs)` equals stacking `f(x)` over the examples,
 * computed as one batched graph (no loop).
 * @example
 * const perExample = k.vmap(k.grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys);
 */
export function vmap<F extends (...args: never[]) => unknown>(f: F, opts: VmapOptions = {}): F {
  const op = "vmap";
  checkFunction(op, f);
  checkOptions(op, opts, ["inAxes", "outAxes", "axisSize"]);
  if (opts.axisSize !== undefined) checkSize(op, opts.axisSize, "axisSize");
  return publicOp(op, (...args: unknown[]) => {
    const uf = userCallback(f as unknown as (...a: unknown[]) => unknown);
    const inAxes = opts.inAxes === undefined ? 0 : opts.inAxes;
    let perArg: unknown[];
    if (Array.isArray(inAxes)) {
      if (inAxes.length !== args.length) {
        throw shapeError(op, `inAxes has ${inAxes.length} entries for ${args.length} argument(s)`);
      }
      perArg = inAxes;
    } else perArg = args.map(() => inAxes);
    const mapped: { label: string; shape: readonly number[]; axis: number; dtype: string }[] = [];
    const env = new Map<Node, Batched>();
    const sizes = new Set<number>();
    const rebuilt = args.map((a, ai) => {
      const axes = leafAxes(op, `inAxes[${ai}]`, perArg[ai], a);
      const [paths, leaves, def] = flattenWithPath(a as PyTree<unknown>);
      const inner = leaves.map((l, li) => {
        const ax = axes[li];
        if (ax === null) return l;
        const label = `argument ${ai}${keystr(paths[li])}`;
        if (!(l instanceof Tensor)) {
          throw typeError(op, `${label} is mapped (axis ${ax}) but is not a Tensor`);
        }
        const axis = normAxis(op, ax, l.ndim, label);
        mapped.push({ label, shape: l.shape, axis, dtype: l.dtype });
        sizes.add(l.shape[axis]);
        const shape = l.shape.filter((_, i) => i !== axis);
        const p = placeholder(shape, l.dtype, l.device, op, label);
        env.set(p, [l.node, axis]);
        return new Tensor(p);
      });
      return unflatten(def, inner);
    });
    if (
      sizes.size > 1 || (opts.axisSize !== undefined && sizes.size && !sizes.has(opts.axisSize))
    ) {
      const lines = mapped.map((m) =>
        `  ${m.label}: ${m.dtype}${fmt(m.shape)} mapped over axis ${m.axis} (size ${
          m.shape[m.axis]
        })`
      );
      if (opts.axisSize !== undefined) lines.push(`  axisSize: ${opts.axisSize}`);
      throw shapeError(op, `inconsistent batch sizes:\n${lines.join("\n")}`);
    }
    const size = sizes.size ? [...sizes][0] : opts.axisSize;
    if (size === undefined) {
      throw shapeError(op, `no argument is mapped (every inAxes is null); pass axisSize`);
    }
    const out = withTracing(() => uf(...rebuilt));
    if (out instanceof Promise) {
      out.catch(() => {}); // its own rejection (a traced read) is reported by the error below
      throw typeError(
        "vmap",
        "the function returned a Promise; a vmapped function must be synchronous " +
          "(traced values cannot be awaited: use k.cond / k.whileLoop, or read results after vmap)",
      );
    }
    const [opaths, oleaves, odef] = flattenWithPath(out as PyTree<unknown>);
    const tensors = oleaves.flatMap((l) => (l instanceof Tensor ? [l.node] : []));
    const batched = batchNodes(tensors, env, size);
    const outAxes = leafAxes(op, "outAxes", opts.outAxes === undefined ? 0 : opts.outAxes, out);
    let k = 0;
    const result = oleaves.map((l, i) => {
      if (!(l instanceof Tensor)) return l;
      const [n, d] = batched[k++];
      const oa = outAxes[i];
      if (oa === null) {
        if (d !== null) {
          throw shapeError(
            op,
            `output ${
              keystr(opaths[i]) || "(root)"
            } depends on a mapped input but its outAxes is null`,
          );
        }
        return new Tensor(n);
      }
      const ndim = n.shape.length + (d === null ? 1 : 0);
      return new Tensor(moveBatch(n, d, normAxis(op, oa, ndim, "an output"), size));
    });
    return unflatten(odef, result);
  }) as unknown as F;
}
