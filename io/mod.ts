/**
 * Files (`k.io`): [safetensors](https://github.com/huggingface/safetensors) checkpoints of
 * parameters and whole training states, and pictures. `save` writes a pytree of tensors
 * (nested plain objects and arrays, e.g. parameters and optimizer state) atomically, `load`
 * reads it back, optionally checked against a template; `checkpoint(path)` /
 * `saveCheckpoint` / `loadCheckpoint` keep a resumable training state (tensors plus JSON
 * values); `encodePng` / `savePng` write images and `imageGridSvg` tiles them.
 *
 * - Names are the dotted paths of the tensors (`{layers: [{w, b}]}` gives `layers.0.w` and
 *   `layers.0.b`); a tensor at the root is stored as `tensor`.
 * - Dtypes: `float32` as `F32`, `float64` as `F64`, `int32` as `I32`, `bool` as `BOOL`. Files
 *   from other tools may also hold `F16`/`BF16` (loaded as float32) and `I8`/`U8`/`I16`/`U16`/
 *   `U32`/`I64` (loaded as int32; a value outside the int32 range is an error).
 * - The structure (objects vs arrays, empty containers, `null`s) is recorded as JSON in
 *   `__metadata__["kiln.tree"]`, so a tree comes back exactly (an `undefined` comes back as
 *   `null`). A file without it (written elsewhere) is rebuilt from the names: dots nest, and an
 *   object whose keys are exactly `0 … n-1` becomes an array.
 * - Loading validates the whole file as the reference implementation does (header length
 *   within the file, JSON header, known dtypes, offsets matching the shapes, tensors tiling the
 *   data section with no overlap or gap) and says what is wrong.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = k.nn.mlp.init(k.random.key(0), [4, 8, 2]);
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await k.io.save(path, params);
 * const back = await k.io.load(path, { like: params }); // same structure, dtypes and shapes
 * console.log(await back.layers[1].b.toArray()); // equal to params.layers[1].b
 * await Deno.remove(path);
 * ```
 * @module
 */
import {
  decodeFile,
  decodeMetadata,
  type LoadOptions,
  type PyTree,
  type SaveOptions,
  serialize,
} from "./safetensors.ts";
import { pathString, readBytes, writeAtomic } from "./_fs.ts";

export {
  type Checkpoint,
  checkpoint,
  type CheckpointLeaf,
  type CheckpointLoadOptions,
  type CheckpointState,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";

export {
  crc32,
  encodePng,
  type ImageGridOptions,
  imageGridSvg,
  type ImageGridSvgOptions,
  savePng,
} from "./png.ts";

export {
  deserialize,
  type LoadOptions,
  type PyTree,
  type SaveOptions,
  serialize,
} from "./safetensors.ts";

/**
 * Writes `tree` to `path` as a safetensors file, atomically: the bytes go to a temporary file
 * in the same directory (flushed to disk), which is then renamed over `path`, so a reader or a
 * crash sees either the old file or the complete new one. Nothing is written when the tree is
 * invalid (a leaf that is not a tensor fails before the file system is touched), and the
 * temporary file is removed if writing fails; a temporary file left by a process killed in the
 * middle of a save (`.NAME.<digits>.tmp`) is removed by the next save to the same path, so at
 * most one ever lingers. Errors name `io.save` and the path. Needs `--allow-write` and
 * `--allow-read` (to list the directory).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await k.io.save(path, { w: k.ones([2, 3]), step: k.tensor(10, { dtype: "int32" }) }, {
 *   metadata: { epoch: "3" },
 * });
 * await Deno.remove(path);
 * ```
 */
export async function save(
  path: string | URL,
  tree: PyTree,
  opts: SaveOptions = {},
): Promise<void> {
  const target = pathString("io.save", path);
  const bytes = await serialize(tree, opts);
  await writeAtomic("io.save", target, bytes);
}

/**
 * Reads a safetensors file into a tree of tensors (on `opts.device`). The structure comes from
 * the file's `kiln.tree` metadata or, for files written elsewhere, from the dotted names. With
 * `{like: template}` every tensor must match the template's dtype and shape and the key sets
 * must be equal; otherwise the error lists each key with what was expected and found, and the
 * result takes the template's structure and type. A malformed or truncated file raises an error
 * that says what is wrong; a missing or unreadable file an error naming `io.load` and the path.
 * Needs `--allow-read`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const params = k.nn.linear.init(k.random.key(0), 3, 2);
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await k.io.save(path, params);
 * const restored = await k.io.load(path, { like: params }); // typed like params
 * await Deno.remove(path);
 * ```
 */
export async function load<T = PyTree>(path: string | URL, opts: LoadOptions<T> = {}): Promise<T> {
  const p = pathString("io.load", path);
  return decodeFile(`io.load: ${p}`, await readBytes("io.load", p), opts);
}

/**
 * The string-to-string `__metadata__` of a safetensors file (including Kiln's `kiln.tree`
 * entry when Kiln wrote it). The whole header is validated.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await k.io.save(path, { w: k.ones([2]) }, { metadata: { epoch: "3" } });
 * (await k.io.loadMetadata(path)).epoch; // "3"
 * await Deno.remove(path);
 * ```
 */
export async function loadMetadata(path: string | URL): Promise<Record<string, string>> {
  const p = pathString("io.loadMetadata", path);
  return decodeMetadata(`io.loadMetadata: ${p}`, await readBytes("io.loadMetadata", p));
}
