#!/usr/bin/python3
"""PyTorch CPU (2 threads) runner for bench/peers/run.ts: the workloads of common.ts on the same
inputs and initial parameters (the same hash of (seed, index) as common.ts's `uniform`, so the
float32 bits agree), timed the same way (median of runs after a checked warm-up, results read
back), printed as one `PEERS_JSON {...}` line.

    /usr/bin/python3 bench/peers/torch_peers.py [--quick] [--sizes JSON] [--threads N]

Matmul, the chain and softmax are checked here against numpy float64 with common.ts's
tolerances; the training steps report their first two losses, which run.ts checks against the
float64 reference of reference.ts (a standalone run prints them unchecked).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FULL = {"matmul": [256, 512, 1024], "chain": 1 << 20, "softmax": [4096, 1024],
        "mlpBatch": 128, "cnnBatch": 32, "runs": 10, "budgetMs": 4000}
QUICK = {"matmul": [64], "chain": 1 << 12, "softmax": [64, 128],
         "mlpBatch": 8, "cnnBatch": 2, "runs": 2, "budgetMs": 500}
LR, MLP_DIMS, SIDE = 0.01, [784, 256, 256, 10], 28


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def hash32(seed, n):
    """common.ts's hash: murmur3's finalizer of seed*0x9e3779b9 + i, in wrapping uint32."""
    with np.errstate(over="ignore"):
        h = np.uint32((seed * 0x9E3779B9) & 0xFFFFFFFF) + np.arange(n, dtype=np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h


def uniform(seed, n, lo, hi):
    u = (hash32(seed, n) >> np.uint32(8)).astype(np.float64) / 16777216.0
    return (lo + (hi - lo) * u).astype(np.float32)


def labels(seed, n, classes):
    return (hash32(seed, n) % np.uint32(classes)).astype(np.int64)


def dense_init(seed, fan_in, fan_out):
    bound = 1 / np.sqrt(fan_in)
    return uniform(seed, fan_out * fan_in, -bound, bound), uniform(seed + 1, fan_out, -bound, bound)


def conv_init(seed, c, o):
    bound = 1 / np.sqrt(c * 9)
    return uniform(seed, o * c * 9, -bound, bound), uniform(seed + 1, o, -bound, bound)


def time_runs(sizes, call, prior_ms):
    """common.ts's timeRuns: median ms, fewer runs past the budget (at least 3)."""
    if prior_ms >= sizes["budgetMs"]:
        return {"ms": prior_ms, "runs": 1}
    times, start = [], time.perf_counter()
    while len(times) < sizes["runs"] and (
            len(times) < min(3, sizes["runs"]) or
            (time.perf_counter() - start) * 1000 < sizes["budgetMs"]):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return {"ms": float(np.median(times)), "runs": len(times)}


def stopwatch(call):
    t0 = time.perf_counter()
    v = call()
    return v, (time.perf_counter() - t0) * 1000


def check_close(got, want, tol):
    r = np.abs(got.astype(np.float64) - want) / tol
    if not np.all(r <= 1):
        i = int(np.argmax(np.where(np.isnan(r), np.inf, r)))
        raise ValueError(f"value {i} is {got.flat[i]}, want {want.flat[i]}")
    return f"worst error {100 * float(r.max()):.1f}% of tolerance"


def check_then_time(sizes, run, check):
    first, ms = stopwatch(run)
    checked = check(first)
    return {**time_runs(sizes, run, ms), "check": checked}


def matmul(sizes, n):
    a = torch.from_numpy(uniform(11, n * n, -1, 1).reshape(n, n))
    b = torch.from_numpy(uniform(12, n * n, -1, 1).reshape(n, n))
    step = max(1, n // 64)
    rows = np.arange(0, n, step)
    a64, b64 = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
    want, scale = a64[rows] @ b64, np.abs(a64[rows]) @ np.abs(b64)
    check = lambda got: f"{len(rows)} rows vs float64: " + check_close(got[rows], want, 1e-4 * scale)
    return check_then_time(sizes, lambda: (a @ b).numpy(), check)


def chain(sizes, n):
    x = torch.from_numpy(uniform(13, n, -4, 4))
    v = x.numpy().astype(np.float64)
    want = np.maximum(v * 1.5 + 0.5, 0) / (1 + np.exp(-v)) - np.tanh(v) * 0.5
    run = lambda: (torch.relu(x * 1.5 + 0.5) * torch.sigmoid(x) - torch.tanh(x) * 0.5).numpy()
    return check_then_time(
        sizes, run, lambda got: "all vs float64: " + check_close(got, want, 1e-5 * (1 + np.abs(want))))


def softmax(sizes, r, c):
    x = torch.from_numpy(uniform(14, r * c, -4, 4).reshape(r, c))
    v = x.numpy().astype(np.float64)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    return check_then_time(sizes, lambda: torch.softmax(x, dim=-1).numpy(),
                           lambda got: "all vs float64: " + check_close(got, want, 1e-4 * want + 1e-9))


def load(layer, w, b):
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w).reshape(layer.weight.shape))
        layer.bias.copy_(torch.from_numpy(b))


def train(sizes, model, x, y):
    """Two steps whose losses run.ts checks, then the timed steps (loss read back each)."""
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    l1, _ = stopwatch(step)
    l2, ms = stopwatch(step)
    return {**time_runs(sizes, step, ms), "losses": [l1, l2]}


def mlp(sizes, batch):
    layers = [nn.Linear(i, o) for i, o in zip(MLP_DIMS, MLP_DIMS[1:])]
    for i, layer in enumerate(layers):
        load(layer, *dense_init(30 + 2 * i, layer.in_features, layer.out_features))
    model = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])
    x = torch.from_numpy(uniform(21, batch * MLP_DIMS[0], 0, 1).reshape(batch, -1))
    return train(sizes, model, x, torch.from_numpy(labels(22, batch, 10)))


def cnn(sizes, batch):
    pooled = (SIDE - 4) // 2
    c1, c2, fc = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Linear(64 * pooled * pooled, 10)
    load(c1, *conv_init(50, 1, 32))
    load(c2, *conv_init(52, 32, 64))
    load(fc, *dense_init(54, fc.in_features, 10))
    model = nn.Sequential(c1, nn.ReLU(), c2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc)
    x = torch.from_numpy(uniform(41, batch * SIDE * SIDE, 0, 1).reshape(batch, 1, SIDE, SIDE))
    return train(sizes, model, x, torch.from_numpy(labels(42, batch, 10)))


def main():
    sizes = json.loads(arg("--sizes", "null")) or (QUICK if "--quick" in sys.argv else FULL)
    threads = int(arg("--threads", "2"))
    torch.set_num_threads(threads)
    jobs = [(f"matmul {n}", lambda n=n: matmul(sizes, n)) for n in sizes["matmul"]] + [
        (f"chain {sizes['chain']}", lambda: chain(sizes, sizes["chain"])),
        ("softmax {}x{}".format(*sizes["softmax"]), lambda: softmax(sizes, *sizes["softmax"])),
        (f"mlp step b{sizes['mlpBatch']}", lambda: mlp(sizes, sizes["mlpBatch"])),
        (f"cnn step b{sizes['cnnBatch']}", lambda: cnn(sizes, sizes["cnnBatch"])),
    ]
    results = []
    for name, job in jobs:
        if name.split(" ")[0] in sizes.get("skip", []):
            results.append({"name": name, "na": "skipped (run.ts --skip)"})
            continue
        try:
            results.append({**job(), "name": name})
        except Exception as e:  # a failed check or a missing op: no time for this workload
            results.append({"name": name, "na": f"failed: {e}"})
        print(f"  {name}: {json.dumps(results[-1])}", file=sys.stderr)
    about = f"PyTorch {torch.__version__}, CPU, {threads} threads (torch.set_num_threads)"
    print("PEERS_JSON " + json.dumps({"peer": "torch", "about": about, "results": results}))


if __name__ == "__main__":
    main()
