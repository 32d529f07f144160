/**
 * Kernel IR -> WGSL. One invocation computes one output element (its index decomposed into
 * the output axes), with the work hoisted to the root and to each output axis emitted once per
 * invocation and reductions as serial loops. A kernel with few outputs and a long reduction
 * instead gives each output a workgroup: the invocations split the reduction, combine their
 * partial results by a tree in workgroup memory, and one invocation applies the epilogue.
 * Contractions take the tiled path of `matmul.ts`.
 * @module
 */
import { type DType, roundTo } from "../../dtype.ts";
import type { Instr, KernelIR, Loop } from "../../ir/kernel.ts";
import { EXACT_OPS, LoopEmitter } from "../emitter.ts";
import { prim } from "../../ir/primitive.ts";
import { prelude } from "./prelude.ts";
import { renderOf } from "../render.ts";
import { WGSL_ELEMENTWISE, WGSL_REDUCE } from "./renders.ts";

const WHO = "the WGSL renderer";

/**
 * The WGSL type a value of dtype `d` computes in: bool is `i32` 0/1 (storage cannot hold
 * `bool`); float16 computes in `f32`, rounded to float16 after every op (`k_f16r`), so results
 * match the CPU's op-by-op float16 bit for bit where float32 arithmetic is exact enough
 * (+ - * / sqrt of float16 operands: float32 has more than 2·11+2 bits).
 */
export function wgslType(d: DType, what = "a kernel"): "f32" | "i32" {
  if (d === "float32" || d === "float16") return "f32";
  if (d === "int32" || d === "bool") return "i32";
  throw new Error(
    `webgpu: ${what} has dtype ${d}, which WebGPU does not support (WGSL has no 64-bit ` +
      "floats); use float32, or the cpu device for float64",
  );
}

/** The WGSL type a buffer of dtype `d` stores (`f16` needs the `shader-f16` feature). */
export function storageType(d: DType): "f16" | "f32" | "i32" {
  return d === "float16" ? "f16" : wgslType(d, "a buffer");
}

/** The dtype a primitive's WGSL rendering sees: float16 values are f32 registers. */
const computeDtype = (d: DType): DType => d === "float16" ? "float32" : d;

const f32Bits = new Float32Array(1);
const u32View = new Uint32Array(f32Bits.buffer);

/** A WGSL literal for a constant of dtype `d` (inf, NaN, -0 and subnormals by bit pattern). */
export function wgslLiteral(v: number, d: DType): string {
  if (d === "float16") return wgslLiteral(roundTo(d, v), "float32");
  if (d !== "float32") {
    if (d !== "int32" && d !== "bool") wgslType(d, "a constant");
    if (v === -2147483648) return "i32(-2147483648)";
    return v < 0 ? `(${v}i)` : `${v}i`;
  }
  f32Bits[0] = v;
  const f = f32Bits[0];
  const a = Math.abs(f);
  if (!Number.isFinite(f) || Object.is(f, -0) || (a !== 0 && a < 1.1754943508222875e-38)) {
    return `bitcast<f32>(0x${u32View[0].toString(16)}u)`;
  }
  let s = String(f);
  if (!/[.e]/.test(s)) s += ".0";
  return f < 0 ? `(${s}f)` : `${s}f`;
}

/** Throws the float64 error naming the op, if any live value of the kernel is float64. */
export function checkDtypes(ir: KernelIR, live: Set<Instr | Loop>): void {
  const bad = (d: DType) => d === "float64";
  for (const it of live) {
    if ("kind" in it || it.op === "load") continue;
    if (bad(it.dtype)) wgslType(it.dtype, `op ${it.op}`);
  }
  ir.inputs.forEach((inp, k) => {
    if (bad(inp.dtype)) wgslType(inp.dtype, `kernel input ${k}`);
  });
  if (bad(ir.outDtype)) wgslType(ir.outDtype, "the kernel's output");
}

/** Renders instructions of one kernel as WGSL statements. */
export class WgslEmitter extends LoopEmitter {
  constructor(ir: KernelIR) {
    super(ir);
    checkDtypes(ir, this.live);
  }

  protected literal(v: number, d: DType): string {
    return wgslLiteral(v, d);
  }
  protected define(i: Instr): string {
    const e = this.expr(i);
    // float16 results round to float16 (casts too: the f32 rendering of a cast to f16 keeps f32).
    const round = i.dtype === "float16" && (!EXACT_OPS.has(i.op) || i.op === "cast");
    return `let v${i.id} = ${round ? `k_f16r(${e})` : e};`;
  }
  protected forHeader(v: string, size: number): string {
    return `for (var ${v}: i32 = 0; ${v} < ${size}; ${v}++)`;
  }

  /** The statement defining instruction `i` (for code outside the scope walk). */
  statement(i: Instr): string {
    return this.define(i);
  }

  expr(i: Instr): string {
    if (i.op === "load") return this.load(i.arg as number, this.name(i.args[0]));
    const r = renderOf(WGSL_ELEMENTWISE, i.op, WHO);
    const from = i.args[0]?.dtype ?? i.dtype;
    return r(i.args.map(this.name), computeDtype(i.dtype), computeDtype(from), i.arg);
  }

  /** Reads element `index` of input `k` as its compute type. */
  load(k: number, index: string): string {
    const v = `src${k}[${index}]`;
    return this.ir.inputs[k].dtype === "float16" ? `f32(${v})` : v;
  }

  /** `value` converted to the output buffer's storage type. */
  store(value: string): string {
    return this.ir.outDtype === "float16" ? `f16(${value})` : value;
  }

  /** The statement rounding a float16 reduction's f32 accumulator (float16 sums accumulate
   * in float32, as PyTorch's), or nothing. */
  roundAcc(l: Loop, acc: string, pad: string): void {
    if (l.result!.dtype === "float16") this.lines.push(`${pad}${acc} = k_f16r(${acc});`);
  }

  /** Declares a reduction's accumulator at its identity. */
  accumulator(l: Loop, pad: string): { acc: string; combine: (v: string) => string } {
    const res = l.result!;
    const acc = `v${res.id}`;
    const d = res.dtype;
    const identity = prim(l.reduceOp!).identity!(d);
    const r = renderOf(WGSL_REDUCE, l.reduceOp!, WHO);
    const c = computeDtype(d);
    this.lines.push(`${pad}var ${acc}: ${wgslType(d)} = ${wgslLiteral(identity, d)};`);
    return { acc, combine: (v) => r([acc, v], c, c, 0) };
  }

  /** A reduction as a serial loop in one invocation. */
  emitReduce = (l: Loop, pad: string): void => {
    const { acc, combine } = this.accumulator(l, pad);
    this.emitLoop(l, pad, this.emitReduce, (inner) => {
      this.lines.push(`${inner}${acc} = ${combine(this.name(l.value!))};`);
    });
    this.roundAcc(l, acc, pad);
  };

  /** Binding declarations: inputs read-only, the output last (`vec` ones as `vec4` arrays). */
  bindings(vec: VecLayout = {}): string {
    const arr = (d: DType, v: boolean | undefined) =>
      v ? `array<vec4<${storageType(d)}>>` : `array<${storageType(d)}>`;
    const ds = this.ir.inputs.map((inp, k) =>
      `@group(0) @binding(${k}) var<storage, read> src${k}: ${
        arr(inp.dtype, vec.vecInputs?.has(k))
      };`
    );
    ds.push(
      `@group(0) @binding(${this.ir.inputs.length}) var<storage, read_write> dst: ${
        arr(this.ir.outDtype, vec.vecOut)
      };`,
    );
    // float16 buffers need the shader-f16 extension.
    if ([...this.ir.inputs.map((x) => x.dtype), this.ir.outDtype].includes("float16")) {
      ds.unshift("enable f16;");
    }
    return ds.join("\n");
  }
}

/** Which buffers a kernel binds as `vec4` arrays. */
export interface VecLayout {
  readonly vecInputs?: ReadonlySet<number>;
  readonly vecOut?: boolean;
}

/** Generated WGSL and how to dispatch it. */
export interface WgslKernel {
  readonly source: string;
  /** Workgroups per dimension. */
  readonly dispatch: readonly [number, number, number];
}

/** Spreads `n` workgroups over x and y (each at most 65535). */
export function grid(n: number): [number, number, number] {
  const x = Math.max(1, Math.min(n, 65535));
  return [x, Math.ceil(n / x) || 1, 1];
}

/** Assembles a module: bindings, the prelude helpers the body uses, the entry point. */
export function assemble(
  e: WgslEmitter,
  decls: string,
  wg: number,
  body: string[],
  vec: VecLayout = {},
): string {
  const main = [
    `@compute @workgroup_size(${wg})`,
    "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {",
    ...body,
    "}",
  ].join("\n");
  const parts = [e.bindings(vec), decls, prelude(decls + main), main].filter((x) => x);
  return parts.join("\n") + "\n";
}

/** Work-group size of the one-output-per-invocation kernels. */
const WG = 64;
/** Work-group size of the cooperative reductions. */
const WG_RED = 128;

/** The reductions in the root or the output scopes (not nested in another reduction). */
function topReductions(ir: KernelIR, live: Set<Instr | Loop>): Loop[] {
  const out: Loop[] = [];
  for (const s of [ir.root, ...ir.out.scopes]) {
    for (const it of s.items) if ("kind" in it && it !== ir.out && live.has(it)) out.push(it);
  }
  return out;
}

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** Output-axis variables from a flat output index `flat`. */
export function outVars(ir: KernelIR, flat: string, pad: string): string[] {
  const lines: string[] = [];
  let stride = numel(ir.outShape);
  ir.out.vars.forEach((v, k) => {
    const n = ir.out.sizes[k];
    stride /= n;
    if (v.op !== "var") return;
    const q = stride === 1 ? flat : `(${flat} / ${stride})`;
    lines.push(`${pad}let v${v.id} = ${k === 0 ? q : `${q} % ${n}`};`);
  });
  return lines;
}

/**
 * Renders any kernel: one invocation per output, or (with `cooperative`) a workgroup per output
 * for long reductions with few outputs.
 */
export function renderGeneric(ir: KernelIR, cooperative = true): WgslKernel {
  const e = new WgslEmitter(ir);
  const n = numel(ir.outShape);
  // Nothing to compute (never dispatched; the module only has to be valid).
  if (n === 0) return { source: assemble(e, "", 1, ["  return;"]), dispatch: [1, 1, 1] };
  const tops = topReductions(ir, e.live);
  const longest = Math.max(0, ...tops.map((l) => numel(l.sizes)));
  const coop = cooperative && longest >= 256 && n < 8192;
  if (coop) return renderCooperative(ir, e, n, tops);
  const dispatch = grid(Math.ceil(n / WG));
  e.lines.push(
    `  let gi = i32((wid.x + wid.y * ${dispatch[0]}u) * ${WG}u + lid);`,
    `  if (gi >= ${n}) { return; }`,
  );
  e.emitScope(ir.root, "  ", (l, pad) => {
    if (l !== ir.out) return e.emitReduce(l, pad);
    e.lines.push(...outVars(ir, "gi", pad));
    for (const s of l.scopes) e.emitScope(s, pad, e.emitReduce);
    e.lines.push(`${pad}dst[gi] = ${e.store(e.name(ir.value))};`);
  });
  return { source: assemble(e, "", WG, e.lines), dispatch };
}

function renderCooperative(ir: KernelIR, e: WgslEmitter, n: number, tops: Loop[]): WgslKernel {
  const dispatch = grid(n);
  const tops_ = new Set(tops);
  const types = new Set(tops.map((l) => wgslType(l.result!.dtype)));
  const decls = [...types].map((t) => `var<workgroup> red_${t}: array<${t}, ${WG_RED}>;`).join(
    "\n",
  );
  e.lines.push(`  let oi = i32(wid.x + wid.y * ${dispatch[0]}u);`, `  if (oi >= ${n}) { return; }`);
  const coopReduce = (l: Loop, pad: string) => {
    if (!tops_.has(l)) return e.emitReduce(l, pad);
    const { acc, combine } = e.accumulator(l, pad);
    const t = wgslType(l.result!.dtype);
    const c = computeDtype(l.result!.dtype);
    const total = numel(l.sizes);
    e.lines.push(`${pad}for (var f: i32 = i32(lid); f < ${total}; f += ${WG_RED}) {`);
    const p = pad + "  ";
    let stride = total;
    l.vars.forEach((v, k) => {
      stride /= l.sizes[k];
      if (v.op !== "var") return;
      const q = stride === 1 ? "f" : `(f / ${stride})`;
      e.lines.push(`${p}let v${v.id} = ${k === 0 ? q : `${q} % ${l.sizes[k]}`};`);
    });
    for (const s of l.scopes) e.emitScope(s, p, e.emitReduce);
    e.lines.push(
      `${p}${acc} = ${combine(e.name(l.value!))};`,
      `${pad}}`,
      `${pad}red_${t}[lid] = ${acc};`,
      `${pad}workgroupBarrier();`,
      `${pad}for (var s: u32 = ${WG_RED / 2}u; s > 0u; s = s >> 1u) {`,
      `${pad}  if (lid < s) { red_${t}[lid] = ${
        renderOf(WGSL_REDUCE, l.reduceOp!, WHO)([`red_${t}[lid]`, `red_${t}[lid + s]`], c, c, 0)
      }; }`,
      `${pad}  workgroupBarrier();`,
      `${pad}}`,
      `${pad}${acc} = red_${t}[0];`,
      `${pad}workgroupBarrier();`,
    );
    e.roundAcc(l, acc, pad);
  };
  e.emitScope(ir.root, "  ", (l, pad) => {
    if (l !== ir.out) return coopReduce(l, pad);
    e.lines.push(...outVars(ir, "oi", pad));
    for (const s of l.scopes) e.emitScope(s, pad, coopReduce);
    e.lines.push(`${pad}if (lid == 0u) { dst[oi] = ${e.store(e.name(ir.value))}; }`);
  });
  return { source: assemble(e, decls, WG_RED, e.lines), dispatch };
}
