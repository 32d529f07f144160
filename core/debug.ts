/**
 * Debug switches: `KILN_DEBUG` levels (1 a line per realize, 2 a line per kernel, 3 generated
 * source) and NaN hunting (`KILN_DEBUG_NANS=1`, `=inf`, or `k.debugNans(...)`), which records
 * where each node was built and checks every kernel's float output (core/schedule/nans.ts).
 * @module
 */
import { type Node, type Origin, setOriginCapture } from "./ir/node.ts";
import { currentOp, KilnError } from "./errors.ts";

let cached: number | undefined;

/** The current `KILN_DEBUG` level (0 when unset or when env access is not granted). */
export function debugLevel(): number {
  if (cached === undefined) {
    try {
      cached = Number(Deno.env.get("KILN_DEBUG") ?? 0) || 0;
    } catch {
      cached = 0;
    }
  }
  return cached;
}

/** What NaN debugging catches: nothing (`false`), NaN, or NaN and ±Infinity. */
export type DebugNansMode = false | "nan" | "inf";

/**
 * The error NaN debugging raises (as JAX's `FloatingPointError`): the message starts with the
 * user-level op, and the fields say what produced the value and where.
 */
export class FloatingPointError extends KilnError {
  /** Always `"FloatingPointError"`, so `err.name` tells it from other `KilnError`s. */
  override name = "FloatingPointError";
  /** Builds the error; Kiln raises it, user code only catches it. */
  constructor(
    message: string,
    /** The user-level op that built the culprit (`log`, `gradient of sqrt`, ...). */
    op: string,
    /** The primitive that computed it (`log`, `mul`, ...). */
    readonly primitive: string,
    /** The user's source line where the op was called (`""` when unknown). */
    readonly site: string,
    /** Whether the bad value is NaN or an infinity. */
    readonly value: "NaN" | "Infinity" | "-Infinity",
  ) {
    super(op, message);
  }
}

// The library's own folders: stack frames there are "inside Kiln", the first other frame is
// the user's line, and the library frame just below it names the function the user called.
const ROOT = new URL("../", import.meta.url).href;
const LIB_DIRS = ["core/", "nn/", "optim/", "data/", "io/"];
const FRAME = /^\s*at (?:(.+?) \()?((?:file|https?|jsr|npm):.+?):(\d+):(\d+)\)?$/;

function isLibrary(url: string): boolean {
  if (!url.startsWith(ROOT)) return false;
  const rest = url.slice(ROOT.length);
  return rest === "mod.ts" || LIB_DIRS.some((d) => rest.startsWith(d));
}

let cwdUrl: string | null | undefined;

/** A source location shown relative to the working directory when it lies below it. */
function shortSite(url: string, line: string, col: string): string {
  if (cwdUrl === undefined) {
    try {
      cwdUrl = new URL(`file://${Deno.cwd()}/`).href;
    } catch {
      cwdUrl = null;
    }
  }
  const f = cwdUrl && url.startsWith(cwdUrl) ? url.slice(cwdUrl.length) : url;
  return `${f}:${line}:${col}`;
}

/** `Module.log` -> `log`; a function of nn/optim/data/io gets its module's prefix. */
function opName(fn: string | undefined, url: string): string {
  let name = (fn ?? "anonymous").replace(/^(?:async )?(?:Module|Object|Tensor)\./, "");
  const dir = url.slice(ROOT.length).split("/")[0];
  if (dir !== "core" && LIB_DIRS.includes(`${dir}/`)) name = `${dir}.${name}`;
  return name;
}

const sources = new Map<string, string[] | null>();

/** The identifier the user wrote at `url:line:col` (`k.sqrt(x)` -> `sqrt`), if readable. */
function calleeAt(url: string, line: number, col: number): string | undefined {
  let lines = sources.get(url);
  if (lines === undefined) {
    try {
      lines = Deno.readTextFileSync(new URL(url)).split("\n");
    } catch {
      lines = null;
    }
    sources.set(url, lines);
  }
  const m = /^[A-Za-z_$][\w$]*/.exec(lines?.[line - 1]?.slice(col - 1) ?? "");
  return m && m[0] !== "new" ? m[0] : undefined;
}

/**
 * An origin read off the stack, lazily: building a node only captures V8's structured stack
 * (microseconds); formatting it, which maps every frame through source maps (about a
 * millisecond), happens only when an error shows the origin. The op name is the public op that
 * was running (core/errors.ts), else the identifier at the user's call site (exact even for ops
 * made by factories, whose frames are anonymous), else the library frame's function name.
 */
class StackOrigin implements Origin {
  private resolved: { op: string; site: string } | undefined;
  constructor(private stack: Error | undefined, private readonly current: string | undefined) {}
  private resolve(): { op: string; site: string } {
    if (this.resolved) return this.resolved;
    const text = this.stack?.stack ?? "";
    this.stack = undefined;
    let lastLib: RegExpExecArray | null = null;
    for (const line of text.split("\n")) {
      const m = FRAME.exec(line);
      if (!m) continue;
      if (isLibrary(m[2])) {
        lastLib = m;
        continue;
      }
      const op = this.current ?? calleeAt(m[2], +m[3], +m[4]) ??
        (lastLib ? opName(lastLib[1], lastLib[2]) : opName(m[1], m[2]));
      return this.resolved = { op, site: shortSite(m[2], m[3], m[4]) };
    }
    const op = this.current ?? (lastLib ? opName(lastLib[1], lastLib[2]) : "unknown");
    return this.resolved = { op, site: "" };
  }
  get op(): string {
    return this.resolve().op;
  }
  get site(): string {
    return this.resolve().site;
  }
}

/** `derived of <the primal's op>`, resolved as lazily as the primal's origin. */
class DerivedOrigin implements Origin {
  constructor(
    private readonly derived: string,
    private readonly base: Origin | undefined,
    private readonly primitive: string,
  ) {}
  get op(): string {
    const base = this.base?.op ?? this.primitive;
    return this.derived ? `${this.derived} of ${base}` : base;
  }
  get site(): string {
    return this.base?.site ?? "";
  }
}

let override: Origin | undefined;

/** The origin of a node being built now: an active override, else the stack (lazily). */
function captureFromStack(): Origin | undefined {
  if (override) return override;
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 200; // deep library stacks under jit/grad before the user's frame
  const stack = new Error();
  E.stackTraceLimit = limit;
  return new StackOrigin(stack, currentOp());
}

/**
 * Runs `f` with every node it builds attributed to `derived` of `primal`'s origin (the VJP of
 * a `log` node is `gradient of log`, at the line that called `log`); with `derived` empty, to
 * `primal`'s origin itself (a node rebuilt by vmap or a graph substitution). Free when
 * debugging is off.
 */
export function withDerivedOrigin<T>(primal: Node, derived: string, f: () => T): T {
  if (mode === false) return f();
  const prev = override;
  override = derived || !primal.origin
    ? new DerivedOrigin(derived, primal.origin, primal.op)
    : primal.origin;
  try {
    return f();
  } finally {
    override = prev;
  }
}

function envMode(): DebugNansMode {
  let v: string | undefined;
  try {
    v = Deno.env.get("KILN_DEBUG_NANS");
  } catch {
    return false;
  }
  if (v === undefined || v === "" || v === "0" || v.toLowerCase() === "false") return false;
  return v.toLowerCase() === "inf" ? "inf" : "nan";
}

let mode: DebugNansMode = false;

function setMode(m: DebugNansMode): void {
  mode = m;
  setOriginCapture(m === false ? null : captureFromStack);
}
setMode(envMode()); // read once, at startup

/** The NaN-debugging mode in effect (read by the program runner after each kernel). */
export function nanMode(): DebugNansMode {
  return mode;
}

/**
 * Turns NaN debugging on or off for this process (as `jax.config.update("jax_debug_nans")`);
 * `KILN_DEBUG_NANS=1` (or `=inf`) sets it at startup. While on, every node records the
 * user-level op and source line that built it, every kernel's float output is read back and
 * checked, and the first NaN (with `"inf"` also ±Infinity) raises a `FloatingPointError` that
 * names the op (the first in program order inside the fused kernel), its input shapes and the
 * line. Nodes built while it was off have no line. Returns the mode in effect before the call
 * (so a test can restore it); with no argument only reads it.
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const prev = k.debugNans(true);
 * try {
 *   await k.tensor([1, 0]).log().mul(0).data(); // FloatingPointError: mul: NaN ...
 * } catch (e) {
 *   console.log((e as Error).message);
 * } finally {
 *   k.debugNans(prev);
 * }
 * ```
 */
export function debugNans(on?: boolean | "nan" | "inf"): DebugNansMode {
  const prev = mode;
  if (on === undefined) return prev;
  if (on !== true && on !== false && on !== "nan" && on !== "inf") {
    throw new TypeError(`debugNans: expected true, false, "nan" or "inf", got ${String(on)}`);
  }
  setMode(on === true ? "nan" : on);
  return prev;
}
