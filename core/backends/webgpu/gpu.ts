/**
 * Finding the WebGPU adapter and opening a device with the adapter's maximum limits.
 *
 * Deno's `requestDevice()` hands out the spec's default limits (8 storage buffers per stage,
 * 128 MiB bindings, 16 KiB workgroup memory, 256 invocations per workgroup) unless asked, so
 * the device is requested with the adapter's own maxima for the limits kernels depend on.
 * @module
 */

/** What Kiln knows about the WebGPU adapter. */
export interface AdapterSummary {
  /** Adapter description (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`), or vendor/architecture. */
  readonly description: string;
  /** False for software rasterizers (llvmpipe, lavapipe, SwiftShader, WARP, fallback adapters). */
  readonly hardware: boolean;
  /** Whether `shader-f16` is available. */
  readonly f16: boolean;
}

let adapterPromise: Promise<GPUAdapter | null> | undefined;

/** The (cached) adapter; null where WebGPU is missing or offers no adapter. */
export function requestAdapter(): Promise<GPUAdapter | null> {
  if (!adapterPromise) {
    adapterPromise = (async () => {
      const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
      if (!gpu) return null;
      try {
        return await gpu.requestAdapter({ powerPreference: "high-performance" });
      } catch {
        return null;
      }
    })();
  }
  return adapterPromise;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render|warp/i;

/** Describes an adapter and classifies it as hardware or software. */
export function summarize(adapter: GPUAdapter): AdapterSummary {
  const info = (adapter as { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  const text = [info?.description, info?.vendor, info?.architecture, info?.device]
    .filter((s) => s).join(" ");
  const fallback = info?.isFallbackAdapter === true ||
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    description: info?.description || text || "unknown adapter",
    hardware: !fallback && !SOFTWARE.test(text),
    f16: adapter.features.has("shader-f16"),
  };
}

/** Limits requested at the adapter's maximum. */
const MAX_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
] as const;

/** Opens a device with the adapter's maximum limits (and `shader-f16` where offered). */
export async function openDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const k of MAX_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("shader-f16")
    ? ["shader-f16"]
    : [];
  return await adapter.requestDevice({ requiredLimits, requiredFeatures });
}
