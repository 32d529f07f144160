/**
 * The op-context mechanism of core/errors.ts on synthetic public functions: nesting keeps the
 * outermost name, callbacks run in their caller's context, errors unwind the context, and the
 * validators raise the documented classes with `op: ` prefixes.
 */
import assert from "node:assert";
import * as k from "../mod.ts";

const e = k.errors;

/** The message and class of what `fn` throws. */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

// A leaf op checks its argument; `outerOp` delegates to it; `hof` calls a callback.
const leaf = e.publicOp("leaf", (n: unknown) => e.checkSize("leaf", n, "n"));
const outerOp = e.publicOp("outer", (n: unknown) => leaf(n));
const hof = e.publicOp("hof", (f: () => unknown) => {
  const g = e.userCallback(f);
  return g();
});
// A wrapper that forwards its user's callback through another public op (as foriLoop → scan).
const forwarder = e.publicOp("forwarder", (f: () => unknown) => {
  const user = e.userCallback(f);
  return hof(() => user());
});
// A public op that uses `hof` with its own internal callback (as an optimizer uses tree.map).
const internalUser = e.publicOp("internalUser", (n: unknown) => hof(() => leaf(n)));

Deno.test("errors mechanism: a leaf op names itself", () => {
  const err = caught(() => leaf(2.5));
  assert.ok(err instanceof RangeError);
  assert.strictEqual(err.message, "leaf: n must be an integer, got 2.5");
  assert.strictEqual(e.currentOp(), undefined);
});

Deno.test("errors mechanism: delegation reports the outermost public name", () => {
  assert.match(caught(() => outerOp(-1)).message, /^outer: n must be >= 0, got -1$/);
  assert.match(caught(() => outerOp("3")).message, /^outer: n must be an integer, got a string/);
  assert.strictEqual(outerOp(3), 3);
  // The context unwound after the throw: a direct call names the leaf again.
  assert.match(caught(() => leaf(-1)).message, /^leaf: /);
});

Deno.test("errors mechanism: user callbacks run in the caller's context", () => {
  // Called by the user at top level: the callback's ops name themselves, not `hof`.
  assert.match(caught(() => hof(() => leaf(-1))).message, /^leaf: /);
  // Forwarded through another public op: still the user's context.
  assert.match(caught(() => forwarder(() => leaf(-1))).message, /^leaf: /);
  // Internal callbacks keep the public caller's name.
  assert.match(caught(() => internalUser(-1)).message, /^internalUser: /);
  // A user callback called from inside another op's callback: the outer user op's context.
  const nested = caught(() => hof(() => outerOp(-1)));
  assert.match(nested.message, /^outer: /);
  assert.strictEqual(e.currentOp(), undefined);
});

Deno.test("errors mechanism: userOp is the inline form; currentOp reports the context", () => {
  let seen: string | undefined;
  e.userOp("dot", () => e.userOp("matmul", () => (seen = e.currentOp())));
  assert.strictEqual(seen, "dot");
  assert.strictEqual(e.opName("matmul"), "matmul");
  assert.match(caught(() => e.userOp("dot", () => leaf(0.5))).message, /^dot: /);
});

Deno.test("errors mechanism: publicOp keeps this, arity and the return value", () => {
  const obj = {
    v: 7,
    get: e.publicOp("obj.get", function (this: { v: number }, a: number) {
      return this.v + a;
    }),
  };
  assert.strictEqual(obj.get(1), 8);
  assert.strictEqual(obj.get.length, 1);
});

Deno.test("errors mechanism: error classes and prefixes", () => {
  const s = caught(() => {
    throw e.shapeError("matmul", "shapes [2,3] and [4,5] do not contract (3 != 4)");
  });
  assert.ok(s instanceof k.KilnError && s instanceof Error);
  assert.strictEqual(s.name, "KilnError");
  assert.strictEqual((s as k.KilnError).op, "matmul");
  assert.match(String(s), /^KilnError: matmul: shapes/);
  assert.ok(e.typeError("a", "b") instanceof TypeError);
  assert.ok(e.rangeError("a", "b") instanceof RangeError);
  assert.strictEqual(e.rangeError("a", "b").message, "a: b");
});

Deno.test("errors mechanism: validators", () => {
  const x = k.zeros([2, 3]);
  assert.strictEqual(e.checkTensorArg("f", x), x);
  assert.match(
    caught(() => e.checkTensorArg("f", [1, 2])).message,
    /^f: x must be a Tensor, got an array \(wrap it with k.tensor\)$/,
  );
  assert.strictEqual(e.checkTensorLikeArg("f", 2), 2);
  assert.ok(caught(() => e.checkTensorLikeArg("f", "2")) instanceof TypeError);
  assert.match(
    caught(() => e.checkTensorLikeArg("f", null, "y")).message,
    /^f: y must be .*got null$/,
  );

  assert.strictEqual(e.checkNumber("f", 1.5, "lr"), 1.5);
  assert.ok(caught(() => e.checkNumber("f", NaN, "lr")) instanceof RangeError);
  assert.ok(caught(() => e.checkNumber("f", "1", "lr")) instanceof TypeError);

  assert.strictEqual(e.checkInt("f", -3, "k"), -3);
  assert.match(caught(() => e.checkInt("f", 5, "k", 0, 4)).message, /k must be in \[0, 4\], got 5/);
  assert.ok(caught(() => e.checkSize("f", Infinity, "n")) instanceof RangeError);
  assert.ok(caught(() => e.checkSize("f", undefined, "n")) instanceof TypeError);

  assert.strictEqual(e.checkAxis("f", -1, 3), 2);
  assert.match(
    caught(() => e.checkAxis("f", 3, 3)).message,
    /^f: axis 3 is out of range for rank 3$/,
  );
  assert.ok(caught(() => e.checkAxis("f", "0", 3)) instanceof TypeError);

  assert.deepStrictEqual(e.checkInts("f", [2, 0, 3]), [2, 0, 3]);
  assert.match(
    caught(() => e.checkInts("f", [2.5])).message,
    /^f: shape must be an array of non-negative integers, got \[2.5\]$/,
  );
  assert.ok(caught(() => e.checkInts("f", [2, NaN])) instanceof RangeError);
  assert.ok(caught(() => e.checkInts("f", [2, "3"])) instanceof TypeError);
  assert.ok(caught(() => e.checkInts("f", 3)) instanceof TypeError);
  assert.deepStrictEqual(e.checkInts("f", [-1, 2], "newShape", -1), [-1, 2]);

  assert.strictEqual(e.checkOneOf("f", "cpu", ["cpu", "webgpu"], "device"), "cpu");
  assert.match(
    caught(() => e.checkOneOf("f", "tpu", ["cpu", "webgpu"], "device")).message,
    /^f: device must be one of "cpu", "webgpu", got a string "tpu"$/,
  );

  assert.deepStrictEqual(e.checkOptions("f", undefined, ["axis"]), {});
  const opts = { axis: 1 };
  assert.strictEqual(e.checkOptions("f", opts, ["axis", "keepdims"]), opts);
  const unknown = caught(() => e.checkOptions("f", { axes: 1 }, ["axis", "keepdims"]));
  assert.ok(unknown instanceof TypeError);
  assert.strictEqual(unknown.message, 'f: unknown option "axes" (known: axis, keepdims)');
  assert.ok(caught(() => e.checkOptions("f", [1], ["axis"])) instanceof TypeError);
  assert.ok(
    caught(() => e.checkOptions("f", null as unknown as object, ["axis"])) instanceof TypeError,
  );
  assert.ok(caught(() => e.checkOptions("f", x, ["axis"])) instanceof TypeError);

  assert.ok(caught(() => e.checkFunction("f", 3)) instanceof TypeError);
  assert.ok(caught(() => e.checkString("f", 3, "path")) instanceof TypeError);
  assert.ok(caught(() => e.checkBool("f", 1, "endpoint")) instanceof TypeError);
  assert.strictEqual(e.describe(x), "a Tensor float32[2,3]");
  assert.strictEqual(e.describe(Promise.resolve(1)), "a Promise (missing await?)");
});

Deno.test("errors mechanism: cheap on a hot path", () => {
  // The wrapper is a counter and a try/finally: 1e6 nested calls well under a second.
  const inner = e.publicOp("inner", (a: number) => a + 1);
  const outer2 = e.publicOp("outer2", (a: number) => inner(a));
  let acc = 0;
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) acc = outer2(acc);
  const ms = performance.now() - t0;
  assert.strictEqual(acc, 1_000_000);
  assert.ok(ms < 1000, `1e6 nested publicOp calls took ${ms.toFixed(0)} ms`);
});
