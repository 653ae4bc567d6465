#!/usr/bin/python3
"""The held-out DevTrain people (train.py's validation split) as a folder fleet-eval reads.

  heldout_dir.py [--out /tmp/heldout] [--heldout 0.1] [--seed 1]

Writes OUT/pNNNNN/IIIII.png, links to data/devtrain-png (prepare_data.py), one folder a
person, so that candidates are compared through the C pipeline as deployed, rate control
included, on people no run trained on and without looking at DevTest:

  fleet-eval identify|openset --aligned --images OUT --vq-model PREFIX --methods vq \\
      --enrol original --code-bytes 121
"""
import argparse
import os
import sys

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
    n = 0
    for row, person in enumerate(labels):
        if int(person) not in held:
            continue
        folder = os.path.join(a.out, "p%05d" % person)
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, "%05d.png" % row)
        if not os.path.lexists(link):
            os.symlink(os.path.join(train.DATA, "devtrain-png", "%05d.png" % row), link)
        n += 1
    print("heldout_dir: %d people, %d images in %s" % (len(held), n, a.out))


if __name__ == "__main__":
    main()
