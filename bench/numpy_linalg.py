#!/usr/bin/python3
"""numpy (LAPACK/OpenBLAS) reference for bench/linalg_bench.ts: solve, cholesky, eigh and svd
of float64 n×n matrices (n = 64, 256, 512) and of a batch of 1000 8×8 matrices (keys
"op/1000x8"), timed the same way as the Kiln bench.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/numpy_linalg.py          # table
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/numpy_linalg.py --json   # JSON on stdout

One BLAS thread by default (Kiln's host kernels use one core); set OPENBLAS_NUM_THREADS to
change it. Inputs: A = randn + n·I for solve (with one right-hand side), A Aᵀ + n·I for
cholesky and eigh, randn for svd (numpy's default full_matrices=True, as Kiln's). Each time is
the median of the per-call times after one warm-up call, with at least 3 calls and at least
0.5 s of calls.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

SIZES = [64, 256, 512]
BATCH, SMALL = 1000, 8


def inputs(n, rng, batch=()):
    g = rng.standard_normal((*batch, n, n))
    spd = g @ np.swapaxes(g, -1, -2) + n * np.eye(n)
    rhs = rng.standard_normal((*batch, n, 1) if batch else n)
    return {"solve": (g + n * np.eye(n), rhs), "cholesky": (spd,), "eigh": (spd,), "svd": (g,)}


FNS = {"solve": np.linalg.solve, "cholesky": np.linalg.cholesky, "eigh": np.linalg.eigh,
       "svd": np.linalg.svd}


def timeit(f, args):
    f(*args)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < 0.5:
        t = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    rng = np.random.default_rng(0)
    res = {}
    for n in SIZES:
        ins = inputs(n, rng)
        for name, f in FNS.items():
            res[f"{name}/{n}"] = timeit(f, ins[name])
    ins = inputs(SMALL, rng, (BATCH,))
    for name, f in FNS.items():
        res[f"{name}/{BATCH}x{SMALL}"] = timeit(f, ins[name])
    if "--json" in sys.argv:
        print(json.dumps({"numpy": np.__version__, "threads": os.environ["OPENBLAS_NUM_THREADS"],
                          "ms": res}))
    else:
        for k, v in res.items():
            print(f"{k:14s} {v:10.3f} ms")


main()
