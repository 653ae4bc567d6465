#!/usr/bin/python3
"""Reconstruction-side embedders compared on the held-out DevTrain people (train.py's
validation split), as deployed: gallery = the frozen MobileFaceNet of each person's
first original crop, probes = the candidate on the model's reconstruction of up to 8
further crops, clean and camera-degraded (train_embed.py's caches). Prints Top-1 and a
verification TAR at FAR 1e-3 and 1e-2 over every probe x other person's gallery score
(~41,500 impostors: steadier than an open set whose FAR 1e-3 is its single highest
stranger). Model selection only: never DevTest.

  heldout_tar.py --vq models/vq/vq7 PATCH.ffp [PATCH.ffp ...]
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ffn  # noqa: E402
import train  # noqa: E402
import train_embed  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402


def scores(net, faces, probes, gallery):
    with torch.no_grad():
        p = torch.cat([train_embed.embed(net, faces[torch.from_numpy(probes[k:k + 64]), 0])
                       for k in range(0, len(probes), 64)])
    return p @ gallery.T


def metrics(s, probe_person, gallery_person):
    same = probe_person[:, None] == gallery_person[None, :]
    genuine, impostor = s[same], torch.sort(s[~same], descending=True).values
    out = {"top1": round(float((gallery_person[s.argmax(1)] == probe_person).float().mean()), 4)}
    for far in (1e-3, 1e-2):
        out["tar@%g" % far] = round(float((genuine > impostor[int(far * len(impostor))]).float().mean()), 4)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vq", required=True, help="VQ model prefix whose reconstructions are embedded")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("patches", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device("cpu")
    data = train.Data("devtrain", dev, torch.Generator().manual_seed(1))
    val = train_embed.heldout_split(data)
    gal, probes = val.gallery, val.probes
    frozen = train.Embedder(dev)
    with torch.no_grad():
        g = torch.cat([frozen(data.center(torch.from_numpy(gal[k:k + 64]))) for k in range(0, len(gal), 64)])
    pp, gp = torch.from_numpy(data.labels[probes]), torch.from_numpy(data.labels[gal])
    clean = train_embed.recon_cache(a.vq, data)
    degraded = train_embed.recon_cache(a.vq, data, degraded=True)
    base = os.path.join(train.MODELS_CACHE, "ffn", "mobilefacenet.ffn")
    for patch in a.patches:
        net = FfnModule(ffn.apply_patch(base, patch)).eval()
        print(patch, "clean", metrics(scores(net, clean, probes, g), pp, gp),
              "degraded", metrics(scores(net, degraded, probes, g), pp, gp), flush=True)


if __name__ == "__main__":
    main()
