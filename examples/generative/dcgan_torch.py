"""The PyTorch reference for examples/generative/dcgan.ts, for the speed comparison: the same
generator (linear 64 -> 128x7x7, ConvTranspose2d 128->64 and 64->1, kernel 4, stride 2,
padding 1, sigmoid) and discriminator (Conv2d 1->64 and 64->128, kernel 4, stride 2, padding 1,
leaky ReLU 0.2, linear), non-saturating logistic loss, two Adam optimizers (2e-4, betas 0.5,
0.999), alternating updates, batch 64, on Fashion-MNIST in [0, 1]. Prints seconds per step.

Run: /usr/bin/python3 examples/generative/dcgan_torch.py --steps 200 (2 threads).
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from vae_torch import load

Z, BATCH = 64, 64


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(Z, 128 * 7 * 7)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.fc(z)).view(-1, 128, 7, 7)
        return torch.sigmoid(self.up2(F.relu(self.up1(h))))


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1)
        self.fc = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.2)), 0.2)
        return self.fc(h.flatten(1)).view(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    x = load("train").view(-1, 1, 28, 28)
    g, d = G(), D()
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    t0 = time.perf_counter()
    for step in range(a.steps):
        real = x[torch.randint(0, len(x), (BATCH,))]
        fake = g(torch.randn(BATCH, Z)).detach()
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        od.zero_grad()
        loss_d.backward()
        od.step()
        loss_g = F.softplus(-d(g(torch.randn(BATCH, Z)))).mean()
        og.zero_grad()
        loss_g.backward()
        og.step()
    per = (time.perf_counter() - t0) / a.steps
    print(f"{a.steps} steps of batch {BATCH}: {per:.3f} s per step "
          f"({per * (60000 // BATCH):.0f} s per 60k-image epoch); D {loss_d.item():.3f} G {loss_g.item():.3f}")


if __name__ == "__main__":
    main()
