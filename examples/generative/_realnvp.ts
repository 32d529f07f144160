/**
 * RealNVP for 2-D data (Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
 * ICLR 2017): a stack of affine coupling layers that alternate which coordinate they keep.
 * Layer `i` keeps coordinate `c = i % 2` and maps the other one, `y = x·exp(s(x_c)) + t(x_c)`,
 * so its Jacobian is triangular and `log|det J| = s` exactly. The base density is `N(0, I)`.
 * Shared by `flow_moons.ts` and its test.
 * @module
 */
import * as k from "../../mod.ts";

/** One coupling layer: an MLP `x_c -> [s_raw, t]` (1 -> hidden -> hidden -> 2). */
export type Coupling = {
  l1: k.nn.LinearParams;
  l2: k.nn.LinearParams;
  l3: k.nn.LinearParams;
};

/** A flow: its coupling layers, applied in order from data to latent. */
export type Flow = Coupling[];

/**
 * A flow of `layers` couplings with `hidden` units; the last layer of each MLP starts at zero,
 * so the flow starts as the identity (a standard trick for stable training).
 * @example
 * ```ts
 * const flow = initFlow(k.random.key(0), 6, 64);
 * ```
 */
export function initFlow(
  key: k.Tensor,
  layers: number,
  hidden: number,
  dtype: "float32" | "float64" = "float32",
  zeroLast = true,
): Flow {
  return k.random.split(key, layers).map((kl: k.Tensor) => {
    const [a, b, c] = k.random.split(kl, 3);
    const l3 = k.nn.linear.init(c, hidden, 2, { dtype });
    return {
      l1: k.nn.linear.init(a, 1, hidden, { dtype }),
      l2: k.nn.linear.init(b, hidden, hidden, { dtype }),
      l3: zeroLast ? { w: k.zerosLike(l3.w), b: k.zerosLike(l3.b) } : l3,
    };
  });
}

/** Column `c` of `x [B, 2]` as `[B, 1]`. */
const col = (x: k.Tensor, c: number) => k.slice(x, [[null, null], [c, c + 1]]);

/** `s` (bounded to (-2, 2) by a scaled tanh, for stability) and `t` of a coupling. */
function scaleShift(p: Coupling, xc: k.Tensor): [k.Tensor, k.Tensor] {
  const h = k.relu(k.nn.linear.apply(p.l2, k.relu(k.nn.linear.apply(p.l1, xc))));
  const o = k.nn.linear.apply(p.l3, h);
  return [k.tanh(col(o, 0).mul(0.5)).mul(2), col(o, 1)];
}

/**
 * Data to latent: `z = f(x)` and `log|det ∂f/∂x|` per row (`[B]`). The two coordinates are
 * carried as separate `[B, 1]` columns and joined once at the end.
 * @example
 * ```ts
 * const { z, logdet } = forward(flow, k.zeros([4, 2]));
 * ```
 */
export function forward(flow: Flow, x: k.Tensor): { z: k.Tensor; logdet: k.Tensor } {
  const cols = [col(x, 0), col(x, 1)];
  let logdet: k.Tensor | undefined;
  flow.forEach((p, i) => {
    const c = i % 2, [s, t] = scaleShift(p, cols[c]);
    cols[1 - c] = cols[1 - c].mul(k.exp(s)).add(t);
    logdet = logdet ? logdet.add(s) : s;
  });
  return {
    z: k.concatenate(cols, { axis: 1 }),
    logdet: (logdet ?? k.zeros([x.shape[0], 1], { dtype: x.dtype })).reshape([-1]),
  };
}

/**
 * Latent to data: the exact inverse of `forward`.
 * @example
 * ```ts
 * const x = inverse(flow, k.random.normal(k.random.key(1), [512, 2]));
 * ```
 */
export function inverse(flow: Flow, z: k.Tensor): k.Tensor {
  const cols = [col(z, 0), col(z, 1)];
  for (let i = flow.length - 1; i >= 0; i--) {
    const c = i % 2, [s, t] = scaleShift(flow[i], cols[c]);
    cols[1 - c] = cols[1 - c].sub(t).mul(k.exp(s.neg()));
  }
  return k.concatenate(cols, { axis: 1 });
}

/**
 * `log p(x)` per row under the flow with a standard-normal base.
 * @example
 * ```ts
 * const nll = logProb(flow, x).mean().neg();
 * ```
 */
export function logProb(flow: Flow, x: k.Tensor): k.Tensor {
  const { z, logdet } = forward(flow, x);
  return z.mul(z).sum({ axis: 1 }).mul(-0.5).sub(Math.log(2 * Math.PI)).add(logdet);
}
