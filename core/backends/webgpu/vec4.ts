/**
 * Vectorized elementwise kernels: each invocation computes 4 consecutive outputs, reading every
 * input whose 4 elements are consecutive and aligned (same layout as the output, or broadcast
 * along outer axes, like a bias row) with one `vec4` load and writing one `vec4` store: a
 * quarter of the memory instructions of one-output-per-invocation kernels. The arithmetic stays
 * scalar, once per lane (GPUs execute it per lane anyway), so every primitive's WGSL rendering
 * and helper is reused unchanged.
 *
 * Applies to kernels without reductions whose output's innermost axis is a multiple of 4 long
 * (then the 4 lanes share every outer index). Other loads (transposed, gathered, broadcast along
 * the innermost axis) stay scalar loads per lane.
 * @module
 */
import type { Instr, KernelIR } from "../../ir/kernel.ts";
import { linearForm } from "../../ir/kernel.ts";
import {
  assemble,
  grid,
  outVars,
  storageType,
  WgslEmitter,
  type WgslKernel,
  wgslType,
} from "./wgsl.ts";

const WG = 64;
const LANES = ["x", "y", "z", "w"];
/** Below this many outputs a vectorized pipeline is not worth its own compile. */
const MIN_SIZE = 1024;

/** An affine load whose 4 lanes read 4 consecutive aligned elements: `index(lane) = base + lane`. */
interface VecLoad {
  readonly load: Instr;
  /** WGSL for the index of lane 0 divided by 4. */
  readonly vecIndex: string;
}

/** Renders a vectorized elementwise kernel, or undefined when `ir` does not qualify. */
export function renderVec4(ir: KernelIR): WgslKernel | undefined {
  const n = ir.outShape.reduce((a, d) => a * d, 1);
  const rank = ir.outShape.length;
  if (n < MIN_SIZE || n % 4 !== 0 || rank === 0) return undefined;
  const inner = ir.out.vars[rank - 1];
  if (!inner || inner.op !== "var" || ir.out.sizes[rank - 1] % 4 !== 0) return undefined;
  const e = new WgslEmitter(ir);
  for (const it of e.live) if ("kind" in it && it !== ir.out) return undefined;

  const outVarSet = new Set(ir.out.vars.filter((v) => v.op === "var"));
  const vec: VecLoad[] = [];
  const scalarInputs = new Set<number>();
  for (const it of e.live) {
    if ("kind" in it || it.op !== "load") continue;
    const v = vecLoad(it, inner, outVarSet);
    if (v) vec.push(v);
    else scalarInputs.add(it.arg as number);
  }
  // An input read both ways stays a scalar array (its vector loads become lane loads).
  const vecLoads = vec.filter((v) => !scalarInputs.has(v.load.arg as number));
  if (vecLoads.length === 0) return undefined;
  const vecInputs = new Set(vecLoads.map((v) => v.load.arg as number));

  const dispatch = grid(Math.ceil(n / 4 / WG));
  const t = wgslType(ir.outDtype);
  e.lines.push(
    `  let gv = i32((wid.x + wid.y * ${dispatch[0]}u) * ${WG}u + lid);`,
    `  if (gv >= ${n / 4}) { return; }`,
    "  let g0 = gv * 4;",
  );
  e.emitScope(ir.root, "  ", (l, pad) => {
    if (l !== ir.out) throw new Error("internal: vec4 kernel with a reduction");
    // Lane 0's output indices address the vector loads.
    e.lines.push(...outVars(ir, "g0", pad));
    for (const v of vecLoads) {
      const k = v.load.arg as number;
      const raw = `src${k}[${v.vecIndex}]`;
      const ld = ir.inputs[k].dtype === "float16" ? `vec4<f32>(${raw})` : raw;
      e.lines.push(`${pad}let ld${v.load.id} = ${ld};`);
    }
    e.lines.push(`${pad}var o: vec4<${t}>;`);
    LANES.forEach((c, lane) => {
      for (const v of vecLoads) e.alias.set(v.load, `ld${v.load.id}.${c}`);
      const p = pad + "  ";
      e.lines.push(`${pad}{`, ...outVars(ir, `(g0 + ${lane})`, p));
      for (const s of l.scopes) {
        e.emitScope(s, p, () => {
          throw new Error("internal: vec4 kernel with a reduction");
        });
      }
      e.lines.push(`${p}o.${c} = ${e.name(ir.value)};`, `${pad}}`);
    });
    const st = storageType(ir.outDtype);
    e.lines.push(`${pad}dst[gv] = ${st === t ? "o" : `vec4<${st}>(o)`};`);
  });
  return { source: assemble(e, "", WG, e.lines, { vecInputs, vecOut: true }), dispatch };
}

/** `load` as a vector load: affine in the output indices, innermost coefficient 1, the rest
 * (and the constant) multiples of 4. */
function vecLoad(load: Instr, inner: Instr, outVars: Set<Instr>): VecLoad | undefined {
  const lin = linearForm(load.args[0]);
  if (!lin || lin.terms.get(inner) !== 1 || lin.c % 4 !== 0) return undefined;
  const parts = lin.c ? [String(lin.c / 4)] : [];
  for (const [x, coef] of lin.terms) {
    if (!outVars.has(x)) return undefined;
    if (x === inner) {
      parts.push(`(v${x.id} / 4)`);
      continue;
    }
    if (coef % 4 !== 0) return undefined;
    if (coef !== 0) parts.push(`${coef / 4} * v${x.id}`);
  }
  return { load, vecIndex: parts.join(" + ") };
}
