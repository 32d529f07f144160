/**
 * Lowering: the fused region of the graph under one kernel root becomes kernel IR.
 *
 * A node is rendered *at an index* (one integer instruction per axis). Movement ops rewrite the
 * index (their record's `index` rule), elementwise ops render their sources at the same index,
 * a reduction opens a loop whose variables stand for the reduced axes, and boundary nodes
 * (realized, or materialized by another kernel of the schedule) become loads.
 * @module
 */
import { contiguousStrides } from "../shape.ts";
import { type Instr, KernelBuilder, type KernelIR } from "../ir/kernel.ts";
import type { Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";

/** Kernel IR plus the nodes bound to its input slots. */
export interface Lowered {
  readonly ir: KernelIR;
  readonly inputs: readonly Node[];
}

/** Lowers the region under `root`; `isBoundary(n)` marks nodes read from memory. */
export function lower(
  root: Node,
  isBoundary: (n: Node) => boolean,
  canon: (n: Node) => Node = (n) => n,
): Lowered {
  const b = new KernelBuilder(root.shape);
  const inputs: Node[] = [];
  const slots = new Map<Node, number>();
  const memo = new Map<string, Instr>();

  const load = (n: Node, idx: Instr[]): Instr => {
    let s = slots.get(n);
    if (s === undefined) {
      s = b.input(n.dtype, n.shape.reduce((a, d) => a * d, 1));
      slots.set(n, s);
      inputs.push(n);
    }
    const st = contiguousStrides(n.shape);
    let off: Instr = b.const(0);
    idx.forEach((v, i) => off = b.add(off, b.mul(v, st[i])));
    return b.load(s, off);
  };

  const render = (node: Node, idx: Instr[]): Instr => {
    const n = canon(node);
    if (n.realized || n.op === "placeholder" || (n !== root && isBoundary(n))) {
      return load(n, idx);
    }
    const key = `${n.id}:${idx.map((i) => i.id).join(",")}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const out = renderOp(n, idx);
    memo.set(key, out);
    return out;
  };

  const renderOp = (n: Node, idx: Instr[]): Instr => {
    const p = prim(n.op);
    switch (p.kind) {
      case "source":
        if (n.op === "const") return b.const(n.arg as number, n.dtype);
        if (n.op === "iota") {
          const v = idx[n.arg as number];
          return n.dtype === "int32" ? v : b.op("cast", [v], n.dtype, n.dtype);
        }
        throw new Error(`internal: unrealized ${n.op} node`);
      case "elementwise":
        return b.op(n.op, n.src.map((s) => render(s, idx)), n.dtype, n.arg);
      case "movement": {
        const m = p.index!(b, idx, n);
        const v = render(n.src[0], m.idx);
        if (!m.valid) return v;
        return b.op("where", [m.valid, v, b.const(m.fill ?? 0, n.dtype)], n.dtype);
      }
      case "reduce": {
        const axes = n.arg as number[];
        const src = n.src[0];
        const parent = b.deepest(idx);
        return b.reduce(n.op, axes.map((a) => src.shape[a]), n.dtype, parent, (vars) => {
          const inner = [...idx];
          axes.forEach((a, k) => inner[a] = vars[k]);
          return render(src, inner);
        });
      }
      case "gather": {
        const [x, ind] = n.src;
        const a = n.arg as number;
        const r = ind.shape.length;
        const len = x.shape[a];
        let i = render(ind, idx.slice(a, a + r));
        i = b.op("where", [b.op("less", [i, b.const(0)], "bool"), b.addc(i, len), i], "int32");
        i = b.op("minimum", [b.op("maximum", [i, b.const(0)], "int32"), b.const(len - 1)], "int32");
        return render(x, [...idx.slice(0, a), i, ...idx.slice(a + r)]);
      }
      default:
        throw new Error(`internal: ${n.op} cannot be rendered inside a kernel`);
    }
  };

  const value = render(root, b.out.vars);
  b.finish();
  return {
    ir: {
      root: b.root,
      out: b.out,
      value,
      inputs: b.inputs,
      outShape: root.shape,
      outDtype: root.dtype,
    },
    inputs,
  };
}
