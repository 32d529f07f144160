/**
 * Fashion-MNIST (Zalando, 70 000 28×28 grey images in 10 classes): finding a local copy, or
 * downloading the four official files into a cache with their published checksums verified.
 * @module
 */
import { createHash } from "node:crypto";
import * as k from "../core/mod.ts";
import {
  envVar,
  errorMessage,
  gunzip,
  isGzip,
  isPermissionError,
  joinPath,
  type Probe,
  probeFile,
  readFileBytes,
  writeFileAtomic,
} from "./_io.ts";
import { parseIdxHeader } from "./idx.ts";
import {
  checkBool,
  checkOneOf,
  checkOptions,
  checkString,
  describe,
  shapeError,
  typeError,
} from "./_errors.ts";

/**
 * The dataset's official download location (from the Fashion-MNIST README).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * console.log(k.data.FASHION_MNIST_URL);
 * ```
 */
export const FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/**
 * The published MD5 checksums of the four gzipped files, by file name (from the Fashion-MNIST
 * README; they hold for the files served at `FASHION_MNIST_URL`). Downloads are checked against
 * them. Copies found on disk are not hashed: the Debian package, for one, recompresses the
 * files (same IDX content, other `.gz` bytes), so they are checked by their IDX headers instead.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * console.log(k.data.FASHION_MNIST_MD5["t10k-labels-idx1-ubyte.gz"]);
 * ```
 */
export const FASHION_MNIST_MD5: Readonly<Record<string, string>> = Object.freeze({
  "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
  "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
  "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
  "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
});

/**
 * Class names by label (0 … 9).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * console.log(k.data.FASHION_MNIST_CLASSES[9]); // "Ankle boot"
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/** The folder the Debian package `dataset-fashion-mnist` installs the four files into. */
const SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";
const SUBDIR = "fashion-mnist";
const APT_HINT = "sudo apt-get install -y dataset-fashion-mnist";

/** Options of `data.fashionMnist`. */
export interface FashionMnistOptions {
  /** Which split: `"train"` (60 000 examples) or `"test"` (10 000). */
  split: "train" | "test";
  /**
   * A folder holding the files (directly or in a `fashion-mnist/` subfolder). When given it is
   * the only place looked at: no other folder, no cache, no download.
   */
  dir?: string;
  /**
   * Base URL to download from (default: env `KILN_FASHION_MNIST_URL`, else
   * `FASHION_MNIST_URL`). The file names are appended to it.
   */
  baseUrl?: string;
  /**
   * Cache root (default: env `KILN_CACHE`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`);
   * the files live in its `fashion-mnist/` subfolder.
   */
  cacheDir?: string;
  /** Download into the cache when no copy is found (default true). */
  download?: boolean;
  /** Progress bar on stderr while downloading (default: when stderr is a terminal). */
  progress?: boolean;
  /**
   * MD5 checksums by file name for downloads, overriding `FASHION_MNIST_MD5` (for a mirror or a
   * test server that serves other files).
   */
  checksums?: Record<string, string>;
  /**
   * Folders searched, in order, before the cache (each directly or in its `fashion-mnist/`
   * subfolder). Default: env `KILN_DATA` when set, then `/usr/share/datasets/fashion-mnist`.
   * `[]` goes straight to the cache and the download.
   */
  searchPath?: readonly string[];
}

/** A split of an image-classification dataset. */
export interface LabeledImages {
  /** Images `[N, 28, 28]` float32, pixel values scaled to `[0, 1]`. */
  images: k.Tensor;
  /** Labels `[N]` int32 in `0 … 9` (see `FASHION_MNIST_CLASSES`). */
  labels: k.Tensor;
}

/** The two file names (without `.gz`) of a split. */
function splitFiles(split: "train" | "test"): { images: string; labels: string } {
  const p = split === "train" ? "train" : "t10k";
  return { images: `${p}-images-idx3-ubyte`, labels: `${p}-labels-idx1-ubyte` };
}

/** The cache root, or undefined when no environment variable names one. */
function cacheRoot(opts: FashionMnistOptions): string | undefined {
  if (opts.cacheDir !== undefined) return opts.cacheDir;
  const explicit = envVar("KILN_CACHE");
  if (explicit) return explicit;
  const xdg = envVar("XDG_CACHE_HOME");
  if (xdg) return joinPath(xdg, "kiln");
  const home = envVar("HOME") ?? envVar("USERPROFILE");
  return home ? joinPath(home, ".cache", "kiln") : undefined;
}

/** Paths of a split's two files in `folder` (directly or in `fashion-mnist/`), and what failed. */
async function findSplit(
  folder: string,
  split: "train" | "test",
): Promise<{ images: string; labels: string } | { why: string }> {
  const want = splitFiles(split);
  let denied = false;
  for (const sub of [folder, joinPath(folder, SUBDIR)]) {
    const found: Record<string, string> = {};
    for (const [role, base] of Object.entries(want)) {
      for (const name of [`${base}.gz`, base]) {
        const p: Probe = await probeFile(joinPath(sub, name));
        if (p === "denied") denied = true;
        if (p === "file") {
          found[role] = joinPath(sub, name);
          break;
        }
      }
    }
    if (found.images && found.labels) return { images: found.images, labels: found.labels };
  }
  return { why: denied ? "read permission denied" : "files missing" };
}

/** A one-line progress bar: name, bar, percent and megabytes (just megabytes without a total). */
export function progressLine(name: string, done: number, total: number): string {
  const [scale, unit] = Math.max(done, total) >= 1e6 ? [1e6, "MB"] : [1e3, "kB"];
  const amount = (b: number) => (b / scale).toFixed(1);
  if (!(total > 0)) return `${name} ${amount(done)} ${unit}`;
  const frac = Math.min(1, done / total);
  const width = 24, fill = Math.round(frac * width);
  const bar = "#".repeat(fill) + "-".repeat(width - fill);
  const pct = `${Math.floor(frac * 100)}`.padStart(3);
  return `${name} [${bar}] ${pct}% ${amount(done)}/${amount(total)} ${unit}`;
}

/** Whether progress bars go to stderr. */
function wantProgress(opts: FashionMnistOptions): boolean {
  if (opts.progress !== undefined) return opts.progress;
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** The error raised when a download fails for a reason other than a bad checksum. */
class DownloadError extends Error {}

/** Fetches `url` into memory, hashing as it goes; returns the bytes and their MD5. */
async function fetchFile(
  url: string,
  name: string,
  progress: boolean,
): Promise<{ bytes: Uint8Array; md5: string }> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    if (isPermissionError(e)) {
      const host = new URL(url).host;
      throw new DownloadError(`no network permission (run with --allow-net=${host})`);
    }
    throw new DownloadError(`fetching ${url} failed: ${errorMessage(e)}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`fetching ${url} failed: HTTP ${res.status} ${res.statusText}`);
  }
  const total = Number(res.headers.get("content-length") ?? 0);
  const hash = createHash("md5");
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  let done = 0, lastDraw = 0;
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!progress || (!force && now - lastDraw < 100)) return;
    lastDraw = now;
    Deno.stderr.writeSync(enc.encode(`\r${progressLine(name, done, total)}\x1b[K`));
  };
  try {
    for await (const chunk of res.body) {
      hash.update(chunk);
      chunks.push(chunk);
      done += chunk.length;
      draw(false);
    }
  } catch (e) {
    throw new DownloadError(`download of ${url} broke off: ${errorMessage(e)}`);
  } finally {
    if (progress) {
      draw(true);
      Deno.stderr.writeSync(enc.encode("\n"));
    }
  }
  const bytes = new Uint8Array(done);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.length;
  }
  return { bytes, md5: hash.digest("hex") };
}

/**
 * Downloads the four files missing from `folder`, verifying each MD5 before it is renamed into
 * place (a temporary file, then a rename: a partial or bad download never looks like a copy).
 */
async function downloadAll(folder: string, opts: FashionMnistOptions): Promise<void> {
  const base = opts.baseUrl ?? envVar("KILN_FASHION_MNIST_URL") ?? FASHION_MNIST_URL;
  const sums: Record<string, string> = { ...FASHION_MNIST_MD5, ...opts.checksums };
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (e) {
    throw new DownloadError(`cannot create the cache folder ${folder}: ${errorMessage(e)}`);
  }
  const progress = wantProgress(opts);
  for (const name of Object.keys(FASHION_MNIST_MD5)) {
    const dest = joinPath(folder, name);
    if (await probeFile(dest) === "file") continue;
    const url = new URL(name, base.endsWith("/") ? base : `${base}/`).href;
    const { bytes, md5 } = await fetchFile(url, name, progress);
    const expected = sums[name]?.toLowerCase();
    if (md5 !== expected) {
      throw shapeError(
        "data.fashionMnist",
        `checksum mismatch for ${name} from ${url}: md5 ${md5}, expected ` +
          `${expected}; the download was discarded (nothing was written to ${folder})`,
      );
    }
    try {
      await writeFileAtomic(dest, bytes);
    } catch (e) {
      throw new DownloadError(`cannot write ${dest}: ${errorMessage(e)}`);
    }
  }
}

/** Reads one IDX file of the dataset (gzipped or not) and checks its element type and shape. */
async function readChecked(
  path: string,
  rank: number,
): Promise<{ bytes: Uint8Array; offset: number; shape: number[] }> {
  const raw = await readFileBytes("data.fashionMnist", path);
  const bytes = isGzip(raw) ? await gunzip(raw, `data.fashionMnist: ${path}`) : raw;
  const h = parseIdxHeader(bytes, `data.fashionMnist: ${path}`);
  const ok = h.code === 0x08 && h.shape.length === rank &&
    (rank === 1 || (h.shape[1] === 28 && h.shape[2] === 28));
  if (!ok) {
    const want = rank === 1 ? "[N] ubyte labels" : "[N, 28, 28] ubyte images";
    throw shapeError(
      "data.fashionMnist",
      `${path}: expected ${want}, got type 0x${h.code.toString(16)} ` +
        `shape [${h.shape}]`,
    );
  }
  return { bytes, offset: h.offset, shape: h.shape };
}

/** Loads a split from two found files: images scaled on the host, then one upload each. */
async function loadFiles(paths: { images: string; labels: string }): Promise<LabeledImages> {
  const [im, lb] = await Promise.all([readChecked(paths.images, 3), readChecked(paths.labels, 1)]);
  const n = im.shape[0];
  if (lb.shape[0] !== n) {
    throw shapeError(
      "data.fashionMnist",
      `${paths.images} has ${n} images but ${paths.labels} has ${lb.shape[0]} labels`,
    );
  }
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const src = im.bytes, off = im.offset, size = n * 784;
  const pixels = new Float32Array(size);
  for (let i = 0; i < size; i++) pixels[i] = lut[src[off + i]];
  const labels = new Int32Array(lb.bytes.subarray(lb.offset, lb.offset + n));
  const bad = labels.findIndex((v) => v > 9);
  if (bad >= 0) {
    throw shapeError(
      "data.fashionMnist",
      `${paths.labels}: label ${labels[bad]} at ${bad} is not in 0…9`,
    );
  }
  return {
    images: k.tensor(pixels, { shape: [n, 28, 28] }),
    labels: k.tensor(labels, { shape: [n] }),
  };
}

/**
 * Loads a split of Fashion-MNIST: `images` `[N, 28, 28]` float32 in `[0, 1]` and `labels` `[N]`
 * int32 (N = 60 000 for `"train"`, 10 000 for `"test"`).
 *
 * Where it looks, in order (each folder may hold the four files directly or in a
 * `fashion-mnist/` subfolder, gzipped as published or unpacked):
 * 1. `opts.dir` when given — and then nowhere else;
 * 2. the folder named by env `KILN_DATA`;
 * 3. `/usr/share/datasets/fashion-mnist`, where `sudo apt-get install -y dataset-fashion-mnist`
 *    puts them (Debian/Ubuntu);
 * 4. the cache: `<cacheDir>/fashion-mnist`, the root being `opts.cacheDir`, env `KILN_CACHE`,
 *    `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`;
 * 5. otherwise (unless `download: false`) it downloads the four files from `opts.baseUrl`, env
 *    `KILN_FASHION_MNIST_URL` or `FASHION_MNIST_URL` into the cache, with a progress bar on
 *    stderr, each file's MD5 checked (`FASHION_MNIST_MD5`, or `opts.checksums`) and written
 *    atomically. A checksum mismatch throws and leaves nothing behind.
 *
 * With no copy and no download (offline, no `--allow-net`, `download: false`) it throws an
 * Error that says how to get the data. Environment variables and folders that may not be read
 * (no `--allow-env`/`--allow-read`) are skipped. Loading the training split takes about half a
 * second: the pixels are scaled on the host and uploaded once.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const { images, labels } = await k.data.fashionMnist({ split: "test" });
 * console.log(images.shape, labels.dtype); // [10000, 28, 28] "int32"
 * ```
 */
export async function fashionMnist(opts: FashionMnistOptions): Promise<LabeledImages> {
  // Everything is checked before any file or network access.
  const op = "data.fashionMnist";
  checkOptions(op, opts ?? null, [
    "split",
    "dir",
    "baseUrl",
    "cacheDir",
    "download",
    "progress",
    "checksums",
    "searchPath",
  ]);
  const split = checkOneOf(op, opts.split, ["train", "test"], "split");
  for (const key of ["dir", "baseUrl", "cacheDir"] as const) {
    if (opts[key] !== undefined) checkString(op, opts[key], key);
  }
  if (opts.download !== undefined) checkBool(op, opts.download, "download");
  if (opts.progress !== undefined) checkBool(op, opts.progress, "progress");
  const sp = opts.searchPath;
  if (sp !== undefined && (!Array.isArray(sp) || sp.some((d) => typeof d !== "string"))) {
    throw typeError(op, `searchPath must be an array of folder names, got ${describe(sp)}`);
  }
  if (opts.dir !== undefined) {
    const got = await findSplit(opts.dir, split);
    if ("why" in got) {
      const f = splitFiles(split);
      throw shapeError(
        "data.fashionMnist",
        `${opts.dir}: ${got.why}: expected ${f.images}[.gz] and ${f.labels}[.gz] ` +
          `there or in ${joinPath(opts.dir, SUBDIR)}`,
      );
    }
    return await loadFiles(got);
  }
  const looked: string[] = [];
  const dataEnv = envVar("KILN_DATA");
  const search = opts.searchPath ?? [...(dataEnv ? [dataEnv] : []), SYSTEM_DIR];
  if (opts.searchPath === undefined && !dataEnv) looked.push("KILN_DATA (unset)");
  const root = cacheRoot(opts);
  const cache = root === undefined ? undefined : joinPath(root, SUBDIR);
  for (const folder of [...search, ...(cache ? [cache] : [])]) {
    const got = await findSplit(folder, split);
    if (!("why" in got)) return await loadFiles(got);
    looked.push(`${folder} (${got.why})`);
  }
  let failure: string;
  if (opts.download === false) failure = "downloading is off (download: false)";
  else if (cache === undefined) {
    failure = "no cache folder to download into (set KILN_CACHE or pass cacheDir)";
  } else {
    try {
      await downloadAll(cache, opts);
      const got = await findSplit(cache, split);
      if (!("why" in got)) return await loadFiles(got);
      failure = `the downloaded files are not readable in ${cache} (${got.why})`;
    } catch (e) {
      if (!(e instanceof DownloadError)) throw e;
      failure = `download failed: ${e.message}`;
    }
  }
  const host = new URL(FASHION_MNIST_URL).host;
  throw shapeError(
    "data.fashionMnist",
    `no copy of Fashion-MNIST (${split} split) was found and none could be ` +
      `downloaded.\n  looked in: ${looked.join(", ")}\n  ${failure}\n` +
      `To get the data, do one of:\n` +
      `  - install the Debian package: ${APT_HINT}\n` +
      `  - set KILN_DATA to a folder holding train-images-idx3-ubyte.gz, ` +
      `train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz ` +
      `(directly or in a fashion-mnist/ subfolder)\n` +
      `  - allow network access (--allow-net=${host}) so that the files download into ` +
      `${cache ?? "the cache (set KILN_CACHE)"}`,
  );
}
