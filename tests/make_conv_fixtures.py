#!/usr/bin/python3
"""Generate PyTorch reference values for the convolution and pooling tests (tests/conv_test.ts).

Run with the Debian system interpreter (python3-torch):

    /usr/bin/python3 tests/make_conv_fixtures.py

Writes tests/fixtures/conv.json. Everything is float64. Inputs are rounded to 12 significant
digits first, so the stored outputs belong exactly to the stored inputs. Every tensor is
{"shape": [...], "data": [flat row-major values]}.

Layout: {"torch": version, "cases": [...]}; each case has
- "name", "op" (one of conv, convTranspose, maxPool, avgPool, adaptiveAvgPool),
- "opts": the arguments in Kiln's form (k.conv(x, w, opts), k.maxPool(x, opts.window, opts),
  k.adaptiveAvgPool(x, opts.outputSize)),
- "x", "w" (convolutions only), "r" (a fixed random cotangent shaped like y),
- "y" and the gradients "dx", "dw" of sum(y * r).

Max-pool inputs are a random permutation of well-separated values, so no window has a tie and
the gradient (which goes to the window's maximum) is unambiguous.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261205)


def r12(a):
    return np.vectorize(lambda v: float(f"{v:.12g}"), otypes=[np.float64])(
        np.asarray(a, dtype=np.float64))


def flat(t):
    return [float(f"{v:.15g}") for v in t.detach().reshape(-1).tolist()]


def tj(t):
    return {"shape": list(t.shape), "data": flat(t)}


def randn(*shape):
    return torch.tensor(r12(rng.normal(size=shape)), requires_grad=True)


def distinct(*shape):
    """Values 0.01·k + noise for a random permutation of k: no ties, gaps of ~0.01."""
    n = int(np.prod(shape))
    v = (rng.permutation(n) - n / 2) * 0.01 + rng.uniform(-0.002, 0.002, size=n)
    return torch.tensor(r12(v.reshape(shape)), requires_grad=True)


cases = []


def record(name, op, opts, fn, x, w=None):
    y = fn(x, w) if w is not None else fn(x)
    r = torch.tensor(r12(rng.normal(size=tuple(y.shape))))
    inputs = [x] if w is None else [x, w]
    grads = torch.autograd.grad((y * r).sum(), inputs)
    case = {"name": name, "op": op, "opts": opts, "x": tj(x), "r": tj(r), "y": tj(y),
            "dx": tj(grads[0])}
    if w is not None:
        case["w"] = tj(w)
        case["dw"] = tj(grads[1])
    cases.append(case)


TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def conv(name, xs, ws, **opts):
    """opts in Kiln's form; padding given as [lo, hi] pairs is applied with F.pad first."""
    n = len(ws) - 2
    kw = {k: v for k, v in opts.items() if k != "padding"}
    pad = opts.get("padding", 0)
    pairs = isinstance(pad, list) and any(isinstance(p, list) for p in pad)

    def fn(x, w):
        if pairs:
            flat_pad = []
            for p in reversed(pad):  # F.pad lists the last axis first
                lo, hi = (p, p) if isinstance(p, int) else p
                flat_pad += [lo, hi]
            return TORCH_CONV[n](F.pad(x, flat_pad), w, **kw)
        p = tuple(pad) if isinstance(pad, list) else pad
        return TORCH_CONV[n](x, w, padding=p, **{k: tuple(v) if isinstance(v, list) else v
                                                   for k, v in kw.items()})

    record(name, "conv", opts, fn, randn(*xs), randn(*ws))


def conv_t(name, xs, ws, **opts):
    n = len(ws) - 2
    targs = {{"outputPadding": "output_padding"}.get(k, k): tuple(v) if isinstance(v, list) else v
             for k, v in opts.items()}
    record(name, "convTranspose", opts, lambda x, w: TORCH_CONVT[n](x, w, **targs),
           randn(*xs), randn(*ws))


# --- conv ---------------------------------------------------------------------------------
conv("1d basic", [2, 3, 9], [4, 3, 3])
conv("1d stride 2 padding 1", [2, 3, 10], [4, 3, 3], stride=2, padding=1)
conv("1d dilation 2 same", [1, 2, 11], [3, 2, 3], dilation=2, padding="same")
conv("1d even kernel same", [2, 2, 8], [3, 2, 4], padding="same")
conv("1d even kernel dilation 3 same", [2, 2, 12], [3, 2, 4], dilation=3, padding="same")
conv("1d groups 2 stride 2", [2, 4, 9], [6, 2, 3], groups=2, stride=2)
conv("1d depthwise multiplier 2 padding 1", [2, 3, 8], [6, 1, 3], groups=3, padding=1)
conv("1d valid", [1, 2, 7], [2, 2, 5], padding="valid")
conv("1d unbatched", [3, 9], [4, 3, 3], padding=1)
conv("1d [lo, hi] padding", [2, 2, 7], [3, 2, 3], padding=[[2, 1]])
conv("1d kernel 1", [2, 3, 5], [2, 3, 1])
conv("2d basic", [2, 3, 7, 6], [4, 3, 3, 3])
conv("2d stride [2,1] padding [1,0]", [2, 3, 9, 7], [5, 3, 3, 2], stride=[2, 1], padding=[1, 0])
conv("2d stride 2 padding 1 odd sizes batch 1", [1, 2, 9, 11], [4, 2, 3, 3], stride=2, padding=1)
conv("2d dilation 2 padding 2", [2, 2, 9, 8], [3, 2, 3, 3], dilation=2, padding=2)
conv("2d dilation [2,1] stride [1,2]", [2, 2, 9, 9], [3, 2, 3, 3], dilation=[2, 1], stride=[1, 2])
conv("2d even kernel same", [2, 2, 6, 7], [3, 2, 2, 4], padding="same")
conv("2d even kernel dilation [2,3] same", [1, 2, 8, 9], [2, 2, 2, 3], dilation=[2, 3],
     padding="same")
conv("2d groups 2 padding 1", [2, 4, 6, 6], [6, 2, 3, 3], groups=2, padding=1)
conv("2d depthwise stride 2 padding 1", [2, 4, 7, 7], [4, 1, 3, 3], groups=4, stride=2, padding=1)
conv("2d 1x1", [2, 5, 4, 3], [3, 5, 1, 1])
conv("2d unbatched", [3, 6, 5], [4, 3, 3, 2], padding=[1, 0])
conv("2d batch 1 wider", [1, 8, 10, 10], [16, 8, 3, 3], padding=1)
conv("2d [lo, hi] padding", [2, 2, 5, 6], [3, 2, 3, 3], padding=[[1, 0], [0, 2]])
conv("2d mixed padding [1, [0, 2]]", [1, 2, 5, 6], [2, 2, 3, 3], padding=[1, [0, 2]])
conv("2d valid stride 3", [2, 3, 11, 10], [2, 3, 4, 3], padding="valid", stride=3)
conv("2d groups 3 dilation 2 stride 2", [1, 6, 11, 10], [9, 2, 3, 2], groups=3, dilation=2,
     stride=2, padding=[2, 1])
conv("3d basic", [2, 2, 5, 4, 6], [3, 2, 2, 3, 2])
conv("3d stride [2,1,2] padding 1 dilation [1,2,1]", [1, 3, 6, 7, 5], [2, 3, 3, 2, 3],
     stride=[2, 1, 2], padding=1, dilation=[1, 2, 1])
conv("3d groups 2 same", [2, 4, 4, 5, 3], [4, 2, 3, 2, 3], groups=2, padding="same")
conv("3d unbatched depthwise", [2, 4, 5, 4], [2, 1, 2, 2, 2], groups=2, stride=[1, 2, 1])

# --- convTranspose ------------------------------------------------------------------------
conv_t("1d basic", [2, 3, 5], [3, 4, 3])
conv_t("1d stride 2 padding 1 outputPadding 1", [2, 3, 5], [3, 2, 3], stride=2, padding=1,
       outputPadding=1)
conv_t("1d stride 3 dilation 2 outputPadding 2", [1, 2, 4], [2, 3, 3], stride=3, dilation=2,
       outputPadding=2)
conv_t("1d stride 1 dilation 2 outputPadding 1", [2, 2, 5], [2, 2, 3], dilation=2,
       outputPadding=1)
conv_t("1d groups 2", [2, 4, 5], [4, 3, 3], groups=2, stride=2)
conv_t("1d unbatched", [3, 6], [3, 2, 4], stride=2, padding=1)
conv_t("2d stride 2 padding 1 outputPadding 1", [2, 3, 4, 5], [3, 2, 3, 3], stride=2, padding=1,
       outputPadding=1)
conv_t("2d stride [2,1] padding [0,1] outputPadding [1,0] dilation [1,2]", [2, 2, 4, 5],
       [2, 3, 3, 3], stride=[2, 1], padding=[0, 1], outputPadding=[1, 0], dilation=[1, 2])
conv_t("2d depthwise groups 3", [2, 3, 4, 4], [3, 1, 3, 3], groups=3, stride=2)
conv_t("2d groups 2 out 4", [1, 4, 3, 5], [4, 2, 2, 3], groups=2, padding=[1, 0])
conv_t("2d unbatched", [2, 3, 4], [2, 3, 2, 2], stride=2)
conv_t("2d batch 1 kernel 4 stride 2 padding 1", [1, 4, 5, 5], [4, 3, 4, 4], stride=2, padding=1)
conv_t("3d stride 2 padding [0,1,0] outputPadding [1,0,1]", [1, 2, 3, 3, 4], [2, 3, 2, 3, 2],
       stride=2, padding=[0, 1, 0], outputPadding=[1, 0, 1])
conv_t("3d groups 2 dilation 2", [2, 4, 2, 3, 2], [4, 1, 2, 2, 2], groups=2, dilation=2)


# --- pools --------------------------------------------------------------------------------
def tup(v):
    return tuple(v) if isinstance(v, list) else v


def max_pool(name, xs, window, **opts):
    n = len(xs) - 2
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    targs = {k: tup(v) for k, v in opts.items()}
    record(name, "maxPool", {"window": window, **opts}, lambda x: fn(x, tup(window), **targs),
           distinct(*xs))


def avg_pool(name, xs, window, **opts):
    n = len(xs) - 2
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    targs = {{"countIncludePad": "count_include_pad"}.get(k, k): tup(v) for k, v in opts.items()}
    record(name, "avgPool", {"window": window, **opts}, lambda x: fn(x, tup(window), **targs),
           randn(*xs))


def adaptive(name, xs, out):
    n = len(xs) - 2
    fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[n]
    record(name, "adaptiveAvgPool", {"outputSize": out}, lambda x: fn(x, tup(out)), randn(*xs))


max_pool("1d window 3 stride 2 padding 1", [2, 3, 11], 3, stride=2, padding=1)
max_pool("1d window 2 dilation 2 stride 1", [2, 2, 9], 2, stride=1, dilation=2)
max_pool("2d window 2", [2, 3, 8, 8], 2)
max_pool("2d window 2 odd sizes (floor)", [1, 2, 7, 9], 2)
max_pool("2d window 3 stride 2 padding 1 (overlapping)", [2, 2, 9, 8], 3, stride=2, padding=1)
max_pool("2d window 2 stride 1 (overlapping)", [1, 2, 5, 6], 2, stride=1)
max_pool("2d window [3,2] stride [1,2] padding [1,0] dilation [2,1]", [2, 2, 8, 7], [3, 2],
         stride=[1, 2], padding=[1, 0], dilation=[2, 1])
max_pool("3d window 2 stride [1,2,2] padding [1,0,1]", [1, 2, 5, 6, 4], 2, stride=[1, 2, 2],
         padding=[1, 0, 1])
max_pool("3d window 3 dilation 2", [1, 1, 7, 6, 7], 3, stride=1, dilation=2)

for cip in [True, False]:
    s = "countIncludePad" if cip else "no countIncludePad"
    avg_pool(f"1d window 3 stride 2 padding 1 {s}", [2, 3, 10], 3, stride=2, padding=1,
             countIncludePad=cip)
    avg_pool(f"2d window 3 stride 2 padding 1 {s}", [2, 2, 9, 8], 3, stride=2, padding=1,
             countIncludePad=cip)
    avg_pool(f"2d window [3,2] stride [2,1] padding [1,1] {s}", [1, 2, 7, 6], [3, 2],
             stride=[2, 1], padding=[1, 1], countIncludePad=cip)
    avg_pool(f"3d window 2 stride 2 padding 1 {s}", [1, 2, 5, 4, 6], 2, stride=2, padding=1,
             countIncludePad=cip)
avg_pool("2d window 2", [2, 3, 8, 6], 2)
avg_pool("2d window 2 odd sizes stride 1", [1, 2, 5, 7], 2, stride=1)

adaptive("1d 7->3", [2, 3, 7], 3)
adaptive("1d 5->2", [2, 2, 5], 2)
adaptive("1d 8->4", [1, 2, 8], 4)
adaptive("1d 6->1 (global)", [2, 3, 6], 1)
adaptive("1d 3->5 (upsampling)", [1, 2, 3], 5)
adaptive("2d [7,5]->[3,2]", [2, 2, 7, 5], [3, 2])
adaptive("2d [8,6]->[4,3]", [1, 3, 8, 6], [4, 3])
adaptive("2d [5,7]->[null,3]", [1, 2, 5, 7], [None, 3])
adaptive("2d 1 (global)", [2, 3, 4, 5], 1)
adaptive("3d [5,6,7]->[2,3,3]", [1, 2, 5, 6, 7], [2, 3, 3])

out = {"torch": torch.__version__, "cases": cases}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "conv.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
counts = {}
for c in cases:
    counts[c["op"]] = counts.get(c["op"], 0) + 1
print(f"wrote {path}: {len(cases)} cases {counts}, {os.path.getsize(path)} bytes")
