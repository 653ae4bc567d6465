#!/usr/bin/python3
"""Checks fleet-eval verify's figures against models/train/lfw_eval.py.

  eval_check.py FLEET_EVAL IMAGES_DIR PAIRS [fleet-eval verify options...]

Runs `FLEET_EVAL verify --images IMAGES_DIR --pairs PAIRS --scores TMP ...`,
recomputes accuracy and TAR@FAR=1e-3 of every method from the per-pair scores
with lfw_eval.verification and exits 1 unless they equal the JSON figures
(to the 5 printed decimals). Used by the models_fleet_eval_verify_python CTest.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models", "train"))
import lfw_eval  # noqa: E402


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    exe, images, pairs = sys.argv[1:4]
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as tmp:
        out = subprocess.run([exe, "verify", "--images", images, "--pairs", pairs, "--scores", tmp.name]
                             + sys.argv[4:], check=True, stdout=subprocess.PIPE, text=True).stdout
        rows = [line.split() for line in tmp]
    figures = json.loads(out.strip().splitlines()[-1])["methods"]
    bad = 0
    for name, fig in figures.items():
        r = [x for x in rows if x[0] == name]
        if fig["accuracy"] is None:
            continue
        s = np.array([float(x[2]) for x in r])
        same = np.array([int(x[1]) for x in r])
        acc, tar = lfw_eval.verification(s, same)
        ok = abs(acc - fig["accuracy"]) < 1e-5 and abs(tar - fig["tar_at_far_1e-3"]) < 1e-5
        bad += not ok
        print("%-10s C accuracy %.5f tar %.5f | lfw_eval %.5f %.5f %s"
              % (name, fig["accuracy"], fig["tar_at_far_1e-3"], acc, tar, "ok" if ok else "MISMATCH"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
