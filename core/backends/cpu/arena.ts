/**
 * The CPU backend's WebAssembly memory: one shared, growable `WebAssembly.Memory` that every
 * generated kernel module imports, with a first-fit allocator whose free blocks coalesce.
 *
 * Buffers a program computes live here while the program runs, so a chain of WebAssembly
 * kernels reads and writes them with no copy. Memory here is freed only explicitly (the
 * executor releases intermediates; a buffer that a tensor keeps moves to the JavaScript heap
 * when it is bound, see `cpu.ts`): a synchronous training loop never lets
 * `FinalizationRegistry` callbacks run, so anything the garbage collector must reclaim has to
 * be ordinary JavaScript memory.
 *
 * The memory is shared (its buffer is a growable `SharedArrayBuffer`), so typed-array views
 * stay valid when it grows and Workers can run kernels on it.
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";

const PAGE = 65536;
/** The memory may grow to 4 GiB (wasm32's address space). */
const MAX_PAGES = 65536;
/** Blocks are 16-byte aligned, so `v128` accesses never straddle a block's start. */
const ALIGN = 16;

/** One free block: `[start, bytes]`. */
type Block = [number, number];

/** A first-fit allocator over a shared WebAssembly memory. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  /** Free blocks below `top`, sorted by address, never adjacent (coalesced). */
  private free: Block[] = [];
  /** Everything at or above `top` is free. Address 0 stays unused (a null pointer). */
  private top = ALIGN;
  /** Bytes in live blocks. */
  used = 0;
  /** Allocations that reached above the peak (fresh space): flat in a steady loop. */
  bumps = 0;
  /** The highest address `alloc` ever handed out. */
  private peak = ALIGN;
  private scratchTop = 0;
  private scratchBlocks = 0;

  constructor(initialPages = 16) {
    this.memory = new WebAssembly.Memory({
      initial: initialPages,
      maximum: MAX_PAGES,
      shared: true,
    });
  }

  /** The current buffer (a fresh object after each growth; older views remain valid). */
  get buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }

  /** Allocates `bytes` (rounded up to 16); the byte address, or -1 if memory cannot grow. */
  alloc(bytes: number): number {
    const n = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b[1] < n) continue;
      const at = b[0];
      if (b[1] === n) this.free.splice(i, 1);
      else {
        b[0] += n;
        b[1] -= n;
      }
      this.used += n;
      return at;
    }
    const end = this.top + n;
    if (!this.reserve(end)) return -1;
    const at = this.top;
    this.top = end;
    // Space below the peak was handed out before: reuse, not a fresh allocation.
    if (end > this.peak) this.bumps++;
    this.peak = Math.max(this.peak, end);
    this.used += n;
    return at;
  }

  /**
   * Scratch space for one launch, above every block `alloc` ever handed out: while a launch
   * list runs, free blocks (and even the space above `top`) may still belong to launches
   * queued behind, because the executor frees a buffer when its last reader is queued, not
   * when it runs. Scratch blocks are a stack, freed with `releaseScratch` once the launch is
   * done.
   */
  allocScratch(bytes: number): number {
    const n = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const at = Math.max(this.scratchTop, this.peak);
    if (!this.reserve(at + n)) return -1;
    this.scratchTop = at + n;
    this.scratchBlocks++;
    return at;
  }

  /** Frees a scratch block (all scratch space is reused once every block is freed). */
  releaseScratch(): void {
    if (--this.scratchBlocks === 0) this.scratchTop = 0;
  }

  /** Grows the memory (geometrically) so that it holds `end` bytes; false if it cannot. */
  private reserve(end: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return true;
    const pages = Math.ceil((end - have) / PAGE);
    const want = Math.max(pages, Math.ceil(have / PAGE / 4));
    const room = MAX_PAGES - have / PAGE;
    if (pages > room) return false;
    try {
      this.memory.grow(Math.min(want, room));
      return true;
    } catch {
      return false;
    }
  }

  /** Frees a block returned by `alloc` (with the same `bytes`). */
  release(at: number, bytes: number): void {
    const n = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.used -= n;
    const f = this.free;
    // Binary search for the first free block after `at`.
    let lo = 0, hi = f.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid][0] < at) lo = mid + 1;
      else hi = mid;
    }
    let block: Block = [at, n];
    const prev = f[lo - 1], next = f[lo];
    if (prev && prev[0] + prev[1] === at) {
      prev[1] += n;
      block = prev;
    } else f.splice(lo++, 0, block);
    if (next && block[0] + block[1] === next[0]) {
      block[1] += next[1];
      f.splice(lo, 1);
    }
    // A free block that reaches `top` gives its space back to the bump region.
    const last = f[f.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      f.pop();
    }
  }

  /** A typed-array view of `size` elements of dtype `d` at byte address `at`. */
  view(d: DType, at: number, size: number): TypedArray {
    const buf = this.buffer;
    switch (d) {
      case "float32":
        return new Float32Array(buf, at, size);
      case "float64":
        return new Float64Array(buf, at, size);
      case "int32":
        return new Int32Array(buf, at, size);
      case "bool":
        return new Uint8Array(buf, at, size);
      case "float16":
        return new Float16Array(buf, at, size);
    }
  }

  /** Bytes the memory holds now (allocated or not). */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }
}

let shared: Arena | null | undefined;

/** The process-wide arena, or null where shared WebAssembly memory is unavailable. */
export function arena(): Arena | null {
  if (shared !== undefined) return shared;
  try {
    shared = new Arena();
  } catch {
    shared = null;
  }
  return shared;
}
