/**
 * ONNX `LSTM` and `GRU` (what PyTorch's exporter writes for `nn.LSTM` / `nn.GRU`) as `k.scan`
 * loops: one traced step per direction, differentiable, any sequence length. Supported:
 * `direction` forward/reverse/bidirectional, `layout` 0 and 1, GRU's `linear_before_reset`;
 * not supported (refused by name): `sequence_lens`, peepholes, `clip`, `input_forget`,
 * non-default activations.
 * @module
 */
import * as k from "../core/mod.ts";
import type { OpContext, Val } from "./values.ts";
import type { OpImpl } from "./ops_basic.ts";

type Cell = (x: k.Tensor, state: k.Tensor[], d: number) => k.Tensor[];

/** Shared driver: per direction, scan `cell` over time; returns Y, Y_h (and Y_c). */
function recurrent(c: OpContext, nState: number, cell: (c: OpContext) => Cell): Val[] {
  if (c.opt(4)) throw c.error("sequence_lens is not supported");
  if (c.opt(7)) throw c.error("peepholes (input P) are not supported");
  if (c.has("clip") || c.int("input_forget", 0)) {
    throw c.error("clip/input_forget are not supported");
  }
  if (c.has("activations")) throw c.error("non-default activations are not supported");
  const layout = c.int("layout", 0);
  let x = c.t(0);
  if (layout === 1) x = k.transpose(x, [1, 0, 2]); // [B, T, I] -> [T, B, I]
  const H = c.int("hidden_size", 0);
  const dir = c.str("direction", "forward");
  const dirs = dir === "bidirectional" ? 2 : 1;
  const B = x.shape[1];
  const init = (i: number) =>
    c.opt(i) ? c.t(i) : k.zeros([dirs, B, H], { dtype: x.dtype, device: x.device });
  const h0 = init(5), c0 = nState > 1 ? init(6) : null;
  const step = cell(c);
  const ys: k.Tensor[] = [], hs: k.Tensor[] = [], cs: k.Tensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const s0 = [k.squeeze(k.slice(h0, [[d, d + 1]]), 0)];
    if (c0) s0.push(k.squeeze(k.slice(c0, [[d, d + 1]]), 0));
    const reverse = dir === "reverse" || d === 1;
    const [last, y] = k.scan(
      (s: k.Tensor[], xt: k.Tensor) => {
        const ns = step(xt, s, d);
        return [ns, ns[0]];
      },
      s0,
      x,
      { reverse },
    );
    ys.push(y as k.Tensor);
    hs.push(last[0]);
    if (c0) cs.push(last[1]);
  }
  let y = k.stack(ys, { axis: 1 }); // [T, D, B, H]
  let yh = k.stack(hs, { axis: 0 });
  let yc = c0 ? k.stack(cs, { axis: 0 }) : null;
  if (layout === 1) {
    y = k.transpose(y, [2, 0, 1, 3]);
    yh = k.transpose(yh, [1, 0, 2]);
    if (yc) yc = k.transpose(yc, [1, 0, 2]);
  }
  return yc ? [y, yh, yc] : [y, yh];
}

/** Per-direction weights: W [4H|3H, I], R [.., H], Wb, Rb. */
function weights(c: OpContext, gates: number, d: number) {
  const W = k.squeeze(k.slice(c.t(1), [[d, d + 1]]), 0);
  const R = k.squeeze(k.slice(c.t(2), [[d, d + 1]]), 0);
  const H = R.shape[1];
  const b = c.opt(3) ? k.squeeze(k.slice(c.t(3), [[d, d + 1]]), 0) : null;
  const wb = b ? k.slice(b, [[0, gates * H]]) : null;
  const rb = b ? k.slice(b, [[gates * H, 2 * gates * H]]) : null;
  return { W: k.transpose(W, [1, 0]), R: k.transpose(R, [1, 0]), wb, rb, H };
}

const affine = (x: k.Tensor, w: k.Tensor, b: k.Tensor | null) =>
  b ? k.add(k.matmul(x, w), b) : k.matmul(x, w);
const part = (t: k.Tensor, i: number, H: number) =>
  k.slice(t, [[0, t.shape[0]], [i * H, (i + 1) * H]]);

/** ONNX gate order i, o, f, c. */
const lstmCell = (c: OpContext): Cell => {
  const ws = [0, 1].map((d) => (c.t(1).shape[0] > d ? weights(c, 4, d) : null));
  return (x, [h, cPrev], d) => {
    const { W, R, wb, rb, H } = ws[d]!;
    const g = k.add(affine(x, W, wb), affine(h, R, rb));
    const i = k.sigmoid(part(g, 0, H)), o = k.sigmoid(part(g, 1, H));
    const f = k.sigmoid(part(g, 2, H)), z = k.tanh(part(g, 3, H));
    const cn = k.add(k.mul(f, cPrev), k.mul(i, z));
    return [k.mul(o, k.tanh(cn)), cn];
  };
};

/** ONNX gate order z, r, h. */
const gruCell = (c: OpContext): Cell => {
  const ws = [0, 1].map((d) => (c.t(1).shape[0] > d ? weights(c, 3, d) : null));
  const lbr = c.int("linear_before_reset", 0) === 1;
  return (x, [h], d) => {
    const { W, R, wb, rb, H } = ws[d]!;
    const gx = affine(x, W, wb);
    const Rz = part(R, 0, H), Rr = part(R, 1, H), Rh = part(R, 2, H);
    const rbp = (i: number) => (rb ? k.slice(rb, [[i * H, (i + 1) * H]]) : null);
    const z = k.sigmoid(k.add(part(gx, 0, H), affine(h, Rz, rbp(0))));
    const r = k.sigmoid(k.add(part(gx, 1, H), affine(h, Rr, rbp(1))));
    const hh = lbr ? k.mul(r, affine(h, Rh, rbp(2))) : affine(k.mul(r, h), Rh, rbp(2));
    const n = k.tanh(k.add(part(gx, 2, H), hh));
    return [k.add(k.mul(k.sub(1, z), n), k.mul(z, h))];
  };
};

/** The recurrent operator table. */
export const RNN_OPS: Record<string, OpImpl> = {
  LSTM: (c) => recurrent(c, 2, lstmCell),
  GRU: (c) => recurrent(c, 1, gruCell),
};
