#!/usr/bin/python3
"""Prepare LFW training/validation crops for the VQ-VAE.

Reads the deep-funneled 250x250 images and the official View-1 people lists
(DevTrain for training, DevTest for validation; the two do not overlap) and
writes uint8 NHWC arrays of face crops with a margin, so training can jitter
position and scale and still cut a 112x112 face:

  data/<split>_crops.npy   uint8 [N, 128, 128, 3] RGB: the fixed box
                           (59,50)-(192,183) grown by 128/112 about its centre
  data/<split>_labels.npy  int32 [N]: person index within the split
  data/<split>_files.txt   relative image paths, one per row

The fixed box approximates the ArcFace 112x112 template on these images
(shared/data README); the centre 112x112 of each crop is that box.

usage: prepare_data.py [--lfw DIR] [--out DIR] [--jpeg-pack]
"""
import argparse
import os
import sys

import cv2
import numpy as np

BOX = (59, 50, 192, 183)
CROP = 128
FACE = 112


def crop_with_margin(img):
    x0, y0, x1, y1 = BOX
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = (x1 - x0) * CROP / FACE
    s = CROP / side
    # affine map: output pixel centre -> source, bilinear, border replicated
    m = np.array([[s, 0, CROP / 2.0 - cx * s], [0, s, CROP / 2.0 - cy * s]], dtype=np.float64)
    return cv2.warpAffine(img, m, (CROP, CROP), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def people(path):
    rows = []
    with open(path) as f:
        n = int(f.readline())
        for _ in range(n):
            name, count = f.readline().split()
            rows.append((name, int(count)))
    return rows


def build(lfw, split, out, jpeg_pack):
    plist = people(os.path.join(lfw, "people%s.txt" % split))
    files, labels = [], []
    for pid, (name, count) in enumerate(plist):
        for k in range(1, count + 1):
            files.append("%s/%s_%04d.jpg" % (name, name, k))
            labels.append(pid)
    crops = np.zeros((len(files), CROP, CROP, 3), np.uint8)
    for i, rel in enumerate(files):
        img = cv2.imread(os.path.join(lfw, "images_deepfunneled", rel), cv2.IMREAD_COLOR)
        if img is None:
            sys.exit("prepare_data: cannot read %s" % rel)
        crops[i] = cv2.cvtColor(crop_with_margin(img), cv2.COLOR_BGR2RGB)
        if (i + 1) % 1000 == 0 or i + 1 == len(files):
            print("%s: %d/%d" % (split, i + 1, len(files)), flush=True)
    key = split.lower()
    np.save(os.path.join(out, "%s_crops.npy" % key), crops)
    np.save(os.path.join(out, "%s_labels.npy" % key), np.array(labels, np.int32))
    with open(os.path.join(out, "%s_files.txt" % key), "w") as f:
        f.write("\n".join(files) + "\n")
    if jpeg_pack:  # compact form to carry to a GPU machine (64 MiB tree limit)
        enc = [cv2.imencode(".jpg", cv2.cvtColor(c, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])[1]
               for c in crops]
        lens = np.array([len(e) for e in enc], np.int64)
        np.savez(os.path.join(out, "%s_jpeg.npz" % key), offsets=np.concatenate([[0], np.cumsum(lens)]),
                 blob=np.concatenate(enc).astype(np.uint8), labels=np.array(labels, np.int32))
    print("%s: %d images of %d people" % (split, len(files), len(plist)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", default=os.path.join(here, "..", "..", "..", "shared", "data", "lfw"))
    ap.add_argument("--out", default=os.path.join(here, "data"))
    ap.add_argument("--jpeg-pack", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for split in ("DevTrain", "DevTest"):
        build(a.lfw, split, a.out, a.jpeg_pack)


if __name__ == "__main__":
    main()
