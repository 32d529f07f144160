/**
 * The gradient of an embedding lookup, `grad(E => sum(take(E, ids) * G))`, on the CPU backend
 * for vocabularies of 1k, 10k and 50k rows (256 token ids, 64-wide rows), two formulations in
 * the same run:
 * - old: gather's former VJP, a masked reduction (`dE[v, d] = Σ_b [ids[b] = v] · G[b, d]`),
 *   O(vocab·batch·dim) work;
 * - new: the `scatterAdd` kernel take's VJP is now, O(vocab·dim) to zero-fill the gradient plus
 *   O(batch·dim) to add the rows.
 * Both are checked equal before timing. Each timed call builds the graph, schedules, runs
 * (kernels cached after the first call) and reads the [vocab, 64] gradient back.
 * @module
 */
import * as k from "../mod.ts";
import { maskedScatterAdd } from "../core/ir/source.ts";
import { makeNode } from "../core/ir/graph.ts";
import { wrap } from "../core/tensor/convert.ts";
import { maxAbsDiff, seededFloat32 } from "./baselines.ts";

const BATCH = 256, DIM = 64;

/** The former formulation of take's gradient, on the same graph nodes. */
function oldGrad(E: k.Tensor, ids: k.Tensor, G: k.Tensor): k.Tensor {
  const gather = makeNode("gather", [E.node, ids.node], 0);
  return wrap(maskedScatterAdd(G.node, { src: [E.node, ids.node], arg: 0, out: gather }));
}

/** The gradient as users get it (take's VJP: one scatter-add kernel). */
const newGrad = (E: k.Tensor, ids: k.Tensor, G: k.Tensor): k.Tensor =>
  k.grad((e: k.Tensor) => k.take(e, ids, { axis: 0 }).mul(G).sum())(E);

for (const vocab of [1000, 10000, 50000]) {
  const E = k.tensor(seededFloat32(vocab * DIM, 1), { shape: [vocab, DIM] });
  const r = seededFloat32(BATCH, 2);
  const ids = k.tensor(Int32Array.from(r, (v) => Math.floor((v + 1) * 0.5 * vocab) % vocab));
  const G = k.tensor(seededFloat32(BATCH * DIM, 3), { shape: [BATCH, DIM] });
  const d = maxAbsDiff(newGrad(E, ids, G).dataSync(), oldGrad(E, ids, G).dataSync());
  if (!(d <= 1e-5)) throw new Error(`vocab ${vocab}: old and new gradients differ by ${d}`);
  const group = `embedding gradient, vocab ${vocab}`;
  // The old formulation takes ~seconds at 50k: few iterations.
  const few = vocab >= 10000 ? { n: 3, warmup: 1 } : {};
  Deno.bench({
    name: `old: masked reduction, ${vocab}x${DIM} from ${BATCH} ids`,
    group,
    baseline: true,
    ...few,
    fn() {
      using g = oldGrad(E, ids, G);
      g.dataSync();
    },
  });
  Deno.bench({
    name: `new: scatter-add, ${vocab}x${DIM} from ${BATCH} ids`,
    group,
    fn() {
      using g = newGrad(E, ids, G);
      g.dataSync();
    },
  });
}
