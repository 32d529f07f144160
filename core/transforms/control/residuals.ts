/**
 * Residuals of a loop body's VJP: partial evaluation of the body's reverse sweep, as JAX's
 * `scan` transpose does it. The body's VJP is traced once on placeholders; every node of that
 * joint graph either depends on the cotangents (it runs in the backward loop) or not (it is a
 * primal value). The primal values the cotangent side reads are the residuals: the forward
 * loop stacks them as extra `ys`, and the backward loop reads one slice per step instead of
 * running the body again.
 *
 * Not saved: views (the base is saved and the view redone), values that do not depend on the
 * carry or the xs (recomputed from the captured values), xs themselves (read from the scan's
 * own input), and everything `checkpoint` recomputes in its VJP (`markRecomputed`).
 * @module
 */
import type { Node } from "../../ir/node.ts";
import { type Graph, placeholderLike } from "../../ir/call.ts";
import { type Batched, prim } from "../../ir/primitive.ts";
import { front } from "../../ir/batching.ts";
import * as B from "../../ir/build.ts";
import { batchNodes } from "../vmap.ts";
import { backward, tape } from "../autodiff.ts";
import { between, closeOver, evalGraph, substitute, withTracing } from "../trace.ts";
import { avalOf, floats, wrap, zeros } from "./common.ts";

const recomputed = new WeakSet<Node>();

/**
 * Marks the nodes reachable from `outs` that were created after node id `since` as values the
 * backward pass recomputes: a loop's VJP never saves them as residuals. `checkpoint`'s VJP
 * calls it on what it builds.
 */
export function markRecomputed(outs: readonly (Node | null)[], since: number): void {
  const stack = outs.filter((o): o is Node => o !== null);
  while (stack.length) {
    const n = stack.pop()!;
    if (n.id < since || recomputed.has(n)) continue;
    recomputed.add(n);
    stack.push(...n.src);
  }
}

const size = (n: Node) => n.shape.reduce((a, d) => a * d, 1);

/** A view: redone on the saved base instead of being saved itself. */
function isView(n: Node): boolean {
  if (n.src.length !== 1 || n.realized) return false;
  if (n.op === "cast") return n.dtype === n.src[0].dtype;
  return prim(n.op).kind === "movement" && n.op !== "custom";
}

/** What the backward loop of a scan needs, derived once per body. */
export interface BodyVjp {
  /** The body with the stacked residuals appended to its outputs (same inputs, then `extra`). */
  readonly fwd: Graph;
  /** Values `fwd` captures beyond the body's own inputs (usually none). */
  readonly extra: readonly Node[];
  /** How many outputs `fwd` appends (stacked residuals, per step). */
  readonly nStacked: number;
  /** Which xs the backward loop reads, one slice per step. */
  readonly xsUsed: readonly number[];
  /** The backward loop computing the wanted cotangents (per float x and float const). */
  loop(wantX: readonly boolean[], wantK: readonly boolean[]): BackwardLoop;
}

/**
 * The backward loop. A captured value's cotangent is either accumulated in the loop's carry
 * or, when it is a sum of per-step products (a weight's `h^T @ dz`), deferred: the loop emits
 * the per-step factors as ys and one contraction over steps and batch after the loop replaces
 * a small matmul and a weight-sized accumulation per step.
 */
export interface BackwardLoop {
  /** Float consts (positions in `floats` order) accumulated in the carry. */
  readonly carried: readonly number[];
  /** Float consts (positions in `floats` order) summed after the loop. */
  readonly deferred: readonly number[];
  /**
   * One step, from the cotangents of the float new-carries and ys, the step's residuals, its
   * slices of the used xs and the loop's consts: cotangents of the float carries, of the float
   * xs (null where not wanted), of the carried consts, and the values emitted per step.
   */
  step(
    ctCarry: readonly Node[],
    ctYs: readonly Node[],
    stacked: readonly Node[],
    xs: readonly Node[],
    consts: readonly Node[],
  ): { carry: Node[]; xs: (Node | null)[]; consts: Node[]; emit: Node[] };
  /**
   * After the loop: the deferred cotangents, from the forward loop's stacked residuals, the
   * scan's xs, the emitted values stacked by the backward loop, and the consts.
   */
  after(
    stacked: readonly Node[],
    xs: readonly Node[],
    emitted: readonly Node[],
    consts: readonly Node[],
    length: number,
  ): Node[];
}

/** Splits the VJP of a scan body (inputs: carry, x slices, consts) into its two loops. */
export function linearizeBody(body: Graph, nc: number, nx: number, device: string): BodyVjp {
  return withTracing(() => {
    const ins = body.inputs.map((p, i) =>
      placeholderLike(p, "scan", i < nc ? `carry ${i}` : i < nc + nx ? `x ${i - nc}` : "const")
    );
    const w = ins.map(wrap);
    const outs = evalGraph(body, w);
    const fc = floats(ins.slice(0, nc)), fx = floats(ins.slice(nc, nc + nx));
    const fk = floats(ins.slice(nc + nx)), fy = floats(outs.slice(nc));
    const seeds = [...fc.map((i) => outs[i]), ...fy.map((j) => outs[nc + j])];
    const cts = seeds.map((s) => placeholderLike(s, "scan", "cotangent"));
    const g = backward(tape(seeds, new Set(w)), seeds, cts, w);
    const z = (k: number) => g[k] ?? zeros(avalOf(w[k]), device);
    const gOut = [...fc.map(z), ...fx.map((i) => z(nc + i)), ...fk.map((i) => z(nc + nx + i))];

    // Classify: `unk` depends on a cotangent (or is recomputed), `dep` on the carry or xs.
    const perStep = new Set(ins.slice(0, nc + nx));
    const ctSet = new Set(cts);
    const unk = new Map<Node, boolean>(), dep = new Map<Node, boolean>();
    const order: Node[] = [];
    const stack: [Node, number][] = gOut.map((o) => [o, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (unk.has(n)) {
        stack.pop();
        continue;
      }
      const leaf = n.realized || perStep.has(n) || ctSet.has(n);
      if (!leaf && i < n.src.length) {
        top[1]++;
        if (!unk.has(n.src[i])) stack.push([n.src[i], 0]);
        continue;
      }
      stack.pop();
      const src = leaf ? [] : n.src;
      unk.set(n, ctSet.has(n) || recomputed.has(n) || src.some((s) => unk.get(s)));
      dep.set(n, perStep.has(n) || src.some((s) => dep.get(s)));
      order.push(n);
    }

    const stacked = new Set<Node>(), xsUsed = new Set<number>();
    const need = (s: Node) => {
      while (isView(s) && dep.get(s)) s = s.src[0];
      if (!dep.get(s)) return;
      const at = ins.indexOf(s);
      if (at >= nc && at < nc + nx) xsUsed.add(at - nc);
      else stacked.add(s);
    };
    for (const n of order) {
      if (!unk.get(n) || n.realized) continue;
      for (const s of n.src) if (!unk.get(s)) need(s);
    }
    for (const o of gOut) if (!unk.get(o)) need(o);

    // A small elementwise expression of saved values is redone from them in the backward loop
    // instead of being saved too (`1 - t*t` next to a saved tanh `t`, `s * (1 - s)` next to a
    // saved sigmoid `s`): same values, less memory. The values it reads stay saved.
    const base = (n: Node) => {
      while (isView(n) && dep.get(n)) n = n.src[0];
      return n;
    };
    const xIndex = (n: Node) => {
      const at = ins.indexOf(n);
      return at >= nc && at < nc + nx ? at - nc : -1;
    };
    const pinned = new Set<Node>();
    /** The saved values `n` is redone from, or null when it is not cheap to redo. */
    const redoFrom = (r: Node): Node[] | null => {
      const found: Node[] = [];
      let budget = 8;
      const walk = (n: Node, top: boolean): boolean => {
        if (!top) {
          n = base(n);
          if (!dep.get(n)) return true;
          if (xIndex(n) >= 0 || stacked.has(n)) return found.push(n), true;
        }
        if (prim(n.op).kind !== "elementwise" || --budget < 0) return false;
        return n.src.every((x) => walk(x, false));
      };
      return walk(r, true) ? found : null;
    };
    for (const r of [...stacked].sort((a, b) => b.id - a.id)) {
      if (pinned.has(r)) continue;
      const from = redoFrom(r);
      if (!from) continue;
      stacked.delete(r);
      for (const b of from) {
        if (xIndex(b) >= 0) xsUsed.add(xIndex(b));
        else pinned.add(b);
      }
    }

    const res = [...stacked];
    const used = [...xsUsed].sort((a, b) => a - b);
    // The forward body reads the inputs directly: an identity cast feeding a call inside the
    // body (a nested loop, a checkpoint) would be copied every step.
    const direct = substitute([...outs, ...res], new Map(w.map((x, i) => [x, ins[i]])));
    const closed = closeOver({ inputs: ins, outputs: direct }, "scan");
    const unmapped = new Set(
      ins.slice(0, nc + nx).filter((p, i) => !used.includes(i - nc) && !stacked.has(p)),
    );
    const strip = (n: Node) => {
      while (isView(n)) n = n.src[0];
      return n;
    };
    const kAt = fc.length + fx.length;
    /** A const's cotangent as views of `sum(X)`, X elementwise over per-step factors. */
    const sumOfProducts = (c: Node) => {
      const r = strip(c);
      if (!unk.get(c) || r.op !== "sum" || r.src.length !== 1) return [];
      const x = r.src[0];
      // Factors: X itself, or (X elementwise) its operands, whichever is cheaper to emit.
      const options = prim(x.op).kind === "elementwise" ? [[x], x.src] : [[x]];
      return options.map((ls) => {
        const leaves = [...new Set(ls.map(strip).filter((l) => dep.get(l) || unk.get(l)))];
        return { c, r, x, leaves };
      }).filter((o) => o.leaves.length);
    };
    const loops = new Map<string, BackwardLoop>();
    const makeLoop = (wantX: readonly boolean[], wantK: readonly boolean[]): BackwardLoop => {
      type Plan = ReturnType<typeof sumOfProducts>[number];
      const plans = new Map<number, Plan>();
      const emit: Node[] = [];
      // Largest cotangents first: a factor emitted for one serves the others for free.
      const bySize = fk.map((_, j) => j).filter((j) => wantK[j])
        .sort((a, b) => size(gOut[kAt + b]) - size(gOut[kAt + a]));
      for (const j of bySize) {
        const fresh = (pl: Plan) =>
          pl.leaves.filter((l) => !stacked.has(l) && !(xIndex(l) >= 0) && !emit.includes(l));
        const cost = (pl: Plan) => fresh(pl).reduce((t, l) => t + size(l), 0);
        const pl = sumOfProducts(gOut[kAt + j]).sort((a, b) => cost(a) - cost(b))[0];
        if (!pl || cost(pl) > size(pl.c)) continue;
        emit.push(...fresh(pl));
        plans.set(j, pl);
      }
      const carried = fk.map((_, j) => j).filter((j) => wantK[j] && !plans.has(j));
      const deferred = [...plans.keys()].sort((a, b) => a - b);
      const xsWanted = fx.map((_, j) => j).filter((j) => wantX[j]);
      return {
        carried,
        deferred,
        step(ctCarry, ctYs, st, xs, consts) {
          const m = new Map<Node, Node>();
          cts.forEach((c, i) => m.set(c, i < fc.length ? ctCarry[i] : ctYs[i - fc.length]));
          res.forEach((r, i) => m.set(r, st[i]));
          used.forEach((j, i) => m.set(ins[nc + j], xs[i]));
          ins.slice(nc + nx).forEach((p, i) => m.set(p, consts[i]));
          const want = [
            ...gOut.slice(0, fc.length),
            ...xsWanted.map((j) => gOut[fc.length + j]),
            ...carried.map((j) => gOut[kAt + j]),
            ...emit,
          ];
          const r = substitute(want, m);
          if (between(r, unmapped).length) {
            throw new Error("internal: scan's backward body reads a primal value it did not save");
          }
          const a = fc.length, b = a + xsWanted.length, e = b + carried.length;
          const ctX: (Node | null)[] = fx.map(() => null);
          xsWanted.forEach((j, i) => ctX[j] = r[a + i]);
          return { carry: r.slice(0, a), xs: ctX, consts: r.slice(b, e), emit: r.slice(e) };
        },
        after(st, xs, emitted, consts, length) {
          return deferred.map((j) => {
            const pl = plans.get(j)!;
            const env = new Map<Node, Batched>();
            ins.slice(nc + nx).forEach((p, i) => env.set(p, [consts[i], null]));
            for (const l of pl.leaves) {
              const xi = xIndex(l);
              const v = stacked.has(l)
                ? st[res.indexOf(l)]
                : xi >= 0
                ? xs[xi]
                : emitted[emit.indexOf(l)];
              env.set(l, [v, 0]);
            }
            const xT = front(batchNodes([pl.x], env, length)[0], length);
            const axes = (pl.r.arg as number[]).map((a) => a + 1);
            const total = B.reshape(B.sumKeep(xT, [0, ...axes]), pl.r.shape);
            return substitute([pl.c], new Map([[pl.r, total]]))[0];
          });
        },
      };
    };
    return {
      fwd: closed.graph,
      extra: closed.consts,
      nStacked: res.length,
      xsUsed: used,
      loop(wantX, wantK) {
        const key = `${wantX.map(Number).join("")}/${wantK.map(Number).join("")}`;
        let l = loops.get(key);
        if (!l) loops.set(key, l = withTracing(() => makeLoop(wantX, wantK)));
        return l;
      },
    };
  });
}
