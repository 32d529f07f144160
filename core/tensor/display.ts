/**
 * Rich display of tensors in notebooks, through the display protocol of Deno's Jupyter kernel
 * (`[Symbol.for("Jupyter.display")]`, which `Tensor` implements by calling `bundle`): a compact
 * HTML table with a shape/dtype/device header and numpy-style elision, an image view for
 * image-shaped tensors, and plain text. Only the shown part of a tensor is computed and read
 * back (the first and last rows and columns of each long axis, the first images), so a lazy
 * `[60000, 784]` tensor displays without being realized, and WebGPU tensors display without
 * `dataSync`.
 *
 * Image-shaped (both image sides at least 8): `[H, W]` (grey), `[H, W, 3]` (RGB), `[N, H, W]`
 * and `[N, 1|3, H, W]` (a grid of the first 64 images). Values map to black…white over `[0, 1]`
 * when they all lie there, else over their minimum…maximum (the header says which).
 * The PNG comes from the encoder set with `setImageEncoder` (`k.io.encodePng`, registered by
 * `k.plot`, so importing the package's `mod.ts` is enough); without one, tensors show the table
 * only.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * // In a notebook, a cell ending in a tensor shows this bundle; here we ask for it directly.
 * const table = await k.display.bundle(k.arange(6).reshape([2, 3]));
 * console.log(Object.keys(table).sort()); // ["text/html", "text/plain"]
 * const picture = await k.display.bundle(k.zeros([8, 8])); // image-shaped: a PNG too
 * console.log(Object.keys(picture).sort()); // ["image/png", "text/html", "text/plain"]
 * ```
 * @module
 */
import { checkFunction, checkTensorArg, publicOp } from "../errors.ts";
import type { TypedArray } from "../dtype.ts";
import { fmt } from "../shape.ts";
import { isKeepingGraph } from "../ir/node.ts";
import { findPlaceholder } from "../schedule/program.ts";
import type { Tensor } from "./tensor.ts";
import { concatenate, reshape, slice, transpose } from "./movement.ts";
import { astype } from "./elementwise.ts";

/** A Jupyter mime bundle: media type to data (images base64-encoded, as the protocol wants). */
export type MimeBundle = Record<string, string>;

/** What `setImageEncoder`'s encoder gets besides the images. */
export interface ImageEncoderOptions {
  /** Images per row of the grid. */
  nrow: number;
  /** Pixels between and around the images. */
  padding: number;
  /** Values mapped to black and white. */
  range: readonly [number, number];
}

/** Encodes `[N, C, H, W]` images (C = 1 or 3) as one PNG grid, as `k.io.encodePng` does. */
export type ImageEncoder = (images: Tensor, opts: ImageEncoderOptions) => Promise<Uint8Array>;

let current: ImageEncoder | undefined;

/**
 * Sets the PNG encoder of the image view (`null` turns images off). `k.plot` registers
 * `k.io.encodePng`; the core alone has none.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.display.setImageEncoder(k.io.encodePng);
 * ```
 */
export const setImageEncoder: (encoder: ImageEncoder | null) => void = publicOp(
  "display.setImageEncoder",
  (encoder: ImageEncoder | null): void => {
    current = encoder === null
      ? undefined
      : checkFunction("display.setImageEncoder", encoder, "encoder");
  },
);

/** Rows/columns shown at each end of a long axis: the last two axes, then the leading ones. */
const EDGE = 5, LEAD_EDGE = 2, MAX_IMAGES = 64, MAX_PIXELS = 1 << 22;

/** The shown part of a tensor: per axis the original indices shown (-1: the elision mark). */
interface View {
  shape: readonly number[];
  idx: number[][];
  data: TypedArray;
}

function shownIndices(n: number, edge: number): number[] {
  if (n <= 2 * edge + 1) return [...Array(n).keys()];
  return [...Array(edge).keys(), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

/** Reads only the shown corners: per long axis, the first and last `edge` entries joined. */
async function readView(t: Tensor): Promise<View> {
  const nd = t.ndim;
  const idx = t.shape.map((n, a) => shownIndices(n, a >= nd - 2 ? EDGE : LEAD_EDGE));
  let small = t;
  idx.forEach((ix, a) => {
    if (!ix.includes(-1)) return;
    const e = ix.indexOf(-1), all = Array(a).fill([null, null]);
    small = concatenate([
      slice(small, [...all, [0, e]]),
      slice(small, [...all, [-e, null]]),
    ], { axis: a });
  });
  return { shape: t.shape, idx, data: await small.data() };
}

function fmtValue(v: number, bool: boolean): string {
  if (bool) return v ? "true" : "false";
  if (Number.isInteger(v)) return String(v);
  const s = v.toPrecision(6);
  return s.includes("e") ? s : String(Number(s));
}

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Calls `f(position in the data, original index)` for the shown entries of axis `a`. */
function eachShown(v: View, a: number, off: number, f: (at: number, i: number) => string) {
  const stride = v.idx.slice(a + 1).reduce((s, ix) => s * ix.filter((i) => i >= 0).length, 1);
  let k = 0;
  return v.idx[a].map((i) => (i < 0 ? f(-1, -1) : f(off + stride * k++, i)));
}

/** numpy-like nested text of the view (`...` where entries are elided). */
function text(v: View, bool: boolean): string {
  if (v.shape.length === 0) return fmtValue(v.data[0], bool);
  const rec = (a: number, off: number, indent: string): string => {
    const last = a === v.shape.length - 1;
    const parts = eachShown(
      v,
      a,
      off,
      (at) => at < 0 ? "..." : last ? fmtValue(v.data[at], bool) : rec(a + 1, at, indent + " "),
    );
    return `[${parts.join(last ? ", " : ",\n" + indent + " ")}]`;
  };
  return rec(0, 0, "");
}

/** One style block per output keeps the table markup small (as pandas' HTML does). */
const STYLE = "<style>.kiln-t{font-family:ui-monospace,monospace;font-size:12px}" +
  ".kiln-t table{border-collapse:collapse;margin:2px 0;font-size:12px}" +
  ".kiln-t td,.kiln-t th{padding:1px 6px;text-align:right;border:none}" +
  ".kiln-t th,.kiln-t .e{color:#999;font-weight:normal}.kiln-t .h{color:#666}</style>";

/** One HTML table of the last two axes (a 1-D tensor is one row) at data offset `off`. */
function table(v: View, off: number, bool: boolean): string {
  const nd = v.shape.length;
  const cols = v.idx[nd - 1];
  const head = cols.map((j) => `<th>${j < 0 ? "…" : j}</th>`).join("");
  const rowHtml = (at: number, i: number) => {
    const label = nd === 1 ? "" : i < 0 ? "⋮" : String(i);
    const cells = at < 0
      ? cols.map((j) => `<td class="e">${j < 0 ? "⋱" : "⋮"}</td>`)
      : eachShown(v, nd - 1, at, (c) =>
        c < 0 ? `<td class="e">…</td>` : `<td>${esc(fmtValue(v.data[c], bool))}</td>`);
    return `<tr><th>${label}</th>${cells.join("")}</tr>`;
  };
  const body = nd === 1 ? [rowHtml(off, 0)] : eachShown(v, nd - 2, off, rowHtml);
  return `<table><thead><tr><th></th>${head}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

/** Tables of every shown leading index (`[i, j, :, :]` captions), or one table. */
function tables(v: View, bool: boolean): string {
  const nd = v.shape.length;
  if (nd === 0) return `<div style="font-size:14px">${esc(fmtValue(v.data[0], bool))}</div>`;
  if (nd <= 2) return table(v, 0, bool);
  const rec = (a: number, off: number, prefix: number[]): string =>
    a === nd - 2
      ? `<div class="h">[${[...prefix, ":", ":"].join(", ")}]</div>` +
        table(v, off, bool)
      : eachShown(
        v,
        a,
        off,
        (at, i) => at < 0 ? `<div class="e">⋮</div>` : rec(a + 1, at, [...prefix, i]),
      ).join("");
  return rec(0, 0, []);
}

/** `[N, C, H, W]` of an image-shaped tensor and how to get there, or undefined. */
function imageLayout(shape: readonly number[]) {
  const s = shape;
  let n = 1, c = 1, h = 0, w = 0, layout: "hw" | "hwc" | "nhw" | "nchw";
  if (s.length === 2) [h, w, layout] = [s[0], s[1], "hw"];
  else if (s.length === 3 && s[2] === 3) [h, w, c, layout] = [s[0], s[1], 3, "hwc"];
  else if (s.length === 3) [n, h, w, layout] = [s[0], s[1], s[2], "nhw"];
  else if (s.length === 4 && (s[1] === 1 || s[1] === 3)) {
    [n, c, h, w, layout] = [s[0], s[1], s[2], s[3], "nchw"];
  } else return undefined;
  const shown = Math.min(n, MAX_IMAGES);
  if (h < 8 || w < 8 || n < 1 || shown * h * w > MAX_PIXELS) return undefined;
  return { n, shown, c, h, w, layout };
}

/** Black/white values: [0, 1] when all values lie there, else their minimum…maximum. */
function imageRange(d: TypedArray): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of d) if (Number.isFinite(x)) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
  if (lo === Infinity) return [0, 1];
  if (lo >= 0 && hi <= 1) return [0, 1];
  return lo < hi ? [lo, hi] : [lo, lo + 1];
}

const base64 = (bytes: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
};

/** The PNG (base64) and a caption for an image-shaped tensor, when an encoder is set. */
async function image(t: Tensor): Promise<{ png: string; caption: string; width: number } | null> {
  const encoder = current, g = encoder && imageLayout(t.shape);
  if (!g || !encoder) return null;
  let x = t.dtype === "float32" ? t : astype(t, "float32");
  if (g.layout === "hw") x = reshape(x, [1, 1, g.h, g.w]);
  else if (g.layout === "hwc") x = reshape(transpose(x, [2, 0, 1]), [1, 3, g.h, g.w]);
  else {
    if (g.shown < g.n) x = slice(x, [[0, g.shown]]);
    x = reshape(x, [g.shown, g.c, g.h, g.w]);
  }
  const range = imageRange(await x.data());
  const nrow = Math.min(8, g.shown), padding = g.shown > 1 ? 2 : 0;
  const png = await encoder(x, { nrow, padding, range });
  const of = g.shown < g.n ? `first ${g.shown} of ${g.n} images, ` : "";
  // Small pictures are drawn up to 4x larger (pixelated) so a 28x28 image is visible.
  const gridWidth = nrow * (g.w + padding) + padding;
  const width = gridWidth * Math.max(1, Math.min(4, Math.floor(256 / gridWidth)));
  return {
    png: base64(png),
    caption: `${of}black…white = ${range.map((r) => fmtValue(r, false)).join("…")}`,
    width,
  };
}

/**
 * The display bundle of a tensor: `text/plain` always, `text/html` (header and table) for a
 * readable tensor, and `image/png` for an image-shaped one. What `Tensor`'s
 * `[Symbol.for("Jupyter.display")]()` returns.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const b = await k.display.bundle(k.eye(3)); // b["text/html"] holds a <table>
 * ```
 */
export const bundle: (t: Tensor) => Promise<MimeBundle> = publicOp(
  "display.bundle",
  async (t: Tensor): Promise<MimeBundle> => {
    checkTensorArg("display.bundle", t, "t");
    const head = `Tensor(${t.dtype}${fmt(t.shape)}, ${t.device})`;
    if (t.node.op === "disposed") return { "text/plain": `${head} <disposed>` };
    if (isKeepingGraph() && findPlaceholder([t.node])) return { "text/plain": `${head} <traced>` };
    const bool = t.dtype === "bool";
    let v: View, img: Awaited<ReturnType<typeof image>>;
    try {
      v = await readView(t);
      img = await image(t);
    } catch (e) {
      return { "text/plain": `${head} <${(e as Error).message}>` };
    }
    const header = `<div class="h">Tensor <b>${esc(t.dtype)}` +
      `${esc(fmt(t.shape))}</b> · ${esc(t.device)}${img ? ` · ${esc(img.caption)}` : ""}</div>`;
    const picture = img
      ? `<img src="data:image/png;base64,${img.png}" width="${img.width}" ` +
        `style="image-rendering:pixelated;display:block;margin:2px 0"/>`
      : "";
    const body = t.size === 0 ? "<div>(empty)</div>" : tables(v, bool);
    const out: MimeBundle = {
      "text/plain": `${head} ${t.size === 0 ? "[]" : text(v, bool)}`,
      "text/html": `<div class="kiln-t">${STYLE}${header}${picture}${body}</div>`,
    };
    if (img) out["image/png"] = img.png;
    return out;
  },
);
