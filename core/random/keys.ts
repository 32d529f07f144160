/**
 * PRNG keys and raw random bits for `random.ts`: `key`, `split`, `foldIn` and `bits`, plus the
 * argument checks and Threefry counter hashing every draw starts from. Helpers exported here and
 * not re-exported by `random.ts` are internal to `core/random/`.
 * @module
 */
import { makeLeaf } from "../ir/graph.ts";
import { checkShape, fmt, numel, shapeEq } from "../shape.ts";
import { wrap } from "../tensor/convert.ts";
import { tensor } from "../tensor/creation.ts";
import { defaultDevice } from "../tensor/device.ts";
import { add, bitwiseXor, equal, mul, where } from "../tensor/elementwise.ts";
import { broadcastTo, reshape, slice } from "../tensor/movement.ts";
import { Tensor } from "../tensor/tensor.ts";
import { threefry2x32 } from "./threefry.ts";
import {
  checkInt,
  checkOneOf,
  checkOptions,
  describe,
  rangeError,
  typeError,
  userOp,
} from "../errors.ts";

/** Options of `key`. */
export interface KeyOptions {
  /** Device of the key (default: the current default device); draws follow the key's device. */
  device?: string;
}

/** 2^32, the number of uint32 values. */
export const TWO_32 = 4294967296;
/** The smallest int32 (the sign bit alone: xor with it maps unsigned order to signed order). */
export const INT32_MIN = -2147483648;
/** The largest int32 (bound on counts and element numbers, as flat indices are int32). */
export const INT32_MAX = 2147483647;

/**
 * `a - b`, written as `a + (-b)` (exact for floats and wrapping ints alike). Works around a CPU
 * codegen bug: a negative constant as the right operand of `sub` renders as `x--5`, which is a
 * syntax error.
 */
export function minus(a: Tensor | number, b: Tensor | number): Tensor {
  return typeof b === "number" ? add(a, -b) : add(a, mul(b, -1));
}

/**
 * A PRNG key from an integer seed: int32 `[2]` holding the uint32 words
 * `[seed >> 32, seed & 0xffffffff]` (so `[0, seed]` for `0 <= seed < 2^32`; a negative seed
 * gives `[0xffffffff, seed & 0xffffffff]`, as `jax.random.key` with 64-bit seeds).
 * @example const key = k.random.key(42); // int32 [0, 42]
 */
export function key(seed: number, opts: KeyOptions = {}): Tensor {
  return userOp("random.key", () => {
    if (typeof seed !== "number") {
      throw typeError("random.key", `seed must be an integer, got ${describe(seed)}`);
    }
    if (!Number.isSafeInteger(seed)) {
      throw rangeError("random.key", `seed must be a safe integer, got ${seed}`);
    }
    const o = checkOptions("random.key", opts, ["device"]);
    const device = o.device === undefined
      ? defaultDevice()
      : checkOneOf("random.key", o.device, ["cpu", "webgpu"], "device");
    const s = BigInt(seed);
    const hi = Number(BigInt.asIntN(32, s >> 32n));
    const lo = Number(BigInt.asIntN(32, s));
    return tensor(new Int32Array([hi, lo]), { device });
  });
}

/** `k` as a key tensor, or a TypeError naming `random.<op>`. */
export function checkKey(op: string, k: unknown): Tensor {
  if (!(k instanceof Tensor) || k.dtype !== "int32" || !shapeEq(k.shape, [2])) {
    const got = k instanceof Tensor ? `${k.dtype}${fmt(k.shape)}` : describe(k);
    throw typeError(
      `random.${op}`,
      `key must be an int32 tensor of shape [2] (from random.key/split), got ${got}`,
    );
  }
  return k;
}

/** `shape` checked as a shape of fewer than 2^31 elements. */
export function checkShapeArg(op: string, shape: unknown): number[] {
  const s = checkShape(`random.${op}`, shape);
  if (numel(s) > INT32_MAX) {
    throw rangeError(`random.${op}`, `shape ${fmt(s)} has more than 2^31 - 1 elements`);
  }
  return s;
}

/** The two key words as 0-d int32 tensors. */
function keyWords(k: Tensor): [Tensor, Tensor] {
  return [reshape(slice(k, [[0, 1]]), []), reshape(slice(k, [[1, 2]]), [])];
}

/** Row-major flat index over `shape` (int32). */
function flatIndex(shape: readonly number[], device: string): Tensor {
  return reshape(wrap(makeLeaf("iota", 0, [numel(shape)], "int32", device)), shape);
}

/** `[y0, y1]` = Threefry(key, [0, i]) for every flat index `i` of `shape`. */
export function hashIndex(k: Tensor, shape: readonly number[]): [Tensor, Tensor] {
  const [k0, k1] = keyWords(k);
  return threefry2x32(k0, k1, 0, flatIndex(shape, k.device));
}

/** Keys `T(key, [0, c])` for the counters `c` of an int32 `[m]` tensor, as an int32 `[m, 2]`. */
function hashKeys(k: Tensor, counters: Tensor): Tensor {
  const m = counters.shape[0];
  const [k0, k1] = keyWords(k);
  const c = broadcastTo(reshape(counters, [m, 1]), [m, 2]);
  const [y0, y1] = threefry2x32(k0, k1, 0, c);
  const word = wrap(makeLeaf("iota", 1, [m, 2], "int32", k.device));
  return where(equal(word, 0), y0, y1);
}

/**
 * Splits a key into `n` new, independent keys (an array of int32 `[2]` tensors); key `i` is the
 * Threefry hash of the counter `[0, i]`, as `jax.random.split`.
 * @example const [key, sub] = k.random.split(k.random.key(0));
 */
export function split(key: Tensor, n = 2): Tensor[] {
  return userOp("random.split", () => {
    const kk = checkKey("split", key);
    checkInt("random.split", n, "n", 0, INT32_MAX);
    const all = hashKeys(kk, wrap(makeLeaf("iota", 0, [n], "int32", kk.device)));
    return Array.from({ length: n }, (_, i) => reshape(slice(all, [[i, i + 1]]), [2]));
  });
}

/**
 * A new key from a key and an integer (its low 32 bits are used): the Threefry hash of the
 * counter `[0, data]`, as `jax.random.fold_in`.
 * @example const stepKey = k.random.foldIn(key, step);
 */
export function foldIn(key: Tensor, data: number): Tensor {
  return userOp("random.foldIn", () => {
    const kk = checkKey("foldIn", key);
    if (typeof data !== "number") {
      throw typeError("random.foldIn", `data must be an integer, got ${describe(data)}`);
    }
    if (!Number.isSafeInteger(data)) {
      throw rangeError("random.foldIn", `data must be a safe integer, got ${data}`);
    }
    const d = Number(BigInt.asIntN(32, BigInt(data)));
    const c = wrap(makeLeaf("const", d, [1], "int32", kk.device));
    return reshape(hashKeys(kk, c), [2]);
  });
}

/**
 * Uniform random 32-bit words of the given shape, as int32 tensors holding the uint32 bit
 * patterns (`jax.random.bits` with the default 32-bit width).
 * @example const b = k.random.bits(key, [4]); // int32 bit patterns
 */
export function bits(key: Tensor, shape: readonly number[] = []): Tensor {
  return userOp("random.bits", () => {
    const kk = checkKey("bits", key);
    const [y0, y1] = hashIndex(kk, checkShapeArg("bits", shape));
    return bitwiseXor(y0, y1);
  });
}
