/**
 * `checkGrads`: reverse and forward mode against central finite differences in float64, to
 * any order (as JAX's `check_grads`). Tangent and cotangent directions are fixed
 * pseudo-random vectors, so a failure reproduces.
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { tensor } from "../tensor/creation.ts";
import { astype } from "../tensor/elementwise.ts";
import { realize } from "../tensor/readback.ts";
import { jvp, vjp } from "./autodiff.ts";
import { flatten, type PyTree } from "./tree.ts";
import {
  checkFunction,
  checkInt,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkTensorArg,
  describe,
  shapeError,
  typeError,
} from "../errors.ts";

/** Options of `checkGrads`. */
export interface CheckGradsOptions {
  /** Highest derivative order checked (default 1). */
  order?: number;
  /** Finite-difference step (default 1e-5). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Which modes to check (default both). */
  modes?: readonly ("fwd" | "rev")[];
}

type Fn = (...args: Tensor[]) => unknown;

let seed = 12345;
function rand(): number {
  // xorshift32: deterministic directions, independent of the library's PRNG.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) / 4294967296) * 2 - 1;
}

function randomLike(t: Tensor): Tensor {
  return tensor(Float64Array.from({ length: t.size }, rand), { shape: t.shape, device: t.device });
}

async function values(tree: unknown): Promise<Float64Array[]> {
  const leaves = flatten(tree as PyTree<Tensor>)[0].filter((l): l is Tensor => l instanceof Tensor);
  await realize(...leaves);
  return Promise.all(leaves.map(async (l) => Float64Array.from(await l.data())));
}

function dotAll(a: Float64Array[], b: Float64Array[]): number {
  let s = 0;
  a.forEach((x, i) => x.forEach((v, j) => s += v * b[i][j]));
  return s;
}

function close(
  op: string,
  got: Float64Array[],
  want: Float64Array[],
  atol: number,
  rtol: number,
): void {
  got.forEach((g, i) =>
    g.forEach((v, j) => {
      const w = want[i][j];
      if (!(Math.abs(v - w) <= atol + rtol * Math.abs(w))) {
        throw shapeError(
          "checkGrads",
          `${op} mismatch at output ${i}, element ${j}: got ${v}, expected ${w} (finite differences)`,
        );
      }
    })
  );
}

/**
 * Checks `f`'s derivatives at `args` up to `order` against central differences in float64.
 * Throws with the first mismatch. @example await k.testing.checkGrads((x) => x.sin().sum(), [x], {order: 2})
 */
export function checkGrads(
  f: Fn,
  args: readonly Tensor[],
  opts: CheckGradsOptions = {},
): Promise<void> {
  // Arguments are checked synchronously: a wrong call throws at once.
  const op = "testing.checkGrads";
  checkFunction(op, f);
  if (!Array.isArray(args)) {
    throw typeError(op, `args must be an array of tensors, got ${describe(args)}`);
  }
  args.forEach((a, i) => checkTensorArg(op, a, `args[${i}]`));
  const o = checkOptions(op, opts, ["order", "eps", "atol", "rtol", "modes"]);
  if (o.order !== undefined) checkInt(op, o.order, "order", 1);
  for (const k of ["eps", "atol", "rtol"] as const) {
    if (o[k] !== undefined) checkNumber(op, o[k], k);
  }
  if (o.modes !== undefined) {
    if (!Array.isArray(o.modes)) {
      throw typeError(op, `modes must be an array, got ${describe(o.modes)}`);
    }
    o.modes.forEach((m) => checkOneOf(op, m, ["fwd", "rev"], "modes entry"));
  }
  return checkGradsImpl(f, args, o);
}

async function checkGradsImpl(
  f: Fn,
  args: readonly Tensor[],
  opts: CheckGradsOptions,
): Promise<void> {
  const order = opts.order ?? 1, eps = opts.eps ?? 1e-5;
  const atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-5;
  const modes = opts.modes ?? ["fwd", "rev"];
  const xs = args.map((a) => astype(a, "float64"));
  const vs = xs.map(randomLike);
  const at = (s: number) => f(...xs.map((x, i) => x.add(vs[i].mul(s))));
  const [plus, minus] = [await values(at(eps)), await values(at(-eps))];
  const fd = plus.map((p, i) => p.map((v, j) => (v - minus[i][j]) / (2 * eps)));
  const g = f as (...args: never[]) => unknown;
  if (modes.includes("fwd")) {
    const [, t] = jvp(g, xs, vs);
    close("jvp", await values(t), fd, atol, rtol);
  }
  let us: Tensor[] = [];
  if (modes.includes("rev")) {
    const [y, pb] = vjp(g, ...xs);
    us = flatten(y as PyTree<Tensor>)[0].map(randomLike);
    const [, def] = flatten(y as PyTree<Tensor>);
    void def;
    const cts = pb(rebuild(y, us));
    // ⟨u, J v⟩ from finite differences must equal ⟨Jᵀu, v⟩ from the pullback.
    const lhs = dotAll(await values(us), fd);
    const rhs = dotAll(await values(cts), await values(vs));
    close(
      "vjp",
      [Float64Array.of(rhs)],
      [Float64Array.of(lhs)],
      atol * Math.max(1, fd.length),
      rtol,
    );
  }
  if (order > 1) {
    const sub = { ...opts, order: order - 1 };
    if (modes.includes("fwd")) {
      await checkGradsImpl((...ys: Tensor[]) => jvp(g, ys, vs)[1], xs, sub);
    }
    if (modes.includes("rev")) {
      await checkGradsImpl(
        (...ys: Tensor[]) => {
          const [y, pb] = vjp(g, ...ys);
          return pb(rebuild(y, us));
        },
        xs,
        sub,
      );
    }
  }
}

/** Puts `leaves` into the structure of `like`. */
function rebuild(like: unknown, leaves: Tensor[]): unknown {
  if (like instanceof Tensor) return leaves[0];
  let i = 0;
  const walk = (t: unknown): unknown =>
    t instanceof Tensor
      ? leaves[i++]
      : Array.isArray(t)
      ? t.map(walk)
      : t && typeof t === "object"
      ? Object.fromEntries(
        Object.keys(t).sort().map((k) => [k, walk((t as Record<string, unknown>)[k])]),
      )
      : t;
  return walk(like);
}
