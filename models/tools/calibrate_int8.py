#!/usr/bin/python3
"""Activation ranges for running a .ffn network in int8 (models/FORMAT.md, "Activation
ranges"; lib/nn builds the int8 XNNPACK graph from them when asked, issue 19 section 6).

Post-training calibration: the network runs in float (ffn_torch, the reference
interpreter) on DevTrain faces only, and every activation tensor's range is kept
(the --percentile of its values at each end, widened to hold 0). The ranges file is bound to the
base .ffn by its data CRC, like a weight patch.

    calibrate_int8.py --vq models/vq/vq2          # vq2.enc.q8, vq2.dec.q8, vq2.emb.q8
    calibrate_int8.py --model X.ffn [--patch X.ffp] --out X.q8

Inputs: DevTrain centre crops (models/train/data, prepare_data.py); for
--vq the decoder sees the lattice values of those crops' codes and the
reconstruction-side MobileFaceNet (mobilefacenet.ffn + ID.emb.ffp) their
reconstructions, as the backend runs them.
"""
import argparse
import os
import struct
import sys
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
import ffn  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402

DATA = os.path.join(HERE, "..", "train", "data")
MODELS_CACHE = os.environ.get("FF_MODELS_DIR", os.path.join(HERE, "..", "cache"))
MAGIC = b"FFQ1"


def devtrain_crops(n, seed):
    crops = np.load(os.path.join(DATA, "devtrain_crops.npy"), mmap_mode="r")
    rows = np.sort(np.random.default_rng(seed).choice(len(crops), n, replace=False))
    x = torch.from_numpy(np.ascontiguousarray(crops[rows][:, 8:120, 8:120])).float()
    return (x - 127.5) / 128.0  # NHWC in [-1, 1], the networks' input


class Ranges:
    """Running low/high of every activation over calibration batches."""

    def __init__(self, percentile):
        self.q = percentile / 100.0
        self.lo, self.hi = {}, {}

    def add(self, acts):
        for t, a in acts.items():
            v = a.detach().flatten().float()
            if v.numel() > 1 << 20:  # torch.quantile's limit is 2^24; a sample is plenty
                v = v[torch.randint(v.numel(), (1 << 20,))]
            lo = float(torch.quantile(v, 1 - self.q)) if self.q < 1 else float(v.min())
            hi = float(torch.quantile(v, self.q)) if self.q < 1 else float(v.max())
            self.lo[t] = min(self.lo.get(t, 0.0), lo)
            self.hi[t] = max(self.hi.get(t, 0.0), hi)


@torch.no_grad()
def calibrate(graph, inputs, percentile, chunk=32):
    """Runs graph on inputs (NHWC); returns its ranges and its outputs."""
    m = FfnModule(graph).eval()
    r, outs = Ranges(percentile), []
    for k in range(0, len(inputs), chunk):
        x = inputs[k:k + chunk]
        (y, *_), acts = m(x, taps="all")
        acts[graph.inputs[0]] = x
        r.add(acts)
        outs.append(y)
    return r, torch.cat(outs)


def save(base_path, ranges, path):
    with open(base_path, "rb") as f:
        crc, d_size = ffn.base_id(f.read())
    body = b"".join(struct.pack("<I2f", t, ranges.lo[t], ranges.hi[t]) for t in sorted(ranges.lo))
    head = MAGIC + struct.pack("<4I", crc, d_size, len(ranges.lo), zlib.crc32(body) & 0xFFFFFFFF)
    with open(path + ".tmp", "wb") as f:
        f.write(head + body)
    os.replace(path + ".tmp", path)
    print("%s: %d activation ranges" % (path, len(ranges.lo)), file=sys.stderr)


def nearest_codes(latent, codebook):
    """Encoder latent [N,H,W,D] -> the lattice values the decoder is fed (nearest codeword)."""
    flat = latent.reshape(-1, latent.shape[-1])
    idx = torch.cdist(flat, codebook).argmin(1)
    return codebook[idx].reshape(latent.shape)


def calibrate_vq(prefix, n, seed, percentile):
    crops = devtrain_crops(n, seed)
    enc = ffn.load(prefix + ".enc.ffn")
    r, latent = calibrate(enc, crops, percentile)
    save(prefix + ".enc.ffn", r, prefix + ".enc.q8")
    dec = ffn.load(prefix + ".dec.ffn")
    cb = next(torch.from_numpy(t.data.copy()) for t in dec.tensors if t.name == "codebook")
    r, recon = calibrate(dec, nearest_codes(latent, cb.reshape(-1, latent.shape[-1])), percentile)
    save(prefix + ".dec.ffn", r, prefix + ".dec.q8")
    base = os.path.join(MODELS_CACHE, "ffn", "mobilefacenet.ffn")
    patch = prefix + ".emb.ffp"
    emb = ffn.apply_patch(base, patch) if os.path.exists(patch) else ffn.load(base)
    r, _ = calibrate(emb, recon, percentile)
    save(base, r, prefix + ".emb.q8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vq", help="models/vq/ID: encoder, decoder and its embedder")
    ap.add_argument("--model")
    ap.add_argument("--patch")
    ap.add_argument("--out")
    ap.add_argument("--faces", type=int, default=512, help="DevTrain faces to calibrate on")
    ap.add_argument("--percentile", type=float, default=99.999)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.vq:
        calibrate_vq(a.vq, a.faces, a.seed, a.percentile)
        return 0
    if not (a.model and a.out):
        ap.error("--vq, or --model and --out")
    g = ffn.apply_patch(a.model, a.patch) if a.patch else ffn.load(a.model)
    r, _ = calibrate(g, devtrain_crops(a.faces, a.seed), a.percentile)
    save(a.model, r, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
