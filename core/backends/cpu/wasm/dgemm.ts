/**
 * float64 matrix products on a shared workspace, for the blocked factorizations of
 * `core/linalg/`: `C ±= A · B` where A, B and C are blocks of matrices that live in one
 * `Float64Array` (the workspace). With WebAssembly SIMD the workspace is a view of the wasm
 * memory and the product runs in the `f64x2` kernel of `dgemm_kernel.ts`, in place, with no
 * copies; without it the workspace is a plain array and the same product runs in JavaScript
 * loops (same results up to rounding order).
 *
 * Usage: `const w = dWorkspace(floats)` once per factorization (this may grow the memory, which
 * invalidates earlier views), then any number of `dgemm(...)` calls on offsets into `w`.
 * Nothing else may reserve the workspace while a factorization holds its view.
 * @module
 */
import { assembleModule } from "./assembler.ts";
import { buildDgemm, type DgemmOptions } from "./dgemm_kernel.ts";
import { buildDaxpy, buildDdot, buildDrot } from "./dgemm_level1.ts";

/** The kernel: byte addresses and byte strides into the imported memory. */
type KernelFn = (
  a: number,
  sai: number,
  sak: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  m: number,
  n: number,
  k: number,
) => void;

/** Kernel variants, fastest first: 6×4 tiles with FMA, else 4×4 with mul + add. */
const VARIANTS: readonly Omit<DgemmOptions, "sub">[] = [
  { rows: 6, fma: true, unroll: 4, kBlock: 256 },
  { rows: 4, fma: false, unroll: 4, kBlock: 256 },
];

interface Instance {
  readonly options: Omit<DgemmOptions, "sub">;
  readonly memory: WebAssembly.Memory;
  readonly add: KernelFn;
  readonly sub: KernelFn;
  readonly rot: (x: number, y: number, len: number, c: number, s: number) => void;
  readonly dot: (x: number, y: number, len: number) => number;
  readonly axpy: (x: number, y: number, len: number, t: number) => void;
  f64: Float64Array;
}

let instance: Instance | null | undefined;
let forceJs = false;
let jsSpace = new Float64Array(0);

/** Compiles the first variant this runtime validates; null without WebAssembly SIMD. */
function load(): Instance | null {
  if (forceJs) return null;
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly !== "object") return null;
  for (const options of VARIANTS) {
    try {
      const bytes = assembleModule([
        { name: "add", body: buildDgemm({ ...options, sub: false }) },
        { name: "sub", body: buildDgemm({ ...options, sub: true }) },
        { name: "rot", body: buildDrot() },
        { name: "dot", body: buildDdot() },
        { name: "axpy", body: buildDaxpy() },
      ]);
      // Validating the kernel itself is the feature test (SIMD, relaxed SIMD).
      if (!WebAssembly.validate(bytes)) continue;
      const memory = new WebAssembly.Memory({ initial: 1 });
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const { add, sub, rot, dot, axpy } = inst.exports as unknown as Omit<
        Instance,
        "memory" | "f64"
      >;
      const f64 = new Float64Array(memory.buffer);
      return instance = { memory, add, sub, rot, dot, axpy, options, f64 };
    } catch {
      // A runtime that validates but cannot instantiate: try the next variant.
    }
  }
  return null;
}

/** The kernel variant in use, or null when products run in JavaScript. */
export function dgemmVariant(): Omit<DgemmOptions, "sub"> | null {
  return load()?.options ?? null;
}

/** Routes products through the JavaScript loops (`true`) or the kernel (tests compare both). */
export function setDgemmJs(js: boolean): void {
  forceJs = js;
}

/**
 * Below these sizes (multiply-adds of a product, elements of a row) the JavaScript loops are
 * faster than a call into WebAssembly (measured: eigh/svd of 4×4-8×8 matrices ran 2× slower
 * with every call in wasm).
 */
const SMALL_WORK = 512, SMALL_ROW = 16;

/** Workspace limit in floats (1 GiB of the 4 GiB a 32-bit wasm memory can address). */
export const DWORKSPACE_MAX: number = 1 << 27;

/**
 * A workspace of at least `floats` float64 values (contents unspecified), valid until the next
 * `dWorkspace` call. Offsets into it are what `dgemm` takes.
 */
export function dWorkspace(floats: number): Float64Array {
  if (floats > DWORKSPACE_MAX) throw new RangeError(`dgemm: workspace of ${floats} floats`);
  const w = load();
  if (!w) {
    if (jsSpace.length < floats) jsSpace = new Float64Array(floats);
    return jsSpace;
  }
  const bytes = 8 * floats, have = w.memory.buffer.byteLength;
  if (bytes > have) w.memory.grow(Math.ceil((bytes - have) / 65536));
  if (w.f64.buffer !== w.memory.buffer) w.f64 = new Float64Array(w.memory.buffer);
  return w.f64;
}

/**
 * `C ±= A·B` on the workspace `w` (from `dWorkspace`): `A[i, r] = w[a + i·sai + r·sak]`,
 * `B[r, j] = w[b + r·ldb + j]`, `C[i, j] = w[c + i·ldc + j]` (offsets and strides in elements),
 * subtracting when `sub`. Empty products do nothing.
 */
export function dgemm(
  w: Float64Array,
  sub: boolean,
  m: number,
  n: number,
  k: number,
  a: number,
  sai: number,
  sak: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  const inst = m * n * k >= SMALL_WORK ? load() : null;
  if (inst && w === inst.f64) {
    (sub ? inst.sub : inst.add)(8 * a, 8 * sai, 8 * sak, 8 * b, 8 * ldb, 8 * c, 8 * ldc, m, n, k);
    return;
  }
  // JavaScript: row i of C gets A[i, r]·(row r of B) for every r, along contiguous rows.
  const s = sub ? -1 : 1;
  for (let i = 0; i < m; i++) {
    const ci = c + i * ldc, ai = a + i * sai;
    for (let r = 0; r < k; r++) {
      const x = s * w[ai + r * sak];
      const br = b + r * ldb;
      for (let j = 0; j < n; j++) w[ci + j] += x * w[br + j];
    }
  }
}

/** Rows x, y of the workspace (offsets, `len` elements) ← (c·x − s·y, s·x + c·y). */
export function drot(
  w: Float64Array,
  x: number,
  y: number,
  len: number,
  c: number,
  s: number,
): void {
  const inst = len >= SMALL_ROW ? load() : null;
  if (inst && w === inst.f64) return inst.rot(8 * x, 8 * y, len, c, s);
  for (let i = 0; i < len; i++) {
    const xi = w[x + i], yi = w[y + i];
    w[x + i] = c * xi - s * yi;
    w[y + i] = s * xi + c * yi;
  }
}

/** Σ w[x + i]·w[y + i] for i < len. */
export function ddot(w: Float64Array, x: number, y: number, len: number): number {
  const inst = len >= SMALL_ROW ? load() : null;
  if (inst && w === inst.f64) return inst.dot(8 * x, 8 * y, len);
  let s = 0;
  for (let i = 0; i < len; i++) s += w[x + i] * w[y + i];
  return s;
}

/** w[y + i] += t · w[x + i] for i < len. */
export function daxpy(w: Float64Array, x: number, y: number, len: number, t: number): void {
  const inst = len >= SMALL_ROW ? load() : null;
  if (inst && w === inst.f64) return inst.axpy(8 * x, 8 * y, len, t);
  for (let i = 0; i < len; i++) w[y + i] += t * w[x + i];
}
