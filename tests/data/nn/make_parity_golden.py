#!/usr/bin/python3
"""Golden MobileFaceNet embeddings for the models_mobilefacenet_parity test.

Picks 50 aligned 112x112 LFW faces of DevTest people deterministically: the
first image (<Name>_0001.jpg) of each of the first 50 people of
peopleDevTest.txt, in sorted name order, that exist in lfw-aligned112; copies
them unchanged to tests/data/faces/parity112/<Name>/ (--copy), then embeds the
committed copies with the PyTorch reference interpreter (models/ref/ffn_torch.py)
running models/cache/ffn/mobilefacenet.ffn: OpenCV decode, BGR->RGB,
(x - 127.5) / 128 (the file's metadata), batch 1, L2-normalised.

Writes tests/data/nn/parity_mobilefacenet.bin:
  "FFPG", u32 version = 1, u32 count, u32 dim, then count records of
  u16 name length + the relative path (UTF-8, no NUL) and dim float32 (LE).

  /usr/bin/python3 tests/data/nn/make_parity_golden.py [--copy] [--lfw DIR]
"""
import argparse
import os
import shutil
import struct
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "ref"))
from ffn_torch import FfnModule, preprocess  # noqa: E402

FACES = os.path.join(ROOT, "tests", "data", "faces", "parity112")
OUT = os.path.join(HERE, "parity_mobilefacenet.bin")
COUNT = 50


def pick(lfw):
    """Relative paths <Name>/<Name>_0001.jpg of the first COUNT DevTest people."""
    with open(os.path.join(lfw, "lfw", "peopleDevTest.txt")) as f:
        names = sorted(line.split()[0] for line in f.read().splitlines()[1:] if line.strip())
    out = []
    for n in names:
        rel = "%s/%s_0001.jpg" % (n, n)
        if os.path.isfile(os.path.join(lfw, "lfw-aligned112", "images", rel)):
            out.append(rel)
        if len(out) == COUNT:
            break
    return out


def embed(model, path):
    img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    x = preprocess(torch.from_numpy(np.ascontiguousarray(img))[None], model.meta)
    with torch.no_grad():
        return F.normalize(model(x)[0], dim=1)[0].numpy().astype("<f4")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copy", action="store_true", help="(re)copy the faces from --lfw first")
    ap.add_argument("--lfw", default=os.path.join(ROOT, "..", "shared", "data"),
                    help="folder holding lfw/peopleDevTest.txt and lfw-aligned112/images")
    a = ap.parse_args()
    if a.copy:
        for rel in pick(a.lfw):
            os.makedirs(os.path.join(FACES, os.path.dirname(rel)), exist_ok=True)
            shutil.copyfile(os.path.join(a.lfw, "lfw-aligned112", "images", rel),
                            os.path.join(FACES, rel))
    rels = sorted(os.path.relpath(os.path.join(d, f), FACES)
                  for d, _, fs in os.walk(FACES) for f in fs if f.endswith(".jpg"))
    if len(rels) != COUNT:
        sys.exit("expected %d faces under %s, found %d (run with --copy)" % (COUNT, FACES, len(rels)))
    model = FfnModule(os.path.join(ROOT, "models", "cache", "ffn", "mobilefacenet.ffn")).eval()
    blob = bytearray(b"FFPG") + struct.pack("<III", 1, len(rels), 0)
    dim = 0
    for rel in rels:
        e = embed(model, os.path.join(FACES, rel))
        dim = e.size
        name = rel.encode()
        blob += struct.pack("<H", len(name)) + name + e.tobytes()
    blob[12:16] = struct.pack("<I", dim)
    with open(OUT, "wb") as f:
        f.write(blob)
    print("%d embeddings (%d-d) -> %s (%d bytes)" % (len(rels), dim, OUT, len(blob)))


if __name__ == "__main__":
    main()
