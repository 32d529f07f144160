/**
 * Shared by tests/vmath_test.ts and tests/vmath_exhaustive.ts: a driver module around one
 * vectorized function of core/backends/cpu/wasm/vmath.ts, the float64 references and the
 * float32 ulp distance.
 */
import { assembleModule, FuncBuilder, I32 } from "../core/backends/cpu/wasm/assembler.ts";
import { type VecMathName, VMATH_F32 } from "../core/backends/cpu/wasm/vmath.ts";

// ------------------------------------------------------------------------- references --
/** float64 erf: 2/√π·e^(−x²)·Σ 2^n x^(2n+1)/(1·3·…·(2n+1)), a sum of positive terms. */
export function erf64(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(x)) return NaN;
  if (a >= 6) return Math.sign(x);
  let term = a, sum = a;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= 2 * a * a / (2 * n + 1);
    sum += term;
  }
  const r = 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum;
  return x < 0 || Object.is(x, -0) ? -r : r;
}

/** The references: `Math.f` in float64 (erf: {@link erf64}), rounded by the caller. */
export const REF: Record<VecMathName, (x: number, y: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  sin: Math.sin,
  cos: Math.cos,
  erf: erf64,
  pow: (x, y) => x ** y,
};

// ------------------------------------------------------------------------ the driver --
/** The driver's signature: byte addresses and a byte count. */
export type Driver = (x: number, y: number, out: number, bytes: number) => void;
const drivers = new WeakMap<WebAssembly.Memory, Map<VecMathName, Driver>>();

/**
 * A module on `memory` whose `run(x, y, out, bytes)` sets out[i..i+4] = fn(x[i..i+4]
 * (, y[i..i+4])) for byte offsets i < bytes (cached per memory and function).
 */
export function driver(name: VecMathName, memory: WebAssembly.Memory): Driver {
  let cache = drivers.get(memory);
  if (!cache) drivers.set(memory, cache = new Map());
  let d = cache.get(name);
  if (d) return d;
  const f = new FuncBuilder([I32, I32, I32, I32]);
  const i = f.local(I32);
  f.block((exit) =>
    f.loop((top) => {
      f.brIf(exit, f.i32GeS(f.get(i), f.get(3)));
      f.get(2).get(i).i32Add();
      f.v128Load(f.i32Add(f.get(0), f.get(i)));
      if (name === "pow") f.v128Load(f.i32Add(f.get(1), f.get(i)));
      f.call(0);
      f.v128Store(undefined, undefined);
      f.set(i, f.i32Add(f.get(i), f.i32(16)));
      f.br(top);
    })
  );
  const bytes = assembleModule([
    { name: "fn", body: VMATH_F32[name](), internal: true },
    { name: "run", body: f },
  ]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  d = inst.exports.run as Driver;
  cache.set(name, d);
  return d;
}

// ------------------------------------------------------------------------------ ulps --
const scratchF = new Float32Array(1), scratchU = new Uint32Array(scratchF.buffer);
/** The bits of `x` as a float32. */
export const bitsOf = (x: number): number => (scratchF[0] = x, scratchU[0]);

/** Distance in float32 ulps (NaN only matches NaN; ±0 are one apart). */
export function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const o = (x: number) => {
    const u = bitsOf(x);
    return u >= 0x80000000 ? -(u - 0x80000000) - 1 : u;
  };
  return Math.abs(o(a) - o(b));
}
