#!/usr/bin/python3
"""Build the VQ-VAE report: results table, rate-vs-accuracy plot, montage.

Inputs are the JSON lines that `fleet-eval verify` / `fleet-eval identify`
print last (saved to files), so every figure in the report comes from the C
pipeline; the montage runs the exported .ffn files through the PyTorch
reference interpreter.

usage: report.py --model-prefix models/vq/ID --results NAME=FILE.json ...
                 [--faces DIR] [--out models/report]
"""
import argparse
import glob
import json
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
from vq_codec import VqCodec  # noqa: E402


def montage(prefix, faces, out, n=8):
    codec = VqCodec.from_prefix(prefix)
    files = sorted(glob.glob(os.path.join(faces, "*", "*.jpg")) or glob.glob(os.path.join(faces, "*.jpg")))[:n]
    rows = []
    for f in files:
        img = cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB)
        with torch.no_grad():
            idx, _ = codec.encode(codec.prepare(img))
            rec = np.clip(codec.to_pixels(codec.decode(idx)), 0, 255).astype(np.uint8)
        rows.append(np.concatenate([img, rec], axis=0))
    grid = np.concatenate(rows, axis=1)
    cv2.imwrite(out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return len(files)


def rate_plot(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in results.items():
        methods = r.get("methods", r)
        pts = sorted((m["bytes_per_face"], m.get("accuracy", m.get("top1")), k)
                     for k, m in methods.items()
                     if isinstance(m, dict) and m.get("bytes_per_face") is not None
                     and m.get("accuracy", m.get("top1")) is not None)
        jpeg = [(b, a) for b, a, k in pts if k.startswith("jpeg") and a is not None]
        vq = [(b, a) for b, a, k in pts if k.startswith("vq") and a is not None]
        orig = [a for b, a, k in pts if k == "original"]
        if jpeg:
            ax.plot(*zip(*jpeg), "o-", label="JPEG crop (%s)" % name)
        if vq:
            ax.plot(*zip(*vq), "r*", markersize=14, label="VQ-VAE codes (%s)" % name)
        if orig:
            ax.axhline(orig[0], ls="--", c="gray", label="uncompressed (%s)" % name)
    ax.set_xscale("log")
    ax.set_xlabel("bytes per face")
    ax.set_ylabel("LFW accuracy")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-prefix", required=True)
    ap.add_argument("--results", action="append", default=[], help="NAME=fleet-eval JSON file")
    ap.add_argument("--faces", default=os.path.join(HERE, "..", "..", "tests", "data", "faces", "aligned112"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "report"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n = montage(a.model_prefix, a.faces, os.path.join(a.out, "montage.png"))
    results = {}
    for spec in a.results:
        name, path = spec.split("=", 1)
        with open(path) as f:
            results[name] = json.loads(f.read().strip().splitlines()[-1])
    if results:
        rate_plot(results, os.path.join(a.out, "rate_vs_accuracy.png"))
    print(json.dumps({"montage_faces": n, "results": list(results)}))


if __name__ == "__main__":
    main()
