/**
 * The WebAssembly code of the float32 matmul kernel `C[m×n] = A[m×k] · B[k×n]`.
 *
 * C is computed in register tiles of `rows` rows × 8 columns: 2·rows `v128` accumulators stay
 * in registers for the whole reduction, so each step over k loads 8 B values (two
 * `v128.load`) and `rows` A values (each broadcast with `v128.load32_splat`) for 8·rows
 * multiply-adds; the k loop is unrolled `unroll` times. With 6 rows that is 12 accumulators + 3
 * operands, 15 of the 16 SIMD registers V8 allocates on x64. Measured with FMA on the 2-vCPU
 * AMD EPYC machines here (256³, k loop not unrolled): 6×8 ~40 GFLOP/s, 4×8 ~35, 8×8 ~34
 * (spills), 7×8 ~30; unrolling 6×8 by 2 gave ~45, by 4 ~49-51, by 8 no more.
 *
 * The reduction runs in blocks of `kBlock` steps, one pass over C per block: a tile starts
 * from C's partial sums (the caller zeroes C first) and stores them back, so the B rows of one
 * pass stay in cache. That took 1024³ from ~34 to ~41 GFLOP/s and left smaller sizes as they
 * were; a float32 partial sum round-trips through memory exactly, so results do not change.
 *
 * Edges: columns left over after the 8-wide tiles take one 4-wide tile, then 1-wide tiles; rows
 * left over after the `rows`-high strips take strips of 4, 2 and 1. Every tile, edges included,
 * computes each element by the same sequence of `f32x4` operations (a 1-wide tile splats its
 * B value and stores lane 0), so an element's value depends only on its row of A and column of
 * B, never on where it falls in C.
 *
 * A is read with any byte strides (one scalar per row and step); B needs unit stride along a
 * row and any row stride; C is contiguous and zeroed by the caller. m, n, k must be at least 1.
 * @module
 */
import { FuncBuilder, I32, V128 } from "./assembler.ts";

/** Code generation choices. */
export interface KernelOptions {
  /** Rows per register tile (at most 8). */
  readonly rows: number;
  /** Use `f32x4.relaxed_madd` (one rounding per step where the CPU has FMA). */
  readonly fma: boolean;
  /** Reduction steps per loop iteration. */
  readonly unroll: number;
  /** Reduction steps per pass over C (a block of B rows stays in cache for a pass). */
  readonly kBlock: number;
}

/**
 * Builds `sgemm(a, sai, sak, b, ldb, c, m, n, k)` (byte addresses and byte strides), which adds
 * A·B to C.
 */
export function buildSgemm(o: KernelOptions): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, sai, sak, b, ldb, c, m, n, k] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, pa, pb, pc, pcj, ka, kb, kk, ldc] = Array.from({ length: 10 }, () => f.local(I32));
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
  // x += p·q. The operands are callbacks so that they are emitted in stack order.
  const madd = (x: number, p: () => unknown, q: () => unknown) =>
    o.fma
      ? f.set(x, f.f32x4RelaxedMadd(p(), q(), f.get(x)))
      : f.set(x, f.f32x4Add(f.get(x), f.f32x4Mul(p(), q())));
  /** `while (v >= bound) body()`, with `body` responsible for decreasing `v`. */
  const whileAtLeast = (v: number, bound: number, body: () => void) =>
    f.block((done) =>
      f.loop((top) => {
        f.brIf(done, f.i32LtS(f.get(v), f.i32(bound)));
        body();
        f.br(top);
      })
    );

  f.set(ldc, f.i32Mul(f.get(n), f.i32(4)));
  for (let r = 1; r < o.rows; r++) {
    f.set(aRow[r], f.i32Mul(f.get(sai), f.i32(r)));
    f.set(cRow[r], f.i32Mul(f.get(ldc), f.i32(r)));
  }

  /** One R×W tile of C at `pcj`, from A rows at `pa` and B columns at `pb`. */
  const tile = (R: number, W: 8 | 4 | 1) => {
    const nv = W === 8 ? 2 : 1;
    // Continue from C: zero before the first k block, the partial sums after it.
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < nv; v++) {
        const addr = () => at(pcj, cRow, r);
        f.set(acc[2 * r + v], W === 1 ? f.v128Load32Splat(addr()) : f.v128Load(addr(), 16 * v));
      }
    }
    f.set(ka, f.get(pa));
    f.set(kb, f.get(pb));
    f.set(kk, f.get(kCur));
    const step = () => {
      for (let v = 0; v < nv; v++) {
        f.set(bv[v], W === 1 ? f.v128Load32Splat(f.get(kb)) : f.v128Load(f.get(kb), 16 * v));
      }
      for (let r = 0; r < R; r++) {
        for (let v = 0; v < nv; v++) {
          // The row's A value is loaded and broadcast once, then reused for the second vector.
          madd(
            acc[2 * r + v],
            () => v === 0 ? f.tee(av, f.v128Load32Splat(at(ka, aRow, r))) : f.get(av),
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
      // A 1-wide tile holds its value in every lane: store lane 0.
      if (W === 1) f.f32Store(at(pcj, cRow, r), f.f32x4ExtractLane(f.get(acc[2 * r]), 0));
      for (let v = 0; W > 1 && v < nv; v++) {
        f.v128Store(at(pcj, cRow, r), f.get(acc[2 * r + v]), 16 * v);
      }
    }
  };

  /** R rows of C at `pc` (A rows at `pa`): 8-wide tiles, then at most one 4-wide, then 1s. */
  const strip = (R: number) => {
    f.set(pb, f.get(bBlk));
    f.set(pcj, f.get(pc));
    f.set(j, f.get(n));
    const step = (W: 8 | 4 | 1) => {
      tile(R, W);
      add(pb, 4 * W);
      add(pcj, 4 * W);
      add(j, -W);
    };
    whileAtLeast(j, 8, () => step(8));
    f.if(f.i32GeS(f.get(j), f.i32(4)), () => step(4));
    whileAtLeast(j, 1, () => step(1));
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
