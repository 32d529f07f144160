/**
 * The primitive record: every rule of one primitive in one place.
 *
 * Shape/dtype inference, how it renders inside a kernel (per backend), and, for movement ops,
 * how output indices map to source indices. The transform issues add `vjp`, `jvp` and `batch`
 * to these same records.
 * @module
 */
import type { DType } from "../dtype.ts";
import type { Instr, KernelBuilder } from "./kernel.ts";
import type { Node } from "./node.ts";
import type { CallRules } from "./call.ts";

/** What a primitive is, which decides how the scheduler treats it. */
export type PrimKind =
  | "source"
  | "elementwise"
  | "reduce"
  | "movement"
  | "gather"
  /** Adds values at data-dependent positions (`scatterAdd`): always a kernel of its own. */
  | "scatter"
  /** Host-run primitives holding sub-graphs (`scan`, `cond`, `while`, a jitted call). */
  | "call"
  /** Output `i` of a call. */
  | "proj";

/** Renders one scalar operation as a backend expression. */
export type Render = (args: string[], dtype: DType, inDtype: DType, arg: unknown) => string;

/**
 * Maps output indices of a movement op to source indices, plus a validity mask (pad, unwindow)
 * and the value read where it is false (`fill`, default 0).
 */
export type IndexRule = (
  b: KernelBuilder,
  idx: Instr[],
  node: Node,
) => { idx: Instr[]; valid?: Instr; fill?: number };

/** One recorded application of a primitive: what derivative rules see. */
export interface Eqn {
  readonly src: readonly Node[];
  readonly arg: unknown;
  /** The output node (its value is available to the rule, e.g. `exp`'s VJP reuses it). */
  readonly out: Node;
}

/** Reverse-mode rule: output cotangent -> one cotangent per source (null: zero or none). */
export type VjpRule = (ct: Node, eq: Eqn) => (Node | null)[];
/** Forward-mode rule: source tangents (null: zero) -> output tangent (null: zero). */
export type JvpRule = (tangents: readonly (Node | null)[], eq: Eqn) => Node | null;

/** A value under `vmap`: the node and its batch axis (`null`: not batched). */
export type Batched = readonly [Node, number | null];

/** What a batching rule may ask of the `vmap` running it. */
export interface BatchContext {
  /** The batch size. */
  readonly size: number;
  /**
   * Batches further nodes built from the current equation's (unbatched) sources, with extra
   * substitutions (used by rules that carry closures, e.g. custom derivatives).
   */
  rewrite(nodes: readonly Node[], extra: ReadonlyMap<Node, Batched>): Batched[];
}

/** Batching rule: batched sources -> batched output. Called only if some source is batched. */
export type BatchRule = (src: readonly Batched[], eq: Eqn, ctx: BatchContext) => Batched;

/** A primitive's rules; `N` is its name as a literal type (see `ElementwiseName`). */
export interface Primitive<N extends string = string> {
  readonly name: N;
  readonly kind: PrimKind;
  /** Number of sources (elementwise). */
  readonly arity?: number;
  /** Output dtype from source dtypes (default: the first source's). */
  readonly dtype?: (src: readonly DType[], arg: unknown) => DType;
  /** Output shape from source shapes (default: the first source's). */
  readonly shape?: (src: readonly (readonly number[])[], arg: unknown) => number[];
  /** JavaScript rendering (CPU backend). */
  readonly js?: Render;
  /**
   * WGSL rendering (WebGPU backend): float32 as `f32`, int32 and bool as `i32` (bool 0/1);
   * may call the backend's `k_*` prelude helpers.
   */
  readonly wgsl?: Render;
  /** Movement ops: index mapping. */
  readonly index?: IndexRule;
  /** Reductions: the identity element for a dtype. */
  readonly identity?: (d: DType) => number;
  /** Reverse-mode derivative; absent means not differentiable (zero cotangents). */
  readonly vjp?: VjpRule;
  /** Forward-mode derivative; absent means not differentiable (zero tangent). */
  readonly jvp?: JvpRule;
  /** `vmap` rule. */
  readonly batch?: BatchRule;
  /** Call primitives (kind `call`): running and the multi-output rules (see `call.ts`). */
  readonly call?: CallRules;
}

const registry = new Map<string, Primitive>();

/** Adds primitive records to the registry. */
export function register(...prims: Primitive[]): void {
  for (const p of prims) {
    if (registry.has(p.name)) throw new Error(`primitive ${p.name} registered twice`);
    registry.set(p.name, p);
  }
}

/** Looks up a primitive record. */
export function prim(name: string): Primitive {
  const p = registry.get(name);
  if (!p) throw new Error(`internal: unknown primitive ${name}`);
  return p;
}

/** All registered primitives. */
export function allPrims(): Primitive[] {
  return [...registry.values()];
}
