/**
 * The plots: `line` (series against step or x, linear or log y), `scatter` (points coloured by
 * class), `density2d` (a function sampled on a grid, drawn as filled level bands, optionally
 * with points on top), the `grid2d` points to sample it at, and `save`.
 * @module
 */
import * as k from "../core/mod.ts";
import {
  document,
  esc,
  extent,
  frame,
  FRAME_KEYS,
  type FrameOptions,
  frameOptions,
  legend,
  numbers,
  PALETTE,
  viridis,
} from "./svg.ts";

const E = k.errors;

/** One line of `line`: y values, optional x values (default 0, 1, …) and a legend name. */
export interface Series {
  /** The values. */
  y: ArrayLike<number>;
  /** Positions on the x axis (default the index). */
  x?: ArrayLike<number>;
  /** Name in the legend. */
  name?: string;
  /** CSS colour (default from the palette). */
  color?: string;
}

/** Options of `line`. */
export interface LineOptions extends FrameOptions {
  /** Logarithmic y axis (non-positive values are left out). */
  logY?: boolean;
}

function seriesList(op: string, v: unknown): Series[] {
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === "object" && v[0] !== null) {
    return v.map((s, i) => {
      if (!E.isPlainObject(s)) throw E.typeError(op, `series[${i}] must be {y, x?, name?}`);
      E.checkOptions(op, s, ["y", "x", "name", "color"], `series[${i}]`);
      const y = numbers(op, s.y, `series[${i}].y`);
      const x = s.x === undefined ? undefined : numbers(op, s.x, `series[${i}].x`);
      if (x && x.length !== y.length) {
        throw E.shapeError(op, `series[${i}]: x has ${x.length} values, y ${y.length}`);
      }
      for (const key of ["name", "color"] as const) {
        if (s[key] !== undefined && typeof s[key] !== "string") {
          throw E.typeError(op, `series[${i}].${key} must be a string`);
        }
      }
      return { y, x, name: s.name as string | undefined, color: s.color as string | undefined };
    });
  }
  return [{ y: numbers(op, v, "series") }];
}

/**
 * A line chart of one series (an array of numbers) or several (`{y, x?, name?, color?}`), with
 * ticks, labels and a legend when series are named. Returns the SVG document.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const svg = k.plot.line([{ y: [2.3, 1.1, 0.7], name: "train" }, { y: [2.2, 1.3, 0.9], name: "test" }], {
 *   title: "loss", xLabel: "epoch", logY: true,
 * });
 * ```
 */
export const line: (series: ArrayLike<number> | readonly Series[], opts?: LineOptions) => string = E
  .publicOp("plot.line", (series: unknown, opts: LineOptions = {}): string => {
    const op = "plot.line";
    const o = frameOptions(op, E.checkOptions(op, opts, [...FRAME_KEYS, "logY"]));
    const list = seriesList(op, series);
    const logY = o.logY === undefined ? false : E.checkBool(op, o.logY, "logY");
    const ys = list.map((s) =>
      logY ? Array.from(s.y, (v) => (v > 0 ? Math.log10(v) : NaN)) : Array.from(s.y)
    );
    const xs = list.map((s) => s.x ? Array.from(s.x) : Array.from(s.y, (_, i) => i));
    const f = frame(o, extent(...xs), extent(...ys), logY ? (v) => `1e${v}` : undefined);
    const colors = list.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
    let body = f.svg;
    list.forEach((_, i) => {
      // A NaN (or a non-positive value on a log axis) breaks the line.
      const parts: string[][] = [[]];
      ys[i].forEach((y, j) => {
        if (Number.isFinite(y) && Number.isFinite(xs[i][j])) {
          parts[parts.length - 1].push(`${f.px(xs[i][j]).toFixed(1)},${f.py(y).toFixed(1)}`);
        } else if (parts[parts.length - 1].length) parts.push([]);
      });
      for (const p of parts.filter((p) => p.length)) {
        body += `<polyline fill="none" stroke="${esc(colors[i])}" stroke-width="1.5" ` +
          `points="${p.join(" ")}"/>`;
      }
    });
    const names = list.map((s) => s.name ?? "");
    if (names.some((n) => n)) body += legend(f, names, colors);
    return document(o, body);
  });

/** Points of `scatter`: coordinates and an optional class per point. */
export interface Points {
  /** x coordinates. */
  x: ArrayLike<number>;
  /** y coordinates. */
  y: ArrayLike<number>;
  /** A class index per point (integers from 0): sets the colour. */
  labels?: ArrayLike<number>;
}

/** Options of `scatter`. */
export interface ScatterOptions extends FrameOptions {
  /** Dot radius in pixels (default 2). */
  radius?: number;
  /** Legend names of the classes. */
  classNames?: readonly string[];
  /** Data ranges to show (default: the points' extent). */
  xRange?: readonly [number, number];
  /** Data ranges to show (default: the points' extent). */
  yRange?: readonly [number, number];
}

function checkPoints(op: string, v: unknown, what: string) {
  if (!E.isPlainObject(v)) {
    throw E.typeError(op, `${what} must be {x, y, labels?}, got ${E.describe(v)}`);
  }
  E.checkOptions(op, v, ["x", "y", "labels"], what);
  const x = numbers(op, v.x, `${what}.x`, 0), y = numbers(op, v.y, `${what}.y`, 0);
  const labels = v.labels === undefined ? undefined : numbers(op, v.labels, `${what}.labels`, 0);
  if (y.length !== x.length || (labels && labels.length !== x.length)) {
    throw E.shapeError(
      op,
      `${what}: x, y${
        labels ? " and labels" : ""
      } need one entry per point, got ${x.length}, ${y.length}${
        labels ? `, ${labels.length}` : ""
      }`,
    );
  }
  return { x, y, labels };
}

function checkRange(op: string, v: unknown, what: string): [number, number] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== 2) {
    throw E.typeError(op, `${what} must be [lo, hi], got ${E.describe(v)}`);
  }
  const lo = E.checkNumber(op, v[0], `${what}[0]`), hi = E.checkNumber(op, v[1], `${what}[1]`);
  if (!(lo < hi)) throw E.rangeError(op, `${what} must have lo < hi, got [${lo}, ${hi}]`);
  return [lo, hi];
}

function dots(
  f: ReturnType<typeof frame>,
  p: ReturnType<typeof checkPoints>,
  r: number,
  fixed?: string,
): string {
  let s = "";
  const [L, T, R, B] = f.box;
  for (let i = 0; i < p.x.length; i++) {
    const cx = f.px(p.x[i]), cy = f.py(p.y[i]);
    if (!(cx >= L && cx <= R && cy >= T && cy <= B)) continue; // outside the shown range
    const c = fixed ?? PALETTE[Math.abs(Math.trunc(p.labels?.[i] ?? 0)) % PALETTE.length];
    s += `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r}" fill="${c}" ` +
      `fill-opacity="0.7"/>`;
  }
  return s;
}

/**
 * A scatter plot, one colour per class label. Returns the SVG document.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const svg = k.plot.scatter({ x: [0, 1, 2], y: [1, 0, 1], labels: [0, 1, 1] }, { title: "two classes" });
 * ```
 */
export const scatter: (points: Points, opts?: ScatterOptions) => string = E.publicOp(
  "plot.scatter",
  (points: Points, opts: ScatterOptions = {}): string => {
    const op = "plot.scatter";
    const keys = [...FRAME_KEYS, "radius", "classNames", "xRange", "yRange"];
    const o = frameOptions(op, E.checkOptions(op, opts, keys));
    const p = checkPoints(op, points, "points");
    const r = o.radius === undefined ? 2 : E.checkNumber(op, o.radius, "radius");
    const f = frame(
      o,
      checkRange(op, o.xRange, "xRange") ?? extent(p.x),
      checkRange(op, o.yRange, "yRange") ?? extent(p.y),
    );
    let body = f.svg + dots(f, p, r);
    if (o.classNames !== undefined) {
      if (!Array.isArray(o.classNames) || o.classNames.some((n) => typeof n !== "string")) {
        throw E.typeError(op, `classNames must be an array of strings`);
      }
      body += legend(f, o.classNames, o.classNames.map((_, i) => PALETTE[i % PALETTE.length]));
    }
    return document(o, body);
  },
);

/** Options of `density2d`. */
export interface Density2dOptions extends FrameOptions {
  /** Grid size: `values` holds `n * n` numbers (see `grid2d`). */
  n: number;
  /** x range of the grid. */
  xRange: readonly [number, number];
  /** y range of the grid. */
  yRange: readonly [number, number];
  /** Number of colour bands (default 12). */
  levels?: number;
  /** Points drawn on top in white (e.g. data samples). */
  points?: Points;
}

/**
 * The `n * n` grid points covering `xRange` × `yRange` (cell centres), as `[n*n, 2]` rows in the
 * order `density2d` expects (x fastest, y from the bottom): evaluate a density at them and plot.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const xy = k.plot.grid2d(64, [-2, 2], [-2, 2]); // Float32Array of 64*64*2
 * const logp = k.tensor(xy, { shape: [64 * 64, 2] }).pow(2).sum({ axis: 1 }).mul(-0.5);
 * ```
 */
export const grid2d: (
  n: number,
  xRange: readonly [number, number],
  yRange: readonly [number, number],
) => Float32Array = E.publicOp("plot.grid2d", (n: number, xRange: unknown, yRange: unknown) => {
  const op = "plot.grid2d";
  const m = E.checkInt(op, n, "n", 1, 4096);
  const xr = checkRange(op, xRange, "xRange");
  const yr = checkRange(op, yRange, "yRange");
  if (!xr || !yr) throw E.typeError(op, "xRange and yRange are required");
  const out = new Float32Array(m * m * 2);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < m; i++) {
      out[2 * (j * m + i)] = xr[0] + ((i + 0.5) / m) * (xr[1] - xr[0]);
      out[2 * (j * m + i) + 1] = yr[0] + ((j + 0.5) / m) * (yr[1] - yr[0]);
    }
  }
  return out;
});

/**
 * A heat map of `values` sampled on the `grid2d(n, xRange, yRange)` points (row `j` of the
 * grid is the `j`-th y from the bottom), drawn as `levels` filled bands from the minimum to the
 * maximum (viridis colours; equal neighbours merge into one rectangle, so files stay small),
 * optionally with `points` on top. Returns the SVG document.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const xy = k.plot.grid2d(40, [-3, 3], [-3, 3]);
 * const v = Array.from({ length: 1600 }, (_, i) => Math.exp(-(xy[2 * i] ** 2 + xy[2 * i + 1] ** 2) / 2));
 * const svg = k.plot.density2d(v, { n: 40, xRange: [-3, 3], yRange: [-3, 3], title: "N(0, I)" });
 * ```
 */
export const density2d: (values: ArrayLike<number>, opts: Density2dOptions) => string = E
  .publicOp("plot.density2d", (values: unknown, opts: Density2dOptions): string => {
    const op = "plot.density2d";
    const v = numbers(op, values, "values");
    if (opts === undefined) throw E.typeError(op, "opts {n, xRange, yRange} is required");
    const keys = [...FRAME_KEYS, "n", "xRange", "yRange", "levels", "points"];
    const o = frameOptions(op, E.checkOptions(op, opts, keys));
    const n = E.checkInt(op, o.n, "n", 1, 4096);
    if (v.length !== n * n) {
      throw E.shapeError(op, `values must hold n*n = ${n * n} numbers, got ${v.length}`);
    }
    const xr = checkRange(op, o.xRange, "xRange"), yr = checkRange(op, o.yRange, "yRange");
    if (!xr || !yr) throw E.typeError(op, "xRange and yRange are required");
    const levels = o.levels === undefined ? 12 : E.checkInt(op, o.levels, "levels", 2, 256);
    const pts = o.points === undefined ? undefined : checkPoints(op, o.points, "points");
    const f = frame(o, xr, yr);
    const [lo, hi] = extent(v);
    const band = (t: number) =>
      Number.isFinite(t) ? Math.min(levels - 1, Math.floor(((t - lo) / (hi - lo)) * levels)) : -1;
    const cw = (f.px(xr[1]) - f.px(xr[0])) / n, ch = (f.py(yr[0]) - f.py(yr[1])) / n;
    let cells = "";
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n;) {
        const b = band(v[j * n + i]);
        let e = i + 1;
        while (e < n && band(v[j * n + e]) === b) e++;
        if (b >= 0) {
          // Rounded up by half a pixel so neighbouring cells leave no hairline gaps.
          cells +=
            `<rect x="${(f.px(xr[0]) + i * cw).toFixed(1)}" y="${
              (f.py(yr[0]) - (j + 1) * ch).toFixed(1)
            }" width="${((e - i) * cw + 0.5).toFixed(1)}" height="${(ch + 0.5).toFixed(1)}" ` +
            `fill="${viridis((b + 0.5) / levels)}"/>`;
        }
        i = e;
      }
    }
    const body = cells + f.svg + (pts ? dots(f, pts, 1.5, "white") : "");
    return document(o, body);
  });

/**
 * Writes an SVG string (from any plot here) to `path`. Needs `--allow-write`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await k.plot.save(path, k.plot.line([1, 0.5, 0.25]));
 * await Deno.remove(path);
 * ```
 */
export const save: (path: string | URL, svg: string) => Promise<void> = E.publicOp(
  "plot.save",
  async (path: string | URL, svg: string): Promise<void> => {
    const op = "plot.save";
    if (typeof path !== "string" && !(path instanceof URL)) {
      throw E.typeError(op, `path must be a string or a file: URL, got ${E.describe(path)}`);
    }
    if (typeof svg !== "string" || !svg.startsWith("<svg")) {
      throw E.typeError(op, `svg must be an SVG document string, got ${E.describe(svg)}`);
    }
    try {
      await Deno.writeTextFile(path, svg);
    } catch (e) {
      throw new k.KilnError(op, `${op}: cannot write "${path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
  },
);
