/**
 * A tiny SVG plot for the training examples: training loss (left panel) and test accuracy per
 * epoch (right panel) as polylines, with their ranges on the axes. No dependencies.
 * @module
 */

/** Options of `curvesSvg`. */
export interface CurvesOptions {
  /** Title of the loss panel (default "training loss"). */
  lossTitle?: string;
  /** Lowest accuracy shown (default `min(accs, 0.8)`). */
  accFloor?: number;
}

/**
 * Two panels side by side: `losses` (every logged step) and `accs` (one per epoch, in [0, 1]).
 * @example
 * ```ts
 * import { curvesSvg } from "./_svg.ts";
 * await Deno.writeTextFile("curves.svg", curvesSvg([2.3, 0.9, 0.5], [0.85, 0.9]));
 * ```
 */
export function curvesSvg(
  losses: readonly number[],
  accs: readonly number[],
  opts: CurvesOptions = {},
): string {
  const W = 360, H = 240, P = 40;
  const poly = (ys: readonly number[], lo: number, hi: number, x0: number) =>
    ys.map((y, i) => {
      const x = x0 + P + (i / Math.max(1, ys.length - 1)) * (W - 2 * P);
      const v = H - P - ((y - lo) / (hi - lo || 1)) * (H - 2 * P);
      return `${x.toFixed(1)},${v.toFixed(1)}`;
    }).join(" ");
  const label = (x: number, y: number, text: string, anchor = "end", size = 10) =>
    `<text x="${x}" y="${y}" text-anchor="${anchor}" font-size="${size}">${text}</text>`;
  const panel = (
    x0: number,
    title: string,
    ys: readonly number[],
    lo: number,
    hi: number,
    color: string,
  ) =>
    `<g><rect x="${x0 + P}" y="${P}" width="${W - 2 * P}" height="${H - 2 * P}" ` +
    `fill="none" stroke="#999"/>` + label(x0 + W / 2, P - 10, title, "middle", 13) +
    label(x0 + P - 4, P + 4, hi.toFixed(2)) + label(x0 + P - 4, H - P, lo.toFixed(2)) +
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${
      poly(ys, lo, hi, x0)
    }"/></g>`;
  const accLo = opts.accFloor ?? Math.min(...accs, 0.8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" ` +
    `font-family="sans-serif">` +
    panel(0, opts.lossTitle ?? "training loss", losses, 0, Math.max(...losses, 1e-9), "#c33") +
    panel(W, "test accuracy per epoch", accs, accLo, 1, "#36c") + "</svg>\n";
}
