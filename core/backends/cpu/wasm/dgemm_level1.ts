/**
 * The WebAssembly code of two float64 vector kernels beside the matrix product: a plane
 * rotation of two rows (`drot`), a dot product (`ddot`) and a scaled row sum (`daxpy`), the inner loops of the implicit QL
 * eigenvalue iteration and of the one-sided Jacobi SVD, which touch whole rows of the
 * eigenvector or singular-vector matrices per rotation. Both run two `f64x2` vectors (four
 * doubles) per iteration, then a scalar tail.
 * @module
 */
import { F64, FuncBuilder, I32, V128 } from "./assembler.ts";

// Opcodes: SIMD (after 0xfd) and scalar.
const F64X2_SPLAT = 0x14, F64X2_EXTRACT = 0x21, F64X2_ADD = 0xf0, F64X2_SUB = 0xf1;
const F64X2_MUL = 0xf2, F64_LOAD = 0x2b, F64_STORE = 0x39, F64_ADD = 0xa0, F64_SUB = 0xa1;
const F64_MUL = 0xa2, I32_SUB = 0x6b;

/** `drot(x, y, len, c, s)`: rows x, y (byte addresses) ← (c·x − s·y, s·x + c·y). */
export function buildDrot(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, F64, F64]);
  const [x, y, len, c, s] = [0, 1, 2, 3, 4];
  const cv = f.local(V128), sv = f.local(V128), xv = f.local(V128), yv = f.local(V128);
  const xs = f.local(F64), ys = f.local(F64);
  f.set(cv, (f.get(c), f.simdOp(F64X2_SPLAT)));
  f.set(sv, (f.get(s), f.simdOp(F64X2_SPLAT)));
  const vec = (off: number) => {
    f.set(xv, f.v128Load(f.get(x), off));
    f.set(yv, f.v128Load(f.get(y), off));
    f.get(x), f.get(cv), f.get(xv), f.simdOp(F64X2_MUL), f.get(sv), f.get(yv);
    f.simdOp(F64X2_MUL), f.simdOp(F64X2_SUB), f.v128Store(undefined, undefined, off);
    f.get(y), f.get(sv), f.get(xv), f.simdOp(F64X2_MUL), f.get(cv), f.get(yv);
    f.simdOp(F64X2_MUL), f.simdOp(F64X2_ADD), f.v128Store(undefined, undefined, off);
  };
  walk(f, x, y, len, () => (vec(0), vec(16)), () => {
    f.set(xs, (f.get(x), f.memOp(F64_LOAD, 3)));
    f.set(ys, (f.get(y), f.memOp(F64_LOAD, 3)));
    f.get(x), f.get(c), f.get(xs), f.raw(F64_MUL), f.get(s), f.get(ys), f.raw(F64_MUL);
    f.raw(F64_SUB), f.memOp(F64_STORE, 3);
    f.get(y), f.get(s), f.get(xs), f.raw(F64_MUL), f.get(c), f.get(ys), f.raw(F64_MUL);
    f.raw(F64_ADD), f.memOp(F64_STORE, 3);
  });
  return f;
}

/** `ddot(x, y, len) -> f64`: Σ x[i]·y[i] over two rows (byte addresses). */
export function buildDdot(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32], [F64]);
  const [x, y, len] = [0, 1, 2];
  const a0 = f.local(V128), a1 = f.local(V128), sum = f.local(F64);
  f.set(a0, f.v128Zero());
  f.set(a1, f.v128Zero());
  const acc = (a: number, off: number) => {
    f.get(a), f.v128Load(f.get(x), off), f.v128Load(f.get(y), off), f.simdOp(F64X2_MUL);
    f.set(a, f.simdOp(F64X2_ADD));
  };
  // The tail's products go to a scalar sum (locals start at 0), added to the lanes' sums last.
  walk(f, x, y, len, () => (acc(a0, 0), acc(a1, 16)), () => {
    f.get(sum), f.get(x), f.memOp(F64_LOAD, 3), f.get(y), f.memOp(F64_LOAD, 3);
    f.raw(F64_MUL), f.set(sum, f.raw(F64_ADD));
  });
  f.set(a0, (f.get(a0), f.get(a1), f.simdOp(F64X2_ADD)));
  f.get(a0), f.simdOp(F64X2_EXTRACT, 0), f.get(a0), f.simdOp(F64X2_EXTRACT, 1);
  f.raw(F64_ADD), f.get(sum), f.set(sum, f.raw(F64_ADD));
  f.get(sum);
  return f;
}

/** `daxpy(x, y, len, t)`: row y (byte address) += t · row x. */
export function buildDaxpy(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, F64]);
  const [x, y, len, t] = [0, 1, 2, 3];
  const tv = f.local(V128);
  f.set(tv, (f.get(t), f.simdOp(F64X2_SPLAT)));
  const vec = (off: number) => {
    f.get(y), f.v128Load(f.get(y), off), f.get(tv), f.v128Load(f.get(x), off);
    f.simdOp(F64X2_MUL), f.simdOp(F64X2_ADD), f.v128Store(undefined, undefined, off);
  };
  walk(f, x, y, len, () => (vec(0), vec(16)), () => {
    f.get(y), f.get(y), f.memOp(F64_LOAD, 3), f.get(t), f.get(x), f.memOp(F64_LOAD, 3);
    f.raw(F64_MUL), f.raw(F64_ADD), f.memOp(F64_STORE, 3);
  });
  return f;
}

/**
 * The loops over two rows at byte addresses `x`, `y`: `vec` four elements at a time (two
 * vectors, at offsets 0 and 16), then `scalar` once per element left; both pointers advance.
 */
function walk(
  f: FuncBuilder,
  x: number,
  y: number,
  len: number,
  vec: () => void,
  scalar: () => void,
): void {
  const advance = (bytes: number) => {
    f.set(x, f.i32Add(f.get(x), f.i32(bytes)));
    f.set(y, f.i32Add(f.get(y), f.i32(bytes)));
  };
  countDown(f, len, 4, () => (vec(), advance(32)));
  countDown(f, len, 1, () => (scalar(), advance(8)));
}

/** Runs `body` once per `step` elements while at least `step` are left, counting `len` down. */
function countDown(f: FuncBuilder, len: number, step: number, body: () => void): void {
  f.block((done) =>
    f.loop((top) => {
      f.brIf(done, f.i32LtS(f.get(len), f.i32(step)));
      body();
      f.get(len), f.i32(step), f.set(len, f.raw(I32_SUB));
      f.br(top);
    })
  );
}
