/**
 * Custom derivative rules (`customVjp`, `customJvp`), as in JAX. The wrapped function's value
 * is computed as usual; a `custom` node carries the user's rule, so the reverse sweep calls
 * `bwd` (and never differentiates through `fwd`'s graph), the forward sweep calls `jvp`.
 * @module
 */
import { makeNode } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { CustomRule } from "../ir/source.ts";
import * as B from "../ir/build.ts";
import { Tensor } from "../tensor/tensor.ts";
import { concatenate, reshape } from "../tensor/movement.ts";
import { backward, tape } from "./autodiff.ts";
import { flatten, type PyTree, unflatten } from "./tree.ts";
import { fmt } from "../shape.ts";
import {
  checkFunction,
  checkOptions,
  checkTensorArg,
  describe,
  publicOp,
  shapeError,
  typeError,
  userCallback,
} from "../errors.ts";

/** Any function (parameters unconstrained). */
export type AnyFn = (...args: never[]) => unknown;

/** Tensor leaves of all arguments, with a way to rebuild per-argument trees. */
function argLeaves(args: readonly unknown[]) {
  const flat = args.map((a) => flatten(a as PyTree<unknown>));
  const tensors: Tensor[] = [];
  const where: number[][] = flat.map(([ls]) =>
    ls.map((l) => {
      if (l instanceof Tensor) {
        tensors.push(l);
        return tensors.length - 1;
      }
      return -1;
    })
  );
  return { flat, tensors, where };
}

/** Packs output leaves into one flat vector (one `custom` node serves any output tree). */
function pack(op: string, out: unknown) {
  const [leaves, def] = flatten(out as PyTree<unknown>);
  const ts = leaves.map((l, i) => {
    if (!(l instanceof Tensor)) throw typeError(op, `output leaf ${i} is not a Tensor`);
    return l;
  });
  if (ts.some((t) => t.dtype !== ts[0].dtype)) {
    throw typeError(op, `all output leaves must share one dtype, got ${ts.map((t) => t.dtype)}`);
  }
  const flat = ts.length === 1
    ? reshape(ts[0], [ts[0].size])
    : concatenate(ts.map((t) => reshape(t, [t.size])));
  const unpack = (v: Node): Tensor[] => {
    let off = 0;
    return ts.map((t) => {
      const piece = makeNode("shrink", [v], [[off, off + t.size, 1]]);
      off += t.size;
      return new Tensor(B.reshape(piece, t.shape));
    });
  };
  return { ts, def, flat, unpack };
}

/** Options of `customVjp`. */
export interface CustomVjpRules {
  /** Returns `[out, residuals]`. */
  fwd: (...args: never[]) => [unknown, unknown];
  /** Returns one cotangent (tree) per argument; `null` for none. */
  bwd: (residuals: never, g: never) => unknown[];
}

/**
 * A function with a user-defined VJP. `fwd` computes the output and residuals; `bwd` maps
 * residuals and the output cotangent to one cotangent per argument. Forward mode
 * differentiates `fwd`'s own graph. @example
 * const clipGrad = k.customVjp((x) => x, {fwd: (x) => [x, null], bwd: (_r, g) => [k.clip(g, -1, 1)]})
 */
export function customVjp<F extends AnyFn>(f: F, rules: CustomVjpRules): F {
  checkFunction("customVjp", f);
  checkRules("customVjp", rules, ["fwd", "bwd"]);
  return publicOp("customVjp", (...args: unknown[]) => {
    const fwd = userCallback(rules.fwd as (...a: unknown[]) => [unknown, unknown]);
    const bwd = userCallback(rules.bwd as (r: unknown, g: unknown) => unknown[]);
    const fo = fwd(...args);
    if (!Array.isArray(fo) || fo.length !== 2) {
      throw typeError("customVjp", `fwd must return [out, residuals], got ${describe(fo)}`);
    }
    const [out, res] = fo;
    const { tensors, where } = argLeaves(args);
    const p = pack("customVjp", out);
    const rule: CustomRule = {
      name: "customVjp",
      vjp: (ct) => {
        const g = unflatten(p.def, p.unpack(ct));
        const cts = bwd(res, g);
        if (!Array.isArray(cts) || cts.length !== args.length) {
          throw shapeError(
            "customVjp",
            `bwd must return an array of ${args.length} cotangent(s), got ${
              Array.isArray(cts) ? cts.length : typeof cts
            }`,
          );
        }
        const outCts: (Node | null)[] = [null, ...tensors.map(() => null)];
        cts.forEach((c, ai) => {
          if (c === null || c === undefined) return;
          const [cl] = flatten(c as PyTree<unknown>);
          where[ai].forEach((ti, li) => {
            if (ti < 0) return;
            const t = cl[li];
            if (!(t instanceof Tensor)) return;
            const want = tensors[ti];
            if (t.shape.join() !== want.shape.join()) {
              throw shapeError(
                "customVjp",
                `bwd cotangent for argument ${ai} has shape ${fmt(t.shape)}, expected ${
                  fmt(want.shape)
                }`,
              );
            }
            outCts[1 + ti] = B.cast(t.node, want.dtype);
          });
        });
        return outCts;
      },
      jvp: ([t]) => t,
    };
    const node = makeNode("custom", [p.flat.node, ...tensors.map((t) => t.node)], rule);
    return unflatten(p.def, p.unpack(node));
  }) as unknown as F;
}

/** Checks a rules object: a plain object holding exactly the named functions. */
function checkRules(op: string, rules: unknown, names: readonly string[]): void {
  const r = checkOptions(op, rules as Record<string, unknown>, names, "rules");
  for (const n of names) checkFunction(op, r[n], `rules.${n}`);
}

/**
 * A function with a user-defined JVP: `jvp(primals, tangents)` returns `[out, tangentOut]`
 * (tangentOut linear in the tangents). Reverse mode transposes that rule. Single tensor
 * output. @example const f = k.customJvp((x) => x.exp(), {jvp: ([x], [t]) => [x.exp(), x.exp().mul(t)]})
 */
export function customJvp<F extends AnyFn>(
  f: F,
  rules: { jvp: (primals: Tensor[], tangents: Tensor[]) => [Tensor, Tensor] },
): F {
  checkFunction("customJvp", f);
  checkRules("customJvp", rules, ["jvp"]);
  return publicOp("customJvp", (...args: Tensor[]) => {
    args.forEach((a, i) => checkTensorArg("customJvp", a, `argument ${i}`));
    const out = userCallback(f as unknown as (...a: Tensor[]) => unknown)(...args);
    const userJvp = userCallback(rules.jvp);
    if (!(out instanceof Tensor)) throw typeError("customJvp", "f must return a single Tensor");
    const tangentOut = (prims: readonly Node[], tans: readonly Node[]): Node => {
      const r = userJvp(prims.map((n) => new Tensor(n)), tans.map((n) => new Tensor(n)));
      if (!Array.isArray(r)) {
        throw typeError("customJvp", `jvp must return [out, tangent], got ${describe(r)}`);
      }
      const t = r[1];
      if (!(t instanceof Tensor) || t.shape.join() !== out.shape.join()) {
        throw shapeError(
          "customJvp",
          `jvp must return [out, tangent] with tangent of shape ${fmt(out.shape)}`,
        );
      }
      return B.cast(t.node, out.dtype);
    };
    const rule: CustomRule = {
      name: "customJvp",
      jvp: (ts, e) => {
        const prims = e.src.slice(1);
        return tangentOut(prims, prims.map((p, i) => ts[i + 1] ?? B.konst(0, p)));
      },
      vjp: (ct, e) => {
        // Transpose the (linear) custom JVP: trace it on tangent placeholders, sweep back.
        const prims = e.src.slice(1);
        const holes = prims.map((p) => makeNode("cast", [B.konst(0, p)], p.dtype));
        const tout = tangentOut(prims, holes);
        const entries = tape([tout], new Set(holes));
        return [null, ...backward(entries, [tout], [ct], holes)];
      },
    };
    return new Tensor(makeNode("custom", [out.node, ...args.map((a) => a.node)], rule));
  }) as unknown as F;
}
