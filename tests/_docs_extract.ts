/**
 * Turns the ```ts snippets of Markdown pages and module JSDoc into test modules, so that
 * documentation cannot rot (tests/docs_test.ts). Each snippet becomes one `Deno.test` whose
 * body is the snippet (its single-line imports hoisted to the top); a line
 * `console.log(ARGS); // VALUE` whose comment starts with a JSON value also checks that the
 * logged value equals VALUE (numbers to the digits written, tensors through `toArray()`).
 * Blocks tagged ```ts ignore are shown to readers and not run.
 */

/** One runnable snippet and where it came from. */
export interface Snippet {
  /** `docs/autodiff.md:42`: the file and the line of the opening fence. */
  where: string;
  code: string;
}

const FENCE = /^(\s*)```(\S*)(.*)$/;

/** The ```ts / ```typescript blocks of a Markdown text that are not tagged `ignore`. */
export function markdownSnippets(markdown: string, file: string, firstLine = 1): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(FENCE);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++]);
    const runs = (open[2] === "ts" || open[2] === "typescript") && !/\bignore\b/.test(open[3]);
    if (runs) out.push({ where: `${file}:${firstLine + i}`, code: body.join("\n") });
    i = j;
  }
  return out;
}

/** The module doc comment (the `/** ... @module *\/` block) of a source file as Markdown. */
export function moduleDoc(source: string): { markdown: string; line: number } | null {
  const re = /\/\*\*([\s\S]*?)\*\//g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (!/@module\b/.test(m[1])) continue;
    const line = source.slice(0, m.index).split("\n").length;
    const markdown = m[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
    return { markdown, line };
  }
  return null;
}

/** The JSON value a comment starts with (`[1, 2]: why` gives [1, 2]), or undefined. */
export function leadingValue(comment: string): unknown {
  const text = comment.trim();
  if (!/^[-\d["tfn]/.test(text)) return undefined;
  // Longest prefix that parses, ending where a value may end.
  for (let end = text.length; end > 0; end--) {
    if (end < text.length && !/[\s:,;(]/.test(text[end])) continue;
    try {
      return JSON.parse(text.slice(0, end));
    } catch { /* shorter */ }
  }
  return undefined;
}

/** Decimal places written in a number's literal (`1.25` has 2). */
function decimals(n: number): number {
  const s = String(n);
  if (/e/i.test(s)) return 7;
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** Why `actual` differs from `expected` (written in a comment), or null when they agree. */
export function mismatch(actual: unknown, expected: unknown, path = "value"): string | null {
  if (typeof expected === "number") {
    const a = typeof actual === "bigint" ? Number(actual) : actual;
    if (typeof a !== "number") return `${path}: expected ${expected}, got ${String(actual)}`;
    const d = decimals(expected);
    const tol = d > 0 ? 0.51 * 10 ** -d : 1e-4 * Math.max(1, Math.abs(expected));
    const ok = Number.isNaN(expected) ? Number.isNaN(a) : Math.abs(a - expected) <= tol;
    return ok ? null : `${path}: expected ${expected}, got ${a}`;
  }
  if (Array.isArray(expected)) {
    const arr = ArrayBuffer.isView(actual)
      ? Array.from(actual as unknown as ArrayLike<number>)
      : actual;
    if (!Array.isArray(arr)) return `${path}: expected an array, got ${String(actual)}`;
    if (arr.length !== expected.length) {
      return `${path}: expected ${expected.length} entries, got ${arr.length}`;
    }
    for (let i = 0; i < arr.length; i++) {
      const why = mismatch(arr[i], expected[i], `${path}[${i}]`);
      if (why) return why;
    }
    return null;
  }
  return Object.is(actual, expected)
    ? null
    : `${path}: expected ${JSON.stringify(expected)}, got ${String(actual)}`;
}

/** Marker a passing check prints, counted by the caller. */
export const CHECK_MARK = "kiln-docs-check-ok";

/**
 * Logs `args` like console.log, then checks them against `expected` (one argument: itself;
 * several: an array). Tensors are read with `toArray()`. Throws on a mismatch.
 */
export async function logAndCheck(
  expected: unknown,
  where: string,
  ...args: unknown[]
): Promise<void> {
  console.log(...args);
  const values = await Promise.all(args.map(async (a) => {
    const t = a as { toArray?: () => Promise<unknown>; shape?: unknown };
    return typeof t?.toArray === "function" && t.shape !== undefined ? await t.toArray() : a;
  }));
  const why = mismatch(values.length === 1 ? values[0] : values, expected);
  if (why) throw new Error(`${where}: the comment says ${JSON.stringify(expected)}; ${why}`);
  console.log(CHECK_MARK);
}

const LOG = /^(\s*)console\.log\((.*)\);\s*\/\/(.*)$/;
const IMPORT = /^\s*(import\s(?:.*\sfrom\s+)?["'][^"']+["'];?)\s*(?:\/\/.*)?$/;

/** A test module running each snippet as one `Deno.test`, with its checked logs. */
export function testModule(snippets: readonly Snippet[], helperUrl: string): string {
  const imports = new Set<string>();
  const tests = snippets.map((s, n) => {
    const lines = s.code.split("\n");
    const body: string[] = [];
    lines.forEach((line, i) => {
      const imp = line.match(IMPORT);
      if (imp) {
        // Each snippet imports under its own names; identical imports are shared.
        imports.add(imp[1]);
        return;
      }
      const log = line.match(LOG);
      const expected = log ? leadingValue(log[3]) : undefined;
      if (log && expected !== undefined) {
        const at = JSON.stringify(`${s.where} (+${i + 1})`);
        body.push(`${log[1]}await __check(${JSON.stringify(expected)}, ${at}, ${log[2]});`);
      } else body.push(line);
    });
    return `Deno.test(${JSON.stringify(`${s.where} #${n}`)}, async () => {\n${
      body.join("\n")
    }\n});`;
  });
  return [
    `import { logAndCheck as __check } from ${JSON.stringify(helperUrl)};`,
    ...imports,
    "",
    ...tests,
    "",
  ].join("\n");
}
