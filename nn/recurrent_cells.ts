/**
 * Recurrent cells with PyTorch's parameter layouts, gate orders and initialization, so
 * `torch.nn.RNNCell`/`LSTMCell`/`GRUCell` weights (and each layer of `RNN`/`LSTM`/`GRU`) load
 * as they are: `weightIh [G·H, in]`, `weightHh [G·H, H]`, `biasIh`, `biasHh [G·H]`, gates
 * stacked `i, f, g, o` (LSTM) and `r, z, n` (GRU), everything drawn from `U(±1/√H)`.
 * A cell is `apply(params, carry, x) → [carry, y]`, the shape `k.scan` takes.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { fmt } from "./attention.ts";
import type { FloatDType } from "./initializers.ts";
import { torchLinear } from "./multihead.ts";

const E = k.errors;

/** Parameters of a recurrent cell (torch's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`). */
export type CellParams = {
  /** Input weights `[G·H, in]`: G = 1 (rnn), 4 (lstm: i, f, g, o), 3 (gru: r, z, n). */
  weightIh: Tensor;
  /** Hidden weights `[G·H, H]`. */
  weightHh: Tensor;
  /** `[G·H]` (absent with `bias: false`). */
  biasIh?: Tensor;
  /** `[G·H]` (absent with `bias: false`). */
  biasHh?: Tensor;
};

/** The carry of an LSTM: hidden state and cell state, each `[..., H]`. */
export type LstmCarry = {
  /** Hidden state (also the cell's output). */
  h: Tensor;
  /** Cell state. */
  c: Tensor;
};

/** Options of the cells' `init`. */
export interface CellInitOptions {
  /** With `biasIh` and `biasHh` (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/** Options of `rnnCell.apply` (and `rnn.apply`). */
export interface RnnCellApplyOptions {
  /** `"tanh"` (default) or `"relu"`, torch's `nonlinearity`. */
  nonlinearity?: "tanh" | "relu";
}

/** A recurrent cell: `init`, `apply` and a zero carry. */
export interface Cell<C, O = Record<never, never>> {
  /** Parameters for `inputSize → hiddenSize`, all from `U(±1/√hiddenSize)` (torch's init). */
  init(key: Tensor, inputSize: number, hiddenSize: number, opts?: CellInitOptions): CellParams;
  /** One step: `x [..., in]` and the carry (`[..., H]` leaves) give `[newCarry, y]`, `y [..., H]`. */
  apply(params: CellParams, carry: C, x: Tensor, opts?: O): [C, Tensor];
  /** The zero carry for a batch shape (default `[]`), in the params' dtype and device. */
  initialCarry(params: CellParams, batchShape?: readonly number[]): C;
}

/** The kinds of cells and their gate counts. @internal */
export type CellKind = "rnnCell" | "lstmCell" | "gruCell";
/** Gates per kind. @internal */
export const GATES: Record<CellKind, number> = { rnnCell: 1, lstmCell: 4, gruCell: 3 };

const FLOATS = ["float16", "float32", "float64"] as const;

/** torch's cell init: every parameter from `U(±1/√H)`. @internal */
export function cellInit(
  kind: CellKind,
  op: string,
  key: Tensor,
  inputSize: number,
  hiddenSize: number,
  opts: CellInitOptions = {},
): CellParams {
  const n = E.checkInt(op, inputSize, "inputSize", 1);
  const h = E.checkInt(op, hiddenSize, "hiddenSize", 1);
  const o = E.checkOptions(op, opts, ["bias", "dtype"]);
  const dtype = o.dtype === undefined ? "float32" : E.checkOneOf(op, o.dtype, FLOATS, "dtype");
  const bias = o.bias === undefined ? true : E.checkBool(op, o.bias, "bias");
  const g = GATES[kind] * h, b = 1 / Math.sqrt(h);
  const ks = k.random.split(key, 4);
  const u = (i: number, shape: number[]) =>
    k.random.uniform(ks[i], shape, { minval: -b, maxval: b, dtype });
  const p: CellParams = { weightIh: u(0, [g, n]), weightHh: u(1, [g, h]) };
  if (bias) {
    p.biasIh = u(2, [g]);
    p.biasHh = u(3, [g]);
  }
  return p;
}

/** Validates cell params; returns `[inputSize, hiddenSize]`. @internal */
export function checkCellParams(
  kind: CellKind,
  op: string,
  params: unknown,
  what = "params",
): [number, number] {
  const p = params as CellParams;
  if (!E.isPlainObject(p) || !E.isTensorValue(p.weightIh) || !E.isTensorValue(p.weightHh)) {
    throw E.typeError(
      op,
      `${what} must be {weightIh, weightHh, biasIh, biasHh} (from ${kind}.init), got ${
        E.describe(params)
      }`,
    );
  }
  const g = GATES[kind], [gh, n] = p.weightIh.shape, h = gh / g;
  if (p.weightIh.ndim !== 2 || !Number.isInteger(h) || h < 1) {
    throw E.shapeError(op, `${what}.weightIh must be [${g}·H, in], got ${fmt(p.weightIh.shape)}`);
  }
  if (p.weightHh.ndim !== 2 || p.weightHh.shape[0] !== gh || p.weightHh.shape[1] !== h) {
    throw E.shapeError(
      op,
      `${what}.weightHh must be [${gh}, ${h}] to match weightIh ${
        fmt(p.weightIh.shape)
      } (hidden size ${h}), got ${fmt(p.weightHh.shape)}`,
    );
  }
  for (const name of ["biasIh", "biasHh"] as const) {
    const t = p[name];
    if (t !== undefined && (!E.isTensorValue(t) || t.ndim !== 1 || t.shape[0] !== gh)) {
      throw E.shapeError(op, `${what}.${name} must be [${gh}], got ${E.describe(t)}`);
    }
  }
  return [n, h];
}

/** Checks that `carry` is the carry structure of `kind` with leaves of `shape`. @internal */
export function checkCarry(
  kind: CellKind,
  op: string,
  carry: unknown,
  shape: readonly number[],
  what = "carry",
): void {
  const want = kind === "lstmCell" ? `{h, c} with h and c ${fmt(shape)}` : `a Tensor ${fmt(shape)}`;
  const leaves: unknown[] = kind === "lstmCell"
    ? (E.isPlainObject(carry) && Object.keys(carry).sort().join() === "c,h"
      ? [carry.h, carry.c]
      : [])
    : [carry];
  const ok = leaves.length > 0 &&
    leaves.every((t) => E.isTensorValue(t) && fmt((t as Tensor).shape) === fmt(shape));
  if (!ok) {
    const got = kind === "lstmCell" && E.isPlainObject(carry)
      ? `{${
        Object.entries(carry).map(([n, v]) =>
          `${n}: ${E.isTensorValue(v) ? fmt((v as Tensor).shape) : E.describe(v)}`
        ).join(", ")
      }}`
      : E.isTensorValue(carry)
      ? `a Tensor ${fmt((carry as Tensor).shape)}`
      : E.describe(carry);
    throw E.shapeError(op, `${what} must be ${want}, got ${got}`);
  }
}

/**
 * One step from the input projection `xp = x·Wihᵀ + bih` (`[..., G·H]`, computed for all
 * steps at once by the sequence layers): the hidden projection, the gates, the new carry.
 * @internal
 */
export function cellStep(
  kind: CellKind,
  p: CellParams,
  carry: Tensor | LstmCarry,
  xp: Tensor,
  act: (x: Tensor) => Tensor = k.tanh,
): [Tensor | LstmCarry, Tensor] {
  if (kind === "lstmCell") {
    const { h, c } = carry as LstmCarry;
    const [i, f, g, o] = k.split(k.add(xp, torchLinear(h, p.weightHh, p.biasHh)), 4, { axis: -1 });
    const c2 = k.add(k.mul(k.sigmoid(f), c), k.mul(k.sigmoid(i), k.tanh(g)));
    const h2 = k.mul(k.sigmoid(o), k.tanh(c2));
    return [{ h: h2, c: c2 }, h2];
  }
  const h = carry as Tensor;
  const hp = torchLinear(h, p.weightHh, p.biasHh);
  if (kind === "rnnCell") {
    const h2 = act(k.add(xp, hp));
    return [h2, h2];
  }
  const [xr, xz, xn] = k.split(xp, 3, { axis: -1 });
  const [hr, hz, hn] = k.split(hp, 3, { axis: -1 });
  const r = k.sigmoid(k.add(xr, hr)), z = k.sigmoid(k.add(xz, hz));
  const n = k.tanh(k.add(xn, k.mul(r, hn)));
  const h2 = k.add(n, k.mul(z, k.sub(h, n))); // (1 − z)·n + z·h
  return [h2, h2];
}

/** The `nonlinearity` option as a function. @internal */
export function nonlinearity(op: string, v: unknown): (x: Tensor) => Tensor {
  if (v === undefined) return k.tanh;
  return E.checkOneOf(op, v, ["tanh", "relu"], "nonlinearity") === "relu" ? k.relu : k.tanh;
}

function makeCell<C>(kind: CellKind): Cell<C, RnnCellApplyOptions> {
  const name = `nn.${kind}`;
  return {
    init: E.publicOp(
      `${name}.init`,
      (key: Tensor, inputSize: number, hiddenSize: number, opts?: CellInitOptions) =>
        cellInit(kind, `${name}.init`, key, inputSize, hiddenSize, opts),
    ),
    apply: E.publicOp(
      `${name}.apply`,
      (params: CellParams, carry: C, x: Tensor, opts: RnnCellApplyOptions = {}) => {
        const op = `${name}.apply`;
        const [n, h] = checkCellParams(kind, op, params);
        const o = E.checkOptions(op, opts, kind === "rnnCell" ? ["nonlinearity"] : []);
        const t = E.checkTensorArg<Tensor>(op, x, "x");
        if (t.ndim === 0 || t.shape[t.ndim - 1] !== n) {
          throw E.shapeError(
            op,
            `x must be [..., ${n}] (the input size of weightIh ${
              fmt(params.weightIh.shape)
            }), got ${fmt(t.shape)}`,
          );
        }
        checkCarry(kind, op, carry, [...t.shape.slice(0, -1), h]);
        const xp = torchLinear(t, params.weightIh, params.biasIh);
        return cellStep(
          kind,
          params,
          carry as Tensor | LstmCarry,
          xp,
          nonlinearity(op, o.nonlinearity),
        ) as [C, Tensor];
      },
    ),
    initialCarry: E.publicOp(
      `${name}.initialCarry`,
      (params: CellParams, batchShape: readonly number[] = []) => {
        const op = `${name}.initialCarry`;
        const [, h] = checkCellParams(kind, op, params);
        const shape = [...E.checkInts(op, batchShape, "batchShape"), h];
        const z = () =>
          k.zeros(shape, { dtype: params.weightHh.dtype, device: params.weightHh.device });
        return (kind === "lstmCell" ? { h: z(), c: z() } : z()) as C;
      },
    ),
  };
}

/**
 * torch's `RNNCell`: `h' = act(x·Wihᵀ + bih + h·Whhᵀ + bhh)`, `act` tanh or relu.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.rnnCell.init(k.random.key(0), 3, 5);
 * const [h, y] = k.nn.rnnCell.apply(p, k.nn.rnnCell.initialCarry(p, [2]), k.ones([2, 3]));
 * ```
 */
export const rnnCell: Cell<Tensor, RnnCellApplyOptions> = makeCell<Tensor>("rnnCell");

/**
 * torch's `LSTMCell`: gates `i, f, g, o` stacked in `weightIh [4H, in]`; carry `{h, c}`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.lstmCell.init(k.random.key(0), 3, 5);
 * const [carry, y] = k.nn.lstmCell.apply(p, k.nn.lstmCell.initialCarry(p, [2]), k.ones([2, 3]));
 * ```
 */
export const lstmCell: Cell<LstmCarry> = makeCell<LstmCarry>("lstmCell");

/**
 * torch's `GRUCell`: gates `r, z, n` stacked in `weightIh [3H, in]`,
 * `n = tanh(xn + r·(h·Whnᵀ + bhn))`, `h' = (1 − z)·n + z·h`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.gruCell.init(k.random.key(0), 3, 5);
 * const [h, y] = k.nn.gruCell.apply(p, k.zeros([5]), k.ones([3]));
 * ```
 */
export const gruCell: Cell<Tensor> = makeCell<Tensor>("gruCell");
