"""The facefleet VQ-VAE: depthwise-separable encoder, FSQ quantiser, light decoder.

Encoder (runs on the device): 112x112x3 -> 7x7 grid, each cell `groups`
codes of `len(levels)` dims. Quantiser: finite scalar quantisation (FSQ,
Mentzer et al. 2023): each code dim is squashed to a bounded range and
rounded to one of `levels[d]` integers, so a code is one point of a fixed
integer lattice with prod(levels) points. Why FSQ rather than a learned
codebook with EMA and dead-code restarts: the lattice cannot collapse (the
calibration probe's learned codebook fell to 10 live codes of 32), needs no
commitment/codebook losses or restart heuristics, and its "codebook" is
still an explicit table, so the C runtime does a plain nearest-codeword
search and the decoder a plain table lookup, exactly as for a learned VQ.

Payload (both presets, see PRESETS): 7*7 cells x 2 codes x 10 bits, or
14*14 cells x 1 code x 5 bits: 980 bits = 123 B.
Decoder (backend): lattice values -> 112x112x3 in MobileFaceNet's input
space ((x - 127.5) / 128), so its output feeds MobileFaceNet directly.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBN(nn.Module):
    """conv + batch norm (+ ReLU); folded into one conv on export."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class DSBlock(nn.Module):
    """Depthwise-separable block: dw3x3(stride) -> pw1x1; residual when shapes allow."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.dw = ConvBN(cin, cin, 3, stride, groups=cin)
        self.residual = stride == 1 and cin == cout
        self.pw = ConvBN(cin, cout, 1, relu=not self.residual)

    def forward(self, x):
        y = self.pw(self.dw(x))
        return y + x if self.residual else y


class Encoder(nn.Module):
    """stem conv s2 (56x56) -> DS block -> per further width: DS s2 + `last_blocks` (last
    stage) or 1 DS blocks. 5 widths end on a 7x7 grid, 4 widths on 14x14."""

    def __init__(self, widths=(24, 32, 64, 128, 256), code_channels=8, last_blocks=1):
        super().__init__()
        self.stem = ConvBN(3, widths[0], 3, 2)
        blocks = [DSBlock(widths[0], widths[1])]
        for k, (cin, cout) in enumerate(zip(widths[1:-1], widths[2:])):
            blocks.append(DSBlock(cin, cout, 2))
            reps = last_blocks if k == len(widths) - 3 else 1
            blocks += [DSBlock(cout, cout) for _ in range(reps)]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(widths[-1], code_channels, 1)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class Decoder(nn.Module):
    """1x1 in, `low_blocks` DS blocks at the grid, then per further width: bilinear x2,
    1x1 conv, DS block; a 3x3 conv to RGB. With `shuffle` the last stage stays at half
    resolution and the 3x3 conv makes 4 RGB values per cell that depth-to-space (pixel
    shuffle) spreads over 2x2 pixels: no 112x112 activations, which dominated training
    time on CPU, and no loss of expressiveness (MobileFaceNet's stem is a stride-2 conv)."""

    def __init__(self, widths=(256, 160, 96, 48, 24), code_channels=8, low_blocks=2, shuffle=False):
        super().__init__()
        self.shuffle = shuffle
        self.inp = ConvBN(code_channels, widths[0], 1)
        self.low = nn.Sequential(*[DSBlock(widths[0], widths[0]) for _ in range(low_blocks)])
        self.ups = nn.ModuleList()
        for cin, cout in zip(widths[:-1], widths[1:]):
            self.ups.append(nn.Sequential(ConvBN(cin, cout, 1), DSBlock(cout, cout)))
        self.out = nn.Conv2d(widths[-1], 12 if shuffle else 3, 3, 1, 1)

    def forward(self, q):
        x = self.low(self.inp(q))
        for up in self.ups:
            x = up(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        x = self.out(x)
        return torch.clamp(F.pixel_shuffle(x, 2) if self.shuffle else x, -1.0, 1.0)


class FSQ(nn.Module):
    """Finite scalar quantisation over groups of len(levels) channels."""

    def __init__(self, levels=(8, 5, 5, 5), groups=2, eps=1e-3, fine=1):
        super().__init__()
        self.levels = list(levels)
        self.groups = groups
        # fine > 1 rounds to 1/fine of a level: (L - 1) * fine + 1 values per dim that hold the
        # L integer levels, so a model trained with fine = 1 starts where it was, and any face's
        # codes can be snapped back onto the integer levels (the device's rate control)
        self.fine = fine
        lv = torch.tensor(levels, dtype=torch.float32)
        self.register_buffer("lv", lv)
        self.register_buffer("lv_fine", (lv - 1) * fine + 1)
        self.register_buffer("low", -torch.div(lv, 2, rounding_mode="floor"))
        # as in the paper's reference code: (1 + eps) keeps both end levels reachable, and
        # tan() (not atanh) keeps the even-level shift finite and tanh unsaturated for L = 2
        self.register_buffer("half_l", (lv - 1) * (1 + eps) / 2)
        self.register_buffer("offset", torch.where(lv % 2 == 0, 0.5, 0.0))
        self.register_buffer("shift", torch.tan(self.offset / self.half_l))
        fine_levels = [(v - 1) * fine + 1 for v in levels]
        self.register_buffer("basis", torch.tensor(np.cumprod([1] + fine_levels[:-1]), dtype=torch.int64))
        self.codebook_size = int(np.prod(fine_levels))

    @property
    def dim(self):
        return len(self.levels)

    def bound(self, z):
        """z [N, G*D, H, W] -> bounded lattice coordinates, same shape."""
        n, _, h, w = z.shape
        z = z.view(n, self.groups, self.dim, h, w).movedim(2, -1)
        b = torch.tanh(z + self.shift) * self.half_l - self.offset
        return b.movedim(-1, 2).reshape(n, -1, h, w)

    def forward(self, z):
        """Returns (lattice values with straight-through gradient, indices [N,H,W,G])."""
        b = self.bound(z)
        r = self.snap(b)
        q = b + (r - b).detach()
        return q, self.indices(r)

    def snap(self, b, fine=None):
        f = self.fine if fine is None else fine
        return torch.round(b * f) / f

    def indices(self, q):
        n, _, h, w = q.shape
        q = q.view(n, self.groups, self.dim, h, w).permute(0, 3, 4, 1, 2)  # N,H,W,G,D
        digits = torch.round((q - self.low) * self.fine).long()
        return (digits * self.basis).sum(-1)

    def codebook(self):
        """[codebook_size, D] lattice points, row i = the point of index i."""
        idx = torch.arange(self.codebook_size)
        digits = (idx[:, None] // self.basis[None, :]) % self.lv_fine.long()[None, :]
        return digits.float() / self.fine + self.low

    def lookup(self, idx):
        """indices [N,H,W,G] -> lattice values [N, G*D, H, W]."""
        v = self.codebook().to(idx.device)[idx]  # N,H,W,G,D
        n, h, w = idx.shape[:3]
        return v.reshape(n, h, w, -1).permute(0, 3, 1, 2)


class VQVAE(nn.Module):
    def __init__(self, enc_widths=(24, 32, 64, 128, 256), dec_widths=(256, 160, 96, 48, 24),
                 levels=(8, 5, 5, 5), groups=2, enc_last_blocks=1, dec_low_blocks=2, dec_shuffle=False,
                 fine=1):
        super().__init__()
        self.config = dict(enc_widths=list(enc_widths), dec_widths=list(dec_widths),
                           levels=list(levels), groups=groups, enc_last_blocks=enc_last_blocks,
                           dec_low_blocks=dec_low_blocks, dec_shuffle=dec_shuffle)
        if fine != 1:  # older checkpoints and exports have no such key
            self.config["fine"] = fine
        self.grid = 112 >> (len(enc_widths) - 1)
        if 112 >> (len(dec_widths) - 1 + bool(dec_shuffle)) != self.grid:
            raise ValueError("decoder upsamples %s, encoder grid is %d" % (dec_widths, self.grid))
        self.fsq = FSQ(levels, groups, fine=fine)
        c = groups * len(levels)
        self.encoder = Encoder(enc_widths, c, enc_last_blocks)
        self.decoder = Decoder(dec_widths, c, dec_low_blocks, dec_shuffle)
        # lattice values are integers in [-L/2, L/2); the decoder sees them scaled to ~[-1, 1]
        self.register_buffer("dec_scale", (1.0 / torch.div(self.fsq.lv, 2, rounding_mode="floor")).repeat(groups))

    def decode(self, q):
        return self.decoder(q * self.dec_scale.view(1, -1, 1, 1))

    def forward(self, x):
        q, idx = self.fsq(self.encoder(x))
        return self.decode(q), idx

    def payload_bits(self):
        return self.grid * self.grid * self.fsq.groups * math.ceil(math.log2(self.fsq.codebook_size))


PRESETS = {
    # 7x7 cells x 2 codes of 1000 (FSQ 8,5,5,5): 980 bits
    "g7": dict(enc_widths=(24, 32, 64, 128, 256), dec_widths=(256, 160, 96, 48, 24),
               levels=(8, 5, 5, 5), groups=2),
    # 14x14 cells x 1 code of 32 (FSQ 4,4,2): 980 bits
    "g14": dict(enc_widths=(24, 32, 64, 160), dec_widths=(160, 96, 48, 24),
                levels=(4, 4, 2), groups=1, enc_last_blocks=2),
    # g14's encoder and payload; a wider decoder (3 blocks of 256 at 14x14) that ends in
    # depth-to-space from 56x56: 162 M multiply-adds, 0.30 M params, ~30 % less training time
    "g14s": dict(enc_widths=(24, 32, 64, 160), dec_widths=(256, 160, 64),
                 levels=(4, 4, 2), groups=1, enc_last_blocks=2, dec_low_blocks=3, dec_shuffle=True),
    # g14s's payload and decoder, an encoder without the device's limits (133 M multiply-adds,
    # 0.52 M params): does a stronger encoder carry more identity in the same 980 bits? If so,
    # it is the teacher a 25 M-MAC encoder is distilled from (issue 12)
    "g14L": dict(enc_widths=(32, 64, 160, 320), dec_widths=(256, 160, 64),
                 levels=(4, 4, 2), groups=1, enc_last_blocks=4, dec_low_blocks=3, dec_shuffle=True),
}


def count_macs(module, shape):
    """Multiply-adds of conv layers for one input of `shape` (C, H, W)."""
    total = [0]

    def hook(m, _inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            total[0] += out.numel() * k

    hs = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(torch.zeros(1, *shape))
    for h in hs:
        h.remove()
    return total[0]
