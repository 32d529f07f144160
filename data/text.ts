/**
 * Text for language models: vocabularies (characters or UTF-8 bytes) that turn text into int32
 * token ids and back, next-token training windows of constant shape, and a train/validation
 * split. The fortunes corpus loader lives in `fortunes.ts`.
 * @module
 */
import * as k from "../core/mod.ts";
import { shuffledIndices } from "./batching.ts";
import {
  checkBool,
  checkInt,
  checkOneOf,
  checkOptions,
  describe,
  rangeError,
  shapeError,
  typeError,
  userOp,
} from "./_errors.ts";

/** What `encode` does with a character the vocabulary does not hold. */
export type UnknownPolicy = "error" | "skip" | "replace";

/** A vocabulary: token ids `0 … size-1`, each standing for a string (a character or a byte). */
export interface Vocab {
  /** `"char"` (Unicode code points) or `"byte"` (UTF-8 bytes). */
  readonly kind: "char" | "byte";
  /** Number of token ids. */
  readonly size: number;
  /** The string of each id (`tokens[id]`); the unknown token is `"\uFFFD"`. */
  readonly tokens: readonly string[];
  /** The id unknown characters become with `unknown: "replace"` (else `undefined`). */
  readonly unknownId: number | undefined;
  /** Token ids of `text` (an `Int32Array`, one id per character or byte). */
  encode(text: string): Int32Array;
  /** The text of token ids (ids out of range throw). */
  decode(ids: ArrayLike<number>): string;
}

/** Options of `data.charVocab`. */
export interface CharVocabOptions {
  /**
   * What `encode` does with a character outside the vocabulary: `"error"` (default: throw,
   * naming the character and its position), `"skip"` (drop it) or `"replace"` (a reserved
   * unknown id, the last one, decoded as U+FFFD).
   */
  unknown?: UnknownPolicy;
  /**
   * Characters seen fewer times than this in `text` are left out of the vocabulary (default 1:
   * keep every character). Useful with `unknown: "replace"` to fold rare symbols into one id.
   */
  minCount?: number;
}

const REPLACEMENT = "\uFFFD";

function checkIds(op: string, ids: unknown, size: number): ArrayLike<number> {
  const ok = Array.isArray(ids) || (ArrayBuffer.isView(ids) && !(ids instanceof DataView));
  if (!ok) {
    throw typeError(
      op,
      `ids must be an array or typed array of token ids, got ${describe(ids)}` +
        (ids instanceof k.Tensor ? ` (read a tensor first: await t.data())` : ""),
    );
  }
  const arr = ids as ArrayLike<number>;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= size) {
      throw rangeError(op, `ids[${i}] = ${String(v)} is not a token id in 0…${size - 1}`);
    }
  }
  return arr;
}

/**
 * A character vocabulary of `text`: one id per distinct Unicode code point, sorted by code point
 * (so the same text always gives the same ids), plus an unknown id with `unknown: "replace"`.
 * `encode(s)` gives an `Int32Array` of ids, `decode(ids)` the string back.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const vocab = k.data.charVocab("hello world");
 * console.log(vocab.size); // 8: " ", "d", "e", "h", "l", "o", "r", "w"
 * const ids = vocab.encode("hold"); // Int32Array [3, 5, 4, 1]
 * console.log(vocab.decode(ids)); // "hold"
 * ```
 */
export function charVocab(text: string, opts: CharVocabOptions = {}): Vocab {
  return userOp("data.charVocab", () => {
    const op = "data.charVocab";
    if (typeof text !== "string") {
      throw typeError(op, `text must be a string, got ${describe(text)}`);
    }
    const o = checkOptions(op, opts, ["unknown", "minCount"]);
    const unknown = o.unknown === undefined
      ? "error"
      : checkOneOf(op, o.unknown, ["error", "skip", "replace"], "unknown");
    const minCount = o.minCount === undefined ? 1 : checkInt(op, o.minCount, "minCount", 1);
    const counts = new Map<number, number>();
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      counts.set(cp, (counts.get(cp) ?? 0) + 1);
    }
    const kept = [...counts].filter(([, c]) => c >= minCount).map(([cp]) => cp).sort((a, b) =>
      a - b
    );
    const tokens = kept.map((cp) => String.fromCodePoint(cp));
    const unknownId = unknown === "replace" ? tokens.length : undefined;
    if (unknownId !== undefined) tokens.push(REPLACEMENT);
    if (tokens.length === 0) {
      throw shapeError(op, `the vocabulary is empty (text has ${text.length} characters)`);
    }
    const ids = new Map<number, number>(kept.map((cp, i) => [cp, i]));
    const frozen = Object.freeze(tokens);
    return Object.freeze({
      kind: "char" as const,
      size: frozen.length,
      tokens: frozen,
      unknownId,
      encode(s: string): Int32Array {
        return userOp("data.charVocab.encode", () => {
          const eop = "data.charVocab.encode";
          if (typeof s !== "string") {
            throw typeError(eop, `text must be a string, got ${describe(s)}`);
          }
          const out = new Int32Array(s.length); // code points <= UTF-16 units
          let n = 0, pos = 0;
          for (const ch of s) {
            const id = ids.get(ch.codePointAt(0)!);
            if (id !== undefined) out[n++] = id;
            else if (unknownId !== undefined) out[n++] = unknownId;
            else if (unknown === "error") {
              throw rangeError(
                eop,
                `character ${JSON.stringify(ch)} (U+${
                  ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
                }) at position ${pos} is not in the vocabulary of ${frozen.length} characters ` +
                  `(build it with {unknown: "replace"} or "skip" to accept unseen characters)`,
              );
            }
            pos++;
          }
          return out.slice(0, n);
        });
      },
      decode(list: ArrayLike<number>): string {
        return userOp("data.charVocab.decode", () => {
          const arr = checkIds("data.charVocab.decode", list, frozen.length);
          let s = "";
          for (let i = 0; i < arr.length; i++) s += frozen[arr[i]];
          return s;
        });
      },
    });
  });
}

const BYTE_TOKENS: readonly string[] = Object.freeze(
  Array.from({ length: 256 }, (_, b) => b < 128 ? String.fromCharCode(b) : REPLACEMENT),
);

/**
 * The byte-level vocabulary: the 256 byte values of the UTF-8 encoding, so every text encodes
 * (no unknown ids) and the vocabulary does not depend on the corpus. `decode` reads the bytes
 * back as UTF-8 (an incomplete sequence, e.g. from a sampled model, becomes U+FFFD).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const v = k.data.byteVocab();
 * console.log(v.encode("é"), v.decode([104, 105])); // Int32Array [195, 169] "hi"
 * ```
 */
export function byteVocab(): Vocab {
  const enc = new TextEncoder(), dec = new TextDecoder();
  return Object.freeze({
    kind: "byte" as const,
    size: 256,
    tokens: BYTE_TOKENS,
    unknownId: undefined,
    encode(s: string): Int32Array {
      return userOp("data.byteVocab.encode", () => {
        if (typeof s !== "string") {
          throw typeError("data.byteVocab.encode", `text must be a string, got ${describe(s)}`);
        }
        return Int32Array.from(enc.encode(s));
      });
    },
    decode(list: ArrayLike<number>): string {
      return userOp("data.byteVocab.decode", () => {
        const arr = checkIds("data.byteVocab.decode", list, 256);
        return dec.decode(Uint8Array.from(arr as ArrayLike<number>));
      });
    },
  });
}

/** Options of `data.sequenceBatches` and `data.numSequenceBatches`. */
export interface SequenceBatchOptions {
  /** Tokens per example (the window length; targets are the same window shifted by one). */
  seqLen: number;
  /** Windows per batch. */
  batchSize: number;
  /** PRNG key of the window order (a CPU key). Without one the windows come in text order. */
  key?: k.Tensor;
  /** Shuffle the windows (default: true when a key is given). */
  shuffle?: boolean;
  /** Tokens between the starts of consecutive windows (default `seqLen`: no overlap). */
  stride?: number;
  /** Skip the last, incomplete batch (default true: every batch is `[batchSize, seqLen]`). */
  dropRemainder?: boolean;
  /** Device of the yielded tensors (default: the default device). */
  device?: string;
}

/** A batch of next-token examples: `targets[b, t]` is the token after `inputs[b, t]`. */
export interface SequenceBatch {
  /** `[batchSize, seqLen]` int32 token ids. */
  inputs: k.Tensor;
  /** `[batchSize, seqLen]` int32: the inputs shifted one token ahead. */
  targets: k.Tensor;
}

function checkTokens(op: string, tokens: unknown): ArrayLike<number> {
  if (
    tokens instanceof Int32Array || tokens instanceof Uint8Array || tokens instanceof Uint16Array
  ) {
    return tokens;
  }
  if (Array.isArray(tokens) && tokens.every((t) => typeof t === "number" && Number.isInteger(t))) {
    return tokens;
  }
  throw typeError(
    op,
    `tokens must be an Int32Array (or an array of integer ids), got ${describe(tokens)}` +
      (tokens instanceof k.Tensor ? " (pass the host ids, e.g. vocab.encode(text))" : ""),
  );
}

interface Windows {
  n: number;
  seqLen: number;
  batchSize: number;
  stride: number;
  drop: boolean;
  count: number;
}

function windowsOf(op: string, numTokens: number, opts: SequenceBatchOptions): Windows {
  const o = checkOptions(op, opts ?? null, [
    "seqLen",
    "batchSize",
    "key",
    "shuffle",
    "stride",
    "dropRemainder",
    "device",
  ]);
  const seqLen = checkInt(op, o.seqLen, "seqLen", 1);
  const batchSize = checkInt(op, o.batchSize, "batchSize", 1);
  const stride = o.stride === undefined ? seqLen : checkInt(op, o.stride, "stride", 1);
  const drop = o.dropRemainder === undefined
    ? true
    : checkBool(op, o.dropRemainder, "dropRemainder");
  // A window needs seqLen + 1 tokens (its inputs and the next token of the last one).
  const count = numTokens >= seqLen + 1 ? Math.floor((numTokens - seqLen - 1) / stride) + 1 : 0;
  return { n: numTokens, seqLen, batchSize, stride, drop, count };
}

/**
 * How many batches an epoch of `data.sequenceBatches` has for `numTokens` tokens: the windows
 * (`floor((numTokens - seqLen - 1) / stride) + 1`) divided by `batchSize`, rounded down when
 * dropping the remainder (the default).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.data.numSequenceBatches(10_000, { seqLen: 64, batchSize: 32 }); // 4 (156 windows)
 * ```
 */
export function numSequenceBatches(numTokens: number, opts: SequenceBatchOptions): number {
  return userOp("data.numSequenceBatches", () => {
    const n = checkInt("data.numSequenceBatches", numTokens, "numTokens", 0);
    const w = windowsOf("data.numSequenceBatches", n, opts);
    return w.drop ? Math.floor(w.count / w.batchSize) : Math.ceil(w.count / w.batchSize);
  });
}

/**
 * Next-token training batches from a token sequence: windows of `seqLen + 1` tokens starting
 * every `stride` tokens, each giving `inputs = window[0:seqLen]` and `targets =
 * window[1:seqLen+1]`, grouped `batchSize` at a time into `[batchSize, seqLen]` int32 tensors.
 * With a `key` the window order is shuffled (the same key, the same order: pass
 * `k.random.foldIn(key, epoch)` for a new order each epoch). One call is one epoch, a
 * synchronous generator; every batch has the same shape by default (`dropRemainder`), so a
 * jitted step compiles once. Batches are assembled on the host and uploaded in one copy each.
 *
 * Throws when the text is too short for a single full batch (with `dropRemainder`).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const vocab = k.data.charVocab("abcdefgh".repeat(50));
 * const tokens = vocab.encode("abcdefgh".repeat(50));
 * for (const { inputs, targets } of k.data.sequenceBatches(tokens, { seqLen: 16, batchSize: 4 })) {
 *   console.log(inputs.shape, targets.shape); // [4, 16] [4, 16]
 * }
 * ```
 */
export function sequenceBatches(
  tokens: Int32Array | readonly number[],
  opts: SequenceBatchOptions,
): Generator<SequenceBatch, void, undefined> {
  return userOp("data.sequenceBatches", () => {
    const op = "data.sequenceBatches";
    const ids = checkTokens(op, tokens);
    const w = windowsOf(op, ids.length, opts);
    if (opts.shuffle !== undefined) checkBool(op, opts.shuffle, "shuffle");
    const shuffle = opts.shuffle ?? opts.key !== undefined;
    if (shuffle && opts.key === undefined) {
      throw shapeError(op, `shuffle needs a key (e.g. {key: k.random.key(0)})`);
    }
    const full = w.drop ? Math.floor(w.count / w.batchSize) : Math.ceil(w.count / w.batchSize);
    if (full === 0) {
      throw shapeError(
        op,
        `${ids.length} tokens give ${w.count} windows of ${w.seqLen}+1 tokens (stride ` +
          `${w.stride}), fewer than one batch of ${w.batchSize}; use a shorter seqLen, a ` +
          `smaller batch, or dropRemainder: false`,
      );
    }
    const order = shuffle ? shuffledIndices(opts.key!, w.count) : null;
    const device = opts.device;
    return (function* () {
      for (let b = 0; b < full; b++) {
        const rows = Math.min(w.batchSize, w.count - b * w.batchSize);
        const x = new Int32Array(rows * w.seqLen), y = new Int32Array(rows * w.seqLen);
        for (let r = 0; r < rows; r++) {
          const win = order ? order[b * w.batchSize + r] : b * w.batchSize + r;
          const start = win * w.stride;
          for (let t = 0; t < w.seqLen; t++) {
            x[r * w.seqLen + t] = ids[start + t];
            y[r * w.seqLen + t] = ids[start + t + 1];
          }
        }
        const shape = [rows, w.seqLen];
        yield {
          inputs: k.tensor(x, { shape, dtype: "int32", device }),
          targets: k.tensor(y, { shape, dtype: "int32", device }),
        };
      }
    })();
  });
}

/** Options of `data.textSplit`. */
export interface TextSplitOptions {
  /** Size of the validation part: a fraction in (0, 1) or an integer count (default 0.1). */
  validation?: number;
  /**
   * PRNG key (CPU) shuffling the documents of a `string[]` before the split. Not accepted for a
   * single text or token sequence, whose split is always the contiguous tail.
   */
  key?: k.Tensor;
}

function splitCount(op: string, n: number, v: unknown): number {
  if (typeof v !== "number") throw typeError(op, `validation must be a number, got ${describe(v)}`);
  let m: number;
  if (v > 0 && v < 1) m = Math.ceil(v * n);
  else if (Number.isInteger(v) && v >= 1) m = v;
  else {
    throw rangeError(op, `validation must be a fraction in (0, 1) or a positive count, got ${v}`);
  }
  if (m >= n) {
    throw rangeError(op, `validation ${v} leaves nothing to train on out of ${n} (takes ${m})`);
  }
  return m;
}

/**
 * Splits text into `[train, validation]`:
 * - a list of documents (`string[]`, e.g. the fortunes): whole documents go to one side, so no
 *   text is shared; with a `key` they are shuffled first, without one the last ones validate;
 * - one string or a token sequence (`Int32Array`, `number[]`): the contiguous tail validates (a
 *   random split of overlapping windows would leak training text into validation), so no key.
 * `validation` is a fraction (of documents, characters or tokens) or a count; default 0.1.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const [train, val] = k.data.textSplit(["a", "b", "c", "d"], { validation: 1, key: k.random.key(0) });
 * const [head, tail] = k.data.textSplit("abcdefghij", { validation: 0.2 }); // "abcdefgh", "ij"
 * ```
 */
export function textSplit<T extends string | readonly string[] | Int32Array | readonly number[]>(
  source: T,
  opts: TextSplitOptions = {},
): [T, T] {
  return userOp("data.textSplit", () => {
    const op = "data.textSplit";
    const o = checkOptions(op, opts, ["validation", "key"]);
    const isDocs = Array.isArray(source) && source.every((d) => typeof d === "string") &&
      source.length > 0;
    if (isDocs) {
      const docs = source as readonly string[];
      const m = splitCount(op, docs.length, o.validation ?? 0.1);
      let order: ArrayLike<number> | null = null;
      if (o.key !== undefined) {
        if (!(o.key instanceof k.Tensor)) {
          throw typeError(op, `key must be a tensor from k.random.key, got ${describe(o.key)}`);
        }
        order = shuffledIndices(o.key, docs.length);
      }
      const pick = (i: number) => docs[order ? order[i] : i];
      const train = Array.from({ length: docs.length - m }, (_, i) => pick(i));
      const val = Array.from({ length: m }, (_, i) => pick(docs.length - m + i));
      return [train, val] as unknown as [T, T];
    }
    const seq = typeof source === "string" ? source : checkTokens(op, source);
    if (o.key !== undefined) {
      throw typeError(
        op,
        `key shuffles documents (a string[]); a single text or token sequence is split at its ` +
          `tail so that overlapping windows do not leak into validation`,
      );
    }
    const n = seq.length;
    const m = splitCount(op, n, o.validation ?? 0.1);
    if (typeof seq === "string") return [seq.slice(0, n - m), seq.slice(n - m)] as [T, T];
    const arr = seq as Int32Array | number[];
    return [arr.slice(0, n - m), arr.slice(n - m)] as unknown as [T, T];
  });
}

/**
 * The unigram entropy of a token sequence in nats per token: `−Σ p log p` over the token
 * frequencies of `tokens` itself — the loss of the best model that ignores context, the
 * baseline a language model must beat.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.data.unigramEntropy([0, 1, 0, 1]); // ln 2 ≈ 0.693
 * ```
 */
export function unigramEntropy(tokens: Int32Array | readonly number[]): number {
  return userOp("data.unigramEntropy", () => {
    const ids = checkTokens("data.unigramEntropy", tokens);
    if (ids.length === 0) throw shapeError("data.unigramEntropy", `tokens is empty`);
    const counts = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) counts.set(ids[i], (counts.get(ids[i]) ?? 0) + 1);
    let h = 0;
    for (const c of counts.values()) {
      const p = c / ids.length;
      h -= p * Math.log(p);
    }
    return h;
  });
}
