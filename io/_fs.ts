/**
 * File-system helpers of the io module: paths, atomic writes that clean up after themselves,
 * and reads whose errors name the public function and the path (never a raw `Deno.errors.*`).
 * Not re-exported by `mod.ts`.
 * @module
 */
import * as k from "../core/mod.ts";

/** `path` as a string (file URLs converted); a TypeError naming `op` otherwise. */
export function pathString(op: string, path: unknown): string {
  if (typeof path === "string") {
    if (path === "") throw new TypeError(`${op}: path is an empty string`);
    return path;
  }
  if (!(path instanceof URL)) {
    throw new TypeError(
      `${op}: path must be a string or a file: URL, got ${k.errors.describe(path)}`,
    );
  }
  if (path.protocol !== "file:") {
    throw new TypeError(`${op}: only file: URLs are supported, got ${path}`);
  }
  const p = decodeURIComponent(path.pathname);
  return /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p;
}

/** Directory part and file name of a path (either separator). */
function splitPath(p: string): [string, string] {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i < 0 ? ["", p] : [p.slice(0, i + 1), p.slice(i + 1)];
}

/** A file-system failure as a KilnError `op: cannot <verb> "path": why`, the cause attached. */
export function fsError(op: string, verb: string, path: string, e: unknown): Error {
  let why: string;
  if (e instanceof Deno.errors.NotFound) {
    why = verb === "read" ? "no such file" : "its directory does not exist";
  } else if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    why = `permission denied (${(e as Error).message})`;
  } else if (e instanceof Deno.errors.IsADirectory) {
    why = "it is a directory";
  } else {
    why = e instanceof Error ? e.message : String(e);
  }
  return new k.KilnError(op, `${op}: cannot ${verb} "${path}": ${why}`, { cause: e });
}

/** `.name.<digits>.tmp` in the target's directory: what `writeAtomic` writes first. */
function tempPattern(name: string): RegExp {
  return new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.\\d+\\.tmp$`);
}

/**
 * Writes `bytes` to `target` atomically: first removes temporary files an earlier, killed save
 * to the same target left behind (so at most one ever lingers), then writes a fresh temporary
 * file in the same directory, flushes it to disk and renames it over `target`. A reader or a
 * crash sees the old file or the complete new one. Two processes must not save to one path at
 * the same moment (each would remove the other's temporary file).
 */
export async function writeAtomic(op: string, target: string, bytes: Uint8Array): Promise<void> {
  const [dir, name] = splitPath(target);
  if (!name) throw new TypeError(`${op}: "${target}" names a directory, not a file`);
  const stale = tempPattern(name);
  try {
    for await (const e of Deno.readDir(dir || ".")) {
      if (e.isFile && stale.test(e.name)) await Deno.remove(`${dir}${e.name}`).catch(() => {});
    }
  } catch (e) {
    // Without read permission the directory cannot be listed: skip the clean-up, still save.
    const denied = e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable;
    if (!denied) throw fsError(op, "write", target, e);
  }
  const suffix = crypto.getRandomValues(new Uint32Array(2)).join("");
  const tmp = `${dir}.${name}.${suffix}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw fsError(op, "write", target, e);
  }
}

/** The bytes of `path`, or (with `missingOk`) null when there is no such file. */
export async function readBytes(
  op: string,
  path: string,
  missingOk: true,
): Promise<Uint8Array | null>;
export async function readBytes(op: string, path: string, missingOk?: false): Promise<Uint8Array>;
export async function readBytes(
  op: string,
  path: string,
  missingOk = false,
): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (missingOk && e instanceof Deno.errors.NotFound) return null;
    throw fsError(op, "read", path, e);
  }
}
