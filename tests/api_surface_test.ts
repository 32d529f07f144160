/**
 * Misuse of the whole public surface (issue 17.2). Every function reachable from `mod.ts` (k,
 * k.nn, k.nn.layers, k.optim, k.data, k.io, k.random, k.tree, k.testing, …) is found by walking
 * the module objects, so functions added later are covered without editing this file. Each is
 * called with wrong arguments — wrong kinds, mismatched shapes, out-of-range axes,
 * NaN/Infinity/negative/fractional sizes, unknown dtype/device/option names, empty arrays,
 * strings, undefined, null — and must throw (or reject) promptly with a message that starts
 * with its public name (`zeros: `, `nn.mse: `, `optim.adam: `), as a TypeError, RangeError or
 * KilnError, never an internal JavaScript error.
 *
 * What is wrong for a parameter follows from its name (`x` a tensor, `shape` a shape, `opts`
 * an options object, …; see KINDS), read from the function's source. Functions that touch the
 * file system or the network only ever get non-string paths.
 */
import assert from "node:assert";
import fc from "fast-check";
import * as k from "../mod.ts";

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;
interface Entry {
  name: string;
  fn: Fn;
  params: string[];
  /** Tensor methods are called on a valid tensor. */
  method?: boolean;
}

/** Namespaces that are not user-level ops: `k.errors` is the toolkit for writing ops. */
const SKIP_NAMESPACES = new Set(["errors"]);

/**
 * Functions that legitimately accept anything in their first argument (pytree utilities take
 * any leaf; the device/memory queries take no arguments). Keep this short.
 */
const EXEMPT: Record<string, string> = {
  "tree.flatten": "any value is a pytree (a non-container is one leaf)",
  "tree.flattenWithPath": "any value is a pytree",
  "tree.leaves": "any value is a pytree",
  "tree.structure": "any value is a pytree",
  "optim.globalNorm": "takes a pytree of tensors; non-tensor leaves are checked by its ops",
};

/** Public names that differ from the access path. */
const ALIASES: Record<string, string> = {
  "Tensor.gt": "greater", // method aliases report the op they call
  "Tensor.lt": "less",
};

// ---------------------------------------------------------------------------------------------
// Enumeration.

function paramsOf(fn: Fn): string[] {
  const src = Function.prototype.toString.call(fn) === "function () { [native code] }"
    ? ""
    : fn.toString();
  const head = src.match(/^(?:async\s+)?function\s*\*?\s*[\w$]*\s*\(/) ??
    src.match(/^(?:async\s*)?\(/) ?? src.match(/^[\w$]+\s*\(/); // or method syntax
  if (!head) {
    const one = src.match(/^(?:async\s+)?([\w$]+)\s*=>/);
    return one ? [one[1]] : [];
  }
  const out: string[] = [];
  let depth = 1, cur = "";
  for (let i = head[0].length; i < src.length; i++) {
    const c = src[i];
    if ("([{".includes(c)) depth++;
    if (")]}".includes(c)) depth--;
    if (depth === 0) break;
    if (c === "," && depth === 1) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out.map((p) => {
    const name = p.trim().replace(/\s*=[\s\S]*$/, "").replace(/^\.\.\./, "");
    return name.startsWith("{") ? "opts" : name;
  });
}

function isClass(fn: Fn): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function isLayerObject(v: unknown): boolean {
  if (!v || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const o = v as Record<string, unknown>;
  return typeof o.init === "function" && typeof o.apply === "function";
}

function enumerate(): Entry[] {
  const out: Entry[] = [];
  const walk = (mod: Record<string, unknown>, prefix: string) => {
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v === "function") {
        if (!isClass(v as Fn)) out.push({ name: prefix + name, fn: v as Fn, params: [] });
      } else if (isLayerObject(v)) {
        // Layer objects ({init, apply}, e.g. nn.linear): their methods are public functions.
        for (const [m, f] of Object.entries(v as Record<string, unknown>)) {
          if (typeof f === "function") {
            out.push({ name: `${prefix}${name}.${m}`, fn: f as Fn, params: [] });
          }
        }
      } else if (
        v && typeof v === "object" &&
        (v as Record<symbol, unknown>)[Symbol.toStringTag] === "Module" &&
        !SKIP_NAMESPACES.has(name)
      ) {
        walk(v as Record<string, unknown>, `${prefix}${name}.`);
      }
    }
  };
  walk(k as unknown as Record<string, unknown>, "");
  // Tensor methods (`x.reshape(…)`), called on a valid tensor; they report the op's name.
  const proto = k.Tensor.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (name === "constructor" || typeof d?.value !== "function") continue;
    out.push({ name: `Tensor.${name}`, fn: d.value as Fn, params: [], method: true });
  }
  for (const e of out) e.params = paramsOf(e.fn);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------------
// Parameter kinds: a valid value (to reach later parameters) and wrong values.

type Kind =
  | "tensor"
  | "tensors"
  | "key"
  | "shape"
  | "size"
  | "int"
  | "axis"
  | "opts"
  | "dtype"
  | "device"
  | "fn"
  | "number"
  | "hyper"
  | "bound"
  | "bool"
  | "path"
  | "string"
  | "bytes"
  | "specs"
  | "pads"
  | "data"
  | "newShape"
  | "sections"
  | "indices"
  | "dataset"
  | "def"
  | "keypath"
  | "params"
  | "fnList"
  | "logits"
  | "any";

const KINDS: [RegExp, Kind][] = [
  [
    /^(x|y|t|a|b|w|labels|pred|target|targets|images|cond|indices|p|lower|upper|minval|maxval|mean|std|x0|x1|k0|k1|index)$/,
    "tensor",
  ],
  [/^logits$/, "logits"],
  [/^(ts|tensors)$/, "tensors"],
  [/^key$/, "key"],
  [/^(shape|normalizedShape|reps|kernelSize|window|outputSize|size)$/, "shape"],
  [
    /^(n|num|repeats|batchSize|inFeatures|outFeatures|inChannels|outChannels|numFeatures|numGroups|numChannels|sectionsOrIndices|m)$/,
    "size",
  ],
  [/^(seed|data|lo|hi)$/, "int"],
  [/^axis$/, "axis"],
  [/^opts$/, "opts"],
  [/^(dtype|d)$/, "dtype"],
  [/^device$/, "device"],
  [/^(f|fn|trueFn|falseFn|body|bodyFn|condFn|flatten|unflatten)$/, "fn"],
  [/^(value|min|max)$/, "number"],
  [/^(learningRate|rate|alpha|negativeSlope|maxNorm|weightDecay|factor|scale)$/, "hyper"],
  [/^(start|stop|step)$/, "bound"],
  [/^(on|dropRemainder)$/, "bool"],
  [/^(q|v|query|value_|mask)$/, "tensor"],
  [
    /^(length|numEmbeddings|inputSize|hiddenSize|embedDim|numHeads|maxLength|dModel|nHead|numTokens)$/,
    "size",
  ],
  [/^path$/, "path"],
  [/^(spec|text|name|mode|distribution|what)$/, "string"],
  [/^bytes$/, "bytes"],
  [/^specs$/, "specs"],
  [/^pads$/, "pads"],
  [/^dataset$/, "dataset"],
  [/^(def|actual|expected)$/, "def"],
  [/^params$/, "params"],
  [/^(transforms|schedules)$/, "fnList"],
  [/^schedule$/, "fn"],
];

/** Per-function overrides where a parameter name means something else. */
const OVERRIDES: Record<string, Kind[]> = {
  promoteTypes: ["dtype", "dtype"],
  "tree.sameDef": ["def", "def"],
  "tree.formatDef": ["def"],
  "tree.keystr": ["keypath"],
  "tree.registerNode": ["fn", "fn", "fn"],
  "optim.applyUpdates": ["dataset", "dataset"],
  "random.foldIn": ["key", "int"],
  "random.threefry2x32": ["tensor", "tensor", "tensor", "tensor"],
  "random.split": ["key", "size"],
  "data.numBatches": ["size", "size", "bool"],
  "optim.stepTensor": ["tensor"],
  tensor: ["data", "opts"],
  reshape: ["tensor", "newShape"],
  split: ["tensor", "sections", "opts"],
  take: ["tensor", "indices", "opts"],
  transpose: ["tensor", "newShape"],
  "Tensor.reshape": ["newShape"],
  "Tensor.transpose": ["newShape"],
  "Tensor.take": ["indices", "opts"],
  "Tensor.split": ["sections", "opts"],
};

function kindOf(entry: Entry, i: number): Kind {
  const o = OVERRIDES[entry.name];
  if (o && i < o.length) return o[i];
  const p = entry.params[i];
  for (const [re, kind] of KINDS) if (re.test(p)) return kind;
  return "any";
}

const z = (shape: number[]) => k.zeros(shape);

function validOf(kind: Kind, shape: number[]): unknown | typeof NONE {
  switch (kind) {
    case "tensor":
      return z(shape);
    case "logits":
      return z([2, 3]);
    case "tensors":
      return [z(shape)];
    case "key":
      return k.random.key(0);
    case "shape":
      return [2, 3];
    case "size":
      return 2;
    case "int":
      return 1;
    case "axis":
      return 0;
    case "opts":
      return {};
    case "dtype":
      return "float32";
    case "device":
      return "cpu";
    case "fn":
      return (v: unknown) => v;
    case "number":
    case "hyper":
    case "bound":
      return 0.5;
    case "bool":
      return true;
    case "specs":
    case "pads":
      return [[0, 1]];
    default:
      return NONE; // no known valid value: later parameters are not reached
  }
}
const NONE = Symbol("none");

const NULL_WRONG = new Set<Kind>([
  "key",
  "shape",
  "fn",
  "dtype",
  "device",
  "string",
  "bytes",
  "path",
  "opts",
  "tensors",
  "specs",
  "pads",
]);

type Wrong = [name: string, make: () => unknown];
const w = (name: string, make: () => unknown): Wrong => [name, make];

/** Wrong values of every kind (all of them wrong for any parameter of that kind). */
function wrongOf(kind: Kind, first: boolean): Wrong[] {
  const common: Wrong[] = [
    w("symbol", () => Symbol("bogus")),
    w("promise", () => Promise.resolve(1)),
    // null and undefined may mean "default" for an optional parameter, so they count as wrong
    // only first, or where a kind has no optional meaning (NULL_WRONG).
    ...(first || NULL_WRONG.has(kind) ? [w("null", () => null)] : []),
    // Options objects and booleans default when undefined.
    ...(first && kind !== "opts" && kind !== "bool" ? [w("undefined", () => undefined)] : []),
  ];
  const obj = w("object", () => ({ bogusOption: 1 }));
  const str = w("string", () => "bogus");
  const arr = w("empty array", () => []);
  const numStr = w("numeric string", () => "3");
  const fractional = w("fractional", () => 2.5);
  const nan = w("NaN", () => NaN);
  const inf = w("Infinity", () => Infinity);
  switch (kind) {
    case "tensor":
      return [...common, obj, str, arr, w("array", () => [1, 2]), w("function", () => () => 0)];
    case "logits":
      // Wrong rank too: logits need a class axis.
      return [...common, obj, str, arr, w("array", () => [1, 2]), w("0-d tensor", () => z([]))];
    case "tensors":
      return [
        ...common,
        obj,
        str,
        arr,
        w("array of null", () => [null]),
        w("mismatched shapes", () => [z([2, 3]), z([4])]),
      ];
    case "key":
      return [
        ...common,
        obj,
        str,
        w("number", () => 3),
        w("float key", () => z([2])),
        w("wrong rank key", () => k.zeros([3, 2, 2], { dtype: "int32" })),
        w("array", () => [0, 1]),
      ];
    case "shape":
      return [
        ...common,
        obj,
        numStr,
        w("fractional size", () => [2.5]),
        w("negative size", () => [-1]),
        w("NaN size", () => [NaN]),
        w("Infinity size", () => [Infinity]),
        w("nested array", () => [[2]]),
        w("string entries", () => ["2"]),
      ];
    case "newShape":
      return [
        ...common,
        obj,
        numStr,
        w("fractional size", () => [2.5]),
        w("two -1", () => [-1, -1]),
        w("NaN size", () => [NaN]),
        w("string entries", () => ["2"]),
        w("wrong size", () => [7]),
      ];
    case "size":
      return [...common, obj, numStr, arr, w("negative", () => -1), fractional, nan, inf];
    case "sections":
      return [
        ...common,
        obj,
        numStr,
        w("zero", () => 0),
        w("negative", () => -1),
        fractional,
        nan,
        w("string indices", () => ["1"]),
      ];
    case "int":
      return [...common, obj, numStr, arr, fractional, nan, inf];
    case "axis":
      return [
        ...common,
        obj,
        numStr,
        w("out-of-range axis", () => 99),
        w("negative out-of-range axis", () => -99),
        w("fractional axis", () => 1.5),
      ];
    case "opts":
      return [
        ...common,
        str,
        w("array", () => [1]),
        w("number", () => 5),
        w("unknown option", () => ({ bogusOption: 1 })),
        w("unknown dtype", () => ({ dtype: "bfloat16" })),
        w("unknown device", () => ({ device: "tpu" })),
        w("string axis", () => ({ axis: "0" })),
      ];
    case "dtype":
      return [...common, obj, w("unknown dtype", () => "bfloat16"), w("number", () => 3)];
    case "device":
      return [...common, obj, w("unknown device", () => "tpu"), w("number", () => 3)];
    case "fn":
      return [...common, obj, str, arr, w("number", () => 3)];
    case "number":
      return [...common, obj, numStr, arr];
    case "hyper":
      return [...common, obj, numStr, arr, nan, inf];
    case "bound":
      return [...common, obj, numStr, nan, inf];
    case "bool":
      return [...common, obj, str, w("number", () => 3)];
    case "path":
      // Never a string: no generated input may reach the file system or the network.
      return [...common, obj, arr, w("number", () => 3), w("boolean", () => true)];
    case "string":
      return [...common, obj, arr, w("number", () => 3)];
    case "bytes":
      return [...common, obj, str, w("array", () => [1, 2]), w("number", () => 3)];
    case "specs":
    case "pads":
      return [
        ...common,
        obj,
        str,
        w("fractional", () => [[0.5, 1]]),
        w("string entries", () => [["a"]]),
        w("not pairs", () => [1, 2]),
        ...(kind === "pads" ? [w("crops below zero", () => [[-5, -5]])] : []),
      ];
    case "data":
      return [
        ...common,
        obj,
        str,
        w("nested strings", () => [["a"]]),
        w("function", () => () => 0),
      ];
    case "indices":
      return [
        ...common,
        obj,
        str,
        w("fractional indices", () => [0.5]),
        w("string indices", () => ["0"]),
        w("float tensor", () => z([2])),
      ];
    case "dataset":
      return [...common, str, w("number", () => 3), w("empty object", () => ({})), arr];
    case "def":
      return [...common, obj, str, w("number", () => 3), w("array", () => [1])];
    case "params":
      return [...common, str, w("number", () => 3), w("empty object", () => ({})), arr];
    case "fnList":
      return [...common, obj, str, w("number", () => 3), w("array of numbers", () => [3])];
    case "keypath":
      return [...common, obj, str, w("number", () => 3), w("array of objects", () => [{}])];
    default:
      // Unknown kind (any value may be valid): only what no parameter accepts.
      return first ? common.filter(([n]) => n === "symbol" || n === "promise") : [];
  }
}

interface Case {
  entry: Entry;
  position: number;
  kind: Kind;
  wrong: string;
  make: (shape: number[]) => unknown[];
}

/** Every (function, parameter, wrong value) triple, the earlier parameters valid. */
function cases(entries: Entry[]): Case[] {
  const out: Case[] = [];
  for (const entry of entries) {
    if (EXEMPT[entry.name] || entry.params.length === 0) continue;
    // Two tensor parameters in front: also mismatched shapes.
    if (kindOf(entry, 0) === "tensor" && kindOf(entry, 1) === "tensor") {
      out.push({
        entry,
        position: 1,
        kind: "tensor",
        wrong: "mismatched shapes",
        make: () => [z([2, 3]), z([4, 5])],
      });
    }
    for (let i = 0; i < entry.params.length; i++) {
      const kind = kindOf(entry, i);
      // A method's first parameter is not its first argument (`this` is): no null/undefined.
      for (const [wrong, value] of wrongOf(kind, i === 0 && !entry.method)) {
        out.push({
          entry,
          position: i,
          kind,
          wrong,
          make: (shape) => {
            const args: unknown[] = [];
            for (let j = 0; j < i; j++) args.push(validOf(kindOf(entry, j), shape));
            args.push(value());
            return args;
          },
        });
      }
      if (validOf(kind, [1]) === NONE) break; // later parameters unreachable
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The check.

const INTERNAL =
  /is not a function|is not iterable|Cannot read propert|Cannot convert|is not defined|Maximum call stack|Invalid array length|of undefined|undefined is|of null|null is|is not a constructor|Cannot destructure/;

/** Calls and checks one case; returns a failure description or undefined. */
async function check(c: Case, shape: number[]): Promise<string | undefined> {
  const publicName = ALIASES[c.entry.name] ??
    (c.entry.method ? c.entry.name.slice("Tensor.".length) : c.entry.name);
  let args: unknown[];
  try {
    args = c.make(shape);
  } catch (e) {
    return `could not build arguments: ${(e as Error).message}`;
  }
  const label = `${c.entry.name}(${c.entry.params.join(", ")}) with ${c.wrong} ${c.kind} as ` +
    `${c.entry.params[c.position] ?? `argument ${c.position}`}`;
  let err: unknown;
  try {
    const r = c.entry.method ? c.entry.fn.apply(z(shape), args) : c.entry.fn(...args);
    if (r && typeof (r as Promise<unknown>).then === "function") {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("TIMEOUT")), 3000);
      });
      try {
        await Promise.race([r, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    return `${label}: accepted (no error)`;
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error)) return `${label}: threw a non-Error ${String(err)}`;
  const msg = err.message;
  if (msg === "TIMEOUT") return `${label}: did not settle within 3 s`;
  if (INTERNAL.test(msg) && !/got (undefined|null)/.test(msg)) {
    return `${label}: internal error escaped: ${err.name}: ${msg}`;
  }
  // One function exported under two names (nn.sequential = nn.layers.sequential) may use either.
  const names = [publicName, ...(SAME_FN.get(c.entry.fn) ?? [])];
  if (!names.some((n) => msg.startsWith(`${n}: `))) {
    return `${label}: message does not start with "${publicName}: ": ${err.name}: ${msg}`;
  }
  const ok = err instanceof TypeError || err instanceof RangeError || err instanceof k.KilnError;
  if (!ok) return `${label}: ${err.name} is not TypeError, RangeError or KilnError: ${msg}`;
  return undefined;
}

const ENTRIES = enumerate();
/** The names each function object is exported under. */
const SAME_FN = new Map<Fn, string[]>();
for (const e of ENTRIES) SAME_FN.set(e.fn, [...(SAME_FN.get(e.fn) ?? []), e.name]);
const CASES = cases(ENTRIES);

Deno.test("api surface: enumeration finds the public modules", () => {
  const names = new Set(ENTRIES.map((e) => e.name));
  for (const n of ["zeros", "nn.mse", "optim.adam", "data.batches", "io.save", "random.normal"]) {
    assert.ok(names.has(n), `${n} not enumerated`);
  }
  // Functions whose first parameter has no known kind get only a symbol and a promise there
  // (wrong for any parameter); name their parameters in KINDS/OVERRIDES to test them more.
  const unknown = ENTRIES.filter((e) =>
    e.params.length > 0 && kindOf(e, 0) === "any" && !EXEMPT[e.name]
  );
  if (unknown.length) {
    console.log(
      `api surface: first parameter of unknown kind: ${
        unknown.map((e) => `${e.name}(${e.params[0]})`).join(", ")
      }`,
    );
  }
});

Deno.test("api surface: every function rejects every kind of wrong argument", async () => {
  const failures: string[] = [];
  const kinds = new Set<string>();
  const fns = new Set<string>();
  const t0 = performance.now();
  for (const c of CASES) {
    kinds.add(`${c.kind}:${c.wrong}`);
    fns.add(c.entry.name);
    const f = await check(c, [2, 3]);
    if (f) failures.push(f);
  }
  const ms = performance.now() - t0;
  const nullary = ENTRIES.filter((e) => e.params.length === 0).map((e) => e.name);
  console.log(
    `api surface: ${ENTRIES.length} functions and methods enumerated; ${fns.size} tested, ` +
      `${Object.keys(EXEMPT).length} exempt, ${nullary.length} take no arguments ` +
      `(${nullary.join(", ")}); ${CASES.length} calls, ${kinds.size} (parameter kind, wrong ` +
      `value) pairs, ${new Set(CASES.map((c) => c.wrong)).size} distinct wrong values, ` +
      `${ms.toFixed(0)} ms; ${failures.length} failures`,
  );
  assert.deepStrictEqual(failures, []);
});

Deno.test("api surface: random wrong arguments in random contexts (fast-check)", async () => {
  // Random cases in random contexts (the valid arguments around the wrong one get random
  // shapes, 0-d and empty included). Failures are collected, not stopped at, so one run
  // lists every function that needs work.
  const failures = new Set<string>();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...CASES),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }),
      async (c, shape) => {
        const f = await check(c, shape);
        if (f) failures.add(`${f} (context shape [${shape}])`);
      },
    ),
    { numRuns: 1500, seed: 17 },
  );
  assert.deepStrictEqual([...failures].sort(), []);
});

Deno.test("api surface: what optimizers and schedules return checks its arguments too", async () => {
  // Every optim factory that builds with plain arguments: its transformation's update, or the
  // schedule it returns, gets wrong arguments and must name the factory (optim.adam: …).
  const failures: string[] = [];
  const w = { w: z([2]), b: z([3]) };
  let built = 0, calls = 0;
  for (const e of ENTRIES.filter((e) => e.name.startsWith("optim."))) {
    if (e.name === "optim.identity") continue; // passes updates through unchanged, by design
    const args = e.params.map((_, i) => {
      const kind = kindOf(e, i);
      return kind === "hyper" || kind === "number" ? 0.1 : validOf(kind, [2]);
    });
    if (args.some((a) => a === NONE)) continue;
    let made: unknown;
    try {
      made = e.fn(...args);
    } catch {
      continue; // needs options (schedules): covered by the cases above
    }
    const attempts: [string, () => unknown][] = [];
    if (typeof made === "function") {
      for (const bad of [Symbol("s"), "3", null, {}]) {
        attempts.push([`schedule(${describeArg(bad)})`, () => (made as Fn)(bad)]);
      }
    } else if (made && typeof (made as { update?: unknown }).update === "function") {
      const t = made as k.optim.GradientTransformation;
      const state = t.init(w);
      attempts.push(
        ["update(symbol)", () => t.update(Symbol("g") as never, state, w)],
        ["update(string leaf)", () => t.update({ w: "g", b: z([3]) } as never, state, w)],
      );
      // Only a state holding per-parameter leaves (not stateless scale or plain sgd, not just
      // a step count) has a structure to hold updates to.
      if (k.tree.leaves(state).length > 1) {
        attempts.push(
          ["update(other structure)", () => t.update({ w: z([2]), extra: z([1]) }, state, w)],
          ["update(wrong state)", () => t.update(w, "state" as never, w)],
          ["init(string leaf)", () => t.init({ w: "p", b: z([3]) })],
        );
      }
    } else continue;
    built++;
    for (const [label, call] of attempts) {
      calls++;
      try {
        await call();
        failures.push(`${e.name}: ${label} accepted`);
      } catch (err) {
        const msg = (err as Error).message;
        if (
          !msg.startsWith(`${e.name}: `) || INTERNAL.test(msg) && !/got (undefined|null)/.test(msg)
        ) {
          failures.push(`${e.name}: ${label}: ${(err as Error).name}: ${msg}`);
        }
      }
    }
  }
  console.log(`api surface: ${built} built transformations/schedules, ${calls} calls`);
  assert.deepStrictEqual(failures, []);
});

function describeArg(v: unknown): string {
  return typeof v === "symbol" ? "symbol" : JSON.stringify(v);
}
