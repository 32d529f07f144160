// Pytree utilities: flatten/unflatten round trips and map/reduce/mapWithPath as properties over
// random nested trees, key order, null/undefined, registered node classes, mismatch messages.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as k from "../mod.ts";

const { tree } = k;
type T = k.tree.PyTree<unknown>;

/** Random nested trees of plain objects, arrays, null/undefined and `leaf` values. */
function trees<L>(leaf: fc.Arbitrary<L>, keys: fc.Arbitrary<string> = fc.string()) {
  return fc.letrec<{ t: T }>((tie) => ({
    t: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.constantFrom(null, undefined),
      fc.array(tie("t"), { maxLength: 4 }),
      fc.dictionary(keys, tie("t"), { maxKeys: 4, noNullPrototype: true }),
    ),
  })).t;
}

const anyLeaf = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.boolean());

/** Follows a path with `node[key]` (plain objects and arrays only). */
function follow(t: unknown, path: k.tree.KeyPath): unknown {
  return path.reduce<unknown>((n, key) => (n as Record<PropertyKey, unknown>)[key], t);
}

/** Runs `fn`, expecting an Error; returns its message. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error);
    return e.message;
  }
  throw new Error("expected an error");
}

/** Asserts `msg` contains every one of `parts`, verbatim. */
function contains(msg: string, ...parts: string[]): void {
  for (const p of parts) assert.ok(msg.includes(p), `expected ${JSON.stringify(p)} in: ${msg}`);
}

// ------------------------------------------------------------------------- properties ----

Deno.test("tree properties: unflatten(flatten(t)) round-trips; leaves and numLeaves agree", () => {
  fc.assert(
    fc.property(trees(anyLeaf), (t) => {
      const [ls, def] = tree.flatten(t);
      assert.deepEqual(tree.unflatten(def, ls), t);
      assert.equal(tree.numLeaves(def), ls.length);
      assert.deepEqual(tree.leaves(t), ls);
      assert.ok(tree.sameDef(tree.structure(t), def));
    }),
    { numRuns: 300 },
  );
});

Deno.test("tree properties: leaf count equals a direct count of non-container values", () => {
  const count = (t: unknown): number =>
    t === null || t === undefined
      ? 0
      : Array.isArray(t)
      ? t.reduce((n: number, c) => n + count(c), 0)
      : typeof t === "object"
      ? Object.values(t).reduce((n: number, c) => n + count(c), 0)
      : 1;
  fc.assert(fc.property(trees(anyLeaf), (t) => tree.leaves(t).length === count(t)));
});

Deno.test("tree properties: map identity, map with several trees, reduce sums", () => {
  fc.assert(
    fc.property(trees(fc.integer({ min: -1000, max: 1000 })), (t) => {
      assert.deepEqual(tree.map((x) => x, t), t);
      const doubled = tree.map((x) => 2 * (x as number), t);
      assert.ok(tree.sameDef(tree.structure(doubled), tree.structure(t)));
      // Three trees: leaves line up by position.
      const sum3 = tree.map(
        (a, b, c) => (a as number) + (b as number) + (c as number),
        t,
        t,
        doubled,
      );
      assert.deepEqual(tree.leaves(sum3), tree.leaves(t).map((x) => 4 * (x as number)));
      const sum = tree.leaves(t).reduce((s: number, x) => s + (x as number), 0);
      assert.equal(tree.reduce((acc: number, x) => acc + (x as number), t, 0), sum);
      // reduce visits leaves in flatten order.
      assert.deepEqual(tree.reduce((acc: unknown[], x) => [...acc, x], t, []), tree.leaves(t));
    }),
    { numRuns: 200 },
  );
});

Deno.test("tree properties: mapWithPath paths reach their leaves; keystr matches the path", () => {
  fc.assert(
    fc.property(trees(anyLeaf), (t) => {
      const [paths, ls] = tree.flattenWithPath(t);
      assert.equal(paths.length, ls.length);
      paths.forEach((p, i) => assert.ok(Object.is(follow(t, p), ls[i]), tree.keystr(p)));
      const seen: k.tree.KeyPath[] = [];
      const out = tree.mapWithPath(
        (path, leaf, same) => {
          assert.ok(Object.is(follow(t, path), leaf));
          assert.ok(Object.is(leaf, same));
          seen.push(path);
          return tree.keystr(path);
        },
        t,
        t,
      );
      assert.deepEqual(seen, paths);
      assert.deepEqual(tree.leaves(out), paths.map(tree.keystr));
      assert.ok(tree.sameDef(tree.structure(out), tree.structure(t)));
    }),
    { numRuns: 200 },
  );
});

Deno.test("tree properties: sameDef agrees with formatDef on small trees", () => {
  const small = trees(fc.constant(0), fc.constantFrom("a", "b", "a b", "0"));
  fc.assert(
    fc.property(small, small, (a, b) => {
      const da = tree.structure(a), db = tree.structure(b);
      const same = tree.sameDef(da, db);
      assert.equal(same, tree.formatDef(da) === tree.formatDef(db));
      assert.equal(same, tree.sameDef(db, da));
      if (same) tree.assertSameStructure(da, db);
      else assert.throws(() => tree.assertSameStructure(da, db), /first difference at /);
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------- examples ----

Deno.test("tree: objects flatten by sorted keys, arrays by index", () => {
  assert.deepEqual(tree.leaves({ c: 3, a: 1, b: 2 }), [1, 2, 3]);
  // Code unit order: upper case before lower case; integer-like keys sort as strings.
  assert.deepEqual(tree.leaves({ b: "b", B: "B", a: "a" }), ["B", "a", "b"]);
  assert.deepEqual(tree.leaves({ 2: "two", 10: "ten" }), ["ten", "two"]);
  assert.deepEqual(tree.leaves({ w: [1, [2, 3]], b: 0 }), [0, 1, 2, 3]);
  // Insertion order does not matter.
  assert.ok(tree.sameDef(tree.structure({ a: 1, b: 2 }), tree.structure({ b: 2, a: 1 })));
  assert.equal(tree.formatDef(tree.structure({ w: [1, [2, 3]], b: 0 })), "{b: *, w: [*, [*, *]]}");
  assert.equal(tree.formatDef(tree.structure({ "a b": 1, "0": [] })), '{"0": [], "a b": *}');
  // A null-prototype object is a plain object; unflatten builds ordinary objects.
  const bare = Object.assign(Object.create(null), { y: 2, x: 1 });
  assert.deepEqual(tree.leaves(bare), [1, 2]);
  const [ls, def] = tree.flatten(bare);
  assert.deepEqual({ ...tree.unflatten(def, ls) as object }, { x: 1, y: 2 });
});

Deno.test("tree: null and undefined are empty subtrees, kept by unflatten", () => {
  const t = { a: null, b: undefined, c: [null, 1, undefined], d: { e: null } };
  const [ls, def] = tree.flatten(t);
  assert.deepEqual(ls, [1]);
  assert.equal(
    tree.formatDef(def),
    "{a: null, b: undefined, c: [null, *, undefined], d: {e: null}}",
  );
  const back = tree.unflatten(def, [7]) as Record<string, unknown>;
  assert.deepEqual(back, { a: null, b: undefined, c: [null, 7, undefined], d: { e: null } });
  assert.ok("b" in back, "a key holding undefined is kept");
  // At the root.
  assert.deepEqual(tree.leaves(null), []);
  assert.equal(tree.unflatten(tree.structure(null), []), null);
  assert.equal(tree.unflatten(tree.structure(undefined), []), undefined);
  // null and undefined are different structures.
  assert.ok(!tree.sameDef(tree.structure(null), tree.structure(undefined)));
  contains(
    messageOf(() => tree.map((x) => x, { a: null }, { a: undefined })),
    "at .a: undefined vs null",
  );
  // Array holes are undefined.
  // deno-lint-ignore no-sparse-arrays
  assert.equal(tree.formatDef(tree.structure([, 1])), "[undefined, *]");
  // map over a tree with empty subtrees keeps them.
  assert.deepEqual(tree.map((x) => (x as number) + 1, t), { ...t, c: [null, 2, undefined] });
});

Deno.test("tree: tensors and other non-plain objects are leaves", () => {
  const x = k.tensor([1, 2, 3]);
  const date = new Date(0);
  class Opaque {
    constructor(readonly v: number[]) {}
  }
  const o = new Opaque([1, 2]);
  const ls = tree.leaves<unknown>({ x, date, o, f: Float32Array.of(1), m: new Map() });
  assert.equal(ls.length, 5);
  assert.equal(ls[3], o);
  assert.equal(ls[4], x);
  // Shared references are fine; cycles are an error naming where.
  const s = [1];
  assert.deepEqual(tree.leaves({ a: s, b: s }), [1, 1]);
  const cyc: Record<string, unknown> = { a: [0] };
  (cyc.a as unknown[]).push(cyc);
  contains(messageOf(() => tree.flatten(cyc as T)), "cycle at .a[1]");
});

Deno.test("tree: keystr prints paths", () => {
  assert.equal(tree.keystr([]), "");
  assert.equal(tree.keystr(["layers", 0, "w"]), ".layers[0].w");
  assert.equal(tree.keystr(["a b", 1, "$x", "_y", "0"]), '["a b"][1].$x._y["0"]');
  const paths = tree.flattenWithPath({ layers: [{ w: 1, b: 2 }], lr: 3 })[0];
  assert.deepEqual(paths.map(tree.keystr), [".layers[0].b", ".layers[0].w", ".lr"]);
  assert.deepEqual(tree.flattenWithPath(5)[0], [[]]);
});

// -------------------------------------------------------------- registered nodes ----

class Point {
  constructor(readonly x: unknown, readonly y: unknown, readonly label: string) {}
}
tree.registerNode(
  Point,
  (p) => [[p.x, p.y], { label: p.label }],
  (aux, [x, y]) => new Point(x, y, aux.label),
);

class Point3 extends Point {}

Deno.test("tree: registered classes are interior nodes", () => {
  const p = new Point(1, [2, { z: 3 }], "p");
  const [ls, def] = tree.flatten(p);
  assert.deepEqual(ls, [1, 2, 3]);
  assert.equal(tree.formatDef(def), 'Point[{"label":"p"}](*, [*, {z: *}])');
  const back = tree.unflatten(def, [10, 20, 30]);
  assert.ok(back instanceof Point);
  assert.deepEqual(back, new Point(10, [20, { z: 30 }], "p"));
  // Nested inside containers and inside each other; map rebuilds instances.
  const t = { a: [new Point(new Point(1, 2, "in"), null, "out")], b: 4 };
  const m = tree.map<unknown, number>((x) => 10 * (x as number), t) as unknown as typeof t;
  assert.ok(m.a[0] instanceof Point && m.a[0].x instanceof Point);
  assert.deepEqual(m, { a: [new Point(new Point(10, 20, "in"), null, "out")], b: 40 });
  // Children's paths are indices.
  const paths = tree.flattenWithPath<unknown>(t)[0].map(tree.keystr);
  assert.deepEqual(paths, [".a[0][0][0]", ".a[0][0][1]", ".b"]);
  const labels = tree.mapWithPath<unknown, string>(
    (path) => tree.keystr(path),
    new Point(0, 0, "q"),
  );
  assert.deepEqual(labels, new Point("[0]", "[1]", "q"));
  // Round trip with random children.
  fc.assert(
    fc.property(trees(anyLeaf), trees(anyLeaf), fc.string(), (x, y, label) => {
      const [l2, d2] = tree.flatten(new Point(x, y, label));
      assert.deepEqual(tree.unflatten(d2, l2), new Point(x, y, label));
    }),
    { numRuns: 100 },
  );
});

Deno.test("tree: registered nodes compare class, aux and children", () => {
  const def = (t: unknown) => tree.structure(t as T);
  assert.ok(tree.sameDef(def(new Point(1, 2, "a")), def(new Point(5, 6, "a"))));
  // aux compared structurally, not by identity.
  assert.ok(tree.sameDef(def(new Point(1, 2, "a")), def(new Point(1, 2, "a"))));
  contains(
    messageOf(() => tree.map((x) => x, new Point(1, 2, "a") as T, new Point(1, 2, "b") as T)),
    'at root: Point node with 2 children and aux {"label":"b"} vs ' +
      'Point node with 2 children and aux {"label":"a"}',
  );
  contains(
    messageOf(() => tree.map((x) => x, { p: new Point(1, [2], "a") } as T, { p: [1, 2] })),
    "at .p: array of 2 vs Point node with 2 children",
  );
  contains(
    messageOf(() =>
      tree.map((x) => x, new Point(1, [2], "a") as T, new Point(1, [2, 3], "a") as T)
    ),
    "at [1]: array of 2 vs array of 1",
  );
  // Exact class: a subclass instance is a leaf.
  const sub = new Point3(1, 2, "s");
  assert.deepEqual(tree.leaves(sub as T), [sub]);
});

Deno.test("tree: registerNode rejects bad registrations and bad flatten results", () => {
  const noop = () => [[], null] as const;
  contains(
    messageOf(() => tree.registerNode(Point, (p) => [[p.x], null], () => new Point(0, 0, ""))),
    "Point is already registered",
  );
  assert.throws(() => tree.registerNode(Object, noop, () => ({})), /cannot be registered/);
  assert.throws(() => tree.registerNode(Array, noop, () => []), /cannot be registered/);
  assert.throws(
    () => tree.registerNode(k.Tensor, noop, () => k.tensor([0])),
    /cannot be registered/,
  );
  class Bad {
    v = 1;
  }
  tree.registerNode(Bad, () => ({ children: [] }) as never, () => new Bad());
  contains(
    messageOf(() => tree.flatten({ b: [new Bad()] } as T)),
    "must return [children, aux]",
    ".b[0]",
  );
  // An empty registered node: no leaves, rebuilt by unflatten.
  class Empty {}
  tree.registerNode(Empty, () => [[], undefined], () => new Empty());
  const [ls, d] = tree.flatten({ e: new Empty() } as T);
  assert.deepEqual(ls, []);
  assert.equal(tree.formatDef(d), "{e: Empty()}");
  assert.ok((tree.unflatten(d, []) as { e: unknown }).e instanceof Empty);
});

// ---------------------------------------------------------------- mismatch errors ----

Deno.test("tree: mismatched structures print both structures and the first difference", () => {
  const a = { a: 1, b: [1, [2, 3]] }, b = { a: 1, b: [1, 2] };
  contains(
    messageOf(() => tree.map((x) => x, a, b)),
    "tree.map: tree 1 has structure {a: *, b: [*, *]}, expected {a: *, b: [*, [*, *]]}",
    "first difference at .b[1]: leaf vs array of 2",
  );
  contains(
    messageOf(() => tree.mapWithPath((_p, x) => x, a, a, b)),
    "tree.mapWithPath: tree 2 has structure",
    "at .b[1]: leaf vs array of 2",
  );
  contains(
    messageOf(() =>
      tree.assertSameStructure(
        tree.structure({ w: 1, c: 2 }),
        tree.structure({ w: 1, b: 2 }),
        "grads",
      )
    ),
    "grads has structure {c: *, w: *}, expected {b: *, w: *}",
    "at root: object with keys {c, w} vs object with keys {b, w}",
  );
  contains(
    messageOf(() => tree.assertSameStructure(tree.structure([1, 2]), tree.structure(1))),
    "tree has structure [*, *], expected *; first difference at root: array of 2 vs leaf",
  );
  contains(
    messageOf(() =>
      tree.assertSameStructure(tree.structure({ "a b": [[1]] }), tree.structure({ "a b": [[]] }))
    ),
    '["a b"][0]: array of 1 vs array of 0',
  );
  // The first difference in flatten order is reported, not a later one.
  contains(
    messageOf(() => tree.map((x) => x, { a: [1], z: 1 }, { a: [[1]], z: [1] })),
    "at .a[0]: array of 1 vs leaf",
  );
  assert.ok(!tree.sameDef(tree.structure(b), tree.structure(a)));
});

Deno.test("tree: unflatten with the wrong number of leaves names the structure", () => {
  const def = tree.structure({ a: 1, b: [1, 2] });
  contains(
    messageOf(() => tree.unflatten(def, [1, 2])),
    "tree.unflatten: structure {a: *, b: [*, *]} has 3 leaves, got 2",
    "leaf 2 (at .b[1]) has no value",
  );
  contains(
    messageOf(() => tree.unflatten(def, [1, 2, 3, 4])),
    "structure {a: *, b: [*, *]} has 3 leaves, got 4",
  );
  contains(messageOf(() => tree.unflatten(tree.structure(1), [])), "leaf 0 (at root)");
});
