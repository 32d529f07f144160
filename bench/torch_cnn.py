#!/usr/bin/python3
"""PyTorch CPU reference for bench/cnn_bench.ts: the same CNN training step and the same
single convolutions, timed the same way and printed in the same table format, so the
Kiln/PyTorch ratio can be read off (or computed by cnn_bench.ts from --json).

    /usr/bin/python3 bench/torch_cnn.py                   # tables on stdout
    /usr/bin/python3 bench/torch_cnn.py --json /tmp/torch_cnn.json
    /usr/bin/python3 bench/torch_cnn.py --threads 1       # Kiln's CPU backend uses one core
    /usr/bin/python3 bench/torch_cnn.py --threads 1 --clock cpu   # CPU time, for a busy machine
    KILN_TORCH_RESULTS=/tmp/torch_cnn.json npx -y deno@2.9.6 run -A bench/cnn_bench.ts

Two threads (torch.set_num_threads(2); --threads N to change), float32, NCHW. The model is
examples/fashion_cnn.ts's: [conv3x3(pad 1) -> maxPool2 -> BatchNorm -> ReLU] x2 (1->32->64
channels), flatten, dropout 0.25, linear 3136->128, ReLU, linear 128->10; cross-entropy;
Adam (lr 2e-3). Each timed step is zero_grad + forward + backward + optimizer.step on a fixed
random batch. Times are the median over 3 rounds of the mean time per call of 5 calls, after
2 warm-up calls; GFLOP/s counts 2 flops per multiply-add of the convolutions (forward) and 3x
that for forward+backward (input and weight gradients).
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
torch.set_num_threads(THREADS)
torch.manual_seed(0)

# name, in channels, out channels, kernel, stride (batch 32, 28x28, padding kernel // 2).
CONVS = [
    (16, 32, 3, 1),
    (32, 64, 3, 1),
    (64, 64, 3, 1),
    (32, 64, 3, 2),
    (16, 32, 5, 1),
    (32, 64, 5, 2),
]
CONV_BATCH, SIZE = 32, 28
STEP_BATCHES = [64, 128]


def conv_name(c, o, kk, s):
    return f"conv {kk}x{kk} s{s} {c}->{o}"


def conv_macs(c, o, kk, s):
    out = (SIZE + 2 * (kk // 2) - kk) // s + 1
    return CONV_BATCH * o * out * out * c * kk * kk


def model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


# --clock cpu: this process's CPU time (all threads) instead of the wall clock.
CLOCK = time.process_time if "--clock" in sys.argv and \
    sys.argv[sys.argv.index("--clock") + 1] == "cpu" else time.perf_counter


def median_ms(fn, warmup, reps, rounds=3):
    """Median over rounds of the mean ms per call of reps calls (as cnn_bench.ts)."""
    for _ in range(warmup):
        fn()
    means = []
    for _ in range(rounds):
        t0 = CLOCK()
        for _ in range(reps):
            fn()
        means.append((CLOCK() - t0) * 1000 / reps)
    return statistics.median(means)


def step_macs(batch):
    # Convolutions only (forward): conv1 28x28, conv2 14x14.
    return batch * (32 * 28 * 28 * 1 * 9 + 64 * 14 * 14 * 32 * 9)


def bench_step(batch):
    m = model().train()
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss

    return median_ms(step, 2, 5)


def bench_conv(c, o, kk, s):
    x = torch.randn(CONV_BATCH, c, SIZE, SIZE)
    w = torch.randn(o, c, kk, kk) * 0.1
    pad = kk // 2

    def fwd():
        with torch.no_grad():
            return F.conv2d(x, w, stride=s, padding=pad)

    xg = x.clone().requires_grad_(True)
    wg = w.clone().requires_grad_(True)
    r = torch.randn_like(fwd())

    def fwd_bwd():
        xg.grad = None
        wg.grad = None
        F.conv2d(xg, wg, stride=s, padding=pad).backward(r)

    return median_ms(fwd, 2, 5), median_ms(fwd_bwd, 2, 5)


def main():
    results = {}
    clock = "process CPU time" if CLOCK is time.process_time else "wall"
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
          f"clock: {clock}")
    print("| train step (CNN, Adam) | ms/step | conv GFLOP/s |")
    print("| --- | ---: | ---: |")
    for b in STEP_BATCHES:
        ms = bench_step(b)
        name = f"cnn train step batch {b}"
        results[name] = ms
        print(f"| {name} | {ms:.1f} | {3 * 2 * step_macs(b) / ms / 1e6:.1f} |")
    print()
    print(f"| convolution (batch {CONV_BATCH}, {SIZE}x{SIZE}) | forward ms | GFLOP/s "
          "| fwd+bwd ms | GFLOP/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for c, o, kk, s in CONVS:
        f_ms, fb_ms = bench_conv(c, o, kk, s)
        name = conv_name(c, o, kk, s)
        results[f"{name} forward"] = f_ms
        results[f"{name} fwd+bwd"] = fb_ms
        flops = 2 * conv_macs(c, o, kk, s)
        print(f"| {name} | {f_ms:.2f} | {flops / f_ms / 1e6:.1f} | {fb_ms:.2f} "
              f"| {3 * flops / fb_ms / 1e6:.1f} |")
    if "--json" in sys.argv:
        path = sys.argv[sys.argv.index("--json") + 1]
        with open(path, "w") as f:
            json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(),
                       "clock": clock, "ms": results}, f, indent=1)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
