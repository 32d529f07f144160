/**
 * Training checkpoints: the whole state of a run (parameters, optimizer state, PRNG key,
 * step, data-order position, batch-norm statistics, loss history, ...) in one safetensors file,
 * written atomically, so that a run killed at any moment and resumed from its last checkpoint
 * computes bit-identical parameters to a run that was never interrupted.
 *
 * A state is a tree (plain objects and arrays) whose leaves are tensors or JSON values
 * (numbers, strings, booleans, `null`). Tensors are stored bit-exactly under their dotted paths
 * (readable by any safetensors tool); the other leaves, and the structure, go into the
 * header's `__metadata__["kiln.checkpoint"]` (numbers exactly: NaN, ±Infinity and -0 too).
 * @module
 */
import * as k from "../core/mod.ts";
import { decodeFile, decodeMetadata, type LoadOptions, serialize } from "./safetensors.ts";
import { fsError, pathString, readBytes, writeAtomic } from "./_fs.ts";

/** A checkpoint leaf: a tensor or a JSON value (`undefined` comes back as `null`). */
export type CheckpointLeaf = k.Tensor | number | string | boolean | null | undefined;

/** What a checkpoint holds: plain objects and arrays of tensors and JSON values. */
export type CheckpointState =
  | CheckpointLeaf
  | readonly CheckpointState[]
  | { readonly [key: string]: CheckpointState };

/** Options of `loadCheckpoint` / `Checkpoint.load`. */
export type CheckpointLoadOptions<T> = LoadOptions<T>;

/** A checkpoint file: `save` the state now and then, `load` it when a run starts. */
export interface Checkpoint<T extends CheckpointState> {
  /** The file path. */
  readonly path: string;
  /** Writes `state` atomically (see `saveCheckpoint`). */
  save(state: T): Promise<void>;
  /** The saved state, or `null` when nothing was saved yet (see `loadCheckpoint`). */
  load(opts?: CheckpointLoadOptions<T>): Promise<T | null>;
  /** Deletes the file (nothing happens when there is none). */
  remove(): Promise<void>;
}

const KEY = "kiln.checkpoint";

/** The encoded skeleton: every node tagged, so no user value can be mistaken for a marker. */
type Enc =
  | null
  | ["t"]
  | ["n", number | string]
  | ["s", string]
  | ["b", boolean]
  | ["a", Enc[]]
  | ["o", Record<string, Enc>];

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** Splits a state into its tensors (a tree with `null` elsewhere) and the encoded skeleton. */
function split(op: string, state: unknown): { tensors: unknown; enc: Enc } {
  const walk = (x: unknown, path: string): [unknown, Enc] => {
    if (x === null || x === undefined) return [null, null];
    if (x instanceof k.Tensor) return [x, ["t"]];
    switch (typeof x) {
      case "number":
        return [null, [
          "n",
          Number.isFinite(x) && !Object.is(x, -0) ? x : String(x === 0 ? "-0" : x),
        ]];
      case "string":
        return [null, ["s", x]];
      case "boolean":
        return [null, ["b", x]];
    }
    if (Array.isArray(x)) {
      const parts = x.map((c, i) => walk(c, `${path}.${i}`));
      return [parts.map((p) => p[0]), ["a", parts.map((p) => p[1])]];
    }
    if (isPlainObject(x)) {
      const t: Record<string, unknown> = {}, e: Record<string, Enc> = {};
      for (const key of Object.keys(x)) [t[key], e[key]] = walk(x[key], `${path}.${key}`);
      return [t, ["o", e]];
    }
    throw new TypeError(
      `${op}: the value at "${path.slice(1) || "(root)"}" is ${k.errors.describe(x)}; a ` +
        "checkpoint holds tensors, numbers, strings, booleans, null, plain objects and arrays",
    );
  };
  const [tensors, enc] = walk(state, "");
  return { tensors, enc };
}

/** Rebuilds a state from its skeleton and the loaded tensor tree. */
function join(where: string, enc: Enc, tensors: unknown): unknown {
  const bad = () => new Error(`${where}: "${KEY}" does not match the stored tensors`);
  if (enc === null) return null;
  switch (enc[0]) {
    case "t":
      if (!(tensors instanceof k.Tensor)) throw bad();
      return tensors;
    case "n":
      return typeof enc[1] === "number" ? enc[1] : enc[1] === "-0" ? -0 : Number(enc[1]);
    case "s":
    case "b":
      return enc[1];
    case "a": {
      const ts = Array.isArray(tensors) ? tensors : [];
      return enc[1].map((e, i) => join(where, e, ts[i]));
    }
    case "o": {
      const ts = (isPlainObject(tensors) ? tensors : {}) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(enc[1]).map(([key, e]) => [key, join(where, e, ts[key])]),
      );
    }
  }
  throw bad();
}

/** The tensor part of a `like` template (its JSON leaves become `null`). */
function tensorPart(like: unknown): unknown {
  return split("io.loadCheckpoint", like).tensors;
}

/**
 * Saves a whole training state atomically (as `io.save`: a temporary file flushed and renamed,
 * stale temporary files of killed saves removed first). Tensors are stored bit-exactly; numbers,
 * strings, booleans and `null` exactly as JSON values. Needs `--allow-read --allow-write`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.mlp.init(k.random.key(0), [4, 8, 2]);
 * const opt = k.optim.adam(1e-3);
 * await k.io.saveCheckpoint("run.ckpt", {
 *   params, opt: opt.init(params), key: k.random.key(1), step: 0, epoch: 0, batch: 0,
 * });
 * ```
 */
export async function saveCheckpoint(path: string | URL, state: CheckpointState): Promise<void> {
  const op = "io.saveCheckpoint";
  const target = pathString(op, path);
  const { tensors, enc } = split(op, state);
  const bytes = await serialize(tensors as k.tree.PyTree, {
    metadata: { [KEY]: JSON.stringify(enc) },
  });
  await writeAtomic(op, target, bytes);
}

/**
 * Loads a state written by `saveCheckpoint`, or returns `null` when there is no file at `path`
 * yet (a fresh run). With `{like: initialState}` every tensor must have the template's dtype and
 * shape and the tensor keys must match (else an error names each mismatch); `device` places the
 * tensors (default: the default device). Needs `--allow-read`.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const init = { params: k.nn.mlp.init(k.random.key(0), [4, 8, 2]), step: 0 };
 * const state = (await k.io.loadCheckpoint("run.ckpt", { like: init })) ?? init;
 * ```
 */
export async function loadCheckpoint<T extends CheckpointState = CheckpointState>(
  path: string | URL,
  opts: CheckpointLoadOptions<T> = {},
): Promise<T | null> {
  const op = "io.loadCheckpoint";
  const p = pathString(op, path);
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${op}: options must be an object, got ${k.errors.describe(opts)}`);
  }
  const bytes = await readBytes(op, p, true);
  if (bytes === null) return null;
  const where = `${op}: ${p}`;
  const stored = decodeMetadata(where, bytes)[KEY];
  if (stored === undefined) {
    throw new Error(`${where}: not a checkpoint (no "${KEY}" metadata; read it with io.load)`);
  }
  let enc: Enc;
  try {
    enc = JSON.parse(stored);
  } catch {
    throw new Error(`${where}: "${KEY}" in __metadata__ is not valid JSON`);
  }
  const like = opts.like === undefined ? undefined : tensorPart(opts.like);
  const tensors = decodeFile(where, bytes, { device: opts.device, like });
  return join(where, enc, tensors) as T;
}

/**
 * A checkpoint file for a training state of type `T`: `load` at start (`null` on a fresh run),
 * `save` every few steps. A run killed at any moment and restarted from `load` reproduces the
 * uninterrupted run bit for bit, provided the state holds everything the next step depends on
 * (parameters, optimizer state, the PRNG key, the data-order position).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const ckpt = k.io.checkpoint<{ params: k.nn.MlpParams; step: number }>("run.ckpt");
 * let state = (await ckpt.load()) ?? { params: k.nn.mlp.init(k.random.key(0), [4, 2]), step: 0 };
 * state = { ...state, step: state.step + 1 };
 * await ckpt.save(state);
 * await ckpt.remove();
 * ```
 */
export function checkpoint<T extends CheckpointState>(path: string | URL): Checkpoint<T> {
  const p = pathString("io.checkpoint", path);
  return {
    path: p,
    save: (state) => saveCheckpoint(p, state),
    load: (opts) => loadCheckpoint<T>(p, opts),
    remove: async () => {
      try {
        await Deno.remove(p);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw fsError("io.checkpoint", "remove", p, e);
      }
    },
  };
}
