/**
 * Pictures of tensors: a grid of images (`[N,H,W]`, `[N,1,H,W]` or `[N,3,H,W]`, laid out as
 * torchvision's `make_grid`) encoded as PNG (zlib through the platform's
 * `CompressionStream("deflate")`, CRC-32 computed here), written to a file (`savePng`) or
 * embedded in an SVG (`imageGridSvg`) for READMEs and notebooks.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { pathString, writeAtomic } from "./_fs.ts";

const E = k.errors;

/** Options of `encodePng`, `savePng` and `imageGridSvg`. */
export interface ImageGridOptions {
  /** Images per row of the grid (default 8, as torchvision's `make_grid`). */
  nrow?: number;
  /** Pixels between images and around the grid (default 2). */
  padding?: number;
  /**
   * Values mapped to black and white, `[lo, hi]` (outside values are clipped), or `"auto"` for
   * the minimum and maximum of all images. Default `[0, 1]` (as torchvision's `save_image`).
   */
  range?: readonly [number, number] | "auto";
  /** Intensity of the padding in `[0, 1]` (default 0, black). */
  padValue?: number;
}

/** Options of `imageGridSvg`: the grid's options plus the display scale. */
export interface ImageGridSvgOptions extends ImageGridOptions {
  /** Screen pixels per image pixel (default 2; the picture is drawn pixelated). */
  scale?: number;
}

/** An 8-bit picture: `channels` samples per pixel, rows top to bottom. */
export interface Pixels {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** `height * width * channels` bytes, row-major. */
  data: Uint8Array;
}

const GRID_KEYS = ["nrow", "padding", "range", "padValue"] as const;

interface Grid {
  nrow: number;
  padding: number;
  range: [number, number] | "auto";
  padValue: number;
}

function checkGrid(op: string, opts: unknown, extra: readonly string[] = []): Grid & {
  scale?: number;
} {
  const o = E.checkOptions(op, opts as ImageGridSvgOptions | undefined, [...GRID_KEYS, ...extra]);
  const nrow = o.nrow === undefined ? 8 : E.checkInt(op, o.nrow, "nrow", 1);
  const padding = o.padding === undefined ? 2 : E.checkInt(op, o.padding, "padding", 0, 1024);
  const padValue = o.padValue === undefined ? 0 : E.checkNumber(op, o.padValue, "padValue");
  if (padValue < 0 || padValue > 1) {
    throw E.rangeError(op, `padValue must be in [0, 1], got ${padValue}`);
  }
  let range: [number, number] | "auto" = [0, 1];
  if (o.range === "auto") range = "auto";
  else if (o.range !== undefined) {
    if (!Array.isArray(o.range) || o.range.length !== 2) {
      throw E.typeError(op, `range must be [lo, hi] or "auto", got ${E.describe(o.range)}`);
    }
    const lo = E.checkNumber(op, o.range[0], "range[0]");
    const hi = E.checkNumber(op, o.range[1], "range[1]");
    if (!(lo < hi)) throw E.rangeError(op, `range must have lo < hi, got [${lo}, ${hi}]`);
    range = [lo, hi];
  }
  const scale = (o as ImageGridSvgOptions).scale;
  return {
    nrow,
    padding,
    padValue,
    range,
    scale: scale === undefined ? undefined : E.checkNumber(op, scale, "scale"),
  };
}

/** `[N, C, H, W]` of an image batch, or a clear error naming the accepted shapes. */
function imageShape(op: string, images: unknown): [number, 1 | 3, number, number] {
  E.checkTensorArg(op, images, "images");
  const s = (images as Tensor).shape;
  const bad = () =>
    E.shapeError(op, `images must be [N,H,W], [N,1,H,W] or [N,3,H,W], got [${s.join(",")}]`);
  let n: number, c: number, h: number, w: number;
  if (s.length === 3) [n, h, w, c] = [s[0], s[1], s[2], 1];
  else if (s.length === 4) [n, c, h, w] = s as [number, number, number, number];
  else throw bad();
  if ((c !== 1 && c !== 3) || n < 1 || h < 1 || w < 1) throw bad();
  return [n, c as 1 | 3, h, w];
}

/** Lays the images out as a grid and maps them to bytes (the whole host-side work). */
async function gridPixels(op: string, images: Tensor, g: Grid): Promise<Pixels> {
  const [n, c, h, w] = imageShape(op, images);
  const v = await k.astype(images, "float32").data() as Float32Array;
  let [lo, hi] = g.range === "auto" ? [Infinity, -Infinity] : g.range;
  if (g.range === "auto") {
    for (const x of v) if (Number.isFinite(x)) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
    if (!(lo < hi)) [lo, hi] = [lo === Infinity ? 0 : lo, lo === Infinity ? 1 : lo + 1];
  }
  const cols = Math.min(g.nrow, n), rows = Math.ceil(n / cols), p = g.padding;
  const width = p + cols * (w + p), height = p + rows * (h + p);
  const data = new Uint8Array(width * height * c).fill(Math.round(g.padValue * 255));
  const scale = 255 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const x0 = p + (i % cols) * (w + p), y0 = p + Math.floor(i / cols) * (h + p);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        const src = ((i * c + ch) * h + y) * w, dst = ((y0 + y) * width + x0) * c + ch;
        for (let x = 0; x < w; x++) {
          const val = v[src + x];
          // NaN shows as black; values outside the range are clipped.
          data[dst + x * c] = Number.isNaN(val)
            ? 0
            : Math.round(Math.min(255, Math.max(0, (val - lo) * scale)));
        }
      }
    }
  }
  return { width, height, channels: c, data };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let j = 0; j < 8; j++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (ISO-HDLC, as PNG and zlib's `crc32`) of `bytes`.
 * @example k.io.crc32(new TextEncoder().encode("123456789")) // 0xcbf43926
 */
export function crc32(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`io.crc32: bytes must be a Uint8Array, got ${E.describe(bytes)}`);
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function streamBytes(bytes: Uint8Array, stream: CompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** PNG bytes of 8-bit pixels (filter 0 on every row; zlib from `CompressionStream`). */
async function pngBytes(px: Pixels): Promise<Uint8Array> {
  const stride = px.width * px.channels;
  const raw = new Uint8Array(px.height * (stride + 1));
  for (let y = 0; y < px.height; y++) {
    raw.set(px.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, px.width);
  v.setUint32(4, px.height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = px.channels === 3 ? 2 : 0; // colour type: truecolour or greyscale
  const idat = await streamBytes(raw, new CompressionStream("deflate"));
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/**
 * The PNG bytes of an image grid (see `savePng` for the layout and options).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const png = await k.io.encodePng(k.random.uniform(k.random.key(0), [16, 28, 28]), { nrow: 4 });
 * ```
 */
export async function encodePng(images: Tensor, opts: ImageGridOptions = {}): Promise<Uint8Array> {
  const op = "io.encodePng";
  return await pngBytes(await gridPixels(op, images, E.userOp(op, () => checkGrid(op, opts))));
}

/**
 * Writes `images` (`[N,H,W]` grey, `[N,1,H,W]` grey or `[N,3,H,W]` RGB) as one PNG grid to
 * `path`, atomically: `nrow` images per row with `padding` pixels between and around them (as
 * torchvision's `save_image`), values in `range` mapped to 0…255. Needs `--allow-write` and
 * `--allow-read`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const x = k.random.normal(k.random.key(0), [8, 1, 28, 28]);
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await k.io.savePng(path, x, { nrow: 4, padding: 2, range: [-2, 2] });
 * await Deno.remove(path);
 * ```
 */
export async function savePng(
  path: string | URL,
  images: Tensor,
  opts: ImageGridOptions = {},
): Promise<void> {
  const op = "io.savePng";
  const p = E.userOp(op, () => pathString(op, path));
  const g = E.userOp(op, () => checkGrid(op, opts));
  await writeAtomic(op, p, await pngBytes(await gridPixels(op, images, g)));
}

const b64 = (bytes: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
};

/**
 * An SVG document showing the image grid (a PNG embedded as a data URI, drawn pixelated at
 * `scale` screen pixels per pixel): one self-contained file for a README or a notebook.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const svg = await k.io.imageGridSvg(k.random.uniform(k.random.key(0), [4, 8, 8]), { scale: 4 });
 * ```
 */
export async function imageGridSvg(
  images: Tensor,
  opts: ImageGridSvgOptions = {},
): Promise<string> {
  const op = "io.imageGridSvg";
  const g = E.userOp(op, () => checkGrid(op, opts, ["scale"]));
  const scale = g.scale ?? 2;
  if (scale <= 0) throw E.rangeError(op, `scale must be > 0, got ${scale}`);
  const px = await gridPixels(op, images, g);
  const w = px.width * scale, h = px.height * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
    `viewBox="0 0 ${w} ${h}"><image width="${w}" height="${h}" ` +
    `style="image-rendering:pixelated" preserveAspectRatio="none" ` +
    `href="data:image/png;base64,${b64(await pngBytes(px))}"/></svg>\n`;
}
