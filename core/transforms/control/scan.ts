/**
 * `scan`: a loop over the leading axis of `xs` carrying state, as one primitive holding the
 * traced body. It runs as a host loop over the body's compiled program (every step's launches
 * and slice copies queued into the same submit), so a 1,000-step RNN traces its cell once.
 *
 * Derivatives are scans again. Reverse mode saves residuals (core/transforms/control/
 * residuals.ts): the forward loop also stacks, per step, the primal values the body's VJP
 * reads, and a reverse loop runs only the cotangent side of the body's VJP on them,
 * accumulating the captured values' cotangents in its carry (`checkpoint` in a body trades
 * that memory back for recomputation). Forward mode scans the body's JVP alongside the primal.
 * @module
 */
import type { BufferHandle, Node } from "../../ir/node.ts";
import {
  type Aval,
  CallArg,
  type CallPrimitive,
  extendCall,
  type Graph,
  makeCall,
  projsOf,
} from "../../ir/call.ts";
import type { Batched, Eqn } from "../../ir/primitive.ts";
import { register } from "../../ir/primitive.ts";
import { front, moveBatch } from "../../ir/batching.ts";
import * as B from "../../ir/build.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { defaultDevice } from "../../tensor/device.ts";
import { forward, tape } from "../autodiff.ts";
import { type BodyVjp, linearizeBody } from "./residuals.ts";
import { evalGraph } from "../trace.ts";
import { batchNodes } from "../vmap.ts";
import { flatten, unflatten } from "../tree.ts";
import {
  avalOf,
  checkAvals,
  closeAll,
  deviceOf,
  floats,
  tensorLeaves,
  traceNodes,
  wrap,
  zeros,
} from "./common.ts";
import {
  checkBool,
  checkFunction,
  checkOptions,
  checkSize,
  describe,
  rangeError,
  shapeError,
  typeError,
  userCallback,
  userOp,
} from "../../errors.ts";

/** The `arg` of a scan node. */
class ScanArg extends CallArg {
  constructor(
    outs: readonly Aval[],
    device: string,
    /** Inputs: carry, x slices, captured values; outputs: new carry, y. */
    readonly body: Graph,
    readonly nCarry: number,
    readonly nXs: number,
    readonly length: number,
    readonly reverse: boolean,
  ) {
    super(outs, device);
  }
}

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** A scan over node lists: returns the final carry followed by the stacked ys. */
export function scanNodes(
  fn: (carry: Node[], x: Node[]) => [Node[], Node[]],
  init: readonly Node[],
  xs: readonly Node[],
  length: number,
  reverse: boolean,
  device = deviceOf([...init, ...xs], defaultDevice()),
): Node[] {
  const nc = init.length;
  let ys: Node[] = [];
  const avals = [
    ...init.map(avalOf),
    ...xs.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype })),
  ];
  const labels = [...init.map((_, i) => `carry ${i}`), ...xs.map((_, i) => `x ${i}`)];
  const g = traceNodes("scan", avals, device, labels, (ins) => {
    const [c, y] = fn(ins.slice(0, nc), ins.slice(nc));
    checkAvals("scan", "body's new carry", c.map(avalOf), init.map(avalOf), labels);
    ys = y;
    return [...c, ...y];
  });
  const { graphs: [body], consts } = closeAll([g], "scan");
  const outs = [
    ...init.map(avalOf),
    ...ys.map((y) => ({ shape: [length, ...y.shape], dtype: y.dtype })),
  ];
  const arg = new ScanArg(outs, device, body, nc, xs.length, length, reverse);
  return makeCall("scan", [...init, ...xs, ...consts], arg);
}

/** A scan body's VJP split into its two loops, and the forward loop that also stacks residuals. */
interface Linearized {
  readonly vjp: BodyVjp;
  readonly aug: ScanArg;
}

const linearizedOf = new WeakMap<ScanArg, Linearized>();

function linearized(a: ScanArg): Linearized {
  let l = linearizedOf.get(a);
  if (!l) {
    const vjp = linearizeBody(a.body, a.nCarry, a.nXs, a.device);
    const resAvals = vjp.fwd.outputs.slice(a.outs.length).map((r) => ({
      shape: [a.length, ...r.shape],
      dtype: r.dtype,
    }));
    const aug = new ScanArg(
      [...a.outs, ...resAvals],
      a.device,
      vjp.fwd,
      a.nCarry,
      a.nXs,
      a.length,
      a.reverse,
    );
    linearizedOf.set(a, l = { vjp, aug });
  }
  return l;
}

/** Per scan node and body: the stacked residuals its VJP already asked for. */
const residualsOf = new WeakMap<Node, Map<ScanArg, Node[]>>();

/**
 * The stacked residuals of a scan's forward loop. A loop not yet run is extended in place to
 * stack them as it computes its outputs (the forward pass runs once); otherwise (it ran
 * already, or saving needs values it does not read) a second forward loop computes them.
 */
function residuals(eq: Eqn, a: ScanArg, lin: Linearized): Node[] {
  const node = eq.out;
  let byArg = residualsOf.get(node);
  const done = byArg?.get(a);
  if (done) return done;
  const runs = node.op === "scan" && node.arg === a && !lin.vjp.extra.length &&
    !projsOf(node).some((p) => p?.realized);
  const outs = runs
    ? extendCall(node, lin.aug)
    : makeCall("scan", [...eq.src, ...lin.vjp.extra], lin.aug);
  const res = outs.slice(a.outs.length);
  if (!byArg) residualsOf.set(node, byArg = new Map());
  byArg.set(a, res);
  return res;
}

const split = (a: ScanArg, src: readonly Node[]) => ({
  init: src.slice(0, a.nCarry),
  xs: src.slice(a.nCarry, a.nCarry + a.nXs),
  consts: src.slice(a.nCarry + a.nXs),
});

const SCAN: CallPrimitive = {
  name: "scan",
  kind: "call",
  call: {
    *run(ctx, eq, inputs) {
      const a = eq.arg as ScanArg;
      const { nCarry: nc, nXs: nx, length } = a;
      const device = a.device;
      let carry: BufferHandle[] = inputs.slice(0, nc);
      const xs = inputs.slice(nc, nc + nx);
      const consts = inputs.slice(nc + nx);
      const xSize = eq.src.slice(nc, nc + nx).map((x) => numel(x.shape.slice(1)));
      const yAvals = a.outs.slice(nc);
      const ys = yAvals.map((y) => ctx.alloc(y.dtype, numel(y.shape), device));
      const ySize = yAvals.map((y) => numel(y.shape.slice(1)));
      let owned = false;
      for (let t = 0; t < length; t++) {
        const i = a.reverse ? length - 1 - t : t;
        const xi = xs.map((b, j) => {
          const s = ctx.alloc(b.dtype, xSize[j], device);
          ctx.copy(b, i * xSize[j], s, 0, xSize[j]);
          return s;
        });
        const outs = yield* ctx.runGraph(a.body, [...carry, ...xi, ...consts]);
        for (const s of xi) ctx.release(s);
        if (owned) { for (const c of carry) ctx.release(c); }
        carry = outs.slice(0, nc);
        owned = true;
        outs.slice(nc).forEach((y, j) => {
          ctx.copy(y, 0, ys[j], i * ySize[j], ySize[j]);
          ctx.release(y);
        });
      }
      if (!owned) {
        carry = carry.map((c) => {
          const o = ctx.alloc(c.dtype, c.size, device);
          ctx.copy(c, 0, o, 0, c.size);
          return o;
        });
      }
      return [...carry, ...ys];
    },

    vjp(cts, eq, needed) {
      const a = eq.arg as ScanArg;
      const { nCarry: nc, nXs: nx, length } = a;
      const { init, xs, consts } = split(a, eq.src);
      const dev = a.device;
      const lin = linearized(a);
      const res = residuals(eq, a, lin);
      const fc = floats(init), fx = floats(xs), fk = floats(consts);
      const fy = floats(a.outs.slice(nc));
      const want = (i: number) => needed?.[i] ?? true;
      const loop = lin.vjp.loop(fx.map((i) => want(nc + i)), fk.map((i) => want(nc + nx + i)));
      const ctInit = fc.map((i) => cts[i] ?? zeros(init[i], dev));
      const ctYs = fy.map((j) => cts[nc + j] ?? zeros(a.outs[nc + j], dev));
      const nr = lin.vjp.nStacked, nu = lin.vjp.xsUsed.length, nk = loop.carried.length;
      const wx = fx.filter((i) => want(nc + i));
      // The backward loop: carries the cotangents of the carry and of the captured values
      // (summed over steps), reads each step's residuals, emits the xs' cotangents and the
      // per-step factors of the deferred consts' cotangents.
      const out = scanNodes(
        (carry, sl) => {
          const ctc = carry.slice(0, fc.length), acc = carry.slice(fc.length);
          const g = loop.step(ctc, sl.slice(nr + nu), sl.slice(0, nr), sl.slice(nr, nr + nu), [
            ...consts,
          ]);
          const gx = g.xs.filter((x): x is Node => x !== null);
          return [[...g.carry, ...acc.map((c, j) => B.add(c, g.consts[j]))], [...gx, ...g.emit]];
        },
        [...ctInit, ...loop.carried.map((j) => zeros(consts[fk[j]], dev))],
        [...res, ...lin.vjp.xsUsed.map((j) => xs[j]), ...ctYs],
        length,
        !a.reverse,
        dev,
      );
      const grads: (Node | null)[] = eq.src.map(() => null);
      fc.forEach((i, j) => grads[i] = out[j]);
      loop.carried.forEach((j, n) => grads[nc + nx + fk[j]] = out[fc.length + n]);
      const ys = out.slice(fc.length + nk);
      wx.forEach((xi, j) => grads[nc + xi] = ys[j]);
      const late = loop.after(res, xs, ys.slice(wx.length), consts, length);
      loop.deferred.forEach((j, n) => grads[nc + nx + fk[j]] = late[n]);
      return grads;
    },

    jvp(tangents, eq) {
      const a = eq.arg as ScanArg;
      const { nCarry: nc, nXs: nx, length } = a;
      const { init, xs, consts } = split(a, eq.src);
      const dev = a.device;
      const fc = floats(init), fx = floats(xs), fk = floats(consts);
      const ny = a.outs.length - nc;
      const fy = floats(a.outs.slice(nc));
      const dk = fk.map((kk) => tangents[nc + nx + kk] ?? zeros(consts[kk], dev));
      const res = scanNodes(
        (carry, sl) => {
          const c = carry.slice(0, nc), dc = carry.slice(nc);
          const x = sl.slice(0, nx), dx = sl.slice(nx);
          const ins = [...c, ...x, ...consts];
          const diff = [...fc, ...fx.map((i) => nc + i), ...fk.map((i) => nc + nx + i)];
          const w = ins.map((n, i) => (diff.includes(i) ? wrap(n) : n));
          const outs = evalGraph(a.body, w);
          const t = forward(tape(outs, new Set(diff.map((i) => w[i]))), diff.map((i) => w[i]), [
            ...dc,
            ...dx,
            ...dk,
          ], outs);
          const tz = (k: number) => t[k] ?? zeros(outs[k], dev);
          return [
            [...outs.slice(0, nc), ...fc.map(tz)],
            [...outs.slice(nc), ...fy.map((j) => tz(nc + j))],
          ];
        },
        [...init, ...fc.map((i) => tangents[i] ?? zeros(init[i], dev))],
        [...xs, ...fx.map((i) => tangents[nc + i] ?? zeros(xs[i], dev))],
        length,
        a.reverse,
        dev,
      );
      const out: (Node | null)[] = a.outs.map(() => null);
      fc.forEach((i, j) => out[i] = res[nc + j]);
      fy.forEach((yj, j) => out[nc + yj] = res[nc + fc.length + ny + j]);
      return out;
    },

    batch(src, eq, ctx) {
      const a = eq.arg as ScanArg;
      const { nCarry: nc, nXs: nx, length } = a;
      const n = ctx.size;
      const init = src.slice(0, nc).map((s) => front(s, n));
      const xs = src.slice(nc, nc + nx);
      const xsB = xs.map(([x, d]) => (d === null ? x : moveBatch(x, d, 1, n)));
      const consts = src.slice(nc + nx);
      const res = scanNodes(
        (c, sl) => {
          const env = new Map<Node, Batched>();
          a.body.inputs.forEach((p, i) => {
            if (i < nc) env.set(p, [c[i], 0]);
            else if (i < nc + nx) env.set(p, [sl[i - nc], xs[i - nc][1] === null ? null : 0]);
            else env.set(p, consts[i - nc - nx]);
          });
          const outs = batchNodes(a.body.outputs, env, n).map((b) => front(b, n));
          return [outs.slice(0, nc), outs.slice(nc)];
        },
        init,
        xsB,
        length,
        a.reverse,
        a.device,
      );
      return res.map((r, i): Batched => [r, i < nc ? 0 : 1]);
    },

    graphs: (arg) => ({ body: (arg as ScanArg).body }),
  },
};
register(SCAN);

/** Options of `scan`. */
export interface ScanOptions {
  /** Number of steps (required when `xs` is null; otherwise it must match). */
  length?: number;
  /** Iterate from the last slice to the first (ys keep their positions). */
  reverse?: boolean;
}

/**
 * Loops `f(carry, x) -> [carry, y]` over the leading axis of `xs` (a pytree), returning the
 * final carry and the stacked ys, as `jax.lax.scan`. The body is traced once and runs as a
 * loop; it is differentiable in both modes and batches under `vmap`.
 * @example
 * const [h, hs] = k.scan((h, x) => { const n = k.tanh(x.add(h.mul(0.5))); return [n, n]; }, h0, xs);
 */
export function scan<C, X, Y>(
  f: (carry: C, x: X) => [C, Y],
  init: C,
  xs: X,
  opts: ScanOptions = {},
): [C, Y] {
  return userOp("scan", () => {
    checkFunction("scan", f, "f");
    const o = checkOptions("scan", opts, ["length", "reverse"]);
    if (o.length !== undefined) checkSize("scan", o.length, "length");
    if (o.reverse !== undefined) checkBool("scan", o.reverse, "reverse");
    return scanImpl(userCallback(f), init, xs, o);
  });
}

function scanImpl<C, X, Y>(
  f: (carry: C, x: X) => [C, Y],
  init: C,
  xs: X,
  opts: ScanOptions,
): [C, Y] {
  const [initNodes, cDef] = tensorLeaves("scan", "init", init);
  const [xNodes, xDef] = tensorLeaves("scan", "xs", xs);
  const lengths = new Set(xNodes.map((x) => x.shape[0]));
  if (xNodes.some((x) => x.shape.length === 0)) {
    throw typeError("scan", "every leaf of xs needs a leading axis to scan over");
  }
  if (opts.length !== undefined) lengths.add(opts.length);
  if (lengths.size !== 1) {
    throw shapeError(
      "scan",
      lengths.size
        ? `xs leaves and length disagree on the number of steps: ${[...lengths].join(", ")}`
        : "pass {length} when xs is null",
    );
  }
  const length = [...lengths][0];
  if (!Number.isInteger(length) || length < 0) throw rangeError("scan", `length ${length}`);
  let yDef = flatten(null)[1];
  const outs = scanNodes(
    (c, x) => {
      const out = f(
        unflatten(cDef, c.map((n) => new Tensor(n))) as C,
        unflatten(xDef, x.map((n) => new Tensor(n))) as X,
      );
      if (!Array.isArray(out) || out.length !== 2) {
        throw typeError("scan", `f must return [newCarry, y], got ${describe(out)}`);
      }
      const [newC, y] = out;
      const [cn, cd] = tensorLeaves("scan", "body's new carry", newC);
      const [yn, yd] = tensorLeaves("scan", "body's y", y);
      void cd;
      yDef = yd;
      return [cn, yn];
    },
    initNodes,
    xNodes,
    length,
    opts.reverse ?? false,
  );
  const ts = outs.map((n) => new Tensor(n));
  return [
    unflatten(cDef, ts.slice(0, initNodes.length)) as C,
    unflatten(yDef, ts.slice(initNodes.length)) as Y,
  ];
}
