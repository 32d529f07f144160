/**
 * WebGPU buffers: handles that exist before the device does (uploads made before the device is
 * open are kept on the host and written when it is), and a pool of storage buffers keyed by
 * byte size so a steady training loop stops allocating.
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import type { BufferHandle } from "../../ir/node.ts";

/** Bytes per element on the GPU (bool is stored as 32 bits, float16 as 16). */
export function elementBytes(dtype: DType): number {
  return dtype === "float16" ? 2 : 4;
}

/** Bytes a buffer of `size` elements takes on the GPU (a multiple of 4, at least 4). */
export function gpuBytes(size: number, dtype: DType): number {
  return Math.max(4, Math.ceil((size * elementBytes(dtype)) / 4) * 4);
}

/** What the pool needs from its owner. */
export interface BufferOwner {
  recycle(b: WebGpuBuffer): void;
}

/** A WebGPU tensor buffer. */
export class WebGpuBuffer implements BufferHandle {
  readonly device = "webgpu";
  released = false;
  /** Reads in flight: the memory is not recycled until they are done. */
  pins = 0;
  /** The GPU buffer, once the device is open. */
  gpu: GPUBuffer | null = null;
  /** Data uploaded before the device was open (as the GPU stores it). */
  pending: TypedArray | null = null;

  constructor(
    readonly dtype: DType,
    readonly size: number,
    private owner: BufferOwner,
  ) {}

  /** Bytes on the GPU. */
  get bytes(): number {
    return gpuBytes(this.size, this.dtype);
  }

  /** Returns the memory to the pool. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.recycle(this);
  }
}

/** Storage buffers keyed by byte size, with a cap on pooled bytes. */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pooled = 0;
  /** Buffers dropped from a full pool; destroyed after the next submit (a queued launch may
   * still name them). */
  private doomed: GPUBuffer[] = [];
  /** Fresh allocations (pool misses). */
  allocations = 0;

  constructor(private limitBytes = 512 * 1024 * 1024) {}

  take(device: GPUDevice, bytes: number): GPUBuffer {
    const hit = this.free.get(bytes)?.pop();
    if (hit) {
      this.pooled -= bytes;
      return hit;
    }
    return this.fresh(device, bytes);
  }

  /** A new buffer, never a pooled one (for handles made before the device opened). */
  fresh(device: GPUDevice, bytes: number): GPUBuffer {
    this.allocations++;
    return device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  give(buf: GPUBuffer): void {
    const bytes = buf.size;
    if (this.pooled + bytes > this.limitBytes) {
      this.doomed.push(buf);
      return;
    }
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, list = []);
    list.push(buf);
    this.pooled += bytes;
  }

  /** Destroys buffers dropped from the pool (call after a submit). */
  sweep(): void {
    for (const b of this.doomed.splice(0)) b.destroy();
  }

  /** Bytes held by the pool. */
  get pooledBytes(): number {
    return this.pooled;
  }
}
