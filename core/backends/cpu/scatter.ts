/**
 * Scatter-add kernels on the CPU: the output loop stores the copy of `x`, then a sequential
 * loop over the updates adds each one in place (`out[offset] += value`). Typed-array stores
 * round a float32/float16 sum once, as that dtype's addition does, and wrap int32 sums.
 * @module
 */
import type { KernelIR } from "../../ir/kernel.ts";
import { JsEmitter, type KernelSource } from "./codegen.ts";

/** Renders a scatter-add kernel, or undefined for any other kernel. */
export function renderScatter(ir: KernelIR): KernelSource | undefined {
  const s = ir.scatter;
  if (!s) return undefined;
  const e = new JsEmitter(ir);
  e.lines.push("let oi = 0;");
  e.emitScope(ir.root, "", (l, pad) => {
    if (l === ir.out) {
      e.emitLoop(l, pad, e.emitReduce, (p) => e.lines.push(`${p}out[oi++] = ${e.name(ir.value)};`));
    } else if (l === s.loop) {
      e.emitLoop(l, pad, e.emitReduce, (p) => {
        const add = `out[${e.name(s.offset)}] += ${e.name(s.value)};`;
        e.lines.push(s.valid ? `${p}if (${e.name(s.valid)}) ${add}` : `${p}${add}`);
      });
    } else e.emitReduce(l, pad);
  });
  return { pre: "", body: e.lines.join("\n") };
}
