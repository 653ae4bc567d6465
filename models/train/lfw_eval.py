"""LFW protocol helpers shared by training validation and the report.

Same definitions as the C `fleet-eval`: 10-fold verification accuracy (the
threshold is chosen on 9 folds, applied to the 10th), TAR at FAR=1e-3, and
closed-set identification with gallery = first image (sorted) of each person
with 2+ images, probes = the rest.
"""
import numpy as np


def read_pairs(path):
    """[(name1, n1, name2, n2, same)] from pairs.txt / pairsDevTest.txt."""
    rows = []
    with open(path) as f:
        f.readline()
        for line in f:
            p = line.split()
            if len(p) == 3:
                rows.append((p[0], int(p[1]), p[0], int(p[2]), 1))
            elif len(p) == 4:
                rows.append((p[0], int(p[1]), p[2], int(p[3]), 0))
    return rows


def rel(name, n):
    return "%s/%s_%04d.jpg" % (name, name, n)


def best_threshold(scores, same):
    cands = np.unique(scores)
    accs = [((scores >= t) == same).mean() for t in cands]
    return cands[int(np.argmax(accs))]


def verification(scores, same, folds=10):
    """Mean 10-fold accuracy (contiguous folds, as in pairs.txt) and TAR@FAR=1e-3."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    idx = np.array_split(np.arange(len(scores)), folds)
    accs = []
    for k in range(folds):
        train = np.concatenate([idx[j] for j in range(folds) if j != k])
        t = best_threshold(scores[train], same[train])
        accs.append(((scores[idx[k]] >= t) == same[idx[k]]).mean())
    neg = np.sort(scores[~same])[::-1]
    t = neg[max(int(np.floor(len(neg) * 1e-3)) - 1, 0)] if len(neg) >= 1000 else neg[0]
    tar = float((scores[same] > t).mean())
    return float(np.mean(accs)), tar


def identification(emb, labels):
    """Top-1/Top-5 with gallery = first (sorted) image per person with 2+ images.
    emb: [N, D] L2-normalised, rows in sorted file order; labels: [N]."""
    labels = np.asarray(labels)
    gallery, probes = [], []
    for pid in np.unique(labels):
        rows = np.flatnonzero(labels == pid)
        if len(rows) >= 2:
            gallery.append(rows[0])
            probes.extend(rows[1:])
    g, p = emb[gallery], emb[probes]
    sims = p @ g.T
    order = np.argsort(-sims, axis=1)[:, :5]
    truth = np.searchsorted(labels[gallery], labels[probes])
    top1 = float((order[:, 0] == truth).mean())
    top5 = float((order == truth[:, None]).any(axis=1).mean())
    return top1, top5, len(gallery), len(probes)
