/**
 * Small SVG plots for examples, READMEs and notebooks, without dependencies: `line` (curves
 * against step, linear or log y), `scatter` (points coloured by class), `density2d` (a function
 * sampled on `grid2d` points, as filled level bands with optional points on top) and `save`.
 * Every plot returns a standalone SVG document string. Plots take plain numbers (read tensors
 * with `await t.data()` first), so they work the same on every device. In a notebook (Deno's
 * Jupyter kernel) `figure(svg)` displays inline, `show(svg)` displays now, and `live()` is one
 * output a training loop redraws in place; outside a notebook these do nothing.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const svg = k.plot.scatter({ x: [0, 1, 2], y: [1, 0, 1], labels: [0, 1, 1] }, { title: "points" });
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await k.plot.save(path, svg);
 * await Deno.remove(path);
 * ```
 * @module
 */
export {
  density2d,
  type Density2dOptions,
  grid2d,
  line,
  type LineOptions,
  type Points,
  save,
  scatter,
  type ScatterOptions,
  type Series,
} from "./plots.ts";
export { type FrameOptions, PALETTE } from "./svg.ts";
export { Figure, figure, live, LiveFigure, show } from "./display.ts";
