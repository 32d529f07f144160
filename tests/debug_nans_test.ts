/**
 * NaN hunting (`KILN_DEBUG_NANS` / `k.debugNans`): the error names the user-level op that first
 * produced a NaN (or, in `inf` mode, an infinity), the source line that called it and its
 * inputs; under jit, grad and scan, on every device. Expected lines come from the stack of the
 * statement that builds the op, values from IEEE arithmetic (log 0 = -inf, 0 * inf = NaN).
 */
import assert from "node:assert/strict";
import * as k from "../mod.ts";
import { DEVICES } from "./_util.ts";

/** `debug_nans_test.ts:<line>` of the caller's line (the statement that builds the op). */
function here(): string {
  const line = new Error().stack!.split("\n")[2];
  return /debug_nans_test\.ts:(\d+)/.exec(line)![0];
}

/** Runs `f` with NaN debugging in `mode`, restoring the previous mode. */
async function withNans<T>(mode: boolean | "inf", f: () => Promise<T>): Promise<T> {
  const prev = k.debugNans(mode);
  try {
    return await f();
  } finally {
    k.debugNans(prev);
  }
}

/** The FloatingPointError `p` rejects with. */
async function caught(p: () => Promise<unknown>): Promise<k.FloatingPointError> {
  try {
    await p();
  } catch (e) {
    assert.ok(e instanceof k.FloatingPointError, `expected FloatingPointError, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: "expected a FloatingPointError, nothing was thrown" });
}

for (const device of DEVICES) {
  const t = (data: number[]) => k.tensor(data, { device });

  Deno.test(`debugNans ${device}: 0 * log(0) is reported at the mul, with its line`, async () => {
    await withNans(true, async () => {
      const p = t([0.5, 0.5, 0]);
      let line = "";
      const e = await caught(async () => {
        const h = [p.mul(p.log()), line = here()][0] as k.Tensor;
        await h.sum().neg().data();
      });
      assert.equal(e.op, "mul");
      assert.equal(e.primitive, "mul");
      assert.equal(e.value, "NaN");
      assert.ok(e.site.includes(line), `${e.site} vs ${line}`);
      assert.match(e.message, /^mul: produced NaN at index \[2\] of its float32\[3\] output/);
      assert.match(
        e.message,
        /inputs float32\[3\], float32\[3\]; input values there: 0, -Infinity/,
      );
    });
  });

  Deno.test(`debugNans ${device}: inf mode names the log(0) itself`, async () => {
    await withNans("inf", async () => {
      const p = t([0.5, 0.5, 0]);
      let line = "";
      const e = await caught(async () => {
        const lp = [p.log(), line = here()][0] as k.Tensor;
        await p.mul(lp).sum().data();
      });
      assert.equal(e.op, "log");
      assert.equal(e.value, "-Infinity");
      assert.ok(e.site.includes(line));
      assert.match(e.message, /^log: produced -Infinity at index \[2\]/);
      assert.match(e.message, /input values there: 0\b/);
    });
  });

  Deno.test(`debugNans ${device}: the first op of a fused kernel in program order`, async () => {
    await withNans(true, async () => {
      const x = t([3, 1, 4]);
      let line = "";
      // sqrt(x - 2) is NaN at x = 1; log and exp of it stay NaN: all one kernel.
      const e = await caught(async () => {
        const r = [x.sub(2).sqrt(), line = here()][0] as k.Tensor;
        await r.log().exp().data();
      });
      assert.equal(e.op, "sqrt");
      assert.match(e.message, /index \[1\]/);
      assert.match(e.message, /input values there: -1/);
      assert.ok(e.site.includes(line));
      assert.match(e.message, /in kernel 0: .*sqrt.*log/);
    });
  });

  Deno.test(`debugNans ${device}: under jit, the line inside the jitted function`, async () => {
    await withNans(true, async () => {
      let line = "";
      const f = k.jit((x: k.Tensor) => {
        const y = [k.log(x.sub(1)), line = here()][0] as k.Tensor;
        return y.mul(2);
      });
      // Finite inputs: no error and the right values (log(x - 1) * 2).
      const ok = await f(t([2, 3])).data();
      assert.ok(Math.abs(ok[0]) < 1e-6 && Math.abs(ok[1] - 2 * Math.LN2) < 1e-5);
      const e = await caught(() => f(t([2, 0.5])).data());
      assert.equal(e.op, "log");
      assert.ok(e.site.includes(line));
      assert.match(e.message, /input values there: -0\.5/);
    });
  });

  Deno.test(`debugNans ${device}: under grad, the gradient of the op that caused it`, async () => {
    await withNans(true, async () => {
      let line = "";
      // d/dx of w * sqrt(x) at x = 0, w = 0 is 0 * (1 / (2 sqrt 0)) = 0 * inf = NaN, inside
      // sqrt's VJP. (w is data: a literal 0 may be folded away by a WGSL compiler.)
      const w = t([1, 0, 1]);
      const f = (x: k.Tensor) => ([k.sqrt(x), line = here()][0] as k.Tensor).mul(w).sum();
      for (const g of [k.grad(f), k.jit(k.grad(f))]) {
        const e = await caught(() => g(t([1, 0, 4])).data());
        assert.equal(e.op, "gradient of sqrt");
        assert.ok(e.site.includes(line));
        assert.match(e.message, /^gradient of sqrt: produced NaN at index \[1\]/);
      }
    });
  });

  Deno.test(`debugNans ${device}: under vmap, the op inside the mapped function`, async () => {
    await withNans(true, async () => {
      let line = "";
      const f = (x: k.Tensor) => ([k.log(x.sub(1)), line = here()][0] as k.Tensor).sum();
      const e = await caught(() => k.vmap(f)(k.tensor([[2, 3], [0.5, 4]], { device })).data());
      assert.equal(e.op, "log");
      assert.ok(e.site.includes(line));
      assert.match(e.message, /index \[1,0\]/);
      assert.match(e.message, /input values there: -0\.5/);
    });
  });

  Deno.test(`debugNans ${device}: a NaN inside a scan body`, async () => {
    await withNans(true, async () => {
      let line = "";
      const body = (c: k.Tensor, x: k.Tensor): [k.Tensor, k.Tensor] => {
        const n = [c.add(x).log(), line = here()][0] as k.Tensor;
        return [n, n];
      };
      // log(1 + 1) = 0.69, then log(0.69 - 3) is NaN at step 1.
      const e = await caught(async () => {
        const [c] = k.scan(body, k.tensor(1, { device }), t([1, -3, 2]));
        await c.data();
      });
      assert.equal(e.op, "log");
      assert.ok(e.site.includes(line));
      assert.match(e.message, /input values there: -2\.30685/);
    });
  });

  Deno.test(`debugNans ${device}: a NaN passed in as data is pointed out`, async () => {
    await withNans(true, async () => {
      const e = await caught(() => t([1, NaN]).add(1).data());
      assert.equal(e.op, "add");
      assert.match(e.message, /inputs float32\[2\], float32 1; input values there: NaN, 1/);
      assert.match(e.message, /note: input 0 already held NaN \(passed in as data/);
    });
  });

  Deno.test(`debugNans ${device}: off, NaNs flow through and nodes record nothing`, async () => {
    await withNans(false, async () => {
      const p = t([0, 1]);
      const h = p.mul(p.log());
      assert.equal(h.node.origin, undefined);
      const v = await h.data();
      assert.ok(Number.isNaN(v[0]) && v[1] === 0);
    });
    await withNans(true, async () => {
      const h = t([0, 1]).add(1);
      assert.equal(h.node.origin?.op, "add");
      // Integer outputs are not checked; finite float outputs pass with the same values.
      assert.deepEqual([...await h.data()], [1, 2]);
      const i = k.tensor([1, 2], { dtype: "int32", device }).mul(3);
      assert.deepEqual([...await i.data()], [3, 6]);
    });
  });
}

Deno.test("debugNans: switch and argument checks", () => {
  const prev = k.debugNans();
  assert.equal(k.debugNans(true), prev);
  assert.equal(k.debugNans("inf"), "nan");
  assert.equal(k.debugNans(false), "inf");
  assert.equal(k.debugNans(), false);
  k.debugNans(prev);
  assert.throws(() => k.debugNans("yes" as never), /^TypeError: debugNans: expected true/);
});

Deno.test("debugNans: KILN_DEBUG_NANS=1 is read at startup", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `import * as k from "${mod}";
console.log(k.debugNans());
const p = k.tensor([0, 1]);
try { await p.mul(p.log()).data(); console.log("no error"); }
catch (e) { console.log(e.name, e.op); }`;
  for (const [env, want] of [["1", "nan\nFloatingPointError mul"], ["0", "false\nno error"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      env: { KILN_DEBUG_NANS: env, KILN_DEVICE: "cpu" },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), want);
  }
});
