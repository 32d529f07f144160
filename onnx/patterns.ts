/**
 * Convolutions and pools as ONNX `Conv` / `MaxPool` / `AveragePool` nodes. Kiln has no such
 * primitives (core/tensor/conv.ts and pool.ts build them from a window view, a broadcast
 * multiply and a reduction), so the exporter recognizes the graphs those functions build and
 * emits the nodes serving engines run fastest; anything else still exports generically.
 * @module
 */
import type { Node } from "../core/ir/node.ts";
import type { PadArg } from "../core/ir/movement.ts";
import type { WindowArg } from "../core/ir/window.ts";

/** A sliding-window view `[N, C, O…, K…]` of `x [N, C, S…]` (padding folded in). */
interface Window {
  readonly x: Node;
  readonly kernel: number[];
  readonly stride: number[];
  readonly dilation: number[];
  /** `[begin, end]` per spatial axis. */
  readonly pads: [number, number][];
  /** The padding value (0 when there is none). */
  readonly fill: number;
}

/** A recognized convolution or pool: the ONNX node and the Kiln nodes it reads. */
export interface Pattern {
  readonly type: "Conv" | "ConvTranspose" | "MaxPool" | "AveragePool";
  readonly inputs: readonly Node[];
  readonly attrs: Record<string, number | number[]>;
}

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const unexpand = (n: Node) => (n.op === "expand" ? n.src[0] : n);

/** The padding of `x` when it pads only spatial axes: [source, pads, value]. */
function unpad(x: Node): [Node, [number, number][], number] {
  const n = x.shape.length - 2;
  if (x.op === "pad") {
    const { pads, value } = x.arg as PadArg;
    if (pads[0].every((p) => p === 0) && pads[1].every((p) => p === 0)) {
      return [x.src[0], pads.slice(2).map(([b, e]) => [b, e]), value];
    }
  }
  return [x, Array.from({ length: n }, () => [0, 0]), 0];
}

/** The window view `win` is, or null. */
function windowOf(win: Node): Window | null {
  const r = win.shape.length;
  if (r < 4 || r % 2 !== 0) return null;
  const n = (r - 2) / 2, kernel = win.shape.slice(2 + n);
  let x: Node, stride: number[], dilation: number[];
  if (win.op === "rewindow") {
    const a = win.arg as WindowArg;
    const rs = unexpand(win.src[0]);
    if (rs.op !== "reshape") return null;
    x = rs.src[0];
    if (!same(rs.shape, [...x.shape, ...kernel.map(() => 1)])) return null;
    [stride, dilation] = [[...a.stride], [...a.dilation]];
  } else if (win.op === "permute") {
    // Windows that tile the input: a reshape to [N, C, O0, K0, O1, K1, …] and a permute.
    const perm = win.arg as number[];
    if (
      !same(perm, [
        0,
        1,
        ...range(0, n).map((i) => 2 + 2 * i),
        ...range(0, n).map((i) => 3 + 2 * i),
      ])
    ) return null;
    const rs = win.src[0];
    if (rs.op !== "reshape") return null;
    x = rs.src[0];
    if (x.op === "shrink") {
      const s = x.arg as number[][];
      if (
        s.some(([a, , st], i) => a !== 0 || st !== 1 || (i < 2 && s[i][1] !== x.src[0].shape[i]))
      ) return null;
      x = x.src[0];
    }
    [stride, dilation] = [kernel, kernel.map(() => 1)];
  } else return null;
  if (x.shape.length !== 2 + n || !same(x.shape.slice(0, 2), win.shape.slice(0, 2))) return null;
  const [x0, pads, fill] = unpad(x);
  return { x: x0, kernel, stride, dilation, pads, fill };
}

const geometry = (w: Window) => ({
  kernel_shape: w.kernel,
  strides: w.stride,
  dilations: w.dilation,
  pads: [...w.pads.map((p) => p[0]), ...w.pads.map((p) => p[1])],
});

/** `reshape(sum(mul(expand(permute(reshape(window))), expand(reshape(w)))))`: conv.ts's form. */
function conv(y: Node): Pattern | null {
  const s = y.src[0];
  const n = y.shape.length - 2;
  if (n < 1 || s.op !== "sum" || !same(s.arg as number[], range(3, 4 + n))) return null;
  const m = s.src[0];
  if (m.op !== "mul") return null;
  const xp = unexpand(m.src[0]), wr = unexpand(m.src[1]);
  if (xp.op !== "permute" || wr.op !== "reshape") return null;
  const perm = xp.arg as number[];
  if (!same(perm, [0, 1, 2, 3, ...range(4 + n, 4 + 2 * n), ...range(4, 4 + n)])) return null;
  const xg = xp.src[0];
  if (xg.op !== "reshape") return null;
  const win = windowOf(xg.src[0]);
  const w = wr.src[0];
  if (!win || win.fill !== 0 || w.shape.length !== 2 + n) return null;
  const [N, G, , Cg] = xg.shape;
  const O = w.shape[0];
  if (!same(y.shape, [N, O, ...xg.shape.slice(4, 4 + n)]) || w.shape[1] !== Cg) return null;
  if (!same(wr.shape, [1, G, O / G, Cg, ...win.kernel, ...win.kernel.map(() => 1)])) return null;
  return { type: "Conv", inputs: [win.x, w], attrs: { ...geometry(win), group: G } };
}

/**
 * `reshape(sum(unwindow(reshape(sum(mul(x columns, w columns))))))`: convTranspose's form
 * before its crop (the crop stays a `Slice`).
 */
function convTranspose(y: Node): Pattern | null {
  const f = y.src[0], n = y.shape.length - 2;
  if (n < 1 || f.op !== "sum" || !same(f.arg as number[], range(2 + n, 2 + 2 * n))) return null;
  const u = f.src[0];
  if (u.op !== "unwindow" || u.src[0].op !== "reshape") return null;
  const { stride, dilation } = u.arg as WindowArg;
  const cols = u.src[0].src[0];
  if (cols.op !== "sum" || cols.src[0].op !== "mul") return null;
  const [xr, wr] = cols.src[0].src.map(unexpand);
  const xp = xr.src[0], wp = wr.src[0];
  if (xr.op !== "reshape" || wr.op !== "reshape" || xp?.op !== "permute" || wp?.op !== "permute") {
    return null;
  }
  if (!same(xp.arg as number[], [0, 1, ...range(3, 3 + n), 2])) return null;
  if (!same(wp.arg as number[], [0, 2, ...range(3, 3 + n), 1])) return null;
  const xg = xp.src[0], wg = wp.src[0];
  if (xg.op !== "reshape" || wg.op !== "reshape") return null;
  const x = xg.src[0], w = wg.src[0];
  const G = xg.shape[1], H = x.shape.slice(2), K = w.shape.slice(2);
  if (x.shape.length !== 2 + n || w.shape.length !== 2 + n || !same(wg.shape.slice(3), K)) {
    return null;
  }
  const outPad = y.shape.slice(2).map((s, i) =>
    s - ((H[i] - 1) * stride[i] + dilation[i] * (K[i] - 1) + 1)
  );
  return {
    type: "ConvTranspose",
    inputs: [x, w],
    attrs: {
      kernel_shape: K,
      strides: [...stride],
      dilations: [...dilation],
      group: G,
      output_padding: outPad,
      pads: [...K, ...K].map(() => 0),
    },
  };
}

/** `reshape(max(window))` and `reshape(div(sum(window), count))`: pool.ts's forms. */
function pool(y: Node): Pattern | null {
  const n = y.shape.length - 2;
  let r = y.src[0];
  let count: Node | null = null;
  if (r.op === "div") [r, count] = [r.src[0], r.src[1]];
  if ((r.op !== "max" || count) && (r.op !== "sum" || !count)) return null;
  if (!same(r.arg as number[], range(2 + n, 2 + 2 * n))) return null;
  const win = windowOf(r.src[0]);
  if (!win || !same(y.shape, [...win.x.shape.slice(0, 2), ...r.shape.slice(2, 2 + n)])) return null;
  if (r.op === "max") {
    if (win.fill !== -Infinity && win.pads.some(([b, e]) => b || e)) return null;
    return { type: "MaxPool", inputs: [win.x], attrs: geometry(win) };
  }
  const size = win.kernel.reduce((a, b) => a * b, 1);
  let include: number;
  if (count!.op === "const" && count!.arg === size) include = 1;
  else if (unexpand(count!).op === "sum" && windowOf(unexpand(count!).src[0])) include = 0;
  else return null;
  if (win.fill !== 0 || win.dilation.some((d) => d !== 1)) return null;
  const { dilations: _, ...attrs } = geometry(win);
  return { type: "AveragePool", inputs: [win.x], attrs: { ...attrs, count_include_pad: include } };
}

const memo = new WeakMap<Node, Pattern | null>();

/** The convolution or pool `n` computes, when it is one of Kiln's (`n` is their last reshape). */
export function patternOf(n: Node): Pattern | null {
  if (n.op !== "reshape" || !n.src.length || n.realized) return null;
  let p = memo.get(n);
  if (p === undefined) memo.set(n, p = conv(n) ?? convTranspose(n) ?? pool(n));
  return p;
}
