/**
 * Contractions. There is no contraction primitive: `matmul` is a broadcast multiply and a sum
 * over the shared axis, which the scheduler fuses into one kernel (with any elementwise
 * epilogue) and the CPU backend recognizes and emits as a blocked matmul loop.
 * @module
 */

import { broadcastShapes, fmt } from "../shape.ts";
import {
  asTensor,
  broadcastNode,
  castNode,
  resultDtype,
  sameDevice,
  type TensorLike,
  wrap,
} from "./convert.ts";
import { broadcastTo, reshape, slice, transpose } from "./movement.ts";
import { mul } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import type { Tensor } from "./tensor.ts";
import { checkString, rangeError, shapeError, typeError, userOp } from "../errors.ts";

/**
 * Matrix product with numpy semantics: 1-D operands are promoted to a row/column and the
 * added axis removed; leading (batch) axes broadcast.
 * @example k.matmul(x, w) // [32,784] @ [784,256] -> [32,256]
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  return userOp("matmul", () => matmulImpl(a, b));
}

function matmulImpl(a: TensorLike, b: TensorLike): Tensor {
  let x = asTensor("matmul", a, "a"), y = asTensor("matmul", b, "b");
  sameDevice("matmul", [x, y]);
  if (x.ndim === 0 || y.ndim === 0) {
    throw shapeError(
      "matmul",
      `operands must have at least 1 dimension, got ${fmt(x.shape)} @ ${fmt(y.shape)}`,
    );
  }
  const d = resultDtype([x, y]);
  x = wrap(castNode(x.node, d === "bool" ? "int32" : d));
  y = wrap(castNode(y.node, d === "bool" ? "int32" : d));
  const xv = x.ndim === 1, yv = y.ndim === 1;
  if (xv) x = reshape(x, [1, x.shape[0]]);
  if (yv) y = reshape(y, [y.shape[0], 1]);
  const [m, k] = x.shape.slice(-2), [k2, n] = y.shape.slice(-2);
  if (k !== k2) {
    throw shapeError(
      "matmul",
      `${fmt(xv ? [k] : x.shape)} @ ${
        fmt(yv ? [k2] : y.shape)
      }: inner dimensions ${k} and ${k2} differ`,
    );
  }
  const batch = broadcastShapes("matmul", x.shape.slice(0, -2), y.shape.slice(0, -2));
  const full = [...batch, m, n, k];
  const xe = wrap(broadcastNode(reshape(x, [...x.shape.slice(0, -1), 1, k]).node, full));
  const yt = transpose(y, [...Array(y.ndim - 2).keys(), y.ndim - 1, y.ndim - 2]);
  const ye = wrap(broadcastNode(reshape(yt, [...yt.shape.slice(0, -2), 1, n, k]).node, full));
  let out = sum(mul(xe, ye), { axis: -1 });
  if (xv) out = reshape(out, [...out.shape.slice(0, -2), n]);
  if (yv) out = reshape(out, out.shape.slice(0, -1));
  return out;
}

/**
 * `numpy.dot`: inner product of vectors, matrix product of matrices, and for N-D a sum over
 * the last axis of `a` and the second-to-last of `b`. @example k.dot(u, v)
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  return userOp("dot", () => {
    const x = asTensor("dot", a, "a"), y = asTensor("dot", b, "b");
    if (x.ndim === 0 || y.ndim === 0) return mul(x, y);
    if (x.ndim <= 2 && y.ndim <= 2) return matmul(x, y);
    if (x.ndim + y.ndim > 27) {
      throw rangeError("dot", `ranks ${x.ndim} and ${y.ndim} are too many axes for einsum`);
    }
    const letters = "abcdefghijklmnopqrstuvwxyz";
    const xs = letters.slice(0, x.ndim - 1) + "Z";
    const ys = letters.slice(x.ndim - 1, x.ndim - 1 + y.ndim - 2) + "Z" + "Y";
    return einsum(`${xs},${ys}->${xs.slice(0, -1)}${ys.slice(0, -2)}Y`, x, y);
  });
}

/**
 * Einstein summation over letter subscripts, with explicit (`"ij,jk->ik"`) or implicit output
 * (letters seen once, sorted). Repeated letters in one operand take a diagonal (`"ii->"`).
 * Lowered to views, one broadcast multiply and one sum: a single fused kernel.
 * @example k.einsum("bij,bjk->bik", a, b)
 */
export function einsum(spec: string, ...operands: TensorLike[]): Tensor {
  return userOp("einsum", () => einsumImpl(spec, operands));
}

function einsumImpl(spec: string, operands: TensorLike[]): Tensor {
  checkString("einsum", spec, "subscripts");
  operands.forEach((x, i) => asTensor("einsum", x, `operand ${i}`));
  const s = spec.replace(/\s+/g, "");
  const [lhs, rhsRaw] = s.includes("->") ? s.split("->") : [s, undefined];
  const ins = lhs.split(",");
  if (ins.length !== operands.length) {
    throw typeError(
      "einsum",
      `"${spec}" names ${ins.length} operands but ${operands.length} were given`,
    );
  }
  if (s.includes(".")) {
    throw typeError("einsum", `ellipsis ("...") is not supported yet in "${spec}"`);
  }
  for (const term of [...ins, rhsRaw ?? ""]) {
    if (!/^[a-zA-Z]*$/.test(term)) {
      throw typeError("einsum", `bad subscripts "${term}" in "${spec}"`);
    }
  }
  const counts = new Map<string, number>();
  for (const c of ins.join("")) counts.set(c, (counts.get(c) ?? 0) + 1);
  const rhs = rhsRaw ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join("");
  for (const c of rhs) {
    if (!counts.has(c)) {
      throw typeError(
        "einsum",
        `output subscript "${c}" does not appear in the inputs of "${spec}"`,
      );
    }
  }
  const dtype = resultDtype(operands);
  sameDevice("einsum", operands.map((x) => asTensor("einsum", x)));
  const sizes = new Map<string, number>();
  const ts = ins.map((term, i) => {
    let t = wrap(castNode(asTensor("einsum", operands[i]).node, dtype));
    if (term.length !== t.ndim) {
      throw shapeError(
        "einsum",
        `operand ${i} has shape ${fmt(t.shape)} but subscripts "${term}" name ${term.length} axes`,
      );
    }
    let letters = term;
    for (let j = 0; j < letters.length; j++) {
      const c = letters[j], n = t.shape[j];
      const known = sizes.get(c);
      if (known !== undefined && known !== n && known !== 1 && n !== 1) {
        throw shapeError("einsum", `subscript "${c}" has sizes ${known} and ${n} in "${spec}"`);
      }
      sizes.set(c, Math.max(known ?? 1, n));
    }
    // Diagonals for repeated letters.
    for (;;) {
      const dup = [...letters].findIndex((c, j) => letters.indexOf(c) !== j);
      if (dup < 0) break;
      const first = letters.indexOf(letters[dup]);
      const rest = [...Array(letters.length).keys()].filter((j) => j !== first && j !== dup);
      const n = t.shape[first];
      t = transpose(t, [...rest, first, dup]);
      t = reshape(t, [...t.shape.slice(0, -2), n * n]);
      t = slice(t, [...t.shape.slice(0, -1).map((d) => [0, d] as [number, number]), [
        0,
        n * n,
        n + 1,
      ]]);
      letters = rest.map((j) => letters[j]).join("") + letters[first];
    }
    return { t, letters };
  });
  const contracted = [...sizes.keys()].filter((c) => !rhs.includes(c));
  const order = [...rhs, ...contracted];
  const full = order.map((c) => sizes.get(c)!);
  let prod: Tensor | undefined;
  for (const { t, letters } of ts) {
    const present = order.filter((c) => letters.includes(c));
    const perm = present.map((c) => letters.indexOf(c));
    const p = transpose(t, perm);
    const shaped = reshape(
      p,
      order.map((c) => letters.includes(c) ? p.shape[present.indexOf(c)] : 1),
    );
    const e = broadcastTo(shaped, full);
    prod = prod ? mul(prod, e) : e;
  }
  if (contracted.length === 0) return prod!;
  return sum(prod!, { axis: contracted.map((_, i) => rhs.length + i) });
}
