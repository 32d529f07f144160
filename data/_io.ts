/**
 * Internal file helpers of the data module: reading files with errors that name them, gzip
 * detection and decompression (`DecompressionStream`), permission-tolerant environment and
 * file-system probes. Not re-exported from `data/mod.ts`.
 * @module
 */
import * as k from "../core/mod.ts";

/** Whether `e` is Deno's "no permission" error (`NotCapable` in Deno 2, `PermissionDenied`). */
export function isPermissionError(e: unknown): boolean {
  const errs = Deno.errors as unknown as Record<string, (new () => Error) | undefined>;
  return [errs.NotCapable, errs.PermissionDenied].some((c) => c !== undefined && e instanceof c);
}

/** An environment variable, or `undefined` when unset, empty or not readable (no permission). */
export function envVar(name: string): string | undefined {
  try {
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch (e) {
    if (isPermissionError(e)) return undefined;
    throw e;
  }
}

/** What `probeFile` found: a regular file, nothing, or a file that may not be read. */
export type Probe = "file" | "missing" | "denied";

/** Whether `path` is a readable regular file, absent, or hidden behind a permission denial. */
export async function probeFile(path: string): Promise<Probe> {
  try {
    return (await Deno.stat(path)).isFile ? "file" : "missing";
  } catch (e) {
    if (isPermissionError(e)) return "denied";
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return "missing";
    }
    throw e;
  }
}

/** Joins path segments with `/`, dropping duplicate separators. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/{2,}/g, "/");
}

/** The message of an unknown thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads a whole file; errors name the operation and the path (and say when access is denied). */
export async function readFileBytes(op: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (isPermissionError(e)) {
      throw new Error(`${op}: no permission to read ${path} (run with --allow-read)`, { cause: e });
    }
    throw new Error(`${op}: cannot read ${path}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Whether `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip data with the built-in `DecompressionStream`; `name` goes in errors. */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
  try {
    const out = source.pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(out).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated gzip data (${errorMessage(e)})`, { cause: e });
  }
}

/** Reads a file and gunzips it when it starts with the gzip magic. */
export async function readMaybeGzip(op: string, path: string): Promise<Uint8Array> {
  const raw = await readFileBytes(op, path);
  return isGzip(raw) ? await gunzip(raw, `${op}: ${path}`) : raw;
}

/** Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}

/** A fresh temporary file name next to `path` (same folder, so a rename is atomic). */
export function tempSibling(path: string): string {
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return `${path}.tmp-${tag}`;
}

/** Removes a file, ignoring every error (it may not exist). */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone or not ours to remove
  }
}

/** Throws unless `bytes` is a Uint8Array (file contents). */
export function checkBytes(op: string, bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  throw k.errors.typeError(op, `bytes must be a Uint8Array, got ${k.errors.describe(bytes)}`);
}
