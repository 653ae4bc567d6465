#!/usr/bin/python3
"""Fit the decoder's embedding adapter: a 192x192 map A, ridge least squares
pulled towards the identity, from MobileFaceNet embeddings of reconstructions
to those of their originals (DevTrain faces, centre crop and its mirror):

    A = argmin sum ||e_rec A - e_orig||^2 + lam ||A - I||^2

The decoder's reconstructions drift in a systematic way (towards an average
face, along directions MobileFaceNet reads as identity); one linear map, run
by the backend after MobileFaceNet on decoded faces only, takes most of that
drift back. Measured on vq2 (1,000 DevTest View-1 pairs, reconstruction vs
reconstruction): 0.916 -> 0.943, mean cosine to the original 0.697 -> 0.705;
lam from 0.1 to 100 and an added bias changed nothing beyond noise.

usage: fit_adapter.py CKPT --out ADAPTER.npy [--lam 1.0]
The embeddings are cached next to --out (adapter_emb.npz): a rerun only solves.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402
import vqvae  # noqa: E402


def embeddings(ckpt):
    """(originals, reconstructions): [2N, 192] unit MobileFaceNet embeddings of DevTrain."""
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    st = torch.load(ckpt, map_location=dev)
    model = vqvae.VQVAE(**st["config"]).to(dev)
    model.load_state_dict(st["model"])
    model.eval()
    data = train.Data("devtrain", dev, torch.Generator().manual_seed(1))
    emb = train.Embedder(dev)
    eo, er, t0 = [], [], time.time()
    with torch.no_grad():
        for k in range(0, len(data.crops), 64):
            x = data.center(torch.arange(k, min(k + 64, len(data.crops))))
            for v in (x, torch.flip(x, [3])):
                eo.append(emb(v, taps=False).cpu())
                er.append(emb(model(v)[0], taps=False).cpu())
            train.progress(min(k + 64, len(data.crops)), len(data.crops), t0, 0, "embeddings")
    sys.stderr.write("\n")
    return torch.cat(eo).numpy(), torch.cat(er).numpy()


def fit(eo, er, lam):
    d = er.shape[1]
    a = er.T.astype(np.float64) @ er + lam * np.eye(d)
    return np.linalg.solve(a, er.T.astype(np.float64) @ eo + lam * np.eye(d)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--lam", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    cache = os.path.join(os.path.dirname(os.path.abspath(a.out)), "adapter_emb.npz")
    if not os.path.exists(cache):
        eo, er = embeddings(a.ckpt)
        np.savez(cache, eo=eo, er=er)
    z = np.load(cache)
    eo, er = z["eo"], z["er"]
    w = fit(eo, er, a.lam)
    ad = er @ w
    ad /= np.linalg.norm(ad, axis=1, keepdims=True)
    print("fit_adapter: %d pairs, mean cos to original %.4f -> %.4f (training faces)" %
          (len(eo), float((eo * er).sum(1).mean()), float((eo * ad).sum(1).mean())))
    np.save(a.out, w)


if __name__ == "__main__":
    main()
