#!/usr/bin/python3
"""Fits the static rANS tables of a VQ model's code indices (models/FORMAT.md,
"Entropy tables"): counts of each index in its context over training codes,
smoothed and quantised to frequencies that sum to 2^precision, every one >= 1
so that any index sequence stays codable.

  fit_entropy.py --model models/vq/vq2 --codes devtrain_codes.npy \
      [--eval devtest_codes.npy] [--context left-up] [--precision 14] \
      [--out models/vq/vq2.codes.ent]

--codes are the model's indices of DevTrain faces only: a .npy ([N, grid_h,
grid_w] or [N, num_codes], cell-major as on the wire) or the JSON lines of
`fleet-eval codes` (the C encoder's own; identical to PyTorch's for vq2). --eval only reports the bytes
per face the tables would give on other faces (the quantised tables'
cross-entropy, +1 byte for the coder's flush); it never enters the tables.
Debian's /usr/bin/python3 with numpy.
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ffn  # noqa: E402

MAGIC = b"FFEC"
VERSION = 1
HEADER = 64
KINDS = {"single": 0, "position": 1, "left-up": 2}
MAX_FREQS = 1 << 16


def layout(model):
    meta = ffn.load(model + ".enc.ffn").meta
    gh, gw = int(meta["grid_h"]), int(meta["grid_w"])
    cpc = int(meta.get("codes_per_cell", "1") or 1)
    return meta["model_id"], gh, gw, max(cpc, 1), int(meta["codebook_size"])


def contexts(codes, kind, gh, gw, cpc, k):
    """Context id of every index ([N, n]), as lib/codec/rans.c computes it."""
    n = gh * gw * cpc
    c = codes.reshape(len(codes), gh, gw, cpc).astype(np.int64)
    if kind == "single":
        return np.zeros((len(codes), n), np.int64), 1
    if kind == "position":
        return np.broadcast_to(np.arange(n), (len(codes), n)), n
    left = np.full_like(c, k)
    left[:, :, 1:] = c[:, :, :-1]
    up = np.full_like(c, k)
    up[:, 1:] = c[:, :-1]
    return (left * (k + 1) + up).reshape(len(codes), n), (k + 1) ** 2


def quantise(counts, prec):
    """Rows of counts -> integer frequencies >= 1 summing to 2^prec."""
    total = 1 << prec
    k = counts.shape[1]
    p = counts / counts.sum(1, keepdims=True)
    f = np.maximum(1, np.floor(p * (total - k)).astype(np.int64) + 1)
    for row, pr in zip(f, p):  # hand out (or take back) the rounding residue
        diff = total - int(row.sum())
        order = np.argsort(-pr)
        i = 0
        while diff != 0:
            j = order[i % k]
            if diff > 0:
                row[j] += 1
                diff -= 1
            elif row[j] > 1:
                row[j] -= 1
                diff += 1
            i += 1
    return f


def fit(codes, kind, gh, gw, cpc, k, prec, alpha):
    ctx, nctx = contexts(codes, kind, gh, gw, cpc, k)
    counts = np.full((nctx, k), alpha)
    np.add.at(counts, (ctx.ravel(), codes.reshape(len(codes), -1).astype(np.int64).ravel()), 1)
    return quantise(counts, prec)


def bytes_per_face(freqs, codes, kind, gh, gw, cpc, k, prec):
    """Expected coded size: the last r indices ride raw in the coder's start
    state (lib/codec/rans.c: 20 bits of it, 3 left for the CRC check), the
    others cost their information; + 3.5 bytes: the 4-byte final state less
    half a byte of slack on average."""
    ctx, _ = contexts(codes, kind, gh, gw, cpc, k)
    f = freqs[ctx, codes.reshape(len(codes), -1).astype(np.int64)]
    r = min(f.shape[1], 20 // max(1, int(np.ceil(np.log2(k)))))
    bits = (prec - np.log2(f[:, :f.shape[1] - r])).sum(1)
    return bits / 8 + 3.5


def load_codes(path):
    if path.endswith(".npy"):
        return np.load(path)
    with open(path) as f:
        return np.array([json.loads(line)["codes"] for line in f if line.strip()], np.int64)


def write(path, model_id, gh, gw, cpc, k, kind, prec, freqs):
    body = freqs.astype("<u2").tobytes()
    head = struct.pack("<4sHBB32s6I", MAGIC, VERSION, KINDS[kind], prec,
                       model_id.encode().ljust(32, b"\0"), gh, gw, cpc, k, len(freqs),
                       zlib.crc32(body) & 0xFFFFFFFF)
    assert len(head) == HEADER
    with open(path, "wb") as f:
        f.write(head + body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model prefix, e.g. models/vq/vq2")
    ap.add_argument("--codes", required=True, help="DevTrain codes .npy")
    ap.add_argument("--eval", help="codes .npy to report bytes per face on (not fitted)")
    ap.add_argument("--context", choices=sorted(KINDS), default="left-up")
    ap.add_argument("--precision", type=int, default=14, choices=range(10, 16))
    # 8: the lowest p99 coded size on a held-out fifth of DevTrain (0.5 gives the
    # lowest mean, by 0.2 bytes, and a longer tail: p99 +0.8, max +1.1 bytes)
    ap.add_argument("--alpha", type=float, default=8.0, help="additive smoothing of counts")
    ap.add_argument("--out", help="table file (default: <model>.codes.ent)")
    a = ap.parse_args()
    model_id, gh, gw, cpc, k = layout(a.model)
    codes = load_codes(a.codes)
    if codes.reshape(len(codes), -1).shape[1] != gh * gw * cpc or codes.max() >= k:
        sys.exit("fit_entropy: %s is not %s's codes" % (a.codes, model_id))
    freqs = fit(codes, a.context, gh, gw, cpc, k, a.precision, a.alpha)
    if freqs.size > MAX_FREQS:
        sys.exit("fit_entropy: %d frequencies, more than %d" % (freqs.size, MAX_FREQS))
    out = a.out or a.model + ".codes.ent"
    write(out, model_id, gh, gw, cpc, k, a.context, a.precision, freqs)
    print("fit_entropy: %s: %s, %d contexts, precision %d, %d bytes, from %d faces"
          % (out, a.context, len(freqs), a.precision, os.path.getsize(out), len(codes)))
    if a.eval:
        ev = load_codes(a.eval)
        b = bytes_per_face(freqs, ev, a.context, gh, gw, cpc, k, a.precision)
        raw = -(-gh * gw * cpc * int(np.ceil(np.log2(k))) // 8)
        print("fit_entropy: %s: %d faces, bytes per face mean %.1f p99 %.1f max %.1f (raw %d)"
              % (a.eval, len(ev), b.mean(), np.percentile(b, 99), b.max(), raw))


if __name__ == "__main__":
    main()
