#!/usr/bin/python3
"""Export a trained VQ-VAE checkpoint to two .ffn files (models/FORMAT.md).

  <out>/<model_id>.enc.ffn  device side: 112x112 RGB -> [1,7,7,G*D] bounded
                            lattice coordinates; the caller picks the nearest
                            codeword of the "codebook" constant for each group
  <out>/<model_id>.dec.ffn  backend side: [1,7,7,G*D] codewords (looked up by
                            index in "codebook") -> [1,112,112,3] face in
                            MobileFaceNet input space, clamped to [-1, 1]

Batch norm is folded into the convolutions. FSQ's bound tanh(z + shift) is
written as 2*sigmoid(2z + 2shift) - 1 (XNNPACK's 2022 snapshot has no tanh),
with the factor 2 folded into the head convolution. The export is checked
against the PyTorch model through the reference interpreter before writing.

usage: export.py CKPT --model-id ID [--out DIR] [--decoder CKPT]
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
import ffn  # noqa: E402
import vqvae  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402

RELU = [0.0, ffn.INF]
LINEAR = [-ffn.INF, ffn.INF]


def fold(convbn):
    """(weight OIHW, bias) of conv+BN with BN folded in."""
    conv, bn = convbn.conv, convbn.bn
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * s.view(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * s
    return w.detach(), b.detach()


class Writer:
    def __init__(self, meta, in_shape):
        self.g = ffn.Graph(meta)
        self.x = self.g.tensor("input", in_shape)
        self.g.inputs = [self.x]
        self.shape = list(in_shape)
        self.n = 0

    def name(self, what):
        self.n += 1
        return "%s%d" % (what, self.n)

    def act(self, shape):
        return self.g.tensor(self.name("t"), shape)

    def conv(self, x, shape, w, b, stride, groups, clamp):
        """w OIHW torch layout; explicit symmetric pads k//2."""
        o, _, kh, _ = w.shape
        h, wd = (shape[1] + 2 * (kh // 2) - kh) // stride + 1, (shape[2] + 2 * (kh // 2) - kh) // stride + 1
        out_shape = [1, h, wd, o]
        y = self.act(out_shape)
        p = kh // 2
        if groups == 1:
            wt = self.g.const(self.name("w"), w.permute(0, 2, 3, 1).numpy())
            kind, mult = "CONV_2D", 1
        else:
            wt = self.g.const(self.name("w"), w.permute(1, 2, 3, 0).numpy())
            kind, mult = "DEPTHWISE_CONV_2D", 1
        bt = self.g.const(self.name("b"), b.numpy())
        self.g.op(kind, [x, wt, bt], [y], [stride, stride, p, p, p, p, 1, 1, mult, ffn.PAD_EXPLICIT], clamp)
        return y, out_shape

    def convbn(self, x, shape, cb):
        w, b = fold(cb)
        groups = cb.conv.groups
        return self.conv(x, shape, w, b, cb.conv.stride[0], groups, RELU if cb.relu else LINEAR)

    def block(self, x, shape, blk):
        y, s = self.convbn(x, shape, blk.dw)
        y, s = self.convbn(y, s, blk.pw)
        if blk.residual:
            z = self.act(s)
            self.g.op("ADD", [y, x], [z], [], LINEAR)
            return z, s
        return y, s

    def unary(self, kind, x, shape, consts=None, fparam=None):
        y = self.act(shape)
        ins = [x] + ([self.g.const(self.name("c"), consts)] if consts is not None else [])
        self.g.op(kind, ins, [y], [], fparam or LINEAR)
        return y


def export_encoder(model, meta):
    fsq = model.fsq
    wr = Writer(meta, [1, 112, 112, 3])
    x, s = wr.convbn(wr.x, wr.shape, model.encoder.stem)
    for blk in model.encoder.blocks:
        x, s = wr.block(x, s, blk)
    head = model.encoder.head
    shift = fsq.shift.repeat(fsq.groups)
    half = fsq.half_l.repeat(fsq.groups)
    off = fsq.offset.repeat(fsq.groups)
    x, s = wr.conv(x, s, 2 * head.weight.detach(), 2 * (head.bias.detach() + shift), 1, 1, LINEAR)
    x = wr.unary("SIGMOID", x, s)
    x = wr.unary("MUL", x, s, (2 * half).numpy())
    x = wr.unary("ADD", x, s, (-half - off).numpy())
    wr.g.tensors[x].name = "latent"
    wr.g.outputs = [x]
    wr.g.const("codebook", fsq.codebook().numpy())
    wr.g.prune(keep={"codebook"})
    return wr.g


def export_decoder(model, meta, adapter=None):
    dec = model.decoder
    c = model.fsq.groups * model.fsq.dim
    wr = Writer(meta, [1, model.grid, model.grid, c])
    w, b = fold(dec.inp)
    w = w * model.dec_scale.view(1, -1, 1, 1)
    x, s = wr.conv(wr.x, wr.shape, w, b, 1, 1, RELU)
    for blk in dec.low:
        x, s = wr.block(x, s, blk)
    for up in dec.ups:
        s2 = [1, s[1] * 2, s[2] * 2, s[3]]
        y = wr.act(s2)
        wr.g.op("RESIZE_BILINEAR", [x], [y], [s2[1], s2[2], 0])
        x, s = wr.convbn(y, s2, up[0])
        x, s = wr.block(x, s, up[1])
    w, b = dec.out.weight.detach(), dec.out.bias.detach()
    if dec.shuffle:
        # PyTorch pixel_shuffle reads channel c*4 + 2i + j for pixel (i, j) of colour c; TF/XNNPACK
        # depth-to-space reads (2i + j)*3 + c: reorder the conv's outputs to match. The clamp
        # commutes with the permutation, so it stays on the conv.
        perm = [c * 4 + ij for ij in range(4) for c in range(3)]
        x, s = wr.conv(x, s, w[perm], b[perm], 1, 1, [-1.0, 1.0])
        s2 = [1, s[1] * 2, s[2] * 2, 3]
        y = wr.act(s2)
        wr.g.op("DEPTH_TO_SPACE", [x], [y], [2])
        x, s = y, s2
    else:
        x, s = wr.conv(x, s, w, b, 1, 1, [-1.0, 1.0])
    wr.g.tensors[x].name = "image"
    wr.g.outputs = [x]
    wr.g.const("codebook", model.fsq.codebook().numpy())
    keep = {"codebook"}
    if adapter is not None:  # fit_adapter.py: applied by the backend after MobileFaceNet
        wr.g.const("embed_adapter", adapter)
        keep.add("embed_adapter")
    wr.g.prune(keep=keep)
    return wr.g


def check(model, enc_g, dec_g):
    """Reference interpreter vs PyTorch model on random faces-like input."""
    torch.manual_seed(0)
    x = torch.rand(4, 3, 112, 112) * 2 - 1
    with torch.no_grad():
        b = model.fsq.bound(model.encoder(x))
        (lat,) = FfnModule(enc_g)(x.permute(0, 2, 3, 1))
        err_e = (lat.permute(0, 3, 1, 2) - b).abs().max().item()
        q = model.fsq.snap(b)
        (img,) = FfnModule(dec_g)(q.permute(0, 2, 3, 1))
        err_d = (img.permute(0, 3, 1, 2) - model.decode(q)).abs().max().item()
    if err_e > 1e-3 or err_d > 1e-3:
        sys.exit("export: mismatch encoder %.2e decoder %.2e" % (err_e, err_d))
    return err_e, err_d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt")
    ap.add_argument("--model-id", required=True, help="[a-z0-9-]{1,32}, travels on the wire")
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--adapter", help="embedding adapter (fit_adapter.py .npy) stored in the decoder")
    ap.add_argument("--decoder", help="another checkpoint whose decoder (and its widths) goes with this "
                    "encoder: both read the same codes (distil_encoder.py, train.py --dec-widths)")
    a = ap.parse_args()
    st = torch.load(a.ckpt, map_location="cpu")
    if a.decoder:
        dst = torch.load(a.decoder, map_location="cpu")
        st["config"] = dict(st["config"], **{k: dst["config"][k] for k in ("dec_widths", "dec_low_blocks",
                                                                           "dec_shuffle")})
        st["model"] = {**{k: v for k, v in st["model"].items() if not k.startswith("decoder.")},
                       **{k: v for k, v in dst["model"].items() if k.startswith("decoder.")}}
    model = vqvae.VQVAE(**st["config"])
    model.load_state_dict(st["model"])
    model.eval()
    fsq = model.fsq
    meta = {"model_id": a.model_id, "grid_h": model.grid, "grid_w": model.grid, "codes_per_cell": fsq.groups,
            "code_dim": fsq.dim, "codebook_size": fsq.codebook_size,
            "bits_per_index": int(np.ceil(np.log2(fsq.codebook_size))),
            "quantizer": "fsq levels=" + ",".join(str(v) for v in fsq.levels),
            "training_step": st["step"]}
    if fsq.fine != 1:  # lib/codec: its integer-lattice codewords are the rate control's fallback
        meta["quantizer"] += " fine=%d" % fsq.fine
        meta["fsq_fine"] = fsq.fine
    enc = export_encoder(model, dict(meta, name="vq-encoder", input_mean=127.5, input_scale=0.0078125,
                                     input_layout="nhwc",
                                     enc_widths=",".join(str(w) for w in model.config["enc_widths"]),
                                     enc_last_blocks=model.config["enc_last_blocks"]))
    adapter = np.load(a.adapter).astype(np.float32) if a.adapter else None
    dec_meta = dict(meta, name="vq-decoder", output_mean=127.5, output_scale=0.0078125,
                    dec_widths=",".join(str(w) for w in model.config["dec_widths"]),
                    dec_low_blocks=model.config["dec_low_blocks"])
    if adapter is not None:
        dec_meta["embed_adapter"] = "mobilefacenet %dx%d, fit_adapter.py on DevTrain" % adapter.shape
    dec = export_decoder(model, dec_meta, adapter)
    err = check(model, enc, dec)
    for g, part in ((enc, "enc"), (dec, "dec")):
        path = os.path.join(a.out, "%s.%s.ffn" % (a.model_id, part))
        ffn.save(g, path)
        print("%s: %d ops, %d bytes" % (path, len(g.ops), os.path.getsize(path)))
    print("max abs error vs PyTorch: encoder %.2e decoder %.2e" % err)


if __name__ == "__main__":
    main()
