/** The default device new tensors are created on. @module */
import "../backends/cpu/cpu.ts";

let current: string | undefined;

/** The device used when none is given (`KILN_DEVICE`, else `cpu`). */
export function defaultDevice(): string {
  if (current === undefined) {
    let env: string | undefined;
    try {
      env = Deno.env.get("KILN_DEVICE");
    } catch { /* no env permission: use the default */ }
    current = env || "cpu";
  }
  return current;
}

/** Sets the device new tensors are created on. */
export function setDefaultDevice(device: string): void {
  current = device;
}
