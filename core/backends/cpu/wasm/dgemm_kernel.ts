/**
 * The WebAssembly code of the float64 matrix-product kernel `C[m×n] ±= A[m×k] · B[k×n]`, the
 * trailing update of the blocked factorizations in `core/linalg/`.
 *
 * The layout follows the float32 kernel (`sgemm_kernel.ts`) with two lanes per vector: C is
 * computed in register tiles of `rows` rows × 4 columns, 2·rows `f64x2` accumulators that stay
 * in registers for a block of the reduction; each step loads 4 B values (two `v128.load`) and
 * `rows` A values (each broadcast with `v128.load64_splat`). With 6 rows that is 12
 * accumulators + 3 operands, within the 16 SIMD registers V8 allocates on x64.
 *
 * Unlike sgemm, C has its own row stride (the kernel updates a block of a larger matrix in
 * place) and the kernel either adds or subtracts the product (`sub`: with FMA that is
 * `f64x2.relaxed_nmadd`, `c − a·b` in one step), so a trailing update `A22 −= L21·U12` needs
 * no negated copy.
 *
 * Edges: columns left after the 4-wide tiles take one 2-wide tile, then a 1-wide tile (B's
 * value splatted, lane 0 stored); rows left after the `rows`-high strips take strips of 4, 2
 * and 1. A is read with any byte strides, B needs unit stride along a row, C unit stride along
 * a row. m, n, k must be at least 1.
 * @module
 */
import { FuncBuilder, I32, V128 } from "./assembler.ts";

/** Code generation choices. */
export interface DgemmOptions {
  /** Rows per register tile (at most 8). */
  readonly rows: number;
  /** Use `f64x2.relaxed_madd` / `relaxed_nmadd` (one rounding per step with FMA). */
  readonly fma: boolean;
  /** Reduction steps per loop iteration. */
  readonly unroll: number;
  /** Reduction steps per pass over C (a block of B rows stays in cache for a pass). */
  readonly kBlock: number;
  /** Subtract the product from C instead of adding it. */
  readonly sub: boolean;
}

// SIMD opcodes (after the 0xfd prefix) and scalar memory opcodes this kernel uses.
const LOAD64_SPLAT = 0x0a, F64X2_EXTRACT = 0x21, F64X2_ADD = 0xf0, F64X2_SUB = 0xf1;
const F64X2_MUL = 0xf2, F64X2_MADD = 0x107, F64X2_NMADD = 0x108, F64_STORE = 0x39;

/**
 * Builds `dgemm(a, sai, sak, b, ldb, c, ldc, m, n, k)` (byte addresses and byte strides), which
 * adds A·B to C (subtracts it with `sub`).
 */
export function buildDgemm(o: DgemmOptions): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, sai, sak, b, ldb, c, ldc, m, n, k] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, j, pa, pb, pc, pcj, ka, kb, kk] = Array.from({ length: 9 }, () => f.local(I32));
  const [aBlk, bBlk, kLeft, kCur] = Array.from({ length: 4 }, () => f.local(I32));
  // Byte offsets of the tile's rows in A and in C (row 0 is at the pointer itself).
  const aRow = Array.from({ length: o.rows }, (_, r) => (r ? f.local(I32) : -1));
  const cRow = Array.from({ length: o.rows }, (_, r) => (r ? f.local(I32) : -1));
  const acc = Array.from({ length: 2 * o.rows }, () => f.local(V128)); // [2r + v]: row r, vec v
  const av = f.local(V128), bv = [f.local(V128), f.local(V128)];

  const add = (l: number, delta: number | (() => unknown)) =>
    f.set(l, f.i32Add(f.get(l), typeof delta === "number" ? f.i32(delta) : delta()));
  const at = (base: number, off: number[], r: number) =>
    r === 0 ? f.get(base) : f.i32Add(f.get(base), f.get(off[r]));
  const splat = (_addr: unknown) => f.simdMemOp(LOAD64_SPLAT, 3);
  // x ±= p·q. The operands are callbacks so that they are emitted in stack order.
  const madd = (x: number, p: () => unknown, q: () => unknown) => {
    if (o.fma) {
      p(), q(), f.get(x);
      return f.set(x, f.simdOp(o.sub ? F64X2_NMADD : F64X2_MADD));
    }
    f.get(x), p(), q(), f.simdOp(F64X2_MUL);
    return f.set(x, f.simdOp(o.sub ? F64X2_SUB : F64X2_ADD));
  };
  /** `while (v >= bound) body()`, with `body` responsible for decreasing `v`. */
  const whileAtLeast = (v: number, bound: number, body: () => void) =>
    f.block((done) =>
      f.loop((top) => {
        f.brIf(done, f.i32LtS(f.get(v), f.i32(bound)));
        body();
        f.br(top);
      })
    );

  for (let r = 1; r < o.rows; r++) {
    f.set(aRow[r], f.i32Mul(f.get(sai), f.i32(r)));
    f.set(cRow[r], f.i32Mul(f.get(ldc), f.i32(r)));
  }

  /** One R×W tile of C at `pcj`, from A rows at `pa` and B columns at `pb`. */
  const tile = (R: number, W: 4 | 2 | 1) => {
    const nv = W === 4 ? 2 : 1;
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < nv; v++) {
        const addr = () => at(pcj, cRow, r);
        f.set(acc[2 * r + v], W === 1 ? splat(addr()) : f.v128Load(addr(), 16 * v));
      }
    }
    f.set(ka, f.get(pa));
    f.set(kb, f.get(pb));
    f.set(kk, f.get(kCur));
    const step = () => {
      for (let v = 0; v < nv; v++) {
        f.set(bv[v], W === 1 ? splat(f.get(kb)) : f.v128Load(f.get(kb), 16 * v));
      }
      for (let r = 0; r < R; r++) {
        for (let v = 0; v < nv; v++) {
          // The row's A value is loaded and broadcast once, then reused for the second vector.
          madd(
            acc[2 * r + v],
            () => v === 0 ? f.tee(av, splat(at(ka, aRow, r))) : f.get(av),
            () => f.get(bv[v]),
          );
        }
      }
      add(ka, () => f.get(sak));
      add(kb, () => f.get(ldb));
    };
    whileAtLeast(kk, o.unroll, () => {
      for (let u = 0; u < o.unroll; u++) step();
      add(kk, -o.unroll);
    });
    if (o.unroll > 1) {
      whileAtLeast(kk, 1, () => {
        step();
        add(kk, -1);
      });
    }
    for (let r = 0; r < R; r++) {
      if (W === 1) {
        // A 1-wide tile holds its value in both lanes: store lane 0.
        at(pcj, cRow, r), f.get(acc[2 * r]), f.simdOp(F64X2_EXTRACT, 0);
        f.memOp(F64_STORE, 3);
      }
      for (let v = 0; W > 1 && v < nv; v++) {
        f.v128Store(at(pcj, cRow, r), f.get(acc[2 * r + v]), 16 * v);
      }
    }
  };

  /** R rows of C at `pc` (A rows at `pa`): 4-wide tiles, then at most one 2-wide and one 1. */
  const strip = (R: number) => {
    f.set(pb, f.get(bBlk));
    f.set(pcj, f.get(pc));
    f.set(j, f.get(n));
    const step = (W: 4 | 2 | 1) => {
      tile(R, W);
      add(pb, 8 * W);
      add(pcj, 8 * W);
      add(j, -W);
    };
    whileAtLeast(j, 4, () => step(4));
    f.if(f.i32GeS(f.get(j), f.i32(2)), () => step(2));
    f.if(f.i32GeS(f.get(j), f.i32(1)), () => step(1));
  };
  const nextRows = (R: number) => {
    strip(R);
    add(pa, () => f.i32Mul(f.get(sai), f.i32(R)));
    add(pc, () => f.i32Mul(f.get(ldc), f.i32(R)));
    add(i, -R);
  };

  f.set(aBlk, f.get(a));
  f.set(bBlk, f.get(b));
  f.set(kLeft, f.get(k));
  whileAtLeast(kLeft, 1, () => {
    const kc = o.kBlock;
    f.set(kCur, f.select(f.get(kLeft), f.i32(kc), f.i32LtS(f.get(kLeft), f.i32(kc))));
    f.set(pa, f.get(aBlk));
    f.set(pc, f.get(c));
    f.set(i, f.get(m));
    whileAtLeast(i, o.rows, () => nextRows(o.rows));
    // Fewer than `rows` rows are left: strips of 4, 2 and 1 cover any count up to 7.
    for (const R of [4, 2, 1]) {
      if (R < o.rows) f.if(f.i32GeS(f.get(i), f.i32(R)), () => nextRows(R));
    }
    add(aBlk, () => f.i32Mul(f.get(sak), f.i32(kc)));
    add(bBlk, () => f.i32Mul(f.get(ldb), f.i32(kc)));
    add(kLeft, -kc);
  });
  return f;
}
