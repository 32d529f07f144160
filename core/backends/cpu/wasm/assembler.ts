/**
 * A minimal WebAssembly binary assembler: just what the CPU backend's SIMD kernels need (i32,
 * f32 and v128 locals, loads and stores, structured loops, an imported memory). Kiln writes the
 * module bytes itself so that it needs no toolchain at build time and no download at run time.
 *
 * Instructions are written in folded form, like the text format's `(i32.add (local.get $x)
 * (i32.const 4))`: every method appends its opcode after its operands, and JavaScript evaluates
 * call arguments left to right, so `f.i32Add(f.get(x), f.i32(4))` emits `local.get`,
 * `i32.const`, `i32.add` in stack order. The operands are only there for reading order; each
 * method returns the builder.
 * @module
 */

/** A WebAssembly value type (binary encoding). */
export type ValType = 0x7f | 0x7e | 0x7d | 0x7c | 0x7b;
/** 32-bit integer. */
export const I32: ValType = 0x7f;
/** 64-bit integer. */
export const I64: ValType = 0x7e;
/** 32-bit float. */
export const F32: ValType = 0x7d;
/** 64-bit float. */
export const F64: ValType = 0x7c;
/** 128-bit SIMD vector. */
export const V128: ValType = 0x7b;

/** Unsigned LEB128 encoding of a non-negative integer. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A name: its UTF-8 length, then its bytes. */
const wasmName = (s: string): number[] => {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** A jump target: the control-stack height at which its block or loop was opened. */
export type Label = number & { readonly label: unique symbol };

type Operand = unknown;

/** One function body under construction. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  /** A function taking `params` (locals 0..n-1) and returning `results`. */
  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[] = []) {}

  /** Declares a new local of type `t` and returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  /** The encoded body: local declarations (one run per local), code and `end`. */
  encode(): number[] {
    const locals = vec(this.localTypes.map((t) => [1, t]));
    const body = [...locals, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  private simd(opcode: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...rest);
  }

  // ------------------------------------------------------------- generic emission --
  /** Any instruction by its (non-prefixed) opcode and encoded immediates. Code generators
   * that pick instructions from tables use this; the named methods below read better in
   * hand-written kernels. */
  raw(...bytes: number[]): this {
    return this.op(...bytes);
  }
  /** A SIMD (`0xfd`-prefixed) instruction by opcode, with encoded immediates. */
  simdOp(opcode: number, ...imm: number[]): this {
    return this.simd(opcode, ...imm);
  }
  /** A memory access `opcode` (scalar) with alignment hint `align` (log2) and `offset`. */
  memOp(opcode: number, align: number, offset = 0): this {
    return this.op(opcode, ...this.mem(align, offset));
  }
  /** A SIMD memory access (`v128.load`, `v128.load32_zero`, …) with its memory immediate. */
  simdMemOp(opcode: number, align: number, offset = 0): this {
    return this.simd(opcode, ...this.mem(align, offset));
  }
  /** `f32.const`. */
  f32(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(0x43, ...b);
  }
  /** `f64.const`. */
  f64(x: number): this {
    const b = new Uint8Array(new Float64Array([x]).buffer);
    return this.op(0x44, ...b);
  }
  /** `v128.const` of 16 raw bytes. */
  v128Const(bytes: ArrayLike<number>): this {
    return this.simd(0x0c, ...Array.from(bytes));
  }
  /** `call` of function `index` (imports first, then the module's functions). */
  call(index: number): this {
    return this.op(0x10, ...uleb(index));
  }
  /** `if … else … end` on the operand. */
  ifElse(_cond: Operand, then: () => void, otherwise: () => void): this {
    this.op(0x04, 0x40);
    this.depth++;
    then();
    this.op(0x05);
    otherwise();
    this.depth--;
    return this.op(0x0b);
  }
  /** Memory immediate: log2 alignment hint and a constant byte offset. */
  private mem(align: number, offset: number): number[] {
    return [...uleb(align), ...uleb(offset)];
  }

  // ------------------------------------------------------------------ locals, constants --
  /** `local.get`. */
  get(l: number): this {
    return this.op(0x20, ...uleb(l));
  }
  /** `local.set` of the operand. */
  set(l: number, _v?: Operand): this {
    return this.op(0x21, ...uleb(l));
  }
  /** `local.tee`: sets the local and leaves the value on the stack. */
  tee(l: number, _v?: Operand): this {
    return this.op(0x22, ...uleb(l));
  }
  /** `i32.const`. */
  i32(n: number): this {
    return this.op(0x41, ...sleb(n));
  }

  /** `select`: the first operand if the third is non-zero, else the second. */
  select(_a?: Operand, _b?: Operand, _cond?: Operand): this {
    return this.op(0x1b);
  }

  // -------------------------------------------------------------------- i32 arithmetic --
  /** `i32.add`. */
  i32Add(_a?: Operand, _b?: Operand): this {
    return this.op(0x6a);
  }
  /** `i32.mul`. */
  i32Mul(_a?: Operand, _b?: Operand): this {
    return this.op(0x6c);
  }
  /** `i32.lt_s`. */
  i32LtS(_a?: Operand, _b?: Operand): this {
    return this.op(0x48);
  }
  /** `i32.ge_s`. */
  i32GeS(_a?: Operand, _b?: Operand): this {
    return this.op(0x4e);
  }

  // ------------------------------------------------------------------------ f32 scalar --
  /** `f32.store` of the operand value at the operand address plus `offset`. */
  f32Store(_addr: Operand, _v: Operand, offset = 0): this {
    return this.op(0x38, ...this.mem(2, offset));
  }

  // ------------------------------------------------------------------------------ SIMD --
  /** `v128.load` (16 bytes, no alignment assumed). */
  v128Load(_addr: Operand, offset = 0): this {
    return this.simd(0x00, ...this.mem(0, offset));
  }
  /** `v128.load32_splat`: one float loaded into all four lanes. */
  v128Load32Splat(_addr: Operand, offset = 0): this {
    return this.simd(0x09, ...this.mem(0, offset));
  }
  /** `v128.store`. */
  v128Store(_addr: Operand, _v: Operand, offset = 0): this {
    return this.simd(0x0b, ...this.mem(0, offset));
  }
  /** `v128.const` of zeros. */
  v128Zero(): this {
    return this.simd(0x0c, ...new Array(16).fill(0));
  }
  /** `f32x4.extract_lane`: one lane as an f32. */
  f32x4ExtractLane(_v: Operand, lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** `f32x4.add`. */
  f32x4Add(_a?: Operand, _b?: Operand): this {
    return this.simd(0xe4);
  }
  /** `f32x4.mul`. */
  f32x4Mul(_a?: Operand, _b?: Operand): this {
    return this.simd(0xe6);
  }
  /** `f32x4.relaxed_madd` (a·b + c, fused or not as the hardware does it). */
  f32x4RelaxedMadd(_a?: Operand, _b?: Operand, _c?: Operand): this {
    return this.simd(0x105);
  }

  // ---------------------------------------------------------------------- control flow --
  /** A `block`: `br` to its label jumps past its end. */
  block(body: (exit: Label) => void): this {
    return this.structured(0x02, body);
  }
  /** A `loop`: `br` to its label jumps back to its start. */
  loop(body: (top: Label) => void): this {
    return this.structured(0x03, body);
  }
  /** `if` without `else` on the operand. */
  if(_cond: Operand, body: () => void): this {
    return this.structured(0x04, () => body());
  }
  /** `br` to an enclosing label. */
  br(label: Label): this {
    return this.op(0x0c, ...uleb(this.depth - 1 - label));
  }
  /** `br_if` on the operand. */
  brIf(label: Label, _cond?: Operand): this {
    return this.op(0x0d, ...uleb(this.depth - 1 - label));
  }

  private structured(opcode: number, body: (l: Label) => void): this {
    this.op(opcode, 0x40); // block type: no parameters, no results
    const label = this.depth++ as Label;
    body(label);
    this.depth--;
    return this.op(0x0b);
  }
}

/** A function of a module, exported under `name` (not exported when `internal`). */
export interface WasmFunction {
  readonly name: string;
  readonly body: FuncBuilder;
  readonly internal?: boolean;
}

/** A function the module imports from `env` (indices before the module's own functions). */
export interface WasmImport {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** How the module imports its memory. */
export interface MemoryImport {
  /** Minimum size in 64 KiB pages. */
  readonly minPages?: number;
  /** Maximum size in pages (required for shared memory). */
  readonly maxPages?: number;
  /** A shared memory (threads; its buffer is a growable SharedArrayBuffer). */
  readonly shared?: boolean;
}

/**
 * The bytes of a module that imports its memory as `env.memory` (at least `minPages` 64 KiB
 * pages, so JavaScript owns it and can grow it) and exports `funcs` by name.
 */
export function assembleModule(
  funcs: readonly WasmFunction[],
  minPages: number | MemoryImport = 1,
  imports: readonly WasmImport[] = [],
): Uint8Array<ArrayBuffer> {
  const memory = typeof minPages === "number" ? { minPages } : minPages;
  // One type per distinct signature.
  const typeIndex = new Map<string, number>();
  const types: number[][] = [];
  const typeOf = (params: readonly ValType[], results: readonly ValType[]): number => {
    const t = [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
    const key = t.join(",");
    let i = typeIndex.get(key);
    if (i === undefined) {
      typeIndex.set(key, i = types.length);
      types.push(t);
    }
    return i;
  };
  const importTypes = imports.map((f) => typeOf(f.params, f.results));
  const funcTypes = funcs.map((f) => typeOf(f.body.params, f.body.results));
  const { minPages: min = 1, maxPages, shared = false } = memory;
  const limits = maxPages === undefined
    ? [0x00, ...uleb(min)]
    : [shared ? 0x03 : 0x01, ...uleb(min), ...uleb(maxPages)];
  const exported = funcs.flatMap((f, i) =>
    f.internal ? [] : [[...wasmName(f.name), 0x00, ...uleb(imports.length + i)]]
  );
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec(types)),
    // Imports: the functions, then the memory (JavaScript owns it and can grow it).
    ...section(
      2,
      vec([
        ...imports.map((f, i) => [
          ...wasmName("env"),
          ...wasmName(f.name),
          0x00,
          ...uleb(importTypes[i]),
        ]),
        [...wasmName("env"), ...wasmName("memory"), 0x02, ...limits],
      ]),
    ),
    ...section(3, vec(funcTypes.map((t) => uleb(t)))),
    ...section(7, vec(exported)),
    ...section(10, vec(funcs.map((f) => f.body.encode()))),
  ];
  return new Uint8Array(bytes);
}
