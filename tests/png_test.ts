/**
 * `k.io.encodePng` / `savePng` / `imageGridSvg`: the bytes decode (with the decoder below,
 * written from the PNG specification: chunk CRCs checked bit by bit, zlib through
 * `DecompressionStream`, all five row filters) to the pixels laid out by hand.
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { DEVICES, rejectsWith } from "./_util.ts";

interface Decoded {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** CRC-32 bit by bit (no table), independent of the encoder's. */
function crcSlow(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let j = 0; j < 8; j++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

async function decodePng(png: Uint8Array): Promise<Decoded> {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepStrictEqual([...png.subarray(0, 8)], sig, "PNG signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8, width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const body = png.subarray(at + 8, at + 8 + len);
    assert.strictEqual(view.getUint32(at + 8 + len), crcSlow(png.subarray(at + 4, at + 8 + len)));
    types.push(type);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      assert.strictEqual(body[8], 8, "bit depth");
      channels = ({ 0: 1, 2: 3 } as Record<number, number>)[body[9]];
      assert.deepStrictEqual([...body.subarray(10, 13)], [0, 0, 0], "compression/filter/interlace");
    } else if (type === "IDAT") idat.push(body);
    at += 12 + len;
  }
  assert.strictEqual(types[0], "IHDR");
  assert.strictEqual(types[types.length - 1], "IEND");
  const z = new Uint8Array(idat.reduce((s, b) => s + b.length, 0));
  idat.reduce((o, b) => (z.set(b, o), o + b.length), 0);
  const ds = new Blob([z]).stream().pipeThrough(new DecompressionStream("deflate"));
  const raw = new Uint8Array(await new Response(ds).arrayBuffer());
  const stride = width * channels, bpp = channels;
  assert.strictEqual(raw.length, height * (stride + 1), "inflated size");
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const r = raw[y * (stride + 1) + 1 + x];
      const a = x >= bpp ? data[y * stride + x - bpp] : 0;
      const b = y > 0 ? data[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? data[(y - 1) * stride + x - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      assert.ok(pred !== undefined, `filter ${f}`);
      data[y * stride + x] = (r + pred) & 0xff;
    }
  }
  return { width, height, channels, data };
}

Deno.test("io.crc32: the standard check value", () => {
  assert.strictEqual(k.io.crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.strictEqual(k.io.crc32(new Uint8Array(0)), 0);
});

for (const device of DEVICES) {
  Deno.test(`io.encodePng: grey grid of [N,H,W] decodes to the hand-laid pixels (${device})`, async () => {
    // Three 2x3 images, nrow 2, padding 1 -> 2 columns x 2 rows: width 1+2*(3+1)=9, height 7.
    const vals = Array.from({ length: 18 }, (_, i) => i / 17);
    const x = k.tensor(vals, { device }).reshape([3, 2, 3]);
    const got = await decodePng(await k.io.encodePng(x, { nrow: 2, padding: 1, padValue: 1 }));
    assert.strictEqual(got.width, 9);
    assert.strictEqual(got.height, 7);
    assert.strictEqual(got.channels, 1);
    const want = new Uint8Array(63).fill(255);
    for (let i = 0; i < 3; i++) {
      const x0 = 1 + (i % 2) * 4, y0 = 1 + Math.floor(i / 2) * 3;
      for (let r = 0; r < 2; r++) {
        for (let c = 0; c < 3; c++) {
          want[(y0 + r) * 9 + x0 + c] = Math.round(vals[i * 6 + r * 3 + c] * 255);
        }
      }
    }
    assert.deepStrictEqual([...got.data], [...want]);
  });

  Deno.test(`io.savePng: RGB [N,3,H,W] with a range, clipped, written and read back (${device})`, async () => {
    // Two 1x2 RGB images in [-1, 1], one value outside; no padding, one row.
    const v = [-1, 1, 0, 0.5, 2, -3, /* image 2 */ 0, 0, 1, -1, -0.5, 0.25];
    const x = k.tensor(v, { device }).reshape([2, 3, 1, 2]);
    const path = await Deno.makeTempFile({ suffix: ".png" });
    try {
      await k.io.savePng(path, x, { padding: 0, range: [-1, 1] });
      const got = await decodePng(await Deno.readFile(path));
      assert.deepStrictEqual([got.width, got.height, got.channels], [4, 1, 3]);
      const q = (t: number) => Math.round((Math.min(1, Math.max(-1, t)) + 1) * 127.5);
      // Pixel (image i, column c) has channels v[i*6 + ch*2 + c].
      const want: number[] = [];
      for (let i = 0; i < 2; i++) {
        for (let c = 0; c < 2; c++) {
          for (let ch = 0; ch < 3; ch++) want.push(q(v[i * 6 + ch * 2 + c]));
        }
      }
      assert.deepStrictEqual([...got.data], want);
    } finally {
      await Deno.remove(path);
    }
  });
}

Deno.test("io.encodePng: range auto, [N,1,H,W], 64 images in an 8x8 grid", async () => {
  const x = k.arange(64 * 1 * 20 * 20).reshape([64, 1, 20, 20]).mul(0.5).sub(7);
  const got = await decodePng(await k.io.encodePng(x, { range: "auto" }));
  assert.strictEqual(got.width, 2 + 8 * 22);
  assert.strictEqual(got.height, 2 + 8 * 22);
  // First pixel of the first image is the minimum (0), last of the last the maximum (255).
  assert.strictEqual(got.data[2 * got.width + 2], 0);
  assert.strictEqual(got.data[(got.height - 3) * got.width + got.width - 3], 255);
  assert.strictEqual(got.data[0], 0); // padding
});

Deno.test("io.imageGridSvg: an SVG holding the PNG of the grid", async () => {
  const x = k.tensor([[[0, 1], [1, 0]]]);
  const svg = await k.io.imageGridSvg(x, { padding: 0, scale: 10 });
  assert.match(svg, /^<svg [^>]*width="20" height="20"/);
  const b64 = svg.match(/base64,([A-Za-z0-9+/=]+)"/)![1];
  const png = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const got = await decodePng(png);
  assert.deepStrictEqual([...got.data], [0, 255, 255, 0]);
});

Deno.test("io.savePng / encodePng: bad input names the function, argument and shape", async () => {
  await rejectsWith(() => k.io.encodePng(k.zeros([2, 3])), ["io.encodePng: ", "[2,3]"]);
  await rejectsWith(() => k.io.encodePng(k.zeros([2, 2, 4, 4])), ["io.encodePng: ", "[N,3,H,W]"]);
  await rejectsWith(() => k.io.savePng("x.png", k.zeros([1, 4, 4]), { nrow: 0 }), [
    "io.savePng: ",
    "nrow",
  ]);
  await rejectsWith(() => k.io.savePng("x.png", k.zeros([1, 4, 4]), { range: [1, 0] }), [
    "io.savePng: ",
    "lo < hi",
  ]);
  await rejectsWith(() => k.io.imageGridSvg(k.zeros([1, 4, 4]), { scale: -1 }), [
    "io.imageGridSvg: ",
    "scale",
  ]);
});
