/**
 * The CPU backend. Kernels compile to WebAssembly (`wasm/lower.ts`, SIMD where the access
 * pattern allows) over one shared arena (`arena.ts`); contractions take the SIMD matmul
 * (`matmul.ts`); what WebAssembly does not cover (float16, scatter) compiles to JavaScript with
 * `new Function`. Kernels are cached by their JavaScript source, which names them uniquely.
 *
 * Memory: a program's buffers are allocated in the arena, so its WebAssembly kernels pass
 * addresses, not copies. A buffer that a tensor keeps (`finalizationToken`, called when it is
 * bound to its node) moves to an ordinary typed array first, because the garbage collector
 * must be able to free it even in a synchronous loop where finalizers never run; a kernel
 * reading such a buffer gets a scratch copy in the arena for that launch.
 * `KILN_CPU_WASM=0` turns the WebAssembly kernels off (the JavaScript path is the reference).
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
import { type Arena, arena } from "./arena.ts";
import { lowerKernel } from "./wasm/lower.ts";
import { MATH_IMPORTS } from "./wasm/math_imports.ts";

type KernelFn = (out: TypedArray, ins: TypedArray[]) => void;
type WasmFn = (out: number, ...ins: number[]) => void;

/** Whether generated kernels run as WebAssembly (`KILN_CPU_WASM=0` turns them off). */
function wasmEnabled(): boolean {
  try {
    return Deno.env.get("KILN_CPU_WASM") !== "0";
  } catch {
    return true;
  }
}

/** A CPU buffer: a typed array plus pool bookkeeping. */
export class CpuBuffer implements BufferHandle {
  readonly device = "cpu";
  /** Shared with the finalization token, which must not hold the buffer. */
  private readonly state = { released: false };
  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** The elements: a view into the arena while `ptr >= 0`, else a typed array of its own. */
    public data: TypedArray,
    readonly owner: CpuBackend,
    /** Byte address in the arena, or -1 for JavaScript-heap memory. */
    public ptr = -1,
  ) {}
  /** Returns the memory to the pool (or the arena). Idempotent. */
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
    if (this.ptr >= 0) this.owner.toHeap(this);
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
  private js: KernelFn | undefined;
  constructor(
    readonly source: string,
    /** The WebAssembly entry point (byte addresses), when the kernel has one. */
    readonly wasm: WasmFn | null,
    /** Whether the WebAssembly kernel runs SIMD lanes. */
    readonly simd: boolean,
    /** Loop iterations per launch (see `LoweredKernel.work`). */
    readonly work = 0,
  ) {}
  /** The JavaScript kernel, compiled on first use. */
  get fn(): KernelFn {
    return this.js ??= new Function("H", this.source)(H) as KernelFn;
  }
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

  private readonly arena: Arena | null = wasmEnabled() ? arena() : null;

  alloc(dtype: DType, size: number): CpuBuffer {
    const a = this.arena;
    if (a) {
      const bytes = size * itemsize(dtype);
      const before = a.bumps;
      const ptr = a.alloc(bytes);
      if (ptr >= 0) {
        this.allocations += a.bumps - before;
        this.live++;
        this.liveBytes += bytes;
        return new CpuBuffer(dtype, size, a.view(dtype, ptr, size), this, ptr);
      }
    }
    return this.allocHeap(dtype, size);
  }

  private allocHeap(dtype: DType, size: number): CpuBuffer {
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

  /** Internal: moves an arena buffer to JavaScript-heap memory (it is about to be bound to a
   * tensor, whose death only the garbage collector sees). */
  toHeap(b: CpuBuffer): void {
    const key = `${b.dtype}:${b.size}`;
    const pooled = this.pool.get(key)?.pop();
    if (pooled) this.pooledBytes -= b.size * itemsize(b.dtype);
    else this.allocations++;
    const heap = pooled ?? allocArray(b.dtype, b.size);
    heap.set(b.data);
    this.arena!.release(b.ptr, b.size * itemsize(b.dtype));
    b.data = heap;
    b.ptr = -1;
  }

  /** Internal: a released buffer's memory goes back to the pool. */
  recycle(b: CpuBuffer): void {
    this.forget(b.dtype, b.size);
    if (b.ptr >= 0) {
      this.arena!.release(b.ptr, b.size * itemsize(b.dtype));
      return;
    }
    const bytes = b.size * itemsize(b.dtype);
    if (this.pooledBytes + bytes > POOL_LIMIT_BYTES) return;
    const key = `${b.dtype}:${b.size}`;
    let list = this.pool.get(key);
    if (!list) this.pool.set(key, list = []);
    list.push(b.data);
    this.pooledBytes += bytes;
  }

  upload(dtype: DType, data: TypedArray): CpuBuffer {
    // Uploaded data belongs to a tensor at once: JavaScript-heap memory.
    const b = this.allocHeap(dtype, data.length);
    b.data.set(data);
    return b;
  }

  read(buf: BufferHandle): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buf));
  }

  readSync(buf: BufferHandle): TypedArray {
    const b = buf as CpuBuffer;
    if (b.released) throw new Error("read: buffer was disposed");
    if (b.ptr < 0) return b.data.slice();
    // `slice` of a view on shared memory copies element by element (~100× slower than `set`).
    const copy = allocArray(b.dtype, b.size);
    copy.set(b.data);
    return copy;
  }

  compile(ir: KernelIR): CpuKernel {
    const special = renderScatter(ir) ?? renderContraction(ir);
    const source = wrap(ir, special ?? renderGeneric(ir));
    // JavaScript source is dtype-agnostic (typed arrays carry the dtypes); WebAssembly is not.
    const key = `${ir.outDtype}(${ir.inputs.map((x) => x.dtype).join()})\n${source}`;
    let k = this.cache.get(key);
    if (!k) {
      const lowered = !special && this.arena ? lowerKernel(ir) : null;
      let wasm: WasmFn | null = null;
      if (lowered) {
        const env: Record<string, WebAssembly.ImportValue> = { memory: this.arena!.memory };
        for (const name of lowered.imports) env[name] = MATH_IMPORTS[name];
        const inst = new WebAssembly.Instance(new WebAssembly.Module(lowered.bytes), { env });
        wasm = inst.exports.kernel as WasmFn;
      }
      k = new CpuKernel(source, wasm, lowered?.simd ?? false, lowered?.work ?? 0);
      this.cache.set(key, k);
    }
    return k;
  }

  /**
   * Whether copying a launch's JavaScript-heap inputs into the arena would cost more than the
   * kernel (they hold far more elements than its loops visit): a gather of one batch from a
   * whole dataset reads a sliver of a large input, which the JavaScript kernel reads in place.
   */
  private copiesDominate(k: CpuKernel, ins: readonly CpuBuffer[]): boolean {
    let heap = 0;
    for (const b of ins) if (b.ptr < 0) heap += b.size;
    return heap > (1 << 18) + 4 * k.work;
  }

  /** Runs a WebAssembly kernel; inputs and an output on the JavaScript heap get arena copies
   * for the launch (fresh space: free blocks may belong to launches queued behind). False if
   * the arena cannot hold them (the caller runs JavaScript instead). */
  private runWasm(fn: WasmFn, out: CpuBuffer, ins: readonly CpuBuffer[]): boolean {
    const a = this.arena!;
    const ptrs: number[] = [];
    let scratch = 0;
    const copy = (b: CpuBuffer): number => {
      const at = a.allocScratch(b.size * itemsize(b.dtype));
      if (at < 0) return -1;
      scratch++;
      return at;
    };
    try {
      for (const b of ins) {
        if (b.ptr >= 0) {
          ptrs.push(b.ptr);
          continue;
        }
        const at = copy(b);
        if (at < 0) return false;
        a.view(b.dtype, at, b.size).set(b.data);
        ptrs.push(at);
      }
      if (out.ptr >= 0) {
        fn(out.ptr, ...ptrs);
        return true;
      }
      const at = copy(out);
      if (at < 0) return false;
      fn(at, ...ptrs);
      out.data.set(a.view(out.dtype, at, out.size));
      return true;
    } finally {
      for (let i = 0; i < scratch; i++) a.releaseScratch();
    }
  }

  execute(launches: readonly Launch[]): void {
    const timed = debugLevel() >= 2;
    {
      for (const l of launches) {
        if ("copy" in l) {
          const src = (l.src as CpuBuffer).data, dst = (l.dst as CpuBuffer).data;
          dst.set(src.subarray(l.srcOffset, l.srcOffset + l.size), l.dstOffset);
          continue;
        }
        const k = l.kernel as CpuKernel;
        const out = l.output as CpuBuffer;
        const ins = l.inputs as CpuBuffer[];
        const t0 = timed ? performance.now() : 0;
        const path = k.wasm && !this.copiesDominate(k, ins) && this.runWasm(k.wasm, out, ins)
          ? (k.simd ? "wasm simd" : "wasm")
          : (k.fn(out.data, ins.map((b) => b.data)), "js");
        if (timed) {
          const ms = performance.now() - t0;
          const bytes = [out, ...ins].reduce((a, x) => a + x.data.byteLength, 0);
          console.error(
            `  cpu kernel [${path}]: ${out.size} elements, ${ms.toFixed(3)} ms, ${
              (bytes / ms / 1e6).toFixed(2)
            } GB/s`,
          );
        }
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
