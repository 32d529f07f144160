// The documentation runs: every ```ts block of docs/*.md, of the README's "Quick start" and
// "Example" sections and of the module docs of the public entry points is type-checked and
// executed in a separate project that imports Kiln as `@kiln/kiln` (one `deno test` child
// process, so one type-check). `console.log(x); // VALUE` lines are checked against VALUE.
// Needs --allow-run, --allow-read, --allow-write.
import assert from "node:assert";
import {
  CHECK_MARK,
  leadingValue,
  markdownSnippets,
  mismatch,
  moduleDoc,
  type Snippet,
  testModule,
} from "./_docs_extract.ts";
import { tempProject } from "./_project.ts";

const ROOT = new URL("../", import.meta.url);
const MODULES = [
  "mod.ts",
  "core/mod.ts",
  "nn/mod.ts",
  "optim/mod.ts",
  "data/mod.ts",
  "io/mod.ts",
  "plot/mod.ts",
  "onnx/mod.ts",
  // The namespaces inside them (k.linalg, k.random, k.tree, k.testing, k.nn.layers, k.display, k.errors).
  "core/linalg/mod.ts",
  "core/random/random.ts",
  "core/transforms/tree.ts",
  "core/transforms/testing.ts",
  "nn/layer_builders.ts",
  "core/tensor/display.ts",
  "core/errors.ts",
];
const README_SECTIONS = ["Quick start", "Example"];

const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** The README's sections named in README_SECTIONS (from their `## ` heading to the next). */
async function readmeSnippets(): Promise<Snippet[]> {
  const lines = (await read("README.md")).split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const h = lines[i].match(/^## (.+)$/);
    if (!h || !README_SECTIONS.includes(h[1].trim())) continue;
    let j = i + 1;
    while (j < lines.length && !/^## /.test(lines[j])) j++;
    out.push(...markdownSnippets(lines.slice(i, j).join("\n"), "README.md", i + 1));
  }
  return out;
}

async function allPages(): Promise<Map<string, Snippet[]>> {
  const pages = new Map<string, Snippet[]>();
  const docs = [...Deno.readDirSync(new URL("docs/", ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".md")).map((e) => e.name).sort();
  for (const name of docs) {
    pages.set(name, markdownSnippets(await read(`docs/${name}`), `docs/${name}`));
  }
  pages.set("README.md", await readmeSnippets());
  for (const path of MODULES) {
    const doc = moduleDoc(await read(path));
    assert.ok(doc, `${path} has no module doc comment`);
    const snippets = markdownSnippets(doc.markdown, path, doc.line);
    assert.ok(snippets.length > 0, `${path}: the module doc has no runnable example`);
    pages.set(path, snippets);
  }
  return pages;
}

Deno.test("docs: leading values of comments", () => {
  assert.deepStrictEqual(leadingValue(" [5.5, 11.5]"), [5.5, 11.5]);
  assert.deepStrictEqual(leadingValue(" [[1.5], [3]]: fused"), [[1.5], [3]]);
  assert.strictEqual(leadingValue(" 1: matmul, add and relu fused"), 1);
  assert.strictEqual(leadingValue(' "cpu"'), "cpu");
  assert.strictEqual(leadingValue(" -0.25 (the slope)"), -0.25);
  assert.strictEqual(leadingValue(" printing computes it"), undefined);
  assert.strictEqual(leadingValue(" 1e-3x faster"), undefined);
});

Deno.test("docs: values agree to the digits written", () => {
  assert.strictEqual(mismatch(1.38177, 1.3818), null);
  assert.match(mismatch(1.3813, 1.3818)!, /expected 1.3818, got 1.3813/);
  assert.strictEqual(mismatch(new Float32Array([0.5, 3]), [0.5, 3]), null);
  assert.match(mismatch([[1], [2]], [[1], [3]])!, /value\[1\]\[0\]/);
  assert.match(mismatch([1, 2], [1, 2, 3])!, /3 entries, got 2/);
  assert.strictEqual(mismatch(2.00001, 2), null);
  assert.notStrictEqual(mismatch(2.01, 2), null);
  assert.strictEqual(mismatch("cpu", "cpu"), null);
  assert.notStrictEqual(mismatch(true, 1), null);
});

Deno.test("docs: markdown and module-doc snippets are found with their lines", () => {
  const md = "# t\n\n```ts\nconst a = 1;\n```\n\n```ts ignore\nnope\n```\n```sh\nls\n```\n";
  assert.deepStrictEqual(markdownSnippets(md, "x.md"), [{ where: "x.md:3", code: "const a = 1;" }]);
  const src = "/**\n * Intro.\n * ```ts\n * f();\n * ```\n * @module\n */\nexport {};\n";
  const doc = moduleDoc(src)!;
  assert.deepStrictEqual(markdownSnippets(doc.markdown, "m.ts", doc.line), [
    { where: "m.ts:3", code: "f();" },
  ]);
  const mod = testModule([{
    where: "m.ts:3",
    code: 'import * as k from "@kiln/kiln";\nconsole.log(k.x); // 2',
  }], "file:///h.ts");
  assert.match(mod, /^import \* as k from "@kiln\/kiln";$/m);
  assert.match(mod, /await __check\(2, "m\.ts:3 \(\+2\)", k\.x\);/);
});

Deno.test("docs: every snippet type-checks, runs and prints what its comments say", async () => {
  const pages = await allPages();
  await using project = await tempProject();
  const helper = new URL("_docs_extract.ts", import.meta.url).href;
  let snippets = 0, checks = 0;
  for (const [page, list] of pages) {
    const name = page.replace(/[^A-Za-z0-9]+/g, "_");
    const source = testModule(list, helper);
    snippets += list.length;
    checks += source.split("await __check(").length - 1;
    await project.write(`${name}_test.ts`, source);
  }
  const t0 = performance.now();
  const res = await project.deno([
    "test",
    "--no-remote",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    ".",
  ]);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const out = res.stdout + res.stderr;
  assert.strictEqual(res.code, 0, `doc snippets failed (${seconds} s):\n${out}`);
  const passed = Number(out.match(/ok \| (\d+) passed/)?.[1]);
  assert.strictEqual(passed, snippets, out);
  assert.strictEqual(out.split(CHECK_MARK).length - 1, checks, out);
  assert.ok(checks >= 20, `only ${checks} checked values in the docs`);
  console.log(`${snippets} snippets, ${checks} checked values, ${seconds} s`);
});
