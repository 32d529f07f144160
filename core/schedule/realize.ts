/**
 * Realizing: compile the schedule of the requested nodes into a program, run it (every
 * launch of one realize goes to the backend in one `execute`, unless a `cond`/`whileLoop`
 * must read a value in between), then turn the computed nodes into buffer nodes. Buffers are
 * released when their node is garbage-collected (FinalizationRegistry) or disposed, back into
 * the pool.
 * @module
 */
import type { BufferHandle, Node } from "../ir/node.ts";
import {
  compilePlan,
  driveAsync,
  driveSync,
  Executor,
  type Plan,
  type Releasable,
} from "./program.ts";
import { debugLevel } from "../debug.ts";

export type { Releasable };

const finalizer = new FinalizationRegistry<{ release(): void }>((buf) => buf.release());

/**
 * Attaches a buffer to a node; the buffer is released when the node is collected. Finalizers
 * run only when the event loop turns, which a synchronous training loop (CPU `jit` steps) never
 * lets happen, so host buffers register a token instead and their memory is freed by the
 * collector with the node (GPU buffers need the finalizer to return them to the pool).
 */
export function bindBuffer(node: Node, buf: BufferHandle): void {
  node.setBuffer(buf);
  const r = buf as Releasable;
  finalizer.register(node, r.finalizationToken?.() ?? r, node);
}

/** Releases a node's buffer now; later use of the node raises an error. */
export function disposeNode(node: Node): void {
  if (node.op === "disposed") return;
  if (node.buffer) {
    finalizer.unregister(node);
    (node.buffer as Releasable).release();
    node.buffer = null;
  }
  node.op = "disposed";
  node.src = [];
}

function checkAlive(nodes: readonly Node[]): void {
  const seen = new Set<Node>();
  const stack = [...nodes];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === "disposed") {
      throw new Error(
        "realize: a tensor was disposed before a value that depends on it was computed",
      );
    }
    for (const s of n.src) stack.push(s);
  }
}

function prepare(nodes: readonly Node[]): Plan | null {
  const todo = nodes.filter((n) => !n.realized);
  if (!todo.length) return null;
  checkAlive(todo);
  return compilePlan(todo, [], true);
}

/** Binds every computed buffer to its node (unreferenced call outputs are released). */
function finish(
  plan: Plan,
  bufs: readonly (BufferHandle | undefined)[],
  t0: number,
  launched: number,
): void {
  for (let s = 0; s < plan.nSlots; s++) {
    const b = bufs[s];
    if (!b || plan.consts.has(s)) continue;
    const n = plan.slotNode[s];
    if (n && !n.realized) bindBuffer(n, b);
    else (b as Releasable).release();
  }
  const level = debugLevel();
  if (level >= 1) {
    console.error(
      `kiln: realize ${launched} kernel launch(es) in ${(performance.now() - t0).toFixed(2)} ms`,
    );
  }
  if (level >= 2) { for (const k of plan.items) console.error(`  ${k}`); }
  if (level >= 3) {
    for (const st of plan.steps) if (st.kind === "kernel") console.error(st.kernel.source);
  }
}

let sinceYield = 0;

/** Realizes nodes; every kernel is launched in one backend call per device. */
export async function realizeNodes(nodes: readonly Node[]): Promise<void> {
  const t0 = performance.now();
  const plan = prepare(nodes);
  if (!plan) return;
  const ex = new Executor();
  const bufs = await driveAsync(ex, ex.run(plan, []));
  finish(plan, bufs, t0, ex.launched);
  // Let FinalizationRegistry callbacks (a macrotask) return dead buffers to the pool even in
  // a tight `await` loop that would otherwise only ever run microtasks.
  if (++sinceYield >= 32) {
    sinceYield = 0;
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Synchronous realize, for backends that can (the CPU). */
export function realizeNodesSync(nodes: readonly Node[], op: string): void {
  const t0 = performance.now();
  const plan = prepare(nodes);
  if (!plan) return;
  const ex = new Executor();
  const bufs = driveSync(ex, ex.run(plan, []), op);
  finish(plan, bufs, t0, ex.launched);
}
