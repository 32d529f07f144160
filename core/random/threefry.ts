/**
 * Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC11; the Random123 reference and `jax.random`'s `threefry_2x32`), written with lazy int32
 * tensor ops only, so a whole hash fuses into the kernel that consumes it and gives the same bits
 * on every backend.
 *
 * int32 tensors carry uint32 bit patterns: `add` wraps like two's complement (the same bits as
 * uint32 addition), rotations are `shiftLeft | shiftRightLogical`, and the key schedule appends
 * the Skein parity word `k0 ^ k1 ^ 0x1BD11BDA`.
 * @module
 */
import { makeLeaf } from "../ir/graph.ts";
import { broadcastShapes } from "../shape.ts";
import { type TensorLike, wrap } from "../tensor/convert.ts";
import { defaultDevice } from "../tensor/device.ts";
import { add, bitwiseOr, bitwiseXor, shiftLeft, shiftRightLogical } from "../tensor/elementwise.ts";
import { broadcastTo } from "../tensor/movement.ts";
import { Tensor } from "../tensor/tensor.ts";
import { typeError, userOp } from "../errors.ts";

/** Skein key-schedule parity constant. */
export const KS_PARITY = 0x1BD11BDA;

/** Rotation amounts of the 8 rounds of a cycle (Random123 `R_32x2_*`, as JAX). */
const ROTATIONS: readonly (readonly number[])[] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/** A 32-bit word as a 0-d int32 constant (numbers above 2^31 wrap to their bit pattern). */
function word(x: TensorLike, device: string, what: string): Tensor {
  if (x instanceof Tensor) {
    if (x.dtype !== "int32") {
      throw typeError("threefry2x32", `${what} must be int32 (uint32 bits), got ${x.dtype}`);
    }
    return x;
  }
  if (typeof x !== "number" || !Number.isInteger(x)) {
    throw typeError("threefry2x32", `${what} must be an int32 tensor or an integer`);
  }
  return wrap(makeLeaf("const", Number(BigInt.asIntN(32, BigInt(x))), [], "int32", device));
}

function rotl(x: Tensor, r: number): Tensor {
  return bitwiseOr(shiftLeft(x, r), shiftRightLogical(x, 32 - r));
}

/**
 * The Threefry-2x32 hash (20 rounds) of the counter words `(x0, x1)` under the key `(k0, k1)`,
 * elementwise with broadcasting. Arguments are int32 tensors or integers read as uint32 bits;
 * the two result words are int32 tensors holding uint32 bits.
 * @example
 * ```ts
 * const [y0, y1] = threefry2x32(0, 0, 0, 0); // [0x6b200159, 0x99ba4efe] as int32 bits
 * ```
 */
export function threefry2x32(
  k0: TensorLike,
  k1: TensorLike,
  x0: TensorLike,
  x1: TensorLike,
): [Tensor, Tensor] {
  return userOp("random.threefry2x32", () => {
    const dev = [k0, k1, x0, x1].find((v): v is Tensor => v instanceof Tensor)?.device ??
      defaultDevice();
    const ws = [word(k0, dev, "k0"), word(k1, dev, "k1"), word(x0, dev, "x0"), word(x1, dev, "x1")];
    // Broadcast the inputs (views) first, so that every step is computed per element inside one
    // kernel: a broadcast *computed* value would be materialized by the scheduler.
    const shape = broadcastShapes("threefry2x32", ...ws.map((w) => w.shape));
    const [ka, kb, c0, c1] = ws.map((w) => broadcastTo(w, shape));
    const ks = [ka, kb, bitwiseXor(bitwiseXor(ka, kb), KS_PARITY)];
    let a = add(c0, ks[0]);
    let b = add(c1, ks[1]);
    for (let i = 0; i < 5; i++) {
      for (const r of ROTATIONS[i % 2]) {
        a = add(a, b);
        b = bitwiseXor(rotl(b, r), a);
      }
      // Key injection i + 1: words rotate through the schedule, plus the injection counter.
      a = add(a, ks[(i + 1) % 3]);
      b = add(add(b, ks[(i + 2) % 3]), i + 1);
    }
    return [a, b];
  });
}
