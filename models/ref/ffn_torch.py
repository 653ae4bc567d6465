"""PyTorch reference interpreter of .ffn model files (models/FORMAT.md).

`FfnModule(path)` is an nn.Module that runs the file's graph with PyTorch
ops: the reference the C runtime is checked against (parity tests, golden
vectors), and a frozen, differentiable MobileFaceNet for distillation.

Interface tensors are NHWC like the format; inside, 4-D activations are kept
NCHW (PyTorch's native layout) and converted back only where the NHWC memory
order matters (FULLY_CONNECTED flatten, RESHAPE) and at the outputs.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import ffn  # noqa: E402


def _pads(op, h, w, kh, kw):
    """(top, bottom, left, right) padding of a conv/pool op for an HxW input."""
    ip = op.iparam
    if ip[9] == ffn.PAD_SAME:
        dh = ip[6] if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D") else 1
        dw = ip[7] if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D") else 1
        t, b = ffn.same_pads(h, kh, ip[0], dh)
        left, r = ffn.same_pads(w, kw, ip[1], dw)
        return t, b, left, r
    return ip[2], ip[4], ip[5], ip[3]


def _clamp(x, fp):
    lo, hi = fp[0], fp[1]
    if lo == -math.inf and hi == math.inf:
        return x
    return torch.clamp(x, min=None if lo == -math.inf else lo, max=None if hi == math.inf else hi)


class FfnModule(torch.nn.Module):
    def __init__(self, path_or_graph):
        super().__init__()
        g = ffn.load(path_or_graph) if isinstance(path_or_graph, str) else path_or_graph
        self.graph = g
        self.meta = dict(g.meta)
        self._consts = {}
        for i, t in enumerate(g.tensors):
            if t.data is not None:
                c = torch.from_numpy(t.data.copy())
                if len(t.shape) == 4:
                    op = next(o for o in g.ops if i in o.inputs)
                    if op.kind == "CONV_2D":
                        c = c.permute(0, 3, 1, 2)  # OHWI -> OIHW
                    elif op.kind == "DEPTHWISE_CONV_2D":
                        c = c.permute(3, 0, 1, 2)  # 1HWC -> C1HW
                name = "c%d" % i
                # channels-last conv weights: PyTorch's fast CPU path for NHWC activations
                fmt = torch.channels_last if c.dim() == 4 else torch.contiguous_format
                self.register_buffer(name, c.contiguous(memory_format=fmt))
                self._consts[i] = name

    def _val(self, env, i):
        if i in self._consts:
            return getattr(self, self._consts[i]), False
        return env[i]

    @staticmethod
    def _nhwc(v):
        x, nchw = v
        return x.permute(0, 2, 3, 1) if nchw else x

    def _bcast(self, env, i, other_nchw):
        """Operand of a broadcasting op, laid out to match a NCHW partner."""
        x, nchw = self._val(env, i)
        if other_nchw and not nchw and x.dim() >= 1:
            # numpy broadcasting aligns trailing NHWC dims: left-pad to rank 4, then to NCHW
            x = x.reshape(*([1] * (4 - x.dim())), *x.shape).permute(0, 3, 1, 2)
        return x

    def forward(self, *inputs, taps=None):
        """Runs the graph on NHWC inputs; returns the outputs (NHWC) and, when
        `taps` lists tensor ids, also {id: activation} (NCHW when 4-D), for
        feature-level distillation. taps="all" returns every activation."""
        g = self.graph
        env = {}
        for tid, x in zip(g.inputs, inputs):
            env[tid] = (x.permute(0, 3, 1, 2), True) if x.dim() == 4 else (x, False)
        for op in g.ops:
            env[op.outputs[0]] = self._run(op, env)
        outs = tuple(self._nhwc(env[t]) for t in g.outputs)
        if taps is None:
            return outs
        keys = [k for k in env if k not in g.inputs] if taps == "all" else taps
        return outs, {k: env[k][0] for k in keys}

    def _run(self, op, env):
        k, ip, fp = op.kind, op.iparam, op.fparam
        if k in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x, _ = env[op.inputs[0]]
            w, _ = self._val(env, op.inputs[1])
            b, _ = self._val(env, op.inputs[2])
            t, bo, left, r = _pads(op, x.shape[2], x.shape[3], w.shape[2], w.shape[3])
            pad = (t, left)
            if t != bo or left != r:  # TF-SAME with stride 2: an explicit pad op
                x, pad = F.pad(x, (left, r, t, bo)), (0, 0)
            groups = ip[8] if k == "CONV_2D" else x.shape[1]
            # symmetric padding inside the conv: no padded copy (2x faster training on CPU)
            y = F.conv2d(x, w, b, stride=(ip[0], ip[1]), padding=pad, dilation=(ip[6], ip[7]),
                         groups=max(groups, 1))
            return _clamp(y, fp), True
        if k == "FULLY_CONNECTED":
            x = self._nhwc(env[op.inputs[0]])
            w, _ = self._val(env, op.inputs[1])
            b, _ = self._val(env, op.inputs[2])
            return _clamp(F.linear(x.reshape(x.shape[0], -1), w, b), fp), False
        if k in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            x, _ = env[op.inputs[0]]
            t, bo, left, r = _pads(op, x.shape[2], x.shape[3], ip[6], ip[7])
            kern, stride = (ip[6], ip[7]), (ip[0], ip[1])
            if k == "MAX_POOL_2D":
                y = F.max_pool2d(F.pad(x, (left, r, t, bo), value=-math.inf), kern, stride)
            else:  # padding excluded from the average (TF semantics)
                ones = F.pad(torch.ones_like(x[:, :1]), (left, r, t, bo))
                y = F.avg_pool2d(F.pad(x, (left, r, t, bo)), kern, stride) / \
                    F.avg_pool2d(ones, kern, stride)
            return _clamp(y, fp), True
        if k in ("ADD", "SUB", "MUL"):
            va, vb = self._val(env, op.inputs[0]), self._val(env, op.inputs[1])
            nchw = va[1] or vb[1]
            a = self._bcast(env, op.inputs[0], nchw)
            b = self._bcast(env, op.inputs[1], nchw)
            y = a + b if k == "ADD" else a - b if k == "SUB" else a * b
            return _clamp(y, fp), nchw
        if k == "PRELU":
            x, nchw = env[op.inputs[0]]
            s, _ = self._val(env, op.inputs[1])
            if nchw:
                return F.prelu(x, s), True
            return torch.where(x >= 0, x, x * s), False
        if k == "CLAMP":
            x, nchw = env[op.inputs[0]]
            return _clamp(x, fp), nchw
        if k == "SIGMOID":
            x, nchw = env[op.inputs[0]]
            return torch.sigmoid(x), nchw
        if k == "SOFTMAX":
            x, nchw = env[op.inputs[0]]
            return torch.softmax(x, dim=1 if nchw else -1), nchw
        if k == "RESHAPE":
            x = self._nhwc(env[op.inputs[0]])
            dims = [x.shape[j] if d == 0 else d for j, d in enumerate(ip[1:1 + ip[0]])]
            y = x.reshape(*dims)
            return (y.permute(0, 3, 1, 2), True) if y.dim() == 4 else (y, False)
        if k == "GLOBAL_AVERAGE_POOL":
            x, _ = env[op.inputs[0]]
            return _clamp(x.mean(dim=(2, 3), keepdim=True), fp), True
        if k == "DEPTH_TO_SPACE":
            x, _ = env[op.inputs[0]]
            n, c, h, w = x.shape
            bs = ip[0]
            y = x.reshape(n, bs, bs, c // (bs * bs), h, w).permute(0, 3, 4, 1, 5, 2)
            return y.reshape(n, c // (bs * bs), h * bs, w * bs), True
        if k == "RESIZE_BILINEAR":
            x, _ = env[op.inputs[0]]
            return F.interpolate(x, size=(ip[0], ip[1]), mode="bilinear", align_corners=bool(ip[2])), True
        raise ValueError("ffn_torch: op %s not supported" % k)


def preprocess(img_u8_nhwc, meta):
    """uint8/float NHWC 0..255 -> model input, per the file's metadata."""
    mean = float(meta.get("input_mean", 0.0))
    scale = float(meta.get("input_scale", 1.0))
    return (img_u8_nhwc.float() - mean) * scale


if __name__ == "__main__":
    # python3 ffn_torch.py MODEL.ffn IMAGE... : print L2-normalised outputs of a 112x112 model
    import cv2
    import numpy as np
    m = FfnModule(sys.argv[1]).eval()
    for p in sys.argv[2:]:
        img = cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB)
        x = preprocess(torch.from_numpy(np.ascontiguousarray(img))[None], m.meta)
        with torch.no_grad():
            e = F.normalize(m(x)[0], dim=1)[0]
        print(p, " ".join("%.6f" % v for v in e[:8].tolist()), "...")
