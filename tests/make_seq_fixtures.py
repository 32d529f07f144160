#!/usr/bin/python3
"""Writes tests/fixtures/seq.json: PyTorch 1.13 (float64) references for the sequence layers.

Run: /usr/bin/python3 tests/make_seq_fixtures.py (torch + numpy). Covers torch's RNNCell,
LSTMCell, GRUCell, RNN/LSTM/GRU (stacked, bidirectional, batch-first, unbatched),
MultiheadAttention (self/cross, bool and float masks, key padding), TransformerEncoderLayer and
TransformerDecoderLayer in eval mode (post/pre-norm, relu/gelu), and scaled dot-product
attention written out from its definition (torch 1.13 has no public
F.scaled_dot_product_attention). Every case stores the inputs, the module's own weights renamed
to Kiln's parameter pytree, the outputs, and the gradients of sum(output * cotangent).
"""
import json
import math
import os

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [round(float(v), 15) for v in t.reshape(-1)]}


def tree(x):
    if isinstance(x, torch.Tensor):
        return enc(x)
    if isinstance(x, dict):
        return {k: tree(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [tree(v) for v in x]
    return x


def grads(x):
    if isinstance(x, torch.Tensor):
        return enc(x.grad if x.grad is not None else torch.zeros_like(x))
    if isinstance(x, dict):
        return {k: grads(v) for k, v in x.items()}
    return [grads(v) for v in x]


def leaves(x):
    if isinstance(x, torch.Tensor):
        return [x]
    vals = x.values() if isinstance(x, dict) else x
    return [t for v in vals for t in leaves(v)]


def randn(*shape):
    return torch.randn(*shape).requires_grad_(True)


def cell_params(m, suffix=""):
    p = {"weightIh": getattr(m, "weight_ih" + suffix), "weightHh": getattr(m, "weight_hh" + suffix)}
    if getattr(m, "bias", True) is not False and hasattr(m, "bias_ih" + suffix):
        p["biasIh"] = getattr(m, "bias_ih" + suffix)
        p["biasHh"] = getattr(m, "bias_hh" + suffix)
    return p


def cot_loss(outs):
    cots = [torch.randn_like(o) for o in outs]
    loss = sum((o * c).sum() for o, c in zip(outs, cots))
    loss.backward()
    return cots


# ---- cells ----------------------------------------------------------------------------------
cells = []
for name, ctor, kw in [
    ("rnnCell", torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    ("rnnCell", torch.nn.RNNCell, {"nonlinearity": "relu"}),
    ("lstmCell", torch.nn.LSTMCell, {}),
    ("gruCell", torch.nn.GRUCell, {}),
    ("gruCell", torch.nn.GRUCell, {"bias": False}),
]:
    m = ctor(4, 5, **kw)
    x, h = randn(3, 4), randn(3, 5)
    if name == "lstmCell":
        c = randn(3, 5)
        h2, c2 = m(x, (h, c))
        carry, out, new = {"h": h, "c": c}, [h2, c2], {"h": h2, "c": c2}
    else:
        h2 = m(x, h)
        carry, out, new = h, [h2], h2
    cots = cot_loss(out)
    p = cell_params(m)
    cells.append({
        "kind": name, "opts": {k: v for k, v in kw.items() if k == "nonlinearity"},
        "params": tree(p), "x": enc(x), "carry": tree(carry), "newCarry": tree(new),
        "cot": tree(cots), "dx": grads(x), "dcarry": grads(carry), "dparams": grads(p),
    })

# ---- sequence layers ------------------------------------------------------------------------
seqs = []
for name, ctor, kw, batched in [
    ("lstm", torch.nn.LSTM, {"num_layers": 2, "bidirectional": True}, True),
    ("gru", torch.nn.GRU, {"num_layers": 2, "bidirectional": True, "batch_first": True}, True),
    ("rnn", torch.nn.RNN, {"nonlinearity": "relu"}, True),
    ("lstm", torch.nn.LSTM, {"batch_first": True}, False),
    ("gru", torch.nn.GRU, {}, True),
]:
    m = ctor(3, 4, **kw)
    layers, dirs = kw.get("num_layers", 1), 2 if kw.get("bidirectional") else 1
    bf = kw.get("batch_first", False)
    shape = ([2, 5, 3] if bf else [5, 2, 3]) if batched else [5, 3]
    x = randn(*shape)
    hshape = [layers * dirs, 2, 4] if batched else [layers * dirs, 4]
    h0 = randn(*hshape)
    if name == "lstm":
        c0 = randn(*hshape)
        y, (hn, cn) = m(x, (h0, c0))
        carry, outs, new = {"h": h0, "c": c0}, [y, hn, cn], {"h": hn, "c": cn}
    else:
        y, hn = m(x, h0)
        carry, outs, new = h0, [y, hn], hn
    cots = cot_loss(outs)
    p = {"layers": [[cell_params(m, f"_l{l}" + ("_reverse" if d else "")) for d in range(dirs)]
                    for l in range(layers)]}
    seqs.append({
        "kind": name, "numLayers": layers, "bidirectional": dirs == 2, "batchFirst": bf,
        "nonlinearity": kw.get("nonlinearity", "tanh"),
        "params": tree(p), "x": enc(x), "carry": tree(carry), "y": enc(y), "newCarry": tree(new),
        "cot": tree(cots), "dx": grads(x), "dcarry": grads(carry), "dparams": grads(p),
    })

# ---- scaled dot-product attention (from its definition) --------------------------------------
def sdpa(q, k, v, mask=None, causal=False, bias=None, scale=None):
    s = (q @ k.transpose(-2, -1)) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if bias is not None:
        s = s + bias
    valid = torch.ones(s.shape, dtype=torch.bool)
    if mask is not None:
        valid = valid & mask
    if causal:
        valid = valid & torch.ones(s.shape[-2], s.shape[-1], dtype=torch.bool).tril()
    p = torch.softmax(s.masked_fill(~valid, float("-inf")), -1)
    p = torch.where(valid.any(-1, keepdim=True), p, torch.zeros(()))  # Kiln: empty rows give 0
    return p @ v


attn = []
for case in [
    {"name": "plain", "q": [2, 3, 4, 5], "k": [2, 3, 6, 5], "v": [2, 3, 6, 4]},
    {"name": "causal", "q": [2, 2, 5, 4], "k": [2, 2, 5, 4], "v": [2, 2, 5, 3], "causal": True},
    {"name": "causal L<S", "q": [1, 2, 3, 4], "k": [1, 2, 5, 4], "v": [1, 2, 5, 4], "causal": True},
    {"name": "bool mask with an empty row", "q": [2, 2, 4, 3], "k": [2, 2, 5, 3], "v": [2, 2, 5, 3],
     "mask": [2, 1, 4, 5]},
    {"name": "bias and scale, no heads", "q": [3, 4], "k": [5, 4], "v": [5, 2], "bias": [3, 5],
     "scale": 0.3},
]:
    q, k, v = randn(*case["q"]), randn(*case["k"]), randn(*case["v"])
    mask = bias = None
    if "mask" in case:
        mask = torch.rand(*case["mask"]) > 0.4
        mask[0, 0, 1, :] = False  # a query with nothing to attend to
        mask[1, 0, :, 0] = True
    if "bias" in case:
        bias = randn(*case["bias"])
    y = sdpa(q, k, v, mask, case.get("causal", False), bias, case.get("scale"))
    cots = cot_loss([y])
    attn.append({
        "name": case["name"], "causal": case.get("causal", False), "scale": case.get("scale"),
        "q": enc(q), "k": enc(k), "v": enc(v), "y": enc(y), "cot": enc(cots[0]),
        "mask": None if mask is None else {"shape": list(mask.shape), "data": [int(b) for b in mask.reshape(-1)]},
        "bias": None if bias is None else enc(bias),
        "dq": grads(q), "dk": grads(k), "dv": grads(v), "dbias": None if bias is None else grads(bias),
    })


# ---- multi-head attention -------------------------------------------------------------------
def mha_params(m):
    p = {"inProjBias": m.in_proj_bias, "outProjWeight": m.out_proj.weight,
         "outProjBias": m.out_proj.bias}
    if m._qkv_same_embed_dim:
        p["inProjWeight"] = m.in_proj_weight
    else:
        p.update(qProjWeight=m.q_proj_weight, kProjWeight=m.k_proj_weight,
                 vProjWeight=m.v_proj_weight)
    return p


def encm(m):
    if m is None:
        return None
    if m.dtype == torch.bool:
        return {"shape": list(m.shape), "data": [int(b) for b in m.reshape(-1)], "bool": True}
    return enc(m)


mhas = []
for case in [
    {"name": "self, causal bool mask, key padding", "bf": False, "L": 4, "S": 4, "self": True,
     "attnMask": "causal", "kpm": True},
    {"name": "cross, float mask, batch first, per-head weights", "bf": True, "L": 3, "S": 5,
     "self": False, "attnMask": "float", "kpm": False, "avg": False},
    {"name": "unbatched self", "bf": False, "L": 4, "S": 4, "self": True, "unbatched": True},
    {"name": "cross, kdim 6 and vdim 5, key padding", "bf": True, "L": 3, "S": 4, "self": False,
     "kpm": True, "kdim": 6, "vdim": 5},
]:
    E, H, B = 8, 2, 2
    m = torch.nn.MultiheadAttention(E, H, batch_first=case["bf"], kdim=case.get("kdim"),
                                    vdim=case.get("vdim"))
    with torch.no_grad():  # non-zero biases, so the test sees them
        m.in_proj_bias.normal_()
        m.out_proj.bias.normal_()
    def shp(n, d=E):
        if case.get("unbatched"):
            return [n, d]
        return [B, n, d] if case["bf"] else [n, B, d]
    q = randn(*shp(case["L"]))
    if case["self"]:
        kk = vv = q
    else:
        kk = randn(*shp(case["S"], case.get("kdim", E)))
        vv = randn(*shp(case["S"], case.get("vdim", E)))
    am = kpm = None
    if case.get("attnMask") == "causal":
        am = torch.ones(case["L"], case["S"], dtype=torch.bool).triu(1)  # True = blocked
    elif case.get("attnMask") == "float":
        am = torch.randn(case["L"], case["S"])
    if case.get("kpm"):
        kpm = torch.zeros(B, case["S"], dtype=torch.bool)
        kpm[0, -1] = True
        kpm[1, 2] = True
    y, w = m(q, kk, vv, key_padding_mask=kpm, attn_mask=am, average_attn_weights=case.get("avg", True))
    cots = cot_loss([y, w])
    p = mha_params(m)
    mhas.append({
        "name": case["name"], "numHeads": H, "batchFirst": case["bf"], "self": case["self"],
        "averageAttnWeights": case.get("avg", True), "params": tree(p),
        "query": enc(q), "key": enc(kk), "value": enc(vv), "attnMask": encm(am),
        "keyPaddingMask": encm(kpm), "y": enc(y), "weights": enc(w), "cot": tree(cots),
        "dquery": grads(q), "dkey": None if case["self"] else grads(kk),
        "dvalue": None if case["self"] else grads(vv), "dparams": grads(p),
    })


# ---- transformer layers (eval mode) ---------------------------------------------------------
def lin(l):
    return {"weight": l.weight, "bias": l.bias}


def ln(l):
    return {"weight": l.weight, "bias": l.bias}


def perturb(m):
    with torch.no_grad():  # layerNorm weights/biases and attention biases away from 1/0
        for n, t in m.named_parameters():
            if n.startswith("norm") or n.endswith("in_proj_bias") or n.endswith("out_proj.bias"):
                t.add_(0.3 * torch.randn_like(t))


trans = []
for case in [
    {"name": "encoder post-norm relu, key padding", "kind": "encoder", "normFirst": False, "act": "relu"},
    {"name": "encoder pre-norm gelu, causal, batch first", "kind": "encoder", "normFirst": True,
     "act": "gelu", "bf": True, "causal": True},
    {"name": "decoder post-norm relu, causal, memory padding", "kind": "decoder", "normFirst": False,
     "act": "relu"},
    {"name": "decoder pre-norm gelu, batch first", "kind": "decoder", "normFirst": True, "act": "gelu",
     "bf": True},
]:
    E, H, F, B, T, S = 8, 2, 16, 2, 4, 5
    bf = case.get("bf", False)
    Ctor = torch.nn.TransformerEncoderLayer if case["kind"] == "encoder" else torch.nn.TransformerDecoderLayer
    m = Ctor(E, H, dim_feedforward=F, dropout=0.1, activation=case["act"], batch_first=bf,
             norm_first=case["normFirst"])
    perturb(m)
    m.eval()
    x = randn(*([B, T, E] if bf else [T, B, E]))
    p = {"selfAttn": mha_params(m.self_attn), "linear1": lin(m.linear1), "linear2": lin(m.linear2),
         "norm1": ln(m.norm1), "norm2": ln(m.norm2)}
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    if case["kind"] == "encoder":
        kpm = None
        if not case.get("causal"):
            kpm = torch.zeros(B, T, dtype=torch.bool)
            kpm[1, -1] = True
        y = m(x, src_mask=causal if case.get("causal") else None, src_key_padding_mask=kpm)
        extra = {"srcKeyPaddingMask": encm(kpm)}
        ins = {"x": x}
    else:
        p["multiheadAttn"] = mha_params(m.multihead_attn)
        p["norm3"] = ln(m.norm3)
        mem = randn(*([B, S, E] if bf else [S, B, E]))
        mkpm = None
        if not case["normFirst"]:
            mkpm = torch.zeros(B, S, dtype=torch.bool)
            mkpm[0, 1] = True
        y = m(x, mem, tgt_mask=causal if not case["normFirst"] else None, memory_key_padding_mask=mkpm)
        extra = {"memoryKeyPaddingMask": encm(mkpm), "causal": not case["normFirst"]}
        ins = {"x": x, "memory": mem}
    cots = cot_loss([y])
    trans.append({
        "name": case["name"], "kind": case["kind"], "numHeads": H, "dimFeedforward": F,
        "normFirst": case["normFirst"], "activation": case["act"], "batchFirst": bf,
        "causal": case.get("causal", False), **extra, "params": tree(p),
        "inputs": tree(ins), "y": enc(y), "cot": enc(cots[0]),
        "dinputs": grads(ins), "dparams": grads(p),
    })

out = {"cells": cells, "seqs": seqs, "attention": attn, "mha": mhas, "transformer": trans}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "seq.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {path}: {os.path.getsize(path)} bytes, torch {torch.__version__}")
