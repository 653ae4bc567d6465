#!/usr/bin/python3
"""Golden outputs of the converted pretrained models (models/cache/ffn/*.ffn)
from the PyTorch reference interpreter (models/ref/ffn_torch.py), for the
models_nn_real test. The input is a fixed pattern the C test regenerates:
x[i] = (((i * 7919) % 256) - 127.5) / 128 over the NHWC input in memory order.
Writes golden_<model>.vec (the .vec format of make_test_models.py with
n_in = 0: only the outputs). Run after `models/convert`:
  /usr/bin/python3 tests/data/nn/make_golden.py
"""
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "models", "ref"))
from ffn_torch import FfnModule  # noqa: E402

# model -> input shape (NHWC, or NWHC for the MTCNN stages: same memory order)
SHAPES = {"mobilefacenet": (1, 112, 112, 3), "pnet": (1, 40, 30, 3),
          "rnet": (1, 24, 24, 3), "onet": (1, 48, 48, 3)}


def pattern(shape):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((i * 7919) % 256 - 127.5) / 128.0).astype(np.float32).reshape(shape)


def main():
    for name, shape in SHAPES.items():
        path = os.path.join(ROOT, "models", "cache", "ffn", name + ".ffn")
        m = FfnModule(path).eval()
        with torch.no_grad():
            outs = m(torch.from_numpy(pattern(shape)))
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        vec = bytearray(b"FFTV") + struct.pack("<II", 0, len(outs))
        for o in outs:
            a = o.numpy().astype("<f4")
            vec += struct.pack("<5I", a.ndim, *(list(a.shape) + [0] * 4)[:4]) + a.tobytes()
        with open(os.path.join(HERE, "golden_%s.vec" % name), "wb") as f:
            f.write(vec)
        print(name, [tuple(o.shape) for o in outs])


if __name__ == "__main__":
    main()
