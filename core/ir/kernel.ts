/**
 * Kernel IR: a scoped SSA program that backends render to source.
 *
 * A kernel computes one output buffer. Its body is a tree of scopes: the root (run once), the
 * output loop nest (one iteration per output element), and one loop nest per reduction.
 * Instructions are hash-consed and placed in the innermost scope their arguments need, so
 * loop-invariant work (a bias load, a row maximum) is hoisted automatically and computed once.
 * Integer index arithmetic is simplified with value ranges and affine forms, so chains of
 * reshapes/permutes collapse to plain strided addressing.
 * @module
 */
import { type DType, roundTo } from "../dtype.ts";
import { evaluate, isElementwiseName } from "./evaluate.ts";
import type { ElementwiseName } from "./elementwise.ts";

/** One SSA value. `op` is a primitive name or one of `const`, `var`, `load`, `reduce`. */
export interface Instr {
  readonly id: number;
  readonly op: string;
  readonly args: readonly Instr[];
  readonly arg: unknown;
  readonly dtype: DType;
  readonly scope: Scope;
  /** Inclusive integer range, when known (index arithmetic). */
  readonly range?: readonly [number, number];
}

/** A loop nest: the output loop or a reduction. */
export interface Loop {
  readonly kind: "loop";
  /** One scope per axis, each nested in the previous: work is hoisted to the outermost axis
   * it depends on (a row's max is loaded once per row, not once per element). */
  readonly scopes: readonly Scope[];
  /** The innermost scope. */
  readonly body: Scope;
  readonly vars: Instr[];
  readonly sizes: readonly number[];
  /** Reduction combining op (`sum`, `max`, `min`, `prod`); absent for the output loop. */
  readonly reduceOp?: string;
  /** The per-iteration value that is reduced (reductions only). */
  value?: Instr;
  /** The reduced result, defined by this loop in its parent scope (reductions only). */
  readonly result?: Instr;
}

/** A block of instructions and nested loops, in execution order. */
export interface Scope {
  readonly id: number;
  readonly parent: Scope | null;
  readonly depth: number;
  readonly items: (Instr | Loop)[];
}

/** A buffer a kernel reads. */
export interface KernelInput {
  readonly dtype: DType;
  readonly size: number;
}

/**
 * The second pass of a scatter-add kernel: after the output loop has stored `value` (the copy
 * of `x`), `loop` runs once per update and adds `value` at flat output element `offset`,
 * skipping it where `valid` is false (out-of-range indices in `drop` mode).
 */
export interface ScatterIR {
  readonly loop: Loop;
  readonly offset: Instr;
  readonly value: Instr;
  readonly valid?: Instr;
}

/** A compiled-to-IR kernel, ready for a backend to render. */
export interface KernelIR {
  readonly root: Scope;
  readonly out: Loop;
  readonly value: Instr;
  readonly inputs: readonly KernelInput[];
  readonly outShape: readonly number[];
  readonly outDtype: DType;
  /** Scatter-add kernels only: the accumulation pass (data-dependent output positions). */
  readonly scatter?: ScatterIR;
}

const INT_OPS: ReadonlySet<string> = new Set<ElementwiseName>([
  "add",
  "sub",
  "mul",
  "idiv",
  "mod",
  "neg",
]);

/** Builds kernel IR with CSE, scope placement and integer simplification. */
export class KernelBuilder {
  readonly root: Scope;
  readonly out: Loop;
  readonly inputs: KernelInput[] = [];
  /** A loop nest run after the output loop (scatter kernels: one iteration per update). */
  second: Loop | undefined;
  private nextId = 0;
  private memo = new Map<string, Instr>();

  constructor(readonly outShape: readonly number[]) {
    this.root = { id: this.nextId++, parent: null, depth: 0, items: [] };
    this.out = this.openLoop(this.root, outShape);
  }

  /** Closes the kernel: the output loop runs after everything hoisted to the root. */
  finish(): void {
    this.root.items.push(this.out);
    if (this.second) this.root.items.push(this.second);
  }

  /** Opens the loop nest that runs after the output loop (placed by `finish`). */
  secondLoop(sizes: readonly number[]): Loop {
    this.second = this.openLoop(this.root, sizes);
    return this.second;
  }

  private openLoop(parent: Scope, sizes: readonly number[], reduceOp?: string): Loop {
    const scopes: Scope[] = [];
    let up = parent;
    for (let i = 0; i < Math.max(sizes.length, 1); i++) {
      up = { id: this.nextId++, parent: up, depth: up.depth + 1, items: [] };
      scopes.push(up);
    }
    // A size-1 axis has the single index 0: a constant, so it simplifies away.
    const vars = sizes.map((n, i) =>
      n === 1 ? this.const(0) : this.make("var", [], i, "int32", scopes[i], [0, n - 1])
    );
    return { kind: "loop", scopes, body: up, vars, sizes, reduceOp };
  }

  private make(
    op: string,
    args: readonly Instr[],
    arg: unknown,
    dtype: DType,
    scope: Scope,
    range?: readonly [number, number],
  ): Instr {
    const ins: Instr = { id: this.nextId++, op, args, arg, dtype, scope, range };
    scope.items.push(ins);
    return ins;
  }

  /** The innermost scope among `args` (they always lie on one chain). */
  deepest(args: readonly Instr[], base: Scope = this.root): Scope {
    let s = base;
    for (const a of args) if (a.scope.depth > s.depth) s = a.scope;
    return s;
  }

  /** An integer or float constant. */
  const(value: number, dtype: DType = "int32"): Instr {
    const key = `c|${dtype}|${Object.is(value, -0) ? "-0" : value}`;
    let ins = this.memo.get(key);
    if (!ins) {
      ins = this.make("const", [], value, dtype, this.root, [value, value]);
      this.memo.set(key, ins);
    }
    return ins;
  }

  /** Registers an input buffer and returns its slot. */
  input(dtype: DType, size: number): number {
    this.inputs.push({ dtype, size });
    return this.inputs.length - 1;
  }

  /** Reads input `slot` at integer `index`. */
  load(slot: number, index: Instr): Instr {
    const d = this.inputs[slot].dtype;
    return this.op("load", [index], d, slot);
  }

  /** A hash-consed operation; integer arithmetic is simplified on the way. */
  op(op: string, args: readonly Instr[], dtype: DType, arg?: unknown): Instr {
    // Identities in a kernel (a same-dtype cast wrapping a differentiated input, stopGradient)
    // are their operand, so a contraction under `grad` is still `load * load`.
    if ((op === "cast" && args[0].dtype === dtype) || op === "stopGradient") return args[0];
    if (dtype === "int32" && INT_OPS.has(op)) {
      const s = this.simplifyInt(op, args);
      if (s) return s;
    }
    if (op === "where" && args[0].op === "const") return args[0].arg ? args[1] : args[2];
    if (args.length && op !== "load" && args.every((a) => a.op === "const")) {
      const v = foldConst(op, args, dtype, arg);
      if (v !== undefined) return this.const(v, dtype);
    }
    const key = `${op}|${dtype}|${arg === undefined ? "" : JSON.stringify(arg)}|${
      args.map((a) => a.id).join(",")
    }`;
    let ins = this.memo.get(key);
    if (!ins) {
      ins = this.make(op, args, arg, dtype, this.deepest(args), rangeOf(op, args));
      this.memo.set(key, ins);
    }
    return ins;
  }

  /** A reduction loop placed under `parent`; `body` maps loop variables to the value. */
  reduce(
    reduceOp: string,
    sizes: readonly number[],
    dtype: DType,
    parent: Scope,
    body: (vars: Instr[]) => Instr,
  ): Instr {
    const loop = this.openLoop(parent, sizes, reduceOp);
    loop.value = body(loop.vars);
    const result: Instr = {
      id: this.nextId++,
      op: "reduce",
      args: [],
      arg: reduceOp,
      dtype,
      scope: parent,
    };
    (loop as { result?: Instr }).result = result;
    parent.items.push(loop);
    return result;
  }

  /** Integer helpers used by movement-op index rules. */
  add(a: Instr, b: Instr): Instr {
    return this.op("add", [a, b], "int32");
  }
  mul(a: Instr, c: number): Instr {
    return this.op("mul", [a, this.const(c)], "int32");
  }
  addc(a: Instr, c: number): Instr {
    return this.op("add", [a, this.const(c)], "int32");
  }
  idiv(a: Instr, c: number): Instr {
    return this.op("idiv", [a, this.const(c)], "int32");
  }
  mod(a: Instr, c: number): Instr {
    return this.op("mod", [a, this.const(c)], "int32");
  }

  private simplifyInt(op: string, args: readonly Instr[]): Instr | undefined {
    const [a, b] = args;
    const ca = a.op === "const" ? (a.arg as number) : undefined;
    const cb = b?.op === "const" ? (b.arg as number) : undefined;
    if (ca !== undefined && (b === undefined || cb !== undefined)) {
      const vals = cb === undefined ? [ca] : [ca, cb];
      return this.const(evaluate(op as ElementwiseName, vals, "int32", "int32"));
    }
    switch (op) {
      case "add":
        if (ca === 0) return b;
        if (cb === 0) return a;
        return this.recombine(a, b);
      case "sub":
        if (cb === 0) return a;
        if (a === b) return this.const(0);
        break;
      case "mul":
        if (ca === 1) return b;
        if (cb === 1) return a;
        if (ca === 0 || cb === 0) return this.const(0);
        if (ca !== undefined) return this.op("mul", [b, a], "int32");
        break;
      case "idiv":
      case "mod": {
        if (cb === undefined || cb <= 0) break;
        if (cb === 1) return op === "idiv" ? a : this.const(0);
        const lin = linearForm(a);
        if (!lin) break;
        // Split a = q*c + r where every term of q has a coefficient divisible by c.
        const qc = Math.floor(lin.c / cb), rc = lin.c - qc * cb;
        const qTerms: [Instr, number][] = [];
        const rTerms: [Instr, number][] = [];
        for (const [t, k] of lin.terms) {
          if (k % cb === 0) qTerms.push([t, k / cb]);
          else rTerms.push([t, k]);
        }
        let rlo = rc, rhi = rc;
        for (const [t, k] of rTerms) {
          if (!t.range) return undefined;
          const lo = k * t.range[0], hi = k * t.range[1];
          rlo += Math.min(lo, hi);
          rhi += Math.max(lo, hi);
        }
        if (rlo < 0) return undefined;
        const q = this.sumTerms(qTerms, qc), r = this.sumTerms(rTerms, rc);
        if (rhi < cb) return op === "idiv" ? q : r;
        // The remainder may reach c: peel off only the divisible part.
        if (qTerms.length === 0 && qc === 0) return undefined;
        return op === "idiv"
          ? this.add(q, this.op("idiv", [r, b], "int32"))
          : this.op("mod", [r, b], "int32");
      }
    }
    return undefined;
  }

  /** Folds `idiv(x,c)·c·k + mod(x,c)·k` back into `x·k` (a split axis merged again). */
  private recombine(a: Instr, b: Instr): Instr | undefined {
    const la = linearForm(a), lb = linearForm(b);
    if (!la || !lb) return undefined;
    const terms = new Map(la.terms);
    for (const [t, k] of lb.terms) terms.set(t, (terms.get(t) ?? 0) + k);
    let changed = false;
    for (const [t, k] of [...terms]) {
      if (t.op !== "mod" || t.args[1].op !== "const" || !terms.has(t)) continue;
      const c = t.args[1].arg as number;
      const q = [...terms.keys()].find((u) =>
        u.op === "idiv" && u.args[0] === t.args[0] && u.args[1] === t.args[1] &&
        terms.get(u) === k * c
      );
      if (!q) continue;
      terms.delete(t);
      terms.delete(q);
      terms.set(t.args[0], (terms.get(t.args[0]) ?? 0) + k);
      changed = true;
    }
    if (!changed) return undefined;
    return this.sumTerms([...terms].filter(([, k]) => k !== 0), la.c + lb.c);
  }

  private sumTerms(terms: [Instr, number][], c: number): Instr {
    let acc: Instr = this.const(c);
    for (const [t, k] of terms) acc = this.add(acc, this.mul(t, k));
    return acc;
  }
}

/**
 * Folds an elementwise op on constants with the per-primitive evaluator (the value the CPU
 * backend would compute; operands rounded to their dtype as their literals are).
 */
function foldConst(
  op: string,
  args: readonly Instr[],
  dtype: DType,
  arg: unknown,
): number | undefined {
  if (!isElementwiseName(op)) return undefined;
  const vals = args.map((a) => {
    const v = a.arg as number;
    return a.dtype === "float32" || a.dtype === "float16" ? roundTo(a.dtype, v) : v;
  });
  return evaluate(op, vals, dtype, args[0].dtype, arg);
}

/** `e = c + Σ k·t` over non-linear atoms `t`, or undefined if not affine. */
export function linearForm(e: Instr): { terms: Map<Instr, number>; c: number } | undefined {
  const terms = new Map<Instr, number>();
  let c = 0;
  const walk = (x: Instr, k: number): boolean => {
    if (x.dtype !== "int32") return false;
    switch (x.op) {
      case "const":
        c += k * (x.arg as number);
        return true;
      case "add":
        return walk(x.args[0], k) && walk(x.args[1], k);
      case "sub":
        return walk(x.args[0], k) && walk(x.args[1], -k);
      case "mul":
        if (x.args[1].op === "const") return walk(x.args[0], k * (x.args[1].arg as number));
        if (x.args[0].op === "const") return walk(x.args[1], k * (x.args[0].arg as number));
        break;
    }
    terms.set(x, (terms.get(x) ?? 0) + k);
    return true;
  };
  return walk(e, 1) ? { terms, c } : undefined;
}

function rangeOf(op: string, args: readonly Instr[]): readonly [number, number] | undefined {
  const r = args.map((a) => a.range);
  if (r.some((x) => !x)) return undefined;
  const [a, b] = r as [number, number][];
  switch (op) {
    case "add":
      return [a[0] + b[0], a[1] + b[1]];
    case "sub":
      return [a[0] - b[1], a[1] - b[0]];
    case "mul": {
      const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]];
      return [Math.min(...p), Math.max(...p)];
    }
    case "idiv":
      if (b[0] > 0 && b[0] === b[1] && a[0] >= 0) {
        return [Math.floor(a[0] / b[0]), Math.floor(a[1] / b[0])];
      }
      return undefined;
    case "mod":
      if (b[0] > 0 && b[0] === b[1]) return [0, b[0] - 1];
      return undefined;
    case "maximum":
      return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
    case "minimum":
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
    case "less":
    case "lessEqual":
    case "equal":
    case "notEqual":
    case "logicalAnd":
    case "logicalOr":
      return [0, 1];
    case "where":
      return [Math.min(b[0], r[2]![0]), Math.max(b[1], r[2]![1])];
  }
  return undefined;
}

/** Marks the instructions the kernel's output depends on (for dead-code elimination). */
export function liveSet(k: KernelIR): Set<Instr | Loop> {
  const live = new Set<Instr | Loop>();
  const loopOf = new Map<Instr, Loop>();
  const index = (s: Scope) => {
    for (const it of s.items) {
      if ("kind" in it) {
        if (it.result) loopOf.set(it.result, it);
        it.scopes.forEach(index);
      }
    }
  };
  index(k.root);
  const stack: Instr[] = [k.value];
  if (k.scatter) {
    const { loop, offset, value, valid } = k.scatter;
    live.add(loop);
    stack.push(offset, value, ...(valid ? [valid] : []));
  }
  while (stack.length) {
    const x = stack.pop()!;
    if (live.has(x)) continue;
    live.add(x);
    stack.push(...x.args);
    const l = loopOf.get(x);
    if (l) {
      live.add(l);
      stack.push(l.value!);
    }
  }
  return live;
}
