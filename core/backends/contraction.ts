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
