"""An exported VQ-VAE (ENC.ffn + DEC.ffn) run by the reference interpreter the
way lib/codec runs it in C: nearest codeword of the "codebook" constant for
each code (squared distance, ties to the lowest index), codeword lookup, decode.

One place for it: make_golden.py (the C codec's goldens), report.py's montage
and fleet-bench's PyTorch side all use VqCodec.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffn_torch import FfnModule  # noqa: E402


class VqCodec:
    def __init__(self, enc_path, dec_path):
        self.enc = FfnModule(enc_path).eval()
        self.dec = FfnModule(dec_path).eval()
        m = self.enc.meta
        t = self.enc.graph.tensors[self.enc.graph.find("codebook")]
        self.codebook = torch.from_numpy(np.array(t.data, np.float32).reshape(
            int(m["codebook_size"]), int(m["code_dim"])))
        self.grid = (int(m["grid_h"]), int(m["grid_w"]))

    @classmethod
    def from_prefix(cls, prefix):
        """PREFIX.enc.ffn and PREFIX.dec.ffn (models/vq/<model_id>)."""
        return cls(prefix + ".enc.ffn", prefix + ".dec.ffn")

    def prepare(self, rgb_u8):
        """uint8 HWC RGB face -> the encoder's [1, 112, 112, 3] input."""
        m = self.enc.meta
        x = torch.from_numpy(np.ascontiguousarray(rgb_u8, np.float32))[None]
        return (x - float(m["input_mean"])) * float(m["input_scale"])

    def encode(self, x):
        """Prepared input -> (indices [num_codes] int64, latent values [num_codes, code_dim])."""
        (lat,) = self.enc(x)
        v = lat.reshape(-1, self.codebook.shape[1])
        d = ((v[:, None, :] - self.codebook[None, :, :]) ** 2).sum(-1)
        return torch.argmin(d, dim=1), v

    def decode(self, idx):
        """Indices -> [1, 112, 112, 3] face in the decoder's output space (MobileFaceNet's input)."""
        (img,) = self.dec(self.codebook[idx].reshape(1, *self.grid, -1))
        return img

    def to_pixels(self, img):
        """Decoder output -> float HWC on the 0..255 scale (the C decoder's output)."""
        m = self.dec.meta
        return (img[0] / float(m["output_scale"]) + float(m["output_mean"])).numpy()
