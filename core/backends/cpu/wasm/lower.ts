/**
 * Kernel IR → one WebAssembly function, the CPU backend's default kernel path.
 *
 * The function takes byte addresses in the shared arena (`out`, then each input) and walks
 * the kernel's scopes as the JavaScript emitter does: one `loop` per looped axis, work hoisted
 * to the axis it depends on, reductions as inner loops with a local accumulator.
 *
 * **Vectorization.** A loop's innermost axis runs four lanes at a time (`f32x4`/`i32x4`) when
 * everything that depends on its index vectorizes: loads whose index is affine in it (stride 1
 * is one `v128.load`, other strides gather four scalars), integer index arithmetic that is
 * affine in it (computed once as a scalar for lane 0: lane j adds j × its coefficient), and
 * ops with a vector rendering (`ops_vector.ts`). The output loop vectorizes across output elements
 * (reductions nested in it then carry one accumulator per lane); otherwise a reduction
 * vectorizes along its own innermost axis and combines its lanes at the end. Sizes that are
 * not multiples of four finish in a scalar loop.
 *
 * **Accumulation** follows the JavaScript path: float32 sums and products accumulate in
 * float64 (a pair of `f64x2` per vector) and round once, so a sum over an axis that is not the
 * innermost one is bit-identical to the JavaScript kernel; a vectorized reduction along its
 * own axis adds four float64 partial sums, a different order that can differ in the last
 * float32 bit.
 * @module
 */
import {
  assembleModule,
  F32,
  F64,
  FuncBuilder,
  I32,
  I64,
  V128,
  type ValType,
  type WasmFunction,
  type WasmImport,
} from "./assembler.ts";
import type { DType } from "../../../dtype.ts";
import { type Instr, type KernelIR, linearForm, liveSet, type Loop } from "../../../ir/kernel.ts";
import { prim } from "../../../ir/primitive.ts";
import { type VecMathName, VMATH_F32 } from "./vmath.ts";
import { HIGH_HALF, I, LOW_HALVES, type MathName, type OpContext, V, X } from "./ops.ts";
import { scalarOp } from "./ops_scalar.ts";
import { vectorOp } from "./ops_vector.ts";

/** The module bytes and what it needs at instantiation. */
export interface LoweredKernel {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** JavaScript math functions the module imports (after `env.memory`), in order. */
  readonly imports: readonly MathName[];
  /** Whether some loop runs in SIMD lanes. */
  readonly simd: boolean;
  /** Loop iterations of one launch (all loops, nested ones multiplied out): about how many
   * input elements it reads. */
  readonly work: number;
}

/** Thrown (and caught by `lowerKernel`) for a kernel this compiler does not handle. */
class Unsupported extends Error {}

const MATH_OF: Record<string, MathName> = {
  exp: "exp",
  log: "log",
  log1p: "log1p",
  expm1: "expm1",
  sin: "sin",
  cos: "cos",
  tanh: "tanh",
  erf: "erf",
  sigmoid: "sigmoid",
  pow: "pow",
  mod: "fmod",
};

const valType = (d: DType): ValType => d === "float32" ? F32 : d === "float64" ? F64 : I32;
const itemBytes = (d: DType) => d === "float64" ? 8 : d === "bool" ? 1 : d === "float16" ? 2 : 4;
const vecOk = (d: DType) => d === "float32" || d === "int32" || d === "bool";

/** What a vectorized loop knows about its lane-dependent values. */
interface VecInfo {
  readonly v: Instr;
  /** Values that depend on the lane index. */
  readonly dep: Set<Instr>;
  /** Integer values affine in the lane index: their lane-to-lane step. */
  readonly step: Map<Instr, number>;
  /** Loads whose stride is not 1 (gathers). */
  strided: number;
}

/** Compiles a kernel to a module, or null if some part of it has no WebAssembly rendering. */
export function lowerKernel(ir: KernelIR): LoweredKernel | null {
  if (ir.scatter || ir.outDtype === "float16") return null;
  if (ir.inputs.some((x) => x.dtype === "float16")) return null;
  try {
    return new Lowering(ir).run();
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

class Lowering {
  private readonly live: Set<Instr | Loop>;
  private readonly f: FuncBuilder;
  private readonly sLoc = new Map<Instr, number>();
  private readonly vLoc = new Map<Instr, number>();
  private readonly loopOf = new Map<Instr, Loop>();
  private readonly vec = new Map<Loop, VecInfo>();
  private readonly imports: MathName[] = [];
  /** Vector math functions the module defines (after the imports). */
  private readonly vmath: VecMathName[] = [];
  private cur: VecInfo | null = null;
  private optr = 0;
  private temps = new Map<string, number[]>();
  private tempUse = new Map<string, number>();

  constructor(private readonly ir: KernelIR) {
    this.live = liveSet(ir);
    this.f = new FuncBuilder([I32, ...ir.inputs.map(() => I32)]);
    const walk = (items: readonly (Instr | Loop)[]) => {
      for (const it of items) {
        if ("kind" in it) {
          if (it.result) this.loopOf.set(it.result, it);
          it.scopes.forEach((s) => walk(s.items));
        } else if (this.live.has(it) && MATH_OF[it.op]) {
          const name = MATH_OF[it.op];
          const vector = it.dtype === "float32" && name !== "fmod";
          const list: string[] = vector ? this.vmath : this.imports;
          if (!list.includes(name)) list.push(name);
        }
      }
    };
    walk(ir.root.items);
  }

  run(): LoweredKernel {
    this.plan(this.ir.out, false);
    for (const it of this.ir.root.items) {
      if ("kind" in it && it !== this.ir.out) this.plan(it, false);
    }
    const f = this.f;
    this.optr = f.local(I32);
    f.get(0).set(this.optr);
    this.emitScope(this.ir.root.items);
    const imports: WasmImport[] = this.imports.map((name) => ({
      name,
      params: name === "pow" || name === "fmod" ? [F64, F64] : [F64],
      results: [F64],
    }));
    const funcs: WasmFunction[] = [
      ...this.vmath.map((name) => ({ name, body: VMATH_F32[name](), internal: true })),
      { name: "kernel", body: f },
    ];
    const bytes = assembleModule(funcs, { minPages: 1, maxPages: 65536, shared: true }, imports);
    return { bytes, imports: this.imports, simd: this.vec.size > 0, work: this.work() };
  }

  private work(): number {
    let total = 0;
    const walk = (items: readonly (Instr | Loop)[], outer: number) => {
      for (const it of items) {
        if (!("kind" in it) || (it !== this.ir.out && !this.live.has(it))) continue;
        let v = outer;
        it.scopes.forEach((s, k) => {
          v *= it.sizes[k] ?? 1;
          walk(s.items, v);
        });
        total += v;
      }
    };
    walk(this.ir.root.items, 1);
    return total;
  }

  // ------------------------------------------------------------------------ planning --
  /** Decides which loops vectorize: the output loop when it needs no gathers, else the
   * reductions below it, else the output loop with gathers. */
  private plan(l: Loop, inside: boolean): void {
    let info = inside ? null : this.analyze(l);
    if (info && info.strided > 0 && l === this.ir.out) info = null;
    if (info) this.vec.set(l, info);
    const last = l.scopes.length - 1;
    let nestedVec = false;
    l.scopes.forEach((s, k) => {
      for (const it of s.items) {
        if (!("kind" in it) || !this.live.has(it)) continue;
        this.plan(it, inside || (!!info && k === last));
        if (k === last && this.vectorizedWithin(it)) nestedVec = true;
      }
    });
    if (!info && !inside && l === this.ir.out && !nestedVec) {
      const gather = this.analyze(l);
      if (gather) this.vec.set(l, gather);
    }
  }

  /** Whether `l` or a loop nested in it at any depth vectorizes (then no loop around it may:
   * its lanes would mix with theirs). */
  private vectorizedWithin(l: Loop): boolean {
    if (this.vec.has(l)) return true;
    return l.scopes.some((s) =>
      s.items.some((it) => "kind" in it && this.live.has(it) && this.vectorizedWithin(it))
    );
  }

  /** Whether loop `l`'s innermost axis vectorizes, with what depends on its index. */
  private analyze(l: Loop): VecInfo | null {
    const k = l.scopes.length - 1;
    const v = l.vars[k];
    if (!v || v.op !== "var" || l.sizes[k] < 4) return null;
    const info: VecInfo = { v, dep: new Set([v]), step: new Map([[v, 1]]), strided: 0 };
    const ok = this.scan(l.scopes[k].items, info);
    if (!ok) return null;
    const value = l === this.ir.out ? this.ir.value : l.value!;
    if (!info.dep.has(value) || !vecOk(value.dtype)) return null;
    if (l !== this.ir.out && !this.reducible(l)) return null;
    return info;
  }

  private reducible(l: Loop): boolean {
    const d = l.result!.dtype;
    return d === "float32" || d === "int32";
  }

  private scan(items: readonly (Instr | Loop)[], info: VecInfo): boolean {
    const { dep, step } = info;
    for (const it of items) {
      if ("kind" in it) {
        if (!this.live.has(it)) continue;
        for (const s of it.scopes) if (!this.scan(s.items, info)) return false;
        if (dep.has(it.value!)) {
          if (!this.reducible(it)) return false;
          dep.add(it.result!);
        }
        continue;
      }
      if (!this.live.has(it) || !it.args.some((a) => dep.has(a))) continue;
      dep.add(it);
      if (it.dtype === "int32" && it.op !== "load") {
        const s = this.affineStep(it, info);
        if (s !== undefined) {
          step.set(it, s);
          continue;
        }
      }
      if (it.op === "load") {
        const s = step.get(it.args[0]);
        if (s === undefined || !vecOk(it.dtype)) return false;
        if (s !== 1) info.strided++;
        continue;
      }
      if ((it.op === "shl" || it.op === "shr") && dep.has(it.args[1])) return false;
      if (!vectorOp(it.op, it.dtype, it.args.map((a) => a.dtype))) return false;
    }
    return true;
  }

  /** The lane-to-lane step of an integer value affine in the lane index, if it is. */
  private affineStep(i: Instr, info: VecInfo): number | undefined {
    const lin = linearForm(i);
    if (!lin) return undefined;
    let s = 0;
    for (const [t, k] of lin.terms) {
      if (t === info.v) s += k;
      else if (info.dep.has(t)) return undefined;
    }
    return s;
  }

  // ------------------------------------------------------------------------ emission --
  private emitScope(items: readonly (Instr | Loop)[]): void {
    for (const it of items) {
      if ("kind" in it) {
        if (it === this.ir.out) this.emitOutput();
        else if (this.live.has(it)) this.emitReduce(it);
      } else this.emitInstr(it);
    }
  }

  private emitInstr(i: Instr): void {
    if (!this.live.has(i) || i.op === "const" || i.op === "var" || i.op === "reduce") return;
    const c = this.cur;
    if (c && c.dep.has(i) && !c.step.has(i)) this.emitVector(i);
    else this.emitScalar(i);
  }

  private local(map: Map<Instr, number>, i: Instr, t: ValType): number {
    let l = map.get(i);
    if (l === undefined) map.set(i, l = this.f.local(t));
    return l;
  }

  private temp(t: "i32" | "i64" | "f64" | "v128"): number {
    const n = this.tempUse.get(t) ?? 0;
    this.tempUse.set(t, n + 1);
    let list = this.temps.get(t);
    if (!list) this.temps.set(t, list = []);
    if (n >= list.length) {
      list.push(this.f.local(t === "i32" ? I32 : t === "i64" ? I64 : t === "f64" ? F64 : V128));
    }
    return list[n];
  }

  private ctx(i: Instr, push: (a: Instr) => void): OpContext {
    this.tempUse.clear();
    return {
      f: this.f,
      arg: (k) => push(i.args[k]),
      argTypes: i.args.map((a) => a.dtype),
      dtype: i.dtype,
      temp: (t) => this.temp(t),
      callF64: (name) => this.f.call(this.importIndex(name)),
      // Every float32 math op of the kernel was collected into `vmath` by the constructor.
      callV: (name) => this.f.call(this.imports.length + this.vmath.indexOf(name as VecMathName)),
    };
  }

  private importIndex(name: MathName): number {
    const k = this.imports.indexOf(name);
    if (k < 0) throw new Error(`internal: math import ${name} missing`);
    return k;
  }

  private address(i: Instr): void {
    const slot = i.arg as number;
    const f = this.f;
    f.get(1 + slot);
    this.pushScalar(i.args[0]);
    f.i32(itemBytes(i.dtype)).raw(I.mul, I.add);
  }

  private scalarLoad(d: DType, offset = 0): void {
    const f = this.f;
    if (d === "float32") f.memOp(0x2a, 2, offset);
    else if (d === "float64") f.memOp(0x2b, 3, offset);
    else if (d === "bool") f.memOp(0x2d, 0, offset);
    else f.memOp(0x28, 2, offset);
  }

  private emitScalar(i: Instr): void {
    const f = this.f;
    if (i.op === "load") {
      this.address(i);
      this.scalarLoad(i.dtype);
    } else {
      const r = scalarOp(i.op, i.dtype, i.args.map((a) => a.dtype));
      if (!r) throw new Unsupported(i.op);
      r(this.ctx(i, (a) => this.pushScalar(a)));
    }
    f.set(this.local(this.sLoc, i, valType(i.dtype)));
  }

  private emitVector(i: Instr): void {
    const f = this.f;
    this.tempUse.clear();
    if (i.op === "load") {
      const s = this.cur!.step.get(i.args[0])!;
      const isz = itemBytes(i.dtype);
      if (s === 1 && i.dtype !== "bool") {
        this.address(i);
        f.simdMemOp(0x00, 0);
      } else if (s === 1) {
        // Four bytes widened to i32 lanes (0/1), then to masks.
        this.address(i);
        f.simdMemOp(0x5c, 0).simdOp(0x89).simdOp(0xa9).simdOp(V.i32x4_neg);
      } else {
        const a = this.temp("i32");
        this.address(i);
        f.set(a);
        const splat = i.dtype === "float32" ? 0x13 : 0x11;
        f.get(a);
        this.scalarLoad(i.dtype);
        f.simdOp(splat);
        for (let lane = 1; lane < 4; lane++) {
          // Addresses are added, not put in the memory immediate (strides may be negative).
          f.get(a).i32(lane * s * isz).raw(I.add);
          this.scalarLoad(i.dtype);
          f.simdOp(i.dtype === "float32" ? V.f32x4_replace_lane : V.i32x4_replace_lane, lane);
        }
        if (i.dtype === "bool") f.simdOp(V.i32x4_neg);
      }
    } else if (i.op === "shl" || i.op === "shr") {
      this.pushVector(i.args[0]);
      this.pushScalar(i.args[1]);
      f.simdOp(i.op === "shl" ? V.i32x4_shl : V.i32x4_shr_u);
    } else {
      const r = vectorOp(i.op, i.dtype, i.args.map((a) => a.dtype));
      if (!r) throw new Unsupported(i.op);
      r(this.ctx(i, (a) => this.pushVector(a)));
    }
    f.set(this.local(this.vLoc, i, V128));
  }

  private pushScalar(a: Instr): void {
    const f = this.f;
    if (a.op === "const") {
      const v = a.arg as number;
      if (a.dtype === "float32") f.f32(v);
      else if (a.dtype === "float64") f.f64(v);
      else f.i32(v);
      return;
    }
    const l = this.sLoc.get(a);
    if (l === undefined) throw new Error(`internal: no scalar value for ${a.op}`);
    f.get(l);
  }

  private pushVector(a: Instr): void {
    const f = this.f, c = this.cur!;
    const l = this.vLoc.get(a);
    if (l !== undefined && c.dep.has(a) && !c.step.has(a)) return void f.get(l);
    this.pushScalar(a);
    if (a.dtype === "float32") return void f.simdOp(V.f32x4_splat);
    f.simdOp(V.i32x4_splat);
    if (a.dtype === "bool") return void f.simdOp(V.i32x4_neg);
    const s = c.step.get(a);
    if (s && c.dep.has(a)) {
      f.v128Const(new Uint8Array(new Int32Array([0, s, 2 * s, 3 * s]).buffer));
      f.simdOp(V.i32x4_add);
    }
  }

  /** Emits loop `l`'s axes; `inner(vector)` runs in the innermost body. */
  private emitAxes(l: Loop, inner: (vector: boolean) => void): void {
    const f = this.f;
    const axis = (k: number) => {
      const v = l.vars[k], s = l.scopes[k], last = k === l.scopes.length - 1;
      const body = () => {
        this.emitScope(s.items);
        if (last) inner(this.cur !== null && this.cur === this.vec.get(l));
        else axis(k + 1);
      };
      if (!v || v.op !== "var") return body();
      const n = l.sizes[k], loc = this.local(this.sLoc, v, I32);
      const info = last ? this.vec.get(l) : undefined;
      const run = (from: number, to: number, by: number) => {
        if (from >= to) return; // loops test at the bottom: an empty one must not start
        f.i32(from).set(loc);
        f.loop((top) => {
          body();
          f.get(loc).i32(by).raw(I.add).tee(loc).i32(to).raw(I.lt_s).brIf(top);
        });
      };
      if (!info) return run(0, n, 1);
      const nv = n - n % 4;
      const saved = this.cur;
      this.cur = info;
      run(0, nv, 4);
      this.cur = saved;
      run(nv, n, 1);
    };
    axis(0);
  }

  private emitOutput(): void {
    const f = this.f, d = this.ir.outDtype, value = this.ir.value;
    this.emitAxes(this.ir.out, (vector) => {
      this.tempUse.clear();
      f.get(this.optr);
      if (vector) {
        this.pushVector(value);
        if (d === "bool") {
          // Masks to 0/1, narrowed to bytes (i16x8.narrow_i32x4_u, i8x16.narrow_i16x8_u),
          // and the low four stored (v128.store32_lane, lane 0).
          const t = this.temp("v128");
          f.simdOp(V.i32x4_neg).tee(t).get(t).simdOp(0x86).tee(t).get(t).simdOp(0x66);
          f.simdMemOp(0x5a, 0).raw(0);
        } else f.simdMemOp(0x0b, 0);
      } else {
        this.pushScalar(value);
        if (d === "float32") f.memOp(0x38, 2);
        else if (d === "float64") f.memOp(0x39, 3);
        else if (d === "bool") f.memOp(0x3a, 0);
        else f.memOp(0x36, 2);
      }
      const step = vector ? 4 * itemBytes(d) : itemBytes(d);
      f.get(this.optr).i32(step).raw(I.add).set(this.optr);
    });
  }

  // ----------------------------------------------------------------------- reductions --
  private emitReduce(l: Loop): void {
    const f = this.f, op = l.reduceOp!, res = l.result!, d = res.dtype;
    if (d === "float16") throw new Unsupported("float16 reduce");
    const c = this.cur;
    const lanes = c !== null && c.dep.has(l.value!); // one accumulator per outer lane
    const wide = d === "float32" && (op === "sum" || op === "prod");
    const id = prim(op).identity!(d);
    const own = this.vec.get(l); // vectorized along its own axis
    // Scalar accumulator (f64 when wide).
    const acc = lanes ? -1 : f.local(wide ? F64 : valType(d));
    if (!lanes) {
      if (wide || d === "float64") f.f64(id);
      else if (d === "float32") f.f32(id);
      else f.i32(id);
      f.set(acc);
    }
    // Vector accumulators: [lo, hi] f64x2 pairs when wide, else one.
    const vacc = lanes || own ? [f.local(V128), ...(wide ? [f.local(V128)] : [])] : [];
    for (const a of vacc) {
      if (wide) f.f64(id).simdOp(0x14);
      else if (d === "float32") f.f32(id).simdOp(V.f32x4_splat);
      else f.i32(id).simdOp(V.i32x4_splat);
      f.set(a);
    }
    this.emitAxes(l, (vector) => {
      if (vector || lanes) this.combineVector(op, d, wide, vacc, l.value!);
      else this.combineScalar(op, d, wide, acc, l.value!);
    });
    if (own) this.horizontal(op, d, wide, vacc, acc);
    if (lanes) {
      const out = this.local(this.vLoc, res, V128);
      if (wide) {
        f.get(vacc[0]).simdOp(V.f32x4_demote_f64x2_zero);
        f.get(vacc[1]).simdOp(V.f32x4_demote_f64x2_zero);
        f.simdOp(V.i8x16_shuffle, ...LOW_HALVES);
      } else f.get(vacc[0]);
      f.set(out);
    } else {
      f.get(acc);
      if (wide) f.raw(X.f32_demote_f64);
      f.set(this.local(this.sLoc, res, valType(d)));
    }
  }

  private combineScalar(op: string, d: DType, wide: boolean, acc: number, value: Instr): void {
    const f = this.f;
    this.tempUse.clear();
    if (wide || d === "float64") {
      f.get(acc);
      this.pushScalar(value);
      if (wide) f.raw(X.f64_promote_f32);
      f.raw({ sum: 0xa0, prod: 0xa2, max: 0xa5, min: 0xa4 }[op]!);
    } else if (d === "float32") {
      f.get(acc);
      this.pushScalar(value);
      f.raw(op === "max" ? 0x97 : 0x96);
    } else if (op === "sum" || op === "prod") {
      f.get(acc);
      this.pushScalar(value);
      f.raw(op === "sum" ? I.add : I.mul);
    } else {
      const t = this.temp("i32");
      this.pushScalar(value);
      f.set(t).get(acc).get(t).get(acc).get(t).raw(op === "max" ? I.gt_s : I.lt_s, I.select);
    }
    f.set(acc);
  }

  private combineVector(
    op: string,
    d: DType,
    wide: boolean,
    vacc: readonly number[],
    value: Instr,
  ): void {
    const f = this.f;
    this.tempUse.clear();
    if (wide) {
      const t = this.temp("v128");
      this.pushVector(value);
      f.set(t);
      const o = op === "sum" ? V.f64x2_add : V.f64x2_mul;
      f.get(vacc[0]).get(t).simdOp(V.f64x2_promote_low_f32x4).simdOp(o).set(vacc[0]);
      f.get(vacc[1]).get(t).get(t).simdOp(V.i8x16_shuffle, ...HIGH_HALF);
      f.simdOp(V.f64x2_promote_low_f32x4).simdOp(o).set(vacc[1]);
      return;
    }
    f.get(vacc[0]);
    this.pushVector(value);
    const ops = d === "float32"
      ? { max: V.f32x4_max, min: V.f32x4_min }
      : { sum: V.i32x4_add, prod: V.i32x4_mul, max: V.i32x4_max_s, min: V.i32x4_min_s };
    const o = (ops as Record<string, number>)[op];
    if (o === undefined) throw new Unsupported(`vector ${op} ${d}`);
    f.simdOp(o).set(vacc[0]);
  }

  /** Folds a reduction's vector lanes into its scalar accumulator. */
  private horizontal(op: string, d: DType, wide: boolean, vacc: readonly number[], acc: number) {
    const f = this.f;
    this.tempUse.clear();
    if (wide) {
      const o = op === "sum" ? 0xa0 : 0xa2;
      f.get(acc);
      f.get(vacc[0]).simdOp(V.f64x2_extract_lane, 0).get(vacc[0]).simdOp(V.f64x2_extract_lane, 1);
      f.raw(o);
      f.get(vacc[1]).simdOp(V.f64x2_extract_lane, 0).get(vacc[1]).simdOp(V.f64x2_extract_lane, 1);
      f.raw(o, o, o).set(acc);
      return;
    }
    for (let lane = 0; lane < 4; lane++) {
      const t = this.temp("i32");
      if (d === "float32") {
        f.get(acc).get(vacc[0]).simdOp(V.f32x4_extract_lane, lane);
        f.raw(op === "max" ? 0x97 : 0x96).set(acc);
      } else if (op === "sum" || op === "prod") {
        f.get(acc).get(vacc[0]).simdOp(V.i32x4_extract_lane, lane);
        f.raw(op === "sum" ? I.add : I.mul).set(acc);
      } else {
        f.get(vacc[0]).simdOp(V.i32x4_extract_lane, lane).set(t);
        f.get(acc).get(t).get(acc).get(t).raw(op === "max" ? I.gt_s : I.lt_s, I.select).set(acc);
      }
    }
  }
}
