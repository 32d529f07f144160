/**
 * Iterating a dataset (a pytree of tensors sharing their leading axis) in minibatches, and
 * splitting it into train and test parts. Shuffle orders come from a PRNG key: the key's random
 * bits are read back once and sorted on the host (O(n log n), unlike `k.random.permutation`).
 * @module
 */
import * as k from "../core/mod.ts";
import {
  checkBool,
  checkInt,
  checkOptions,
  checkSize,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "./_errors.ts";

/**
 * A dataset: a pytree (plain objects and arrays, as `k.tree`) of tensors that share their
 * leading axis size N; `null`/`undefined` are empty subtrees.
 */
export type Dataset =
  | k.Tensor
  | null
  | undefined
  | readonly Dataset[]
  | { readonly [key: string]: Dataset };

/** Options of `data.batches`. */
export interface BatchOptions {
  /** Examples per batch (a positive integer). */
  batchSize: number;
  /** PRNG key for the shuffle order (a CPU key: it is read synchronously). */
  key?: k.Tensor;
  /** Visit the examples in a random order (default: true when a key is given, else false). */
  shuffle?: boolean;
  /**
   * Skip the last, incomplete batch (default true), so that every batch has the same shape and
   * a jitted step never recompiles. With false the last batch holds the `N % batchSize` rest.
   */
  dropRemainder?: boolean;
}

/** Options of `data.trainTestSplit`. */
export interface SplitOptions {
  /**
   * Size of the test part: a fraction strictly between 0 and 1 (rounded up to whole
   * examples), or an integer count from 1 to N - 1.
   */
  testSize: number;
  /** PRNG key for the shuffle (a CPU key: it is read synchronously). */
  key?: k.Tensor;
  /**
   * Shuffle before splitting (default: true when a key is given). Unshuffled, the test part is
   * the last examples.
   */
  shuffle?: boolean;
}

/** The leaves of a dataset and their shared leading size; throws on anything else. */
function examine(op: string, dataset: Dataset): { leaves: k.Tensor[]; n: number } {
  const leaves = k.tree.leaves(dataset as k.tree.PyTree<k.Tensor>);
  if (leaves.length === 0) throw shapeError(op, `the dataset holds no tensors`);
  let n = -1;
  leaves.forEach((leaf, i) => {
    if (!(leaf instanceof k.Tensor)) {
      throw typeError(op, `dataset leaf ${i} is ${describe(leaf)}, not a Tensor`);
    }
    if (leaf.ndim === 0) throw shapeError(op, `dataset leaf ${i} is 0-d; leaves need an axis 0`);
    if (n < 0) n = leaf.shape[0];
    else if (leaf.shape[0] !== n) {
      throw shapeError(
        op,
        `dataset leaves disagree on the leading size: leaf 0 has ${n}, leaf ${i} ` +
          `has ${leaf.shape[0]} (shape [${leaf.shape}])`,
      );
    }
  });
  return { leaves, n };
}

/** Whether to shuffle, checking that a shuffle has a key. */
function wantShuffle(op: string, key: k.Tensor | undefined, shuffle: boolean | undefined): boolean {
  const s = shuffle ?? key !== undefined;
  if (s && key === undefined) {
    throw shapeError(
      op,
      `shuffle needs a key (e.g. {key: k.random.key(0)}); pass shuffle: false to keep ` +
        `the stored order`,
    );
  }
  return s;
}

/** Stable argsort of uint32 words (given as their int32 bit patterns): ties keep index order. */
function argsortWords(words: Int32Array): Int32Array {
  const n = words.length;
  const u = new Uint32Array(words.buffer, words.byteOffset, n);
  const order = new Int32Array(n);
  if (n <= 2 ** 21) {
    // word * n + index is exact below 2^53: one native numeric sort, ties broken by index.
    const keyed = new Float64Array(n);
    for (let i = 0; i < n; i++) keyed[i] = u[i] * n + i;
    keyed.sort();
    for (let i = 0; i < n; i++) order[i] = keyed[i] % n;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => u[a] - u[b] || a - b);
}

/**
 * A random permutation of `0 … n-1` determined by `key`: `n` random words from
 * `k.random.bits(key, [n])`, read back once, then sorted on the host (stable). O(n log n), so
 * fine for millions of examples, unlike `k.random.permutation`. The key must live on the CPU
 * (it is read synchronously).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const order = k.data.shuffledIndices(k.random.key(0), 60000); // Int32Array
 * ```
 */
export function shuffledIndices(key: k.Tensor, n: number): Int32Array {
  return userOp("data.shuffledIndices", () => shuffled(key, n));
}

function shuffled(key: k.Tensor, n: number): Int32Array {
  if (!(key instanceof k.Tensor)) {
    throw typeError(
      "data.shuffledIndices",
      `key must be a tensor from k.random.key/split, got ${describe(key)}`,
    );
  }
  checkSize("data.shuffledIndices", n, "n");
  if (key.device !== "cpu") {
    throw shapeError(
      "data.shuffledIndices",
      `the shuffle order is computed on the host from a CPU key; got a key on ` +
        `${key.device} (create it with k.random.key(seed, {device: "cpu"}))`,
    );
  }
  if (n === 0) return new Int32Array(0);
  return argsortWords(k.random.bits(key, [n]).dataSync() as Int32Array);
}

/**
 * How many batches `data.batches` yields for `n` examples: `floor(n / batchSize)` when dropping the
 * remainder (the default), else `ceil(n / batchSize)`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.data.numBatches(60000, 128); // 468
 * k.data.numBatches(60000, 128, false); // 469
 * ```
 */
export function numBatches(n: number, batchSize: number, dropRemainder = true): number {
  checkSize("data.numBatches", n, "n");
  checkInt("data.numBatches", batchSize, "batchSize", 1);
  checkBool("data.numBatches", dropRemainder, "dropRemainder");
  return dropRemainder ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Rows `order[start:end]` of every leaf (a gather), or rows `start:end` when `order` is null. */
function selectRows<T extends Dataset>(
  dataset: T,
  order: Int32Array | null,
  start: number,
  end: number,
): T {
  if (order === null) {
    return k.tree.map((leaf: k.Tensor) => leaf.slice([[start, end]]), dataset) as T;
  }
  const rows = order.subarray(start, end);
  const byDevice = new Map<string, k.Tensor>();
  return k.tree.map((leaf: k.Tensor) => {
    let idx = byDevice.get(leaf.device);
    if (!idx) {
      idx = k.tensor(rows, { dtype: "int32", device: leaf.device });
      byDevice.set(leaf.device, idx);
    }
    return k.take(leaf, idx, { axis: 0 });
  }, dataset) as T;
}

/**
 * Iterates a dataset in minibatches of the same structure: `dataset` is a pytree of tensors
 * sharing their leading size N (e.g. `{x: [N, 784], y: [N]}`) and every batch has each leaf's
 * rows for `batchSize` examples. A synchronous generator, made for
 * `for (const {x, y} of k.data.batches(...))`; batches are lazy tensors (slices or gathers of
 * the leaves), computed when used.
 *
 * - Batch shapes are constant by default: `dropRemainder` defaults to true and the last
 *   `N % batchSize` examples of an epoch are skipped, so a jitted step sees one shape.
 * - With a `key`, the order is shuffled (`shuffle` defaults to true then): the same key gives
 *   the same order, another key another. Use a new key per epoch (`k.random.foldIn(key, epoch)`),
 *   or the skipped remainder is always the same examples. `shuffle: true` without a key throws.
 *   The order is computed once, when iteration starts (see `data.shuffledIndices`).
 * - Without a shuffle, batches are contiguous slices in stored order.
 *
 * Throws when `batchSize` is larger than N with `dropRemainder` on (the epoch would be empty).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const x = k.zeros([1000, 784]), y = k.zeros([1000], { dtype: "int32" });
 * const key = k.random.key(0);
 * for (let epoch = 0; epoch < 2; epoch++) {
 *   for (const b of k.data.batches({ x, y }, { batchSize: 128, key: k.random.foldIn(key, epoch) })) {
 *     console.log(b.x.shape, b.y.shape); // [128, 784] [128], 7 times an epoch
 *   }
 * }
 * ```
 */
export function batches<T extends Dataset>(
  dataset: T,
  opts: BatchOptions,
): Generator<T, void, undefined> {
  return userOp("data.batches", () => batchesOf(dataset, opts));
}

function batchesOf<T extends Dataset>(
  dataset: T,
  opts: BatchOptions,
): Generator<T, void, undefined> {
  const { n } = examine("data.batches", dataset);
  checkOptions("data.batches", opts ?? null, ["batchSize", "key", "shuffle", "dropRemainder"]);
  const batchSize = checkInt("data.batches", opts.batchSize, "batchSize", 1);
  const drop = opts.dropRemainder === undefined
    ? true
    : checkBool("data.batches", opts.dropRemainder, "dropRemainder");
  if (opts.shuffle !== undefined) checkBool("data.batches", opts.shuffle, "shuffle");
  if (drop && batchSize > n) {
    throw shapeError(
      "data.batches",
      `batchSize ${batchSize} is larger than the dataset (${n} examples), so no full ` +
        `batch exists; use a smaller batch or dropRemainder: false`,
    );
  }
  const shuffle = wantShuffle("data.batches", opts.key, opts.shuffle);
  const order = shuffle ? shuffledIndices(opts.key!, n) : null;
  const count = numBatches(n, batchSize, drop);
  return (function* () {
    for (let b = 0; b < count; b++) {
      const start = b * batchSize;
      yield selectRows(dataset, order, start, Math.min(n, start + batchSize));
    }
  })();
}

/**
 * Splits a dataset (a pytree of tensors sharing their leading size N) into `[train, test]` of
 * the same structure. `testSize` is a fraction in (0, 1) — the test part gets
 * `ceil(testSize * N)` examples — or an integer count. With a `key` the examples are shuffled
 * first (deterministically by key); without one the test part is the last examples in stored
 * order. Both parts must be non-empty.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const x = k.zeros([100, 3]), y = k.zeros([100], { dtype: "int32" });
 * const [train, test] = k.data.trainTestSplit({ x, y }, { testSize: 0.2, key: k.random.key(1) });
 * console.log(train.x.shape, test.y.shape); // [80, 3] [20]
 * ```
 */
export function trainTestSplit<T extends Dataset>(dataset: T, opts: SplitOptions): [T, T] {
  return userOp("data.trainTestSplit", () => split(dataset, opts));
}

function split<T extends Dataset>(dataset: T, opts: SplitOptions): [T, T] {
  const { n } = examine("data.trainTestSplit", dataset);
  checkOptions("data.trainTestSplit", opts ?? null, ["testSize", "key", "shuffle"]);
  if (opts.shuffle !== undefined) checkBool("data.trainTestSplit", opts.shuffle, "shuffle");
  const size = opts.testSize;
  if (typeof size !== "number") {
    throw typeError("data.trainTestSplit", `testSize must be a number, got ${describe(size)}`);
  }
  let nTest: number;
  if (typeof size === "number" && size > 0 && size < 1) nTest = Math.ceil(size * n);
  else if (Number.isInteger(size) && size >= 1) nTest = size;
  else {
    throw rangeError(
      "data.trainTestSplit",
      `testSize must be a fraction in (0, 1) or a positive integer count, ` +
        `got ${size}`,
    );
  }
  if (nTest >= n) {
    throw rangeError(
      "data.trainTestSplit",
      `testSize ${size} leaves no training examples out of ${n} ` +
        `(test part of ${nTest})`,
    );
  }
  const shuffle = wantShuffle("data.trainTestSplit", opts.key, opts.shuffle);
  const order = shuffle ? shuffledIndices(opts.key!, n) : null;
  return [selectRows(dataset, order, 0, n - nTest), selectRows(dataset, order, n - nTest, n)];
}
