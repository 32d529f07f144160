/** Shared test helpers: tolerant comparison, devices to run on, per-dtype tolerances. */
import assert from "node:assert";
import * as k from "../mod.ts";
import type { DType } from "../mod.ts";

/** Relative and absolute tolerance: `|a - e| <= atol + rtol * |e|`. */
export interface Tol {
  rtol: number;
  atol: number;
}

function testDevices(): string[] {
  let only: string | undefined;
  try {
    only = Deno.env.get("KILN_TEST_DEVICES");
  } catch { /* no env permission */ }
  return only ? only.split(",").map((d) => d.trim()).filter((d) => d) : [];
}

/**
 * Devices every value test runs on: `cpu`, plus `webgpu` whenever an adapter exists (llvmpipe
 * gives a real, software WebGPU on machines without a GPU). `KILN_TEST_DEVICES=cpu` (a
 * comma-separated list) restricts the run.
 */
export const DEVICES: string[] = await (async () => {
  const only = testDevices();
  if (only.length === 1 && only[0] === "cpu") return ["cpu"]; // no adapter lookup
  const available = (await k.devices()).map((d) => d.name);
  return only.length ? available.filter((d) => only.includes(d)) : available;
})();

const DEVICE_DTYPES: Map<string, readonly DType[]> = new Map(
  DEVICES.length === 1 && DEVICES[0] === "cpu"
    ? [["cpu", ["bool", "int32", "float16", "float32", "float64"]]]
    : (await k.devices()).map((d) => [d.name, d.dtypes]),
);

/** Whether `device` supports float64 (WebGPU has no 64-bit floats). */
export function hasFloat64(device: string): boolean {
  return device === "cpu";
}

/** Whether `device` computes in float16 (WebGPU needs the adapter's `shader-f16`). */
export function hasFloat16(device: string): boolean {
  return DEVICE_DTYPES.get(device)?.includes("float16") ?? false;
}

/**
 * float32 tolerance per device. The CPU backend rounds every float32 op exactly (it computes
 * in float64 and rounds, accumulating sums in float64, except contractions of at least 16³
 * multiply-adds, which its WebAssembly SIMD kernel accumulates in float32, as PyTorch and numpy
 * do); WebGPU computes in float32 throughout:
 * sums accumulate in float32 (error grows with the reduction length) and transcendental
 * functions are accurate to a few ulps, not correctly rounded. Integer and bool results, and
 * PRNG bits, are exact on both.
 */
export const F32_TOL: Record<string, Tol> = {
  cpu: { rtol: 1e-5, atol: 1e-6 },
  webgpu: { rtol: 1e-4, atol: 1e-5 },
};

/** Tolerance for `dtype` results on `device`. */
export function tolFor(dtype: DType, device: string): Tol {
  return dtype === "float32" ? F32_TOL[device] ?? F32_TOL.webgpu : TOL[dtype];
}

/** Tolerances per dtype. Integer and bool results must match exactly. */
export const TOL: Record<DType, Tol> = {
  float64: { rtol: 1e-10, atol: 1e-12 },
  float32: { rtol: 1e-5, atol: 1e-6 },
  // Two float16 ulps (2^-10 relative each).
  float16: { rtol: 2e-3, atol: 1e-5 },
  int32: { rtol: 0, atol: 0 },
  bool: { rtol: 0, atol: 0 },
};

/** Exact comparison (integers, bools, values that movement ops only copy). */
export const EXACT: Tol = { rtol: 0, atol: 0 };

/** Bitwise equality by `Object.is`: NaN equals NaN (any payload), -0 differs from 0. */
export function sameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, msg: string) {
  assert.equal(actual.length, expected.length, `${msg}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${msg}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Formats a number so that -0, NaN and infinities are visible. */
function show(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

/**
 * Throws unless `actual` and `expected` have the same length and agree elementwise within
 * `tol`. NaN equals NaN; an infinity must be matched by the same infinity. The message names the
 * first mismatching index.
 */
export function allClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tol = TOL.float64,
  msg = "",
): void {
  const pre = msg ? `${msg}: ` : "";
  if (actual.length !== expected.length) {
    throw new Error(`${pre}length ${actual.length} != expected length ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    let ok: boolean;
    if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else ok = Number.isFinite(a) && Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok) {
      const err = Math.abs(a - e);
      throw new Error(
        `${pre}mismatch at index ${i}: got ${show(a)}, expected ${show(e)} (|diff| ${err}, ` +
          `rtol ${tol.rtol}, atol ${tol.atol}; ${expected.length} elements)`,
      );
    }
  }
}

/** Asserts a shape equals the expected one, with a readable message. */
export function assertShape(actual: readonly number[], expected: readonly number[], msg = "") {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${msg ? msg + ": " : ""}shape [${actual}] != expected [${expected}]`);
  }
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Multi-index of flat position `flat` in a row-major shape. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** Flat row-major position of a multi-index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + idx[i];
  return f;
}

/** `0, 1, …, n-1` as plain numbers (distinct, exactly representable values for tests). */
export function iotaArray(n: number, scale = 1, offset = 0): number[] {
  return Array.from({ length: n }, (_, i) => i * scale + offset);
}

function checkMessage(err: unknown, parts: readonly string[]): string {
  assert.ok(err instanceof Error, `expected an Error mentioning ${JSON.stringify(parts)}`);
  for (const p of parts) {
    assert.ok(err.message.includes(p), `${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
  }
  return err.message;
}

/** Asserts `fn` throws an Error whose message contains every part; returns the message. */
export function throwsWith(fn: () => unknown, parts: readonly string[]): string {
  try {
    fn();
  } catch (e) {
    return checkMessage(e, parts);
  }
  return checkMessage(undefined, parts);
}

/** `throwsWith` for a function that may throw or reject. */
export async function rejectsWith(fn: () => unknown, parts: readonly string[]): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return checkMessage(e, parts);
  }
  return checkMessage(undefined, parts);
}

/** mulberry32: a seeded uniform [0, 1) stream, independent of Kiln's PRNG. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
