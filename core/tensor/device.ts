/**
 * Devices: the default device new tensors are created on, the devices this machine offers,
 * and moving tensors between them.
 *
 * - `cpu` is always there. `webgpu` is there when `navigator.gpu` gives an adapter (Deno has
 *   WebGPU without flags; on a machine without a GPU that is a software adapter like llvmpipe).
 * - The default device is whatever `setDefaultDevice` chose last, else `KILN_DEVICE` (`cpu` or
 *   `webgpu`), else `cpu` — until `await k.ready()`, which picks `webgpu` when the adapter is a
 *   hardware one (a software adapter is slower than the CPU backend) and opens it.
 * - WebGPU needs no explicit initialization: its device opens asynchronously on first use,
 *   and the first `await t.data()` / `await k.realize()` waits for it.
 * @module
 */
import "../backends/cpu/cpu.ts";
import "../backends/webgpu/webgpu.ts";
import { getBackend } from "../backends/backend.ts";
import { requestAdapter, summarize } from "../backends/webgpu/gpu.ts";
import type { WebGpuBackend } from "../backends/webgpu/webgpu.ts";
import type { Tensor } from "./tensor.ts";
import { type DType, DTYPES } from "../dtype.ts";
import { readData } from "./readback.ts";
import { fromArray } from "./creation.ts";
import { checkOneOf, checkTensorArg } from "../errors.ts";

const KNOWN = ["cpu", "webgpu"] as const;
let current: string | undefined;
let chosen = false;

function envDevice(): string | undefined {
  try {
    return Deno.env.get("KILN_DEVICE") || undefined;
  } catch {
    return undefined; // no env permission: use the default
  }
}

function checkName(op: string, device: unknown): string {
  return checkOneOf(op, device, KNOWN, "device");
}

/** `device` checked (a known name), or the default device when it is undefined. */
export function deviceArg(op: string, device: unknown): string {
  return device === undefined ? defaultDevice() : checkName(op, device);
}

/**
 * The device used when none is given: the last `setDefaultDevice`, else `KILN_DEVICE`, else
 * what `await k.ready()` picked, else `cpu`. @example k.defaultDevice() // "cpu"
 */
export function defaultDevice(): string {
  if (current === undefined) {
    const env = envDevice();
    if (env) {
      current = checkName("KILN_DEVICE", env);
      chosen = true;
    } else current = "cpu";
  }
  return current;
}

/** Sets the device new tensors are created on. @example k.setDefaultDevice("webgpu") */
export function setDefaultDevice(device: string): void {
  current = checkName("setDefaultDevice", device);
  chosen = true;
}

/** A device this machine offers. */
export interface DeviceInfo {
  /** The name to pass as `device` (`cpu`, `webgpu`). */
  readonly name: string;
  /** What it runs on. */
  readonly kind: "cpu" | "gpu";
  /** Human-readable description (the GPU adapter's, for WebGPU). */
  readonly description: string;
  /** False for software GPU adapters (llvmpipe, SwiftShader, …). */
  readonly hardware: boolean;
  /** The dtypes it computes in (WebGPU: no float64; float16 only with `shader-f16`). */
  readonly dtypes: readonly DType[];
}

/**
 * The devices available here (the WebGPU adapter is looked up once, asynchronously).
 * @example (await k.devices()).map((d) => d.name) // ["cpu", "webgpu"]
 */
export async function devices(): Promise<DeviceInfo[]> {
  const list: DeviceInfo[] = [{
    name: "cpu",
    kind: "cpu",
    description: "JavaScript kernels on the host CPU",
    hardware: true,
    dtypes: DTYPES,
  }];
  const adapter = await requestAdapter();
  if (adapter) {
    const s = summarize(adapter);
    const dtypes = DTYPES.filter((d) => d !== "float64" && (d !== "float16" || s.f16));
    list.push({
      name: "webgpu",
      kind: "gpu",
      description: s.description,
      hardware: s.hardware,
      dtypes,
    });
  }
  return list;
}

/**
 * Detects devices and settles the default: unless `KILN_DEVICE` or `setDefaultDevice` chose
 * one, the default becomes `webgpu` on a hardware GPU adapter and stays `cpu` otherwise. Opens
 * the default device when it is `webgpu` (its errors, such as a missing adapter, surface here).
 * Returns the default device. @example const device = await k.ready()
 */
export async function ready(): Promise<string> {
  if (!chosen && !envDevice()) {
    const gpu = (await devices()).find((d) => d.name === "webgpu");
    current = gpu?.hardware ? "webgpu" : "cpu";
    chosen = true;
  }
  const d = defaultDevice();
  if (d === "webgpu") await (getBackend("webgpu") as WebGpuBackend).whenReady();
  return d;
}

/**
 * A copy of `x` on `device` (computing `x` first if needed); `x` itself if it is already
 * there. Operands of one op must share a device: move them with this.
 * @example const g = await k.devicePut(x, "webgpu")
 */
export function devicePut(x: Tensor, device: string): Promise<Tensor> {
  // Arguments are checked synchronously, so a bad call throws at once (not a later rejection).
  checkTensorArg("devicePut", x, "x");
  checkName("devicePut", device);
  if (x.device === device) return Promise.resolve(x);
  return readData(x).then((d) => fromArray(d, x.shape, x.dtype, device));
}
