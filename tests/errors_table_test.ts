/**
 * Hand-picked misuse, one row each (issue 17): every example the issue lists, the error class
 * and the user-level name each must report, and the rule for user code under transforms (a
 * jitted/vmapped/differentiated/looped function's own ops name themselves, never the
 * transform). Property coverage of the whole surface is in api_surface_test.ts.
 */
import assert from "node:assert";
import * as k from "../mod.ts";

type Cls = typeof TypeError | typeof RangeError | typeof k.KilnError;

interface Row {
  /** What the user did. */
  what: string;
  call: () => unknown;
  cls: Cls;
  /** The message must start with `${prefix}: `. */
  prefix: string;
  /** Fragments the message must contain (argument names, shapes, dtypes). */
  has?: string[];
}

const z = (shape: number[]) => k.zeros(shape);
const f32 = () => k.tensor([1.5, 2]);
const key = () => k.random.key(0);

const ROWS: Row[] = [
  // --- The examples: delegation keeps the user-level name.
  {
    what: "zeros([2.5])",
    call: () => k.zeros([2.5]),
    cls: RangeError,
    prefix: "zeros",
    has: ["[2.5]"],
  },
  { what: "ones([-1])", call: () => k.ones([-1]), cls: RangeError, prefix: "ones" },
  {
    what: 'clip(x, "0", 1)',
    call: () => k.clip(f32(), "0" as unknown as number, 1),
    cls: TypeError,
    prefix: "clip",
    has: ["min", "string"],
  },
  {
    what: "bitwiseAnd on floats",
    call: () => k.bitwiseAnd(f32(), f32()),
    cls: TypeError,
    prefix: "bitwiseAnd",
    has: ["int32", "float32"],
  },
  {
    what: "shiftLeft on floats",
    call: () => k.shiftLeft(f32(), 1),
    cls: TypeError,
    prefix: "shiftLeft",
  },
  {
    what: "variance with a bad axis",
    call: () => k.variance(z([2, 3]), { axis: 5 }),
    cls: RangeError,
    prefix: "variance",
    has: ["axis 5", "rank 2"],
  },
  {
    what: "std with a bad axis",
    call: () => k.std(z([2, 3]), { axis: -3 }),
    cls: RangeError,
    prefix: "std",
  },
  {
    what: "dot with mismatched shapes",
    call: () => k.dot(z([2, 3]), z([4, 5])),
    cls: k.KilnError,
    prefix: "dot",
    has: ["[2,3]", "[4,5]", "3", "4"],
  },
  {
    what: "dot of N-d arrays, mismatched",
    call: () => k.dot(z([2, 2, 3]), z([4, 5, 6])),
    cls: k.KilnError,
    prefix: "dot",
  },
  {
    what: "foriLoop whose body changes the carry's shape",
    call: () => k.foriLoop(0, 3, (_i, x: k.Tensor) => k.concatenate([x, x]), z([2])),
    cls: k.KilnError,
    prefix: "foriLoop",
  },
  {
    what: "foriLoop with a string bound",
    call: () => k.foriLoop(0, "3" as unknown as number, (_i, x) => x, z([2])),
    cls: TypeError,
    prefix: "foriLoop",
    has: ["hi"],
  },
  {
    what: "foriLoop with a non-function body",
    call: () => k.foriLoop(0, 3, 5 as unknown as () => k.Tensor, z([2])),
    cls: TypeError,
    prefix: "foriLoop",
    has: ["body"],
  },
  {
    what: "adam update with grads of another structure",
    call: () => {
      const opt = k.optim.adam(1e-3);
      const params = { w: z([2]) };
      return opt.update({ w: z([2]), extra: z([1]) }, opt.init(params), params);
    },
    cls: k.KilnError,
    prefix: "optim.adam",
  },
  {
    what: "sgd update with a non-tensor leaf",
    call: () => {
      const opt = k.optim.sgd(0.1, { momentum: 0.9 });
      const params = { w: z([2]) };
      return opt.update({ w: "g" }, opt.init(params), params);
    },
    cls: TypeError,
    prefix: "optim.sgd",
    has: ["Tensor", "string"],
  },
  {
    what: "adam with a negative learning rate",
    call: () => k.optim.adam(-1),
    cls: RangeError,
    prefix: "optim.adam",
  },
  {
    what: "adam with torch's option name",
    call: () => k.optim.adam(1e-3, { betas: [0.9, 0.99] } as unknown as k.optim.AdamOptions),
    cls: TypeError,
    prefix: "optim.adam",
    has: ['"betas"', "b1", "b2"],
  },
  {
    what: "rmsprop with a string momentum",
    call: () => k.optim.rmsprop(0.01, { momentum: "0.9" as unknown as number }),
    cls: TypeError,
    prefix: "optim.rmsprop",
  },
  {
    what: "cosineDecay without options",
    call: () => (k.optim.cosineDecay as (o?: unknown) => unknown)(),
    cls: TypeError,
    prefix: "optim.cosineDecay",
  },
  // --- Wrong input that used to be accepted silently.
  {
    what: "tensor whose data length mismatches its shape",
    call: () => k.tensor([1, 2, 3], { shape: [2, 2] }),
    cls: k.KilnError,
    prefix: "tensor",
    has: ["[2,2]", "4", "3"],
  },
  {
    what: "arange with a NaN bound",
    call: () => k.arange(0, NaN),
    cls: RangeError,
    prefix: "arange",
    has: ["stop", "NaN"],
  },
  { what: "arange(NaN)", call: () => k.arange(NaN), cls: RangeError, prefix: "arange" },
  {
    what: "arange with an infinite bound",
    call: () => k.arange(Infinity),
    cls: RangeError,
    prefix: "arange",
  },
  {
    what: "astype to an unknown dtype",
    call: () => k.astype(f32(), "float8" as k.DType),
    cls: TypeError,
    prefix: "astype",
    has: ['"float8"', "float32"],
  },
  {
    what: "method astype to an unknown dtype",
    call: () => f32().astype("double" as k.DType),
    cls: TypeError,
    prefix: "astype",
  },
  {
    what: "pad that crops below zero",
    call: () => k.pad(z([3]), [[-2, -2]]),
    cls: RangeError,
    prefix: "pad",
    has: ["[-2, -2]", "3"],
  },
  // --- Wrong kinds never reach deep code as raw JavaScript errors.
  {
    what: "reshape to a string",
    call: () => k.reshape(z([2, 3]), "6" as unknown as number[]),
    cls: TypeError,
    prefix: "reshape",
    has: ["shape"],
  },
  {
    what: "sum with a misspelt option",
    call: () => k.sum(z([2]), { axes: 0 } as k.ReduceOptions),
    cls: TypeError,
    prefix: "sum",
    has: ['"axes"', "axis", "keepdims"],
  },
  {
    what: "concatenate of a non-array",
    call: () => k.concatenate(z([2]) as unknown as k.Tensor[]),
    cls: TypeError,
    prefix: "concatenate",
  },
  { what: "stack of nothing", call: () => k.stack([]), cls: RangeError, prefix: "stack" },
  {
    what: "einsum with a number for subscripts",
    call: () => k.einsum(3 as unknown as string, z([2])),
    cls: TypeError,
    prefix: "einsum",
  },
  {
    what: "take with fractional indices",
    call: () => k.take(z([4]), [0.5]),
    cls: RangeError,
    prefix: "take",
  },
  {
    what: "slice with a non-array spec",
    call: () => k.slice(z([4]), [5] as unknown as k.SliceSpec[]),
    cls: TypeError,
    prefix: "slice",
  },
  {
    what: "split into 0 sections",
    call: () => k.split(z([4]), 0),
    cls: RangeError,
    prefix: "split",
  },
  {
    what: "devicePut to an unknown device",
    call: () => k.devicePut(z([2]), "tpu"),
    cls: TypeError,
    prefix: "devicePut",
    has: ['"tpu"', "cpu"],
  },
  {
    what: "zeros on an unknown device",
    call: () => k.zeros([2], { device: "cuda" }),
    cls: TypeError,
    prefix: "zeros",
    has: ['"cuda"'],
  },
  {
    what: "full with a string value",
    call: () => k.full([2], "1" as unknown as number),
    cls: TypeError,
    prefix: "full",
  },
  {
    what: "linspace with a fractional count",
    call: () => k.linspace(0, 1, 2.5),
    cls: RangeError,
    prefix: "linspace",
  },
  { what: "eye with a negative size", call: () => k.eye(-2), cls: RangeError, prefix: "eye" },
  {
    what: "oneHot with n = 0",
    call: () => k.oneHot(k.tensor([0], { dtype: "int32" }), 0),
    cls: RangeError,
    prefix: "oneHot",
  },
  {
    what: "matmul of 0-d tensors (wrong rank)",
    call: () => k.matmul(z([]), z([3])),
    cls: k.KilnError,
    prefix: "matmul",
  },
  {
    what: "realize of a non-tensor",
    call: () => k.realize("x" as unknown as k.Tensor),
    cls: TypeError,
    prefix: "realize",
  },
  {
    what: "promoteTypes with an unknown dtype",
    call: () => k.promoteTypes("int8" as k.DType, "float32"),
    cls: TypeError,
    prefix: "promoteTypes",
  },
  // --- Transforms check their own arguments.
  {
    what: "jit of a non-function",
    call: () => k.jit(3 as unknown as () => k.Tensor),
    cls: TypeError,
    prefix: "jit",
  },
  {
    what: "jit with a misspelt option",
    call: () => k.jit((x: k.Tensor) => x, { static: [0] } as k.JitOptions),
    cls: TypeError,
    prefix: "jit",
    has: ['"static"', "staticArgnums"],
  },
  {
    what: "grad with a string argnums",
    call: () => k.grad((x: k.Tensor) => x.sum(), { argnums: "0" as unknown as number }),
    cls: TypeError,
    prefix: "grad",
  },
  {
    what: "vmap with a negative axisSize",
    call: () => k.vmap((x: k.Tensor) => x, { axisSize: -1 }),
    cls: RangeError,
    prefix: "vmap",
  },
  {
    what: "scan of a non-function",
    call: () => k.scan(null as unknown as () => [k.Tensor, k.Tensor], z([]), z([3])),
    cls: TypeError,
    prefix: "scan",
  },
  {
    what: "cond with a string predicate",
    call: () => k.cond("yes" as unknown as boolean, () => z([]), () => z([])),
    cls: TypeError,
    prefix: "cond",
  },
  {
    what: "whileLoop with a non-function condFn",
    call: () => k.whileLoop(1 as unknown as () => k.Tensor, (x) => x, z([])),
    cls: TypeError,
    prefix: "whileLoop",
    has: ["condFn"],
  },
  {
    what: "tree.map of a non-function",
    call: () => k.tree.map(1 as unknown as (x: number) => number, [1]),
    cls: TypeError,
    prefix: "tree.map",
  },
  {
    what: "tree.unflatten of a non-TreeDef",
    call: () => k.tree.unflatten({} as k.tree.TreeDef, []),
    cls: TypeError,
    prefix: "tree.unflatten",
  },
  {
    what: "customVjp without bwd",
    call: () =>
      k.customVjp(
        (x: k.Tensor) => x,
        { fwd: (x: k.Tensor) => [x, null] } as unknown as k.CustomVjpRules,
      ),
    cls: TypeError,
    prefix: "customVjp",
    has: ["bwd"],
  },
  // --- random, nn, data name their namespace.
  {
    what: "random.normal with a string key",
    call: () => k.random.normal("key" as unknown as k.Tensor, [2]),
    cls: TypeError,
    prefix: "random.normal",
    has: ["key", "int32"],
  },
  {
    what: "random.uniform with a misspelt option",
    call: () => k.random.uniform(key(), [2], { min: 0 } as k.random.UniformOptions),
    cls: TypeError,
    prefix: "random.uniform",
    has: ['"min"', "minval"],
  },
  {
    what: "random.split into -1 keys",
    call: () => k.random.split(key(), -1),
    cls: RangeError,
    prefix: "random.split",
  },
  {
    what: "nn.mse of mismatched shapes",
    call: () => k.nn.mse(z([2, 3]), z([3, 2])),
    cls: k.KilnError,
    prefix: "nn.mse",
    has: ["[2, 3]", "[3, 2]"],
  },
  {
    what: "nn.softmaxCrossEntropy with a bad reduction",
    call: () =>
      k.nn.softmaxCrossEntropy(z([2, 3]), k.tensor([0, 1], { dtype: "int32" }), {
        reduction: "avg" as k.nn.Reduction,
      }),
    cls: TypeError,
    prefix: "nn.softmaxCrossEntropy",
    has: ["reduction"],
  },
  {
    what: "nn.glorotUniform with a fractional shape",
    call: () => k.nn.glorotUniform(key(), [2.5, 3]),
    cls: RangeError,
    prefix: "nn.glorotUniform",
  },
  {
    what: "nn.linear.apply of a wrong input width",
    call: () => k.nn.linear.apply(k.nn.linear.init(key(), 3, 2), z([4, 5])),
    cls: k.KilnError,
    prefix: "nn.linear.apply",
    has: ["[4, 5]"],
  },
  {
    what: "nn.dropout with rate 1.5",
    call: () => k.nn.dropout(key(), z([2]), 1.5),
    cls: RangeError,
    prefix: "nn.dropout",
  },
  {
    what: "nn.gelu with an unknown option",
    call: () => k.nn.gelu(z([2]), { tanh: true } as k.nn.GeluOptions),
    cls: TypeError,
    prefix: "nn.gelu",
  },
  {
    what: "data.batches with batchSize 0",
    call: () => k.data.batches({ x: z([4, 2]) }, { batchSize: 0 }),
    cls: RangeError,
    prefix: "data.batches",
  },
  {
    what: "data.numBatches with a string",
    call: () => k.data.numBatches("10" as unknown as number, 2),
    cls: TypeError,
    prefix: "data.numBatches",
  },
  {
    what: "data.parseCsv with a misspelt option",
    call: () => k.data.parseCsv("a\n1\n", { sep: ";" } as k.data.CsvOptions),
    cls: TypeError,
    prefix: "data.parseCsv",
  },
  // --- User code inside transforms: each op names itself, not the transform.
  {
    what: "matmul mismatch inside jit",
    call: () => k.jit((x: k.Tensor) => k.matmul(x, z([5, 2])))(z([2, 3])),
    cls: k.KilnError,
    prefix: "matmul",
    has: ["[2,3]", "[5,2]"],
  },
  {
    what: "clip misuse inside jit",
    call: () => k.jit((x: k.Tensor) => k.clip(x, "0" as unknown as number))(z([2])),
    cls: TypeError,
    prefix: "clip",
  },
  {
    what: "bad axis inside vmap",
    call: () => k.vmap((x: k.Tensor) => k.sum(x, { axis: 3 }))(z([4, 2])),
    cls: RangeError,
    prefix: "sum",
  },
  {
    what: "dot mismatch inside grad",
    call: () => k.grad((w: k.Tensor) => k.dot(w, z([4])))(z([3])),
    cls: k.KilnError,
    prefix: "dot",
  },
  {
    what: "add mismatch inside jit(grad(f))",
    call: () => k.jit(k.grad((w: k.Tensor) => k.sum(k.add(w, z([4])))))(z([3])),
    cls: k.KilnError,
    prefix: "add",
  },
  {
    what: "transpose misuse inside vmap(jit(f))",
    call: () => k.vmap(k.jit((x: k.Tensor) => k.transpose(x, [0, 0])))(z([3, 2, 2])),
    cls: RangeError,
    prefix: "transpose",
  },
  {
    what: "sum misuse inside grad of a scan",
    call: () =>
      k.grad((h: k.Tensor) =>
        k.sum(k.scan((c: k.Tensor, x: k.Tensor) => [k.sum(c, { axis: 2 }), x], h, z([3]))[0])
      )(z([2])),
    cls: RangeError,
    prefix: "sum",
  },
  {
    what: "reshape misuse inside a scan body",
    call: () => k.scan((c: k.Tensor, x: k.Tensor) => [c, k.reshape(x, [7])], z([]), z([3, 2])),
    cls: k.KilnError,
    prefix: "reshape",
  },
  {
    what: "reshape misuse inside a foriLoop body",
    call: () => k.foriLoop(0, 2, (_i, x: k.Tensor) => k.reshape(x, [5]), z([2])),
    cls: k.KilnError,
    prefix: "reshape",
  },
  {
    what: "user op inside cond's branch",
    call: () =>
      k.cond(true, (x: k.Tensor) => k.transpose(x, [0, 0]), (x: k.Tensor) => x, z([2, 2])),
    cls: RangeError,
    prefix: "transpose",
  },
  {
    what: "user op inside tree.map",
    call: () => k.tree.map((x: k.Tensor) => k.reshape(x, [7]), { a: z([2]) }),
    cls: k.KilnError,
    prefix: "reshape",
  },
  {
    what: "user op inside hessian",
    call: () => k.hessian((x: k.Tensor) => k.sum(k.mul(x, z([5]))))(z([3])),
    cls: k.KilnError,
    prefix: "mul",
  },
  {
    what: "user op inside a learning-rate schedule",
    call: () => {
      const opt = k.optim.sgd((step) => k.reshape(k.mul(step, 0.1), [3]));
      const params = { w: z([2]) };
      return opt.update({ w: z([2]) }, opt.init(params), params);
    },
    cls: k.KilnError,
    prefix: "reshape",
  },
];

for (const row of ROWS) {
  Deno.test(`errors table: ${row.what}`, async () => {
    let err: unknown;
    try {
      await row.call();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error, `${row.what}: no error`);
    assert.ok(
      err instanceof row.cls,
      `${row.what}: ${err.name} is not ${row.cls.name}: ${err.message}`,
    );
    assert.ok(
      err.message.startsWith(`${row.prefix}: `),
      `${row.what}: "${err.message}" does not start with "${row.prefix}: "`,
    );
    for (const h of row.has ?? []) {
      assert.ok(
        err.message.includes(h),
        `${row.what}: "${err.message}" lacks ${JSON.stringify(h)}`,
      );
    }
    assert.strictEqual(k.errors.currentOp(), undefined, "the op context unwound");
  });
}

Deno.test("errors table: KilnError carries its op and prints its class", () => {
  try {
    k.add(z([2]), z([3]));
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof k.KilnError);
    assert.strictEqual(e.op, "add");
    assert.strictEqual(e.name, "KilnError");
  }
});
