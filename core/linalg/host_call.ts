/**
 * Linear-algebra primitives as host calls. A factorization is not a fused loop nest, so each
 * one is a call primitive (as `scan` and `cond` are): the program runs the kernels that
 * produce its inputs, reads them (`ExecContext.read`: synchronous on the CPU, awaited on
 * WebGPU, so the user's side stays lazy and `await t.data()` is the only wait), factors every
 * matrix of the batch on the host in float64 (float32 inputs too: results are rounded once to
 * float32 at the end), and uploads the results as new device buffers. On WebGPU that is a
 * documented round trip through the CPU inside the same realize or `jit` call.
 *
 * Every source has the same leading (batch) axes; the public functions broadcast them first.
 * The batching rule is therefore the same for every primitive: batch axes to the front, then
 * the same primitive on the larger batch.
 * @module
 */
import type { DType } from "../dtype.ts";
import type { Node } from "../ir/node.ts";
import { type Aval, CallArg, type CallPrimitive, type CallRules, makeCall } from "../ir/call.ts";
import { type Batched, register } from "../ir/primitive.ts";
import { front } from "../ir/batching.ts";
import { getBackend } from "../backends/backend.ts";
import type { TypedArray } from "../dtype.ts";

/** Options of a linear-algebra primitive (plain data: printed by `jit(f).lower()`). */
export type LinalgOpts = Readonly<Record<string, boolean | number | string>>;

/** The `arg` of a linear-algebra call node. */
export class LinalgArg extends CallArg {
  constructor(
    outs: readonly Aval[],
    device: string,
    /** Primitive options (`lower`, `complete`, ...). */
    readonly opts: LinalgOpts,
    /** Public name for `{check: true}` errors, or "" when unchecked. */
    readonly check: string,
  ) {
    super(outs, device);
  }
}

/** What a host kernel gets: one matrix (or vector) per source, float64, row-major. */
export interface HostSpec {
  /** Primitive name. */
  readonly name: string;
  /** Output shapes (without batch axes) from the source shapes (without batch axes). */
  outShapes(src: readonly (readonly number[])[], opts: LinalgOpts): number[][];
  /** Number of trailing (per-matrix) axes of each source. */
  readonly core: readonly number[];
  /** Computes one batch element. */
  kernel(
    ins: readonly Float64Array[],
    src: readonly (readonly number[])[],
    opts: LinalgOpts,
  ): Float64Array[];
  /** For `{check: true}`: a message when this element's result is not usable, else "". */
  problem?(ins: readonly Float64Array[], outs: readonly Float64Array[]): string;
}

/** Derivative rules of a host primitive (the run and batching rules are generic). */
export type HostRules = Pick<CallRules, "vjp" | "jvp">;

const specs = new Map<string, HostSpec>();

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

function toDtype(x: Float64Array, dtype: DType): TypedArray {
  return dtype === "float64" ? x : Float32Array.from(x);
}

/** Builds a call of host primitive `name` on `src` (all with the same batch axes). */
export function hostCall(
  name: string,
  src: readonly Node[],
  opts: LinalgOpts = {},
  check = "",
): Node[] {
  const spec = specs.get(name)!;
  const batch = src[0].shape.slice(0, src[0].shape.length - spec.core[0]);
  const cores = src.map((s, i) => s.shape.slice(s.shape.length - spec.core[i]));
  const dtype = src[0].dtype;
  const outs = spec.outShapes(cores, opts).map((s) => ({ shape: [...batch, ...s], dtype }));
  return makeCall(name, src, new LinalgArg(outs, src[0].device, opts, check));
}

/** Registers a host primitive: its kernel, its derivative rules, the generic run and batch. */
export function defineHost(spec: HostSpec, rules: HostRules): void {
  specs.set(spec.name, spec);
  const prim: CallPrimitive = {
    name: spec.name,
    kind: "call",
    call: {
      *run(ctx, eq, inputs) {
        const a = eq.arg as LinalgArg;
        const data: Float64Array[] = [];
        // The read flushes queued kernels first, so uploading afterwards cannot overtake them.
        // A read is a fresh copy: float64 data is used as it is (no kernel writes its inputs).
        for (const b of inputs) {
          const x = b.size ? yield* ctx.read(b) : new Float64Array(0);
          data.push(x instanceof Float64Array ? x : Float64Array.from(x));
        }
        const cores = eq.src.map((s, i) => s.shape.slice(s.shape.length - spec.core[i]));
        const batchRank = eq.src[0].shape.length - spec.core[0];
        const outCores = a.outs.map((o) => o.shape.slice(batchRank));
        const nb = numel(eq.src[0].shape.slice(0, batchRank));
        const inSize = cores.map(numel), outSize = outCores.map(numel);
        // One matrix: its outputs are the results (kernels return arrays of their own).
        let results: Float64Array[] = nb === 1
          ? []
          : a.outs.map((o) => new Float64Array(numel(o.shape)));
        for (let b = 0; b < nb; b++) {
          const ins = data.map((d, i) => d.subarray(b * inSize[i], (b + 1) * inSize[i]));
          const outs = spec.kernel(ins, cores, a.opts);
          const why = a.check && spec.problem ? spec.problem(ins, outs) : "";
          if (why) {
            throw new RangeError(`${a.check}: ${why}${nb > 1 ? ` (batch element ${b})` : ""}`);
          }
          if (nb === 1) results = outs;
          else outs.forEach((o, j) => results[j].set(o, b * outSize[j]));
        }
        const be = getBackend(a.device);
        return results.map((r, j) => be.upload(a.outs[j].dtype, toDtype(r, a.outs[j].dtype)));
      },
      vjp: rules.vjp,
      jvp: rules.jvp,
      batch(src, eq, ctx) {
        const a = eq.arg as LinalgArg;
        const outs = hostCall(spec.name, src.map((s) => front(s, ctx.size)), a.opts, a.check);
        return outs.map((o): Batched => [o, 0]);
      },
    },
  };
  register(prim);
}
