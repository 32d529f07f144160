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
export type ValType = 0x7f | 0x7d | 0x7b;
/** 32-bit integer. */
export const I32: ValType = 0x7f;
/** 32-bit float. */
export const F32: ValType = 0x7d;
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
    this.code.push(...bytes);
    return this;
  }
  private simd(opcode: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...rest);
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

/** A function of a module, exported under `name`. */
export interface WasmFunction {
  readonly name: string;
  readonly body: FuncBuilder;
}

/**
 * The bytes of a module that imports its memory as `env.memory` (at least `minPages` 64 KiB
 * pages, so JavaScript owns it and can grow it) and exports `funcs` by name.
 */
export function assembleModule(
  funcs: readonly WasmFunction[],
  minPages = 1,
): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [
    0x60,
    ...vec(f.body.params.map((t) => [t])),
    ...vec(f.body.results.map((t) => [t])),
  ]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec(types)),
    // One import: memory with a minimum and no maximum.
    ...section(
      2,
      vec([[...wasmName("env"), ...wasmName("memory"), 0x02, 0x00, ...uleb(minPages)]]),
    ),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...wasmName(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(funcs.map((f) => f.body.encode()))),
  ];
  return new Uint8Array(bytes);
}
