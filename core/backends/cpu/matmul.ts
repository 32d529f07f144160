/**
 * Contraction fast path for the JS backend.
 *
 * The scheduler has no matmul primitive: a contraction reaches the backend as a sum-reduction
 * whose per-iteration value is `load(X) * load(Y)` with affine indices. This file recognizes
 * that shape in the kernel IR and emits a register-blocked loop nest instead of the generic
 * one: 4×4 output tiles accumulated in 16 locals over the whole reduction (each X and Y
 * element loaded once per tile), edges in 4×1 / 1×4 / 1×1 tiles, and the fused elementwise
 * epilogue (bias, activation, …) emitted once as a local function applied per element.
 * @module
 */
import { type Instr, type KernelIR, linearForm, type Loop } from "../../ir/kernel.ts";
import { contiguousStrides } from "../../shape.ts";
import { JsEmitter, type KernelSource } from "./codegen.ts";

interface Access {
  load: Instr;
  c: number;
  coef: Map<Instr, number>;
}

function access(load: Instr, allowed: Set<Instr>): Access | undefined {
  if (load.op !== "load") return undefined;
  const lin = linearForm(load.args[0]);
  if (!lin) return undefined;
  for (const t of lin.terms.keys()) if (!allowed.has(t)) return undefined;
  return { load, c: lin.c, coef: lin.terms };
}

/** Renders a blocked contraction kernel, or undefined when `ir` is not one. */
export function renderContraction(ir: KernelIR): KernelSource | undefined {
  const e = new JsEmitter(ir);
  const outItems = ir.out.scopes.flatMap((s) => s.items);
  const loops = outItems.filter((it): it is Loop => "kind" in it && e.live.has(it));
  // The epilogue is compiled once, apart from the launch: it may not need per-launch values
  // hoisted to the root (constants are inlined, so only computed values would).
  const rootWork = ir.root.items.some((it) =>
    it !== ir.out && e.live.has(it) && ("kind" in it || it.op !== "const")
  );
  if (loops.length !== 1 || rootWork) return undefined;
  const L = loops[0];
  if (L.reduceOp !== "sum" || L.vars.length !== 1 || L.vars[0].op !== "var") return undefined;
  if (L.body.items.some((it) => "kind" in it)) return undefined;
  const v = L.value!;
  if (v.op !== "mul" || v.dtype === "int32") return undefined;
  const r = L.vars[0];
  const outVars = ir.out.vars.filter((x) => x.op === "var");
  const allowed = new Set([...outVars, r]);
  let X = access(v.args[0], allowed), Y = access(v.args[1], allowed);
  if (!X || !Y) return undefined;
  const cf = (a: Access, x: Instr | undefined) => (x ? a.coef.get(x) ?? 0 : 0);
  // j: the innermost output axis that only Y walks; i: an output axis that only X walks.
  let j = [...outVars].reverse().find((x) => cf(X!, x) === 0 && cf(Y!, x) !== 0);
  if (!j) {
    [X, Y] = [Y, X];
    j = [...outVars].reverse().find((x) => cf(X!, x) === 0 && cf(Y!, x) !== 0);
  }
  if (!j) return undefined;
  const i = [...outVars].reverse().find((x) => x !== j && cf(Y!, x) === 0 && cf(X!, x) !== 0);
  const batch = outVars.filter((x) => x !== i && x !== j);
  const size = (x: Instr) => ir.out.sizes[ir.out.vars.indexOf(x)];
  const M = i ? size(i) : 1, N = size(j), K = L.sizes[0];
  const name = (x: Instr) => `v${x.id}`;
  const lin = (a: Access, extra: string) => {
    const parts = [String(a.c), ...batch.map((b) => `${cf(a, b)}*${name(b)}`), extra];
    return parts.join(" + ");
  };

  // Epilogue as a function of the inputs, output indices and the accumulated value; built once
  // per compiled kernel so its call site stays monomorphic (V8 inlines it into the tiles).
  const out = ir.out;
  const outStrides = contiguousStrides(ir.outShape);
  e.alias.set(L.result!, "acc");
  const inNames = ir.inputs.map((_, k) => `in${k}`);
  const params = ["out", ...inNames, ...[...batch, ...(i ? [i] : []), j].map(name)].join(", ");
  e.lines.push(`const epi = (${params}, acc) => {`);
  for (const sc of out.scopes) e.emitScope(sc, "  ", () => {});
  const flat = out.vars.map((x, k) => x.op === "var" ? `${outStrides[k]}*${name(x)}` : "0").join(
    " + ",
  );
  e.lines.push(`  out[${flat}] = ${e.name(ir.value)};`, "};");
  const pre = e.lines.splice(0).join("\n");
  const fixed = ["out", ...inNames].join(", ");

  const xs = `in${X.load.arg}`, ys = `in${Y.load.arg}`;
  const cxi = cf(X, i), cxr = cf(X, r), cyj = cf(Y, j), cyr = cf(Y, r);
  const tile = (R: number, C: number, pad: string): string[] => {
    const L2: string[] = [];
    const acc = (a: number, b: number) => `a${a}${b}`;
    const accs: string[] = [];
    for (let a = 0; a < R; a++) for (let b = 0; b < C; b++) accs.push(`${acc(a, b)} = 0`);
    L2.push(`${pad}let ${accs.join(", ")};`);
    L2.push(`${pad}for (let k = 0; k < ${K}; k++) {`);
    L2.push(`${pad}  const xb = xBase + k * ${cxr}, yb = yBase + k * ${cyr};`);
    for (let a = 0; a < R; a++) L2.push(`${pad}  const x${a} = ${xs}[xb + ${a * cxi}];`);
    for (let b = 0; b < C; b++) L2.push(`${pad}  const y${b} = ${ys}[yb + ${b * cyj}];`);
    for (let a = 0; a < R; a++) {
      L2.push(
        `${pad}  ${[...Array(C).keys()].map((b) => `${acc(a, b)} += x${a} * y${b};`).join(" ")}`,
      );
    }
    L2.push(`${pad}}`);
    const bargs = batch.map(name).join(", ");
    for (let a = 0; a < R; a++) {
      for (let b = 0; b < C; b++) {
        const idx = [fixed, ...(bargs ? [bargs] : []), ...(i ? [`i0 + ${a}`] : []), `j0 + ${b}`]
          .join(
            ", ",
          );
        const v = ir.outDtype === "float32" || L.result!.dtype === "float32"
          ? `Math.fround(${acc(a, b)})`
          : acc(a, b);
        L2.push(`${pad}epi(${idx}, ${v});`);
      }
    }
    return L2;
  };
  const cols = (R: number, pad: string): string[] => [
    `${pad}let j0 = 0;`,
    `${pad}for (; j0 + 4 <= ${N}; j0 += 4) {`,
    `${pad}  const yBase = ${lin(Y, `j0 * ${cyj}`)};`,
    ...tile(R, 4, pad + "  "),
    `${pad}}`,
    `${pad}for (; j0 < ${N}; j0++) {`,
    `${pad}  const yBase = ${lin(Y, `j0 * ${cyj}`)};`,
    ...tile(R, 1, pad + "  "),
    `${pad}}`,
  ];
  let pad = "";
  for (const b of batch) {
    e.lines.push(`${pad}for (let ${name(b)} = 0; ${name(b)} < ${size(b)}; ${name(b)}++) {`);
    pad += "  ";
  }
  e.lines.push(
    `${pad}let i0 = 0;`,
    `${pad}for (; i0 + 4 <= ${M}; i0 += 4) {`,
    `${pad}  const xBase = ${lin(X, `i0 * ${cxi}`)};`,
    ...cols(4, pad + "  "),
    `${pad}}`,
    `${pad}for (; i0 < ${M}; i0++) {`,
    `${pad}  const xBase = ${lin(X, `i0 * ${cxi}`)};`,
    ...cols(1, pad + "  "),
    `${pad}}`,
  );
  for (let k = 0; k < batch.length; k++) {
    pad = pad.slice(2);
    e.lines.push(`${pad}}`);
  }
  return { pre, body: e.lines.join("\n") };
}
