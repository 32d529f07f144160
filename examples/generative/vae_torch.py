"""The PyTorch reference for examples/generative/vae.ts: the same VAE (784-400-20/20-400-784,
Bernoulli decoder, PyTorch's examples/vae), the same data (Fashion-MNIST in [0, 1], not
binarized), optimizer (Adam 1e-3), batch size (128, last partial batch dropped), epochs and
test figure (negative ELBO with one posterior sample per test image, nats per image).

Run: /usr/bin/python3 examples/generative/vae_torch.py --epochs 5 --json /tmp/vae_torch.json
(2 threads, as the Kiln run on this machine). Reads the dataset from KILN_DATA or
/usr/share/datasets/fashion-mnist.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    root = os.environ.get("KILN_DATA", "/usr/share/datasets/fashion-mnist")
    name = "train" if split == "train" else "t10k"
    for ext in (".gz", ""):
        p = os.path.join(root, f"{name}-images-idx3-ubyte{ext}")
        if os.path.exists(p):
            return torch.from_numpy(idx(p).reshape(-1, 784).astype(np.float32) / 255.0)
    raise SystemExit(f"Fashion-MNIST not found in {root}")


class VAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, latent)
        self.fc22 = nn.Linear(400, latent)
        self.fc3 = nn.Linear(latent, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def neg_elbo(model, x):
    logits, mu, logvar = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum(1)
    return rec + kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    xtr, xte = load("train"), load("test")
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    secs = []
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        total, n = 0.0, 0
        for i in range(0, len(xtr) - 127, 128):
            xb = xtr[perm[i:i + 128]]
            loss = neg_elbo(model, xb).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + loss.item(), n + 1
        secs.append(time.perf_counter() - t0)
        print(f"epoch {epoch + 1}: train -ELBO {total / n:.2f} nats, {secs[-1]:.1f} s", flush=True)
    with torch.no_grad():
        test = torch.cat([neg_elbo(model, xte[i:i + 500]) for i in range(0, len(xte), 500)])
    out = {
        "epochs": a.epochs,
        "test_neg_elbo": test.mean().item(),
        "seconds_per_epoch": sum(secs) / len(secs),
        "torch": torch.__version__,
    }
    print(json.dumps(out))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
