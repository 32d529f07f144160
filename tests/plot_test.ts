/** `k.plot`: geometry of the drawn marks computed by hand from the documented layout. */
import assert from "node:assert";
import * as k from "../mod.ts";
import { rejectsWith, throwsWith } from "./_util.ts";

// The plotting area: left 58, top 14 (34 with a title), right width-16, bottom height-40.
const W = 520, H = 360, L = 58, T = 14, R = W - 16, B = H - 40;

const attrs = (svg: string, tag: string) =>
  [...svg.matchAll(new RegExp(`<${tag} ([^>]*)/>`, "g"))].map((m) =>
    Object.fromEntries([...m[1].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]))
  );

Deno.test("plot.line: one series maps its extent to the plotting area", () => {
  const svg = k.plot.line([1, 3, 2]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="520" height="360"/);
  const [pl] = attrs(svg, "polyline");
  const pts = pl.points.split(" ").map((p) => p.split(",").map(Number));
  const want = [[L, B], [(L + R) / 2, T], [R, (T + B) / 2]];
  pts.forEach((p, i) => assert.deepStrictEqual(p, want[i].map((v) => Number(v.toFixed(1)))));
});

Deno.test("plot.line: named series get a legend; log y breaks at non-positive values", () => {
  const svg = k.plot.line([{ y: [1, 10, 0, 100], name: "a" }, { y: [1, 2, 3, 4], name: "b" }], {
    logY: true,
    title: "t",
  });
  // Series a splits into two polylines around the zero, b is one: three in all.
  assert.strictEqual(attrs(svg, "polyline").length, 3);
  assert.ok(svg.includes(">a</text>") && svg.includes(">b</text>"));
  assert.ok(svg.includes(">1e2</text>"), "log tick labels");
});

Deno.test("plot.scatter: one circle per point in range, coloured by label", () => {
  const svg = k.plot.scatter({ x: [0, 1, 2, 5], y: [0, 1, 2, 0], labels: [0, 1, 2, 0] }, {
    xRange: [0, 2],
    yRange: [0, 2],
  });
  const cs = attrs(svg, "circle");
  assert.strictEqual(cs.length, 3, "the point at x=5 is outside the range");
  assert.deepStrictEqual(cs.map((c) => [Number(c.cx), Number(c.cy)]), [
    [L, B],
    [(L + R) / 2, (T + B) / 2],
    [R, T],
  ]);
  assert.deepStrictEqual(cs.map((c) => c.fill), k.plot.PALETTE.slice(0, 3));
});

Deno.test("plot.grid2d + density2d: cell centres, bands and merged runs", () => {
  const xy = k.plot.grid2d(2, [0, 4], [-1, 1]);
  assert.deepStrictEqual([...xy], [1, -0.5, 3, -0.5, 1, 0.5, 3, 0.5]);
  // Bottom row one band, top row another: two rectangles, each spanning the full width.
  const svg = k.plot.density2d([0, 0, 1, 1], { n: 2, xRange: [0, 4], yRange: [-1, 1], levels: 2 });
  const rects = attrs(svg, "rect").filter((r) => r.fill?.startsWith("#"));
  assert.strictEqual(rects.length, 2);
  assert.strictEqual(Number(rects[0].y), Number(((T + B) / 2).toFixed(1)), "bottom row");
  assert.strictEqual(Number(rects[0].width), Number((R - L + 0.5).toFixed(1)));
  assert.notStrictEqual(rects[0].fill, rects[1].fill);
  // Four distinct values, four bands: four rectangles.
  const four = k.plot.density2d([0, 1, 2, 3], { n: 2, xRange: [0, 1], yRange: [0, 1], levels: 4 });
  assert.strictEqual(attrs(four, "rect").filter((r) => r.fill?.startsWith("#")).length, 4);
});

Deno.test("plot.save writes the document", async () => {
  const path = await Deno.makeTempFile({ suffix: ".svg" });
  try {
    const svg = k.plot.line([1, 2]);
    await k.plot.save(path, svg);
    assert.strictEqual(await Deno.readTextFile(path), svg);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("plot: bad input names the function and the argument", async () => {
  throwsWith(() => k.plot.line([]), ["plot.line: ", "series"]);
  throwsWith(() => k.plot.line([{ y: [1], x: [1, 2] }]), ["plot.line: ", "x has 2"]);
  throwsWith(() => k.plot.scatter({ x: [1], y: [1, 2] }), ["plot.scatter: ", "one entry"]);
  throwsWith(
    () => k.plot.density2d([1, 2, 3], { n: 2, xRange: [0, 1], yRange: [0, 1] }),
    ["plot.density2d: ", "n*n = 4"],
  );
  throwsWith(() => k.plot.grid2d(4, [1, 0], [0, 1]), ["plot.grid2d: ", "xRange"]);
  await rejectsWith(() => k.plot.save("x.svg", "nope"), ["plot.save: ", "svg"]);
});
