/**
 * The backend interface: buffers, kernel compilation, launches. `cpu` implements it with
 * JavaScript (WebAssembly SIMD and Workers slot in behind the same calls); `webgpu` with WGSL.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import type { KernelIR } from "../ir/kernel.ts";
import type { BufferHandle } from "../ir/node.ts";

/** A compiled kernel: backend-specific, printable as its source. */
export interface CompiledKernel {
  readonly source: string;
}

/** One kernel launch: read `inputs`, write `output`. */
export interface KernelLaunch {
  readonly kernel: CompiledKernel;
  readonly inputs: readonly BufferHandle[];
  readonly output: BufferHandle;
}

/**
 * A device-side copy of `size` elements from `src[srcOffset..]` to `dst[dstOffset..]` (same
 * dtype): how loops (`scan`) slice their inputs and stack their outputs without a kernel.
 */
export interface CopyLaunch {
  readonly copy: true;
  readonly src: BufferHandle;
  readonly srcOffset: number;
  readonly dst: BufferHandle;
  readonly dstOffset: number;
  readonly size: number;
}

/** One step of a launch list; all steps of one realize or one jit call go in one `execute`. */
export type Launch = KernelLaunch | CopyLaunch;

/** Live (not pooled) device memory. */
export interface MemoryStats {
  /** Buffers held by tensors. */
  buffers: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Fresh allocations so far (pool misses); a steady loop stops adding to it. */
  allocations: number;
}

/** What every backend provides. */
export interface Backend {
  readonly name: string;
  /** An uninitialized buffer of `size` elements (reused from the pool when possible). */
  alloc(dtype: DType, size: number): BufferHandle;
  /** A buffer holding a copy of `data`. */
  upload(dtype: DType, data: TypedArray): BufferHandle;
  /** Copies a buffer back to the host. */
  read(buf: BufferHandle): Promise<TypedArray>;
  /** Synchronous read, where the device allows it. */
  readSync(buf: BufferHandle): TypedArray;
  /** Compiles kernel IR (cached by generated source). */
  compile(ir: KernelIR): CompiledKernel;
  /** Runs launches in order; all of one realize go in one call. */
  execute(launches: readonly Launch[]): void | Promise<void>;
  /** Whether `execute` completes synchronously. */
  readonly synchronous: boolean;
  /**
   * Most buffers one kernel may read (absent: no limit). The scheduler splits kernels that
   * would read more (WebGPU binds a limited number of storage buffers per kernel).
   */
  readonly maxKernelInputs?: number;
  memoryStats(): MemoryStats;
}

const backends = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();

/** Registers a backend factory under a device name. */
export function registerBackend(name: string, make: () => Backend): void {
  backends.set(name, make);
}

/** The backend for a device name, created on first use. */
export function getBackend(name: string): Backend {
  let b = instances.get(name);
  if (!b) {
    const make = backends.get(name);
    if (!make) throw new Error(`unknown device "${name}" (available: ${[...backends.keys()]})`);
    b = make();
    instances.set(name, b);
  }
  return b;
}

/** Backends created so far. */
export function activeBackends(): Backend[] {
  return [...instances.values()];
}
