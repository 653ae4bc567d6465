#!/usr/bin/python3
"""PyTorch side of fleet-bench: the same .ffn models in PyTorch, timed per
face like the C side.

Engines (--engine): "frozen" (default), what a user deploying PyTorch on a
CPU would run: each model's reference module (models/ref/ffn_torch.py, the
same weights) traced with torch.jit.trace on the input shape it gets, then
torch.jit.freeze + torch.jit.optimize_for_inference (oneDNN fusions); one
traced graph per input shape (pyramid level, crop batch), traced on first use,
i.e. during the warm-up pass. "interp": the reference interpreter itself
(eager mode, one PyTorch op per .ffn op), not a tuned deployment.

What is timed, per image and thread count (torch.set_num_threads(T),
one inter-op thread, torch.no_grad, float32, eval mode):
  detect: the MTCNN network forwards only -- P-Net on every pyramid level of
    the image (the C detector's sizes: scale_k = 12/min_face * factor^k while
    min(w,h)*scale_k >= 12, side = ceil(side*scale_k)), then R-Net on all
    24x24 candidate crops as one batch, then O-Net on all 48x48 crops as one
    batch. Pre-processing (OpenCV INTER_AREA resizes, crops, normalisation),
    box generation, NMS and regression run in numpy *outside* the timed
    region; the candidate counts come from that numpy pipeline (the C
    detector's thresholds and NMS). Alignment is not timed here. The C side
    times all of ff_detect + ff_align_face, so the comparison favours PyTorch.
  embed: MobileFaceNet forward, batch 1, on each 112x112 aligned face
    (input prepared outside the timed region; L2 normalisation not timed).
  vq_encode (with --vq-model PREFIX): models/ref/vq_codec.py's VqCodec:
    PREFIX.enc.ffn forward, batch 1, on each aligned face, then the nearest
    codeword of each code (squared distance to the "codebook" constant).
    Input prepared outside the timed region; no bit packing (the C figure
    includes it: microseconds).
  vq_decode (with --vq-model): codeword lookup of that face's indices (from
    vq_encode in the same pass) + FfnModule(PREFIX.dec.ffn) forward, batch 1;
    the output stays in the net's normalised space (C maps it to 0..255).
A pass runs the stages in that order, each on all of its images.
Warm-up: --warmup passes over all images before timing; then --runs passes,
one sample per image per pass. Prints "result threads=T stage=S median=..
p90=.. n=.." lines and "result peak_rss_mb=.." (read by fleet-bench) and,
last, one JSON object.

  /usr/bin/python3 tools/fleet-bench/torch_bench.py --models models/cache \
      --faces tests/data/faces [--runs 5] [--warmup 1] [--threads 1,2] \
      [--vq-model models/vq/vq1] [--engine frozen|interp]
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "ref"))
import ffn_torch  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402
from vq_codec import VqCodec  # noqa: E402

MIN_FACE, FACTOR = 20.0, 0.709
THR = (0.6, 0.7, 0.7)
NMS = (0.5, 0.7, 0.7, 0.7)


def model_path(models, name):
    p = os.path.join(models, "ffn", name + ".ffn")
    return p if os.path.isfile(p) else os.path.join(models, name + ".ffn")


class Frozen:
    """A module as torch.jit.trace + freeze + optimize_for_inference, one
    graph per input shape (the traced graph bakes shapes in: paddings, reshapes)."""

    notes = set()   # models optimize_for_inference refused (frozen only), for the JSON

    def __init__(self, module, name):
        self.module, self.meta, self.graphs, self.name = module, module.meta, {}, name

    def _frozen(self, xs):
        return torch.jit.freeze(torch.jit.trace(self.module, xs, check_trace=False).eval())

    def _differs(self, g, xs):
        """Why the optimised graph g is not the module (None when it is): outputs
        compared on xs and on 4*xs, where the clamps bite."""
        for k in (1.0, 4.0):
            ins = [x * k for x in xs]
            for a, b in zip(g(*ins), self.module(*ins)):
                if not torch.allclose(a, b, rtol=1e-3, atol=1e-3):
                    return "changed the outputs (max difference %.3g)" % float((a - b).abs().max())
        return None

    def __call__(self, *xs):
        key = tuple(tuple(x.shape) for x in xs)
        g = self.graphs.get(key)
        if g is None:
            with torch.no_grad():
                try:
                    g = torch.jit.optimize_for_inference(self._frozen(xs))
                    why = self._differs(g, xs)
                except RuntimeError as e:  # torch 1.13 asserts on some clamp bounds
                    why = "failed (%s)" % str(e).splitlines()[0][:80]
                if why:
                    print("torch_bench: %s: optimize_for_inference %s; frozen graph only"
                          % (self.name, why), file=sys.stderr)
                    Frozen.notes.add(self.name)
                    g = self._frozen(xs)  # afresh: the failed pass left the graph half rewritten
                g(*xs)  # the first runs of a frozen graph specialise it
                g(*xs)
            self.graphs[key] = g
        return g(*xs)


ENGINE = "frozen"


def clamp_fusable(x, fp):
    """ffn_torch._clamp in the forms optimize_for_inference fuses into the conv
    (relu, hardtanh with float bounds): torch 1.13's pass asserts on clamp with
    a None bound. Same values (max difference 1e-6 on the VQ encoder)."""
    lo, hi = float(fp[0]), float(fp[1])
    if lo == -math.inf and hi == math.inf:
        return x
    if lo == 0.0 and hi == math.inf:
        return F.relu(x)
    if lo != -math.inf and hi != math.inf:
        # torch 1.13's optimize_for_inference drops a two-sided hardtanh/clamp that
        # follows a conv (vq2's decoder output clamp(-1, 1): outputs down to -1.73);
        # maximum/minimum are left in place
        return torch.minimum(torch.maximum(x, x.new_tensor(lo)), x.new_tensor(hi))
    big = torch.finfo(torch.float32).max
    return F.hardtanh(x, -big if lo == -math.inf else lo, big if hi == math.inf else hi)


def load_net(path):
    """FfnModule of path, run as --engine says."""
    m = FfnModule(path).eval()
    return Frozen(m, os.path.basename(path)) if ENGINE == "frozen" else m


def images(folder):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
                  if f.lower().endswith((".jpg", ".jpeg", ".png")))


def prep(rgb_u8, meta):
    """HWC uint8 RGB -> [1, H, W, 3] (or [1, W, H, 3] for nwhc) float input."""
    x = (rgb_u8.astype(np.float32) - float(meta.get("input_mean", 0))) * \
        float(meta.get("input_scale", 1))
    if meta.get("input_layout") == "nwhc":
        x = x.transpose(1, 0, 2)
    return np.ascontiguousarray(x)[None]


def pyramid(w, h):
    out, m = [], 12.0 / MIN_FACE
    s, minl = m, min(w, h) * m
    while minl >= 12.0:
        ws, hs = math.ceil(w * s), math.ceil(h * s)
        if (ws - 1) // 2 - 4 > 0 and (hs - 1) // 2 - 4 > 0:
            out.append((s, ws, hs))
        s *= FACTOR
        minl *= FACTOR
    return out


def nms(b, thr, use_min=False):
    """b: rows x1 y1 x2 y2 score ...; returns kept rows, by descending score."""
    if len(b) == 0:
        return b
    b = b[np.argsort(-b[:, 4], kind="stable")]
    area = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    keep = []
    for i in range(len(b)):
        ok = True
        for k in keep:
            iw = min(b[k, 2], b[i, 2]) - max(b[k, 0], b[i, 0]) + 1
            ih = min(b[k, 3], b[i, 3]) - max(b[k, 1], b[i, 1]) + 1
            if iw <= 0 or ih <= 0:
                continue
            inter = iw * ih
            den = min(area[k], area[i]) if use_min else area[k] + area[i] - inter
            if den > 0 and inter / den > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return b[keep]


def regress_square(b, square=True):
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0:4] += b[:, 5:9] * np.stack([w, h, w, h], 1)
    b[:, 5:9] = 0
    if square:
        w = b[:, 2] - b[:, 0] + 1
        h = b[:, 3] - b[:, 1] + 1
        l = np.maximum(w, h)
        b[:, 0] = np.floor(b[:, 0] + 0.5 * w - 0.5 * l + 0.5)
        b[:, 1] = np.floor(b[:, 1] + 0.5 * h - 0.5 * l + 0.5)
        b[:, 2] = b[:, 0] + np.round(l) - 1
        b[:, 3] = b[:, 1] + np.round(l) - 1
    return b


def crops(img, b, side, meta):
    out = []
    H, W = img.shape[:2]
    for r in b:
        x, y = int(round(r[0])), int(round(r[1]))
        w, h = int(round(r[2])) - x + 1, int(round(r[3])) - y + 1
        if w <= 0 or h <= 0:
            continue
        c = np.zeros((h, w, 3), np.uint8)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x1 > x0 and y1 > y0:
            c[y0 - y:y1 - y, x0 - x:x1 - x] = img[y0:y1, x0:x1]
        c = cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA if w > side else cv2.INTER_LINEAR)
        out.append(prep(c, meta)[0])
    return np.stack(out) if out else np.zeros((0, side, side, 3), np.float32)


class Detector:
    def __init__(self, models):
        self.p, self.r, self.o = (load_net(model_path(models, n)) for n in ("pnet", "rnet", "onet"))

    @staticmethod
    def _split(outs, widths):
        return [next(o for o in outs if o.shape[-1] == c) for c in widths]

    def prepare(self, img):
        """Pre-computed P-Net inputs of one image (untimed)."""
        h, w = img.shape[:2]
        return [(s, torch.from_numpy(prep(cv2.resize(img, (ws, hs), interpolation=cv2.INTER_AREA),
                                          self.p.meta))) for s, ws, hs in pyramid(w, h)]

    def run(self, img, levels):
        """Returns (seconds spent in network forwards, #R-Net crops, #O-Net crops)."""
        t = 0.0
        cand = []
        for s, x in levels:
            t0 = time.perf_counter()
            prob, reg = self._split(self.p(x), (2, 4))
            t += time.perf_counter() - t0
            prob, reg = prob[0].numpy(), reg[0].numpy()  # [W', H', c]
            xs, ys = np.nonzero(prob[:, :, 1] > THR[0])
            if len(xs) == 0:
                continue
            b = np.zeros((len(xs), 15), np.float32)
            b[:, 0] = np.round(2.0 * xs / s)
            b[:, 1] = np.round(2.0 * ys / s)
            b[:, 2] = np.round((2.0 * xs + 11.0) / s)
            b[:, 3] = np.round((2.0 * ys + 11.0) / s)
            b[:, 4] = prob[xs, ys, 1]
            b[:, 5:9] = reg[xs, ys]
            cand.append(nms(b, NMS[0]))
        b = nms(np.concatenate(cand), NMS[1])[:2000] if cand else np.zeros((0, 15), np.float32)
        n_r = len(b)
        if n_r == 0:
            return t, 0, 0
        b = regress_square(b)
        x = torch.from_numpy(crops(img, b, 24, self.r.meta))
        t0 = time.perf_counter()
        prob, reg = self._split(self.r(x), (2, 4))
        t += time.perf_counter() - t0
        keep = prob[:, 1].numpy() > THR[1]
        b = b[keep]
        b[:, 4] = prob[keep, 1].numpy()
        b[:, 5:9] = reg[keep].numpy()
        b = regress_square(nms(b, NMS[2]))
        n_o = len(b)
        if n_o == 0:
            return t, n_r, 0
        x = torch.from_numpy(crops(img, b, 48, self.o.meta))
        t0 = time.perf_counter()
        self.o(x)
        t += time.perf_counter() - t0
        return t, n_r, n_o


def clock_ms(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1e3


def stats(ms):
    a = np.sort(np.asarray(ms))
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)), "n": int(a.size)}


def load_rgb(paths):
    return [cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]


def stages(a, det, full):
    """[(name, items, fn(i, item) -> ms)] in pass order, and the crop counters detect fills."""
    levels = [det.prepare(im) for im in full]
    emb = load_net(model_path(a.models, "mobilefacenet"))
    faces = load_rgb(images(os.path.join(a.faces, "aligned112")))
    if not full or not faces:
        sys.exit("torch_bench: no images under %s/{lfw,aligned112}" % a.faces)
    crops_seen = {"rnet": 0, "onet": 0, "images": 0}

    def detect(i, im):
        s, r_, o_ = det.run(im, levels[i])
        crops_seen["rnet"] += r_
        crops_seen["onet"] += o_
        crops_seen["images"] += 1
        return s * 1e3

    out = [("detect", full, detect),
           ("embed", [torch.from_numpy(prep(f, emb.meta)) for f in faces], lambda i, x: clock_ms(emb, x))]
    if a.vq_model:
        vq = VqCodec.from_prefix(a.vq_model)
        if ENGINE == "frozen":
            vq.enc, vq.dec = Frozen(vq.enc, "vq.enc"), Frozen(vq.dec, "vq.dec")
        codes = [None] * len(faces)

        def encode(i, x):
            codes[i] = vq.encode(x)[0]

        out += [("vq_encode", [torch.from_numpy(prep(f, vq.enc.meta)) for f in faces],
                 lambda i, x: clock_ms(encode, i, x)),
                ("vq_decode", codes, lambda i, c: clock_ms(vq.decode, c))]
    return out, crops_seen


def main():
    ap = argparse.ArgumentParser(description="PyTorch side of fleet-bench")
    ap.add_argument("--models", default=os.path.join(ROOT, "models", "cache"))
    ap.add_argument("--faces", default=os.path.join(ROOT, "tests", "data", "faces"))
    ap.add_argument("--vq-model", help="VQ-VAE PREFIX (PREFIX.enc.ffn, PREFIX.dec.ffn); none: no vq stages")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--engine", choices=("frozen", "interp"), default="frozen",
                    help="frozen: jit.trace + freeze + optimize_for_inference; interp: ffn_torch eager")
    a = ap.parse_args()
    global ENGINE
    ENGINE = a.engine
    if ENGINE == "frozen":
        ffn_torch._clamp = clamp_fusable
    if ENGINE == "frozen" and a.warmup < 1:
        sys.exit("torch_bench: --engine frozen needs --warmup >= 1 (graphs are traced then)")
    torch.set_num_interop_threads(1)
    full = load_rgb(images(os.path.join(a.faces, "lfw")))
    work, crops_seen = stages(a, Detector(a.models), full)
    res = {"images": len(full), "aligned": len(work[1][1]), "runs": a.runs, "warmup": a.warmup,
           "torch": torch.__version__, "engine": ENGINE, "vq_model": a.vq_model, "threads": {}}
    with torch.no_grad():
        for t in [int(v) for v in a.threads.split(",")]:
            torch.set_num_threads(t)
            ms = {name: [] for name, _, _ in work}
            crops_seen.update(rnet=0, onet=0, images=0)
            for run in range(a.warmup + a.runs):
                for name, items, fn in work:
                    for i, item in enumerate(items):
                        v = fn(i, item)
                        if run >= a.warmup:
                            ms[name].append(v)
            r = res["threads"][str(t)] = {name + "_ms": stats(v) for name, v in ms.items()}
            r["rnet_crops_per_image"] = crops_seen["rnet"] / crops_seen["images"]
            r["onet_crops_per_image"] = crops_seen["onet"] / crops_seen["images"]
            for name in ms:
                st = r[name + "_ms"]
                print("result threads=%d stage=%s median=%.4f p90=%.4f n=%d"
                      % (t, name, st["median"], st["p90"], st["n"]), flush=True)
    res["frozen_not_optimized"] = sorted(Frozen.notes)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("result peak_rss_mb=%.1f" % res["peak_rss_mb"])
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
