#!/usr/bin/python3
"""Import an exported VQ-VAE (PREFIX.enc.ffn + PREFIX.dec.ffn) back into a
vqvae.VQVAE, so a new model can start from a shipped one (vq3 from vq2: no
checkpoint of vq2 was kept, and its recipe took 91 min on 2 cores from scratch).

export.py folds batch norm into each convolution, so the import cannot recover
the original (conv, BN) pair; it loads the folded weights into the conv and makes
the BN an exact identity-plus-bias in eval mode (mean 0, var 1 - eps, gamma 1,
beta = folded bias). The network must therefore be fine-tuned with BN statistics
frozen (train.freeze_bn): in train mode BN would renormalise by batch statistics
and change the function. It undoes export.py's other rewrites too: the head's
factor 2 and FSQ shift (tanh as sigmoid), the decoder input's dec_scale, and the
depth-to-space channel order.

Check (exit status 1 on mismatch): code indices of the imported network on the
golden faces against the exported C goldens (models/vq/golden/ID/golden.txt),
and its reconstructions against the golden .recon pixels.

usage: import_ffn.py PREFIX [--preset g14s] [--golden DIR] [--out CKPT]
"""
import argparse
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ffn  # noqa: E402
import vqvae  # noqa: E402

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def conv_params(graph):
    """[(weight OIHW, bias)] of the graph's convolutions, in op order."""
    out = []
    for op in graph.ops:
        if op.kind not in CONVS:
            continue
        w = torch.from_numpy(graph.tensors[op.inputs[1]].data.copy())
        b = torch.from_numpy(graph.tensors[op.inputs[2]].data.copy())
        # export.py: CONV_2D is OHWI, DEPTHWISE_CONV_2D is 1HWC (from OIHW [C,1,k,k])
        w = w.permute(0, 3, 1, 2) if op.kind == "CONV_2D" else w.permute(3, 0, 1, 2)
        out.append((w.contiguous(), b))
    return out


def convbns(seq_module):
    """ConvBN modules and plain convs of an encoder/decoder in export order."""
    mods = []
    for m in seq_module.modules():
        if isinstance(m, vqvae.ConvBN):
            mods.append(m)
        elif isinstance(m, torch.nn.Conv2d) and not any(m is c.conv for c in mods):
            mods.append(m)
    return mods


def load_convbn(m, w, b):
    """Folded (w, b) into a ConvBN (BN = identity + bias in eval) or a plain conv."""
    if isinstance(m, torch.nn.Conv2d):
        m.weight.data.copy_(w)
        m.bias.data.copy_(b)
        return
    m.conv.weight.data.copy_(w)
    bn = m.bn
    bn.weight.data.fill_(1.0)
    bn.bias.data.copy_(b)
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)


def import_model(prefix, preset="g14s"):
    enc_g, dec_g = ffn.load(prefix + ".enc.ffn"), ffn.load(prefix + ".dec.ffn")
    cfg = dict(vqvae.PRESETS[preset])
    if "enc_widths" in enc_g.meta:  # written since distil_encoder.py's smaller encoders
        cfg.update(enc_widths=[int(w) for w in enc_g.meta["enc_widths"].split(",")],
                   enc_last_blocks=int(enc_g.meta["enc_last_blocks"]))
    if "dec_widths" in dec_g.meta:  # a decoder other than the preset's (train.py --dec-widths)
        cfg.update(dec_widths=[int(w) for w in dec_g.meta["dec_widths"].split(",")],
                   dec_low_blocks=int(dec_g.meta["dec_low_blocks"]))
    model = vqvae.VQVAE(**cfg, fine=int(enc_g.meta.get("fsq_fine", 1)))
    fsq = model.fsq
    enc = conv_params(enc_g)
    mods = convbns(model.encoder)
    if len(enc) != len(mods):
        sys.exit("import_ffn: %d encoder convs in the file, %d in preset %s" % (len(enc), len(mods), preset))
    # the head was written as 2*w, 2*(b + shift): sigmoid(2u) = (tanh(u) + 1) / 2
    w, b = enc[-1]
    enc[-1] = (w / 2, b / 2 - fsq.shift.repeat(fsq.groups))
    for m, (w, b) in zip(mods, enc):
        load_convbn(m, w, b)
    dec = conv_params(dec_g)
    mods = convbns(model.decoder)
    if len(dec) != len(mods):
        sys.exit("import_ffn: %d decoder convs in the file, %d in preset %s" % (len(dec), len(mods), preset))
    w, b = dec[0]  # export multiplied the input conv by dec_scale
    dec[0] = (w / model.dec_scale.view(1, -1, 1, 1), b)
    if model.decoder.shuffle:  # undo the TF depth-to-space channel order
        perm = [c * 4 + ij for ij in range(4) for c in range(3)]
        inv = [0] * len(perm)
        for k, p in enumerate(perm):
            inv[p] = k
        w, b = dec[-1]
        dec[-1] = (w[inv], b[inv])
    for m, (w, b) in zip(mods, dec):
        load_convbn(m, w, b)
    model.eval()
    return model, int(enc_g.meta.get("training_step", 0))


def check_golden(model, golden_dir, faces_dir):
    """(share of identical code indices, max abs pixel error) on the golden faces."""
    lines = open(os.path.join(golden_dir, "golden.txt")).read().split("\n")
    stride = int(lines[0].split()[1])
    same = total = 0
    err = 0.0
    for line in filter(None, lines[1:]):
        rel, *codes = line.split()
        rgb = cv2.cvtColor(cv2.imread(os.path.join(faces_dir, rel)), cv2.COLOR_BGR2RGB)
        x = (torch.from_numpy(rgb).float().permute(2, 0, 1)[None] - 127.5) / 128.0
        with torch.no_grad():
            y, idx = model(x)
        idx = idx.reshape(-1).numpy()
        same += int((idx == np.array(codes, int)).sum())
        total += idx.size
        rec = (y[0].permute(1, 2, 0) * 128.0 + 127.5).numpy()[::stride, ::stride]
        want = np.fromfile(os.path.join(golden_dir, os.path.splitext(os.path.basename(rel))[0] + ".recon"),
                           "<f4").reshape(rec.shape)
        # the golden decodes the golden codes; compare only where the codes agree
        if (idx == np.array(codes, int)).all():
            err = max(err, float(np.abs(rec - want).max()))
    return same / total, err


def main():
    root = os.path.join(HERE, "..", "..")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix", help="models/vq/ID")
    ap.add_argument("--preset", default="g14s")
    ap.add_argument("--golden", help="default models/vq/golden/ID")
    ap.add_argument("--faces", default=os.path.join(root, "tests", "data", "faces", "aligned112"))
    ap.add_argument("--out", help="write a checkpoint train.py can --init from")
    a = ap.parse_args()
    model, step = import_model(a.prefix, a.preset)
    golden = a.golden or os.path.join(os.path.dirname(a.prefix), "golden", os.path.basename(a.prefix))
    share, err = check_golden(model, golden, a.faces)
    print("import_ffn: %s (training step %d): code indices identical %.4f, max pixel error %.3f (0..255)"
          % (a.prefix, step, share, err))
    if a.out:
        torch.save({"model": model.state_dict(), "config": model.config, "step": step}, a.out)
    return 0 if share >= 0.995 and err < 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
