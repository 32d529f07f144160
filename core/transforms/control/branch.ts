/**
 * `switchCase` and `cond`: pick one of several traced branches by a runtime index. The call
 * reads the index (one small readback) and runs only the chosen branch's program. Under
 * `vmap` with a batched index every branch runs on the whole batch and the results are
 * selected elementwise, as in JAX.
 * @module
 */
import type { Node } from "../../ir/node.ts";
import { type Aval, CallArg, type CallPrimitive, type Graph, makeCall } from "../../ir/call.ts";
import { type Batched, register } from "../../ir/primitive.ts";
import { makeNode } from "../../ir/graph.ts";
import { front } from "../../ir/batching.ts";
import * as B from "../../ir/build.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { defaultDevice } from "../../tensor/device.ts";
import { fmt } from "../../shape.ts";
import { isFloat } from "../../dtype.ts";
import { backward, forward, tape } from "../autodiff.ts";
import { evalGraph } from "../trace.ts";
import { batchNodes } from "../vmap.ts";
import { formatDef, type TreeDef, unflatten } from "../tree.ts";
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
import {
  checkFunction,
  checkInt,
  describe,
  typeError,
  userCallback,
  userOp,
} from "../../errors.ts";

class SwitchArg extends CallArg {
  constructor(outs: readonly Aval[], device: string, readonly branches: readonly Graph[]) {
    super(outs, device);
  }
}

/** A switch over node lists: `branches[clamp(index)](operands)`. */
export function switchNodes(
  index: Node,
  branches: readonly NodeFn[],
  operands: readonly Node[],
  device = deviceOf([index, ...operands], defaultDevice()),
  op = "switchCase",
  names: readonly string[] = branches.map((_, b) => `branch ${b}`),
): Node[] {
  const avals = operands.map(avalOf);
  const labels = operands.map((_, i) => `operand ${i}`);
  const graphs = branches.map((fn) => traceNodes(op, avals, device, labels, fn));
  const want = graphs[0].outputs.map(avalOf);
  graphs.forEach((g, b) =>
    checkAvals(
      op,
      `${names[b]} output`,
      g.outputs.map(avalOf),
      want,
      want.map((_, i) => `${i} (${names[0]} gives ${want[i].dtype}${fmt(want[i].shape)})`),
    )
  );
  const { graphs: closed, consts } = closeAll(graphs, op);
  const i32 = index.dtype === "int32" ? index : B.cast(index, "int32");
  return makeCall("switch", [i32, ...operands, ...consts], new SwitchArg(want, device, closed));
}

/** Differentiable operands (floats) and a branch's VJP / JVP as node functions. */
const SWITCH: CallPrimitive = {
  name: "switch",
  kind: "call",
  call: {
    *run(ctx, eq, inputs) {
      const a = eq.arg as SwitchArg;
      const [v] = yield* ctx.read(inputs[0]);
      const i = Math.min(Math.max(Math.trunc(Number(v)), 0), a.branches.length - 1);
      return yield* ctx.runGraph(a.branches[i], inputs.slice(1));
    },

    vjp(cts, eq) {
      const a = eq.arg as SwitchArg;
      const ops = eq.src.slice(1);
      const fo = floats(ops), fy = floats(a.outs);
      const seedsIn = fy.map((j) => cts[j] ?? zeros(a.outs[j], a.device));
      const res = switchNodes(
        eq.src[0],
        a.branches.map((g) => (ins: Node[]) => {
          const w = ins.slice(0, ops.length).map((n, i) => (fo.includes(i) ? wrap(n) : n));
          const outs = evalGraph(g, w);
          const seeds = fy.map((j) => outs[j]);
          const ws = fo.map((i) => w[i]);
          const gs = backward(tape(seeds, new Set(ws)), seeds, ins.slice(ops.length), ws);
          return gs.map((x, k) => x ?? zeros(ws[k], a.device));
        }),
        [...ops, ...seedsIn],
        a.device,
      );
      const out: (Node | null)[] = eq.src.map(() => null);
      fo.forEach((i, k) => out[1 + i] = res[k]);
      return out;
    },

    jvp(tangents, eq) {
      const a = eq.arg as SwitchArg;
      const ops = eq.src.slice(1);
      const fo = floats(ops), fy = floats(a.outs);
      const n = a.outs.length;
      const res = switchNodes(
        eq.src[0],
        a.branches.map((g) => (ins: Node[]) => {
          const w = ins.slice(0, ops.length).map((x, i) => (fo.includes(i) ? wrap(x) : x));
          const outs = evalGraph(g, w);
          const ws = fo.map((i) => w[i]);
          const ts = forward(tape(outs, new Set(ws)), ws, ins.slice(ops.length), outs);
          return [...outs, ...fy.map((j) => ts[j] ?? zeros(outs[j], a.device))];
        }),
        [...ops, ...fo.map((i) => tangents[1 + i] ?? zeros(ops[i], a.device))],
        a.device,
      );
      const out: (Node | null)[] = a.outs.map(() => null);
      fy.forEach((j, k) => out[j] = res[n + k]);
      return out;
    },

    batch(src, eq, ctx) {
      const a = eq.arg as SwitchArg;
      const n = ctx.size;
      const ops = src.slice(1);
      const runBranch = (g: Graph, ins: readonly Batched[]) =>
        batchNodes(g.outputs, new Map(g.inputs.map((p, i) => [p, ins[i]])), n).map((b) =>
          front(b, n)
        );
      const [index, di] = src[0];
      if (di === null) {
        const outs = switchNodes(
          index,
          a.branches.map((g) => (ins: Node[]) =>
            runBranch(g, ins.map((x, i) => [x, ops[i][1] === null ? null : 0]))
          ),
          ops.map(([x, d]) => (d === null ? x : front([x, d], n))),
          a.device,
        );
        return outs.map((o): Batched => [o, 0]);
      }
      // Batched index: every branch on the whole batch, then select per example.
      const results = a.branches.map((g) => runBranch(g, ops));
      const last = a.branches.length - 1;
      let idx = front([index, di], n);
      idx = makeNode("minimum", [makeNode("maximum", [idx, B.konst(0, idx)]), B.konst(last, idx)]);
      return a.outs.map((o, j): Batched => {
        const shape = [n, ...o.shape];
        const ib = B.expand(B.reshape(idx, [n, ...o.shape.map(() => 1)]), shape);
        let acc = results[last][j];
        for (let b = last - 1; b >= 0; b--) acc = B.where(B.equal(ib, b), results[b][j], acc);
        return [acc, 0];
      });
    },

    graphs: (arg) =>
      Object.fromEntries((arg as SwitchArg).branches.map((g, i) => [`branch${i}`, g])),
  },
};
register(SWITCH);

/** Runs user branches (pytrees in, pytrees out) as a switch. */
function branchTrees(
  op: string,
  index: Node,
  branches: readonly ((...operands: never[]) => unknown)[],
  operands: readonly unknown[],
  names: readonly string[] = branches.map((_, b) => `branch ${b}`),
): unknown {
  const [opNodes, opDef] = tensorLeaves(op, "operand", operands);
  let outDef: TreeDef | undefined;
  const outs = switchNodes(
    index,
    branches.map((f, b) => (ins: Node[]) => {
      const args = unflatten(opDef, ins.map((n) => new Tensor(n))) as unknown[];
      const [ns, d] = tensorLeaves(
        op,
        `${names[b]} output`,
        (f as (...a: unknown[]) => unknown)(...args),
      );
      if (outDef && formatDef(d) !== formatDef(outDef)) {
        throw typeError(
          op,
          `${names[b]} returns structure ${formatDef(d)}, ${names[0]} returns ${formatDef(outDef)}`,
        );
      }
      outDef ??= d;
      return ns;
    }),
    opNodes,
    undefined,
    op,
    names,
  );
  return unflatten(outDef!, outs.map((n) => new Tensor(n)));
}

function scalarIndex(op: string, what: string, t: Tensor): Node {
  if (t.size !== 1) {
    throw typeError(op, `${what} must be a scalar, got ${t.dtype}${fmt(t.shape)}`);
  }
  if (isFloat(t.dtype)) {
    throw typeError(op, `${what} must be bool or int32, got ${t.dtype}`);
  }
  return B.reshape(t.node, []);
}

/**
 * Calls `branches[index](...operands)`, choosing at run time (index clamped into range, as
 * `jax.lax.switch`). All branches must return the same structure, shapes and dtypes.
 * @example const y = k.switchCase(k.tensor(1, {dtype: "int32"}), [(x) => x, (x) => x.neg()], x)
 */
export function switchCase<T>(
  index: Tensor | number,
  branches: readonly ((...operands: never[]) => T)[],
  ...operands: unknown[]
): T {
  return userOp("switchCase", () => {
    if (typeof index !== "number" && !(index instanceof Tensor)) {
      throw typeError(
        "switchCase",
        `index must be an integer or an int32 scalar tensor, got ${describe(index)}`,
      );
    }
    if (typeof index === "number") checkInt("switchCase", index, "index");
    if (!Array.isArray(branches)) {
      throw typeError(
        "switchCase",
        `branches must be an array of functions, got ${describe(branches)}`,
      );
    }
    if (!branches.length) throw typeError("switchCase", "needs at least one branch");
    const fns = branches.map((b, i) =>
      userCallback(checkFunction("switchCase", b, `branches[${i}]`) as (...a: never[]) => T)
    );
    if (typeof index === "number") {
      const i = Math.min(Math.max(Math.trunc(index), 0), fns.length - 1);
      return (fns[i] as (...a: unknown[]) => T)(...operands);
    }
    return branchTrees(
      "switchCase",
      scalarIndex("switchCase", "index", index),
      fns,
      operands,
    ) as T;
  });
}

/**
 * `pred ? trueFn(...operands) : falseFn(...operands)`, chosen at run time (as
 * `jax.lax.cond`): use it where a JS `if` would need a traced value.
 * @example const y = k.cond(x.sum().gt(0), (x) => x, (x) => x.neg(), x)
 */
export function cond<T>(
  pred: Tensor | boolean,
  trueFn: (...operands: never[]) => T,
  falseFn: (...operands: never[]) => T,
  ...operands: unknown[]
): T {
  return userOp("cond", () => {
    if (typeof pred !== "boolean" && !(pred instanceof Tensor)) {
      throw typeError("cond", `pred must be a boolean or a scalar tensor, got ${describe(pred)}`);
    }
    const t = userCallback(checkFunction<typeof trueFn>("cond", trueFn, "trueFn"));
    const f = userCallback(checkFunction<typeof falseFn>("cond", falseFn, "falseFn"));
    if (typeof pred === "boolean") {
      return ((pred ? t : f) as (...a: unknown[]) => T)(...operands);
    }
    const p = scalarIndex("cond", "pred", pred);
    return branchTrees("cond", p, [f, t], operands, ["falseFn", "trueFn"]) as T;
  });
}
