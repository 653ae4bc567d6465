#!/usr/bin/python3
"""Prepare LFW training/validation crops for the VQ-VAE.

Reads the deep-funneled 250x250 images and the official View-1 people lists
(DevTrain for training, DevTest for validation; the two do not overlap) and
writes uint8 NHWC arrays of face crops with a margin, so training can jitter
position and scale and still cut a 112x112 face:

  data/<split>_crops.npy   uint8 [N, 128, 128, 3] RGB, aligned like the device
                           does it, with an 8 px margin: the centre 112x112 is
                           the ArcFace-template crop of the face
  data/<split>_labels.npy  int32 [N]: person index within the split
  data/<split>_files.txt   relative image paths, one per row
  data/landmarks.jsonl     the detector's output, cached (fleet-eval embed
                           --landmarks-only)

Alignment uses the project's own detector: `fleet-eval embed --landmarks-only` (MTCNN, the
C pipeline of the device) gives 5 landmarks per face; the most central face
is taken (as fleet-eval align-check does) and warped with the same
least-squares similarity to the ArcFace template as lib/vision/align.c, the
template shifted by the margin. Images where it finds no face fall back to
the fixed box (59,50)-(192,183), which approximates the template on these
images (shared/data README); --fixed-box uses that box for every image.

usage: prepare_data.py [--lfw DIR] [--out DIR] [--fleet-eval BIN] [--models DIR] [--fixed-box]
                       [--jpeg-pack]
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

import cv2
import numpy as np

BOX = (59, 50, 192, 183)
CROP = 128
FACE = 112
ARCFACE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                    [41.5493, 92.3655], [70.7299, 92.2041]])  # lib/vision/align.c


def similarity(src, dst):
    """Least-squares similarity (Umeyama, no reflection) src -> dst, 2x3 (lib/vision/align.c)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    var = (s ** 2).sum()
    a = (s * d).sum() / var                                        # scale * cos
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var        # scale * sin
    r = np.array([[a, -b], [b, a]])
    return np.hstack([r, (md - r @ ms)[:, None]])


def align_with_margin(img, landmarks):
    m = similarity(np.asarray(landmarks, np.float64).reshape(5, 2), ARCFACE + (CROP - FACE) / 2.0)
    return cv2.warpAffine(img, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def central_face(faces, width=250, height=250):
    """The face whose box centre is nearest the image centre (ff_face_pick_central)."""
    best, best_d = None, 0.0
    for f in faces:
        x0, y0, x1, y1 = f["box"]
        d = (0.5 * (x0 + x1) - 0.5 * (width - 1)) ** 2 + (0.5 * (y0 + y1) - 0.5 * (height - 1)) ** 2
        if best is None or d < best_d - 1e-9 or (abs(d - best_d) <= 1e-9 and f["score"] > best["score"]):
            best, best_d = f, d
    return best


def detect(lfw, files, fleet_eval, models, cache):
    """{relative path: landmarks or None}, running the C detector on two processes once."""
    if not os.path.exists(cache):
        images = os.path.join(lfw, "images_deepfunneled")
        chunks = [files[k:k + 500] for k in range(0, len(files), 500)]

        # it runs in the images folder (relative names in its output): absolute paths
        cmd = [os.path.abspath(fleet_eval), "embed", "--landmarks-only", "--models", os.path.abspath(models)]

        def run(chunk):
            return subprocess.run(cmd + chunk, cwd=images, check=True, stdout=subprocess.PIPE,
                                  text=True).stdout
        with concurrent.futures.ThreadPoolExecutor(2) as pool, open(cache + ".tmp", "w") as out:
            for k, text in enumerate(pool.map(run, chunks)):
                out.write(text)
                print("detect: %d/%d" % (min((k + 1) * 500, len(files)), len(files)), flush=True)
        os.replace(cache + ".tmp", cache)
    faces = {}
    for line in open(cache):
        r = json.loads(line)
        faces.setdefault(r["image"], [])
        if r.get("landmarks"):
            faces[r["image"]].append(r)
    return {f: (central_face(v)["landmarks"] if v else None) for f, v in faces.items()}


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


def split_files(lfw, split):
    files, labels = [], []
    for pid, (name, count) in enumerate(people(os.path.join(lfw, "people%s.txt" % split))):
        for k in range(1, count + 1):
            files.append("%s/%s_%04d.jpg" % (name, name, k))
            labels.append(pid)
    return files, labels


def build(lfw, split, out, jpeg_pack, landmarks):
    files, labels = split_files(lfw, split)
    crops = np.zeros((len(files), CROP, CROP, 3), np.uint8)
    fixed = 0
    for i, rel in enumerate(files):
        img = cv2.imread(os.path.join(lfw, "images_deepfunneled", rel), cv2.IMREAD_COLOR)
        if img is None:
            sys.exit("prepare_data: cannot read %s" % rel)
        lm = landmarks.get(rel)
        fixed += lm is None
        crop = crop_with_margin(img) if lm is None else align_with_margin(img, lm)
        crops[i] = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
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
    print("%s: %d images of %d people, %d aligned by the detector, %d by the fixed box" %
          (split, len(files), labels[-1] + 1, len(files) - fixed, fixed))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", default=os.path.join(here, "..", "..", "..", "shared", "data", "lfw"))
    ap.add_argument("--out", default=os.path.join(here, "data"))
    ap.add_argument("--fleet-eval", default=os.path.join(here, "..", "..", "build", "tools", "fleet-eval",
                                                          "fleet-eval"), help="the C detector (deploy/setup builds it)")
    ap.add_argument("--models", default=os.environ.get("FF_MODELS_DIR", os.path.join(here, "..", "cache")),
                    help="the detector's model folder (deploy/setup's models/cache)")
    ap.add_argument("--fixed-box", action="store_true", help="no detector: the fixed box for every image")
    ap.add_argument("--jpeg-pack", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    landmarks = {}
    if not a.fixed_box:
        if not os.access(a.fleet_eval, os.X_OK):
            sys.exit("prepare_data: %s not built (deploy/setup), or pass --fixed-box" % a.fleet_eval)
        files = [f for s in ("DevTrain", "DevTest") for f in split_files(a.lfw, s)[0]]
        landmarks = detect(a.lfw, files, a.fleet_eval, a.models, os.path.join(a.out, "landmarks.jsonl"))
    for split in ("DevTrain", "DevTest"):
        build(a.lfw, split, a.out, a.jpeg_pack, landmarks)


if __name__ == "__main__":
    main()
