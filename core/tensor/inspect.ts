/** Looking inside: the kernels a realize would run, and memory in use. @module */
import { activeBackends, getBackend } from "../backends/backend.ts";
import type { MemoryStats } from "../backends/backend.ts";
import { scheduleNodes } from "../schedule/schedule.ts";
import type { Tensor } from "./tensor.ts";
import { checkTensorArg } from "../errors.ts";

/** One kernel of a schedule, as `k.schedule` reports it. */
export interface KernelInfo {
  /** Output shape. */
  readonly shape: readonly number[];
  /** Output dtype. */
  readonly dtype: string;
  /** Shapes of the buffers it reads. */
  readonly inputs: readonly (readonly number[])[];
  /** The generated source for its device. */
  readonly source: string;
  /** A one-line summary followed by the source. */
  toString(): string;
}

/**
 * The kernels that realizing `tensors` would run, in order, without running them.
 * @example console.log(k.schedule(y).length) // 1: the chain fused
 */
export function schedule(...tensors: Tensor[]): KernelInfo[] {
  tensors.forEach((t, i) => checkTensorArg("schedule", t, `tensors[${i}]`));
  const items = scheduleNodes(tensors.map((t) => t.node));
  return items.flatMap((k) => k.kind === "kernel" ? [k] : []).map((k) => {
    const source = getBackend(k.output.device).compile(k.ir).source;
    const line = k.toString();
    return {
      shape: k.output.shape,
      dtype: k.output.dtype,
      inputs: k.inputs.map((n) => n.shape),
      source,
      toString: () => `${line}\n${source}`,
    };
  });
}

/** Live device buffers (held by tensors, not pooled) over all backends. @example k.memoryStats().buffers */
export function memoryStats(): MemoryStats {
  const s = { buffers: 0, bytes: 0, allocations: 0 };
  for (const b of activeBackends()) {
    const m = b.memoryStats();
    s.buffers += m.buffers;
    s.bytes += m.bytes;
    s.allocations += m.allocations;
  }
  return s;
}
