/**
 * Pictures for the classic examples, without dependencies: an SVG line chart (several named
 * series, optionally on a log scale), an SVG scatter plot coloured by class, and a PNG writer
 * for image grids (zlib through the platform's `CompressionStream`).
 * @module
 */

/** Ten distinguishable colours (Tableau 10), one per class. */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

const W = 520, H = 340, P = 48;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const text = (x: number, y: number, s: string, anchor = "middle", size = 11) =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" font-size="${size}">${
    esc(s)
  }</text>`;
const num = (v: number) =>
  (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2)) ? v.toExponential(1) : v.toFixed(2);

/** A frame with title, axis labels and the data ranges written at the ends of the axes. */
function frame(title: string, xr: [number, number], yr: [number, number], yLabel = ""): string {
  return `<rect x="${P}" y="${P}" width="${W - 2 * P}" height="${H - 2 * P}" fill="none" ` +
    `stroke="#999"/>` + text(W / 2, P - 16, title, "middle", 13) +
    text(P - 4, P + 4, num(yr[1]), "end", 10) + text(P - 4, H - P, num(yr[0]), "end", 10) +
    text(P, H - P + 14, num(xr[0]), "start", 10) + text(W - P, H - P + 14, num(xr[1]), "end", 10) +
    (yLabel ? text(14, H / 2, yLabel, "middle", 10) : "");
}

const range = (vs: readonly number[]): [number, number] => {
  const f = vs.filter(Number.isFinite);
  const lo = Math.min(...f), hi = Math.max(...f);
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
};

/** Options of `lineChartSvg`. */
export interface LineChartOptions {
  /** Chart title. */
  title: string;
  /** Plot log10 of the values (for convergence curves). Non-positive values are dropped. */
  logY?: boolean;
  /** Label of the y axis. */
  yLabel?: string;
}

/**
 * Named series against their index (step), with a legend.
 * @example
 * ```ts
 * import { lineChartSvg } from "./_svg.ts";
 * const svg = lineChartSvg({ loss: [1, 0.5, 0.3] }, { title: "training loss" });
 * ```
 */
export function lineChartSvg(
  series: Readonly<Record<string, readonly number[]>>,
  opts: LineChartOptions,
): string {
  const names = Object.keys(series);
  const tf = (v: number) => (opts.logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const all = names.flatMap((n) => series[n].map(tf));
  const [lo, hi] = range(all);
  const n = Math.max(2, ...names.map((s) => series[s].length));
  const px = (i: number) => P + (i / (n - 1)) * (W - 2 * P);
  const py = (v: number) => H - P - ((v - lo) / (hi - lo)) * (H - 2 * P);
  const lines = names.map((name, j) => {
    const pts = series[name].map((v, i) => [i, tf(v)]).filter(([, v]) => Number.isFinite(v));
    const d = pts.map(([i, v]) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
    const c = PALETTE[j % PALETTE.length];
    return `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${d}"/>` +
      `<rect x="${W - P - 150}" y="${P + 8 + 16 * j}" width="10" height="10" fill="${c}"/>` +
      text(W - P - 136, P + 17 + 16 * j, name, "start", 11);
  }).join("");
  const yr: [number, number] = opts.logY ? [10 ** lo, 10 ** hi] : [lo, hi];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `font-family="sans-serif">` +
    frame(opts.title + (opts.logY ? " (log scale)" : ""), [0, n - 1], yr, opts.yLabel) + lines +
    "</svg>\n";
}

/**
 * Points `[x, y]` coloured by integer class, with a legend of `classNames`.
 * @example
 * ```ts
 * import { scatterSvg } from "./_svg.ts";
 * const svg = scatterSvg([[0, 1], [1, 0]], [0, 1], { title: "PCA", classNames: ["a", "b"] });
 * ```
 */
export function scatterSvg(
  points: readonly (readonly [number, number])[],
  classes: ArrayLike<number>,
  opts: { title: string; classNames?: readonly string[] },
): string {
  const [x0, x1] = range(points.map((p) => p[0]));
  const [y0, y1] = range(points.map((p) => p[1]));
  const px = (x: number) => P + ((x - x0) / (x1 - x0)) * (W - 2 * P - 110);
  const py = (y: number) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
  const dots = points.map(([x, y], i) =>
    `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="1.6" ` +
    `fill="${PALETTE[classes[i] % PALETTE.length]}" fill-opacity="0.7"/>`
  ).join("");
  const legend = (opts.classNames ?? []).map((name, j) =>
    `<rect x="${W - P - 100}" y="${P + 4 + 15 * j}" width="9" height="9" fill="${PALETTE[j]}"/>` +
    text(W - P - 87, P + 12 + 15 * j, name, "start", 10)
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `font-family="sans-serif">` + frame(opts.title, [x0, x1], [y0, y1]) + dots + legend +
    "</svg>\n";
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

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * An 8-bit grey (1 channel) or RGB (3 channels) PNG from `pixels` in `[0, 1]`, row-major
 * `[height, width, channels]`.
 * @example
 * ```ts
 * import { encodePng } from "./_svg.ts";
 * const png = await encodePng(new Float32Array([0, 1, 1, 0]), 2, 2, 1);
 * ```
 */
export async function encodePng(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 3,
): Promise<Uint8Array> {
  const rowLen = width * channels + 1;
  const raw = new Uint8Array(rowLen * height); // each row: filter byte 0, then the samples
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const v = pixels[y * width * channels + i];
      raw[y * rowLen + 1 + i] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  const z = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", z),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

/**
 * Tiles `rows × cols` grey images of `h × w` (flat, `[rows·cols, h·w]`, min–max scaled per
 * image) into one picture with a 1-pixel gap, as flat pixels for `encodePng`.
 * @example
 * ```ts
 * import { tileImages } from "./_svg.ts";
 * const { pixels, width, height } = tileImages(protos, 10, 10, 28, 28);
 * ```
 */
export function tileImages(
  images: ArrayLike<number>,
  rows: number,
  cols: number,
  h: number,
  w: number,
): { pixels: Float32Array; width: number; height: number } {
  const width = cols * (w + 1) + 1, height = rows * (h + 1) + 1;
  const pixels = new Float32Array(width * height).fill(1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const base = (r * cols + c) * h * w;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < h * w; i++) {
        lo = Math.min(lo, images[base + i]);
        hi = Math.max(hi, images[base + i]);
      }
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = (images[base + y * w + x] - lo) / (hi - lo || 1);
          pixels[(r * (h + 1) + 1 + y) * width + c * (w + 1) + 1 + x] = 1 - v; // dark garments
        }
      }
    }
  }
  return { pixels, width, height };
}
