/**
 * The fortunes corpus: the plain-English fortune cookie files of Debian's `fortunes` package
 * (about 15 000 fortunes, 2.5 M characters), a small real corpus for character-level models.
 * @module
 */
import { envVar, isPermissionError, joinPath } from "./_io.ts";
import { checkOptions, checkString, describe, shapeError, typeError, userOp } from "./_errors.ts";

/** Where `sudo apt-get install -y fortunes` puts the files (Debian/Ubuntu). */
const SYSTEM_DIR = "/usr/share/games/fortunes";
const SUBDIR = "fortunes";
const APT_HINT = "sudo apt-get install -y fortunes";

/** Options of `data.fortunes`. */
export interface FortunesOptions {
  /** A folder of fortune files; when given it is the only place looked at. */
  dir?: string;
  /**
   * Folders searched in order (default: `$KILN_DATA/fortunes`, then
   * `/usr/share/games/fortunes`). The first one holding fortune files is read.
   */
  searchPath?: string[];
}

/** The corpus: every fortune, and all of them as one text. */
export interface FortunesCorpus {
  /** Every fortune, in file-name order then file order, without its `%` line. */
  fortunes: string[];
  /** The fortunes joined by blank lines (`"\n\n"`): the text a language model trains on. */
  text: string;
  /** The files read (sorted names, without their folder). */
  files: string[];
  /** The folder they were read from. */
  dir: string;
}

/**
 * Cleans one file's text: CRLF to LF, terminal overstriking (`_\bx`, `x\bx`, old-style
 * underlining and bold) reduced to the struck character, other control characters except tab
 * and newline dropped.
 */
export function cleanFortuneText(raw: string): string {
  let s = raw.replace(/\r\n?/g, "\n");
  // Each backspace erases the character before it: "_\bA" and "A\bA" both print "A".
  // deno-lint-ignore no-control-regex
  s = s.replace(/[^\n\x08]\x08/g, "").replace(/\x08/g, "");
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
}

/** Splits a strfile-format text into fortunes: separated by lines holding only `%`. */
export function splitFortunes(text: string): string[] {
  return text.split(/^%[ \t]*$/m).map((f) => f.replace(/^\n+|\s+$/g, "")).filter((f) =>
    f.length > 0
  );
}

/** The fortune files of a folder: regular files, not `.dat` indexes, not `.u8` symlinks. */
async function fortuneFiles(folder: string): Promise<string[] | { why: string }> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(folder)) {
      // Symlinks are the package's `.u8` aliases of the same files: reading them would double
      // the corpus. Hidden files and strfile's `.dat` indexes are not text.
      if (!e.isFile || e.name.startsWith(".")) continue;
      if (e.name.endsWith(".dat") || e.name.endsWith(".u8")) continue;
      names.push(e.name);
    }
  } catch (e) {
    if (isPermissionError(e)) return { why: "read permission denied" };
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return { why: "missing" };
    }
    throw e;
  }
  if (names.length === 0) return { why: "no fortune files" };
  return names.sort();
}

async function readCorpus(folder: string, names: string[]): Promise<FortunesCorpus> {
  const dec = new TextDecoder(); // invalid UTF-8 becomes U+FFFD, never an error
  const fortunes: string[] = [];
  for (const name of names) {
    const path = joinPath(folder, name);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      throw shapeError("data.fortunes", `cannot read ${path}: ${(e as Error).message}`);
    }
    fortunes.push(...splitFortunes(cleanFortuneText(dec.decode(bytes))));
  }
  if (fortunes.length === 0) {
    throw shapeError("data.fortunes", `the files in ${folder} hold no fortunes`);
  }
  return { fortunes, text: fortunes.join("\n\n"), files: names, dir: folder };
}

/**
 * Loads the fortunes corpus: every fortune file of Debian's `fortunes` package (`art`,
 * `computers`, `cookie`, … `zippy`: about 15 000 fortunes, 2.5 M characters of English), split
 * at the `%` lines. The `.dat` index files and the `.u8` symlinks are skipped; overstruck
 * characters and stray control characters are cleaned (see `cleanFortuneText`).
 *
 * Where it looks, in order: `opts.dir` when given (and nowhere else); else `opts.searchPath`,
 * by default the `fortunes/` folder of env `KILN_DATA`, then `/usr/share/games/fortunes`
 * (`sudo apt-get install -y fortunes`). With no copy it throws an error naming the apt line.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const { fortunes, text } = await k.data.fortunes();
 * console.log(fortunes.length, text.length, fortunes[0]);
 * ```
 */
export function fortunes(opts: FortunesOptions = {}): Promise<FortunesCorpus> {
  const op = "data.fortunes";
  try {
    userOp(op, () => {
      checkOptions(op, opts, ["dir", "searchPath"]);
      if (opts.dir !== undefined) checkString(op, opts.dir, "dir");
      const sp = opts.searchPath;
      if (sp !== undefined && (!Array.isArray(sp) || sp.some((d) => typeof d !== "string"))) {
        throw typeError(op, `searchPath must be an array of folder names, got ${describe(sp)}`);
      }
    });
  } catch (e) {
    return Promise.reject(e);
  }
  return load(opts);
}

async function load(opts: FortunesOptions): Promise<FortunesCorpus> {
  if (opts.dir !== undefined) {
    const got = await fortuneFiles(opts.dir);
    if (!Array.isArray(got)) {
      throw shapeError("data.fortunes", `${opts.dir}: ${got.why} (expected fortune files)`);
    }
    return await readCorpus(opts.dir, got);
  }
  const looked: string[] = [];
  const dataEnv = envVar("KILN_DATA");
  if (opts.searchPath === undefined && !dataEnv) looked.push("KILN_DATA (unset)");
  const search = opts.searchPath ?? [...(dataEnv ? [joinPath(dataEnv, SUBDIR)] : []), SYSTEM_DIR];
  for (const folder of search) {
    const got = await fortuneFiles(folder);
    if (Array.isArray(got)) return await readCorpus(folder, got);
    looked.push(`${folder} (${got.why})`);
  }
  throw shapeError(
    "data.fortunes",
    `no copy of the fortunes corpus was found.\n  looked in: ${looked.join(", ")}\n` +
      `To get the data, do one of:\n` +
      `  - install the Debian package: ${APT_HINT}\n` +
      `  - set KILN_DATA to a folder whose fortunes/ subfolder holds fortune files ` +
      `(plain text, fortunes separated by lines holding only %)`,
  );
}
