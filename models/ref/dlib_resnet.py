"""PyTorch port of face-api's FaceRecognitionNet (dlib ResNet-29 face recogniser).

The network is @vladmandic/face-api 1.7.15 `face_recognition_model`, itself a
tfjs port of dlib's `dlib_face_recognition_resnet_model_v1`. This module is a
line-by-line replica of src/faceRecognitionNet/{FaceRecognitionNet,convLayer,
residualLayer,scaleLayer}.ts, used as a frozen, differentiable teacher for
knowledge distillation.

    teacher = load_teacher("models/cache/faceapi")
    desc = teacher(x)   # x: float RGB, NCHW, values 0..255, 150x150 -> (N, 128)
    # from 112x112 training crops / reconstructions (region TRAIN_BOX):
    desc = teacher(resample_box(x112))   # -> 150x150 of TEACHER_BOX -> (N, 128)

Crop matters a lot (LFW DevTest, models/ref/check_teacher.py): the dlib-chip
like TEACHER_BOX gives ~98% pair accuracy, the TRAIN_BOX region only ~86%.
PyTorch 1.13 on CPU runs batch-1 3x3 convs on a slow path (~10x per image);
use batches of 4 or more.

The descriptor is the raw fully-connected output, exactly as face-api's
`computeFaceDescriptor` returns it: it is NOT L2-normalised (dlib's
descriptors have norm close to, but not exactly, 1; face-api compares them
with Euclidean distance, threshold 0.6). Normalise yourself if you want
cosine.

Preprocessing replicated from FaceRecognitionNet.ts:
    (x - [122.782, 117.001, 104.298]) / 255      (RGB order, per channel)
face-api resizes the (square-padded) face box to 150x150 with tfjs
resizeBilinear before that; this module expects the 150x150 input already.

tfjs layout notes: weights are NHWC/HWIO in the .bin; filters are transposed
to OIHW here. tfjs 'same' padding with stride 1 and odd kernels is symmetric
(k // 2); the stride-2 convs and the pools are 'valid' (no padding, floor).
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_SIZE = 150
# Teacher crop on the 250x250 LFW deep-funneled images, (x0, y0, x1, y1) box
# edges in pixels: approximates dlib's 150x150 face chip (padding 0.25), chosen
# by a side x centre grid on LFW View-1 DevTrain (check_teacher.py).
TEACHER_BOX = (69.5, 76.0, 181.5, 188.0)  # 112x112 box centred at (125.5, 132)
# The fixed box of the VQ-VAE's 112x112 training crops (models/train/prepare_data.py).
TRAIN_BOX = (59.0, 50.0, 192.0, 183.0)
MANIFEST = "face_recognition_model-weights_manifest.json"

# (name, kind) in forward order; kind: 'down' = stride-2 residual block.
_BLOCKS = [
    ("conv32_1", "res"), ("conv32_2", "res"), ("conv32_3", "res"),
    ("conv64_down", "down"), ("conv64_1", "res"), ("conv64_2", "res"), ("conv64_3", "res"),
    ("conv128_down", "down"), ("conv128_1", "res"), ("conv128_2", "res"),
    ("conv256_down", "down"), ("conv256_1", "res"), ("conv256_2", "res"),
    ("conv256_down_out", "down"),
]

_DTYPES = {"float32": np.float32, "int32": np.int32}
_QDTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def read_tfjs_weights(path_dir, manifest=MANIFEST):
    """Read a tfjs weights manifest + shards -> {name: float32 np.ndarray}.

    Dequantises uint8/uint16 entries (value = q * scale + min) and float16.
    Bounds-checked: every tensor must lie inside the concatenated shards and
    the shards must be consumed exactly (no trailing bytes).
    """
    with open(os.path.join(path_dir, manifest)) as f:
        groups = json.load(f)
    if not isinstance(groups, list):
        raise ValueError("manifest: expected a list of weight groups")
    out = {}
    for g in groups:
        buf = b"".join(open(os.path.join(path_dir, p), "rb").read() for p in g["paths"])
        off = 0
        for w in g["weights"]:
            name, shape, dtype = w["name"], [int(s) for s in w["shape"]], w["dtype"]
            if any(s < 0 for s in shape):
                raise ValueError(f"{name}: negative dimension in {shape}")
            if dtype not in _DTYPES:
                raise ValueError(f"{name}: unsupported dtype {dtype}")
            n = int(np.prod(shape, dtype=np.int64)) if shape else 1
            q = w.get("quantization")
            if q is not None:
                if q["dtype"] not in _QDTYPES:
                    raise ValueError(f"{name}: unsupported quantization {q['dtype']}")
                qdt = np.dtype(_QDTYPES[q["dtype"]])
            else:
                qdt = np.dtype(_DTYPES[dtype])
            nbytes = n * qdt.itemsize
            if off + nbytes > len(buf):
                raise ValueError(f"{name}: needs bytes [{off}, {off + nbytes}) but shards hold {len(buf)}")
            a = np.frombuffer(buf, dtype=qdt, count=n, offset=off)
            off += nbytes
            if q is not None and q["dtype"] in ("uint8", "uint16"):
                a = a.astype(np.float64) * float(q["scale"]) + float(q["min"])
            a = a.astype(np.float32).reshape(shape)
            if name in out:
                raise ValueError(f"duplicate tensor {name}")
            out[name] = a
        if off != len(buf):
            raise ValueError(f"manifest describes {off} bytes but shards hold {len(buf)}")
    return out


class ConvLayer(nn.Module):
    """conv (+bias) -> scale layer (per-channel affine) -> optional relu."""

    def __init__(self, wm, prefix, stride, relu, padding):
        super().__init__()
        filt = torch.from_numpy(wm[f"{prefix}/conv/filters"])  # HWIO
        self.weight = nn.Parameter(filt.permute(3, 2, 0, 1).contiguous())  # OIHW
        self.bias = nn.Parameter(torch.from_numpy(wm[f"{prefix}/conv/bias"]))
        self.scale_w = nn.Parameter(torch.from_numpy(wm[f"{prefix}/scale/weights"]).view(1, -1, 1, 1))
        self.scale_b = nn.Parameter(torch.from_numpy(wm[f"{prefix}/scale/biases"]).view(1, -1, 1, 1))
        k = self.weight.shape[-1]
        if padding == "same":
            assert stride == 1 and k % 2 == 1
            self.pad = k // 2
        else:
            self.pad = 0
        self.stride = stride
        self.relu = relu

    def forward(self, x):
        out = F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.pad)
        out = out * self.scale_w + self.scale_b
        return F.relu(out) if self.relu else out


class Residual(nn.Module):
    def __init__(self, wm, prefix, down):
        super().__init__()
        self.down = down
        if down:  # convDown: stride 2, 'valid', relu
            self.conv1 = ConvLayer(wm, f"{prefix}/conv1", 2, True, "valid")
        else:     # conv: stride 1, 'same', relu
            self.conv1 = ConvLayer(wm, f"{prefix}/conv1", 1, True, "same")
        self.conv2 = ConvLayer(wm, f"{prefix}/conv2", 1, False, "same")  # convNoRelu

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        if not self.down:
            return F.relu(out + x)
        pooled = F.avg_pool2d(x, 2, 2)  # tfjs avgPool(2, 2, 'valid')
        if pooled.shape[2] != out.shape[2] or pooled.shape[3] != out.shape[3]:
            # residualLayer.ts appends one zero row (H) and one zero column (W) to out
            out = F.pad(out, (0, 1, 0, 1))
        if pooled.shape[1] != out.shape[1]:
            # ... and zero-pads the shortcut's channels (concat [pooled, zeros])
            pooled = torch.cat([pooled, torch.zeros_like(pooled)], 1)
        return F.relu(pooled + out)


class FaceRecognitionNet(nn.Module):
    """dlib ResNet-29: float RGB NCHW 0..255, 150x150 -> raw 128-d descriptor."""

    def __init__(self, wm):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN_RGB, dtype=torch.float32).view(1, 3, 1, 1))
        self.conv32_down = ConvLayer(wm, "conv32_down", 2, True, "valid")
        self.blocks = nn.ModuleList([Residual(wm, n, k == "down") for n, k in _BLOCKS])
        fc = wm["fc"]
        if fc.shape != (256, 128):
            raise ValueError(f"fc: expected (256, 128), got {fc.shape}")
        self.fc = nn.Parameter(torch.from_numpy(fc))  # used as globalAvg @ fc
        used = {"fc"} | {k for k in wm if k.split("/")[0] in {"conv32_down"} | {n for n, _ in _BLOCKS}}
        if used != set(wm):
            raise ValueError(f"unused tensors in manifest: {sorted(set(wm) - used)}")

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected NCHW RGB input, got {tuple(x.shape)}")
        out = (x - self.mean) / 255.0
        out = self.conv32_down(out)
        out = F.max_pool2d(out, 3, 2)  # tfjs maxPool(3, 2, 'valid')
        for b in self.blocks:
            out = b(out)
        return out.mean(dim=(2, 3)) @ self.fc


def resample_box(x, src_box=TRAIN_BOX, dst_box=TEACHER_BOX, size=INPUT_SIZE):
    """Differentiable bilinear crop/resize between boxes of one reference frame.

    x: NCHW image whose full extent is src_box (e.g. a 112x112 training crop or
    its reconstruction = TRAIN_BOX); returns N x C x size x size covering
    dst_box, border pixels replicated where dst_box leaves src_box (the
    TEACHER_BOX reaches 5 px below TRAIN_BOX). Pixel centres at i + 0.5.
    """
    n, _, h, w = x.shape
    sx0, sy0, sx1, sy1 = src_box
    dx0, dy0, dx1, dy1 = dst_box
    t = (torch.arange(size, dtype=x.dtype, device=x.device) + 0.5) / size
    gx = 2 * (dx0 + t * (dx1 - dx0) - sx0) / (sx1 - sx0) - 1
    gy = 2 * (dy0 + t * (dy1 - dy0) - sy0) / (sy1 - sy0) - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1)
    return F.grid_sample(x, grid.unsqueeze(0).expand(n, -1, -1, -1), mode="bilinear",
                         padding_mode="border", align_corners=False)


def load_teacher(path_dir="models/cache/faceapi"):
    """Frozen FaceRecognitionNet in eval mode (params requires_grad=False).

    forward(x): x float RGB NCHW in 0..255, 150x150 -> (N, 128) raw
    (un-normalised) descriptor; differentiable w.r.t. x.
    """
    wm = read_tfjs_weights(path_dir)
    net = FaceRecognitionNet(wm)
    n_par = sum(p.numel() for p in net.parameters())
    n_wm = sum(a.size for a in wm.values())
    if n_par != n_wm:
        raise ValueError(f"parameter count {n_par} != manifest count {n_wm}")
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
