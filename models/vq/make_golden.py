#!/usr/bin/python3
"""Golden vectors for the C VQ codec, computed from the exported .ffn files by
the PyTorch reference interpreter (models/ref/ffn_torch.py).

  make_golden.py ENC.ffn DEC.ffn OUTDIR [--stride S] FACE.jpg...

For each aligned 112x112 face: the code indices (nearest codeword of the
"codebook" constant per cell and group, ties to the lowest index, wire order
idx[(y*grid_w + x)*codes_per_cell + g]) and the decoder's reconstruction of
those indices on the 0..255 scale. Written to OUTDIR:

  golden.txt          line 1: "recon_stride S"; then one line per face:
                      "<Name>/<Name>_NNNN.jpg i0 i1 ... i{num_codes-1}"
  <Name>_NNNN.recon   float32 little-endian raw, HWC, the pixels whose x and y
                      are multiples of S (ceil(112/S)^2 * 3 floats)
  <Name>_NNNN.emb     with --emb-patch: float32 raw, the unit embedding of the
                      full reconstruction by the model's reconstruction-side
                      embedder (MobileFaceNet + ID.emb.ffp)

Faces are decoded with OpenCV (libjpeg-turbo, like lib/vision) and converted
BGR -> RGB. Used by the unit_vq_codec (tests/data/vq) and models_vq_golden
(models/vq/golden/<model_id>) CTests. For the committed model, after each export:

  mkdir -p models/vq/golden/ID && /usr/bin/python3 models/vq/make_golden.py \
      models/vq/ID.enc.ffn models/vq/ID.dec.ffn models/vq/golden/ID --stride 8 \
      tests/data/faces/aligned112/*/*.jpg
      # a model with a reconstruction-side embedder adds:
      #   --emb-patch models/vq/ID.emb.ffp --emb-base models/cache/ffn/mobilefacenet.ffn
"""
import argparse
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
from vq_codec import VqCodec  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ffn  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("enc")
    ap.add_argument("dec")
    ap.add_argument("out")
    ap.add_argument("faces", nargs="+")
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--emb-patch", help="the model's reconstruction-side embedder patch (.emb.ffp)")
    ap.add_argument("--emb-base", help="the .ffn it patches (mobilefacenet.ffn)")
    a = ap.parse_args()
    codec = VqCodec(a.enc, a.dec)
    embedder = FfnModule(ffn.apply_patch(a.emb_base, a.emb_patch)).eval() if a.emb_patch else None
    lines = ["recon_stride %d" % a.stride]
    for path in a.faces:
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        assert rgb.shape == (112, 112, 3), path
        with torch.no_grad():
            idx, lat = codec.encode(codec.prepare(rgb))
            full = codec.to_pixels(codec.decode(idx))
            rec = full[::a.stride, ::a.stride, :].astype("<f4")
            if embedder is not None:  # the C path: float pixels -> (x - 127.5) / 128
                x = (torch.from_numpy(np.ascontiguousarray(full, np.float32))[None] - 127.5) / 128.0
                e = torch.nn.functional.normalize(embedder(x)[0], dim=1)[0].numpy().astype("<f4")
        idx, lat = idx.numpy(), lat.numpy()
        # distance of each latent value to a rounding boundary (FSQ lattice):
        # codes whose latent sits within float noise of one may differ in C
        frac = np.abs(lat - np.floor(lat) - 0.5).min()
        name = os.path.basename(path)
        rel = "%s/%s" % (os.path.basename(os.path.dirname(path)), name)
        lines.append(rel + " " + " ".join(str(int(i)) for i in idx))
        rec.tofile(os.path.join(a.out, os.path.splitext(name)[0] + ".recon"))
        if embedder is not None:
            e.tofile(os.path.join(a.out, os.path.splitext(name)[0] + ".emb"))
        print("%s: %d codes, %d distinct, closest latent to a boundary %.2e, recon %.1f..%.1f"
              % (rel, len(idx), len(set(idx.tolist())), frac, rec.min(), rec.max()))
    with open(os.path.join(a.out, "golden.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
