/** Expression-graph nodes: what a Tensor handle points at. @module */
import type { DType } from "../dtype.ts";

/** A device buffer, as a backend hands it out. */
export interface BufferHandle {
  readonly device: string;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

let nextId = 0;
let keepGraph = 0;

/** Where a node came from: the user-level op that built it and the user's source line. */
export interface Origin {
  /** The public function the user called (`log`, `logSoftmax`, `gradient of sqrt`, ...). */
  readonly op: string;
  /** The user's source location (`file.ts:12:5`), or `""` when unknown. */
  readonly site: string;
}

/** Set only while NaN debugging is on (see core/debug.ts), so nodes cost nothing otherwise. */
let captureOrigin: (() => Origin | undefined) | null = null;

/** Installs (or, with null, removes) the function that records each new node's origin. */
export function setOriginCapture(f: (() => Origin | undefined) | null): void {
  captureOrigin = f;
}

/**
 * While a transform traces a function, realized nodes keep their op and sources (as well as
 * their buffer) so the trace can still be differentiated through them.
 */
export function withGraphKept<T>(f: () => T): T {
  keepGraph++;
  try {
    return f();
  } finally {
    keepGraph--;
  }
}

/** Whether a transform is tracing (realized nodes keep their graph). */
export function isKeepingGraph(): boolean {
  return keepGraph > 0;
}

/**
 * A node `{op, src, arg, shape, dtype, device}` of the lazy expression graph. Realizing a node
 * turns it into a `buffer` node in place (dropping its sources), so graphs never grow without
 * bound across training steps and realized values are never recomputed.
 */
export class Node {
  /** Unique, increasing: a topological tiebreak and a cache key. */
  readonly id: number = nextId++;
  /** The device buffer once realized. */
  buffer: BufferHandle | null = null;
  /**
   * The user-level op and source line that built this node (NaN debugging only; dropped with
   * the sources once the node is realized, so the stacks it holds never pile up).
   */
  origin: Origin | undefined = captureOrigin?.();

  constructor(
    public op: string,
    public src: Node[],
    public arg: unknown,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly device: string,
  ) {}

  /** Whether this node holds data. */
  get realized(): boolean {
    return this.buffer !== null;
  }

  /** Stores the computed result; outside a trace the computation is dropped. */
  setBuffer(buf: BufferHandle): void {
    this.buffer = buf;
    if (keepGraph > 0) return;
    this.op = "buffer";
    this.src = [];
    this.arg = undefined;
    this.origin = undefined;
  }
}
