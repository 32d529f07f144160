/**
 * Plots in notebooks (Deno's Jupyter kernel): `figure` wraps a plot's SVG so that it displays
 * inline, `show` displays one now, and `live` keeps one output that a training loop redraws in
 * place. Outside a notebook `show` and `live` do nothing, so the same code runs as a script.
 * Importing this module also gives tensors their image view (`k.io.encodePng` as the encoder
 * of `k.display`).
 * @module
 */
import * as k from "../core/mod.ts";
import { encodePng } from "../io/png.ts";

const E = k.errors;
const DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

k.display.setImageEncoder(encodePng);

/** The part of `Deno.jupyter` used here (present only inside `deno jupyter`). */
interface Jupyter {
  display(obj: unknown, opts?: { update?: boolean; display_id?: string }): Promise<void>;
}

/** `Deno.jupyter` inside a notebook kernel; undefined elsewhere (where reading it throws). */
function jupyter(): Jupyter | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
    return typeof j?.display === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

/** A plot's SVG that displays itself in a notebook (`image/svg+xml`). */
export class Figure {
  /** The SVG document. */
  readonly svg: string;
  /** Wraps an SVG document (use `k.plot.figure`). */
  constructor(svg: string) {
    this.svg = svg;
  }
  /** The SVG document, so `${fig}` and `String(fig)` give the file's text. */
  toString(): string {
    return this.svg;
  }
  /** The mime bundle Deno's kernel shows. */
  [DISPLAY](): Record<string, string> {
    const size = /width="(\d+)" height="(\d+)"/.exec(this.svg);
    return {
      "image/svg+xml": this.svg,
      "text/plain": `Figure(${size ? `${size[1]}x${size[2]}` : "svg"})`,
    };
  }
}

function svgArg(op: string, svg: unknown): string {
  if (svg instanceof Figure) return svg.svg;
  if (typeof svg !== "string" || !svg.startsWith("<svg")) {
    throw E.typeError(op, `svg must be an SVG document string or a Figure, got ${E.describe(svg)}`);
  }
  return svg;
}

/**
 * Wraps the SVG of any plot so that a notebook cell ending with it shows the picture.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const fig = k.plot.figure(k.plot.line([3, 1, 0.5], { title: "loss" })); // last line of a cell
 * ```
 */
export const figure: (svg: string | Figure) => Figure = E.publicOp(
  "plot.figure",
  (svg: string | Figure): Figure => new Figure(svgArg("plot.figure", svg)),
);

/**
 * Shows a plot in the notebook now (anywhere in a cell, like matplotlib's `show`); resolves to
 * whether it was shown: `false` outside a notebook, where it does nothing.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * await k.plot.show(k.plot.scatter({ x: [0, 1], y: [1, 0] }));
 * ```
 */
export const show: (svg: string | Figure) => Promise<boolean> = E.publicOp(
  "plot.show",
  (svg: string | Figure): Promise<boolean> => {
    const fig = new Figure(svgArg("plot.show", svg));
    const j = jupyter();
    return j ? j.display(fig).then(() => true) : Promise.resolve(false);
  },
);

let liveCount = 0;

/** One notebook output redrawn in place (see `k.plot.live`). */
export class LiveFigure {
  /** The Jupyter display id of the output. */
  readonly id: string;
  #svg = "";
  #shown = false;
  /** Use `k.plot.live()`. */
  constructor(id: string) {
    this.id = id;
  }
  /** The SVG of the last update ("" before the first). */
  get svg(): string {
    return this.#svg;
  }
  /**
   * Draws `svg` in this figure's output: the first call adds the output, later calls replace
   * its picture (`update_display_data`). Resolves to whether a notebook showed it.
   */
  update(svg: string | Figure): Promise<boolean> {
    this.#svg = svgArg("plot.live.update", svg);
    const j = jupyter();
    if (!j) return Promise.resolve(false);
    const opts = { display_id: this.id, update: this.#shown };
    this.#shown = true;
    return j.display(new Figure(this.#svg), opts).then(() => true);
  }
  /** The latest picture, when the figure itself ends a cell. */
  [DISPLAY](): Record<string, string> {
    return this.#svg ? new Figure(this.#svg)[DISPLAY]() : { "text/plain": "LiveFigure (empty)" };
  }
}

/**
 * A figure a training loop redraws in place: `await fig.update(k.plot.line(losses))` every few
 * steps shows one picture that changes (Jupyter display ids), instead of one per step. Outside
 * a notebook `update` only keeps the SVG (read it from `fig.svg`, e.g. to save it at the end).
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const fig = k.plot.live();
 * const losses: number[] = [];
 * for (let step = 0; step < 30; step++) {
 *   losses.push(1 / (step + 1));
 *   if (step % 10 === 9) await fig.update(k.plot.line(losses, { title: "loss", logY: true }));
 * }
 * ```
 */
export const live: () => LiveFigure = E.publicOp(
  "plot.live",
  (): LiveFigure => new LiveFigure(`kiln-live-${Date.now().toString(36)}-${liveCount++}`),
);
