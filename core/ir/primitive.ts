/**
 * The primitive record: every rule of one primitive in one place.
 *
 * Shape/dtype inference, for movement ops how output indices map to source indices, and the
 * `vjp`, `jvp` and `batch` rules of the transforms. How a primitive renders inside a kernel is
 * each backend's business: the backends key their tables by the primitive names these records
 * define (`core/backends/cpu/renders.ts`, `core/backends/webgpu/renders.ts`), and constant
 * folding evaluates with `evaluate.ts`, so the IR knows nothing of any backend.
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

/** What every primitive record has, whatever its kind. */
interface PrimitiveBase<N extends string> {
  /** The name, as a literal type (the unions `ElementwiseName`, `PrimName` derive from it). */
  readonly name: N;
  /** Number of sources (elementwise). */
  readonly arity?: number;
  /** Output dtype from source dtypes (default: the first source's). */
  readonly dtype?: (src: readonly DType[], arg: unknown) => DType;
  /** Output shape from source shapes (default: the first source's). */
  readonly shape?: (src: readonly (readonly number[])[], arg: unknown) => number[];
  /** Movement ops: index mapping. */
  readonly index?: IndexRule;
  /** Reductions: the identity element for a dtype. */
  readonly identity?: (d: DType) => number;
  /** Call primitives (kind `call`): running and the multi-output rules (see `call.ts`). */
  readonly call?: CallRules;
}

/**
 * The derivative and batching rules, required of every primitive that takes inputs, so one
 * added without them fails `deno check`. "Not differentiable" is an explicit zero rule
 * (`vjp` returning nulls, `jvp` returning null), distinct from a missing one.
 */
export interface TransformRules {
  /** Reverse-mode derivative. */
  readonly vjp: VjpRule;
  /** Forward-mode derivative. */
  readonly jvp: JvpRule;
  /** `vmap` rule. */
  readonly batch: BatchRule;
}

/** The kinds whose records must carry `TransformRules`. */
export type RuledKind = "elementwise" | "reduce" | "movement" | "gather" | "scatter";

/** A primitive whose record carries `TransformRules`. */
export type RuledPrimitive<N extends string = string> =
  & PrimitiveBase<N>
  & TransformRules
  & { readonly kind: RuledKind };

/**
 * A primitive's rules; `N` is its name as a literal type. Sources have no inputs (nothing to
 * differentiate or batch); a call keeps its multi-output rules in `call`, and a `proj`'s rules
 * are its call's.
 */
export type Primitive<N extends string = string> =
  | RuledPrimitive<N>
  | (PrimitiveBase<N> & {
    readonly kind: Exclude<PrimKind, RuledKind>;
    readonly vjp?: undefined;
    readonly jvp?: undefined;
    readonly batch?: undefined;
  });

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
