#!/usr/bin/python3
"""Generate PyTorch reference values for the nn tests (tests/nn_test.ts).

Run with the Debian system interpreter (python3-torch):

    /usr/bin/python3 tests/make_nn_fixtures.py

Writes tests/fixtures/nn.json. Everything is computed in float64. Inputs are rounded to 12
significant digits before the references are computed, so the stored outputs belong exactly to
the stored inputs. Layout: {"activations": [...], "losses": [...]}; each case has flat row-major
"data" lists and "shape"s. The class axis of Kiln's losses is the last one; PyTorch wants it
second, so 3-D logits are permuted before calling PyTorch.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20240610)


def r12(a):
    return np.vectorize(lambda v: float(f"{v:.12g}"))(np.asarray(a, dtype=np.float64))


def flat(t):
    return [float(f"{v:.15g}") for v in t.detach().reshape(-1).tolist()]


def tens(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


X = r12([-100, -20, -5, -1.5, -0.5, -1e-3, 0, 1e-3, 0.5, 1.5, 5, 20, 100])

ACTS = {
    "relu": lambda x: F.relu(x),
    "leakyRelu": lambda x: F.leaky_relu(x, 0.01),
    "leakyRelu(0.2)": lambda x: F.leaky_relu(x, 0.2),
    "elu": lambda x: F.elu(x, 1.0),
    "elu(0.5)": lambda x: F.elu(x, 0.5),
    "gelu": lambda x: F.gelu(x),
    "gelu(tanh)": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    # logaddexp(x, 0): PyTorch's F.softplus switches to x above a threshold.
    "softplus": lambda x: torch.logaddexp(x, torch.zeros_like(x)),
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
}

activations = []
for name, f in ACTS.items():
    x = tens(X, grad=True)
    y = f(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    activations.append({"name": name, "x": flat(x), "y": flat(y), "dydx": flat(g)})

losses = []


def add_case(name, kind, inputs, opts, fn, wrt="logits"):
    """fn(**torch inputs) -> loss; records value and d(loss)/d(inputs[wrt]) for the mean."""
    ts = {}
    for k, (a, dtype) in inputs.items():
        ts[k] = tens(a, grad=(k == wrt)) if dtype == "float64" else torch.tensor(a)
    out = fn(**ts)
    case = {
        "name": name,
        "kind": kind,
        "opts": opts,
        "inputs": {
            k: {"shape": list(np.shape(a)), "dtype": d, "data": [float(v) if d == "float64" else int(v) for v in np.asarray(a).reshape(-1)]}
            for k, (a, d) in inputs.items()
        },
        "output": {"shape": list(out.shape), "data": flat(out)},
    }
    if out.dim() == 0:
        (g,) = torch.autograd.grad(out, ts[wrt])
        case["grad"] = flat(g)
    losses.append(case)


logits = r12(rng.normal(size=(5, 4)) * 2)
labels = np.array([3, 0, 1, 3, 2], dtype=np.int32)
probs = r12(rng.dirichlet(np.ones(4), size=5))
onehot = np.eye(4)[labels]
logits3 = r12(rng.normal(size=(2, 3, 4)) * 3)
labels3 = rng.integers(0, 4, size=(2, 3)).astype(np.int32)


def ce(reduction, ls=0.0, three=False):
    def f(logits, labels):
        x = logits.permute(0, 2, 1) if three else logits
        y = labels.long() if labels.dtype == torch.int32 else (labels.permute(0, 2, 1) if three else labels)
        return F.cross_entropy(x, y, reduction=reduction, label_smoothing=ls)
    return f


for red in ["mean", "sum", "none"]:
    add_case(f"ce indices {red}", "softmaxCrossEntropy",
             {"logits": (logits, "float64"), "labels": (labels, "int32")}, {"reduction": red}, ce(red))
    add_case(f"ce probs {red}", "softmaxCrossEntropy",
             {"logits": (logits, "float64"), "labels": (probs, "float64")}, {"reduction": red}, ce(red))
add_case("ce indices label smoothing 0.1", "softmaxCrossEntropy",
         {"logits": (logits, "float64"), "labels": (labels, "int32")},
         {"labelSmoothing": 0.1}, ce("mean", 0.1))
add_case("ce probs label smoothing 0.2", "softmaxCrossEntropy",
         {"logits": (logits, "float64"), "labels": (probs, "float64")},
         {"labelSmoothing": 0.2}, ce("mean", 0.2))
add_case("ce 3-d indices", "softmaxCrossEntropy",
         {"logits": (logits3, "float64"), "labels": (labels3, "int32")}, {}, ce("mean", three=True))
add_case("ce 3-d indices none", "softmaxCrossEntropy",
         {"logits": (logits3, "float64"), "labels": (labels3, "int32")}, {"reduction": "none"},
         ce("none", three=True))

bx = r12(np.concatenate([rng.normal(size=8) * 3, [60.0, -60.0, 0.0, 1e-6]]).reshape(3, 4))
bt = r12(np.concatenate([rng.uniform(size=8), [0.0, 1.0, 1.0, 0.3]]).reshape(3, 4))
for red in ["mean", "sum", "none"]:
    add_case(f"bce {red}", "sigmoidBinaryCrossEntropy",
             {"logits": (bx, "float64"), "targets": (bt, "float64")}, {"reduction": red},
             lambda logits, targets, red=red: F.binary_cross_entropy_with_logits(logits, targets, reduction=red))

p = r12(rng.normal(size=(3, 4)))
q = r12(rng.normal(size=(3, 4)))
for red in ["mean", "sum", "none"]:
    add_case(f"mse {red}", "mse", {"pred": (p, "float64"), "target": (q, "float64")},
             {"reduction": red}, lambda pred, target, red=red: F.mse_loss(pred, target, reduction=red),
             wrt="pred")

hx = r12(rng.normal(size=(6, 5)))
hy = np.array([0, 4, 2, 2, 1, 3], dtype=np.int32)
for red in ["mean", "sum", "none"]:
    add_case(f"hinge {red}", "hinge", {"logits": (hx, "float64"), "labels": (hy, "int32")},
             {"reduction": red},
             lambda logits, labels, red=red: F.multi_margin_loss(logits, labels.long(), reduction=red))
add_case("hinge margin 0.5", "hinge", {"logits": (hx, "float64"), "labels": (hy, "int32")},
         {"margin": 0.5},
         lambda logits, labels: F.multi_margin_loss(logits, labels.long(), margin=0.5))

out = {"torch": torch.__version__, "activations": activations, "losses": losses}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
print(f"wrote {path}: {len(activations)} activations, {len(losses)} loss cases")
