/**
 * The linear-algebra primitives, one record each (`defineHost`): the host kernel, its output
 * shapes, and its reverse- and forward-mode rules, which are JAX's (the VJPs written out as the
 * transposes of JAX's JVPs). Rules are composed of these primitives and ordinary ops, so they
 * can be differentiated again. Sources arrive with equal batch axes (the public functions
 * broadcast them); eigh and cholesky receive a symmetrized matrix, so their tangents are
 * symmetric as the rules assume.
 * @module
 */
import type { Node } from "../ir/node.ts";
import { projsOf } from "../ir/call.ts";
import type { Eqn } from "../ir/primitive.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { castNode, wrap } from "../tensor/convert.ts";
import { expandDims } from "../tensor/movement.ts";
import { add, div, equal, mul, neg, sub } from "../tensor/elementwise.ts";
import { sum } from "../tensor/reduce.ts";
import { typeError } from "../errors.ts";
import { defineHost, hostCall, type LinalgOpts } from "./host_call.ts";
import { cholesky, nonFinite, slogdet, solveLu, solveTriangular } from "./host_lu.ts";
import { eigh, svd } from "./host_eig.ts";
import { qr } from "./host_qr.ts";
import { diagEmbed, diagonalOf, eyeLike, mm, mT, tril, triu } from "./util.ts";

const T = (n: Node): Tensor => wrap(n);
const outsOf = (eq: Eqn): Tensor[] => projsOf(eq.out).map((p) => T(p!));
const last2 = (s: readonly number[]) => s.slice(-2);
const finite = (ins: readonly Float64Array[]) => !ins.some(nonFinite);

/** `A⁻¹ B` (square A, B with the same batch axes). */
export function pSolve(a: Tensor, b: Tensor, check = ""): Tensor {
  return T(hostCall("linalg_solve", [a.node, b.node], {}, check)[0]);
}

/** `[sign, log|det|]`. */
export function pSlogdet(a: Tensor): [Tensor, Tensor] {
  const [s, l] = hostCall("linalg_slogdet", [a.node]);
  return [T(s), T(l)];
}

/** Lower Cholesky factor of a symmetric matrix. */
export function pCholesky(a: Tensor, check = ""): Tensor {
  return T(hostCall("linalg_cholesky", [a.node], {}, check)[0]);
}

/** Options of a triangular solve `op(A) X = B`. */
export interface TriOpts {
  lower: boolean;
  transpose: boolean;
  unitDiagonal: boolean;
}

/** `op(A)⁻¹ B` for triangular A. */
export function pTriSolve(a: Tensor, b: Tensor, o: TriOpts, check = ""): Tensor {
  return T(hostCall("linalg_trisolve", [a.node, b.node], { ...o }, check)[0]);
}

/** Householder QR. */
export function pQr(a: Tensor, complete: boolean): [Tensor, Tensor] {
  const [q, r] = hostCall("linalg_qr", [a.node], { complete });
  return [T(q), T(r)];
}

/** Symmetric eigendecomposition (ascending). */
export function pEigh(a: Tensor): [Tensor, Tensor] {
  const [w, v] = hostCall("linalg_eigh", [a.node]);
  return [T(w), T(v)];
}

/** SVD `[U, s, Vᵀ]` (descending s). */
export function pSvd(a: Tensor, full: boolean): [Tensor, Tensor, Tensor] {
  const [u, s, vh] = hostCall("linalg_svd", [a.node], { full });
  return [T(u), T(s), T(vh)];
}

/** A boolean mask as 0/1 of x's dtype. */
const asF = (b: Tensor, like: Tensor) => T(castNode(b.node, like.dtype));
/** 1/x where x ≠ 0, else 0 (no inf, and no NaN in higher derivatives). */
function safeRecip(x: Tensor): Tensor {
  const z = asF(equal(x, 0), x);
  return sub(div(1, add(x, z)), z);
}
/** `F_ij = 1/(d_j − d_i)` off the diagonal, 0 on it, from a vector of gaps `d`. */
function gapMatrix(d: Tensor): Tensor {
  const n = d.shape[d.ndim - 1];
  const I = eyeLike(n, d);
  const diff = sub(expandDims(d, -2), expandDims(d, -1));
  return mul(div(1, add(diff, I)), sub(1, I));
}
const trace = (x: Tensor) => sum(diagonalOf(x), { axis: -1 });
const tri = (o: LinalgOpts): TriOpts => ({
  lower: o.lower as boolean,
  transpose: o.transpose as boolean,
  unitDiagonal: o.unitDiagonal as boolean,
});

defineHost({
  name: "linalg_solve",
  core: [2, 2],
  outShapes: (s) => [[s[0][0], s[1][1]]],
  kernel: ([a, b], s) => [solveLu(a, b, s[0][0], s[1][1])],
  problem: (ins, [x]) => finite(ins) && nonFinite(x) ? "matrix a is singular" : "",
}, {
  vjp([g], eq) {
    if (!g) return [null, null];
    const [x] = outsOf(eq);
    const gb = pSolve(mT(T(eq.src[0])), T(g));
    return [neg(mm(gb, mT(x))).node, gb.node];
  },
  jvp([da, db], eq) {
    const [x] = outsOf(eq);
    let rhs = db ? T(db) : null;
    if (da) rhs = rhs ? sub(rhs, mm(T(da), x)) : neg(mm(T(da), x));
    return [pSolve(T(eq.src[0]), rhs!).node];
  },
});

defineHost({
  name: "linalg_slogdet",
  core: [2],
  outShapes: () => [[], []],
  kernel: ([a], s) => slogdet(a, s[0][0]).map((v) => Float64Array.of(v)),
}, {
  vjp([, gl], eq) {
    if (!gl) return [null];
    const a = T(eq.src[0]);
    const invT = pSolve(mT(a), eyeLike(a.shape[a.ndim - 1], a).broadcastTo(a.shape));
    return [mul(expandDims(T(gl), [-1, -2]), invT).node];
  },
  jvp([da], eq) {
    return [null, trace(pSolve(T(eq.src[0]), T(da!))).node];
  },
});

defineHost({
  name: "linalg_cholesky",
  core: [2],
  outShapes: (s) => [[...s[0]]],
  kernel: ([a], s) => [cholesky(a, s[0][0])],
  problem: (ins, [l]) => finite(ins) && nonFinite(l) ? "matrix a is not positive definite" : "",
}, {
  // With Φ(X) = the lower triangle of X with its diagonal halved:
  // dL = L Φ(L⁻¹ dA L⁻ᵀ), and Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹).
  vjp([g], eq) {
    if (!g) return [null];
    const [l] = outsOf(eq);
    const p = phi(mm(mT(l), T(g)));
    const up = { lower: true, transpose: true, unitDiagonal: false };
    // S = L⁻ᵀ P L⁻¹ = L⁻ᵀ (L⁻ᵀ Pᵀ)ᵀ.
    const s = pTriSolve(l, mT(pTriSolve(l, mT(p), up)), up);
    return [mul(add(s, mT(s)), 0.5).node];
  },
  jvp([da], eq) {
    const [l] = outsOf(eq);
    const lo = { lower: true, transpose: false, unitDiagonal: false };
    // L⁻¹ dA L⁻ᵀ = L⁻¹ (L⁻¹ dAᵀ)ᵀ.
    const m = pTriSolve(l, mT(pTriSolve(l, mT(T(da!)), lo)), lo);
    return [mm(l, phi(m)).node];
  },
});

function phi(x: Tensor): Tensor {
  return sub(tril(x), mul(diagEmbed(diagonalOf(x)), 0.5));
}

/** The entries of a triangular solve's matrix that it reads (the others have no effect). */
function triMask(x: Tensor, o: TriOpts): Tensor {
  const d = o.unitDiagonal ? 1 : 0;
  return o.lower ? tril(x, -d) : triu(x, d);
}

defineHost({
  name: "linalg_trisolve",
  core: [2, 2],
  outShapes: (s) => [[s[0][0], s[1][1]]],
  kernel: ([a, b], s, o) => [solveTriangular(a, b, s[0][0], s[1][1], tri(o))],
  problem: (ins, [x]) => finite(ins) && nonFinite(x) ? "matrix a is singular" : "",
}, {
  vjp([g], eq) {
    if (!g) return [null, null];
    const o = tri((eq.out.arg as { opts: LinalgOpts }).opts);
    const a = T(eq.src[0]);
    const [x] = outsOf(eq);
    const gb = pTriSolve(a, T(g), { ...o, transpose: !o.transpose });
    const ga = o.transpose ? neg(mm(x, mT(gb))) : neg(mm(gb, mT(x)));
    return [triMask(ga, o).node, gb.node];
  },
  jvp([da, db], eq) {
    const o = tri((eq.out.arg as { opts: LinalgOpts }).opts);
    const a = T(eq.src[0]);
    const [x] = outsOf(eq);
    let rhs = db ? T(db) : null;
    if (da) {
      const m = triMask(T(da), o);
      const t = mm(o.transpose ? mT(m) : m, x);
      rhs = rhs ? sub(rhs, t) : neg(t);
    }
    return [pTriSolve(a, rhs!, o).node];
  },
});

function qrDerivable(eq: Eqn, op: string): void {
  const [m, n] = last2(eq.src[0].shape);
  const complete = (eq.out.arg as { opts: LinalgOpts }).opts.complete;
  if (m < n || (complete && m !== n)) {
    throw typeError(
      op,
      `derivatives of qr need m >= n, and m == n for mode "complete" (got ${m}×${n}), as JAX`,
    );
  }
}

defineHost({
  name: "linalg_qr",
  core: [2],
  outShapes: ([[m, n]], o) => {
    const q = o.complete ? m : Math.min(m, n);
    return [[m, q], [q, n]];
  },
  kernel: ([a], [[m, n]], o) => qr(a, m, n, o.complete as boolean),
}, {
  // dQ = Q(Ω − K) + C, dR = (K − Ω)R with C = dA R⁻¹, K = QᵀC, Ω = tril(K,−1) − tril(K,−1)ᵀ;
  // its transpose: Ā = (Q̄ + Q N) R⁻ᵀ, M = R̄ Rᵀ − QᵀQ̄, N = triu(M) + triu(M, 1)ᵀ.
  vjp([gq, gr], eq) {
    qrDerivable(eq, "vjp of linalg.qr");
    const [q, r] = outsOf(eq);
    let m: Tensor | null = gr ? mm(T(gr), mT(r)) : null;
    if (gq) m = m ? sub(m, mm(mT(q), T(gq))) : neg(mm(mT(q), T(gq)));
    let lhs = mm(q, add(triu(m!), mT(triu(m!, 1))));
    if (gq) lhs = add(lhs, T(gq));
    const up = { lower: false, transpose: false, unitDiagonal: false };
    return [mT(pTriSolve(r, mT(lhs), up)).node];
  },
  jvp([da], eq) {
    qrDerivable(eq, "jvp of linalg.qr");
    const [q, r] = outsOf(eq);
    const c = mT(pTriSolve(r, mT(T(da!)), { lower: false, transpose: true, unitDiagonal: false }));
    const k = mm(mT(q), c);
    const low = tril(k, -1);
    const om = sub(low, mT(low));
    return [add(mm(q, sub(om, k)), c).node, mm(sub(k, om), r).node];
  },
});

defineHost({
  name: "linalg_eigh",
  core: [2],
  outShapes: ([[n]]) => [[n], [n, n]],
  kernel: ([a], [[n]]) => eigh(a, n),
}, {
  // dw = diag(Vᵀ dA V), dV = V (F ∘ Vᵀ dA V) with F_ij = 1/(w_j − w_i);
  // Ā = V (diag(w̄) + F ∘ Vᵀ V̄) Vᵀ.
  vjp([gw, gv], eq) {
    const [w, v] = outsOf(eq);
    let inner: Tensor | null = gv ? mul(gapMatrix(w), mm(mT(v), T(gv))) : null;
    if (gw) inner = inner ? add(inner, diagEmbed(T(gw))) : diagEmbed(T(gw));
    if (!inner) return [null];
    return [mm(mm(v, inner), mT(v)).node];
  },
  jvp([da], eq) {
    const [w, v] = outsOf(eq);
    const m = mm(mm(mT(v), T(da!)), v);
    return [diagonalOf(m).node, mm(v, mul(gapMatrix(w), m)).node];
  },
});

function svdDerivable(eq: Eqn, op: string): void {
  const [m, n] = last2(eq.src[0].shape);
  if ((eq.out.arg as { opts: LinalgOpts }).opts.full && m !== n) {
    throw typeError(op, `derivatives of svd need fullMatrices: false for ${m}×${n} inputs`);
  }
}

defineHost({
  name: "linalg_svd",
  core: [2],
  outShapes: ([[m, n]], o) => {
    const k = Math.min(m, n);
    return o.full ? [[m, m], [k], [n, n]] : [[m, k], [k], [k, n]];
  },
  kernel: ([a], [[m, n]], o) => svd(a, m, n, o.full as boolean),
}, {
  vjp([gu, gs, gvh], eq) {
    svdDerivable(eq, "vjp of linalg.svd");
    const [m, n] = last2(eq.src[0].shape);
    const [u, s, vh] = outsOf(eq);
    const v = mT(vh), k = s.shape[s.ndim - 1];
    const f = gapMatrix(mul(s, s));
    const row = (x: Tensor) => mul(x, expandDims(s, -2)); // X S
    const colS = (x: Tensor) => mul(x, expandDims(s, -1)); // S X
    const sInv = expandDims(safeRecip(s), -2);
    let jbar: Tensor | null = gs ? diagEmbed(T(gs)) : null;
    const acc = (t: Tensor) => jbar = jbar ? add(jbar, t) : t;
    if (gu) {
      const au = mul(f, mm(mT(u), T(gu)));
      acc(row(add(au, mT(au))));
    }
    const gv = gvh ? mT(T(gvh)) : null;
    if (gv) {
      const av = mul(f, mm(mT(v), gv));
      acc(colS(add(av, mT(av))));
    }
    let ga = jbar ? mm(mm(u, jbar), vh) : null;
    const plus = (t: Tensor) => ga = ga ? add(ga, t) : t;
    if (gu && m > k) {
      const proj = sub(T(gu), mm(u, mm(mT(u), T(gu)))); // (I − UUᵀ) Ū
      plus(mm(mul(proj, sInv), vh));
    }
    if (gv && n > k) {
      const proj = sub(gv, mm(v, mm(vh, gv))); // (I − VVᵀ) V̄
      plus(mm(mul(u, sInv), mT(proj)));
    }
    return [ga ? (ga as Tensor).node : null];
  },
  jvp([da], eq) {
    svdDerivable(eq, "jvp of linalg.svd");
    const [m, n] = last2(eq.src[0].shape);
    const [u, s, vh] = outsOf(eq);
    const v = mT(vh), k = s.shape[s.ndim - 1];
    const dA = T(da!);
    const j = mm(mm(mT(u), dA), v);
    const f = gapMatrix(mul(s, s));
    const sRow = expandDims(s, -2), sCol = expandDims(s, -1);
    let du = mm(u, mul(f, add(mul(j, sRow), mul(mT(j), sCol))));
    let dv = mm(v, mul(f, add(mul(j, sCol), mul(mT(j), sRow))));
    const sInv = expandDims(safeRecip(s), -2);
    if (m > k) {
      const dav = mm(dA, v);
      du = add(du, mul(sub(dav, mm(u, mm(mT(u), dav))), sInv));
    }
    if (n > k) {
      const dau = mm(mT(dA), u);
      dv = add(dv, mul(sub(dau, mm(v, mm(vh, dau))), sInv));
    }
    return [du.node, diagonalOf(j).node, mT(dv).node];
  },
});
