/**
 * The WebGPU backend: kernels compiled to WGSL (pipelines cached by source), buffers from a
 * size-keyed pool, every launch of one `execute` (kernel dispatches and device-side copies)
 * encoded in ONE command encoder and submitted once without waiting for the GPU, reads through
 * staging buffers and `mapAsync` (reads requested together share one submit and one wait).
 *
 * The device opens asynchronously while backends are created synchronously: creating the
 * backend starts opening it, buffers and kernels can be made before it is open, and the first
 * `execute`/`read` waits for it. `await k.ready()` (or `await k.devices()`) opens it early.
 * Synchronous reads are impossible (`dataSync()` raises an error pointing to `await t.data()`).
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import { allocArray } from "../../dtype.ts";
import type { KernelIR } from "../../ir/kernel.ts";
import type { BufferHandle } from "../../ir/node.ts";
import type { Backend, CompiledKernel, CopyLaunch, Launch, MemoryStats } from "../backend.ts";
import { registerBackend } from "../backend.ts";
import { debugLevel } from "../../debug.ts";
import { BufferPool, elementBytes, gpuBytes, WebGpuBuffer } from "./buffers.ts";
import { type AdapterSummary, openDevice, requestAdapter, summarize } from "./gpu.ts";
import { renderContraction } from "./matmul.ts";
import { renderVec4 } from "./vec4.ts";
import { renderScatter } from "./scatter.ts";
import { grid, renderGeneric, type WgslKernel, wgslType } from "./wgsl.ts";

/** A compiled WGSL kernel; its pipeline is created on first launch. */
export class WebGpuKernel implements CompiledKernel {
  pipeline: GPUComputePipeline | null = null;
  constructor(
    readonly source: string,
    readonly dispatch: readonly [number, number, number],
    readonly nInputs: number,
    /** A second pass dispatched right after with the same bindings (scatter-add). */
    readonly then: WebGpuKernel | null = null,
  ) {}
  /** Whether the kernel stores float16 (needs the `shader-f16` feature). */
  get f16(): boolean {
    return this.source.startsWith("enable f16;");
  }
}

/**
 * Copies float16 ranges that `copyBufferToBuffer` cannot (offsets and sizes there are multiples
 * of 4 bytes, i.e. of 2 float16 elements). Offsets come in a small params buffer
 * `[srcOffset, dstOffset, size, gridX]` so one pipeline serves every copy.
 */
const COPY_F16 = `enable f16;
@group(0) @binding(0) var<storage, read> src0: array<f16>;
@group(0) @binding(1) var<storage, read> src1: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f16>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * src1[3]) * 64u + lid;
  if (i >= src1[2]) { return; }
  dst[src1[1] + i] = src0[src1[0] + i];
}
`;

/** The error for float16 on an adapter without `shader-f16`. */
export function float16Error(adapter: string): string {
  return `webgpu: float16 needs the adapter feature "shader-f16", which this adapter (${adapter}) ` +
    'lacks; use float32 (x.astype("float32")) or the cpu device for float16';
}

/** Counters for tests and benchmarks. */
export interface WebGpuStats {
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Device-side buffer copies encoded (loops). */
  copies: number;
  /** Queue submits (kernel launches and reads). */
  submits: number;
  /** Submits made by `execute` (one per realize / jit call). */
  executeSubmits: number;
  /** Compute pipelines created (cache misses). */
  pipelines: number;
  /** Pipeline cache hits. */
  pipelineHits: number;
  /** Buffers read back to the host. */
  reads: number;
  /** `mapAsync` waits (reads requested together share one). */
  readBatches: number;
}

/** The message for any synchronous read. */
export const SYNC_READ_ERROR =
  "dataSync: the webgpu backend cannot read synchronously; use `await t.data()`";

/** Formats a WGSL compile error, with the source when `KILN_DEBUG=3`. */
export function formatCompileError(message: string, source: string, debug = debugLevel()): string {
  const head = `webgpu: WGSL kernel failed to compile: ${message.trim()}`;
  if (debug >= 3) {
    const numbered = source.split("\n").map((l, i) => `${String(i + 1).padStart(4)}  ${l}`);
    return `${head}\n--- generated WGSL ---\n${numbered.join("\n")}`;
  }
  return `${head}\n(set KILN_DEBUG=3 to include the generated WGSL)`;
}

interface ReadRequest {
  buf: WebGpuBuffer;
  resolve: (a: TypedArray) => void;
  reject: (e: unknown) => void;
}

/** WebGPU backend (one device). */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly synchronous = false;
  /** The open device (null until `whenReady()` resolves). */
  device: GPUDevice | null = null;
  /** The adapter's description, once known. */
  adapter: AdapterSummary | null = null;
  /**
   * Whether kernels cooperate through workgroup memory: contractions stage their tiles there and
   * long reductions with few outputs combine partial results by a tree. Undefined: on hardware
   * adapters only (on llvmpipe a workgroup barrier costs more than it saves: contractions run
   * 4-5× faster without). Settable (tests, benchmarks).
   */
  workgroupKernels: boolean | undefined = undefined;
  /** Whether elementwise kernels use `vec4` loads and stores where shapes allow (`vec4.ts`).
   * Settable (tests, benchmarks). */
  vectorize = true;
  private opening: Promise<GPUDevice>;
  private lost: string | null = null;
  private pool = new BufferPool();
  private staging = new Map<number, GPUBuffer[]>();
  private cache = new Map<string, WebGpuKernel>();
  private layouts = new Map<number, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readQueue: ReadRequest[] = [];
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private live = 0;
  private liveBytes = 0;
  private inputLimit: number | undefined;
  private late: GPUBuffer[] = [];
  /** Small buffers (copy parameters) destroyed after the next submit. */
  private transient: GPUBuffer[] = [];
  private copyF16 = new WebGpuKernel(COPY_F16, [1, 1, 1], 2);
  private counters: WebGpuStats = {
    dispatches: 0,
    copies: 0,
    submits: 0,
    executeSubmits: 0,
    pipelines: 0,
    pipelineHits: 0,
    reads: 0,
    readBatches: 0,
  };

  constructor() {
    this.opening = this.open();
    // Failures surface from the first execute/read; never as an unhandled rejection.
    this.opening.catch(() => {});
  }

  private async open(): Promise<GPUDevice> {
    const adapter = await requestAdapter();
    if (!adapter) {
      throw new Error(
        "webgpu: no WebGPU adapter is available (navigator.gpu.requestAdapter() gave none); " +
          'use the "cpu" device',
      );
    }
    this.adapter = summarize(adapter);
    const device = await openDevice(adapter);
    device.lost.then((info) => {
      this.lost = `${info.reason ?? "unknown"}: ${info.message}`;
      if (info.reason !== "destroyed") console.error(`kiln: webgpu device lost (${this.lost})`);
    });
    this.device = device;
    return device;
  }

  /** Waits until the device is open (throws if there is no adapter). */
  async whenReady(): Promise<GPUDevice> {
    const d = await this.opening;
    this.checkLost();
    return d;
  }

  private checkLost(): void {
    if (this.lost !== null) {
      throw new Error(`webgpu: the device was lost (${this.lost}); restart the program`);
    }
  }

  /**
   * Most buffers one kernel may read: the device's storage buffers per shader stage minus the
   * output (the spec default 8 until the device is open). Settable (tests).
   */
  get maxKernelInputs(): number {
    if (this.inputLimit !== undefined) return this.inputLimit;
    const n = this.device?.limits.maxStorageBuffersPerShaderStage ?? 8;
    return n - 1;
  }
  set maxKernelInputs(n: number | undefined) {
    this.inputLimit = n;
  }

  /** The largest buffer a kernel can bind, in bytes. */
  get maxBindingBytes(): number {
    return this.device?.limits.maxStorageBufferBindingSize ?? 134217728;
  }

  private checkSize(dtype: DType, size: number): void {
    wgslType(dtype, "a tensor");
    const bytes = gpuBytes(size, dtype);
    const max = Math.min(this.maxBindingBytes, this.device?.limits.maxBufferSize ?? Infinity);
    if (bytes > max) {
      throw new Error(
        `webgpu: a tensor of ${size} ${dtype} elements (${bytes} bytes) exceeds this device's ` +
          `maxStorageBufferBindingSize (${max} bytes); use smaller tensors or the cpu device`,
      );
    }
  }

  alloc(dtype: DType, size: number): WebGpuBuffer {
    this.checkSize(dtype, size);
    const b = new WebGpuBuffer(dtype, size, this);
    if (this.device) b.gpu = this.pool.take(this.device, b.bytes);
    this.live++;
    this.liveBytes += b.bytes;
    return b;
  }

  /**
   * Internal: a released buffer's memory goes back to the pool (after pending reads). The
   * handle keeps naming it: a program releases an intermediate as soon as its last reader is
   * queued, before the queue is encoded, and queue order keeps the reuse safe (as on the CPU).
   */
  recycle(b: WebGpuBuffer): void {
    if (b.pins > 0) return;
    this.live--;
    this.liveBytes -= b.bytes;
    b.pending = null;
    if (b.gpu) this.pool.give(b.gpu);
  }

  upload(dtype: DType, data: TypedArray): WebGpuBuffer {
    const b = this.alloc(dtype, data.length);
    // bool (Uint8Array on the host) is 32-bit on the GPU; writes are whole 4-byte words.
    let host: TypedArray = dtype === "bool" ? Int32Array.from(data) : data;
    if (dtype === "float16" && data.length % 2) {
      host = new Float16Array(data.length + 1);
      host.set(data);
    }
    if (b.gpu && this.device) {
      if (data.length) this.device.queue.writeBuffer(b.gpu, 0, host as BufferSource);
    } else b.pending = host === data ? data.slice() : host;
    return b;
  }

  /** The GPU buffer of a handle, created (and filled) now if it was made before the device. */
  private gpuOf(buf: BufferHandle): GPUBuffer {
    const b = buf as WebGpuBuffer;
    if (!b.gpu) {
      const device = this.device!;
      // Not from the pool: buffers released earlier in this launch list are already back in
      // it, and taking one here (out of queue order) would alias a live buffer.
      b.gpu = this.pool.fresh(device, b.bytes);
      if (b.pending && b.pending.length) {
        device.queue.writeBuffer(b.gpu, 0, b.pending as BufferSource);
      }
      b.pending = null;
      // Made and released before the device was open: back to the pool after this submit.
      if (b.released && b.pins === 0) this.late.push(b.gpu);
    }
    return b.gpu;
  }

  compile(ir: KernelIR): WebGpuKernel {
    const wg = this.workgroupKernels ?? this.adapter?.hardware ?? true;
    const sc = renderScatter(ir, wg);
    const k: WgslKernel = sc?.copy ?? renderContraction(ir, wg) ??
      (this.vectorize ? renderVec4(ir) : undefined) ?? renderGeneric(ir, wg);
    const key = sc ? k.source + sc.add.source : k.source;
    let hit = this.cache.get(key);
    if (!hit) {
      const then = sc ? new WebGpuKernel(sc.add.source, sc.add.dispatch, ir.inputs.length) : null;
      hit = new WebGpuKernel(k.source, k.dispatch, ir.inputs.length, then);
      this.cache.set(key, hit);
    } else this.counters.pipelineHits++;
    // Early where the adapter is known; buildPipelines checks again for kernels made before.
    if (hit.f16 && this.adapter && !this.adapter.f16) {
      throw new Error(float16Error(this.adapter.description));
    }
    return hit;
  }

  private layout(nInputs: number): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(nInputs);
    if (!l) {
      const device = this.device!;
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i <= nInputs; i++) {
        entries.push({
          binding: i,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: i < nInputs ? "read-only-storage" : "storage" },
        });
      }
      const bgl = device.createBindGroupLayout({ entries });
      l = { bgl, pl: device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
      this.layouts.set(nInputs, l);
    }
    return l;
  }

  /** Creates missing pipelines, reporting compile errors with the source (KILN_DEBUG=3). */
  private async buildPipelines(kernels: WebGpuKernel[]): Promise<void> {
    const device = this.device!;
    const max = device.limits.maxStorageBuffersPerShaderStage;
    const checks = kernels.map(async (k) => {
      if (k.f16 && !this.adapter?.f16) {
        throw new Error(float16Error(this.adapter?.description ?? "unknown"));
      }
      if (k.nInputs + 1 > max) {
        throw new Error(
          `webgpu: a kernel reads ${k.nInputs} buffers but this device binds at most ${max} ` +
            "storage buffers per kernel (the scheduler should have split it)",
        );
      }
      device.pushErrorScope("validation");
      const module = device.createShaderModule({ code: k.source });
      const pipeline = device.createComputePipeline({
        layout: this.layout(k.nInputs).pl,
        compute: { module, entryPoint: "main" },
      });
      const err = await device.popErrorScope();
      if (err) throw new Error(formatCompileError(err.message, k.source));
      k.pipeline = pipeline;
      this.counters.pipelines++;
    });
    await Promise.all(checks);
  }

  execute(launches: readonly Launch[]): void | Promise<void> {
    if (!this.device) return this.whenReady().then(() => this.execute(launches));
    this.checkLost();
    const fresh = new Set<WebGpuKernel>();
    for (const l of launches) {
      const k = "copy" in l ? (this.aligned(l) ? null : this.copyF16) : l.kernel as WebGpuKernel;
      if (k && !k.pipeline) fresh.add(k);
      if (k?.then && !k.then.pipeline) fresh.add(k.then);
    }
    if (fresh.size) return this.buildPipelines([...fresh]).then(() => this.encode(launches));
    this.encode(launches);
  }

  /** Whether `copyBufferToBuffer` can do a copy (4-byte aligned offsets and size). */
  private aligned(l: CopyLaunch): boolean {
    const e = elementBytes((l.src as WebGpuBuffer).dtype);
    return (l.srcOffset * e) % 4 === 0 && (l.dstOffset * e) % 4 === 0 && (l.size * e) % 4 === 0;
  }

  /** Encodes every launch into one command encoder and submits it once. */
  private encode(launches: readonly Launch[]): void {
    const device = this.device!;
    const enc = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    const timed = debugLevel() >= 2;
    for (const l of launches) {
      if ("copy" in l && this.aligned(l)) {
        if (pass) {
          pass.end();
          pass = null;
        }
        const e = elementBytes((l.src as WebGpuBuffer).dtype);
        enc.copyBufferToBuffer(
          this.gpuOf(l.src),
          l.srcOffset * e,
          this.gpuOf(l.dst),
          l.dstOffset * e,
          l.size * e,
        );
        this.counters.copies++;
        continue;
      }
      if ("copy" in l) {
        // An odd float16 range: a copy kernel with its offsets in a params buffer.
        const dispatch = grid(Math.ceil(l.size / 64));
        const params = device.createBuffer({
          size: 16,
          usage: GPUBufferUsage.STORAGE,
          mappedAtCreation: true,
        });
        new Uint32Array(params.getMappedRange()).set([
          l.srcOffset,
          l.dstOffset,
          l.size,
          dispatch[0],
        ]);
        params.unmap();
        this.transient.push(params);
        if (!pass) pass = enc.beginComputePass();
        const entries = [this.gpuOf(l.src), params, this.gpuOf(l.dst)].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        }));
        pass.setPipeline(this.copyF16.pipeline!);
        pass.setBindGroup(0, device.createBindGroup({ layout: this.layout(2).bgl, entries }));
        pass.dispatchWorkgroups(...dispatch);
        this.counters.copies++;
        continue;
      }
      const k = l.kernel as WebGpuKernel;
      const out = this.gpuOf(l.output);
      const ins = l.inputs.map((b) => this.gpuOf(b));
      if (l.output.size === 0) continue;
      if (!pass) pass = enc.beginComputePass();
      const entries = [...ins, out].map((buffer, binding) => ({ binding, resource: { buffer } }));
      pass.setPipeline(k.pipeline!);
      pass.setBindGroup(0, device.createBindGroup({ layout: this.layout(k.nInputs).bgl, entries }));
      pass.dispatchWorkgroups(...k.dispatch);
      this.counters.dispatches++;
      if (k.then) {
        pass.setPipeline(k.then.pipeline!);
        pass.dispatchWorkgroups(...k.then.dispatch);
        this.counters.dispatches++;
      }
      if (timed) {
        console.error(`  webgpu kernel: ${l.output.size} elements, grid [${k.dispatch}]`);
      }
    }
    if (pass) pass.end();
    device.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.counters.executeSubmits++;
    this.afterSubmit();
  }

  private afterSubmit(): void {
    for (const g of this.late.splice(0)) this.pool.give(g);
    for (const g of this.transient.splice(0)) g.destroy();
    this.pool.sweep();
  }

  read(buf: BufferHandle): Promise<TypedArray> {
    const b = buf as WebGpuBuffer;
    if (b.released) return Promise.reject(new Error("read: buffer was disposed"));
    b.pins++;
    return new Promise<TypedArray>((resolve, reject) => {
      this.readQueue.push({ buf: b, resolve, reject });
      // Reads requested in the same turn share one submit and one mapAsync wait.
      if (this.readTimer === undefined) {
        this.readTimer = setTimeout(() => {
          this.readTimer = undefined;
          this.flushReads();
        }, 0);
      }
    });
  }

  private unpin(b: WebGpuBuffer): void {
    b.pins--;
    if (b.pins === 0 && b.released) {
      b.released = false;
      b.release();
    }
  }

  private async flushReads(): Promise<void> {
    const batch = this.readQueue.splice(0);
    try {
      const device = await this.whenReady();
      const enc = device.createCommandEncoder();
      const stages = batch.map(({ buf }) => {
        const bytes = buf.bytes;
        const st = this.staging.get(bytes)?.pop() ??
          device.createBuffer({
            size: bytes,
            usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          });
        enc.copyBufferToBuffer(this.gpuOf(buf), 0, st, 0, bytes);
        return st;
      });
      device.queue.submit([enc.finish()]);
      this.counters.submits++;
      this.counters.readBatches++;
      this.afterSubmit();
      await Promise.all(stages.map((st) => st.mapAsync(GPUMapMode.READ)));
      this.checkLost();
      batch.forEach(({ buf, resolve }, i) => {
        const st = stages[i];
        const raw = st.getMappedRange(0, buf.bytes);
        resolve(toHost(buf.dtype, buf.size, raw));
        st.unmap();
        let list = this.staging.get(st.size);
        if (!list) this.staging.set(st.size, list = []);
        if (list.length < 4) list.push(st);
        else st.destroy();
        this.counters.reads++;
      });
    } catch (e) {
      for (const r of batch) r.reject(e);
    } finally {
      for (const r of batch) this.unpin(r.buf);
    }
  }

  readSync(_buf: BufferHandle): TypedArray {
    throw new Error(SYNC_READ_ERROR);
  }

  memoryStats(): MemoryStats {
    return { buffers: this.live, bytes: this.liveBytes, allocations: this.pool.allocations };
  }

  /** Dispatch/submit/pipeline counters (since start or the last `resetStats`). */
  stats(): WebGpuStats {
    return { ...this.counters };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    for (const k of Object.keys(this.counters) as (keyof WebGpuStats)[]) this.counters[k] = 0;
  }

  /** Number of distinct compiled kernels (WGSL sources). */
  get compiledCount(): number {
    return this.cache.size;
  }
}

/** Copies mapped GPU data into a host typed array of the tensor's dtype. */
function toHost(dtype: DType, size: number, raw: ArrayBuffer): TypedArray {
  if (dtype === "float32") return new Float32Array(raw.slice(0, size * 4));
  if (dtype === "float16") return new Float16Array(raw.slice(0, size * 2));
  const ints = new Int32Array(raw, 0, size);
  if (dtype === "int32") return ints.slice();
  const out = allocArray("bool", size);
  for (let i = 0; i < size; i++) out[i] = ints[i] !== 0 ? 1 : 0;
  return out;
}

registerBackend("webgpu", () => new WebGpuBackend());
