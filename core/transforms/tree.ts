/**
 * Pytrees: nested plain objects and arrays with tensors (or other values) at the leaves.
 * Objects flatten by sorted keys, arrays by index; `null`/`undefined` are empty subtrees.
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";

/** A nested structure of objects/arrays with leaves. */
export type PyTree<L = Tensor> = L | null | undefined | readonly PyTree<L>[] | {
  readonly [k: string]: PyTree<L>;
};

/** The shape of a pytree without its leaves. */
export type TreeDef =
  | { kind: "leaf" }
  | { kind: "none"; value: null | undefined }
  | { kind: "array"; children: TreeDef[] }
  | { kind: "object"; keys: string[]; children: TreeDef[] };

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Tensor) &&
  (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);

/** Leaves in order plus the structure to rebuild them. @example const [leaves, def] = k.tree.flatten({b: x, a: [y, z]}) */
export function flatten<L = Tensor>(tree: PyTree<L>): [L[], TreeDef] {
  const leaves: L[] = [];
  const walk = (t: unknown): TreeDef => {
    if (t === null || t === undefined) return { kind: "none", value: t };
    if (Array.isArray(t)) return { kind: "array", children: t.map(walk) };
    if (isPlainObject(t)) {
      const keys = Object.keys(t).sort();
      return { kind: "object", keys, children: keys.map((k) => walk(t[k])) };
    }
    leaves.push(t as L);
    return { kind: "leaf" };
  };
  return [leaves, walk(tree)];
}

/** Rebuilds a tree from a structure and leaves. @example k.tree.unflatten(def, leaves) */
export function unflatten<L = Tensor>(def: TreeDef, leaves: readonly L[]): PyTree<L> {
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
    }
  };
  const out = build(def);
  if (i !== leaves.length) {
    throw new Error(`tree.unflatten: structure has ${i} leaves, got ${leaves.length}`);
  }
  return out as PyTree<L>;
}

/** The leaves of a tree. @example k.tree.leaves(params) */
export function leaves<L = Tensor>(tree: PyTree<L>): L[] {
  return flatten(tree)[0];
}

/** The structure of a tree. */
export function structure<L = Tensor>(tree: PyTree<L>): TreeDef {
  return flatten(tree)[1];
}

/** Prints a structure, `*` for leaves. */
export function formatDef(d: TreeDef): string {
  switch (d.kind) {
    case "leaf":
      return "*";
    case "none":
      return String(d.value);
    case "array":
      return `[${d.children.map(formatDef).join(", ")}]`;
    case "object":
      return `{${d.keys.map((k, i) => `${k}: ${formatDef(d.children[i])}`).join(", ")}}`;
  }
}

/** Whether two structures are equal. */
export function sameDef(a: TreeDef, b: TreeDef): boolean {
  return formatDef(a) === formatDef(b);
}

/**
 * Applies `f` to corresponding leaves of one or more trees of the same structure.
 * @example k.tree.map((p, g) => p.sub(g.mul(0.1)), params, grads)
 */
export function map<L, R>(f: (...xs: L[]) => R, tree: PyTree<L>, ...rest: PyTree<L>[]): PyTree<R> {
  const [ls, def] = flatten(tree);
  const others = rest.map((r, i) => {
    const [l2, d2] = flatten(r);
    if (!sameDef(def, d2)) {
      throw new Error(
        `tree.map: tree ${i + 1} has structure ${formatDef(d2)}, expected ${formatDef(def)}`,
      );
    }
    return l2;
  });
  return unflatten(def, ls.map((l, i) => f(l, ...others.map((o) => o[i]))));
}
