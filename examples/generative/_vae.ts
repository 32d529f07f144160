/**
 * The variational autoencoder of Kingma & Welling (2014) in the architecture of PyTorch's
 * `examples/vae`: encoder 784-400 (ReLU) then two 400-20 heads (mean, log-variance), decoder
 * 20-400 (ReLU) -400-784 Bernoulli logits. The terms of the negative ELBO are separate so that
 * a test can compare them with closed forms. Shared by `vae.ts` and its test.
 * @module
 */
import * as k from "../../mod.ts";

/** Parameters (PyTorch's names: fc1, fc21, fc22, fc3, fc4). */
export type VaeParams = {
  fc1: k.nn.LinearParams;
  fc21: k.nn.LinearParams;
  fc22: k.nn.LinearParams;
  fc3: k.nn.LinearParams;
  fc4: k.nn.LinearParams;
};

/**
 * PyTorch's default `nn.Linear` initialization for every layer.
 * @example
 * ```ts
 * const p = initVae(k.random.key(0), 20);
 * ```
 */
export function initVae(
  key: k.Tensor,
  latent = 20,
  dtype: "float32" | "float64" = "float32",
): VaeParams {
  const [a, b, c, d, e] = k.random.split(key, 5);
  const lin = (kk: k.Tensor, i: number, o: number) => k.nn.linear.init(kk, i, o, { dtype });
  return {
    fc1: lin(a, 784, 400),
    fc21: lin(b, 400, latent),
    fc22: lin(c, 400, latent),
    fc3: lin(d, latent, 400),
    fc4: lin(e, 400, 784),
  };
}

/**
 * `q(z|x)`: mean and log-variance, each `[B, latent]`.
 * @example
 * ```ts
 * const [mu, logvar] = encode(p, x);
 * ```
 */
export function encode(p: VaeParams, x: k.Tensor): [k.Tensor, k.Tensor] {
  const h = k.relu(k.nn.linear.apply(p.fc1, x));
  return [k.nn.linear.apply(p.fc21, h), k.nn.linear.apply(p.fc22, h)];
}

/**
 * Bernoulli logits `[B, 784]` of `p(x|z)`.
 * @example
 * ```ts
 * const images = k.sigmoid(decode(p, z));
 * ```
 */
export function decode(p: VaeParams, z: k.Tensor): k.Tensor {
  return k.nn.linear.apply(p.fc4, k.relu(k.nn.linear.apply(p.fc3, z)));
}

/**
 * `KL(N(mu, exp(logvar)) || N(0, I))` per row, summed over the latent axes.
 * @example
 * ```ts
 * const kl = gaussianKl(mu, logvar); // [B]
 * ```
 */
export function gaussianKl(mu: k.Tensor, logvar: k.Tensor): k.Tensor {
  return k.sum(k.exp(logvar).add(k.mul(mu, mu)).sub(1).sub(logvar), { axis: -1 }).mul(0.5);
}

/**
 * `-log p(x|z)` per row for targets `x` in [0, 1] (binary cross-entropy on logits, summed
 * over pixels, as `F.binary_cross_entropy(..., reduction="sum")`).
 * @example
 * ```ts
 * const rec = bernoulliNll(decode(p, z), x); // [B]
 * ```
 */
export function bernoulliNll(logits: k.Tensor, x: k.Tensor): k.Tensor {
  // -[x log σ(l) + (1-x) log(1-σ(l))] = softplus(l) - x l
  return k.sum(k.nn.softplus(logits).sub(k.mul(x, logits)), { axis: -1 });
}

/**
 * Negative ELBO per row with one reparameterized sample `z = mu + exp(logvar/2)·ε`, keyed.
 * @example
 * ```ts
 * const loss = negElbo(p, x, k.random.key(1)).mean();
 * ```
 */
export function negElbo(p: VaeParams, x: k.Tensor, key: k.Tensor): k.Tensor {
  const [mu, logvar] = encode(p, x);
  const eps = k.random.normal(key, mu.shape, { dtype: mu.dtype as "float32" | "float64" });
  const z = mu.add(k.exp(logvar.mul(0.5)).mul(eps));
  return bernoulliNll(decode(p, z), x).add(gaussianKl(mu, logvar));
}
