// k.nn sequence layers against PyTorch 1.13 (fixtures/seq.json, written by make_seq_fixtures.py
// in float64): rnnCell/lstmCell/gruCell, rnn/lstm/gru over sequences (stacked, bidirectional,
// batch-first, unbatched, initial carry), dotProductAttention, multiHeadAttention and the
// transformer layers in eval mode — values and the gradients of sum(output · cotangent) with
// respect to inputs, carries and every parameter. Property and closed-form checks and errors
// live in seq_layers_props_test.ts.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, assertShape, DEVICES, hasFloat64, type Tol } from "./_util.ts";

interface FixT {
  shape: number[];
  data: number[];
  bool?: boolean;
}
type FixTree = FixT | FixTree[] | { [key: string]: FixTree };
// deno-lint-ignore no-explicit-any
type Case = Record<string, any>;
const FIX: { cells: Case[]; seqs: Case[]; attention: Case[]; mha: Case[]; transformer: Case[] } =
  JSON.parse(await Deno.readTextFile(new URL("./fixtures/seq.json", import.meta.url)));

const isLeaf = (x: unknown): x is FixT =>
  typeof x === "object" && x !== null && "shape" in x && "data" in x;

for (const device of DEVICES) {
  const FD = hasFloat64(device) ? "float64" : "float32";
  // WebGPU computes in float32 through several matmuls, exps and a scan.
  const TOL: Tol = hasFloat64(device) ? { rtol: 1e-9, atol: 1e-10 } : { rtol: 2e-3, atol: 5e-4 };
  const t = (f: FixT): k.Tensor =>
    f.bool
      ? k.tensor(f.data.map((v) => v !== 0), { shape: f.shape, dtype: "bool", device })
      : k.tensor(Float64Array.from(f.data), { shape: f.shape, dtype: FD, device });
  // deno-lint-ignore no-explicit-any
  const load = (x: FixTree): any =>
    isLeaf(x)
      ? t(x)
      : Array.isArray(x)
      ? x.map(load)
      : Object.fromEntries(Object.entries(x).map(([n, v]) => [n, load(v)]));
  /** Compares a pytree of tensors with a fixture tree, leaf by leaf (same structure). */
  const same = async (got: unknown, want: FixTree, name: string): Promise<void> => {
    if (isLeaf(want)) {
      const g = got as k.Tensor;
      assert.ok(g instanceof k.Tensor, `${name}: expected a tensor`);
      assertShape(g.shape, want.shape, name);
      allClose(Float64Array.from(await g.data()), want.data, TOL, name);
    } else if (Array.isArray(want)) {
      assert.equal((got as unknown[]).length, want.length, `${name}: length`);
      for (const [i, w] of want.entries()) await same((got as unknown[])[i], w, `${name}[${i}]`);
    } else {
      const g = got as Record<string, unknown>;
      assert.deepEqual(Object.keys(g).sort(), Object.keys(want).sort(), `${name}: keys`);
      for (const [n, w] of Object.entries(want)) await same(g[n], w, `${name}.${n}`);
    }
  };
  const dot = (ys: k.Tensor[], cots: k.Tensor[]) =>
    ys.map((y, i) => k.sum(k.mul(y, cots[i]))).reduce((a, b) => k.add(a, b));

  Deno.test(`seq: rnnCell, lstmCell, gruCell equal torch's cells, values and gradients [${device}]`, async () => {
    for (const c of FIX.cells) {
      const cell = k.nn[c.kind as "rnnCell"] as k.nn.Cell<unknown, k.nn.RnnCellApplyOptions>;
      const name = `${c.kind} ${JSON.stringify(c.opts)}`;
      const params = load(c.params), x = t(c.x), carry = load(c.carry);
      const cots: k.Tensor[] = load(c.cot);
      const [next, y] = cell.apply(params, carry, x, c.opts);
      await same(next, c.newCarry, `${name} carry`);
      await same(y, c.kind === "lstmCell" ? c.newCarry.h : c.newCarry, `${name} y`);
      const loss = (p: k.nn.CellParams, cc: unknown, xx: k.Tensor) => {
        const [n] = cell.apply(p, cc, xx, c.opts);
        const outs = c.kind === "lstmCell"
          ? [(n as k.nn.LstmCarry).h, (n as k.nn.LstmCarry).c]
          : [n as k.Tensor];
        return dot(outs, cots);
      };
      const [gp, gc, gx] = k.grad(loss, { argnums: [0, 1, 2] })(
        params,
        carry,
        x,
      ) as unknown as unknown[];
      await same(gp, c.dparams, `${name} dparams`);
      await same(gc, c.dcarry, `${name} dcarry`);
      await same(gx, c.dx, `${name} dx`);
    }
  });

  Deno.test(`seq: rnn, lstm, gru over sequences equal torch's RNN/LSTM/GRU [${device}]`, async () => {
    for (const c of FIX.seqs) {
      const layer = k.nn[c.kind as "rnn"] as unknown as k.nn.Recurrent<unknown>;
      const name =
        `${c.kind} layers ${c.numLayers} bidir ${c.bidirectional} bf ${c.batchFirst} x ${c.x.shape}`;
      const params = load(c.params), x = t(c.x), carry = load(c.carry);
      const cots: k.Tensor[] = load(c.cot);
      const opts = (cc: unknown) => ({
        carry: cc,
        batchFirst: c.batchFirst,
        ...(c.kind === "rnn" ? { nonlinearity: c.nonlinearity } : {}),
      });
      const [y, last] = layer.apply(params, x, opts(carry));
      await same(y, c.y, `${name} y`);
      await same(last, c.newCarry, `${name} final carry`);
      const loss = (p: k.nn.RecurrentParams, xx: k.Tensor, cc: unknown) => {
        const [yy, n] = layer.apply(p, xx, opts(cc));
        const outs = c.kind === "lstm"
          ? [yy, (n as k.nn.LstmCarry).h, (n as k.nn.LstmCarry).c]
          : [yy, n as k.Tensor];
        return dot(outs, cots);
      };
      const [gp, gx, gc] = k.grad(loss, { argnums: [0, 1, 2] })(
        params,
        x,
        carry,
      ) as unknown as unknown[];
      await same(gx, c.dx, `${name} dx`);
      await same(gc, c.dcarry, `${name} dcarry`);
      await same(gp, c.dparams, `${name} dparams`);
    }
  });

  Deno.test(`seq: dotProductAttention equals softmax(q·kᵀ·scale + bias, mask)·v [${device}]`, async () => {
    for (const c of FIX.attention) {
      const q = t(c.q), kk = t(c.k), v = t(c.v), cot = t(c.cot);
      const mask = c.mask ? t({ ...c.mask, bool: true }) : undefined;
      const f = (qq: k.Tensor, k2: k.Tensor, vv: k.Tensor, b?: k.Tensor) =>
        k.nn.dotProductAttention(qq, k2, vv, {
          mask,
          causal: c.causal,
          bias: b,
          ...(c.scale === null ? {} : { scale: c.scale }),
        });
      const bias = c.bias ? t(c.bias) : undefined;
      await same(f(q, kk, v, bias), c.y, `${c.name} y`);
      const g = k.grad(
        (a: k.Tensor, b: k.Tensor, d: k.Tensor, e?: k.Tensor) => k.sum(k.mul(f(a, b, d, e), cot)),
        {
          argnums: bias ? [0, 1, 2, 3] : [0, 1, 2],
        },
      )(q, kk, v, bias) as unknown as k.Tensor[];
      await same(g[0], c.dq, `${c.name} dq`);
      await same(g[1], c.dk, `${c.name} dk`);
      await same(g[2], c.dv, `${c.name} dv`);
      if (bias) await same(g[3], c.dbias, `${c.name} dbias`);
    }
  });

  Deno.test(`seq: multiHeadAttention equals torch's MultiheadAttention [${device}]`, async () => {
    for (const c of FIX.mha) {
      const params = load(c.params), cots: k.Tensor[] = load(c.cot);
      const q = t(c.query), kk = c.self ? q : t(c.key), v = c.self ? q : t(c.value);
      const opts = {
        numHeads: c.numHeads,
        batchFirst: c.batchFirst,
        averageAttnWeights: c.averageAttnWeights,
        attnMask: c.attnMask ? t(c.attnMask) : undefined,
        keyPaddingMask: c.keyPaddingMask ? t(c.keyPaddingMask) : undefined,
      };
      const [y, w] = k.nn.multiHeadAttention.apply(params, q, kk, v, opts);
      await same(y, c.y, `${c.name} y`);
      await same(w, c.weights, `${c.name} weights`);
      const loss = (p: k.nn.MultiHeadAttentionParams, a: k.Tensor, b: k.Tensor, d: k.Tensor) =>
        dot(k.nn.multiHeadAttention.apply(p, a, c.self ? a : b, c.self ? a : d, opts), cots);
      const [gp, gq, gk, gv] = k.grad(loss, { argnums: [0, 1, 2, 3] })(
        params,
        q,
        kk,
        v,
      ) as unknown as unknown[];
      await same(gp, c.dparams, `${c.name} dparams`);
      await same(gq, c.dquery, `${c.name} dquery`);
      if (!c.self) {
        await same(gk, c.dkey, `${c.name} dkey`);
        await same(gv, c.dvalue, `${c.name} dvalue`);
      }
    }
  });

  Deno.test(`seq: transformer encoder/decoder layers equal torch's in eval mode [${device}]`, async () => {
    for (const c of FIX.transformer) {
      const params = load(c.params), ins = load(c.inputs), cot = t(c.cot);
      const common = {
        numHeads: c.numHeads,
        normFirst: c.normFirst,
        activation: c.activation,
        batchFirst: c.batchFirst,
        causal: c.causal,
      };
      // deno-lint-ignore no-explicit-any
      const f = (p: any, i: { x: k.Tensor; memory?: k.Tensor }) =>
        c.kind === "encoder"
          ? k.nn.transformerEncoderLayer.apply(p, i.x, {
            ...common,
            srcKeyPaddingMask: c.srcKeyPaddingMask ? t(c.srcKeyPaddingMask) : undefined,
          })
          : k.nn.transformerDecoderLayer.apply(p, i.x, i.memory!, {
            ...common,
            memoryKeyPaddingMask: c.memoryKeyPaddingMask ? t(c.memoryKeyPaddingMask) : undefined,
          });
      await same(f(params, ins), c.y, `${c.name} y`);
      // deno-lint-ignore no-explicit-any
      const [gp, gi] = k.grad((p: any, i: any) => k.sum(k.mul(f(p, i), cot)), { argnums: [0, 1] })(
        params,
        ins,
      ) as unknown as unknown[];
      await same(gi, c.dinputs, `${c.name} dinputs`);
      await same(gp, c.dparams, `${c.name} dparams`);
    }
  });
}
