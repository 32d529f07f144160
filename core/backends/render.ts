/**
 * The shape of a backend's rendering tables: one entry per primitive name, typed
 * `satisfies Record<ElementwiseName, Render>` (and `Record<ReduceName, Render>`), so a primitive
 * added to the IR without a rendering in some backend fails `deno check`. The IR records know
 * nothing of any backend; each backend owns its table (as tinygrad's renderers each own theirs).
 * @module
 */
import type { DType } from "../dtype.ts";

/**
 * Renders one scalar operation as an expression of the backend's language: the operands'
 * expressions, the result's dtype, the first operand's dtype and the primitive's `arg` (a
 * cast's target dtype). A reduction's combine step is rendered as `([acc, value], d, d, 0)`.
 */
export type Render = (args: string[], dtype: DType, inDtype: DType, arg: unknown) => string;

/** The rendering of primitive `op` in `table`; an op outside the table is an internal error. */
export function renderOf(table: Readonly<Record<string, Render>>, op: string, who: string): Render {
  if (!Object.hasOwn(table, op)) throw new Error(`internal: ${who} has no rendering for ${op}`);
  return table[op];
}
