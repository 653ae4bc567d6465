#!/usr/bin/python3
"""ONNX Runtime side of fleet-bench, prepared in Python: the models as ONNX and
the exact network inputs the PyTorch side times, for fleet-bench's C code
(ort_side.c) to run through ONNX Runtime's C API.

Exports the same reference modules torch_bench.py's frozen engine traces
(models/ref/ffn_torch.py on the same .ffn weights, clamps in their relu /
hardtanh forms) with torch.onnx.export, one file per input shape (as the
frozen engine keeps one graph per shape): P-Net per pyramid level, R-Net and
O-Net per crop batch size, MobileFaceNet and the VQ encoder/decoder at batch
1. The detect inputs are those of torch_bench.py's Detector (the C detector's
pyramid sizes, the numpy box pipeline's crops), so ORT runs the same forwards
the PyTorch side times. Also writes what the frozen PyTorch graphs gave on
each input, for fleet-bench's agreement check.

  /usr/bin/python3 tools/fleet-bench/ort_export.py [--models models/cache]
      [--faces tests/data/faces] [--vq-model models/vq/vq2] [--out DIR] [--force]

DIR (default: MODELS/ort/bench) gets *.onnx, in/*.f32 (inputs), ref/*.f32
(PyTorch outputs) and manifest.txt, written last:
  fleet-bench-ort 1
  faces <faces dir, absolute, links resolved>
  vq_model <model_id or ->
  counts <lfw images> <aligned crops>
  call <stage> <item> <net> <onnx> <input .f32> <ref .f32> <rank> <dims...>
A call is one network forward; a stage item (one image for detect, one face
for the others) is its calls in order. <net> is pnet/rnet/onet/mobilefacenet/
vq.enc/vq.dec. For vq_decode the input is the codeword grid of the PyTorch
encoder's indices (fleet-bench times ORT on the lookup of its own indices).
An existing manifest for the same faces and VQ model is kept (--force redoes
it). Exit 0 done, 1 failure, 2 usage.
"""
import argparse
import warnings
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_bench as tb  # noqa: E402
import ffn_torch  # noqa: E402  (torch_bench put models/ref on the path)
from vq_codec import VqCodec  # noqa: E402

OPSET = 17  # the newest torch 1.13 exports; ONNX Runtime 1.30 reads it


class Recorder:
    """Wraps a frozen net: records each call's input and outputs."""

    def __init__(self, net, name):
        self.net, self.name, self.meta, self.calls = net, name, net.meta, []

    def __call__(self, x):
        outs = self.net(x)
        self.calls.append((x.numpy().copy(), [o.numpy().copy() for o in outs]))
        return outs


class Writer:
    def __init__(self, out):
        self.out, self.lines, self.onnx = out, [], {}
        for d in ("in", "ref"):
            os.makedirs(os.path.join(out, d), exist_ok=True)

    def export(self, module, name, shape):
        """The ONNX file of module at input shape (exported once per shape)."""
        key = (name, shape)
        if key not in self.onnx:
            fn = "%s_%s.onnx" % (name, "x".join(map(str, shape)))
            x = torch.zeros(shape)
            n_out = len(module(x))
            torch.onnx.export(module, (x,), os.path.join(self.out, fn), opset_version=OPSET,
                              input_names=["input"],
                              output_names=["out%d" % i for i in range(n_out)])
            self.onnx[key] = fn
        return self.onnx[key]

    def call(self, stage, item, name, module, x, outs):
        tag = "%s_%d_%s_%d" % (stage, item, name, len(self.lines))
        x = np.ascontiguousarray(x, np.float32)
        x.tofile(os.path.join(self.out, "in", tag + ".f32"))
        np.concatenate([np.asarray(o, np.float32).ravel() for o in outs]).tofile(
            os.path.join(self.out, "ref", tag + ".f32"))
        onnx = self.export(module, name, tuple(x.shape))
        self.lines.append("call %s %d %s %s in/%s.f32 ref/%s.f32 %d %s" % (
            stage, item, name, onnx, tag, tag, x.ndim, " ".join(map(str, x.shape))))


def static_pads():
    """ffn_torch's paddings as Python ints: traced from tensor sizes, torch 1.13
    exports them as a Shape/Slice computation feeding Pad, which ONNX Runtime
    1.30 pads wrongly at odd sizes (P-Net's 107x107 level: 48x48 outputs, not
    49x49). Every exported file has one fixed input shape, so constants are exact."""
    pads = ffn_torch._pads
    ffn_torch._pads = lambda op, h, w, kh, kw: tuple(
        int(v) for v in pads(op, int(h), int(w), int(kh), int(kw)))


def detect_calls(w, a, full):
    det = tb.Detector(a.models)
    rec = {n: Recorder(getattr(det, n[0]), n) for n in ("pnet", "rnet", "onet")}
    det.p, det.r, det.o = rec["pnet"], rec["rnet"], rec["onet"]
    for i, im in enumerate(full):
        levels = det.prepare(im)
        det.run(im, levels)  # traces each shape's frozen graph on first use
        for r in rec.values():
            r.calls.clear()
        det.run(im, levels)  # the recorded run: the frozen graphs' outputs
        for n in ("pnet", "rnet", "onet"):
            for x, outs in rec[n].calls:
                w.call("detect", i, n, rec[n].net.module, x, outs)


def face_calls(w, a, faces):
    emb = tb.load_net(tb.model_path(a.models, "mobilefacenet"))
    for i, f in enumerate(faces):
        x = torch.from_numpy(tb.prep(f, emb.meta))
        w.call("embed", i, "mobilefacenet", emb.module, x.numpy(), emb(x))
    if not a.vq_model:
        return
    vq = VqCodec.from_prefix(a.vq_model)
    enc, dec = tb.Frozen(vq.enc, "vq.enc"), tb.Frozen(vq.dec, "vq.dec")
    for i, f in enumerate(faces):
        x = torch.from_numpy(tb.prep(f, vq.enc.meta))
        (lat,) = enc(x)
        w.call("vq_encode", i, "vq.enc", vq.enc, x.numpy(), (lat,))
        v = lat.reshape(-1, vq.codebook.shape[1])
        idx = torch.argmin(((v[:, None, :] - vq.codebook[None]) ** 2).sum(-1), dim=1)
        grid = vq.codebook[idx].reshape(1, *vq.grid, -1)
        w.call("vq_decode", i, "vq.dec", vq.dec, grid.numpy(), dec(grid))


def header(a, nfull, nal):
    vq_id = "-"
    if a.vq_model:
        vq_id = VqCodec.from_prefix(a.vq_model).enc.meta.get("model_id", "-")
    return ["fleet-bench-ort 1", "faces %s" % os.path.realpath(a.faces), "vq_model %s" % vq_id,
            "counts %d %d" % (nfull, nal)]


def main():
    ap = argparse.ArgumentParser(description="ONNX models and inputs for fleet-bench's ORT side")
    ap.add_argument("--models", default=os.environ.get("FF_MODELS_DIR",
                                                       os.path.join(tb.ROOT, "models", "cache")))
    ap.add_argument("--faces", default=os.path.join(tb.ROOT, "tests", "data", "faces"))
    ap.add_argument("--vq-model", help="VQ-VAE PREFIX; default models/vq/<first word of DEFAULT>")
    ap.add_argument("--out", help="output folder [MODELS/ort/bench]")
    ap.add_argument("--force", action="store_true", help="export again even when up to date")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")  # the tracer's notes on shape-dependent Python code
    if a.vq_model is None:
        vq_dir = os.path.join(tb.ROOT, "models", "vq")
        with open(os.path.join(vq_dir, "DEFAULT")) as f:
            a.vq_model = os.path.join(vq_dir, f.read().split()[0])
    out = a.out or os.path.join(a.models, "ort", "bench")
    full = tb.load_rgb(tb.images(os.path.join(a.faces, "lfw")))
    faces = tb.load_rgb(tb.images(os.path.join(a.faces, "aligned112")))
    if not full or not faces:
        sys.exit("ort_export: no images under %s/{lfw,aligned112}" % a.faces)
    head = header(a, len(full), len(faces))
    manifest = os.path.join(out, "manifest.txt")
    if not a.force and os.path.isfile(manifest):
        with open(manifest) as f:
            if f.read().splitlines()[:4] == head:
                print("ort_export: %s is up to date" % manifest)
                return
    tb.ENGINE = "frozen"
    ffn_torch._clamp = tb.clamp_fusable  # the frozen engine's forms, exported as Relu/Clip
    static_pads()
    torch.set_num_threads(1)
    w = Writer(out)
    with torch.no_grad():
        detect_calls(w, a, full)
        face_calls(w, a, faces)
    tmp = manifest + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(head + w.lines) + "\n")
    os.replace(tmp, manifest)
    print("ort_export: %d calls, %d ONNX files in %s" % (len(w.lines), len(w.onnx), out))


if __name__ == "__main__":
    main()
