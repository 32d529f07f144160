/**
 * Scatter-add kernels in WGSL: two dispatches sharing one bind group. The first is an
 * ordinary kernel storing the copy of `x`; the second runs one invocation per update and adds
 * it atomically, since several updates may name one output element. WGSL has `atomicAdd` for
 * integers only: int32 uses it, float32 a compare-exchange loop on the value's bits
 * (`atomic<u32>` + `bitcast`), float16 the same loop on the 32-bit word holding the half.
 * Dispatches of one compute pass see each other's writes, so the copy is done before any add.
 * The order of float additions between updates of one element is not fixed (as on any GPU).
 * @module
 */
import type { KernelIR, Loop } from "../../ir/kernel.ts";
import { grid, renderGeneric, storageType, WgslEmitter, type WgslKernel } from "./wgsl.ts";
import { prelude } from "./prelude.ts";

/** The two passes of a scatter-add kernel. */
export interface ScatterKernels {
  /** Stores the copy of `x` (one invocation per output element). */
  readonly copy: WgslKernel;
  /** Adds the updates (one invocation per update). */
  readonly add: WgslKernel;
}

const WG = 64;
const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** A loop's variables from a flat iteration index. */
function loopVars(l: Loop, flat: string, pad: string): string[] {
  const lines: string[] = [];
  let stride = numel(l.sizes);
  l.vars.forEach((v, k) => {
    const n = l.sizes[k];
    stride /= n;
    if (v.op !== "var") return;
    const q = stride === 1 ? flat : `(${flat} / ${stride})`;
    lines.push(`${pad}let v${v.id} = ${k === 0 ? q : `${q} % ${n}`};`);
  });
  return lines;
}

/** Statements adding `val` (a compute-type value) to `dst[off]` atomically. */
function atomicAdd(ir: KernelIR, off: string, val: string, pad: string): string[] {
  const d = ir.outDtype;
  if (d === "int32") return [`${pad}atomicAdd(&dst[${off}], ${val});`];
  const cas = (word: string, next: (old: string) => string) => [
    `${pad}var old = atomicLoad(&dst[${word}]);`,
    `${pad}loop {`,
    `${pad}  let r = atomicCompareExchangeWeak(&dst[${word}], old, ${next("old")});`,
    `${pad}  if (r.exchanged) { break; }`,
    `${pad}  old = r.old_value;`,
    `${pad}}`,
  ];
  if (d === "float32") return cas(off, (o) => `bitcast<u32>(bitcast<f32>(${o}) + ${val})`);
  // float16: the half at `off` is the low (even) or high (odd) 16 bits of word `off / 2`.
  return [
    `${pad}let sh = u32(${off} & 1) * 16u;`,
    ...cas(`${off} >> 1u`, (o) => {
      const cur = `unpack2x16float(${o} >> sh).x`;
      const half = `(pack2x16float(vec2<f32>(k_f16r(${cur} + ${val}), 0.0f)) & 0xffffu)`;
      return `((${o} & ~(0xffffu << sh)) | (${half} << sh))`;
    }),
  ];
}

/** Renders both passes of a scatter-add kernel, or undefined for any other kernel. */
export function renderScatter(ir: KernelIR, cooperative: boolean): ScatterKernels | undefined {
  const s = ir.scatter;
  if (!s) return undefined;
  const copy = renderGeneric({ ...ir, scatter: undefined }, cooperative);
  const e = new WgslEmitter({ ...ir, value: s.value });
  const total = numel(s.loop.sizes);
  const dispatch = grid(Math.ceil(total / WG));
  const body: string[] = [];
  if (total === 0) body.push("  return;");
  else {
    e.lines.push(
      `  let gi = i32((wid.x + wid.y * ${dispatch[0]}u) * ${WG}u + lid);`,
      `  if (gi >= ${total}) { return; }`,
    );
    e.emitScope(ir.root, "  ", (l, pad) => {
      if (l === ir.out) return;
      if (l !== s.loop) return e.emitReduce(l, pad);
      e.lines.push(...loopVars(l, "gi", pad));
      for (const sc of l.scopes) e.emitScope(sc, pad, e.emitReduce);
      const add = atomicAdd(ir, e.name(s.offset), e.name(s.value), pad + "  ");
      if (s.valid) e.lines.push(`${pad}if (${e.name(s.valid)} != 0i) {`, ...add, `${pad}}`);
      else e.lines.push(`${pad}{`, ...add, `${pad}}`);
    });
    body.push(...e.lines);
  }
  const n = ir.inputs.length;
  const atom = ir.outDtype === "int32" ? "i32" : "u32";
  const decls = ir.inputs.map((inp, k) =>
    `@group(0) @binding(${k}) var<storage, read> src${k}: array<${storageType(inp.dtype)}>;`
  );
  decls.push(`@group(0) @binding(${n}) var<storage, read_write> dst: array<atomic<${atom}>>;`);
  if (ir.inputs.some((x) => x.dtype === "float16")) decls.unshift("enable f16;");
  const main = [
    `@compute @workgroup_size(${WG})`,
    "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {",
    ...body,
    "}",
  ].join("\n");
  const source = [decls.join("\n"), prelude(main), main].filter((x) => x).join("\n") + "\n";
  return { copy, add: { source, dispatch } };
}
