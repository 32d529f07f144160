/**
 * SVG drawing shared by the plots: the frame with nice ticks, scales, colours, escaping and the
 * argument checks. Not re-exported.
 * @module
 */
import * as k from "../core/mod.ts";

const E = k.errors;

/** Ten distinguishable colours (Tableau 10), one per series or class. */
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

/** Options every plot takes. */
export interface FrameOptions {
  /** Title above the plot. */
  title?: string;
  /** Label under the x axis. */
  xLabel?: string;
  /** Label left of the y axis. */
  yLabel?: string;
  /** Width of the SVG in pixels (default 520). */
  width?: number;
  /** Height of the SVG in pixels (default 360). */
  height?: number;
}

export const FRAME_KEYS = ["title", "xLabel", "yLabel", "width", "height"] as const;

export const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A number array from an array-like of numbers, or an error naming `op` and `what`. */
export function numbers(op: string, v: unknown, what: string, minLength = 1): Float64Array {
  const ok = Array.isArray(v) || ArrayBuffer.isView(v);
  if (!ok || v instanceof DataView) {
    throw E.typeError(op, `${what} must be an array of numbers, got ${E.describe(v)}`);
  }
  const a = v as ArrayLike<unknown>;
  if (a.length < minLength) {
    throw E.rangeError(op, `${what} must hold at least ${minLength} number(s), got ${a.length}`);
  }
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== "number") {
      throw E.typeError(op, `${what}[${i}] must be a number, got ${E.describe(a[i])}`);
    }
    out[i] = a[i] as number;
  }
  return out;
}

/** Validated frame options (strings and positive sizes). */
export function frameOptions<O extends FrameOptions>(
  op: string,
  o: O,
): O & { width: number; height: number } {
  for (const key of ["title", "xLabel", "yLabel"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "string") {
      throw E.typeError(op, `${key} must be a string, got ${E.describe(o[key])}`);
    }
  }
  const width = o.width === undefined ? 520 : E.checkInt(op, o.width, "width", 100, 10000);
  const height = o.height === undefined ? 360 : E.checkInt(op, o.height, "height", 100, 10000);
  return { ...o, width, height };
}

/** `[lo, hi]` of the finite values, widened when empty or flat. */
export function extent(...arrays: ArrayLike<number>[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      if (Number.isFinite(a[i])) [lo, hi] = [Math.min(lo, a[i]), Math.max(hi, a[i])];
    }
  }
  if (lo === Infinity) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/** Ticks at 1, 2 or 5 times a power of ten, about `n` of them inside `[lo, hi]`. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  const raw = (hi - lo) / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

const fmtNum = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
};

/** The plotting area of a frame and its data-to-pixel maps. */
export interface Frame {
  /** SVG of the axes, ticks, labels and title (draw the data after it). */
  svg: string;
  /** Data x to pixel x. */
  px(x: number): number;
  /** Data y to pixel y. */
  py(y: number): number;
  /** Left, top, right, bottom of the plotting area in pixels. */
  box: [number, number, number, number];
}

/** Axes for data ranges `xr`, `yr` (`yTick` formats y tick labels, e.g. for log scales). */
export function frame(
  o: FrameOptions & { width: number; height: number },
  xr: [number, number],
  yr: [number, number],
  yTick: (v: number) => string = fmtNum,
): Frame {
  const L = 58, T = o.title ? 34 : 14, R = o.width - 16, B = o.height - 40;
  const px = (x: number) => L + ((x - xr[0]) / (xr[1] - xr[0])) * (R - L);
  const py = (y: number) => B - ((y - yr[0]) / (yr[1] - yr[0])) * (B - T);
  const t = (x: number, y: number, s: string, anchor = "middle", extra = "") =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}"${extra}>${
      esc(s)
    }</text>`;
  let s = `<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#888"/>`;
  for (const v of ticks(xr[0], xr[1])) {
    const x = px(v);
    s += `<line x1="${x.toFixed(1)}" y1="${B}" x2="${x.toFixed(1)}" y2="${B + 4}" stroke="#888"/>`;
    s += t(x, B + 15, fmtNum(v));
  }
  for (const v of ticks(yr[0], yr[1])) {
    const y = py(v);
    s += `<line x1="${L - 4}" y1="${y.toFixed(1)}" x2="${L}" y2="${y.toFixed(1)}" stroke="#888"/>`;
    s += t(L - 6, y + 4, yTick(v), "end");
  }
  if (o.title) s += t((L + R) / 2, 20, o.title, "middle", ` font-size="14"`);
  if (o.xLabel) s += t((L + R) / 2, o.height - 8, o.xLabel);
  if (o.yLabel) {
    s += t(14, (T + B) / 2, o.yLabel, "middle", ` transform="rotate(-90 14 ${(T + B) / 2})"`);
  }
  return { svg: s, px, py, box: [L, T, R, B] };
}

/** Wraps drawn elements into a standalone SVG document. */
export function document(o: { width: number; height: number }, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}" ` +
    `viewBox="0 0 ${o.width} ${o.height}" font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="white"/>${body}</svg>\n`;
}

/** A legend (coloured swatches and names) in the top-right corner of the plotting area. */
export function legend(f: Frame, names: readonly string[], colors: readonly string[]): string {
  const [, T, R] = f.box;
  let s = "";
  names.forEach((n, i) => {
    const y = T + 14 + i * 15;
    s += `<rect x="${R - 118}" y="${y - 8}" width="10" height="10" fill="${colors[i]}"/>` +
      `<text x="${R - 104}" y="${y + 1}">${esc(n)}</text>`;
  });
  return s;
}

const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Viridis-like colour of `t` in [0, 1]. */
export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u)), f = u - i;
  const c = VIRIDIS[i].map((a, j) => Math.round(a + f * (VIRIDIS[i + 1][j] - a)));
  return `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}
