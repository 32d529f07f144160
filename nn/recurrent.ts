/**
 * Sequence layers `rnn`, `lstm`, `gru`: torch's `nn.RNN`/`LSTM`/`GRU` (stacked layers,
 * bidirectional, dropout between layers, time-first unless `batchFirst`) as pure `init`/`apply`
 * pairs that run their cell over time with `k.scan` (one traced step, not `T` unrolled ones).
 * The input projection `x·Wihᵀ + bih` of every step is one matmul before the scan, so only
 * `h·Whhᵀ` and the gates run per step. Parameters are `{layers: CellParams[][]}`:
 * `layers[l][d]` is torch's `*_l{l}` (d = 0) or `*_l{l}_reverse` (d = 1).
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { fmt } from "./attention.ts";
import { dropout as dropoutFn } from "./layers.ts";
import { torchLinear } from "./multihead.ts";
import {
  cellInit,
  type CellInitOptions,
  type CellKind,
  type CellParams,
  cellStep,
  checkCarry,
  checkCellParams,
  type LstmCarry,
  nonlinearity,
} from "./recurrent_cells.ts";

const E = k.errors;

/** Parameters of `rnn`/`lstm`/`gru`: `layers[layer][direction]`, each a cell's parameters. */
export type RecurrentParams = {
  /** One entry per layer; each holds 1 cell (2 when bidirectional: forward, reverse). */
  layers: CellParams[][];
};

/** Options of `rnn.init`, `lstm.init`, `gru.init`. */
export interface RecurrentInitOptions extends CellInitOptions {
  /** Stacked layers (default 1); layer `l > 0` reads the previous layer's output. */
  numLayers?: number;
  /** A second, time-reversed cell per layer; outputs concatenated (default false). */
  bidirectional?: boolean;
}

/** Options of `rnn.apply`, `lstm.apply`, `gru.apply`. */
export interface RecurrentApplyOptions<C> {
  /**
   * Initial carry, torch's `h_0` (and `c_0`): `[D·numLayers, B, H]` (`[D·numLayers, H]`
   * unbatched), entry `l·D + d` for layer `l`, direction `d`. Default zeros.
   */
  carry?: C;
  /** `x` is `[B, T, in]` and the output `[B, T, D·H]` (default false: `[T, B, in]`, torch's default). */
  batchFirst?: boolean;
  /** Run (the forward direction) from the last step to the first; outputs stay aligned with inputs. */
  reverse?: boolean;
  /** Dropout probability on each layer's output except the last (torch's `dropout`); only with `key`. */
  dropout?: number;
  /** Key of the dropout draws (training). */
  key?: Tensor;
  /** `rnn` only: `"tanh"` (default) or `"relu"`. */
  nonlinearity?: "tanh" | "relu";
}

/** A sequence layer: `init` and `apply`. */
export interface Recurrent<C> {
  /** Parameters of `numLayers` layers (× 2 directions), torch's `U(±1/√H)` init. */
  init(
    key: Tensor,
    inputSize: number,
    hiddenSize: number,
    opts?: RecurrentInitOptions,
  ): RecurrentParams;
  /**
   * `[y, carry]` as torch's `(output, h_n)`: `y [T, B, D·H]` (batch-first `[B, T, D·H]`,
   * unbatched `[T, D·H]`) and the final carry in the layout of `opts.carry`.
   */
  apply(params: RecurrentParams, x: Tensor, opts?: RecurrentApplyOptions<C>): [Tensor, C];
}

const FLOATS = ["float16", "float32", "float64"];

function makeInit(kind: CellKind, op: string) {
  return (
    key: Tensor,
    inputSize: number,
    hiddenSize: number,
    opts: RecurrentInitOptions = {},
  ): RecurrentParams => {
    const o = E.checkOptions(op, opts, ["numLayers", "bidirectional", "bias", "dtype"]);
    const n = E.checkInt(op, inputSize, "inputSize", 1);
    const h = E.checkInt(op, hiddenSize, "hiddenSize", 1);
    const layers = o.numLayers === undefined ? 1 : E.checkInt(op, o.numLayers, "numLayers", 1);
    const dirs = o.bidirectional !== undefined && E.checkBool(op, o.bidirectional, "bidirectional")
      ? 2
      : 1;
    const keys = k.random.split(key, layers * dirs);
    const cellOpts = { bias: o.bias, dtype: o.dtype };
    return {
      layers: Array.from(
        { length: layers },
        (_, l) =>
          Array.from(
            { length: dirs },
            (_, d) => cellInit(kind, op, keys[l * dirs + d], l === 0 ? n : dirs * h, h, cellOpts),
          ),
      ),
    };
  };
}

/** Checks the stacked params; returns `[inputSize, hiddenSize, numLayers, directions]`. */
function checkParams(
  kind: CellKind,
  op: string,
  params: unknown,
): [number, number, number, number] {
  const layers = E.isPlainObject(params) ? params.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0 || !layers.every((l) => Array.isArray(l))) {
    throw E.typeError(
      op,
      `params must be {layers: [[cell params, ...], ...]} (from ${
        op.replace(".apply", ".init")
      }), got ${E.describe(params)}`,
    );
  }
  const dirs = layers[0].length;
  if (dirs !== 1 && dirs !== 2) {
    throw E.shapeError(op, `params.layers[0] must hold 1 or 2 directions, got ${dirs}`);
  }
  let input = 0, hidden = 0;
  layers.forEach((l: unknown[], i) => {
    if (l.length !== dirs) {
      throw E.shapeError(
        op,
        `params.layers[${i}] holds ${l.length} directions, layer 0 holds ${dirs}`,
      );
    }
    l.forEach((p, d) => {
      const [n, h] = checkCellParams(kind, op, p, `params.layers[${i}][${d}]`);
      if (i === 0 && d === 0) [input, hidden] = [n, h];
      const want = i === 0 ? input : dirs * hidden;
      if (h !== hidden || n !== want) {
        throw E.shapeError(
          op,
          `params.layers[${i}][${d}] maps ${n} -> ${h}, expected ${want} -> ${hidden} (hidden sizes must agree; layer ${i} reads ${
            i === 0 ? "the input" : "the previous layer's output"
          })`,
        );
      }
    });
  });
  return [input, hidden, layers.length, dirs];
}

function makeApply<C>(kind: CellKind, op: string) {
  return (params: RecurrentParams, x: Tensor, opts: RecurrentApplyOptions<C> = {}): [Tensor, C] => {
    const o = E.checkOptions(op, opts, [
      "carry",
      "batchFirst",
      "reverse",
      "dropout",
      "key",
      ...(kind === "rnnCell" ? ["nonlinearity"] : []),
    ]);
    const [n, h, numLayers, dirs] = checkParams(kind, op, params);
    const t = E.checkTensorArg<Tensor>(op, x, "x");
    const bf = o.batchFirst !== undefined && E.checkBool(op, o.batchFirst, "batchFirst");
    const rev = o.reverse !== undefined && E.checkBool(op, o.reverse, "reverse");
    const act = nonlinearity(op, o.nonlinearity);
    const layout = bf ? "[B, T, in]" : "[T, B, in]";
    if ((t.ndim !== 2 && t.ndim !== 3) || t.shape[t.ndim - 1] !== n) {
      throw E.shapeError(
        op,
        `x must be ${layout} or [T, in] with in = ${n} (the input size of params.layers[0][0]), got ${
          fmt(t.shape)
        }`,
      );
    }
    if (!FLOATS.includes(t.dtype)) {
      throw E.typeError(op, `x must be a float tensor, got ${t.dtype} ${fmt(t.shape)}`);
    }
    // Time-first inside: [T, B, in] (unbatched: [T, in]).
    let seq = t.ndim === 3 && bf ? k.transpose(t, [1, 0, 2]) : t;
    const steps = seq.shape[0];
    if (steps === 0) {
      throw E.shapeError(op, `sequence length 0: x ${fmt(t.shape)} has no time steps`);
    }
    const batch = seq.shape.slice(1, -1);
    const stateShape = [dirs * numLayers, ...batch, h];
    const zeros = () => k.zeros(stateShape, { dtype: t.dtype, device: t.device });
    let h0: Tensor, c0: Tensor | undefined;
    if (o.carry === undefined) {
      h0 = zeros();
      if (kind === "lstmCell") c0 = zeros();
    } else {
      checkCarry(kind, op, o.carry, stateShape, "opts.carry");
      if (kind === "lstmCell") ({ h: h0, c: c0 } = o.carry as unknown as LstmCarry);
      else h0 = o.carry as unknown as Tensor;
    }
    const rate = o.dropout === undefined ? 0 : E.checkNumber(op, o.dropout, "dropout");
    if (!(rate >= 0 && rate <= 1)) throw E.rangeError(op, `dropout must be in [0, 1], got ${rate}`);
    const hs: Tensor[] = [], cs: Tensor[] = [];
    params.layers.forEach((layer, l) => {
      const outs = layer.map((p, d) => {
        const i = l * dirs + d;
        const at = (s: Tensor) => k.squeeze(k.slice(s, [[i, i + 1]]), 0);
        const init = kind === "lstmCell" ? { h: at(h0), c: at(c0!) } : at(h0);
        const xp = torchLinear(seq, p.weightIh, p.biasIh); // [T, ..., G·H], one matmul
        const [last, ys] = k.scan(
          (c: Tensor | LstmCarry, xt: Tensor) => cellStep(kind, p, c, xt, act),
          init,
          xp,
          { reverse: (d === 1) !== rev },
        );
        if (kind === "lstmCell") {
          hs.push((last as LstmCarry).h);
          cs.push((last as LstmCarry).c);
        } else hs.push(last as Tensor);
        return ys as Tensor;
      });
      seq = dirs === 1 ? outs[0] : k.concatenate(outs, { axis: -1 });
      if (rate > 0 && o.key !== undefined && l < numLayers - 1) {
        seq = dropoutFn(k.random.foldIn(o.key, l), seq, rate);
      }
    });
    const y = seq.ndim === 3 && bf ? k.transpose(seq, [1, 0, 2]) : seq;
    const hn = k.stack(hs);
    return [y, (kind === "lstmCell" ? { h: hn, c: k.stack(cs) } : hn) as C];
  };
}

function recurrent<C>(kind: CellKind, name: string): Recurrent<C> {
  return {
    init: E.publicOp(`nn.${name}.init`, makeInit(kind, `nn.${name}.init`)),
    apply: E.publicOp(`nn.${name}.apply`, makeApply<C>(kind, `nn.${name}.apply`)),
  };
}

/**
 * torch's `nn.RNN` (tanh or relu): `[y, hN] = rnn.apply(params, x, opts)`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.rnn.init(k.random.key(0), 3, 8, { numLayers: 2 });
 * const [y, h] = k.nn.rnn.apply(p, k.ones([5, 4, 3])); // y [5, 4, 8], h [2, 4, 8]
 * ```
 */
export const rnn: Recurrent<Tensor> = recurrent<Tensor>("rnnCell", "rnn");

/**
 * torch's `nn.LSTM`: `[y, {h, c}] = lstm.apply(params, x, opts)`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.lstm.init(k.random.key(0), 3, 8, { bidirectional: true });
 * const [y, { h, c }] = k.nn.lstm.apply(p, k.ones([4, 5, 3]), { batchFirst: true }); // y [4, 5, 16]
 * ```
 */
export const lstm: Recurrent<LstmCarry> = recurrent<LstmCarry>("lstmCell", "lstm");

/**
 * torch's `nn.GRU`: `[y, hN] = gru.apply(params, x, opts)`.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const p = k.nn.gru.init(k.random.key(0), 3, 8);
 * const [y, h] = k.nn.gru.apply(p, k.ones([5, 3])); // unbatched: y [5, 8], h [1, 8]
 * ```
 */
export const gru: Recurrent<Tensor> = recurrent<Tensor>("gruCell", "gru");
