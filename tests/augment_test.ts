// k.data augmentation: randomFlip flips exactly the images whose key bit is set, randomCrop
// returns windows of the padded images at the documented offsets (located independently on
// the host), normalize matches its closed form; all of them under k.jit; bad input.
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { allClose, DEVICES, EXACT, throwsWith } from "./_util.ts";

const read = async (t: k.Tensor) => Float64Array.from(await t.data());

/** Distinct values 0, 1, 2, … (exact in float32) as a float32 tensor of `shape`. */
const iota = (shape: number[], device: string) =>
  k.tensor(Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => i), {
    shape,
    dtype: "float32",
    device,
  });

for (const device of DEVICES) {
  Deno.test(`augment: randomFlip flips exactly the images whose bernoulli(key, 0.5) bit is set [${device}]`, async () => {
    const [n, c, h, w] = [64, 2, 3, 4];
    const x = iota([n, c, h, w], device);
    const key = k.random.key(7, { device });
    const bitsT = k.random.bernoulli(key, 0.5, [n]);
    const bits = Array.from(await bitsT.data(), Boolean);
    for (const [axis, flipW] of [[-1, true], [2, false]] as const) {
      const y = await read(k.data.randomFlip(key, x, { axis }));
      let flipped = 0;
      for (let i = 0; i < n; i++) {
        const isFlipped = bits[i];
        if (isFlipped) flipped++;
        for (let ch = 0; ch < c; ch++) {
          for (let r = 0; r < h; r++) {
            for (let q = 0; q < w; q++) {
              const sr = isFlipped && !flipW ? h - 1 - r : r;
              const sq = isFlipped && flipW ? w - 1 - q : q;
              const want = ((i * c + ch) * h + sr) * w + sq;
              const got = y[((i * c + ch) * h + r) * w + q];
              if (got !== want) {
                assert.fail(
                  `axis ${axis}: image ${i} (bit ${isFlipped}) [${ch},${r},${q}]: ${got} != ${want}`,
                );
              }
            }
          }
        }
      }
      // Binomial(64, 0.5): 16..48 holds with probability > 1 − 1e-4.
      assert.ok(flipped >= 16 && flipped <= 48, `${flipped} of ${n} flipped`);
    }
    // Same key, same result; under jit too.
    const jitted = k.jit((kk: k.Tensor, xx: k.Tensor) => k.data.randomFlip(kk, xx));
    allClose(
      await read(jitted(key, x) as k.Tensor),
      await read(k.data.randomFlip(key, x)),
      EXACT,
      "jit",
    );
    const other = await read(k.data.randomFlip(k.random.key(8, { device }), x));
    assert.notDeepEqual(other, await read(k.data.randomFlip(key, x)), "another key, another draw");
  });

  Deno.test(`augment: randomCrop takes in-bounds windows of the zero-padded images at the documented offsets [${device}]`, async () => {
    const [n, c, h, w] = [40, 2, 6, 7];
    const [ph, pw, ch, cw] = [2, 1, 5, 4];
    const x = k.add(iota([n, c, h, w], device), 1); // 1.. so padding zeros are distinct
    const key = k.random.key(3, { device });
    const y = k.data.randomCrop(key, x, [ch, cw], { padding: [ph, pw] });
    assert.deepEqual(y.shape, [n, c, ch, cw]);
    const got = await read(y);
    const H = h + 2 * ph, W = w + 2 * pw;
    const padded = (i: number, cc: number, r: number, q: number) => {
      const rr = r - ph, qq = q - pw;
      return rr < 0 || rr >= h || qq < 0 || qq >= w ? 0 : ((i * c + cc) * h + rr) * w + qq + 1;
    };
    // Locate each image's window on the host: the offsets whose window equals the crop.
    const found: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const hits: [number, number][] = [];
      for (let oy = 0; oy + ch <= H; oy++) {
        for (let ox = 0; ox + cw <= W; ox++) {
          let ok = true;
          for (let cc = 0; cc < c && ok; cc++) {
            for (let r = 0; r < ch && ok; r++) {
              for (let q = 0; q < cw && ok; q++) {
                ok = got[((i * c + cc) * ch + r) * cw + q] === padded(i, cc, oy + r, ox + q);
              }
            }
          }
          if (ok) hits.push([oy, ox]);
        }
      }
      assert.equal(hits.length, 1, `image ${i}: the crop is one window of the padded image`);
      found.push(hits[0]);
    }
    // The documented offsets: randint(split(key)[0], [N], 0, H - h + 1) and the same for x.
    const [ky, kx] = k.random.split(key);
    const oy = await read(k.random.randint(ky, [n], 0, H - ch + 1));
    const ox = await read(k.random.randint(kx, [n], 0, W - cw + 1));
    assert.deepEqual(found.map(([a]) => a), Array.from(oy), "row offsets");
    assert.deepEqual(found.map(([, b]) => b), Array.from(ox), "column offsets");
    assert.ok(new Set(found.map(([a, b]) => `${a},${b}`)).size > 5, "offsets vary by image");
    // Under jit, identical.
    const jitted = k.jit((kk: k.Tensor, xx: k.Tensor) =>
      k.data.randomCrop(kk, xx, [ch, cw], { padding: [ph, pw] })
    );
    allClose(await read(jitted(key, x) as k.Tensor), got, EXACT, "jit");
    // Gradient: each source pixel appears at most once in a crop.
    const g = await read(
      k.grad((xx: k.Tensor) =>
        k.sum(k.data.randomCrop(key, xx, [ch, cw], {
          padding: [ph, pw],
        }))
      )(x) as k.Tensor,
    );
    const inside = found.reduce((acc, [a, b]) => {
      let cnt = 0;
      for (let r = a; r < a + ch; r++) {
        for (let q = b; q < b + cw; q++) if (r >= ph && r < ph + h && q >= pw && q < pw + w) cnt++;
      }
      return acc + cnt * c;
    }, 0);
    assert.ok(g.every((v) => v === 0 || v === 1), "gradient entries are 0 or 1");
    assert.equal(g.reduce((a, v) => a + v, 0), inside, "gradient counts the in-image pixels");
    // Full-size crop without padding is the identity; [N, H, W] images work too.
    const x3 = iota([3, 5, 5], device);
    allClose(await read(k.data.randomCrop(key, x3, 5)), await read(x3), EXACT, "identity crop");
  });

  Deno.test(`augment: normalize matches (x − mean[c]) / std[c] [${device}]`, async () => {
    const x = k.random.uniform(k.random.key(1, { device }), [2, 3, 4, 5]);
    const xs = await read(x);
    const mean = [0.4914, 0.4822, 0.4465], std = [0.247, 0.243, 0.261];
    const y = await read(k.data.normalize(x, mean, std));
    const f = Math.fround;
    const want = xs.map((v, i) => {
      const c = Math.floor(i / 20) % 3;
      return f(f(v - f(mean[c])) / f(std[c]));
    });
    allClose(y, want, { rtol: 1e-6, atol: 1e-7 }, "per channel");
    const yS = await read(k.data.normalize(x, 0.5, 0.25));
    allClose(yS, xs.map((v) => (v - 0.5) / 0.25), { rtol: 1e-6, atol: 1e-7 }, "scalar");
    // Tensor statistics give the same values.
    const yT = k.data.normalize(x, k.tensor(mean, { device }), k.tensor(std, { device }));
    allClose(await read(yT), y, EXACT, "tensor mean/std");
    const jitted = k.jit((xx: k.Tensor) => k.data.normalize(xx, mean, std));
    allClose(await read(jitted(x) as k.Tensor), y, EXACT, "jit");
  });
}

Deno.test("augment: bad input gets clear errors", () => {
  const key = k.random.key(0);
  throwsWith(() => k.data.randomCrop(key, k.zeros([2, 1, 4, 4]), 6), [
    "randomCrop",
    "[6,6]",
    "[4,4]",
  ]);
  throwsWith(() => k.data.randomCrop(key, k.zeros([4, 4]), 2), ["randomCrop", "[4,4]"]);
  throwsWith(() => k.data.randomCrop(key, k.zeros([2, 4, 4]), 2, { padding: -1 }), [
    "randomCrop",
    "padding",
  ]);
  throwsWith(() => k.data.randomFlip(key, k.zeros([2, 4, 4]), { axis: 0 }), [
    "randomFlip",
    "axis",
  ]);
  throwsWith(() => k.data.normalize(k.zeros([2, 3, 4, 4]), [0, 0], [1, 1]), [
    "normalize",
    "mean",
    "3 numbers",
  ]);
  throwsWith(() => k.data.normalize(k.zeros([2, 3, 4, 4]), 0, [1, 0, 1]), ["normalize", "std"]);
  throwsWith(() => k.data.normalize(k.zeros([4], { dtype: "int32" }), 0, 1), [
    "normalize",
    "float",
  ]);
});
