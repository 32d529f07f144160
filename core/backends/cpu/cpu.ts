/**
 * The CPU backend: typed-array buffers with a size-keyed pool, kernels compiled to JavaScript
 * with `new Function` and cached by source.
 * @module
 */
import { allocArray, type DType, itemsize, type TypedArray } from "../../dtype.ts";
import type { KernelIR } from "../../ir/kernel.ts";
import type { BufferHandle } from "../../ir/node.ts";
import type { Backend, CompiledKernel, Launch, MemoryStats } from "../backend.ts";
import { registerBackend } from "../backend.ts";
import { renderGeneric, wrap } from "./codegen.ts";
import { renderContraction } from "./matmul.ts";
import { renderScatter } from "./scatter.ts";
import { H } from "./runtime.ts";
import { debugLevel } from "../../debug.ts";

type KernelFn = (out: TypedArray, ins: TypedArray[]) => void;

/** A CPU buffer: a typed array plus pool bookkeeping. */
export class CpuBuffer implements BufferHandle {
  readonly device = "cpu";
  /** Shared with the finalization token, which must not hold the buffer. */
  private readonly state = { released: false };
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly data: TypedArray,
    readonly owner: CpuBackend,
  ) {}
  /** Returns the memory to the pool. Idempotent. */
  release(): void {
    if (this.state.released) return;
    this.state.released = true;
    this.owner.recycle(this);
  }

  /** Whether the memory went back (released or collected). */
  get released(): boolean {
    return this.state.released;
  }

  /** For the GC finalizer: settles the live counts without holding the typed array (which
   * the collector frees with the tensor, even in a loop that never yields to the event loop).
   * The token must not reference the buffer itself. */
  finalizationToken(): { release(): void } {
    const { dtype, size, owner, state } = this;
    return {
      release: () => {
        if (state.released) return;
        state.released = true;
        owner.forget(dtype, size);
      },
    };
  }
}

class CpuKernel implements CompiledKernel {
  constructor(readonly source: string, readonly fn: KernelFn) {}
}

const POOL_LIMIT_BYTES = 256 * 1024 * 1024;

/** JavaScript CPU backend. */
export class CpuBackend implements Backend {
  readonly name = "cpu";
  readonly synchronous = true;
  private pool = new Map<string, TypedArray[]>();
  private pooledBytes = 0;
  private live = 0;
  private liveBytes = 0;
  private allocations = 0;
  private cache = new Map<string, CpuKernel>();

  alloc(dtype: DType, size: number): CpuBuffer {
    const key = `${dtype}:${size}`;
    const reused = this.pool.get(key)?.pop();
    if (reused) this.pooledBytes -= size * itemsize(dtype);
    if (!reused) this.allocations++;
    const data = reused ?? allocArray(dtype, size);
    this.live++;
    this.liveBytes += size * itemsize(dtype);
    return new CpuBuffer(dtype, size, data, this);
  }

  /** Internal: a buffer collected with its tensor leaves the live counts (its memory is gone). */
  forget(dtype: DType, size: number): void {
    this.live--;
    this.liveBytes -= size * itemsize(dtype);
  }

  /** Internal: a released buffer's memory goes back to the pool. */
  recycle(b: CpuBuffer): void {
    this.forget(b.dtype, b.size);
    const bytes = b.size * itemsize(b.dtype);
    if (this.pooledBytes + bytes > POOL_LIMIT_BYTES) return;
    const key = `${b.dtype}:${b.size}`;
    let list = this.pool.get(key);
    if (!list) this.pool.set(key, list = []);
    list.push(b.data);
    this.pooledBytes += bytes;
  }

  upload(dtype: DType, data: TypedArray): CpuBuffer {
    const b = this.alloc(dtype, data.length);
    b.data.set(data);
    return b;
  }

  read(buf: BufferHandle): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buf));
  }

  readSync(buf: BufferHandle): TypedArray {
    const b = buf as CpuBuffer;
    if (b.released) throw new Error("read: buffer was disposed");
    return b.data.slice();
  }

  compile(ir: KernelIR): CpuKernel {
    const source = wrap(ir, renderScatter(ir) ?? renderContraction(ir) ?? renderGeneric(ir));
    let k = this.cache.get(source);
    if (!k) {
      k = new CpuKernel(source, new Function("H", source)(H) as KernelFn);
      this.cache.set(source, k);
    }
    return k;
  }

  execute(launches: readonly Launch[]): void {
    const timed = debugLevel() >= 2;
    for (const l of launches) {
      if ("copy" in l) {
        const src = (l.src as CpuBuffer).data, dst = (l.dst as CpuBuffer).data;
        dst.set(src.subarray(l.srcOffset, l.srcOffset + l.size), l.dstOffset);
        continue;
      }
      const out = (l.output as CpuBuffer).data;
      const ins = l.inputs.map((b) => (b as CpuBuffer).data);
      const t0 = timed ? performance.now() : 0;
      (l.kernel as CpuKernel).fn(out, ins);
      if (timed) {
        const ms = performance.now() - t0;
        const bytes = [out, ...ins].reduce((a, x) => a + x.byteLength, 0);
        console.error(
          `  cpu kernel: ${out.length} elements, ${ms.toFixed(3)} ms, ${
            (bytes / ms / 1e6).toFixed(2)
          } GB/s`,
        );
      }
    }
  }

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes, allocations: this.allocations };
  }

  /** Number of distinct compiled kernels. */
  get compiledCount(): number {
    return this.cache.size;
  }
}

registerBackend("cpu", () => new CpuBackend());
