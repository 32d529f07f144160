/**
 * Datasets, file readers and batching, on top of the public core API (`k.data`):
 *
 * - `fashionMnist({split})`: Fashion-MNIST from `KILN_DATA`, the Debian package, a cache, or a
 *   checksum-verified download;
 * - `batches(dataset, {batchSize, key})` and `trainTestSplit(dataset, {testSize, key})` over
 *   pytrees of tensors, shuffled deterministically by PRNG key;
 * - text: `charVocab`/`byteVocab` (encode/decode), `sequenceBatches(tokens, {seqLen, batchSize,
 *   key})` of next-token windows, `textSplit`, `unigramEntropy`, and the `fortunes()` corpus;
 * - readers: IDX (`readIdx`, `loadIdx`), CSV (`parseCsv`, `loadCsv`) and NumPy `.npy`
 *   (`parseNpy`, `loadNpy`, `encodeNpy`, `saveNpy`).
 *
 * @example Batches of a dataset (any pytree of tensors with a common first axis)
 * ```ts
 * import * as k from "@kiln/kiln";
 * const csv = k.data.parseCsv("x1,x2,label\n0,1,0\n1,1,1\n2,0,1\n3,1,0\n4,0,1\n", {
 *   header: true,
 * });
 * const x = csv.data.slice([[], [0, 2]]); // [5, 2] features
 * const y = csv.data.slice([[], [2, 3]]).reshape([5]).astype("int32"); // [5] labels
 * const sizes = [];
 * for (const b of k.data.batches({ x, y }, { batchSize: 2, key: k.random.key(0) })) {
 *   sizes.push(b.x.shape[0]); // shuffled by the key; the incomplete last batch is dropped
 * }
 * console.log(sizes); // [2, 2]
 * ```
 *
 * @example Fashion-MNIST (reads or downloads the files, so not run by the doc tests)
 * ```ts ignore
 * import * as k from "@kiln/kiln";
 * const { images, labels } = await k.data.fashionMnist({ split: "train" });
 * const x = images.reshape([images.shape[0], 784]);
 * for (const b of k.data.batches({ x, y: labels }, { batchSize: 128, key: k.random.key(0) })) {
 *   // b.x: [128, 784] float32, b.y: [128] int32
 * }
 * ```
 * @module
 */
export { loadIdx, readIdx } from "./idx.ts";
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_MD5,
  FASHION_MNIST_URL,
  fashionMnist,
  type FashionMnistOptions,
  type LabeledImages,
} from "./fashion_mnist.ts";
export {
  batches,
  type BatchOptions,
  type Dataset,
  numBatches,
  shuffledIndices,
  type SplitOptions,
  trainTestSplit,
} from "./batching.ts";
export { type CsvData, type CsvOptions, loadCsv, parseCsv } from "./csv.ts";
export { encodeNpy, loadNpy, parseNpy, saveNpy } from "./npy.ts";
export {
  normalize,
  randomCrop,
  type RandomCropOptions,
  randomFlip,
  type RandomFlipOptions,
} from "./augment.ts";
export {
  byteVocab,
  charVocab,
  type CharVocabOptions,
  numSequenceBatches,
  type SequenceBatch,
  sequenceBatches,
  type SequenceBatchOptions,
  textSplit,
  type TextSplitOptions,
  unigramEntropy,
  type UnknownPolicy,
  type Vocab,
} from "./text.ts";
export { fortunes, type FortunesCorpus, type FortunesOptions } from "./fortunes.ts";
