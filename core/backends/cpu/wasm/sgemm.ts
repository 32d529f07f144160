/**
 * float32 matrix multiply through the WebAssembly SIMD kernel of `sgemm_kernel.ts`, for the CPU
 * backend's contractions: `C[m×n] = A[m×k] · B[k×n]`, accumulated in float32 (`f32x4`), as
 * PyTorch and numpy do.
 *
 * The operands live in JavaScript typed arrays, so each call copies them into one wasm memory
 * (grown on demand, never shrunk): a plain `set` of the span an operand covers when that span
 * is compact, otherwise a gather into a contiguous layout (e.g. a transposed B, which the
 * kernel cannot read with vector loads). Copying is O(mk + kn) against O(mnk) arithmetic.
 *
 * The module is compiled once, on first use. With relaxed SIMD the kernel uses
 * `f32x4.relaxed_madd` (a fused multiply-add on CPUs with FMA, one rounding per step; the same
 * in every V8 tier), else `f32x4.mul` + `f32x4.add`. Without WebAssembly SIMD there is no
 * kernel, and the backend keeps its JavaScript loops.
 * @module
 */
import { assembleModule } from "./assembler.ts";
import { buildSgemm, type KernelOptions } from "./sgemm_kernel.ts";

/** The kernel: byte addresses and byte strides into the imported memory. */
type KernelFn = (
  a: number,
  aRowStride: number,
  aColStride: number,
  b: number,
  bRowStride: number,
  c: number,
  m: number,
  n: number,
  k: number,
) => void;

/**
 * Kernel variants, fastest first (measured on the 2-vCPU AMD EPYC machines here, 256³):
 * 6×8 tiles with FMA ~49 GFLOP/s; without FMA 6 rows spill and 4×8 is best, ~36.
 */
const VARIANTS: readonly KernelOptions[] = [
  { rows: 6, fma: true, unroll: 4, kBlock: 256 },
  { rows: 4, fma: false, unroll: 4, kBlock: 256 },
];

interface Instance {
  readonly memory: WebAssembly.Memory;
  readonly kernel: KernelFn;
  readonly options: KernelOptions;
  f32: Float32Array;
}

let instance: Instance | null | undefined;

/** Compiles the first variant this runtime validates; null without WebAssembly SIMD. */
function load(): Instance | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly !== "object") return null;
  for (const options of VARIANTS) {
    try {
      const bytes = assembleModule([{ name: "sgemm", body: buildSgemm(options) }]);
      // Validating the kernel itself is the feature test (SIMD, relaxed SIMD).
      if (!WebAssembly.validate(bytes)) continue;
      const memory = new WebAssembly.Memory({ initial: 1 });
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const kernel = inst.exports.sgemm as KernelFn;
      return instance = { memory, kernel, options, f32: new Float32Array(memory.buffer) };
    } catch {
      // A runtime that validates but cannot instantiate: try the next variant.
    }
  }
  return null;
}

/** Whether the WebAssembly SIMD kernel can run here. */
export function sgemmAvailable(): boolean {
  return load() !== null;
}

/** The kernel variant in use (tile rows, FMA), or null without WebAssembly SIMD. */
export function sgemmVariant(): KernelOptions | null {
  return load()?.options ?? null;
}

/** Calls so far (tests assert that a contraction took this path). */
export const sgemmStats: { calls: number } = { calls: 0 };

/** Operand spans up to this multiple of the operand's size are copied as is, not gathered. */
const SPAN_SLACK = 2;
/** Wasm memory the kernel may use, in floats (1 GiB; a 32-bit memory holds at most 4). */
const MAX_FLOATS = 1 << 28;

/** Whether an `m×k · k×n` product fits the kernel's memory, whatever its operand strides. */
export function sgemmFits(m: number, n: number, k: number): boolean {
  return SPAN_SLACK * (m * k + k * n) + m * n + 8 <= MAX_FLOATS;
}

/** The float offsets an affine 2-D access covers: its lowest offset and its length. */
function span(off: number, n0: number, s0: number, n1: number, s1: number): [number, number] {
  const lo = off + Math.min(0, (n0 - 1) * s0) + Math.min(0, (n1 - 1) * s1);
  const hi = off + Math.max(0, (n0 - 1) * s0) + Math.max(0, (n1 - 1) * s1);
  return [lo, hi - lo + 1];
}

const align4 = (n: number) => (n + 3) & ~3;

/**
 * `C = A · B` in float32 with `A[i, r] = x[xOff + i·xi + r·xr]` and
 * `B[r, j] = y[yOff + r·yr + j·yj]` (strides in elements, any sign, 0 to broadcast). Returns C
 * as a row-major `m×n` view into wasm memory, valid until the next call. Needs
 * `sgemmAvailable()`, `sgemmFits(m, n, k)` and `m, n, k ≥ 1`.
 */
export function sgemm(
  m: number,
  n: number,
  k: number,
  x: Float32Array,
  xOff: number,
  xi: number,
  xr: number,
  y: Float32Array,
  yOff: number,
  yj: number,
  yr: number,
): Float32Array {
  const w = load();
  if (!w) throw new Error("sgemm: WebAssembly SIMD is unavailable");
  sgemmStats.calls++;
  // A stride along a size-1 axis is never used: zero it, so it cannot overflow an i32.
  if (m === 1) xi = 0;
  if (n === 1) yj = 0;
  if (k === 1) xr = yr = 0;
  const [aLo, aSpan] = span(xOff, m, xi, k, xr);
  const [bLo, bSpan] = span(yOff, k, yr, n, yj);
  const copyA = aSpan <= SPAN_SLACK * m * k;
  const copyB = (yj === 1 || n === 1) && bSpan <= SPAN_SLACK * k * n;
  // Layout in floats: A at 0, then B, then C, each 16-byte aligned.
  const bAt = align4(copyA ? aSpan : m * k);
  const cAt = bAt + align4(copyB ? bSpan : k * n);
  const f32 = reserve(w, cAt + m * n);

  let aPtr = 0, sai = 4 * k, sak = 4;
  if (copyA) {
    f32.set(x.subarray(aLo, aLo + aSpan), 0);
    [aPtr, sai, sak] = [4 * (xOff - aLo), 4 * xi, 4 * xr];
  } else gather(f32, 0, x, xOff, m, xi, k, xr);
  let bPtr = 4 * bAt, ldb = 4 * n;
  if (copyB) {
    f32.set(y.subarray(bLo, bLo + bSpan), bAt);
    [bPtr, ldb] = [4 * (bAt + yOff - bLo), 4 * yr];
  } else gather(f32, bAt, y, yOff, k, yr, n, yj);
  f32.fill(0, cAt, cAt + m * n); // the kernel accumulates into C
  w.kernel(aPtr, sai, sak, bPtr, ldb, 4 * cAt, m, n, k);
  return f32.subarray(cAt, cAt + m * n);
}

/** Grows the wasm memory to hold `floats` floats; returns the (possibly new) view of it. */
function reserve(w: Instance, floats: number): Float32Array {
  const bytes = 4 * floats;
  const have = w.memory.buffer.byteLength;
  if (bytes > have) w.memory.grow(Math.ceil((bytes - have) / 65536));
  if (w.f32.buffer !== w.memory.buffer) w.f32 = new Float32Array(w.memory.buffer);
  return w.f32;
}

/** Where packed operands go: `A` (row-major `m×k`) at `f32[a]`, `B` (`k×n`) at `f32[b]`. */
export interface Panels {
  readonly f32: Float32Array;
  readonly a: number;
  readonly b: number;
}

/**
 * Reserves wasm memory for an `m×k · k×n` product whose operands the caller packs itself
 * (e.g. a convolution's im2col columns evaluated straight into `A`), then `sgemmPacked`.
 * Needs `sgemmAvailable()` and `sgemmFits(m, n, k)`.
 */
export function sgemmPanels(m: number, n: number, k: number): Panels {
  const w = load();
  if (!w) throw new Error("sgemm: WebAssembly SIMD is unavailable");
  const b = align4(m * k);
  const f32 = reserve(w, b + align4(k * n) + m * n);
  return { f32, a: 0, b };
}

/**
 * `C = A · B` for operands packed by the caller at `sgemmPanels(m, n, k)` (`A` row-major, or
 * column-major with `aT`); returns C as a row-major `m×n` view into wasm memory, valid until
 * the next call.
 */
export function sgemmPacked(m: number, n: number, k: number, aT = false): Float32Array {
  const w = load()!;
  sgemmStats.calls++;
  const b = align4(m * k), c = b + align4(k * n);
  w.f32.fill(0, c, c + m * n); // the kernel accumulates into C
  w.kernel(0, aT ? 4 : 4 * k, aT ? 4 * m : 4, 4 * b, 4 * n, 4 * c, m, n, k);
  return w.f32.subarray(c, c + m * n);
}

/**
 * Writes the `rows×cols` matrix `src[off + r·rs + c·cs]` row-major at `dst[at]`. Columns are
 * walked in blocks of 16 so that a transposed source (unit `rs`) is read from 16 cache lines
 * at a time rather than `cols` of them.
 */
function gather(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  rows: number,
  rs: number,
  cols: number,
  cs: number,
): void {
  for (let c0 = 0; c0 < cols; c0 += 16) {
    const c1 = Math.min(cols, c0 + 16);
    for (let r = 0; r < rows; r++) {
      let p = at + r * cols + c0, q = off + r * rs + c0 * cs;
      for (let c = c0; c < c1; c++, q += cs) dst[p++] = src[q];
    }
  }
}
