"""Writes the PyTorch-exported ONNX fixtures of tests/onnx_test.ts (torch 1.13, CPU).

  /usr/bin/python3 tests/make_onnx_fixtures.py

tests/fixtures/onnx_torch_cnn.onnx   Conv/BatchNorm/ReLU/MaxPool/AveragePool/GlobalAveragePool/
                                     Flatten/Gemm, opset 13, dynamic batch axis
tests/fixtures/onnx_torch_mlp.onnx   MatMul/LayerNorm/GELU(erf)/Tanh/Sigmoid/Softmax plus the
                                     Shape/Gather/Concat/Reshape a view of the batch makes,
                                     opset 17, dynamic batch axis
tests/fixtures/onnx_torch_rnn.onnx   a 2-layer bidirectional LSTM and a GRU (ONNX LSTM/GRU ops,
                                     GRU with linear_before_reset), opset 14, dynamic batch
tests/fixtures/onnx_torch.json       for each: the input (batch 3) and PyTorch's output
"""
import json
import os

import torch
import torch.nn as nn

torch.manual_seed(0)
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=(1, 0))
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))
        h = nn.functional.max_pool2d(h, 2)
        h = nn.functional.avg_pool2d(torch.relu(self.c2(h)), 2, stride=1)
        h = nn.functional.adaptive_avg_pool2d(h, 1).flatten(1)
        return self.fc(h)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(6, 8)
        self.ln = nn.LayerNorm(8)
        self.l2 = nn.Linear(8, 4)

    def forward(self, x):
        b = x.shape[0]
        h = nn.functional.gelu(self.ln(self.l1(x.view(b, -1))))
        h = torch.tanh(h) + torch.sigmoid(h)
        return torch.softmax(self.l2(h), dim=-1)


class Rnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(10, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        h, _ = self.lstm(x)
        h, _ = self.gru(h)
        return self.fc(h)


def export(model, shape, name, opset):
    model.eval()
    # Non-trivial BatchNorm statistics so the import must use them.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(*shape)
    path = os.path.join(HERE, f"onnx_torch_{name}.onnx")
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset)
    x3 = torch.randn(3, *shape[1:])
    with torch.no_grad():
        y3 = model(x3)
    return {"x": x3.flatten().tolist(), "xShape": list(x3.shape),
            "y": y3.flatten().tolist(), "yShape": list(y3.shape)}


out = {
    "cnn": export(Cnn(), (2, 1, 12, 12), "cnn", 13),
    "mlp": export(Mlp(), (2, 2, 3), "mlp", 17),
    "rnn": export(Rnn(), (2, 6, 3), "rnn", 14),
}
with open(os.path.join(HERE, "onnx_torch.json"), "w") as f:
    json.dump(out, f)
print("wrote", ", ".join(out))
