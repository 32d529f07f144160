/**
 * Data augmentation as pure, keyed tensor functions: `randomCrop`, `randomFlip`, `normalize`.
 * One key gives every image of the batch its own draw; the same key gives the same result.
 * Only tensor ops are used (no host reads), so they run inside a jitted training step.
 * @module
 */
import * as k from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** A shape/dtype mismatch (`KilnError`); `msg` starts with `op: `. */
const mismatch = (msg: string) => new k.KilnError(msg.slice(0, msg.indexOf(":")), msg);

function checkImages(op: string, images: unknown): Tensor {
  if (!(images instanceof k.Tensor)) {
    throw new TypeError(`${op}: images must be a Tensor, got ${typeof images}`);
  }
  if (images.ndim < 3) {
    throw mismatch(
      `${op}: images must be a batch [N, H, W] or [N, C, H, W] (rank >= 3), got ${
        fmt(images.shape)
      }`,
    );
  }
  return images;
}

function pair(op: string, v: unknown, what: string, min: number): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  if (
    !Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)
  ) {
    throw new RangeError(
      `${op}: ${what} must be an integer >= ${min} or [height, width] of them, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return [p[0], p[1]];
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
export function randomCrop(
  key: Tensor,
  images: Tensor,
  size: number | readonly [number, number],
  opts: RandomCropOptions = {},
): Tensor {
  const op = "randomCrop";
  const x = checkImages(op, images);
  const [h, w] = pair(op, size, "size", 1);
  const [ph, pw] = pair(op, opts.padding ?? 0, "padding", 0);
  const shape = x.shape;
  const n = shape[0], H = shape[x.ndim - 2] + 2 * ph, W = shape[x.ndim - 1] + 2 * pw;
  if (h > H || w > W) {
    throw mismatch(
      `${op}: size [${h},${w}] is larger than the padded images [${H},${W}] (images ${
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
  const [ky, kx] = k.random.split(key);
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
}

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
export function randomFlip(key: Tensor, images: Tensor, opts: RandomFlipOptions = {}): Tensor {
  const op = "randomFlip";
  if (!(images instanceof k.Tensor) || images.ndim < 2) {
    const got = images instanceof k.Tensor ? fmt(images.shape) : typeof images;
    throw mismatch(`${op}: images must be a batch [N, ...] of rank >= 2, got ${got}`);
  }
  const r = images.ndim;
  const a = opts.axis ?? -1;
  if (!Number.isInteger(a) || a < -r || a >= r || (a + r) % r === 0) {
    throw new RangeError(
      `${op}: axis must be a non-batch axis of images ${fmt(images.shape)}, got ${String(a)}`,
    );
  }
  const n = images.shape[0];
  const flip = k.reshape(k.random.bernoulli(key, 0.5, [n]), [n, ...new Array(r - 1).fill(1)]);
  return k.where(flip, k.flip(images, { axis: a }), images);
}

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
export function normalize(
  images: Tensor,
  mean: number | readonly number[],
  std: number | readonly number[],
): Tensor {
  const op = "normalize";
  if (!(images instanceof k.Tensor) || !["float16", "float32", "float64"].includes(images.dtype)) {
    const got = images instanceof k.Tensor ? `${images.dtype} ${fmt(images.shape)}` : typeof images;
    const msg = `${op}: images must be a float tensor, got ${got}`;
    throw images instanceof k.Tensor ? mismatch(msg) : new TypeError(msg);
  }
  const perChannel = Array.isArray(mean) || Array.isArray(std);
  const c = perChannel ? images.shape[images.ndim - 3] : 1;
  if (perChannel && images.ndim < 3) {
    throw mismatch(
      `${op}: per-channel mean/std need images [..., C, H, W], got ${fmt(images.shape)}`,
    );
  }
  const vec = (v: unknown, what: string): number[] => {
    const a = typeof v === "number" ? new Array(c).fill(v) : v;
    if (!Array.isArray(a) || a.length !== c || !a.every((d) => typeof d === "number")) {
      throw mismatch(
        `${op}: ${what} must be a number or ${c} numbers (one per channel of images ${
          fmt(images.shape)
        }), got ${JSON.stringify(v)}`,
      );
    }
    return a;
  };
  const mu = vec(mean, "mean"), sigma = vec(std, "std");
  if (sigma.some((s) => s === 0 || !Number.isFinite(s))) {
    throw new RangeError(`${op}: std must be finite and non-zero, got ${JSON.stringify(std)}`);
  }
  const opts = { dtype: images.dtype, device: images.device };
  const view = perChannel ? [c, 1, 1] : [];
  const m = k.reshape(k.tensor(mu, opts), view), s = k.reshape(k.tensor(sigma, opts), view);
  return k.div(k.sub(images, m), s);
}
