#!/usr/bin/python3
"""PyTorch CPU reference for bench/seq_bench.ts: the same LSTM and transformer training steps,
timed the same way and printed in the same format.

    /usr/bin/python3 bench/torch_seq.py                     # table on stdout
    /usr/bin/python3 bench/torch_seq.py --json /tmp/torch_seq.json
    KILN_TORCH_RESULTS=/tmp/torch_seq.json npx -y deno@2.9.6 run -A bench/seq_bench.ts

Two threads (torch.set_num_threads(2); --threads N to change), float32.
- LSTM: nn.LSTM(256, 256), x [64, 32, 256] (time-first), MSE to a fixed random target.
- Transformer: 4 x nn.TransformerEncoderLayer(256, 4 heads, dim_feedforward 1024, dropout 0,
  batch_first, post-norm, ReLU) with a causal mask, x [32, 64, 256], MSE.
A step is zero_grad + forward + backward + Adam(lr 1e-3).step. Times are the median over
--rounds rounds (default 3) of the mean of --calls calls (default 3), after 2 warm-up calls.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


THREADS, ROUNDS, CALLS = arg("--threads", 2), arg("--rounds", 3), arg("--calls", 3)
torch.set_num_threads(THREADS)
torch.manual_seed(0)
T, B, H, LAYERS, HEADS, FF = 64, 32, 256, 4, 4, 1024
results = {}


def bench(name, call):
    call()
    call()
    rounds = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(CALLS):
            call()
        rounds.append((time.perf_counter() - t0) * 1000 / CALLS)
    ms = statistics.median(rounds)
    results[name] = ms
    print(f"{name:<28} {ms:8.1f} ms", flush=True)


def train_step(model, loss_fn):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    return step


# LSTM
lstm = nn.LSTM(H, H)
x = torch.randn(T, B, H)
target = torch.randn(T, B, H)
lstm_loss = lambda: nn.functional.mse_loss(lstm(x)[0], target)


def lstm_forward():
    with torch.no_grad():
        return lstm_loss().item()


bench("lstm forward", lstm_forward)
bench("lstm train step", train_step(lstm, lstm_loss))

# Transformer
layers = nn.Sequential(*[
    nn.TransformerEncoderLayer(H, HEADS, FF, dropout=0.0, batch_first=True) for _ in range(LAYERS)
])
xt = torch.randn(B, T, H)
tt = torch.randn(B, T, H)
mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)


def tf_loss():
    h = xt
    for layer in layers:
        h = layer(h, src_mask=mask)
    return nn.functional.mse_loss(h, tt)


def tf_forward():
    with torch.no_grad():
        return tf_loss().item()


bench("transformer x4 forward", tf_forward)
bench("transformer x4 train step", train_step(layers, tf_loss))

if "--json" in sys.argv:
    path = sys.argv[sys.argv.index("--json") + 1]
    with open(path, "w") as f:
        json.dump({"threads": THREADS, "torch": torch.__version__, "ms": results}, f, indent=1)
