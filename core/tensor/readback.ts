/** Getting values out: realize, typed arrays, nested arrays, printing. @module */
import type { TypedArray } from "../dtype.ts";
import { getBackend } from "../backends/backend.ts";
import { realizeNodes, realizeNodesSync } from "../schedule/realize.ts";
import type { Tensor } from "./tensor.ts";
import { checkTensorArg } from "../errors.ts";

/** Computes several tensors in one launch. @example await k.realize(loss, params.w) */
export function realize(...tensors: Tensor[]): Promise<void> {
  // Checked before anything runs, so a wrong argument throws at the call, not later.
  tensors.forEach((t, i) => checkTensorArg("realize", t, `tensors[${i}]`));
  return realizeNodes(tensors.map((t) => t.node)).then(() => {});
}

/** The tensor's values as a typed array (a copy). */
export async function readData(t: Tensor): Promise<TypedArray> {
  await realizeNodes([t.node]);
  return getBackend(t.device).read(t.node.buffer!);
}

/** Synchronous read (CPU only). */
export function readDataSync(t: Tensor): TypedArray {
  realizeNodesSync([t.node], "dataSync");
  return getBackend(t.device).readSync(t.node.buffer!);
}

/** Nested JS arrays from flat data. */
export function toNested(data: TypedArray, shape: readonly number[], bool: boolean): unknown {
  const conv = (v: number) => bool ? v !== 0 : v;
  if (shape.length === 0) return conv(data[0]);
  const build = (off: number, dim: number): unknown[] => {
    const n = shape[dim];
    const stride = shape.slice(dim + 1).reduce((a, d) => a * d, 1);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = dim === shape.length - 1 ? conv(data[off + i]) : build(off + i * stride, dim + 1);
    }
    return out;
  };
  return build(0, 0);
}

/** numpy-like text of the values, eliding the middle of long axes. */
export function formatValues(
  data: TypedArray,
  shape: readonly number[],
  bool: boolean,
  edge = 3,
): string {
  const fmtv = (v: number) => {
    if (bool) return v ? "true" : "false";
    if (Number.isInteger(v)) return String(v);
    const s = v.toPrecision(6);
    return s.includes("e") ? s : String(Number(s));
  };
  if (shape.length === 0) return fmtv(data[0]);
  const rec = (off: number, dim: number, indent: string): string => {
    const n = shape[dim];
    const stride = shape.slice(dim + 1).reduce((a, d) => a * d, 1);
    const idx = n > 2 * edge + 1
      ? [...Array(edge).keys(), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)]
      : [...Array(n).keys()];
    const parts = idx.map((i) =>
      i < 0
        ? "..."
        : dim === shape.length - 1
        ? fmtv(data[off + i])
        : rec(off + i * stride, dim + 1, indent + " ")
    );
    const sep = dim === shape.length - 1 ? ", " : ",\n" + indent + " ";
    return `[${parts.join(sep)}]`;
  };
  return rec(0, 0, "");
}
