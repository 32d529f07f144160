/**
 * Running schedules: allocate outputs, compile, launch every kernel of one realize in one
 * backend call, then turn the computed nodes into buffer nodes. Buffers are released when
 * their node is garbage-collected (FinalizationRegistry) or disposed, back into the pool.
 * @module
 */
import { getBackend } from "../backends/backend.ts";
import type { BufferHandle, Node } from "../ir/node.ts";
import type { KernelLaunch } from "../backends/backend.ts";
import { type ScheduledKernel, scheduleNodes } from "./schedule.ts";
import { debugLevel } from "../debug.ts";

/** A buffer that can give its memory back. */
export interface Releasable extends BufferHandle {
  release(): void;
}

const finalizer = new FinalizationRegistry<Releasable>((buf) => buf.release());

/** Attaches a buffer to a node; the buffer is released when the node is collected. */
export function bindBuffer(node: Node, buf: BufferHandle): void {
  node.setBuffer(buf);
  finalizer.register(node, buf as Releasable, node);
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

function plan(nodes: readonly Node[]): { kernels: ScheduledKernel[]; launches: KernelLaunch[] } {
  for (const n of nodes) checkAlive(n);
  const kernels = scheduleNodes(nodes);
  const launches: KernelLaunch[] = [];
  for (const k of kernels) {
    const be = getBackend(k.output.device);
    const out = be.alloc(k.output.dtype, k.ir.outShape.reduce((a, d) => a * d, 1));
    launches.push({ kernel: be.compile(k.ir), inputs: [], output: out });
  }
  return { kernels, launches };
}

/** Fills in input buffers produced earlier in the same launch list. */
function bindInputs(kernels: ScheduledKernel[], launches: KernelLaunch[]): KernelLaunch[] {
  const produced = new Map<Node, BufferHandle>();
  return kernels.map((k, i) => {
    produced.set(k.output, launches[i].output);
    return {
      kernel: launches[i].kernel,
      output: launches[i].output,
      inputs: k.inputs.map((n) => n.buffer ?? produced.get(n)!),
    };
  });
}

function finish(kernels: ScheduledKernel[], launches: KernelLaunch[], t0: number): void {
  kernels.forEach((k, i) => bindBuffer(k.output, launches[i].output));
  const level = debugLevel();
  if (level >= 1) {
    console.error(
      `kiln: realize ${kernels.length} kernel(s) in ${(performance.now() - t0).toFixed(2)} ms`,
    );
  }
  if (level >= 2) { for (const k of kernels) console.error(`  ${k}`); }
  if (level >= 3) { for (const l of launches) console.error(l.kernel.source); }
}

function checkAlive(n: Node, seen = new Set<Node>()): void {
  if (seen.has(n)) return;
  seen.add(n);
  if (n.op === "disposed") {
    throw new Error(
      "realize: a tensor was disposed before a value that depends on it was computed",
    );
  }
  for (const s of n.src) checkAlive(s, seen);
}

let sinceYield = 0;

/** Realizes nodes; every kernel is launched in one backend call per device. */
export async function realizeNodes(nodes: readonly Node[]): Promise<void> {
  const t0 = performance.now();
  const { kernels, launches } = plan(nodes);
  const bound = bindInputs(kernels, launches);
  const devices = new Set(kernels.map((k) => k.output.device));
  for (const d of devices) {
    await getBackend(d).execute(bound.filter((_, i) => kernels[i].output.device === d));
  }
  finish(kernels, bound, t0);
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
  const { kernels, launches } = plan(nodes);
  for (const k of kernels) {
    if (!getBackend(k.output.device).synchronous) {
      throw new Error(
        `${op}: the ${k.output.device} backend cannot read synchronously; use \`await t.data()\``,
      );
    }
  }
  const bound = bindInputs(kernels, launches);
  for (const d of new Set(kernels.map((k) => k.output.device))) {
    getBackend(d).execute(bound.filter((_, i) => kernels[i].output.device === d));
  }
  finish(kernels, bound, t0);
}
