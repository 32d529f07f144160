/**
 * Errors that name the function the user called.
 *
 * Classes: `TypeError` for an argument of the wrong kind (a string where a tensor goes, an
 * unknown option or dtype name), `RangeError` for a bad size, axis or count (negative,
 * fractional, NaN, out of range), and `KilnError` for values of the right kind that do not fit
 * together (shapes that do not broadcast or contract, wrong dtypes, operands on two devices).
 * Every message starts with `op: ` where `op` is the public name (`zeros`, `nn.mse`,
 * `optim.adam`).
 *
 * The op context: public functions are wrapped with `publicOp(name, fn)` (or run their body
 * in `userOp(name, fn)`); the wrapper counts nesting depth and remembers the OUTERMOST public
 * name. Error helpers (`typeError`, `rangeError`, `shapeError`, `opName`) use that outermost
 * name when one is active and their own `op` argument otherwise, so `zeros([2.5])` reports
 * `zeros` although `full` does the checking, and `clip(x, "0", 1)` reports `clip`, not
 * `maximum`. The cost is a counter increment/decrement and a try/finally per call; nothing is
 * caught, re-wrapped or read from stacks.
 *
 * The rule for user functions: code the USER wrote runs in the context the user called the
 * transform from, not inside the transform. A function that calls a callback (jit, vmap, grad,
 * scan, cond, foriLoop, tree.map, …) wraps it with `userCallback(f)` in its body; the callback
 * then runs with the context as it was just before that function was entered. Called by the
 * user at top level, the callback runs with no context, so `jit(f)`'s ops each report their
 * own name (`matmul: …`), never `jit`. Called by another public function (an optimizer using
 * `tree.map` on its own internal callback), the callback keeps that caller's name
 * (`optim.adam`). A wrapper that forwards a user's function to another public function
 * (hessian passing f to jacfwd/jacrev, an optimizer passing a schedule on) wraps it itself
 * first; nested wrappers compose, so the user's code still sees the user's context.
 *
 * Under tracing this gives: inside `jit(f)`, `vmap(f)`, `grad(f)`, `scan(f, …)` or a `cond`
 * branch, each op the user's `f` calls reports its own name; work the transform does itself
 * (signature checks, VJP/JVP and batching rules, the loop's carry checks) runs in the
 * transform's context and reports `jit`, `vmap`, `grad`, `scan`, `foriLoop`, …. Nodes built
 * while a public op runs can be attributed to it with `currentOp()` (KILN_DEBUG_NANS does).
 *
 * The context is synchronous: an `async` public function has it until its first `await`, so
 * errors raised after an await must name the op explicitly (they do: the helpers fall back to
 * their `op` argument).
 *
 * @example Your own op reports its own name, also for errors its inner ops raise
 * ```ts
 * import * as k from "@kiln/kiln";
 * const rms = k.errors.publicOp("myLib.rms", (x: k.Tensor, axis = -1): k.Tensor => {
 *   k.errors.checkTensorArg("myLib.rms", x, "x");
 *   return k.sqrt(k.mean(x.mul(x), { axis }));
 * });
 * console.log(await rms(k.tensor([3, 4])).item()); // 3.535534
 * try {
 *   rms(k.ones([2]), 3);
 * } catch (e) {
 *   console.log((e as Error).message); // "myLib.rms: axis 3 is out of range for rank 1"
 * }
 * ```
 * @module
 */

/**
 * A shape or dtype mismatch between arguments of the right kinds.
 * @example try { k.add(a, b) } catch (e) { if (e instanceof k.KilnError) console.log(e.op) } // "add"
 */
export class KilnError extends Error {
  /** The public name the message starts with. */
  readonly op: string;
  /** `message` must already start with `op: `; prefer `shapeError(op, msg)`. */
  constructor(op: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KilnError";
    this.op = op;
  }
}

let depth = 0;
let outer = "";

/** The outermost public op running now, if any (for messages built outside the helpers). @example k.errors.currentOp() // undefined at top level */
export function currentOp(): string | undefined {
  return depth > 0 ? outer : undefined;
}

/** The name an error raised by `op` reports: the outermost public op, else `op` itself. @example opName("maximum") // "clip" inside clip */
export function opName(op: string): string {
  return depth > 0 ? outer : op;
}

/** A `TypeError` `op: msg` (wrong kind of argument). @example throw typeError("myOp", `x must be a Tensor, got ${describe(x)}`) */
export function typeError(op: string, msg: string, options?: ErrorOptions): TypeError {
  return new TypeError(`${opName(op)}: ${msg}`, options);
}

/** A `RangeError` `op: msg` (bad size, axis or count). @example throw rangeError("myOp", `n must be >= 1, got ${n}`) */
export function rangeError(op: string, msg: string, options?: ErrorOptions): RangeError {
  return new RangeError(`${opName(op)}: ${msg}`, options);
}

/** A `KilnError` `op: msg` (shapes or dtypes that do not fit together). @example throw shapeError("myOp", `shapes [2,3] and [4] differ`) */
export function shapeError(op: string, msg: string, options?: ErrorOptions): KilnError {
  const name = opName(op);
  return new KilnError(name, `${name}: ${msg}`, options);
}

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

/**
 * Wraps a public function so that everything it calls reports `name` in errors (unless an
 * outer public function is running, whose name wins). Keeps `fn`'s type.
 * @example export const zeros: (s: number[]) => Tensor = publicOp("zeros", (s) => full(s, 0));
 */
export function publicOp<F extends Fn>(name: string, fn: F): F {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (depth++ === 0) outer = name;
    try {
      return fn.apply(this, args);
    } finally {
      depth--;
    }
  };
  Object.defineProperty(wrapped, "name", { value: fn.name || name.replace(/^.*\./, "") });
  Object.defineProperty(wrapped, "length", { value: fn.length });
  // Printing the wrapper shows the implementation (its parameter names, for tools and tests).
  Object.defineProperty(wrapped, "toString", { value: () => Function.prototype.toString.call(fn) });
  return wrapped as F;
}

/** Runs `fn` as public op `name` (the inline form of `publicOp`). @example userOp("dot", () => matmul(x, y)) */
export function userOp<T>(name: string, fn: () => T): T {
  if (depth++ === 0) outer = name;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/**
 * Wraps a user-supplied function so that it runs in the context the current public function
 * was called from (see the module doc). Call it in the body of a function run by
 * `publicOp`/`userOp`, once per call of that function.
 * @example const body = userCallback(userBody); // then call body(…) from the traced loop
 */
export function userCallback<F extends Fn>(fn: F): F {
  const d = depth > 0 ? depth - 1 : 0;
  const o = outer;
  return function (this: unknown, ...args: unknown[]): unknown {
    const sd = depth, so = outer;
    depth = d;
    outer = o;
    try {
      return fn.apply(this, args);
    } finally {
      depth = sd;
      outer = so;
    }
  } as F;
}

// ---------------------------------------------------------------------------------------------
// Validators: each checks one argument, returns it typed, and throws `op: what must be …, got …`.

/** A short description of a value for messages. @example describe("abc") // 'a string "abc"' */
export function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  switch (typeof v) {
    case "number":
      return Number.isNaN(v) ? "NaN" : `${v}`;
    case "string":
      return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
    case "boolean":
      return `${v}`;
    case "bigint":
      return `a bigint ${v}n`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
  }
  if (tensorClass && v instanceof tensorClass) {
    const t = v as unknown as { dtype: string; shape: readonly number[] };
    return `a Tensor ${t.dtype}[${t.shape.join(",")}]`;
  }
  if (Array.isArray(v)) return v.length === 0 ? "an empty array" : "an array";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (v instanceof Promise) return "a Promise (missing await?)";
  const ctor = Object.getPrototypeOf(v)?.constructor?.name;
  return ctor && ctor !== "Object" ? `a ${ctor}` : "an object";
}

// deno-lint-ignore no-explicit-any
let tensorClass: (abstract new (...args: any[]) => unknown) | undefined;

/**
 * Lets the validators recognize tensors without importing the Tensor module (no cycle).
 * @internal Called once by the Tensor module.
 */
// deno-lint-ignore no-explicit-any
export function registerTensorClass(c: abstract new (...args: any[]) => unknown): void {
  tensorClass = c;
}

/** Whether `v` is a Tensor. */
export function isTensorValue(v: unknown): boolean {
  return tensorClass !== undefined && v instanceof tensorClass;
}

/** Throws unless `x` is a Tensor. @example checkTensorArg("nn.mse", pred, "pred") */
export function checkTensorArg<T>(op: string, x: T | unknown, what = "x"): T {
  if (isTensorValue(x)) return x as T;
  throw typeError(op, `${what} must be a Tensor, got ${describe(x)}${arrayHint(x)}`);
}

/** Throws unless `x` is a Tensor, a number or a boolean. @example checkTensorLikeArg("clip", min, "min") */
export function checkTensorLikeArg<T>(op: string, x: T | unknown, what = "x"): T {
  if (typeof x === "number" || typeof x === "boolean" || isTensorValue(x)) return x as T;
  throw typeError(op, `${what} must be a Tensor or a number, got ${describe(x)}${arrayHint(x)}`);
}

function arrayHint(x: unknown): string {
  return Array.isArray(x) || ArrayBuffer.isView(x) ? " (wrap it with k.tensor)" : "";
}

/** Throws unless `x` is a finite number (NaN and ±Infinity are RangeErrors). @example checkNumber("nn.elu", alpha, "alpha") */
export function checkNumber(op: string, x: unknown, what: string): number {
  if (typeof x !== "number") throw typeError(op, `${what} must be a number, got ${describe(x)}`);
  if (!Number.isFinite(x)) throw rangeError(op, `${what} must be finite, got ${x}`);
  return x;
}

/** Throws unless `x` is an integer in `[min, max]`. @example checkInt("oneHot", n, "n", 1) */
export function checkInt(
  op: string,
  x: unknown,
  what: string,
  min = -Infinity,
  max = Infinity,
): number {
  if (typeof x !== "number") {
    throw typeError(op, `${what} must be an integer, got ${describe(x)}`);
  }
  if (!Number.isInteger(x)) throw rangeError(op, `${what} must be an integer, got ${x}`);
  if (x < min || x > max) {
    const range = max === Infinity
      ? `>= ${min}`
      : min === -Infinity
      ? `<= ${max}`
      : `in [${min}, ${max}]`;
    throw rangeError(op, `${what} must be ${range}, got ${x}`);
  }
  return x;
}

/** Throws unless `x` is a non-negative integer (a size or count). @example checkSize("eye", n, "n") */
export function checkSize(op: string, x: unknown, what: string): number {
  return checkInt(op, x, what, 0);
}

/** Throws unless `axis` is an integer axis of a rank-`rank` value; returns it non-negative. @example checkAxis("softmax", -1, 2) // 1 */
export function checkAxis(op: string, axis: unknown, rank: number, what = "axis"): number {
  if (typeof axis !== "number") {
    throw typeError(op, `${what} must be an integer, got ${describe(axis)}`);
  }
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw rangeError(op, `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Throws unless `x` is an array of integers (each `>= min`, default 0: a shape). Wrong kinds
 * are TypeErrors, bad values RangeErrors.
 * @example checkInts("zeros", shape) ; checkInts("reshape", shape, "shape", -1)
 */
export function checkInts(op: string, x: unknown, what = "shape", min = 0): number[] {
  if (!Array.isArray(x)) {
    throw typeError(op, `${what} must be an array of integers, got ${describe(x)}`);
  }
  for (const d of x) {
    if (typeof d !== "number") {
      throw typeError(op, `${what} must be an array of integers, got ${fmtList(x)}`);
    }
    if (!Number.isInteger(d) || d < min) {
      const kind = min === 0 ? "non-negative integers" : `integers >= ${min}`;
      throw rangeError(op, `${what} must be an array of ${kind}, got ${fmtList(x)}`);
    }
  }
  return [...x];
}

function fmtList(x: readonly unknown[]): string {
  return `[${x.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(",")}]`;
}

/** Throws unless `x` is one of `allowed` (dtype, device, mode names). @example checkOneOf("f", d, ["cpu", "webgpu"], "device") */
export function checkOneOf<S extends string>(
  op: string,
  x: unknown,
  allowed: readonly S[],
  what: string,
): S {
  if (typeof x === "string" && (allowed as readonly string[]).includes(x)) return x as S;
  throw typeError(
    op,
    `${what} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${
      describe(x)
    }`,
  );
}

/** Throws unless `x` is a string. @example checkString("data.loadNpy", path, "path") */
export function checkString(op: string, x: unknown, what: string): string {
  if (typeof x === "string") return x;
  throw typeError(op, `${what} must be a string, got ${describe(x)}`);
}

/** Throws unless `x` is a boolean. @example checkBool("sum", keepdims, "keepdims") */
export function checkBool(op: string, x: unknown, what: string): boolean {
  if (typeof x === "boolean") return x;
  throw typeError(op, `${what} must be true or false, got ${describe(x)}`);
}

/** Throws unless `x` is a function. @example checkFunction("jit", f) */
// deno-lint-ignore no-explicit-any
export function checkFunction<F = (...args: any[]) => unknown>(
  op: string,
  x: unknown,
  what = "f",
): F {
  if (typeof x === "function") return x as F;
  throw typeError(op, `${what} must be a function, got ${describe(x)}`);
}

/** Whether `x` is a plain object (`{…}`, not an array, tensor, map or class instance). */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/**
 * Validates an options object: `undefined` gives `{}`; anything but a plain object, or a key
 * not in `known`, is a TypeError that lists the known names.
 * @example const o = checkOptions("sum", opts, ["axis", "keepdims"]);
 */
export function checkOptions<T extends object>(
  op: string,
  opts: T | undefined,
  known: readonly string[],
  what = "options",
): T {
  if (opts === undefined) return {} as T;
  if (!isPlainObject(opts)) {
    throw typeError(
      op,
      `${what} must be an object like {${known.join(", ")}}, got ${describe(opts)}`,
    );
  }
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw typeError(
        op,
        `unknown option ${JSON.stringify(key)} (known: ${
          known.length ? known.join(", ") : "none"
        })`,
      );
    }
  }
  return opts;
}
