#!/usr/bin/python3
"""Generate PyTorch reference values for the normalization tests (tests/norm_test.ts).

Run with the Debian system interpreter (python3-torch):

    /usr/bin/python3 tests/make_norm_fixtures.py

Writes tests/fixtures/norm.json. Everything is float64. Inputs are rounded to 12 significant
digits first, so the stored outputs belong exactly to the stored inputs. Every tensor is
{"shape": [...], "data": [flat row-major values]}.

Layout:
- "batchNorm": cases, each with weight/bias (null when affine=False), momentum (null: torch's
  cumulative average), and "steps": a list of {x, training, cot, y, dx, dweight, dbias,
  runningMean, runningVar, numBatchesTracked} in order: several training steps, then eval
  steps, on the same module, so the state updates are torch's after each step. Gradients are
  of sum(y * cot).
- "layerNorm", "groupNorm", "instanceNorm": cases with x, weight/bias (or null), the options,
  cot, y and the gradients dx, dweight, dbias of sum(y * cot).
"""

import json
import os

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261204)


def r12(a):
    return np.vectorize(lambda v: float(f"{v:.12g}"))(np.asarray(a, dtype=np.float64))


def T(t):
    t = t.detach() if isinstance(t, torch.Tensor) else torch.tensor(t)
    return {"shape": list(t.shape), "data": [float(f"{v:.15g}") for v in t.reshape(-1).tolist()]}


def randn(*shape, scale=1.0, shift=0.0):
    return r12(rng.normal(size=shape) * scale + shift)


def set_affine(mod, c):
    """Random affine parameters (so the test sees them act); returns their fixtures."""
    if getattr(mod, "weight", None) is None:
        return None, None
    w, b = randn(*mod.weight.shape, scale=0.5, shift=1.0), randn(*mod.bias.shape, scale=0.5)
    with torch.no_grad():
        mod.weight.copy_(torch.tensor(w))
        mod.bias.copy_(torch.tensor(b))
    return T(w), T(b)


def run(mod, x):
    """y, cot, and the gradients of sum(y * cot) for one forward pass of mod."""
    xt = torch.tensor(x, requires_grad=True)
    y = mod(xt)
    cot = randn(*y.shape)
    params = [xt] + ([mod.weight, mod.bias] if getattr(mod, "weight", None) is not None else [])
    for p in params[1:]:
        p.grad = None
    grads = torch.autograd.grad((y * torch.tensor(cot)).sum(), params)
    out = {"x": T(x), "cot": T(cot), "y": T(y), "dx": T(grads[0])}
    if len(grads) == 3:
        out["dweight"], out["dbias"] = T(grads[1]), T(grads[2])
    return out


batch_norm = []


def bn_case(name, cls, c, shapes, affine=True, momentum=0.1, train_steps=3, shift=1.5):
    mod = cls(c, affine=affine, momentum=momentum)
    w, b = set_affine(mod, c)
    steps = []
    for i in range(train_steps + 2):
        training = i < train_steps
        mod.train(training)
        # Per-channel offsets so the running statistics move visibly and differ by channel.
        offsets = np.arange(c).reshape([1, c] + [1] * (len(shapes) - 2)) * 0.5
        x = r12(randn(*shapes, scale=2.0, shift=shift) + offsets)
        s = run(mod, x)
        s["training"] = training
        s["runningMean"] = T(mod.running_mean)
        s["runningVar"] = T(mod.running_var)
        s["numBatchesTracked"] = int(mod.num_batches_tracked)
        steps.append(s)
    batch_norm.append({"name": name, "numFeatures": c, "affine": affine, "momentum": momentum,
                       "weight": w, "bias": b, "steps": steps})


bn_case("BatchNorm2d [4,3,5,5]", nn.BatchNorm2d, 3, (4, 3, 5, 5))
bn_case("BatchNorm1d [8,5]", nn.BatchNorm1d, 5, (8, 5))
bn_case("BatchNorm1d [4,3,7]", nn.BatchNorm1d, 3, (4, 3, 7))
bn_case("BatchNorm3d [2,2,3,4,3]", nn.BatchNorm3d, 2, (2, 2, 3, 4, 3))
bn_case("BatchNorm2d no affine", nn.BatchNorm2d, 3, (2, 3, 4, 4), affine=False)
bn_case("BatchNorm2d momentum 0.3", nn.BatchNorm2d, 2, (3, 2, 3, 3), momentum=0.3)
bn_case("BatchNorm2d cumulative (momentum None)", nn.BatchNorm2d, 2, (3, 2, 3, 3), momentum=None,
        train_steps=4)
bn_case("BatchNorm2d batch 1", nn.BatchNorm2d, 3, (1, 3, 2, 3))


def simple(kind, name, mod, shape, opts):
    w, b = set_affine(mod, None)
    case = {"name": name, "opts": opts, "weight": w, "bias": b}
    case.update(run(mod, randn(*shape, scale=1.5, shift=0.7)))
    return case


layer_norm = [
    simple("layerNorm", "[3,4,5] over [5]", nn.LayerNorm([5]), (3, 4, 5), {"normalizedShape": [5]}),
    simple("layerNorm", "[3,4,5] over [4,5]", nn.LayerNorm([4, 5]), (3, 4, 5),
           {"normalizedShape": [4, 5]}),
    simple("layerNorm", "[6,8] no affine", nn.LayerNorm(8, elementwise_affine=False), (6, 8),
           {"normalizedShape": [8]}),
    simple("layerNorm", "[2,3,6] eps 1e-3", nn.LayerNorm(6, eps=1e-3), (2, 3, 6),
           {"normalizedShape": [6], "eps": 1e-3}),
]

group_norm = [
    simple("groupNorm", "[2,6,4,4] 3 groups", nn.GroupNorm(3, 6), (2, 6, 4, 4), {"numGroups": 3}),
    simple("groupNorm", "[3,4] 2 groups", nn.GroupNorm(2, 4), (3, 4), {"numGroups": 2}),
    simple("groupNorm", "[2,4,7] 4 groups", nn.GroupNorm(4, 4), (2, 4, 7), {"numGroups": 4}),
    simple("groupNorm", "[2,6,3,3] 1 group no affine", nn.GroupNorm(1, 6, affine=False),
           (2, 6, 3, 3), {"numGroups": 1}),
]

instance_norm = [
    simple("instanceNorm", "[2,3,4,4]", nn.InstanceNorm2d(3), (2, 3, 4, 4), {}),
    simple("instanceNorm", "[2,3,4,4] affine", nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4),
           {"affine": True}),
    simple("instanceNorm", "[2,3,9] 1d affine", nn.InstanceNorm1d(3, affine=True), (2, 3, 9),
           {"affine": True}),
    simple("instanceNorm", "[1,2,3,3,3] 3d", nn.InstanceNorm3d(2), (1, 2, 3, 3, 3), {}),
]

out = {"torch": torch.__version__, "batchNorm": batch_norm, "layerNorm": layer_norm,
       "groupNorm": group_norm, "instanceNorm": instance_norm}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "norm.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
print(f"wrote {path}: {len(batch_norm)} batchNorm, {len(layer_norm)} layerNorm, "
      f"{len(group_norm)} groupNorm, {len(instance_norm)} instanceNorm cases")
