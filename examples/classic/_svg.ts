/**
 * Pictures for the classic examples, through the library's shared helpers: `k.plot` draws the
 * charts and `k.io.encodePng` writes PNGs (no SVG or PNG code of the examples' own). Only the
 * tiling of many small images into one picture is here.
 * @module
 */
import * as k from "../../mod.ts";

/** Options of `lineChartSvg`. */
export interface LineChartOptions {
  /** Chart title. */
  title: string;
  /** Logarithmic y axis (for convergence curves; non-positive values are left out). */
  logY?: boolean;
  /** Label of the y axis. */
  yLabel?: string;
}

/**
 * Named series against their index (step), with a legend (`k.plot.line`).
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
  const list = Object.entries(series).map(([name, y]) => ({ name, y }));
  return k.plot.line(list, { title: opts.title, logY: opts.logY, yLabel: opts.yLabel });
}

/**
 * Points `[x, y]` coloured by integer class, with a legend of `classNames` (`k.plot.scatter`).
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
  return k.plot.scatter(
    { x: points.map((p) => p[0]), y: points.map((p) => p[1]), labels: Array.from(classes) },
    { title: opts.title, classNames: opts.classNames },
  );
}

/**
 * An 8-bit grey PNG from `pixels` in `[0, 1]`, row-major `[height, width]` (`k.io.encodePng`).
 * @example
 * ```ts
 * import { encodePng } from "./_svg.ts";
 * const png = await encodePng(new Float32Array([0, 1, 1, 0]), 2, 2);
 * ```
 */
export function encodePng(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const image = k.tensor(Float32Array.from(pixels), { shape: [1, height, width], device: "cpu" });
  return k.io.encodePng(image, { nrow: 1, padding: 0, range: [0, 1] });
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
