#!/usr/bin/python3
"""Generates the tiny VQ-VAE test model and its golden vectors (unit_vq_codec).

A vqvae.VQVAE with tiny widths (same FSQ quantiser as the real model: levels
8,5,5,5, 2 groups, 7x7 grid, 1000 codewords, 10 bits, 123 B/face), random
weights from a fixed seed with perturbed batch-norm statistics, exported by
models/train/export.py (checked there against PyTorch), then golden indices
and reconstructions of three sample faces by models/vq/make_golden.py (the
PyTorch reference interpreter on the exported .ffn files).

  /usr/bin/python3 tests/data/vq/make_tiny_vq.py     (writes into tests/data/vq)
"""
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
import vqvae  # noqa: E402

FACE_DIR = os.path.join(ROOT, "tests", "data", "faces", "aligned112")
MODEL_ID = "tiny-test"
FACES = ["Al_Pacino/Al_Pacino_0001.jpg", "Alan_Greenspan/Alan_Greenspan_0002.jpg",
         "Allison_Janney/Allison_Janney_0001.jpg"]


def load_faces(names):
    """[N,3,112,112] float in the model's input space ((x - 127.5) / 128)."""
    import cv2
    xs = []
    for f in names:
        rgb = cv2.cvtColor(cv2.imread(os.path.join(FACE_DIR, f)), cv2.COLOR_BGR2RGB)
        xs.append(torch.from_numpy(rgb).float().permute(2, 0, 1))
    return (torch.stack(xs) - 127.5) / 128.0


def tiny_model():
    """Random but lively: He-initialised convs, batch-norm statistics taken
    from the sample faces (one train-mode pass) then perturbed, and the head
    scaled so the latent spreads over the lattice."""
    torch.manual_seed(1234)
    m = vqvae.VQVAE(enc_widths=(4, 4, 8, 8, 8), dec_widths=(8, 8, 8, 8, 8))
    calib = load_faces(sorted(os.path.relpath(os.path.join(d, f), FACE_DIR)
                              for d, _, fs in os.walk(FACE_DIR) for f in fs if f.endswith(".jpg")))
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.momentum = 1.0
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0.0, 0.2)
        m.train()
        m(calib)
        m.eval()
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.add_(torch.randn_like(mod.running_mean) * 0.05)
                mod.running_var.mul_(torch.empty_like(mod.running_var).uniform_(0.8, 1.25))
        head = m.encoder.head
        z = m.encoder(calib)
        mu, sd = z.mean(dim=(0, 2, 3)), z.std(dim=(0, 2, 3)) + 1e-6
        head.weight.mul_((1.5 / sd).view(-1, 1, 1, 1))
        head.bias.sub_(mu).mul_(1.5 / sd)
        m.decoder.out.weight.mul_(0.25)  # keep most pixels off the [-1, 1] clamp
    return m


def main():
    m = tiny_model()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "tiny.pt")
        torch.save({"config": m.config, "model": m.state_dict(), "step": 0}, ckpt)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "models", "train", "export.py"),
                               ckpt, "--model-id", MODEL_ID, "--out", HERE])
    faces = [os.path.join(FACE_DIR, f) for f in FACES]
    subprocess.check_call([sys.executable, os.path.join(ROOT, "models", "vq", "make_golden.py"),
                           os.path.join(HERE, MODEL_ID + ".enc.ffn"),
                           os.path.join(HERE, MODEL_ID + ".dec.ffn"), HERE, "--stride", "4"] + faces)


if __name__ == "__main__":
    main()
