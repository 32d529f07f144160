/**
 * `PrimName`: the names of the IR's primitives as one literal union, derived from the records
 * (each record is typed `Primitive<"name">`), so tables keyed by it are exhaustive
 * (`satisfies Record<PrimName, …>`) and a misspelt name fails `deno check`. The call
 * primitives that transforms register (`scan`, `while`, `switch`, `jit`, `checkpoint`, linalg
 * host calls) live above the IR and carry their rules in their own records (`call`).
 * @module
 */
import type { ElementwiseName } from "./elementwise.ts";
import type { ReduceName } from "./reduce.ts";
import type { EXPAND, FLIP, PAD, PERMUTE, RESHAPE, SHRINK } from "./movement.ts";
import type { BUFFER, CONST, CUSTOM, GATHER, IOTA } from "./source.ts";
import type { REWINDOW, UNWINDOW } from "./window.ts";
import type { SCATTER_ADD } from "./scatter.ts";
import type { PLACEHOLDER, PROJ } from "./call.ts";

type NameOf<P> = P extends { readonly name: infer N } ? N : never;

/** Movement primitives (free views). */
export type MovementName = NameOf<
  | typeof RESHAPE
  | typeof PERMUTE
  | typeof EXPAND
  | typeof PAD
  | typeof SHRINK
  | typeof FLIP
  | typeof REWINDOW
  | typeof UNWINDOW
  | typeof CUSTOM
>;

/** Leaves and the data-dependent reads and writes. */
export type SourceName = NameOf<
  | typeof BUFFER
  | typeof CONST
  | typeof IOTA
  | typeof PLACEHOLDER
  | typeof GATHER
  | typeof SCATTER_ADD
  | typeof PROJ
>;

/** Every primitive the IR defines. */
export type PrimName = ElementwiseName | ReduceName | MovementName | SourceName;
