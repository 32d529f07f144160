/**
 * Data augmentation as pure, keyed tensor functions: `randomCrop`, `randomFlip`, `normalize`.
 * One key gives every image of the batch its own draw; the same key gives the same result.
 * Only tensor ops are used (no host reads), so they run inside a jitted training step.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";

const E = k.errors;
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;
const FLOATS = ["float16", "float32", "float64"];

function checkImages(op: string, images: unknown, minRank: number, layout: string): Tensor {
  const t = E.checkTensorArg<Tensor>(op, images, "images");
  if (t.ndim < minRank) {
    throw E.shapeError(op, `images must be ${layout} (rank >= ${minRank}), got ${fmt(t.shape)}`);
  }
  return t;
}

/** An integer `>= min`, or `[height, width]` of them. */
function pair(op: string, v: unknown, what: string, min: number): [number, number] {
  if (typeof v === "number") {
    const d = E.checkInt(op, v, what, min);
    return [d, d];
  }
  const a = E.checkInts(op, v, what, min);
  if (a.length !== 2) {
    throw E.rangeError(op, `${what} must be a number or [height, width], got ${fmt(a)}`);
  }
  return [a[0], a[1]];
}

/** Options of `randomCrop`. */
export interface RandomCropOptions {
  /** Zero padding added to each side of the height and width first (default 0). */
  padding?: number | readonly [number, number];
}

/**
 * Crops a random `size` window (a number or `[height, width]`) from each image of
 * `images [N, ..., H, W]`, after zero-padding the last two axes by `padding` (torchvision's
 * `RandomCrop(size, padding)` per image). Image `n`'s window starts at row
 * `randint(split(key)[0], [N], 0, H + 2·ph − h + 1)[n]` and column
 * `randint(split(key)[1], [N], 0, W + 2·pw − w + 1)[n]` of the padded image; all channels of an
 * image share its window. One gather (`k.take`), so gradients flow back to the pixels.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const x = k.random.uniform(k.random.key(0), [128, 1, 28, 28]);
 * const crops = k.data.randomCrop(k.random.key(1), x, 28, { padding: 4 }); // [128, 1, 28, 28]
 * ```
 */
export const randomCrop: (
  key: Tensor,
  images: Tensor,
  size: number | readonly [number, number],
  opts?: RandomCropOptions,
) => Tensor = E.publicOp("data.randomCrop", (
  key: Tensor,
  images: Tensor,
  size: number | readonly [number, number],
  opts?: RandomCropOptions,
): Tensor => {
  const op = "data.randomCrop";
  const [ky, kx] = k.random.split(key);
  const x = checkImages(op, images, 3, "a batch [N, H, W] or [N, C, H, W]");
  const [h, w] = pair(op, size, "size", 1);
  const o = E.checkOptions(op, opts, ["padding"]);
  const [ph, pw] = pair(op, o.padding ?? 0, "padding", 0);
  const shape = x.shape;
  const n = shape[0], H = shape[x.ndim - 2] + 2 * ph, W = shape[x.ndim - 1] + 2 * pw;
  if (h > H || w > W) {
    throw E.shapeError(
      op,
      `size [${h},${w}] is larger than the padded images [${H},${W}] (images ${
        fmt(shape)
      }, padding [${ph},${pw}])`,
    );
  }
  const m = shape.slice(1, -2).reduce((a, d) => a * d, 1);
  const pads = shape.map((
    _,
    i,
  ) => (i === x.ndim - 2 ? [ph, ph] : i === x.ndim - 1 ? [pw, pw] : [0, 0]));
  const padded = k.pad(x, pads as [number, number][]);
  const oy = k.reshape(k.random.randint(ky, [n], 0, H - h + 1), [n, 1, 1, 1]);
  const ox = k.reshape(k.random.randint(kx, [n], 0, W - w + 1), [n, 1, 1, 1]);
  const dev = { device: x.device };
  // Flat index of padded[n, c, oy + i, ox + j] in the [N, M, H, W] view.
  const image = k.reshape(k.mul(k.arange(n, undefined, 1, dev), m * H * W), [n, 1, 1, 1]);
  const chan = k.reshape(k.mul(k.arange(m, undefined, 1, dev), H * W), [1, m, 1, 1]);
  const row = k.mul(k.add(oy, k.reshape(k.arange(h, undefined, 1, dev), [1, 1, h, 1])), W);
  const col = k.add(ox, k.reshape(k.arange(w, undefined, 1, dev), [1, 1, 1, w]));
  const index = k.add(k.add(image, chan), k.add(row, col));
  const crops = k.take(k.reshape(padded, [padded.size]), index);
  return k.reshape(crops, [...shape.slice(0, -2), h, w]);
});

/** Options of `randomFlip`. */
export interface RandomFlipOptions {
  /** The axis reversed (default -1, the width: a horizontal flip). Not the batch axis. */
  axis?: number;
}

/**
 * Reverses `axis` (default the last: a horizontal flip) of each image of `images [N, ...]`
 * with probability 0.5 (torchvision's `RandomHorizontalFlip` per image): image `n` is flipped
 * exactly when `k.random.bernoulli(key, 0.5, [N])[n]` is true.
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const x = k.random.uniform(k.random.key(0), [128, 1, 28, 28]);
 * const flipped = k.data.randomFlip(k.random.key(2), x);
 * ```
 */
export const randomFlip: (key: Tensor, images: Tensor, opts?: RandomFlipOptions) => Tensor = E
  .publicOp("data.randomFlip", (key: Tensor, images: Tensor, opts?: RandomFlipOptions): Tensor => {
    const op = "data.randomFlip";
    k.random.split(key, 1); // checks the key first
    const x = checkImages(op, images, 2, "a batch [N, ...]");
    const o = E.checkOptions(op, opts, ["axis"]);
    const r = x.ndim;
    const a = E.checkAxis(op, o.axis ?? -1, r);
    if (a === 0) {
      throw E.rangeError(op, `axis must not be the batch axis 0 of images ${fmt(x.shape)}`);
    }
    const n = x.shape[0];
    const flip = k.reshape(k.random.bernoulli(key, 0.5, [n]), [n, ...new Array(r - 1).fill(1)]);
    return k.where(flip, k.flip(x, { axis: a }), x);
  });
/**
 * Per-channel standardization `(images − mean[c]) / std[c]` (torchvision's `Normalize`):
 * `mean` and `std` are numbers (every value) or one number per channel, the channel axis
 * being the third from last (`[N, C, H, W]` or `[C, H, W]`).
 * @example
 * ```ts
 * import * as k from "../mod.ts";
 * const x = k.random.uniform(k.random.key(0), [8, 3, 32, 32]);
 * const y = k.data.normalize(x, [0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]);
 * ```
 */
export const normalize: (
  images: Tensor,
  mean: number | readonly number[] | Tensor,
  std: number | readonly number[] | Tensor,
) => Tensor = E.publicOp("data.normalize", (
  images: Tensor,
  mean: number | readonly number[] | Tensor,
  std: number | readonly number[] | Tensor,
): Tensor => {
  const op = "data.normalize";
  const x = E.checkTensorArg<Tensor>(op, images, "images");
  if (!FLOATS.includes(x.dtype)) {
    throw E.shapeError(op, `images must be a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
  }
  const sizeOf = (v: unknown) =>
    E.isTensorValue(v) ? (v as Tensor).size : Array.isArray(v) ? v.length : 1;
  const perChannel = [mean, std].some((v) => Array.isArray(v) || sizeOf(v) > 1);
  if (perChannel && x.ndim < 3) {
    throw E.shapeError(op, `per-channel mean/std need images [..., C, H, W], got ${fmt(x.shape)}`);
  }
  const c = perChannel ? x.shape[x.ndim - 3] : 1;
  const view = perChannel ? [c, 1, 1] : [];
  const opts = { dtype: x.dtype, device: x.device };
  const stat = (v: unknown, what: string): Tensor => {
    if (E.isTensorValue(v)) {
      const t = v as Tensor;
      if (t.size !== c && t.size !== 1) {
        throw E.shapeError(
          op,
          `${what} ${fmt(t.shape)} must have 1 or ${c} elements (channels of images ${
            fmt(x.shape)
          })`,
        );
      }
      return k.reshape(t, t.size === 1 ? [] : view);
    }
    const a = typeof v === "number" ? new Array(c).fill(E.checkNumber(op, v, what)) : v;
    if (!Array.isArray(a)) {
      throw E.typeError(op, `${what} must be a number, an array or a Tensor, got ${E.describe(v)}`);
    }
    a.forEach((d, i) => E.checkNumber(op, d, `${what}[${i}]`));
    if (a.length !== c) {
      throw E.shapeError(
        op,
        `${what} must be a number or ${c} numbers (one per channel of images ${
          fmt(x.shape)
        }), got ${a.length}`,
      );
    }
    if (what === "std" && a.some((d) => d === 0)) {
      throw E.rangeError(op, `std must be non-zero, got [${a.join(",")}]`);
    }
    return k.reshape(k.tensor(a, opts), view);
  };
  return k.div(k.sub(x, stat(mean, "mean")), stat(std, "std"));
});
