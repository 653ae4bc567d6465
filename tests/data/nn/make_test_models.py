#!/usr/bin/python3
"""Writes the small .ffn test models of lib/nn and their expected outputs.

Every op type of models/FORMAT.md is covered, with deterministic random
weights; the expected outputs are computed here with plain numpy (float64),
independently of lib/nn, XNNPACK and models/tools/ffn.py.

Outputs, next to this script:
  <name>.ffn  the model
  <name>.vec  test vector: b"FFTV", u32 n_in, u32 n_out, then for each input
              and then each output: u32 rank, u32 dims[4], float32 data.
Run: /usr/bin/python3 tests/data/nn/make_test_models.py
"""
import os
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
INF = float("inf")
OPS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 3, "MAX_POOL_2D": 4,
       "AVERAGE_POOL_2D": 5, "ADD": 6, "SUB": 7, "MUL": 8, "PRELU": 9, "CLAMP": 10,
       "SOFTMAX": 11, "RESHAPE": 12, "SIGMOID": 14, "DEPTH_TO_SPACE": 15,
       "GLOBAL_AVERAGE_POOL": 16, "RESIZE_BILINEAR": 17}


# ---------------------------------------------------------------- writer

class Model:
    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.tensors = []   # (name, shape, data or None)
        self.ops = []       # (type, ins, outs, iparam, fparam)
        self.inputs, self.outputs = [], []
        self.values = {}    # tensor id -> numpy value (float64) for the reference
        self.meta = {"name": name, "source": "tests/data/nn/make_test_models.py"}

    def input(self, shape, declared=None):
        t = self._tensor("in%d" % len(self.inputs), declared or shape, None)
        self.inputs.append(t)
        self.values[t] = self.rng.uniform(-1, 1, shape).astype(np.float32).astype(np.float64)
        return t

    def const(self, shape, scale=0.5, name=None):
        data = self.rng.uniform(-scale, scale, shape).astype(np.float32)
        t = self._tensor(name or "c%d" % len(self.tensors), shape, data)
        self.values[t] = data.astype(np.float64)
        return t

    def _tensor(self, name, shape, data):
        self.tensors.append((name, list(shape), data))
        return len(self.tensors) - 1

    def op(self, kind, ins, value, iparam=(), fparam=()):
        out = self._tensor("t%d" % len(self.tensors), value.shape, None)
        self.values[out] = value
        self.ops.append((OPS[kind], list(ins), [out], list(iparam), list(fparam)))
        return out

    def v(self, t):
        return self.values[t]

    def save(self):
        meta = "".join("%s=%s\n" % kv for kv in sorted(self.meta.items())).encode()
        data = bytearray()
        trecs = bytearray()
        for name, shape, arr in self.tensors:
            off = size = 0
            if arr is not None:
                data += b"\0" * (-len(data) % 16)
                off = len(data)
                raw = arr.astype("<f4").tobytes()
                size = len(raw)
                data += raw
            dims = (shape + [0] * 4)[:4]
            trecs += struct.pack("<40sII4III8x", name.encode(), 1, len(shape), *dims, off, size)
        orecs = bytearray()
        for kind, ins, outs, ip, fp in self.ops:
            ip = (ip + [0] * 16)[:16]
            fp = (fp + [0.0] * 4)[:4]
            orecs += struct.pack("<III4I2I16i4f12x", kind, len(ins), len(outs),
                                 *(ins + [0xFFFFFFFF] * 4)[:4], *(outs + [0xFFFFFFFF] * 2)[:2],
                                 *ip, *fp)
        io = struct.pack("<%dI" % (len(self.inputs) + len(self.outputs)),
                         *(self.inputs + self.outputs))
        meta_off = 64
        t_off = meta_off + len(meta) + (-(meta_off + len(meta)) % 8)
        o_off = t_off + len(trecs)
        io_off = o_off + len(orecs)
        d_off = io_off + len(io) + (-(io_off + len(io)) % 64)
        hdr = struct.pack("<4sHH14I", b"FFNN", 1, 0, 64, len(self.tensors), len(self.ops),
                          len(self.inputs), len(self.outputs), meta_off, len(meta), t_off,
                          o_off, io_off, d_off, len(data), zlib.crc32(bytes(data)), 0)
        buf = bytearray(hdr) + meta
        buf += b"\0" * (t_off - len(buf))
        buf += trecs + orecs + io
        buf += b"\0" * (d_off - len(buf))
        buf += data
        with open(os.path.join(HERE, self.name + ".ffn"), "wb") as f:
            f.write(buf)
        vec = bytearray(b"FFTV") + struct.pack("<II", len(self.inputs), len(self.outputs))
        for t in self.inputs + self.outputs:
            a = self.values[t].astype("<f4")
            vec += struct.pack("<5I", a.ndim, *(list(a.shape) + [0] * 4)[:4]) + a.tobytes()
        with open(os.path.join(HERE, self.name + ".vec"), "wb") as f:
            f.write(vec)
        assert len(buf) < 100_000 and len(vec) < 100_000, self.name


# ---------------------------------------------------------------- numpy reference ops

def same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def window_pads(x, k, s, d, pads, same):
    """(top, right, bottom, left) for an NHWC input."""
    if not same:
        return pads
    t, b = same_pads(x.shape[1], k[0], s[0], d[0])
    l, r = same_pads(x.shape[2], k[1], s[1], d[1])
    return (t, r, b, l)


def patches(x, k, s, d, pads, fill):
    """Yields (i, j, patch [N,OH,OW,C]) of the padded input for each kernel tap."""
    t, r, b, l = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    oh = (xp.shape[1] - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
    ow = (xp.shape[2] - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, xp[:, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                           j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1], :]


def clamp(v, lo, hi):
    return np.minimum(np.maximum(v, lo), hi)


def ref_conv(x, w, bias, s, d, pads, same, groups, lo, hi):
    o, kh, kw, ig = w.shape
    pads = window_pads(x, (kh, kw), s, d, pads, same)
    acc = None
    wg = w.reshape(groups, o // groups, kh, kw, ig)
    for i, j, p in patches(x, (kh, kw), s, d, pads, 0.0):
        pg = p.reshape(p.shape[:3] + (groups, ig))
        term = np.einsum("nhwgi,goi->nhwgo", pg, wg[:, :, i, j, :]).reshape(p.shape[:3] + (o,))
        acc = term if acc is None else acc + term
    return clamp(acc + bias, lo, hi), pads


def ref_dwconv(x, w, bias, s, d, pads, same, mult, lo, hi):
    _, kh, kw, cm = w.shape
    pads = window_pads(x, (kh, kw), s, d, pads, same)
    acc = 0.0
    for i, j, p in patches(x, (kh, kw), s, d, pads, 0.0):
        acc = acc + np.repeat(p, mult, axis=3) * w[0, i, j, :]
    return clamp(acc + bias, lo, hi), pads


def ref_pool(x, k, s, pads, same, kind, lo, hi):
    pads = window_pads(x, k, s, (1, 1), pads, same)
    if kind == "max":
        out = None
        for _, _, p in patches(x, k, s, (1, 1), pads, -np.inf):
            out = p if out is None else np.maximum(out, p)
    else:
        tot = sum(p for _, _, p in patches(x, k, s, (1, 1), pads, 0.0))
        cnt = sum(p for _, _, p in patches(np.ones_like(x), k, s, (1, 1), pads, 0.0))
        out = tot / cnt
    return clamp(out, lo, hi), pads


def ref_d2s(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5).reshape(
        n, h * b, w * b, c // (b * b))


def ref_resize(x, oh, ow, align):
    def coords(o, i):
        if align:
            src = np.arange(o) * ((i - 1) / (o - 1) if o > 1 else 0.0)
        else:
            src = np.maximum((np.arange(o) + 0.5) * (i / o) - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i0 = np.minimum(i0, i - 1)
        i1 = np.minimum(i0 + 1, i - 1)
        return i0, i1, src - i0
    y0, y1, ly = coords(oh, x.shape[1])
    x0, x1, lx = coords(ow, x.shape[2])
    ly = ly[None, :, None, None]
    lx = lx[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - lx) + x[:, y0][:, :, x1] * lx
    bot = x[:, y1][:, :, x0] * (1 - lx) + x[:, y1][:, :, x1] * lx
    return top * (1 - ly) + bot * ly


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- graph helpers

def conv(m, x, o, k, s=(1, 1), d=(1, 1), pads=(0, 0, 0, 0), same=False, groups=1,
         lo=-INF, hi=INF, scale=0.5):
    xv = m.v(x)
    w = m.const((o, k[0], k[1], xv.shape[3] // groups), scale)
    b = m.const((o,), scale)
    val, _ = ref_conv(xv, m.v(w), m.v(b), s, d, pads, same, groups, lo, hi)
    ip = [s[0], s[1], *(pads if not same else (0, 0, 0, 0)), d[0], d[1], groups, int(same)]
    return m.op("CONV_2D", [x, w, b], val, ip, [lo, hi])


def dwconv(m, x, k, mult=1, s=(1, 1), d=(1, 1), pads=(0, 0, 0, 0), same=False, lo=-INF, hi=INF):
    xv = m.v(x)
    w = m.const((1, k[0], k[1], xv.shape[3] * mult))
    b = m.const((xv.shape[3] * mult,))
    val, _ = ref_dwconv(xv, m.v(w), m.v(b), s, d, pads, same, mult, lo, hi)
    ip = [s[0], s[1], *(pads if not same else (0, 0, 0, 0)), d[0], d[1], mult, int(same)]
    return m.op("DEPTHWISE_CONV_2D", [x, w, b], val, ip, [lo, hi])


def pool(m, kind, x, k, s, pads=(0, 0, 0, 0), same=False, lo=-INF, hi=INF):
    val, _ = ref_pool(m.v(x), k, s, pads, same, kind, lo, hi)
    ip = [s[0], s[1], *(pads if not same else (0, 0, 0, 0)), k[0], k[1], 0, int(same)]
    return m.op("MAX_POOL_2D" if kind == "max" else "AVERAGE_POOL_2D", [x], val, ip, [lo, hi])


def fc(m, x, o, lo=-INF, hi=INF):
    xv = m.v(x)
    k = xv.size // xv.shape[0]
    w = m.const((o, k))
    b = m.const((o,))
    val = clamp(xv.reshape(xv.shape[0], k) @ m.v(w).T + m.v(b), lo, hi)
    return m.op("FULLY_CONNECTED", [x, w, b], val, [], [lo, hi])


def prelu(m, x):
    xv = m.v(x)
    sl = m.const((xv.shape[-1],))
    return m.op("PRELU", [x, sl], np.where(xv > 0, xv, xv * m.v(sl)))


BINOPS = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}


def binop(m, kind, a, b, lo=-INF, hi=INF):
    return m.op(kind, [a, b], clamp(BINOPS[kind](m.v(a), m.v(b)), lo, hi), [], [lo, hi])


def reshape(m, x, dims):
    xv = m.v(x)
    shape = [xv.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return m.op("RESHAPE", [x], xv.reshape(shape), [len(dims)] + list(dims))


# ---------------------------------------------------------------- the models

def build_all():
    models = []

    def new(name):
        m = Model(name, 1000 + len(models))
        models.append(m)
        return m

    m = new("op_conv_explicit")
    x = m.input((1, 9, 10, 3))
    m.outputs = [conv(m, x, 4, (3, 3), s=(2, 1), pads=(1, 0, 2, 1), lo=0.0)]

    m = new("op_conv_same_groups")
    x = m.input((2, 8, 7, 4))
    m.outputs = [conv(m, x, 6, (3, 2), s=(2, 2), d=(1, 2), same=True, groups=2, lo=-0.5, hi=0.5)]

    m = new("op_conv_1x1")
    x = m.input((1, 5, 6, 8))
    m.outputs = [conv(m, x, 16, (1, 1))]

    m = new("op_dwconv_same_mult")
    x = m.input((1, 10, 9, 4))
    m.outputs = [dwconv(m, x, (3, 3), mult=2, s=(2, 2), same=True)]

    m = new("op_dwconv_explicit")
    x = m.input((1, 8, 8, 8))
    m.outputs = [dwconv(m, x, (3, 3), pads=(1, 1, 1, 1), lo=0.0, hi=6.0)]

    m = new("op_fc_flatten")
    x = m.input((2, 3, 3, 4))
    m.outputs = [fc(m, x, 5, lo=-1.0, hi=1.0)]

    m = new("op_fc_2d")
    x = m.input((3, 20))
    m.outputs = [fc(m, x, 7)]

    m = new("op_maxpool_same")
    x = m.input((1, 9, 9, 3))
    m.outputs = [pool(m, "max", x, (3, 3), (2, 2), same=True)]

    m = new("op_maxpool_explicit")
    x = m.input((1, 7, 7, 2))
    m.outputs = [pool(m, "max", x, (2, 2), (2, 2))]

    m = new("op_avgpool_padded")
    x = m.input((1, 6, 5, 3))
    m.outputs = [pool(m, "avg", x, (3, 3), (1, 1), pads=(1, 1, 1, 1))]

    m = new("op_avgpool_same")
    x = m.input((1, 7, 7, 2))
    m.outputs = [pool(m, "avg", x, (2, 2), (2, 2), same=True, lo=-0.3, hi=0.3)]

    m = new("op_add_const")
    x = m.input((1, 4, 5, 3))
    m.outputs = [binop(m, "ADD", x, m.const((3,)))]

    m = new("op_sub_two_inputs")
    a = m.input((1, 4, 5, 3))
    b = m.input((1, 4, 1, 3))
    m.outputs = [binop(m, "SUB", a, b, lo=-0.5)]

    m = new("op_mul_broadcast")
    x = m.input((2, 4, 5, 3))
    m.outputs = [binop(m, "MUL", m.const((4, 5, 1)), x, hi=0.2)]

    m = new("op_prelu_4d")
    x = m.input((1, 5, 5, 6))
    m.outputs = [prelu(m, x)]

    m = new("op_prelu_2d")
    x = m.input((3, 6))
    m.outputs = [prelu(m, x)]

    m = new("op_clamp")
    x = m.input((1, 4, 4, 5))
    xs = binop(m, "MUL", x, m.const((1,), scale=10.0))
    m.outputs = [m.op("CLAMP", [xs], clamp(m.v(xs), 0.0, 6.0), [], [0.0, 6.0])]

    m = new("op_softmax")
    x = m.input((1, 3, 3, 2))
    m.outputs = [m.op("SOFTMAX", [x], softmax(m.v(x)))]

    m = new("op_softmax_2d")
    x = m.input((2, 7))
    m.outputs = [m.op("SOFTMAX", [x], softmax(m.v(x) * 4))]
    m.values[x] = m.v(x) * 4  # scale the input itself

    m = new("op_reshape")
    x = m.input((1, 2, 3, 4))
    r = reshape(m, x, [0, -1, 4])
    m.outputs = [reshape(m, r, [2, 12])]

    m = new("op_sigmoid")
    x = m.input((1, 3, 4, 5))
    m.values[x] = m.v(x) * 6
    m.outputs = [m.op("SIGMOID", [x], 1 / (1 + np.exp(-m.v(x))))]

    m = new("op_depth_to_space")
    x = m.input((1, 3, 4, 8))
    m.outputs = [m.op("DEPTH_TO_SPACE", [x], ref_d2s(m.v(x), 2), [2])]

    m = new("op_global_avgpool")
    x = m.input((2, 5, 6, 3))
    v = clamp(m.v(x).mean(axis=(1, 2), keepdims=True), -0.1, 0.1)
    m.outputs = [m.op("GLOBAL_AVERAGE_POOL", [x], v, [], [-0.1, 0.1])]

    for nm, oh, ow, al in (("up", 7, 9, 0), ("up_align", 7, 9, 1), ("down", 3, 2, 0)):
        m = new("op_resize_" + nm)
        x = m.input((1, 4, 5, 3))
        m.outputs = [m.op("RESIZE_BILINEAR", [x], ref_resize(m.v(x), oh, ow, al), [oh, ow, al])]

    # A PNet-like graph: declared any-size input, two outputs, shared trunk.
    m = new("mini_pnet")
    m.meta.update({"input_mean": "127.5", "input_scale": "0.0078125", "input_layout": "nwhc"})
    x = m.input((1, 14, 13, 3), declared=(1, 0, 0, 3))
    h = prelu(m, conv(m, x, 6, (3, 3)))
    h = pool(m, "max", h, (2, 2), (2, 2), same=True)
    h = prelu(m, conv(m, h, 8, (3, 3)))
    logits = conv(m, h, 2, (1, 1))
    prob = m.op("SOFTMAX", [logits], softmax(m.v(logits)))
    box = conv(m, h, 4, (1, 1))
    m.outputs = [prob, box]

    # An output that is also consumed by a later op; FC + PReLU on 2-D like RNet.
    m = new("mini_rnet")
    x = m.input((2, 6, 6, 3))
    h = conv(m, x, 4, (3, 3), s=(2, 2), same=True, lo=0.0)
    f = prelu(m, fc(m, h, 10))
    s = m.op("SIGMOID", [f], 1 / (1 + np.exp(-m.v(f))))
    g = binop(m, "ADD", s, f)
    m.outputs = [s, g]

    # Graphs lib/nn/net_rewrite.c rewrites (tests/runtime/test_nn_ops.c: how many
    # rewrites each gets); the reference is the graph as written.
    m = new("rw_resize_pointwise")  # 1: relu(1x1(resize)); an output resize stays
    x = m.input((1, 5, 6, 8))
    up = m.op("RESIZE_BILINEAR", [x], ref_resize(m.v(x), 10, 12, 0), [10, 12, 0])
    kept = m.op("RESIZE_BILINEAR", [x], ref_resize(m.v(x), 9, 11, 1), [9, 11, 1])
    m.outputs = [conv(m, up, 4, (1, 1), lo=0.0), conv(m, kept, 3, (1, 1)), kept]

    m = new("rw_pointwise_chain")  # 1: two 1x1 in a row; a clamped first one stays
    x = m.input((1, 6, 5, 16))
    a = conv(m, x, 16, (1, 1))
    c = conv(m, x, 16, (1, 1), lo=0.0)
    m.outputs = [conv(m, a, 24, (1, 1), lo=-0.5, hi=0.5), conv(m, c, 24, (1, 1))]

    m = new("rw_zero_branch")  # 1: x + 0 is x (a dropped residual block), then 1x1
    x = m.input((1, 4, 4, 6))
    h = prelu(m, conv(m, x, 6, (3, 3), same=True))
    y = binop(m, "ADD", conv(m, h, 6, (1, 1), scale=0.0), x)
    m.outputs = [conv(m, y, 5, (1, 1), lo=0.0)]
    return models


def main():
    for m in build_all():
        m.save()
        print("wrote", m.name)


if __name__ == "__main__":
    main()
