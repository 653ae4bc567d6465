#!/usr/bin/python3
"""Open-set threshold at a target FAR from `fleet-eval verify --scores` output.

Usage: backend/threshold_from_scores.py SCORES [--far 1e-3] [--method original]
SCORES lines: 'method same score' (same = 1 for a genuine pair, 0 impostor).
The threshold is just above the (floor(FAR * impostors) + 1)-th highest impostor
score, so at most FAR of the impostor pairs reach it. Prints one JSON line."""
import argparse
import json
import math

ap = argparse.ArgumentParser()
ap.add_argument("scores")
ap.add_argument("--far", type=float, default=1e-3)
ap.add_argument("--method", default="original")
a = ap.parse_args()
same, diff = [], []
for line in open(a.scores):
    f = line.split()
    if len(f) < 3 or f[0] != a.method:
        continue
    try:
        s = float(f[2])
    except ValueError:
        continue
    if math.isnan(s):
        continue
    (same if f[1] in ("1", "true", "same") else diff).append(s)
diff.sort(reverse=True)
k = int(math.floor(a.far * len(diff)))
thr = round(diff[k] + 5e-4, 3)
far = sum(d >= thr for d in diff) / len(diff)
tar = sum(s >= thr for s in same) / len(same)
print(json.dumps({"method": a.method, "genuine": len(same), "impostor": len(diff),
                  "target_far": a.far, "threshold": thr, "far": round(far, 5),
                  "tar": round(tar, 4)}))
