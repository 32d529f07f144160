/**
 * `checkpoint` (rematerialization, as `jax.checkpoint` / `jax.remat`): a call primitive holding
 * the traced function. Its value runs as a sub-program; its VJP does not read any of the
 * function's internal values but evaluates the function again from its inputs inside the
 * backward pass. Inside a `scan` body that means the loop saves only the checkpoint's inputs
 * (and whatever else the rest of the body needs) per step, not its intermediates.
 * @module
 */
import type { BufferHandle, Node } from "../ir/node.ts";
import { type Aval, CallArg, type CallPrimitive, type Graph, makeCall } from "../ir/call.ts";
import { type Batched, register } from "../ir/primitive.ts";
import { front } from "../ir/batching.ts";
import { Tensor } from "../tensor/tensor.ts";
import { defaultDevice } from "../tensor/device.ts";
import { forward, tape } from "./autodiff.ts";
import { evalGraph } from "./trace.ts";
import { batchNodes } from "./vmap.ts";
import { flatten, type PyTree, unflatten } from "./tree.ts";
import { avalOf, closeAll, deviceOf, floats, traceNodes, wrap, zeros } from "./control/common.ts";
import { type BodyVjp, linearizeBody, markRecomputed } from "./control/residuals.ts";
import {
  checkFunction,
  checkOptions,
  checkString,
  publicOp,
  typeError,
  userCallback,
} from "../errors.ts";

/** The `arg` of a checkpoint node: the traced function (inputs: arguments, then captures). */
class CheckpointArg extends CallArg {
  constructor(
    outs: readonly Aval[],
    device: string,
    readonly body: Graph,
    readonly name: string,
  ) {
    super(outs, device);
  }
}

/** A checkpointed function over node lists. */
function checkpointNodes(
  fn: (ins: Node[]) => Node[],
  ins: readonly Node[],
  name: string,
  device = deviceOf(ins, defaultDevice()),
): Node[] {
  const labels = ins.map((_, i) => `argument leaf ${i}`);
  const g = traceNodes("checkpoint", ins.map(avalOf), device, labels, fn);
  const { graphs: [body], consts } = closeAll([g], "checkpoint");
  const arg = new CheckpointArg(body.outputs.map(avalOf), device, body, name);
  return makeCall("checkpoint", [...ins, ...consts], arg);
}

/** The function's VJP split into a call that also outputs residuals, and the cotangent side. */
interface Linearized {
  readonly vjp: BodyVjp;
  readonly aug: CheckpointArg;
}

const linearizedOf = new WeakMap<CheckpointArg, Linearized>();

/** Every input counts as a per-step value (there is no loop): the rest follows scan's split. */
function linearized(a: CheckpointArg): Linearized {
  let l = linearizedOf.get(a);
  if (!l) {
    const vjp = linearizeBody(a.body, 0, a.body.inputs.length, a.device);
    const aug = new CheckpointArg(vjp.fwd.outputs.map(avalOf), a.device, vjp.fwd, a.name);
    linearizedOf.set(a, l = { vjp, aug });
  }
  return l;
}

const CHECKPOINT: CallPrimitive = {
  name: "checkpoint",
  kind: "call",
  call: {
    *run(ctx, eq, inputs) {
      const a = eq.arg as CheckpointArg;
      const outs = yield* ctx.runGraph(a.body, inputs);
      // An output that is an input (or repeats another) is copied: the caller owns each one.
      const seen = new Set<BufferHandle>(inputs);
      return outs.map((b) => {
        if (!seen.has(b)) {
          seen.add(b);
          return b;
        }
        const o = ctx.alloc(b.dtype, b.size, a.device);
        ctx.copy(b, 0, o, 0, b.size);
        return o;
      });
    },

    vjp(cts, eq, needed) {
      const a = eq.arg as CheckpointArg;
      const since = zeros({ shape: [], dtype: "int32" }, a.device).id;
      // Run the function again (a second call of it that also outputs the values its VJP
      // reads: its residuals), then only the cotangent side. Nothing of the forward call is
      // read; inside a loop all of it is recomputed in the backward loop (markRecomputed).
      const lin = linearized(a);
      // Identity casts (differentiation markers) would be copied to feed a call: skip them.
      const src = eq.src.map((s) => s.op === "cast" && s.dtype === s.src[0].dtype ? s.src[0] : s);
      const outs = makeCall("checkpoint", [...src, ...lin.vjp.extra], lin.aug);
      const fx = floats(eq.src), fy = floats(a.outs);
      const loop = lin.vjp.loop(fx.map((i) => needed?.[i] ?? true), []);
      const g = loop.step(
        [],
        fy.map((j) => cts[j] ?? zeros(a.outs[j], a.device)),
        outs.slice(a.outs.length),
        lin.vjp.xsUsed.map((j) => eq.src[j]),
        [],
      );
      const grads: (Node | null)[] = eq.src.map(() => null);
      fx.forEach((i, j) => grads[i] = g.xs[j]);
      markRecomputed(grads, since);
      return grads;
    },

    jvp(tangents, eq) {
      const a = eq.arg as CheckpointArg;
      const w = eq.src.map((s, i) => (tangents[i] ? wrap(s) : s));
      const outs = evalGraph(a.body, w);
      const diff = w.filter((_, i) => tangents[i]);
      const ts = tangents.filter((t): t is Node => t !== null);
      return forward(tape(outs, new Set(diff)), diff, ts, outs);
    },

    batch(src, eq, ctx) {
      const a = eq.arg as CheckpointArg;
      const n = ctx.size;
      // The batched inputs become the new call's inputs; the others are captured as they are.
      const at = src.flatMap(([, d], i) => (d === null ? [] : [i]));
      const res = checkpointNodes(
        (ins) => {
          const env = new Map<Node, Batched>(a.body.inputs.map((p, i) => [p, src[i]]));
          at.forEach((i, j) => env.set(a.body.inputs[i], [ins[j], 0]));
          return batchNodes(a.body.outputs, env, n).map((b) => front(b, n));
        },
        at.map((i) => front(src[i], n)),
        a.name,
        a.device,
      );
      return res.map((r): Batched => [r, 0]);
    },

    graphs: (arg) => ({ [(arg as CheckpointArg).name]: (arg as CheckpointArg).body }),
  },
};
register(CHECKPOINT);

/** Options of `checkpoint`. */
export interface CheckpointOptions {
  /** A label for the checkpointed function in `jit(f).lower()` listings (default "body"). */
  name?: string;
}

/**
 * Wraps `f` so that reverse mode recomputes it instead of saving its intermediate values
 * (as `jax.checkpoint`): inside a `scan` body the loop then stacks only the checkpoint's
 * inputs per step, and the backward loop runs `f` again. Same values and gradients; less
 * memory, more compute. Tensor leaves of the arguments are traced; other leaves (numbers,
 * strings, booleans) are passed to `f` as they are.
 * @example
 * const [h, hs] = k.scan(k.checkpoint((h, x) => cell(params, h, x)), h0, xs);
 */
export function checkpoint<F extends (...args: never[]) => unknown>(
  f: F,
  opts: CheckpointOptions = {},
): F {
  checkFunction("checkpoint", f, "f");
  const o = checkOptions("checkpoint", opts, ["name"]);
  const name = o.name === undefined ? "body" : checkString("checkpoint", o.name, "name");
  return publicOp("checkpoint", (...args: unknown[]) => {
    const uf = userCallback(f as unknown as (...a: unknown[]) => unknown);
    const [leaves, def] = flatten(args as PyTree<unknown>);
    const at = leaves.flatMap((l, i) => (l instanceof Tensor ? [i] : []));
    let outDef = flatten(null)[1];
    const outs = checkpointNodes(
      (ins) => {
        const ls = [...leaves];
        at.forEach((li, j) => ls[li] = new Tensor(ins[j]));
        const out = uf(...(unflatten(def, ls) as unknown[]));
        const [ol, od] = flatten(out as PyTree<unknown>);
        outDef = od;
        return ol.map((l, i) => {
          if (!(l instanceof Tensor)) {
            throw typeError(
              "checkpoint",
              `output leaf ${i} of the checkpointed function is not a Tensor`,
            );
          }
          return l.node;
        });
      },
      at.map((li) => (leaves[li] as Tensor).node),
      name,
    );
    return unflatten(outDef, outs.map((n) => new Tensor(n)));
  }) as unknown as F;
}
