/**
 * Bad input fails eagerly (when the op is called, not when values are read) with a message that
 * names the op and the offending shapes / values.
 */
import assert from "node:assert";
import * as k from "../mod.ts";
import { DEVICES, hasFloat64, throwsWith } from "./_util.ts";

for (const device of DEVICES) {
  const z = (shape: number[]) => k.zeros(shape, { device });

  Deno.test(`errors: matmul inner dimension mismatch [${device}]`, () => {
    throwsWith(() => k.matmul(z([32, 784]), z([256, 10])), ["matmul", "[32,784]", "784", "256"]);
    assert.throws(() => k.matmul(z([32, 784]), z([256, 10])), /matmul.*\[256,10\]/);
    throwsWith(() => k.matmul(z([3]), z([4])), ["matmul", "3", "4"]);
    throwsWith(() => k.matmul(z([2, 3, 4]), z([5, 4, 2])), ["matmul", "[2]", "[5]"]);
    throwsWith(() => k.matmul(z([]), z([3])), ["matmul", "at least 1 dimension"]);
  });

  Deno.test(`errors: broadcasting names both shapes [${device}]`, () => {
    throwsWith(() => k.add(z([2, 3]), z([4])), ["add", "[2,3]", "[4]"]);
    assert.throws(() => k.mul(z([5, 2]), z([3, 1])), /mul: .*\[5,2\].*\[3,1\]/);
    throwsWith(() => k.where(z([2]).equal(0), z([3]), 1), ["where", "[2]", "[3]"]);
    throwsWith(() => k.broadcastTo(z([3]), [2, 4]), ["broadcastTo", "[3]", "[2,4]"]);
  });

  Deno.test(`errors: reshape to a different size [${device}]`, () => {
    throwsWith(() => k.reshape(z([2, 3]), [4]), ["reshape", "[2,3]", "[4]", "6"]);
    throwsWith(() => k.reshape(z([2, 3]), [4, -1]), ["reshape", "[2,3]", "[4,-1]"]);
    throwsWith(() => k.reshape(z([2, 3]), [-1, -1]), ["reshape", "[-1,-1]"]);
  });

  Deno.test(`errors: axes out of range [${device}]`, () => {
    throwsWith(() => k.sum(z([2, 3]), { axis: 5 }), ["sum", "axis", "5", "rank 2"]);
    throwsWith(() => k.max(z([2, 3]), { axis: -3 }), ["max", "axis", "-3"]);
    throwsWith(() => k.softmax(z([2, 3]), { axis: 2 }), ["softmax", "axis", "2"]);
    throwsWith(() => k.sum(z([2, 3]), { axis: [0, 0] }), ["sum", "repeated axis"]);
    throwsWith(() => k.mean(z([2, 3]), { axis: 1.5 }), ["mean", "axis", "1.5"]);
  });

  // Regression: `normAxis` accepted axis 0 for a 0-d tensor, so reducing a scalar over "axis 0"
  // silently reduces over nothing: sum(5, {axis: 0}) is 0, max is -Infinity, mean NaN, prod 1,
  // softmax Infinity. numpy/JAX raise "axis 0 is out of bounds for array of dimension 0".
  // Accepted here: an error naming the axis, or (lenient) the value unchanged.
  Deno.test({
    name: `errors: axis 0 on a 0-d tensor [${device}]`,
    fn: async () => {
      const s = k.tensor(5, { device, dtype: hasFloat64(device) ? "float64" : "float32" });
      const cases: [string, () => k.Tensor, number][] = [
        ["sum", () => k.sum(s, { axis: 0 }), 5],
        ["max", () => k.max(s, { axis: 0 }), 5],
        ["mean", () => k.mean(s, { axis: 0 }), 5],
        ["prod", () => k.prod(s, { axis: 0 }), 5],
        ["softmax", () => k.softmax(s, { axis: 0 }), 1],
      ];
      for (const [op, fn, lenient] of cases) {
        let t: k.Tensor;
        try {
          t = fn();
        } catch (e) {
          assert.match((e as Error).message, new RegExp(`${op}.*axis 0`));
          continue;
        }
        const got = await t.item();
        assert.strictEqual(got, lenient, `${op}(0-d, {axis: 0}) gave ${got}, expected ${lenient}`);
      }
    },
  });

  Deno.test(`errors: transpose with a bad permutation [${device}]`, () => {
    throwsWith(() => k.transpose(z([2, 3]), [0, 0]), ["transpose", "[0,0]", "[2,3]"]);
    throwsWith(() => k.transpose(z([2, 3, 4]), [1, 0]), ["transpose", "[1,0]", "[2,3,4]"]);
    throwsWith(() => k.transpose(z([2, 3]), [0, 2]), ["transpose", "2"]);
  });

  Deno.test(`errors: take with non-int32 indices [${device}]`, () => {
    const x = z([4, 5]);
    throwsWith(() => k.take(x, k.tensor([0, 1], { device }), { axis: 0 }), [
      "take",
      "int32",
      "float32",
    ]);
    throwsWith(() => k.take(x, k.tensor([true], { device })), ["take", "int32", "bool"]);
    throwsWith(() => k.take(x, [0], { axis: 2 }), ["take", "axis", "2"]);
  });

  Deno.test(`errors: ragged nested arrays in tensor() [${device}]`, () => {
    throwsWith(() => k.tensor([[1, 2], [3]], { device }), ["tensor", "ragged"]);
    throwsWith(() => k.tensor([[1, 2], 3] as unknown as number[][], { device }), [
      "tensor",
      "ragged",
    ]);
    throwsWith(() => k.tensor([1, [2]] as unknown as number[], { device }), ["tensor", "ragged"]);
    throwsWith(() => k.tensor(new Float32Array(5), { device, shape: [2, 3] }), [
      "tensor",
      "[2,3]",
      "5",
    ]);
    throwsWith(() => k.tensor([1], { device, dtype: "bfloat16" as "float32" }), [
      "tensor",
      "bfloat16",
    ]);
  });

  Deno.test(`errors: einsum with a wrong operand count or subscripts [${device}]`, () => {
    throwsWith(() => k.einsum("ij,jk->ik", z([2, 3])), ["einsum", "ij,jk->ik", "2", "1"]);
    throwsWith(() => k.einsum("ij->ij", z([2, 3]), z([3])), ["einsum", "1", "2"]);
    throwsWith(() => k.einsum("ijk->i", z([2, 3])), ["einsum", "[2,3]", "ijk"]);
    throwsWith(() => k.einsum("ij,jk->ik", z([2, 3]), z([4, 5])), ["einsum", "j", "3", "4"]);
    throwsWith(() => k.einsum("ij->iz", z([2, 3])), ["einsum", "z"]);
  });

  Deno.test(`errors: concatenate and stack with mismatched shapes [${device}]`, () => {
    throwsWith(() => k.concatenate([z([2, 3]), z([2, 4])]), ["concatenate", "[2,3]", "[2,4]"]);
    throwsWith(() => k.concatenate([z([2, 3]), z([2, 3, 1])], { axis: 1 }), [
      "concatenate",
      "[2,3,1]",
    ]);
    throwsWith(() => k.concatenate([]), ["concatenate"]);
    throwsWith(() => k.stack([z([2]), z([3])]), ["stack", "[2]", "[3]"]);
    throwsWith(() => k.split(z([5]), 2), ["split", "[5]", "2"]);
  });

  Deno.test(`errors: squeeze on an axis that is not 1 [${device}]`, () => {
    throwsWith(() => k.squeeze(z([2, 1]), 0), ["squeeze", "axis 0", "[2,1]", "2"]);
  });

  Deno.test(`errors: oneHot with non-int labels [${device}]`, () => {
    throwsWith(() => k.oneHot(k.tensor([0, 1], { device }), 3), ["oneHot", "int32", "float32"]);
    throwsWith(() => k.oneHot(k.tensor([0, 1], { device, dtype: "int32" }), 0), [
      "oneHot",
      "n",
      "0",
    ]);
  });

  Deno.test(`errors: slice, pad, arange, repeat arguments [${device}]`, () => {
    throwsWith(() => k.slice(z([4]), [[0, 4, 0]]), ["slice", "step", "0"]);
    throwsWith(() => k.slice(z([4]), [[0, 4], [0, 1]]), ["slice", "[4]"]);
    throwsWith(() => k.pad(z([4]), [[0.5, 1]]), ["pad", "integers"]);
    throwsWith(() => k.arange(0, 5, 0), ["arange", "step", "0"]);
    throwsWith(() => k.repeat(z([4]), -1), ["repeat", "-1"]);
    throwsWith(() => k.zeros([2, -1], { device }), ["zeros", "[2,-1]"]);
    throwsWith(() => k.add(z([2]), [1, 2] as unknown as number), ["add", "array"]);
  });

  Deno.test(`errors: item() on a multi-element tensor [${device}]`, async () => {
    await assert.rejects(() => z([2, 2]).item(), /item.*\[2,2\].*4 elements/);
    await assert.rejects(() => z([0]).item(), /item.*\[0\]/);
  });
}
