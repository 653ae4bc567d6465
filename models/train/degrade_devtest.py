#!/usr/bin/python3
"""A seeded, degraded copy of the DevTest people's aligned crops, for fleet-eval.

Our stand-in for faces unlike LFW's (issue 12, section 3): every DevTest image
of lfw-aligned112 that belongs to a person of peopleDevTest.txt goes through
degrade.TEST (0.35-0.7x down/up-scale, blur, gamma 0.6-1.5, colour gain, noise,
JPEG q20-60; ../shared/CALIBRATION.md), gallery and probes alike, and is written
with the same relative name as a JPEG at quality 100 (fleet-eval reads JPEG; q100
adds next to nothing after the q20-60 step).
One generator per image, seeded by (--seed, its name): the copy does not depend
on the order or on which other images exist.

  degrade_devtest.py [--data ../shared/data] [--out models/train/data/devtest-degraded] [--seed 1]

Then, e.g.: fleet-eval identify --images OUT --aligned --vq-model models/vq/vq2
--methods original,vq --enrol original (models/train/evaluate does it with FF_DEVTEST_DIR).
"""
import argparse
import os
import sys
import zlib

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import degrade  # noqa: E402


def devtest_images(data):
    names = [l.split()[0] for l in open(os.path.join(data, "lfw", "peopleDevTest.txt")).read().splitlines()[1:] if l]
    root = os.path.join(data, "lfw-aligned112", "images")
    for name in names:
        d = os.path.join(root, name)
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                yield root, os.path.join(name, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "data", "devtest-degraded"))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    n = 0
    for root, rel in devtest_images(a.data):
        rng = np.random.default_rng([a.seed, zlib.crc32(rel.encode())])
        img = cv2.imread(os.path.join(root, rel))[:, :, ::-1]
        out = degrade.degrade(img, rng, degrade.TEST)
        os.makedirs(os.path.join(a.out, os.path.dirname(rel)), exist_ok=True)
        cv2.imwrite(os.path.join(a.out, rel), np.ascontiguousarray(out[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 100])
        n += 1
    print("degrade_devtest: %d images of DevTest people -> %s (seed %d)" % (n, a.out, a.seed))


if __name__ == "__main__":
    main()
