#!/usr/bin/python3
"""Writes tests/fixtures/optim.json: parameters after each of the first 3 steps of torch.optim.

Run with `/usr/bin/python3 tests/make_optim_fixtures.py` (needs torch and numpy). The test
`tests/optim_test.ts` replays every case with `k.optim` and needs only the JSON.

The problem: params w [3, 2] and b [2]; loss = sum((x @ w + b - y)^2) with fixed x [5, 3] and
y [5, 2]; everything in float64. Gradients come from torch autograd here and from `k.grad` in the
test. Each case lists its options under Kiln's names; `TORCH_NAMES` maps them to torch's.
"""

import json
import math
import os

import numpy as np
import torch

STEPS = 3
TORCH_NAMES = {
    "momentum": "momentum",
    "dampening": "dampening",
    "nesterov": "nesterov",
    "weightDecay": "weight_decay",
    "initialAccumulatorValue": "initial_accumulator_value",
    "lrDecay": "lr_decay",
    "eps": "eps",
    "decay": "alpha",
    "centered": "centered",
    "amsgrad": "amsgrad",
}
CLASSES = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}

# (name, optimizer, lr, Kiln options, schedule or None). A schedule is a Kiln schedule
# description; `factor` below gives its value divided by lr for torch's LambdaLR.
CASES = [
    ("sgd", "sgd", 0.01, {}, None),
    ("sgd momentum", "sgd", 0.01, {"momentum": 0.9}, None),
    ("sgd momentum dampening wd", "sgd", 0.01,
     {"momentum": 0.8, "dampening": 0.3, "weightDecay": 0.05}, None),
    ("sgd nesterov", "sgd", 0.01, {"momentum": 0.9, "nesterov": True}, None),
    ("sgd nesterov wd", "sgd", 0.02, {"momentum": 0.5, "nesterov": True, "weightDecay": 0.1},
     None),
    ("adagrad", "adagrad", 0.1, {}, None),
    ("adagrad init acc", "adagrad", 0.1, {"initialAccumulatorValue": 0.5}, None),
    ("adagrad init acc lrDecay wd eps", "adagrad", 0.2,
     {"initialAccumulatorValue": 0.1, "lrDecay": 0.3, "weightDecay": 0.02, "eps": 1e-3}, None),
    ("rmsprop", "rmsprop", 0.01, {}, None),
    ("rmsprop centered", "rmsprop", 0.01, {"centered": True}, None),
    ("rmsprop momentum", "rmsprop", 0.01, {"momentum": 0.9}, None),
    ("rmsprop centered momentum decay eps wd", "rmsprop", 0.005,
     {"centered": True, "momentum": 0.7, "decay": 0.9, "eps": 1e-4, "weightDecay": 0.03}, None),
    ("adam", "adam", 0.1, {}, None),
    ("adam betas eps wd", "adam", 0.05,
     {"b1": 0.8, "b2": 0.95, "eps": 1e-3, "weightDecay": 0.1}, None),
    ("adam amsgrad", "adam", 0.1, {"amsgrad": True}, None),
    ("adamw", "adamw", 0.1, {}, None),
    ("adamw wd amsgrad", "adamw", 0.05, {"weightDecay": 0.3, "amsgrad": True, "b2": 0.9}, None),
    ("sgd momentum exponentialDecay", "sgd", 0.02, {"momentum": 0.9},
     {"kind": "exponentialDecay", "init": 0.02, "decayRate": 0.5, "transitionSteps": 2}),
    ("adam piecewiseConstant", "adam", 0.1, {},
     {"kind": "piecewiseConstant", "init": 0.1, "boundariesAndScales": {"1": 0.5, "2": 0.2}}),
    ("adagrad lrDecay cosineDecay", "adagrad", 0.1, {"lrDecay": 0.5},
     {"kind": "cosineDecay", "init": 0.1, "decaySteps": 4, "alpha": 0.1}),
]


def factor(sched, step):
    """The schedule's value at `step` over its initial value (closed forms, as documented)."""
    kind = sched["kind"]
    if kind == "exponentialDecay":
        return sched["decayRate"] ** (step / sched["transitionSteps"])
    if kind == "piecewiseConstant":
        f = 1.0
        for b, s in sorted((int(b), s) for b, s in sched["boundariesAndScales"].items()):
            if step >= b:
                f *= s
        return f
    if kind == "cosineDecay":
        t = min(step, sched["decaySteps"])
        c = 0.5 * (1 + math.cos(math.pi * t / sched["decaySteps"]))
        return (1 - sched["alpha"]) * c + sched["alpha"]
    raise ValueError(kind)


def main():
    rng = np.random.default_rng(6)
    data = {
        "x": np.round(rng.normal(size=(5, 3)), 3),
        "y": np.round(rng.normal(size=(5, 2)), 3),
        "w": np.round(rng.normal(size=(3, 2)), 3),
        "b": np.round(rng.normal(size=(2,)), 3),
    }
    x = torch.tensor(data["x"], dtype=torch.float64)
    y = torch.tensor(data["y"], dtype=torch.float64)
    cases = []
    for name, opt, lr, options, sched in CASES:
        w = torch.tensor(data["w"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(data["b"], dtype=torch.float64, requires_grad=True)
        torch_opts = {TORCH_NAMES[k]: v for k, v in options.items() if k not in ("b1", "b2")}
        if "b1" in options or "b2" in options:
            torch_opts["betas"] = (options.get("b1", 0.9), options.get("b2", 0.999))
        o = CLASSES[opt]([w, b], lr=lr, **torch_opts)
        lr_sched = None
        if sched is not None:
            assert sched["init"] == lr
            lr_sched = torch.optim.lr_scheduler.LambdaLR(o, lambda e, s=sched: factor(s, e))
        steps = []
        for _ in range(STEPS):
            o.zero_grad()
            loss = ((x @ w + b - y) ** 2).sum()
            loss.backward()
            o.step()
            if lr_sched is not None:
                lr_sched.step()
            steps.append({"w": w.detach().tolist(), "b": b.detach().tolist()})
        cases.append({
            "name": name,
            "optimizer": opt,
            "lr": lr,
            "options": options,
            "schedule": sched,
            "steps": steps,
        })
    out = {
        "generator": "tests/make_optim_fixtures.py",
        "torch": torch.__version__,
        "loss": "sum((x @ w + b - y)^2), float64",
        **{k: v.tolist() for k, v in data.items()},
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "optim.json")
    # One line per top-level field and per case: compact, and diffs stay readable.
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items() if k != "cases"]
    body = ",\n".join(f"  {json.dumps(c)}" for c in cases)
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + ',\n "cases": [\n' + body + "\n ]\n}\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
