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


def metric(m):
    """A fleet-eval method's figure: verify's accuracy or identify's Top-1."""
    return m.get("accuracy", m.get("top1"))


def rate_plot(results, out, ylabel):
    """One curve per classical codec (its points from every result file), a
    star per VQ result (named by its file), the uncompressed figure as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    codecs, orig = {}, None
    for name, r in results.items():
        for k, m in r.get("methods", r).items():
            if not isinstance(m, dict) or m.get("bytes_per_face") is None or metric(m) is None:
                continue
            if k == "original":
                orig = metric(m)
            elif k == "vq":
                ax.plot(m["bytes_per_face"], metric(m), "*", markersize=13, label="%s codes" % name)
            elif not k.startswith("vq"):
                codecs.setdefault(k.split("_")[0], set()).add((m["bytes_per_face"], metric(m)))
    for codec, pts in sorted(codecs.items()):
        label = {"jpeg": "JPEG", "webp": "WebP", "av1": "AV1 (libavif's bitstream)"}.get(codec, codec.upper())
        ax.plot(*zip(*sorted(pts)), "o-", label="%s, best quality within the bytes" % label)
    if orig is not None:
        ax.axhline(orig, ls="--", c="gray", label="uncompressed (37,632 B)")
    ax.set_xscale("log")
    ax.set_xlabel("bytes per face")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-prefix", required=True)
    ap.add_argument("--results", action="append", default=[], help="NAME=fleet-eval JSON file")
    ap.add_argument("--ylabel", default="DevTest Top-1, as deployed", help="the plot's y axis: what the files measure")
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
        rate_plot(results, os.path.join(a.out, "rate_vs_accuracy.png"), a.ylabel)
    print(json.dumps({"montage_faces": n, "results": list(results)}))


if __name__ == "__main__":
    main()
