/**
 * Traced inputs, sub-graphs and call primitives.
 *
 * A `placeholder` stands for a value that is not known while a function is traced (an input of
 * `jit`, `vmap` or a loop body). A `Graph` is a traced function: placeholders in, nodes out.
 * Call primitives (`scan`, `cond`, `while`, a jitted call) hold sub-graphs and run on the host
 * as loops over compiled sub-programs; they have several outputs, each a `proj` node.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { type BufferHandle, Node } from "./node.ts";
import {
  type BatchContext,
  type Batched,
  type Eqn,
  type Primitive,
  register,
} from "./primitive.ts";

/** What a placeholder stands for: used in error messages. */
export interface PlaceholderArg {
  /** The transform that traced it (`jit`, `vmap`, `scan`, ...). */
  readonly transform: string;
  /** Which input, e.g. `argument 0 .w`. */
  readonly label: string;
}

/** A traced input: shape and dtype, no data. */
export const PLACEHOLDER: Primitive<"placeholder"> = { name: "placeholder", kind: "source" };

/** A placeholder node. */
export function placeholder(
  shape: readonly number[],
  dtype: DType,
  device: string,
  transform: string,
  label = "",
): Node {
  return new Node(
    "placeholder",
    [],
    { transform, label } satisfies PlaceholderArg,
    shape,
    dtype,
    device,
  );
}

/** A placeholder with the shape, dtype and device of `n`. */
export function placeholderLike(n: Node, transform: string, label = ""): Node {
  return placeholder(n.shape, n.dtype, n.device, transform, label);
}

/** A traced function: `outputs` computed from `inputs` (placeholders). */
export interface Graph {
  readonly inputs: readonly Node[];
  readonly outputs: readonly Node[];
}

/** Shape and dtype of a value. */
export interface Aval {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Output `index` of a call node. */
export interface ProjArg extends Aval {
  readonly index: number;
}

/** Output `i` of a call. Its derivative and batching rules are the call's. */
export const PROJ: Primitive<"proj"> = {
  name: "proj",
  kind: "proj",
  shape: (_s, arg) => [...(arg as ProjArg).shape],
  dtype: (_s, arg) => (arg as ProjArg).dtype,
};

let nextCall = 0;

/**
 * The `arg` of a call node. Compared by identity: graph-level CSE keys on `toJSON()`, which
 * is unique per call.
 */
export class CallArg {
  /** Unique id. */
  readonly id: number = nextCall++;
  constructor(
    /** Output shapes and dtypes. */
    readonly outs: readonly Aval[],
    /** Device the outputs live on. */
    readonly device: string,
  ) {}
  /** Identity key for CSE. */
  toJSON(): string {
    return `call#${this.id}`;
  }
}

/** Requests a call's runner makes of the executor (opaque to the IR). */
export type ExecRequest = unknown;

/** A generator that runs device work, yielding to the executor to flush or read. */
export type Exec<T> = Generator<ExecRequest, T, unknown>;

/** What the executor offers a call's runner. */
export interface ExecContext {
  /** A fresh buffer on `device`. */
  alloc(dtype: DType, size: number, device: string): BufferHandle;
  /** Gives a buffer this run allocated back (after launches already queued that read it). */
  release(buf: BufferHandle): void;
  /** Queues a device-side copy of `size` elements. */
  copy(
    src: BufferHandle,
    srcOffset: number,
    dst: BufferHandle,
    dstOffset: number,
    size: number,
  ): void;
  /** Runs a sub-graph (compiled once and cached); the caller owns the returned buffers. */
  runGraph(g: Graph, inputs: readonly BufferHandle[]): Exec<BufferHandle[]>;
  /** Reads a buffer back (flushes queued work first). */
  read(buf: BufferHandle): Exec<TypedArray>;
}

/** The rules of a call primitive; the ordinary single-output rules do not apply to it. */
export interface CallRules {
  /** Runs the call on input buffers; returns one new buffer per output. */
  run(ctx: ExecContext, eq: Eqn, inputs: readonly BufferHandle[]): Exec<BufferHandle[]>;
  /**
   * Reverse mode: output cotangents (null: zero) -> one cotangent per source. `needed` says
   * which sources the sweep wants a cotangent for (the others may be null).
   */
  vjp?(cts: readonly (Node | null)[], eq: Eqn, needed?: readonly boolean[]): (Node | null)[];
  /** Forward mode: source tangents (null: zero) -> output tangents. */
  jvp?(tangents: readonly (Node | null)[], eq: Eqn): (Node | null)[];
  /** vmap: batched sources -> batched outputs. */
  batch?(src: readonly Batched[], eq: Eqn, ctx: BatchContext): Batched[];
  /** Sub-graphs, for printing (`jit(f).lower()`). */
  graphs?(arg: unknown): Record<string, Graph>;
}

/** A call primitive record. */
export type CallPrimitive = Primitive & { readonly kind: "call"; readonly call: CallRules };

/**
 * A call's outputs, held strongly from the call node (an ephemeron: collected with it). Not
 * `WeakRef`s: every `new WeakRef(x)` keeps `x` alive until the current job ends, so a
 * synchronous loop of CPU `jit` steps (one job) would keep every step's outputs, and their
 * buffers, alive. The price: an output dropped before its call runs is still computed.
 */
const projRefs = new WeakMap<Node, Node[]>();

/** Creates a call node and returns its outputs (one `proj` node each). */
export function makeCall(op: string, src: readonly Node[], arg: CallArg): Node[] {
  for (const s of src) {
    if (s.device !== arg.device) {
      throw new Error(
        `${op}: operands are on different devices (${arg.device} and ${s.device})`,
      );
    }
  }
  const c = new Node(op, [...src], arg, [], "int32", arg.device);
  const outs = arg.outs.map((o, index) =>
    new Node(
      "proj",
      [c],
      { index, shape: o.shape, dtype: o.dtype } satisfies ProjArg,
      o.shape,
      o.dtype,
      arg.device,
    )
  );
  projRefs.set(c, outs);
  return outs;
}

/**
 * Gives an existing call node the outputs of `arg`, which must begin with the node's current
 * outputs (same shapes and dtypes): `scan`'s reverse mode makes a forward loop that is not
 * yet run also stack the residuals its VJP reads, instead of running the loop twice. Returns
 * every output (the existing `proj` nodes first, unchanged).
 */
export function extendCall(call: Node, arg: CallArg): Node[] {
  const old = call.arg as CallArg;
  const same = (a: Aval, b: Aval) => a.dtype === b.dtype && a.shape.join() === b.shape.join();
  if (arg.outs.length < old.outs.length || old.outs.some((o, i) => !same(o, arg.outs[i]))) {
    throw new Error(`internal: extendCall on ${call.op} changes its existing outputs`);
  }
  const prev = projRefs.get(call) ?? [];
  call.arg = arg;
  const outs = arg.outs.map((o, index) =>
    prev[index] ??
      new Node(
        "proj",
        [call],
        { index, shape: o.shape, dtype: o.dtype } satisfies ProjArg,
        o.shape,
        o.dtype,
        arg.device,
      )
  );
  projRefs.set(call, outs);
  return outs;
}

/** The outputs of a call node (`undefined` for none known). */
export function projsOf(call: Node): (Node | undefined)[] {
  return projRefs.get(call) ?? [];
}

register(PLACEHOLDER, PROJ);
