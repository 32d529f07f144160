/**
 * `whileLoop` (a data-dependent trip count: the condition is read back each iteration) and
 * `foriLoop` (static bounds become a `scan`, so it is differentiable; traced bounds become a
 * `whileLoop`).
 * @module
 */
import type { BufferHandle, Node } from "../../ir/node.ts";
import { type Aval, CallArg, type CallPrimitive, type Graph, makeCall } from "../../ir/call.ts";
import { type Batched, register } from "../../ir/primitive.ts";
import { makeLeaf, makeNode } from "../../ir/graph.ts";
import { front } from "../../ir/batching.ts";
import * as B from "../../ir/build.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { defaultDevice } from "../../tensor/device.ts";
import { fmt } from "../../shape.ts";
import { forward, tape } from "../autodiff.ts";
import { evalGraph } from "../trace.ts";
import { batchNodes } from "../vmap.ts";
import { unflatten } from "../tree.ts";
import {
  avalOf,
  checkAvals,
  closeAll,
  deviceOf,
  floats,
  type NodeFn,
  tensorLeaves,
  traceNodes,
  wrap,
  zeros,
} from "./common.ts";
import { scanNodes } from "./scan.ts";
import {
  checkFunction,
  checkInt,
  describe,
  typeError,
  userCallback,
  userOp,
} from "../../errors.ts";

class WhileArg extends CallArg {
  constructor(
    outs: readonly Aval[],
    device: string,
    readonly cond: Graph,
    readonly body: Graph,
  ) {
    super(outs, device);
  }
}

/** A while loop over node lists; `condFn` returns one bool scalar. */
export function whileNodes(
  condFn: NodeFn,
  bodyFn: NodeFn,
  init: readonly Node[],
  device = deviceOf(init, defaultDevice()),
): Node[] {
  const avals = init.map(avalOf);
  const labels = init.map((_, i) => `carry ${i}`);
  const c = traceNodes("whileLoop", avals, device, labels, condFn);
  const p = c.outputs[0];
  if (c.outputs.length !== 1 || p.shape.length !== 0 || p.dtype !== "bool") {
    throw typeError(
      "whileLoop",
      `condFn must return one bool scalar, got ${
        c.outputs.map((o) => `${o.dtype}${fmt(o.shape)}`).join(", ")
      }`,
    );
  }
  const b = traceNodes("whileLoop", avals, device, labels, bodyFn);
  checkAvals("whileLoop", "bodyFn's new carry", b.outputs.map(avalOf), avals, labels);
  const { graphs: [cg, bg], consts } = closeAll([c, b], "whileLoop");
  return makeCall("while", [...init, ...consts], new WhileArg(avals, device, cg, bg));
}

const WHILE: CallPrimitive = {
  name: "while",
  kind: "call",
  call: {
    *run(ctx, eq, inputs) {
      const a = eq.arg as WhileArg;
      const nc = a.outs.length;
      const consts = inputs.slice(nc);
      let carry: BufferHandle[] = inputs.slice(0, nc);
      let owned = false;
      for (;;) {
        const [p] = yield* ctx.runGraph(a.cond, [...carry, ...consts]);
        const [v] = yield* ctx.read(p);
        ctx.release(p);
        if (!v) break;
        const next = yield* ctx.runGraph(a.body, [...carry, ...consts]);
        if (owned) { for (const c of carry) ctx.release(c); }
        carry = next;
        owned = true;
      }
      if (owned) return carry;
      return carry.map((c) => {
        const o = ctx.alloc(c.dtype, c.size, a.device);
        ctx.copy(c, 0, o, 0, c.size);
        return o;
      });
    },

    vjp() {
      throw new Error(
        "whileLoop is not reverse-differentiable (its trip count depends on data): use " +
          "k.scan, or k.foriLoop with static (number) bounds",
      );
    },

    jvp(tangents, eq) {
      const a = eq.arg as WhileArg;
      const nc = a.outs.length;
      const init = eq.src.slice(0, nc), consts = eq.src.slice(nc);
      const fc = floats(init), fk = floats(consts);
      const dk = fk.map((k) => tangents[nc + k] ?? zeros(consts[k], a.device));
      const res = whileNodes(
        (ins) => evalGraph(a.cond, [...ins.slice(0, nc), ...consts]),
        (ins) => {
          const c = ins.slice(0, nc), dc = ins.slice(nc);
          const w = [...c, ...consts].map((x, i) =>
            fc.includes(i) || fk.includes(i - nc) ? wrap(x) : x
          );
          const outs = evalGraph(a.body, w);
          const ws = [...fc, ...fk.map((k) => nc + k)].map((i) => w[i]);
          const ts = forward(tape(outs, new Set(ws)), ws, [...dc, ...dk], outs);
          return [...outs, ...fc.map((i) => ts[i] ?? zeros(outs[i], a.device))];
        },
        [...init, ...fc.map((i) => tangents[i] ?? zeros(init[i], a.device))],
        a.device,
      );
      const out: (Node | null)[] = a.outs.map(() => null);
      fc.forEach((i, j) => out[i] = res[nc + j]);
      return out;
    },

    batch(src, eq, ctx) {
      // Run while any example's condition holds; finished examples keep their carry.
      const a = eq.arg as WhileArg;
      const n = ctx.size;
      const nc = a.outs.length;
      const consts = src.slice(nc);
      const env = (g: Graph, c: readonly Node[]) =>
        new Map<Node, Batched>(
          g.inputs.map((p, i) => [p, i < nc ? [c[i], 0] : consts[i - nc]]),
        );
      const pred = (c: readonly Node[]) =>
        front(batchNodes(a.cond.outputs, env(a.cond, c), n)[0], n);
      const res = whileNodes(
        (c) => {
          const any = makeNode("max", [B.cast(pred(c), "int32")], [0]);
          return [B.cast(B.reshape(any, []), "bool")];
        },
        (c) => {
          const p = pred(c);
          const next = batchNodes(a.body.outputs, env(a.body, c), n).map((b) => front(b, n));
          return next.map((x, i) => {
            const pb = B.expand(B.reshape(p, [n, ...x.shape.slice(1).map(() => 1)]), x.shape);
            return B.where(pb, x, c[i]);
          });
        },
        src.slice(0, nc).map((s) => front(s, n)),
        a.device,
      );
      return res.map((r): Batched => [r, 0]);
    },

    graphs: (arg) => ({ cond: (arg as WhileArg).cond, body: (arg as WhileArg).body }),
  },
};
register(WHILE);

/**
 * Repeats `bodyFn(carry)` while `condFn(carry)` is true (as `jax.lax.while_loop`); the trip
 * count may depend on data. Forward-differentiable; for reverse mode use `scan` or `foriLoop`.
 * @example const [i, x] = k.whileLoop(([i]) => i.lt(10), ([i, x]) => [i.add(1), x.mul(2)], [i0, x0])
 */
export function whileLoop<C>(
  condFn: (carry: C) => Tensor,
  bodyFn: (carry: C) => C,
  init: C,
): C {
  return userOp("whileLoop", () => {
    checkFunction("whileLoop", condFn, "condFn");
    checkFunction("whileLoop", bodyFn, "bodyFn");
    return whileImpl(userCallback(condFn), userCallback(bodyFn), init);
  });
}

function whileImpl<C>(condFn: (carry: C) => Tensor, bodyFn: (carry: C) => C, init: C): C {
  const [nodes, def] = tensorLeaves("whileLoop", "init", init);
  const tree = (ns: Node[]) => unflatten(def, ns.map((n) => new Tensor(n))) as C;
  const outs = whileNodes(
    (ins) => {
      const p = condFn(tree(ins));
      if (!(p instanceof Tensor)) throw typeError("whileLoop", "condFn must return a Tensor");
      return [p.size === 1 ? B.reshape(p.node, []) : p.node];
    },
    (ins) => tensorLeaves("whileLoop", "bodyFn's new carry", bodyFn(tree(ins)))[0],
    nodes,
  );
  return tree(outs);
}

/**
 * `for (i = lo; i < hi; i++) carry = body(i, carry)`, with `i` an int32 scalar tensor (as
 * `jax.lax.fori_loop`). Number bounds run as a `scan` (differentiable both ways); tensor
 * bounds as a `whileLoop`.
 * @example const x = k.foriLoop(0, 5, (i, x) => x.add(i), k.tensor(0))
 */
export function foriLoop<C>(
  lo: number | Tensor,
  hi: number | Tensor,
  body: (i: Tensor, carry: C) => C,
  init: C,
): C {
  return userOp("foriLoop", () => {
    checkBound(lo, "lo");
    checkBound(hi, "hi");
    checkFunction("foriLoop", body, "body");
    return foriImpl(lo, hi, userCallback(body), init);
  });
}

/** A loop bound: an integer or an int32 scalar tensor. */
function checkBound(v: unknown, what: string): void {
  if (v instanceof Tensor) return;
  if (typeof v !== "number") {
    throw typeError(
      "foriLoop",
      `${what} must be an integer or an int32 scalar tensor, got ${describe(v)}`,
    );
  }
  checkInt("foriLoop", v, what);
}

function foriImpl<C>(
  lo: number | Tensor,
  hi: number | Tensor,
  body: (i: Tensor, carry: C) => C,
  init: C,
): C {
  const [nodes, def] = tensorLeaves("foriLoop", "init", init);
  const tree = (ns: readonly Node[]) => unflatten(def, ns.map((n) => new Tensor(n))) as C;
  const step = (i: Node, c: Node[]) =>
    tensorLeaves("foriLoop", "body's new carry", body(new Tensor(i), tree(c)))[0];
  const device = deviceOf(nodes, defaultDevice());
  if (typeof lo === "number" && typeof hi === "number") {
    const n = Math.max(0, Math.trunc(hi) - Math.trunc(lo));
    const iota = makeLeaf("iota", 0, [n], "int32", device);
    const xs = B.add(iota, Math.trunc(lo));
    return tree(scanNodes((c, [i]) => [step(i, c), []], nodes, [xs], n, false, device));
  }
  const bound = (v: number | Tensor, what: string): Node => {
    if (typeof v === "number") return makeLeaf("const", Math.trunc(v), [], "int32", device);
    if (v.size !== 1 || v.dtype !== "int32") {
      throw typeError("foriLoop", `${what} must be an int32 scalar, got ${v.dtype}${fmt(v.shape)}`);
    }
    return B.reshape(v.node, []);
  };
  const l = bound(lo, "lo"), h = bound(hi, "hi");
  const outs = whileNodes(
    ([i, hh]) => [B.less(i, hh)],
    ([i, hh, ...c]) => [B.add(i, 1), hh, ...step(i, c)],
    [l, h, ...nodes],
    device,
  );
  return tree(outs.slice(2));
}
