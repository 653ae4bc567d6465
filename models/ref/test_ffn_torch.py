#!/usr/bin/python3
"""Checks the PyTorch reference interpreter against the numpy-computed test
vectors of tests/data/nn (every op type of models/FORMAT.md). Exit 1 on any
mismatch over 1e-4. CTest: models_ref_interpreter."""
import glob
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ffn_torch import FfnModule  # noqa: E402


def read_vec(path):
    buf = open(path, "rb").read()
    magic, n_in, n_out = struct.unpack_from("<4sII", buf, 0)
    assert magic == b"FFTV", path
    pos, arrays = 12, []
    for _ in range(n_in + n_out):
        rank, *dims = struct.unpack_from("<5I", buf, pos)
        pos += 20
        shape = dims[:rank]
        n = int(np.prod(shape)) if rank else 1
        arrays.append(np.frombuffer(buf, "<f4", n, pos).reshape(shape))
        pos += 4 * n
    return arrays[:n_in], arrays[n_in:]


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "tests", "data", "nn")
    failed, checked = 0, 0
    for model in sorted(glob.glob(os.path.join(data, "*.ffn"))):
        vec = model[:-4] + ".vec"
        if not os.path.exists(vec):
            continue
        ins, outs = read_vec(vec)
        with torch.no_grad():
            got = FfnModule(model)(*[torch.from_numpy(a.copy()) for a in ins])
        for g, want in zip(got, outs):
            err = float(np.abs(g.numpy() - want).max())
            checked += 1
            if err > 1e-4:
                failed += 1
                print("FAIL %s: max abs err %.3g" % (os.path.basename(model), err))
    print("%d passed, %d failed" % (checked - failed, failed))
    return 1 if failed or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
