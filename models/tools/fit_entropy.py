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
VERSION = 1  # kinds 0-2; "digits" files are version 2 (a digit block after the header)
HEADER = 64
KINDS = {"single": 0, "position": 1, "left-up": 2, "digits": 3}
MAX_FREQS = 1 << 18
MAX_DIGITS = 4


def layout(model):
    meta = ffn.load(model + ".enc.ffn").meta
    gh, gw = int(meta["grid_h"]), int(meta["grid_w"])
    cpc = int(meta.get("codes_per_cell", "1") or 1)
    return meta["model_id"], gh, gw, max(cpc, 1), int(meta["codebook_size"]), radices(meta)


def radices(meta):
    """An FSQ model's lattice digits, dimension 0 fastest (index = sum of digit
    x base): (levels - 1) x fine + 1 values each; None for other codebooks."""
    q = meta.get("quantizer", "").split()
    if not q or q[0] != "fsq":
        return None
    kv = dict(w.split("=", 1) for w in q[1:])
    fine = int(kv.get("fine", meta.get("fsq_fine", "1")))
    return [(int(v) - 1) * fine + 1 for v in kv["levels"].split(",")]


def neighbours(c, fill):
    """[N, gh, gw, cpc] -> the left and upper neighbours' values, fill at the edges."""
    left = np.full_like(c, fill)
    left[:, :, 1:] = c[:, :, :-1]
    up = np.full_like(c, fill)
    up[:, 1:] = c[:, :-1]
    return left, up


def contexts(codes, kind, gh, gw, cpc, k):
    """Context id of every index ([N, n]), as lib/codec/rans.c computes it."""
    n = gh * gw * cpc
    c = codes.reshape(len(codes), gh, gw, cpc).astype(np.int64)
    if kind == "single":
        return np.zeros((len(codes), n), np.int64), 1
    if kind == "position":
        return np.broadcast_to(np.arange(n), (len(codes), n)), n
    left, up = neighbours(c, k)
    return (left * (k + 1) + up).reshape(len(codes), n), (k + 1) ** 2


def digit_streams(codes, gh, gw, cpc, radix):
    """Kind "digits": for each digit j, (its values [N, n], their contexts
    [N, n], its number of contexts, its radix): position x (left digit, up
    digit), the radix standing for "no neighbour", as lib/codec/rans.c
    computes them."""
    n = gh * gw * cpc
    c = codes.reshape(len(codes), gh, gw, cpc).astype(np.int64)
    base = 1
    for r in radix:
        d = c // base % r
        left, up = neighbours(d, r)
        ctx = (np.arange(n).reshape(1, gh, gw, cpc) * (r + 1) + left) * (r + 1) + up
        yield d.reshape(len(codes), n), ctx.reshape(len(codes), n), n * (r + 1) ** 2, r
        base *= r


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


def streams(codes, kind, gh, gw, cpc, k, radix):
    """(symbols, contexts, number of contexts, alphabet size) of each digit;
    one digit, the index itself, but for kind "digits"."""
    if kind == "digits":
        return list(digit_streams(codes, gh, gw, cpc, radix))
    ctx, nctx = contexts(codes, kind, gh, gw, cpc, k)
    return [(codes.reshape(len(codes), -1).astype(np.int64), ctx, nctx, k)]


def fit(codes, kind, gh, gw, cpc, k, prec, alpha, radix):
    """Each digit's rows of quantised frequencies, in file order."""
    tables = []
    for sym, ctx, nctx, size in streams(codes, kind, gh, gw, cpc, k, radix):
        counts = np.full((nctx, size), alpha)
        np.add.at(counts, (ctx.ravel(), sym.ravel()), 1)
        tables.append(quantise(counts, prec))
    return tables


def bytes_per_face(tables, codes, kind, gh, gw, cpc, k, prec, radix):
    """Expected coded size: the last r indices ride raw in the coder's start
    state (lib/codec/rans.c: 20 bits of it, 3 left for the CRC check), the
    others cost their information; + 3.5 bytes: the 4-byte final state less
    half a byte of slack on average."""
    r = min(gh * gw * cpc, 20 // max(1, int(np.ceil(np.log2(k)))))
    bits = 0
    for freqs, (sym, ctx, _, _) in zip(tables, streams(codes, kind, gh, gw, cpc, k, radix)):
        f = freqs[ctx, sym]
        bits = bits + (prec - np.log2(f[:, :f.shape[1] - r])).sum(1)
    return bits / 8 + 3.5


def load_codes(path):
    if path.endswith(".npy"):
        return np.load(path)
    with open(path) as f:
        return np.array([json.loads(line)["codes"] for line in f if line.strip()], np.int64)


def write(path, model_id, gh, gw, cpc, k, kind, prec, tables, radix):
    body = b"".join(t.astype("<u2").tobytes() for t in tables)
    version = VERSION
    if kind == "digits":  # the digit block: count, radices, zero-padded to 8 bytes
        body = bytes([len(radix)] + radix + [0] * (7 - len(radix))) + body
        version = 2
    head = struct.pack("<4sHBB32s6I", MAGIC, version, KINDS[kind], prec,
                       model_id.encode().ljust(32, b"\0"), gh, gw, cpc, k,
                       sum(len(t) for t in tables), zlib.crc32(body) & 0xFFFFFFFF)
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
    model_id, gh, gw, cpc, k, radix = layout(a.model)
    if a.context == "digits" and (not radix or len(radix) > MAX_DIGITS or np.prod(radix) != k):
        sys.exit("fit_entropy: %s's codebook is not a lattice of at most %d digits" % (model_id, MAX_DIGITS))
    codes = load_codes(a.codes)
    if codes.reshape(len(codes), -1).shape[1] != gh * gw * cpc or codes.max() >= k:
        sys.exit("fit_entropy: %s is not %s's codes" % (a.codes, model_id))
    tables = fit(codes, a.context, gh, gw, cpc, k, a.precision, a.alpha, radix)
    nfreq = sum(t.size for t in tables)
    if nfreq > MAX_FREQS:
        sys.exit("fit_entropy: %d frequencies, more than %d" % (nfreq, MAX_FREQS))
    out = a.out or a.model + ".codes.ent"
    write(out, model_id, gh, gw, cpc, k, a.context, a.precision, tables, radix)
    print("fit_entropy: %s: %s, %d contexts, precision %d, %d bytes, from %d faces"
          % (out, a.context, sum(len(t) for t in tables), a.precision, os.path.getsize(out), len(codes)))
    if a.eval:
        ev = load_codes(a.eval)
        b = bytes_per_face(tables, ev, a.context, gh, gw, cpc, k, a.precision, radix)
        raw = -(-gh * gw * cpc * int(np.ceil(np.log2(k))) // 8)
        print("fit_entropy: %s: %d faces, bytes per face mean %.1f p99 %.1f max %.1f (raw %d)"
              % (a.eval, len(ev), b.mean(), np.percentile(b, 99), b.max(), raw))


if __name__ == "__main__":
    main()
