// Constant folding (core/ir/evaluate.ts) must give what a kernel computes on data: for random
// operands, every elementwise op and every dtype, the evaluator, a kernel whose operands are
// constants (folded while the kernel IR is built) and a kernel that loads the same operands
// from buffers (rendered by the CPU backend's JavaScript code generator and run) agree bit for
// bit (Object.is on the stored values: -0 differs from 0, any NaN equals NaN).
import assert from "node:assert/strict";
import fc from "fast-check";
import { allocArray, type DType, DTYPES, type TypedArray } from "../core/dtype.ts";
import { ELEMENTWISE_NAMES, type ElementwiseName } from "../core/ir/elementwise.ts";
import { EVALUATE, evaluate, type Evaluator } from "../core/ir/evaluate.ts";
import { type Instr, KernelBuilder, type KernelIR } from "../core/ir/kernel.ts";
import { allPrims, prim, type Primitive } from "../core/ir/primitive.ts";
import type { PrimName } from "../core/ir/names.ts";
import { renderGeneric, wrap } from "../core/backends/cpu/codegen.ts";
import { JS_ELEMENTWISE } from "../core/backends/cpu/renders.ts";
import { WGSL_ELEMENTWISE } from "../core/backends/webgpu/renders.ts";
import type { Render } from "../core/backends/render.ts";
import { H } from "../core/backends/cpu/runtime.ts";

type KernelFn = (out: TypedArray, ins: TypedArray[]) => void;

/** Builds, renders (JavaScript) and compiles a one-op kernel over `n` outputs. */
function kernel(n: number, dtype: DType, value: (b: KernelBuilder) => Instr): {
  run: KernelFn;
  ir: KernelIR;
} {
  const b = new KernelBuilder([n]);
  const v = value(b);
  b.finish();
  const ir: KernelIR = {
    root: b.root,
    out: b.out,
    value: v,
    inputs: b.inputs,
    outShape: [n],
    outDtype: dtype,
  };
  const run = new Function("H", wrap(ir, renderGeneric(ir)))(H) as KernelFn;
  return { run, ir };
}

/** Operand values of dtype `d`, special values (NaN, ±inf, ±0, ties, subnormals) included. */
function values(d: DType): fc.Arbitrary<number> {
  if (d === "bool") return fc.constantFrom(0, 1);
  if (d === "int32") {
    return fc.oneof(
      fc.integer({ min: -2147483648, max: 2147483647 }),
      fc.integer({ min: -40, max: 40 }),
    );
  }
  const round = d === "float32" ? Math.fround : d === "float16" ? Math.f16round : (x: number) => x;
  return fc.oneof(
    fc.double(),
    fc.integer({ min: -40, max: 40 }).map((x) => x / 2),
    fc.double({ min: -8, max: 8, noNaN: true }),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 5e-324, 1e-40, 6e-8, 65504, 1e300),
  ).map(round);
}

/** The operand dtypes an op is tried with, and its `arg`. */
function signatures(op: ElementwiseName): { dtypes: DType[]; arg?: unknown }[] {
  const arity = prim(op).arity!;
  if (op === "cast") {
    return DTYPES.flatMap((from) => DTYPES.map((to) => ({ dtypes: [from], arg: to })));
  }
  if (op === "where") {
    return DTYPES.flatMap((c) => DTYPES.map((d) => ({ dtypes: [c, d, d] })));
  }
  return DTYPES.map((d) => ({ dtypes: Array(arity).fill(d) }));
}

const N = 16;

Deno.test("evaluate: every elementwise op folds to what its JavaScript kernel computes", () => {
  let cases = 0;
  for (const op of ELEMENTWISE_NAMES) {
    for (const { dtypes, arg } of signatures(op)) {
      const p = prim(op);
      const dtype = p.dtype ? p.dtype(dtypes, arg) : dtypes[0];
      // One kernel over buffers, compiled once per signature; its operands vary per run.
      const loaded = kernel(N, dtype, (b) => {
        const slots = dtypes.map((d) => b.input(d, N));
        return b.op(op, slots.map((s) => b.load(s, b.out.vars[0])), dtype, arg);
      });
      const operands = fc.tuple(
        ...dtypes.map((d) => fc.array(values(d), { minLength: N, maxLength: N })),
      );
      fc.assert(
        fc.property(operands, (cols) => {
          const ins = cols.map((c, i) => {
            const a = allocArray(dtypes[i], N);
            a.set(c);
            return a;
          });
          const out = allocArray(dtype, N);
          loaded.run(out, ins);
          const expected = allocArray(dtype, N);
          const folded = allocArray(dtype, 1);
          for (let j = 0; j < N; j++) {
            const args = ins.map((a) => a[j]);
            expected[j] = evaluate(op, args, dtype, dtypes[0], arg);
            // The same op on constants: folded while the IR is built, so no op is left.
            const k1 = kernel(
              1,
              dtype,
              (b) => b.op(op, args.map((v, i) => b.const(v, dtypes[i])), dtype, arg),
            );
            assert.equal(k1.ir.value.op, "const", `${op}: constant operands not folded`);
            k1.run(folded, []);
            const what = `${op}(${args.join(", ")}) ${dtypes.join(",")} -> ${dtype}`;
            assert.ok(
              Object.is(out[j], expected[j]),
              `${what}: kernel ${out[j]}, evaluate ${expected[j]}`,
            );
            assert.ok(
              Object.is(folded[0], out[j]),
              `${what}: folded ${folded[0]}, kernel ${out[j]}`,
            );
          }
        }),
        { numRuns: 6 },
      );
      cases++;
    }
  }
  // Every op, every dtype: 47 ops, casts 5x5, where 5x5.
  assert.equal(cases, (ELEMENTWISE_NAMES.length - 2) * DTYPES.length + 2 * DTYPES.length ** 2);
});

Deno.test("evaluate: tables are exhaustive over the primitive names", () => {
  const names = [...ELEMENTWISE_NAMES].sort();
  for (const table of [EVALUATE, JS_ELEMENTWISE, WGSL_ELEMENTWISE]) {
    assert.deepEqual(Object.keys(table).sort(), names);
  }
  // What deno check refuses (these lines fail to compile without their @ts-expect-error).
  const { erf: _erf, ...noErf } = EVALUATE;
  // @ts-expect-error an evaluator table without `erf` is not exhaustive
  noErf satisfies Record<ElementwiseName, Evaluator>;
  const { round: _round, ...noRound } = JS_ELEMENTWISE;
  // @ts-expect-error a rendering table without `round` is not exhaustive
  noRound satisfies Record<ElementwiseName, Render>;
  // @ts-expect-error a movement primitive without a batching rule
  const noBatch: Primitive = { name: "x", kind: "movement", vjp: () => [null], jvp: () => null };
  // @ts-expect-error an elementwise primitive without a JVP rule (zero rules are explicit)
  const noJvp: Primitive = {
    name: "y",
    kind: "elementwise",
    vjp: () => [null],
    batch: noBatch.batch!,
  };
  assert.ok(noJvp && noBatch);
});

Deno.test("evaluate: ops that need runtime helpers fold (erf, round, mod)", () => {
  // erf(0.5) (Python's math.erf) to an ulp; round half to even; mod with the divisor's sign.
  assert.ok(Math.abs(evaluate("erf", [0.5], "float64", "float64") - 0.5204998778130465) < 2e-16);
  assert.equal(evaluate("round", [2.5], "float32", "float32"), 2);
  assert.equal(evaluate("round", [-3.5], "float32", "float32"), -4);
  assert.equal(evaluate("mod", [-7, 3], "int32", "int32"), 2);
  assert.equal(evaluate("mod", [7.5, -2], "float64", "float64"), -0.5);
  assert.equal(evaluate("add", [0.1, 0.2], "float32", "float32"), Math.fround(0.1 + 0.2));
  const b = new KernelBuilder([1]);
  for (const [op, args] of [["erf", [0.5]], ["round", [2.5]], ["mod", [-7, 3]]] as const) {
    assert.equal(b.op(op, args.map((v) => b.const(v, "float32")), "float32").op, "const", op);
  }
});

Deno.test("evaluate: PrimName names every primitive the IR registers", () => {
  // A table over PrimName (exhaustive by `satisfies`) against the registry at run time.
  const all = {
    ...Object.fromEntries(ELEMENTWISE_NAMES.map((n) => [n, true])) as Record<ElementwiseName, true>,
    sum: true,
    prod: true,
    max: true,
    min: true,
    reshape: true,
    permute: true,
    expand: true,
    pad: true,
    shrink: true,
    flip: true,
    rewindow: true,
    unwindow: true,
    custom: true,
    buffer: true,
    const: true,
    iota: true,
    placeholder: true,
    gather: true,
    scatterAdd: true,
    proj: true,
  } satisfies Record<PrimName, true>;
  // Call primitives registered above the IR (transforms, linalg) are not IR names.
  const ir = allPrims().filter((p) => p.kind !== "call").map((p) => p.name).sort();
  assert.deepEqual(ir, Object.keys(all).sort());
});
