#!/usr/bin/python3
"""Writes tests/fixtures/half.npy: a float16 array saved by NumPy (an independent writer of the
`<f2` format), with special values, for tests/float16_test.ts.

    /usr/bin/python3 tests/make_float16_fixtures.py
"""
import os

import numpy as np

values = np.array(
    [[0.0, -0.0, 1.0, 65504.0, np.inf, -np.inf],
     [np.nan, 2.0 ** -24, 0.1, -2.5, 1.0 / 3.0, 2049.0]],
    dtype=np.float16,
)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "half.npy")
np.save(out, values)
print(out, values.dtype, values.shape)
