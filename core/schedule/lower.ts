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
import { type Instr, KernelBuilder, type KernelIR, type ScatterIR } from "../ir/kernel.ts";
import type { Node } from "../ir/node.ts";
import { prim } from "../ir/primitive.ts";
import type { ScatterArg } from "../ir/scatter.ts";

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

  /**
   * A scatter-add root: the output loop copies `x`, a second loop over the updates adds each
   * at the output element its (wrapped, then clamped or range-checked) index names.
   */
  const scatter = (): ScatterIR => {
    const [, ind, upd] = root.src.map(canon);
    const { axis: a, mode } = root.arg as ScatterArg;
    const loop = b.secondLoop(upd.shape);
    const u = loop.vars, r = ind.shape.length, len = root.shape[a];
    let i = render(ind, u.slice(a, a + r));
    i = b.op("where", [b.op("less", [i, b.const(0)], "bool"), b.addc(i, len), i], "int32");
    let valid: Instr | undefined;
    if (mode === "drop") {
      valid = b.op("logicalAnd", [
        b.op("lessEqual", [b.const(0), i], "bool"),
        b.op("less", [i, b.const(len)], "bool"),
      ], "bool");
    }
    // Clamped in both modes, so a skipped update still computes an in-bounds offset.
    i = b.op("minimum", [b.op("maximum", [i, b.const(0)], "int32"), b.const(len - 1)], "int32");
    const at = [...u.slice(0, a), i, ...u.slice(a + r)];
    const st = contiguousStrides(root.shape);
    let offset: Instr = b.const(0);
    at.forEach((v, k) => offset = b.add(offset, b.mul(v, st[k])));
    return { loop, offset, value: render(upd, u), valid };
  };

  const isScatter = prim(root.op).kind === "scatter";
  const value = render(isScatter ? root.src[0] : root, b.out.vars);
  const sc = isScatter ? scatter() : undefined;
  b.finish();
  return {
    ir: {
      root: b.root,
      out: b.out,
      value,
      inputs: b.inputs,
      outShape: root.shape,
      outDtype: root.dtype,
      ...(sc ? { scatter: sc } : {}),
    },
    inputs,
  };
}
