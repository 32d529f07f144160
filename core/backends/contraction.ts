/**
 * Recognizing a contraction in kernel IR. The scheduler has no matmul primitive: a matmul
 * reaches a backend as a sum-reduction whose per-iteration value is `load(X) * load(Y)` with
 * affine indices. Backends with a tiled fast path (CPU, WebGPU) share this recognizer.
 * @module
 */
import type { DType } from "../dtype.ts";
import { type Instr, type KernelIR, linearForm, type Loop } from "../ir/kernel.ts";

/** A load at an affine index: constant plus coefficient per loop variable. */
export interface Access {
  load: Instr;
  c: number;
  coef: Map<Instr, number>;
}

function access(load: Instr, allowed: Set<Instr>): Access | undefined {
  if (load.op !== "load") return undefined;
  const lin = linearForm(load.args[0]);
  if (!lin) return undefined;
  for (const t of lin.terms.keys()) if (!allowed.has(t)) return undefined;
  return { load, c: lin.c, coef: lin.terms };
}

/** A recognized contraction `out[b, i, j] = epi(Σ_r X[b, i, r] · Y[b, r, j])`. */
export interface Contraction {
  readonly L: Loop;
  readonly X: Access;
  readonly Y: Access;
  readonly i: Instr | undefined;
  readonly j: Instr;
  readonly r: Instr;
  readonly batch: readonly Instr[];
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/**
 * The contraction `ir` computes (a sum over one loop of `load(X) * load(Y)` with affine
 * indices, any elementwise epilogue), or undefined when it is not one. `accept` says which
 * product dtypes the backend's fast path handles.
 */
export function findContraction(
  ir: KernelIR,
  live: Set<unknown>,
  accept: (d: DType) => boolean,
): Contraction | undefined {
  const outItems = ir.out.scopes.flatMap((s) => s.items);
  const loops = outItems.filter((it): it is Loop => "kind" in it && live.has(it));
  const rootWork = ir.root.items.some((it) =>
    it !== ir.out && live.has(it) && ("kind" in it || it.op !== "const")
  );
  if (loops.length !== 1 || rootWork) return undefined;
  const L = loops[0];
  if (L.reduceOp !== "sum" || L.vars.length !== 1 || L.vars[0].op !== "var") return undefined;
  if (L.body.items.some((it) => "kind" in it)) return undefined;
  const v = L.value!;
  if (v.op !== "mul" || !accept(v.dtype)) return undefined;
  const r = L.vars[0];
  const outVars = ir.out.vars.filter((x) => x.op === "var");
  const allowed = new Set([...outVars, r]);
  let X = access(v.args[0], allowed), Y = access(v.args[1], allowed);
  if (!X || !Y) return undefined;
  const cf = (a: Access, x: Instr) => a.coef.get(x) ?? 0;
  let j = [...outVars].reverse().find((x) => cf(X!, x) === 0 && cf(Y!, x) !== 0);
  if (!j) {
    [X, Y] = [Y, X];
    j = [...outVars].reverse().find((x) => cf(X!, x) === 0 && cf(Y!, x) !== 0);
  }
  if (!j) return undefined;
  const i = [...outVars].reverse().find((x) => x !== j && cf(Y!, x) === 0 && cf(X!, x) !== 0);
  const batch = outVars.filter((x) => x !== i && x !== j);
  const size = (x: Instr) => ir.out.sizes[ir.out.vars.indexOf(x)];
  return { L, X, Y, i, j, r, batch, M: i ? size(i) : 1, N: size(j), K: L.sizes[0] };
}

/**
 * A contraction in general form: `out[b…, i…, j…] = epi(Σ_{r…} X(b…, i…, r…) · Y(b…, j…, r…))`
 * where `X` and `Y` are any loop-free expressions (masked loads of a padded window, casts, …)
 * and each group of variables may hold several axes. Backends that pack operands into
 * contiguous panels (im2col, as PyTorch's CPU convolutions do) evaluate `X` over `i…, r…` and
 * `Y` over `r…, j…` once per batch index, then run their tiled matrix product on the panels:
 * `M = Π|i…|`, `N = Π|j…|`, `K = Π|r…|`.
 */
export interface GeneralContraction {
  readonly L: Loop;
  /** The operands' values. */
  readonly x: Instr;
  readonly y: Instr;
  /** Output variables both operands (or neither) depend on, in loop order. */
  readonly batch: readonly Instr[];
  /** Output variables only `x` depends on, in loop order. */
  readonly I: readonly Instr[];
  /** Output variables only `y` depends on, in loop order. */
  readonly J: readonly Instr[];
  /** The reduction variables, in loop order. */
  readonly R: readonly Instr[];
  /** Instructions computing `x` / `y` (loads included), in dependency order. */
  readonly xChain: readonly Instr[];
  readonly yChain: readonly Instr[];
  /** Loop sizes of every variable above. */
  readonly size: ReadonlyMap<Instr, number>;
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/** The loop-free instructions `v` depends on (dependency order) and the variables it reads. */
function chainOf(v: Instr): { chain: Instr[]; vars: Set<Instr> } | undefined {
  const seen = new Set<Instr>(), vars = new Set<Instr>();
  const chain: Instr[] = [];
  const stack = [v];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    if (x.op === "reduce") return undefined;
    if (x.op === "var") vars.add(x);
    else if (x.op !== "const") chain.push(x);
    stack.push(...x.args);
  }
  // SSA ids grow with creation, so ascending ids is a dependency order.
  chain.sort((a, b) => a.id - b.id);
  return { chain, vars };
}

/**
 * The general contraction `ir` computes, or undefined when it is not one (see
 * `GeneralContraction`). `accept` says which product dtypes the backend's fast path handles.
 */
export function findGeneralContraction(
  ir: KernelIR,
  live: Set<unknown>,
  accept: (d: DType) => boolean,
): GeneralContraction | undefined {
  const outItems = ir.out.scopes.flatMap((s) => s.items);
  const loops = outItems.filter((it): it is Loop => "kind" in it && live.has(it));
  // Work hoisted to the root (a PRNG key schedule for a fused dropout mask) is fine: the
  // operand and epilogue chains re-derive what they need; a root loop is not.
  const rootLoop = ir.root.items.some((it) => it !== ir.out && live.has(it) && "kind" in it);
  if (loops.length !== 1 || rootLoop) return undefined;
  const L = loops[0];
  if (L.reduceOp !== "sum" || L.body.items.some((it) => "kind" in it)) return undefined;
  const v = L.value!;
  if (v.op !== "mul" || !accept(v.dtype)) return undefined;
  const cx = chainOf(v.args[0]), cy = chainOf(v.args[1]);
  if (!cx || !cy) return undefined;
  const size = new Map<Instr, number>();
  ir.out.vars.forEach((x, k) => x.op === "var" && size.set(x, ir.out.sizes[k]));
  L.vars.forEach((x, k) => x.op === "var" && size.set(x, L.sizes[k]));
  const outVars = ir.out.vars.filter((x) => x.op === "var");
  const R = L.vars.filter((x) => x.op === "var");
  const I = outVars.filter((x) => cx.vars.has(x) && !cy.vars.has(x));
  const J = outVars.filter((x) => cy.vars.has(x) && !cx.vars.has(x));
  const batch = outVars.filter((x) => !I.includes(x) && !J.includes(x));
  const prod = (xs: readonly Instr[]) => xs.reduce((a, x) => a * size.get(x)!, 1);
  return {
    L,
    x: v.args[0],
    y: v.args[1],
    batch,
    I,
    J,
    R,
    xChain: cx.chain,
    yChain: cy.chain,
    size,
    M: prod(I),
    N: prod(J),
    K: prod(R),
  };
}
