/**
 * Notebook display (issue 16.1): the bundle of a tensor (`[Symbol.for("Jupyter.display")]`,
 * `k.display.bundle`) and of `k.plot` figures. Table cells are checked against values written
 * by hand or from closed forms (arange); pictures against `k.io.encodePng` of images laid out
 * here with plain loops (the encoder itself is tested in png_test.ts).
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { DEVICES, rejectsWith, throwsWith } from "./_util.ts";

const DISPLAY = Symbol.for("Jupyter.display");
type Bundle = Record<string, string>;
const show = (t: unknown) => (t as { [DISPLAY](): Promise<Bundle> })[DISPLAY]();

/** The rows of the first table: index header cells and data cells per row. */
function rows(html: string): { head: string[]; body: string[][]; labels: string[] } {
  const table = /<table>([\s\S]*?)<\/table>/.exec(html)![1];
  const cells = (tr: string, tag: string) =>
    [...tr.matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, "g"))].map((m) => m[1]);
  const trs = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
  return {
    head: cells(trs[0], "th").slice(1),
    body: trs.slice(1).map((tr) => cells(tr, "td")),
    labels: trs.slice(1).map((tr) => cells(tr, "th")[0]),
  };
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

for (const device of DEVICES) {
  Deno.test(`display: a small tensor is a full table with its header (${device})`, async () => {
    const b = await show(k.tensor([[1, 2.5, -3], [4, 5, 1e-7]], { device }));
    assert.strictEqual(
      b["text/plain"],
      `Tensor(float32[2,3], ${device}) [[1, 2.5, -3],\n [4, 5, 1.00000e-7]]`,
    );
    assert.match(b["text/html"], new RegExp(`Tensor <b>float32\\[2,3\\]</b> · ${device}<`));
    const r = rows(b["text/html"]);
    assert.deepStrictEqual(r.head, ["0", "1", "2"]);
    assert.deepStrictEqual(r.labels, ["0", "1"]);
    assert.deepStrictEqual(r.body, [["1", "2.5", "-3"], ["4", "5", "1.00000e-7"]]);
    assert.strictEqual(b["image/png"], undefined, "too small for a picture");
  });

  Deno.test(`display: long axes are elided to 5 + 5 entries, computed lazily (${device})`, async () => {
    const [n, m] = [20, 30];
    const t = k.arange(0, n * m, 1, { device }).reshape([n, m]).mul(2);
    const r = rows((await show(t))["text/html"]);
    const shown = (len: number) => [0, 1, 2, 3, 4, -1, len - 5, len - 4, len - 3, len - 2, len - 1];
    assert.deepStrictEqual(r.head, shown(m).map((j) => (j < 0 ? "…" : String(j))));
    assert.deepStrictEqual(r.labels, shown(n).map((i) => (i < 0 ? "⋮" : String(i))));
    shown(n).forEach((i, ri) => {
      const want = shown(m).map((j) =>
        i < 0 ? (j < 0 ? "⋱" : "⋮") : j < 0 ? "…" : String(2 * (i * m + j))
      );
      assert.deepStrictEqual(r.body[ri], want, `row ${i}`);
    });
    // Displaying read only the corners: the tensor itself is still unrealized.
    assert.ok(k.schedule(t).length > 0, "t is still lazy");
  });

  Deno.test(`display: 3-d tensors are one table per leading index; 0-d, empty, bool (${device})`, async () => {
    const html = (await show(k.arange(0, 12, 1, { device }).reshape([2, 2, 3])))["text/html"];
    assert.deepStrictEqual([...html.matchAll(/>\[(\d), :, :\]</g)].map((m) => m[1]), ["0", "1"]);
    assert.match(html, /<td>9<\/td><td>10<\/td><td>11<\/td>/);
    const scalar = await show(k.tensor(0.25, { device }));
    assert.strictEqual(scalar["text/plain"], `Tensor(float32[], ${device}) 0.25`);
    assert.match(scalar["text/html"], />0\.25<\/div>/);
    assert.match((await show(k.zeros([0, 3], { device })))["text/html"], /\(empty\)/);
    const bools = await show(k.tensor([true, false], { device }));
    assert.strictEqual(bools["text/plain"], `Tensor(bool[2], ${device}) [true, false]`);
  });

  Deno.test(`display: image-shaped tensors carry a PNG of their pixels (${device})`, async () => {
    // [H, W, 3] with values 0…5: scaled from min to max, laid out as one [1, 3, H, W] image.
    const [h, w] = [8, 9];
    const hwc = Array.from({ length: h * w * 3 }, (_, i) => (i * 7) % 6);
    const chw = new Float32Array(3 * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) chw[(c * h + y) * w + x] = hwc[(y * w + x) * 3 + c];
      }
    }
    const b = await show(k.tensor(hwc, { shape: [h, w, 3], device }));
    const want = await k.io.encodePng(k.tensor(chw, { shape: [1, 3, h, w] }), {
      nrow: 1,
      padding: 0,
      range: [0, 5],
    });
    assert.strictEqual(b["image/png"], b64(want));
    assert.ok(b["text/html"].includes(`src="data:image/png;base64,${b64(want)}"`));
    assert.match(b["text/html"], /black…white = 0…5/);
    // 70 grey images [N, 1, H, W] in [0, 1]: the first 64 in a grid of 8 per row.
    const imgs = Array.from({ length: 70 * 64 }, (_, i) => (i % 64) / 63);
    const grid = await show(k.tensor(imgs, { shape: [70, 1, 8, 8], device }));
    const first = k.tensor(imgs.slice(0, 64 * 64), { shape: [64, 1, 8, 8] });
    const wantGrid = await k.io.encodePng(first, { nrow: 8, padding: 2, range: [0, 1] });
    assert.strictEqual(grid["image/png"], b64(wantGrid));
    assert.match(grid["text/html"], /first 64 of 70 images, black…white = 0…1/);
  });
}

Deno.test("display: disposed and traced tensors show text only", async () => {
  const t = k.ones([2]);
  t.dispose();
  assert.deepStrictEqual(await show(t), { "text/plain": "Tensor(float32[2], cpu) <disposed>" });
  let traced: Promise<Bundle> | undefined;
  k.jit((x: k.Tensor) => {
    traced = show(x); // checked synchronously while tracing
    return x.add(1);
  })(k.ones([3]));
  assert.deepStrictEqual(await traced, { "text/plain": "Tensor(float32[3], cpu) <traced>" });
});

Deno.test("display: without an image encoder only the table; bad arguments", async () => {
  const t = k.zeros([16, 16]);
  k.display.setImageEncoder(null);
  try {
    const b = await k.display.bundle(t);
    assert.strictEqual(b["image/png"], undefined);
    assert.match(b["text/html"], /<table>/);
  } finally {
    k.display.setImageEncoder(k.io.encodePng);
  }
  assert.ok((await k.display.bundle(t))["image/png"]);
  throwsWith(() => k.display.setImageEncoder(3 as never), [
    "display.setImageEncoder: ",
    "encoder must be a function",
  ]);
  await rejectsWith(() => k.display.bundle([1, 2] as never), ["display.bundle: ", "t must be"]);
});

Deno.test("plot: figure displays as SVG; show and live do nothing outside a notebook", async () => {
  const svg = k.plot.line([1, 2, 3], { width: 300, height: 200 });
  const fig = k.plot.figure(svg);
  assert.strictEqual(String(fig), svg);
  assert.deepStrictEqual((fig as unknown as { [DISPLAY](): Bundle })[DISPLAY](), {
    "image/svg+xml": svg,
    "text/plain": "Figure(300x200)",
  });
  assert.strictEqual(k.plot.figure(fig).svg, svg, "a Figure is accepted too");
  assert.strictEqual(await k.plot.show(svg), false);
  const live = k.plot.live();
  assert.deepStrictEqual(await show(live), { "text/plain": "LiveFigure (empty)" });
  assert.strictEqual(await live.update(svg), false);
  assert.strictEqual(live.svg, svg, "the latest picture is kept");
  assert.notStrictEqual(k.plot.live().id, live.id, "each live figure has its own display id");
  throwsWith(() => k.plot.figure("<div/>"), ["plot.figure: ", "svg must be an SVG document"]);
  throwsWith(() => live.update(3 as never), ["plot.live.update: ", "svg must be"]);
});
