#!/usr/bin/python3
"""C vs PyTorch code indices over the DevTest people's aligned faces.

PyTorch side: the training checkpoint's own nn.Module (not the exported file).
C side: `fleet-eval codes` with the exported encoder on the same JPEGs.
Prints the share of identical positions (target >= 99.5 %); last line JSON.

usage: check_parity.py CKPT ENC_PREFIX [--fleet-eval BIN] [--data DIR]
"""
import argparse
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vqvae  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt")
    ap.add_argument("prefix", help="models/vq/ID (the .enc.ffn exported from CKPT)")
    ap.add_argument("--fleet-eval", default=os.path.join(HERE, "..", "..", "build", "tools", "fleet-eval", "fleet-eval"))
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    a = ap.parse_args()
    people = [l.split()[0] for l in open(os.path.join(a.data, "lfw", "peopleDevTest.txt")).read().splitlines()[1:]]
    root = os.path.join(a.data, "lfw-aligned112", "images")
    files = [os.path.join(root, p, f) for p in people if os.path.isdir(os.path.join(root, p))
             for f in sorted(os.listdir(os.path.join(root, p)))]
    c_codes = {}
    for k in range(0, len(files), 500):
        out = subprocess.run([a.fleet_eval, "codes", "--vq-model", a.prefix] + files[k:k + 500],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            r = json.loads(line)
            c_codes[r["image"]] = np.array(r["codes"])
    st = torch.load(a.ckpt, map_location="cpu")
    model = vqvae.VQVAE(**st["config"])
    model.load_state_dict(st["model"])
    model.eval()
    same = total = 0
    with torch.no_grad():
        for k in range(0, len(files), 64):
            batch = files[k:k + 64]
            x = np.stack([cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB) for f in batch])
            x = (torch.from_numpy(x).float().permute(0, 3, 1, 2) - 127.5) / 128.0
            _, idx = model(x)
            for f, t in zip(batch, idx.reshape(len(batch), -1).numpy()):
                same += int((c_codes[f] == t).sum())
                total += t.size
    share = same / total
    print("DevTest faces %d, code positions %d, identical %d (%.4f %%)" % (len(files), total, same, 100 * share))
    print(json.dumps({"faces": len(files), "positions": total, "identical": same, "share": share,
                      "target_met": share >= 0.995}))
    return 0 if share >= 0.995 else 1


if __name__ == "__main__":
    sys.exit(main())
