/**
 * Pytrees: nested containers with tensors (or any other values) at the leaves.
 *
 * The containers are:
 * - plain objects (prototype `Object.prototype` or `null`), flattened by their own enumerable
 *   string keys in sorted order (`Array.prototype.sort`, i.e. UTF-16 code unit order);
 * - arrays, flattened by index (holes count as `undefined`);
 * - `null` and `undefined`, empty subtrees: they have no leaves and come back unchanged from
 *   {@linkcode unflatten};
 * - instances of classes registered with {@linkcode registerNode}.
 *
 * Everything else (tensors, numbers, strings, typed arrays, instances of unregistered classes)
 * is a leaf.
 *
 * A leaf's position is a {@linkcode KeyPath}: object keys (strings) and array or registered-node
 * child indices (numbers) from the root down, printed by {@linkcode keystr} as `.layers[0].w`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const [leaves, def] = k.tree.flatten({ b: 2, a: [1, null] });
 * // leaves: [1, 2]; k.tree.formatDef(def): "{a: [*, null], b: *}"
 * k.tree.unflatten(def, [10, 20]); // { a: [10, null], b: 20 }
 * ```
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import {
  checkFunction,
  checkString,
  describe as describeValue,
  KilnError,
  opName,
  shapeError,
  typeError,
  userCallback,
  userOp,
} from "../errors.ts";

/** A nested structure of objects/arrays with leaves. */
export type PyTree<L = Tensor> = L | null | undefined | readonly PyTree<L>[] | {
  readonly [k: string]: PyTree<L>;
};

/**
 * A class whose instances can be made interior pytree nodes with {@linkcode registerNode}.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * class Pair { constructor(readonly a: unknown, readonly b: unknown) {} }
 * const cls: k.tree.NodeClass<Pair> = Pair;
 * ```
 */
export type NodeClass<T extends object = object> = new (...args: never[]) => T;

/**
 * The shape of a pytree without its leaves. Two trees have the same structure when their
 * `TreeDef`s are equal by {@linkcode sameDef}.
 *
 * - `leaf`: a leaf;
 * - `none`: a `null` or `undefined` (no leaves);
 * - `array`: an array, one child per element;
 * - `object`: a plain object, keys sorted, one child per key;
 * - `custom`: an instance of a class registered with {@linkcode registerNode}, with the
 *   auxiliary data its `flatten` returned and one child per child it returned.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const def: k.tree.TreeDef = k.tree.structure({ w: 1, b: [2, 3] });
 * def.kind; // "object"
 * ```
 */
export type TreeDef =
  | { kind: "leaf" }
  | { kind: "none"; value: null | undefined }
  | { kind: "array"; children: TreeDef[] }
  | { kind: "object"; keys: string[]; children: TreeDef[] }
  | { kind: "custom"; cls: NodeClass; aux: unknown; children: TreeDef[] };

/**
 * One step of a {@linkcode KeyPath}: an object key (string) or an array or registered-node child
 * index (number).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const steps: k.tree.PathKey[] = ["layers", 0, "w"];
 * ```
 */
export type PathKey = string | number;

/**
 * Where a leaf sits in a tree: the keys and indices from the root down. Following it with
 * `node[key]` on plain objects and arrays reaches the leaf.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const path: k.tree.KeyPath = ["layers", 0, "w"];
 * k.tree.keystr(path); // ".layers[0].w"
 * ```
 */
export type KeyPath = readonly PathKey[];

interface NodeEntry {
  cls: NodeClass;
  flatten: (node: never) => readonly [readonly unknown[], unknown];
  unflatten: (aux: never, children: unknown[]) => unknown;
}

/** Registered classes, keyed by their prototype: a node matches its exact class only. */
const registry = new Map<object, NodeEntry>();

const isPlainObject = (x: object): x is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(x);
  return (proto === Object.prototype || proto === null) && !(x instanceof Tensor);
};

const className = (cls: NodeClass): string => cls.name || "<anonymous class>";

/**
 * Makes instances of `cls` interior pytree nodes instead of leaves.
 *
 * `flatten(node)` returns `[children, aux]`: the children are subtrees (flattened further, their
 * leaves become leaves of the whole tree; their paths are numeric indices) and `aux` is any
 * static data kept in the {@linkcode TreeDef}. `unflatten(aux, children)` builds a new instance
 * from that data and rebuilt children.
 *
 * Matching is by exact class: a value is this node when its prototype is `cls.prototype`.
 * Instances of subclasses are leaves unless the subclass is registered too. Two nodes have the
 * same structure when they are of the same class, their children have the same structure and
 * their `aux` values are deeply equal (primitives by value with `NaN` equal to itself; arrays,
 * typed arrays and plain objects by contents; anything else by identity).
 *
 * A class can be registered once; plain objects, arrays and tensors cannot be registered.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * class Linear {
 *   constructor(readonly w: number, readonly b: number, readonly act: string) {}
 * }
 * k.tree.registerNode(
 *   Linear,
 *   (l) => [[l.w, l.b], l.act],
 *   (act, [w, b]) => new Linear(w as number, b as number, act),
 * );
 * k.tree.leaves(new Linear(1, 2, "relu")); // [1, 2]
 * // Leaves inside registered nodes are not visible to the type system: say `unknown`.
 * k.tree.map<unknown, number>((x) => 2 * (x as number), new Linear(1, 2, "relu"));
 * // Linear { w: 2, b: 4, act: "relu" }
 * ```
 */
export function registerNode<T extends object, A = unknown>(
  cls: NodeClass<T>,
  flatten: (node: T) => readonly [children: readonly unknown[], aux: A],
  unflatten: (aux: A, children: unknown[]) => T,
): void {
  if (typeof cls !== "function" || typeof cls.prototype !== "object" || cls.prototype === null) {
    throw typeError("tree.registerNode", "expected a class");
  }
  if (cls === (Object as unknown) || cls === (Array as unknown) || cls === (Tensor as unknown)) {
    throw typeError("tree.registerNode", `${className(cls)} cannot be registered`);
  }
  if (registry.has(cls.prototype)) {
    throw shapeError("tree.registerNode", `${className(cls)} is already registered`);
  }
  checkFunction("tree.registerNode", flatten, "flatten");
  checkFunction("tree.registerNode", unflatten, "unflatten");
  registry.set(cls.prototype, { cls, flatten, unflatten } as NodeEntry);
}

/** Walks a tree, pushing its leaves, and returns its structure. */
function walk<L>(tree: unknown, leaves: L[]): TreeDef {
  const path: PathKey[] = [];
  const ancestors = new Set<object>();
  const enter = (t: object): void => {
    if (ancestors.has(t)) {
      throw shapeError("tree.flatten", `cycle at ${where(path)} (a node contains itself)`);
    }
    ancestors.add(t);
  };
  const child = (key: PathKey, t: unknown): TreeDef => {
    path.push(key);
    const d = go(t);
    path.pop();
    return d;
  };
  const go = (t: unknown): TreeDef => {
    if (t === null || t === undefined) return { kind: "none", value: t };
    if (typeof t !== "object") {
      leaves.push(t as L);
      return { kind: "leaf" };
    }
    let d: TreeDef;
    if (Array.isArray(t)) {
      enter(t);
      d = { kind: "array", children: Array.from(t, (x, i) => child(i, x)) };
    } else {
      const entry = registry.get(Object.getPrototypeOf(t));
      if (entry) {
        enter(t);
        const out = entry.flatten(t as never);
        if (!Array.isArray(out) || out.length !== 2 || !Array.isArray(out[0])) {
          throw typeError(
            "tree.flatten",
            `the flatten registered for ${className(entry.cls)} must return ` +
              `[children, aux] (at ${where(path)})`,
          );
        }
        const children = Array.from(out[0] as unknown[], (x, i) => child(i, x));
        d = { kind: "custom", cls: entry.cls, aux: out[1], children };
      } else if (isPlainObject(t)) {
        enter(t);
        const keys = Object.keys(t).sort();
        d = { kind: "object", keys, children: keys.map((k) => child(k, t[k])) };
      } else {
        leaves.push(t as L);
        return { kind: "leaf" };
      }
    }
    ancestors.delete(t);
    return d;
  };
  return go(tree);
}

/**
 * Leaves in order plus the structure to rebuild them with {@linkcode unflatten}.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const [leaves, def] = k.tree.flatten({ b: 3, a: [1, 2] });
 * // leaves: [1, 2, 3]; k.tree.formatDef(def): "{a: [*, *], b: *}"
 * ```
 */
export function flatten<L = Tensor>(tree: PyTree<L>): [L[], TreeDef] {
  const leaves: L[] = [];
  const def = walk(tree, leaves);
  return [leaves, def];
}

/**
 * Like {@linkcode flatten}, with the {@linkcode KeyPath} of every leaf (same order as the leaves).
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const [paths, leaves] = k.tree.flattenWithPath({ layers: [{ w: 1 }], lr: 0.1 });
 * // paths: [["layers", 0, "w"], ["lr"]]; leaves: [1, 0.1]
 * ```
 */
export function flattenWithPath<L = Tensor>(tree: PyTree<L>): [KeyPath[], L[], TreeDef] {
  const [leaves, def] = flatten(tree);
  return [leafPaths(def), leaves, def];
}

/** The paths of a structure's leaves, in flatten order. */
function leafPaths(def: TreeDef): KeyPath[] {
  const out: KeyPath[] = [];
  const path: PathKey[] = [];
  const go = (d: TreeDef): void => {
    switch (d.kind) {
      case "leaf":
        out.push([...path]);
        return;
      case "none":
        return;
      case "object":
        d.children.forEach((c, i) => {
          path.push(d.keys[i]);
          go(c);
          path.pop();
        });
        return;
      case "array":
      case "custom":
        d.children.forEach((c, i) => {
          path.push(i);
          go(c);
          path.pop();
        });
        return;
    }
  };
  go(def);
  return out;
}

/**
 * The number of leaves a structure holds.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.numLeaves(k.tree.structure({ a: [1, 2], b: null })); // 2
 * ```
 */
export function numLeaves(def: TreeDef): number {
  checkDef("tree.numLeaves", def, "def");
  return countLeaves(def);
}

function countLeaves(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "none":
      return 0;
    case "array":
    case "object":
    case "custom":
      return def.children.reduce((n, c) => n + countLeaves(c), 0);
  }
}

/**
 * Rebuilds a tree from a structure and leaves (in flatten order). Throws when the number of
 * leaves differs from the structure's, naming the structure and where the leaves ran out.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const [leaves, def] = k.tree.flatten({ a: 1, b: [2, null] });
 * k.tree.unflatten(def, leaves.map((x) => 10 * x)); // { a: 10, b: [20, null] }
 * ```
 */
export function unflatten<L = Tensor>(def: TreeDef, leaves: readonly L[]): PyTree<L> {
  checkDef("tree.unflatten", def, "def");
  if (!Array.isArray(leaves)) {
    throw typeError("tree.unflatten", `leaves must be an array, got ${describeValue(leaves)}`);
  }
  const n = countLeaves(def);
  if (n !== leaves.length) {
    const detail = leaves.length < n
      ? `; leaf ${leaves.length} (at ${where(leafPaths(def)[leaves.length])}) has no value`
      : "";
    throw shapeError(
      "tree.unflatten",
      `structure ${formatDef(def)} has ${n} leaves, got ${leaves.length}${detail}`,
    );
  }
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        return leaves[i++];
      case "none":
        return d.value;
      case "array":
        return d.children.map(build);
      case "object":
        return Object.fromEntries(d.keys.map((k, j) => [k, build(d.children[j])]));
      case "custom": {
        const entry = registry.get(d.cls.prototype);
        if (!entry) throw shapeError("tree.unflatten", `${className(d.cls)} is not registered`);
        return entry.unflatten(d.aux as never, d.children.map(build));
      }
    }
  };
  return build(def) as PyTree<L>;
}

/**
 * The leaves of a tree, in flatten order.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.leaves({ w: 1, b: [2, 3] }); // [2, 3, 1]
 * ```
 */
export function leaves<L = Tensor>(tree: PyTree<L>): L[] {
  return flatten(tree)[0];
}

/**
 * The structure of a tree.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.formatDef(k.tree.structure({ w: 1, b: [2, 3] })); // "{b: [*, *], w: *}"
 * ```
 */
export function structure<L = Tensor>(tree: PyTree<L>): TreeDef {
  return flatten(tree)[1];
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** An object key as written in a structure or path: bare when an identifier, else quoted. */
const showKey = (k: string): string => IDENT.test(k) ? k : JSON.stringify(k);

function showAux(aux: unknown): string {
  try {
    const s = JSON.stringify(aux);
    if (s !== undefined) return s;
  } catch {
    // bigint or cyclic aux: fall through
  }
  return String(aux);
}

/**
 * Prints a structure: `*` for leaves, `null`/`undefined`, `[…]` for arrays, `{key: …}` for
 * objects (keys that are not identifiers are quoted) and `Name(…)` for registered nodes, with
 * their aux data as `Name[aux](…)` unless it is `null` or `undefined`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.formatDef(k.tree.structure({ a: 1, b: [2, null] })); // "{a: *, b: [*, null]}"
 * ```
 */
export function formatDef(d: TreeDef): string {
  checkDef("tree.formatDef", d, "d");
  return showDef(d);
}

function showDef(d: TreeDef): string {
  switch (d.kind) {
    case "leaf":
      return "*";
    case "none":
      return String(d.value);
    case "array":
      return `[${d.children.map(showDef).join(", ")}]`;
    case "object":
      return `{${d.keys.map((k, i) => `${showKey(k)}: ${showDef(d.children[i])}`).join(", ")}}`;
    case "custom": {
      const aux = d.aux === null || d.aux === undefined ? "" : `[${showAux(d.aux)}]`;
      return `${className(d.cls)}${aux}(${d.children.map(showDef).join(", ")})`;
    }
  }
}

/**
 * Prints a path: `.key` for identifier keys, `["key"]` for other keys, `[i]` for indices. The
 * root (empty path) prints as the empty string.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.keystr(["layers", 0, "w"]); // ".layers[0].w"
 * k.tree.keystr(["a b", 1]); // '["a b"][1]'
 * ```
 */
export function keystr(path: KeyPath): string {
  if (!Array.isArray(path) || path.some((k) => typeof k !== "number" && typeof k !== "string")) {
    throw typeError(
      "tree.keystr",
      `path must be an array of keys (strings or numbers), got ${describeValue(path)}`,
    );
  }
  const step = (k: PathKey): string =>
    typeof k === "number" ? `[${k}]` : IDENT.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return path.map(step).join("");
}

/** A path for messages: the root has a name. */
const where = (path: KeyPath): string => path.length === 0 ? "root" : keystr(path);

/** Deep equality for registered nodes' aux data. */
function auxEqual(a: unknown, b: unknown): boolean {
  if (a === b || (a !== a && b !== b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a) || ArrayBuffer.isView(a)) {
    const x = a as ArrayLike<unknown>, y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!auxEqual(x[i], y[i])) return false;
    return true;
  }
  if (!isPlainObject(a)) return false;
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
  return ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && auxEqual(a[k], (b as Record<string, unknown>)[k]));
}

/** What a structure is at one node, for mismatch messages. */
function describe(d: TreeDef, withAux = false): string {
  switch (d.kind) {
    case "leaf":
      return "leaf";
    case "none":
      return String(d.value);
    case "array":
      return `array of ${d.children.length}`;
    case "object":
      return `object with keys {${d.keys.map(showKey).join(", ")}}`;
    case "custom":
      return `${className(d.cls)} node with ${d.children.length} children` +
        (withAux ? ` and aux ${showAux(d.aux)}` : "");
  }
}

/** The first place two structures differ, or `undefined` when they are equal. */
function firstDifference(a: TreeDef, b: TreeDef): string | undefined {
  const path: PathKey[] = [];
  const at = (x: string, y: string): string => `at ${where(path)}: ${x} vs ${y}`;
  const kids = (xs: TreeDef[], ys: TreeDef[], key: (i: number) => PathKey): string | undefined => {
    for (let i = 0; i < xs.length; i++) {
      path.push(key(i));
      const r = go(xs[i], ys[i]);
      path.pop();
      if (r !== undefined) return r;
    }
    return undefined;
  };
  const go = (x: TreeDef, y: TreeDef): string | undefined => {
    if (x.kind !== y.kind) return at(describe(x), describe(y));
    switch (x.kind) {
      case "leaf":
        return undefined;
      case "none":
        return x.value === (y as typeof x).value ? undefined : at(describe(x), describe(y));
      case "array": {
        const yc = (y as typeof x).children;
        if (x.children.length !== yc.length) return at(describe(x), describe(y));
        return kids(x.children, yc, (i) => i);
      }
      case "object": {
        const yo = y as typeof x;
        if (x.keys.length !== yo.keys.length || x.keys.some((k, i) => k !== yo.keys[i])) {
          return at(describe(x), describe(y));
        }
        return kids(x.children, yo.children, (i) => x.keys[i]);
      }
      case "custom": {
        const yc = y as typeof x;
        if (x.cls !== yc.cls || x.children.length !== yc.children.length) {
          return at(describe(x), describe(y));
        }
        if (!auxEqual(x.aux, yc.aux)) return at(describe(x, true), describe(y, true));
        return kids(x.children, yc.children, (i) => i);
      }
    }
  };
  return go(a, b);
}

/**
 * Whether two structures are equal: same containers, same keys, same `null`/`undefined`, and for
 * registered nodes the same class and deeply equal aux data.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.sameDef(k.tree.structure({ a: 1 }), k.tree.structure({ a: 2 })); // true
 * k.tree.sameDef(k.tree.structure([1]), k.tree.structure([1, 2])); // false
 * ```
 */
export function sameDef(a: TreeDef, b: TreeDef): boolean {
  checkDef("tree.sameDef", a, "a");
  checkDef("tree.sameDef", b, "b");
  return firstDifference(a, b) === undefined;
}

function mismatch(what: string, actual: TreeDef, expected: TreeDef, diff: string): Error {
  // `what` is the caller's prefix (`optim.adam: grads`); the op is its part before ": ".
  return new KilnError(
    what.split(": ")[0],
    `${what} has structure ${formatDef(actual)}, expected ${formatDef(expected)}; ` +
      `first difference ${diff}`,
  );
}

/**
 * Throws unless `actual` and `expected` are the same structure (see {@linkcode sameDef}). The
 * message starts with `what`, prints both structures and the first path where they differ with
 * what each has there (`actual vs expected`), e.g.
 * `grads has structure {a: *, b: [*, *]}, expected {a: *, b: [*, [*, *]]}; first difference at
 * .b[1]: leaf vs array of 2`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = { w: 1, b: [2, 3] };
 * const grads = { w: 0.1, b: [0.2, 0.3] };
 * k.tree.assertSameStructure(k.tree.structure(grads), k.tree.structure(params), "grads");
 * ```
 */
export function assertSameStructure(actual: TreeDef, expected: TreeDef, what = "tree"): void {
  checkDef("tree.assertSameStructure", actual, "actual");
  checkDef("tree.assertSameStructure", expected, "expected");
  checkString("tree.assertSameStructure", what, "what");
  const diff = firstDifference(actual, expected);
  if (diff !== undefined) throw mismatch(what, actual, expected, diff);
}

/** Flattens `tree` and `rest`, checking every one of `rest` against `tree`'s structure. */
function flattenAll<L>(
  op: string,
  tree: PyTree<L>,
  rest: readonly PyTree<L>[],
): [L[], TreeDef, L[][]] {
  const [ls, def] = flatten(tree);
  const others = rest.map((r, i) => {
    const [l2, d2] = flatten(r);
    assertSameStructure(d2, def, `${opName(op)}: tree ${i + 1}`);
    return l2;
  });
  return [ls, def, others];
}

/**
 * Applies `f` to corresponding leaves of one or more trees of the same structure and returns a
 * tree of that structure with the results. Throws (see {@linkcode assertSameStructure}) when a
 * tree's structure differs from the first's.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = { w: 1, b: [2, 3] };
 * const grads = { w: 2, b: [2, 2] };
 * k.tree.map((p: number, g: number) => p - 0.5 * g, params, grads); // { b: [1, 2], w: 0 }
 * ```
 */
export function map<L, R>(
  f: (...xs: L[]) => R,
  tree: PyTree<L>,
  ...rest: PyTree<L>[]
): PyTree<R> {
  return userOp("tree.map", () => {
    const uf = userCallback(checkFunction<typeof f>("tree.map", f));
    const [ls, def, others] = flattenAll("tree.map", tree, rest);
    return unflatten<R>(def, ls.map((l, i) => uf(l, ...others.map((o) => o[i]))));
  });
}

/**
 * Like {@linkcode map}, with each leaf's {@linkcode KeyPath} as `f`'s first argument.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const params = { layers: [{ w: 1, b: 0 }] };
 * // Decay weights only.
 * k.tree.mapWithPath((path, x: number) => path.at(-1) === "w" ? 0.9 * x : x, params);
 * k.tree.mapWithPath((path, _x: number) => k.tree.keystr(path), params);
 * // { layers: [{ b: ".layers[0].b", w: ".layers[0].w" }] }
 * ```
 */
export function mapWithPath<L, R>(
  f: (path: KeyPath, ...xs: L[]) => R,
  tree: PyTree<L>,
  ...rest: PyTree<L>[]
): PyTree<R> {
  return userOp("tree.mapWithPath", () => {
    const uf = userCallback(checkFunction<typeof f>("tree.mapWithPath", f));
    const [ls, def, others] = flattenAll("tree.mapWithPath", tree, rest);
    const paths = leafPaths(def);
    return unflatten<R>(def, ls.map((l, i) => uf(paths[i], l, ...others.map((o) => o[i]))));
  });
}

/**
 * Folds `f` over the leaves in flatten order, starting from `initial`.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * k.tree.reduce((acc: number, x: number) => acc + x, { a: 1, b: [2, 3] }, 0); // 6
 * ```
 */
export function reduce<L, A>(f: (acc: A, leaf: L) => A, tree: PyTree<L>, initial: A): A {
  return userOp("tree.reduce", () => {
    const uf = userCallback(checkFunction<(acc: A, leaf: L) => A>("tree.reduce", f));
    return flatten(tree)[0].reduce((acc, leaf) => uf(acc, leaf), initial);
  });
}

const DEF_KINDS = new Set(["leaf", "none", "array", "object", "custom"]);

/** Throws unless `d` is a TreeDef (from `tree.structure` / `tree.flatten`). */
function checkDef(op: string, d: unknown, what: string): void {
  const kind = d !== null && typeof d === "object" ? (d as { kind?: unknown }).kind : undefined;
  if (typeof kind !== "string" || !DEF_KINDS.has(kind)) {
    throw typeError(
      op,
      `${what} must be a TreeDef (from k.tree.structure), got ${describeValue(d)}`,
    );
  }
}
