"""Reference numbers for the classic examples, computed with numpy (float64); writes
reference.json next to this file. Run: python3 examples/classic/reference.py

- diabetes: ordinary least squares on data/diabetes.csv with standardized features
  (population std) and an intercept column first: coefficients and R².
- pca: explained-variance ratios of the first N_PCA Fashion-MNIST training images, pixels in
  [0, 1] average-pooled 2x2 to 14x14 (196 features), centred: the 20 largest, from
  numpy.linalg.eigvalsh of the covariance.
"""
import gzip
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_PCA = 2000
FASHION = os.environ.get("KILN_DATA", "/usr/share/datasets/fashion-mnist")

d = np.loadtxt(os.path.join(HERE, "data", "diabetes.csv"), delimiter=",", skiprows=1)
X, y = d[:, :10], d[:, 10]
A = np.c_[np.ones(len(y)), (X - X.mean(0)) / X.std(0)]
coef = np.linalg.lstsq(A, y, rcond=None)[0]
r2 = 1 - ((A @ coef - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()

with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
x = images[:N_PCA].astype(np.float64) / 255
x = x.reshape(N_PCA, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(N_PCA, 196)
xc = x - x.mean(0)
ev = np.linalg.eigvalsh(xc.T @ xc / (N_PCA - 1))[::-1]
ratios = ev / ev.sum()

out = {
    "numpy": np.__version__,
    "diabetes": {"coef": coef.tolist(), "r2": float(r2)},
    "pca": {"n": N_PCA, "pool": 2, "ratios": ratios[:20].tolist()},
}
with open(os.path.join(HERE, "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps(out, indent=1))
