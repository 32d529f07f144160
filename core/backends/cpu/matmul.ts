/** Contraction fast path (filled in below). @module */
import type { KernelIR } from "../../ir/kernel.ts";

/** Renders a blocked contraction kernel, or undefined when `ir` is not one. */
export function renderContraction(_ir: KernelIR): string | undefined {
  return undefined;
}
