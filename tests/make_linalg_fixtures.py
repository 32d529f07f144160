#!/usr/bin/python3
"""Generate numpy (LAPACK) reference values for the k.linalg tests (tests/linalg_test.ts).

    /usr/bin/python3 tests/make_linalg_fixtures.py

Writes tests/fixtures/linalg.json. Everything is float64. Inputs are rounded to 12 significant
digits first, so the stored outputs belong exactly to the stored inputs. Every array is
{"shape": [...], "data": [flat row-major values]}; non-finite values are the strings "inf",
"-inf", "nan".

Where a factorization is unique only up to signs, the stored factors follow Kiln's documented
convention (each eigenvector / column of U has its largest-magnitude entry positive, Vh's rows
follow; QR is stored with R's diagonal made non-negative, and the test normalizes Kiln's the
same way). Each case is {"fn", "inputs": [...], "opts", "outputs": [...], "kind"} where kind is
"well", "ill", "batched", "edge" or "singular".
"""

import json
import os

import numpy as np

rng = np.random.default_rng(20261204)


def r12(x):
    return np.array(np.vectorize(lambda v: float(f"{v:.12g}"))(x), dtype=np.float64) if np.size(
        x) else np.asarray(x, dtype=np.float64)


def enc(x):
    a = np.asarray(x)
    flat = []
    for v in a.reshape(-1).tolist():
        v = float(v)
        flat.append("nan" if np.isnan(v) else "inf" if v == np.inf else "-inf" if v == -np.inf else v)
    return {"shape": list(a.shape), "data": flat}


def well(n, *batch):
    return r12(rng.standard_normal((*batch, n, n)) + n * np.eye(n))


def spd(n, *batch):
    x = rng.standard_normal((*batch, n, n))
    return r12(x @ np.swapaxes(x, -1, -2) + n * np.eye(n))


def hilbert(n):
    i = np.arange(n)
    return r12(1.0 / (i[:, None] + i[None, :] + 1))


def ill_sym(n, lo=1e-8):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.geomspace(lo, 1.0, n)
    a = (q * w) @ q.T
    return r12((a + a.T) / 2)


def ill_rect(m, n, lo=1e-10):
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return r12((u * np.geomspace(lo, 1.0, k)) @ v.T)


def sign_cols(u, vh=None):
    """Largest-magnitude entry of each column of u positive (first on ties); vh rows follow."""
    u = u.copy()
    vh = None if vh is None else vh.copy()
    for idx in np.ndindex(*u.shape[:-2]):
        for j in range(min(u.shape[-1], u.shape[-2] if vh is None else vh.shape[-2])):
            c = u[idx][:, j]
            if c[np.argmax(np.abs(c))] < 0:
                u[idx][:, j] *= -1
                if vh is not None:
                    vh[idx][j, :] *= -1
    return (u, vh) if vh is not None else u


cases = []


def add(fn, kind, inputs, outputs, **opts):
    cases.append({"fn": fn, "kind": kind, "inputs": [enc(x) for x in inputs],
                  "outputs": [enc(y) for y in outputs], "opts": opts})


# solve / inv / det / slogdet
for kind, a in [("well", well(4)), ("ill", hilbert(6)), ("batched", well(3, 2, 3)),
                ("edge", r12(np.array([[2.5]]))), ("singular", r12(np.array([[1.0, 2], [2, 4]])))]:
    n = a.shape[-1]
    if kind != "singular":
        b = r12(rng.standard_normal((*a.shape[:-1], 2)))
        add("solve", kind, [a, b], [np.linalg.solve(a, b)])
        bv = r12(rng.standard_normal(n))
        add("solve", kind, [a, bv], [np.linalg.solve(a, bv[..., None])[..., 0]])
        add("inv", kind, [a], [np.linalg.inv(a)])
    s, l = np.linalg.slogdet(a)
    add("slogdet", kind, [a], [s, l])
    add("det", kind, [a], [np.linalg.det(a)])
# broadcast: a [2,1,3,3] with b [4,3,2]
a, b = well(3, 2, 1), r12(rng.standard_normal((4, 3, 2)))
add("solve", "batched", [a, b], [np.linalg.solve(a, b)])

# cholesky
for kind, a in [("well", spd(5)), ("ill", hilbert(6)), ("batched", spd(3, 2, 2)),
                ("edge", r12(np.array([[4.0]])))]:
    add("cholesky", kind, [a], [np.linalg.cholesky(a)])

# solveTriangular: reference by a dense solve of the masked matrix
for lower in (True, False):
    for trans in (False, True):
        for unit in (False, True):
            a = well(4, 2)
            b = r12(rng.standard_normal((2, 4, 3)))
            t = np.tril(a) if lower else np.triu(a)
            if unit:
                t = t.copy()
                t[..., np.arange(4), np.arange(4)] = 1.0
            op = np.swapaxes(t, -1, -2) if trans else t
            add("solveTriangular", "batched", [a, b], [np.linalg.solve(op, b)],
                lower=lower, transpose=trans, unitDiagonal=unit)

# qr (R's diagonal made non-negative: Q's columns and R's rows flipped together)
def qr_norm(a, mode):
    q, r = np.linalg.qr(a, mode=mode)
    k = min(a.shape[-2], a.shape[-1])
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1)[..., :k])
    d = np.where(d == 0, 1, d)
    q = q.copy()
    r = r.copy()
    q[..., :, :k] *= d[..., None, :]
    r[..., :k, :] *= d[..., :, None]
    return q, r


for kind, a in [("well", r12(rng.standard_normal((5, 3)))), ("well", r12(rng.standard_normal((3, 5)))),
                ("well", well(4)), ("ill", ill_rect(6, 4)), ("batched", r12(rng.standard_normal((2, 4, 3)))),
                ("edge", r12(np.array([[-3.0]])))]:
    for mode in ("reduced", "complete"):
        q, r = qr_norm(a, mode)
        add("qr", kind, [a], [q, r], mode=mode)

# eigh
for kind, a in [("well", spd(5) - 5 * np.eye(5)), ("ill", ill_sym(6)), ("batched", spd(4, 3)),
                ("edge", r12(np.array([[-1.5]])))]:
    a = r12((a + np.swapaxes(a, -1, -2)) / 2)
    w, v = np.linalg.eigh(a)
    add("eigh", kind, [a], [w, sign_cols(v)])

# svd
for kind, a in [("well", r12(rng.standard_normal((5, 3)))), ("well", r12(rng.standard_normal((3, 5)))),
                ("well", r12(rng.standard_normal((4, 4)))), ("ill", ill_rect(6, 4)),
                ("batched", r12(rng.standard_normal((2, 3, 4, 3)))), ("edge", r12(np.array([[-2.0]])))]:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    u, vh = sign_cols(u, vh)
    add("svd", kind, [a], [u, s, vh], fullMatrices=False)
    add("svdvals", kind, [a], [s])
rank_def = r12(rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4)))
add("svdvals", "singular", [rank_def], [np.linalg.svd(rank_def, compute_uv=False)])

# lstsq (x, JAX-style residuals, rank, s) and pinv
for kind, a in [("well", r12(rng.standard_normal((6, 3)))), ("singular", rank_def),
                ("batched", r12(rng.standard_normal((2, 5, 3))))]:
    b = r12(rng.standard_normal((*a.shape[:-1], 2)))
    # Rounding the inputs leaves the rank-deficient matrix's null singular values at ~1e-16
    # relative, not 0: an explicit cutoff makes the rank (2) well defined.
    rcond = 1e-10 if kind == "singular" else None
    opts = {"rcond": rcond} if rcond else {}
    xs, rs, ranks, ss = [], [], [], []
    for idx in np.ndindex(*a.shape[:-2]):
        x, _, rank, s = np.linalg.lstsq(a[idx], b[idx], rcond=rcond)
        xs.append(x), rs.append(((b[idx] - a[idx] @ x) ** 2).sum(0)), ranks.append(rank), ss.append(s)
    shp = a.shape[:-2]
    add("lstsq", kind, [a, b], [np.reshape(xs, (*shp, *xs[0].shape)), np.reshape(rs, (*shp, -1)),
                                np.reshape(np.array(ranks, dtype=np.float64), shp),
                                np.reshape(ss, (*shp, -1))], **opts)
    add("pinv", kind, [a], [np.linalg.pinv(a, rcond=rcond or 10 * max(a.shape[-2:]) * np.finfo(float).eps)],
        **opts)

# matrixPower
a = well(3)
for p in (0, 1, 3, -2):
    add("matrixPower", "well", [a], [np.linalg.matrix_power(a, p)], n=p)

# norm
x = r12(rng.standard_normal((3, 4)))
v = r12(rng.standard_normal(5))
for ordv in (None, 1, 2, 3, 0.5, "inf", "-inf", 0):
    o = None if ordv is None else (np.inf if ordv == "inf" else -np.inf if ordv == "-inf" else ordv)
    add("norm", "well", [v], [np.linalg.norm(v, ord=o)], ord=ordv)
    add("norm", "batched", [x], [np.linalg.norm(x, ord=o, axis=1)], ord=ordv, axis=1)
for ordm in (None, "fro", "nuc", 1, -1, 2, -2, "inf", "-inf"):
    o = None if ordm is None else (np.inf if ordm == "inf" else -np.inf if ordm == "-inf" else ordm)
    add("norm", "well", [x], [np.linalg.norm(x, ord=o)], ord=ordm)
    y = r12(rng.standard_normal((2, 3, 4)))
    add("norm", "batched", [y], [np.linalg.norm(y, ord=o, axis=(1, 2))], ord=ordm, axis=[1, 2])

# trace / diagonal / triu / tril (last two axes)
y = r12(rng.standard_normal((2, 3, 4)))
for off in (-1, 0, 2):
    add("trace", "batched", [y], [np.trace(y, offset=off, axis1=-2, axis2=-1)], offset=off)
    add("diagonal", "batched", [y], [np.diagonal(y, offset=off, axis1=-2, axis2=-1)], offset=off)
    add("triu", "batched", [y], [np.triu(y, off)], k=off)
    add("tril", "batched", [y], [np.tril(y, off)], k=off)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "linalg.json")
with open(out, "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f)
print(f"wrote {out}: {len(cases)} cases")
