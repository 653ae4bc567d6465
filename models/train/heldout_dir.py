#!/usr/bin/python3
"""The held-out DevTrain people (train.py's validation split) as a folder fleet-eval reads.

  heldout_dir.py [--out /tmp/heldout] [--heldout 0.1] [--seed 1]

Writes OUT/pNNNNN/IIIII.png, links to data/devtrain-png/IIIII.png (the centre 112x112 of
prepare_data.py's crop IIIII, written here when missing), one folder a person, so that candidates are compared through the C pipeline as deployed, rate control
included, on people no run trained on and without looking at DevTest:

  fleet-eval identify|openset --aligned --images OUT --vq-model PREFIX --methods vq \\
      --enrol original --code-bytes 121
"""
import argparse
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/heldout")
    ap.add_argument("--heldout", type=float, default=0.1, help="as train.py's --heldout")
    ap.add_argument("--seed", type=int, default=1, help="as train.py's --seed")
    a = ap.parse_args()
    labels = np.load(os.path.join(train.DATA, "devtrain_labels.npy"))
    held = set(int(p) for p in train.heldout_people(labels, a.heldout, a.seed))
    crops = np.load(os.path.join(train.DATA, "devtrain_crops.npy"), mmap_mode="r")
    pngs = os.path.join(train.DATA, "devtrain-png")
    os.makedirs(pngs, exist_ok=True)
    n = 0
    for row, person in enumerate(labels):
        if int(person) not in held:
            continue
        folder = os.path.join(a.out, "p%05d" % person)
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, "%05d.png" % row)
        png = os.path.join(pngs, "%05d.png" % row)
        if not os.path.exists(png):  # the aligned face: the crop less its 8-px margin
            cv2.imwrite(png, cv2.cvtColor(np.asarray(crops[row, 8:120, 8:120]), cv2.COLOR_RGB2BGR))
        if not os.path.lexists(link):
            os.symlink(png, link)
        n += 1
    print("heldout_dir: %d people, %d images in %s" % (len(held), n, a.out))


if __name__ == "__main__":
    main()
