"""Read and write .ffn model files (spec: models/FORMAT.md).

`Graph` is the in-memory form shared by the tflite converter, the VQ-VAE
exporter and the PyTorch reference interpreter.
"""
import math
import struct
import zlib

import numpy as np

MAGIC = b"FFNN"
VERSION = (1, 0)
HEADER_SIZE = 64
TENSOR_REC = 80
OP_REC = 128
NAME_LEN = 40
NONE_ID = 0xFFFFFFFF
INF = float("inf")

OPS = {
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 3, "MAX_POOL_2D": 4,
    "AVERAGE_POOL_2D": 5, "ADD": 6, "SUB": 7, "MUL": 8, "PRELU": 9, "CLAMP": 10,
    "SOFTMAX": 11, "RESHAPE": 12, "SIGMOID": 14, "DEPTH_TO_SPACE": 15,
    "GLOBAL_AVERAGE_POOL": 16, "RESIZE_BILINEAR": 17,
}
OP_NAMES = {v: k for k, v in OPS.items()}
PAD_EXPLICIT, PAD_SAME = 0, 1


class Tensor:
    def __init__(self, name, shape, data=None):
        self.name = name
        self.shape = [int(d) for d in shape]
        self.data = None if data is None else np.ascontiguousarray(data, dtype=np.float32)
        if self.data is not None and list(self.data.shape) != self.shape:
            raise ValueError("tensor %s: data shape %s != %s" % (name, self.data.shape, self.shape))


class Op:
    def __init__(self, kind, inputs, outputs, iparam=None, fparam=None):
        if kind not in OPS:
            raise ValueError("unknown op %s" % kind)
        self.kind = kind
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.iparam = list(iparam or []) + [0] * (16 - len(iparam or []))
        self.fparam = list(fparam or []) + [0.0] * (4 - len(fparam or []))


def clamp_params(lo=-INF, hi=INF):
    return [lo, hi]


class Graph:
    def __init__(self, meta=None):
        self.tensors = []
        self.ops = []
        self.inputs = []
        self.outputs = []
        self.meta = dict(meta or {})

    def tensor(self, name, shape, data=None):
        self.tensors.append(Tensor(name[:NAME_LEN], shape, data))
        return len(self.tensors) - 1

    def const(self, name, data):
        data = np.asarray(data, dtype=np.float32)
        return self.tensor(name, data.shape, data)

    def op(self, kind, inputs, outputs, iparam=None, fparam=None):
        self.ops.append(Op(kind, inputs, outputs, iparam, fparam))

    def find(self, name):
        for i, t in enumerate(self.tensors):
            if t.name == name:
                return i
        raise KeyError(name)

    def prune(self, keep=()):
        """Drops tensors no op or graph input/output refers to (but constants named in
        `keep`, such as a VQ codebook the caller reads), renumbering ids."""
        used = set(self.inputs) | set(self.outputs)
        used |= {i for i, t in enumerate(self.tensors) if t.name in keep}
        for op in self.ops:
            used |= set(op.inputs) | set(op.outputs)
        remap = {}
        tensors = []
        for i, t in enumerate(self.tensors):
            if i in used:
                remap[i] = len(tensors)
                tensors.append(t)
        self.tensors = tensors
        for op in self.ops:
            op.inputs = [remap[i] for i in op.inputs]
            op.outputs = [remap[i] for i in op.outputs]
        self.inputs = [remap[i] for i in self.inputs]
        self.outputs = [remap[i] for i in self.outputs]


def _align(n, a):
    return (n + a - 1) // a * a


def save(graph, path):
    meta = "".join("%s=%s\n" % (k, v) for k, v in sorted(graph.meta.items())).encode("utf-8")
    data = bytearray()
    trecs = bytearray()
    for t in graph.tensors:
        off, size = 0, 0
        if t.data is not None:
            off = len(data)
            raw = t.data.astype("<f4").tobytes()
            size = len(raw)
            data += raw
            data += b"\0" * (_align(len(data), 64) - len(data))
        dims = (t.shape + [0, 0, 0, 0])[:4]
        trecs += struct.pack("<40sII4III8x", t.name.encode("utf-8")[:NAME_LEN], 1,
                             len(t.shape), *dims, off, size)
    orecs = bytearray()
    for op in graph.ops:
        ins = (op.inputs + [NONE_ID] * 4)[:4]
        outs = (op.outputs + [NONE_ID] * 2)[:2]
        orecs += struct.pack("<III4I2I16i4f12x", OPS[op.kind], len(op.inputs), len(op.outputs),
                             *ins, *outs, *op.iparam, *op.fparam)
    io = struct.pack("<%dI" % (len(graph.inputs) + len(graph.outputs)),
                     *(graph.inputs + graph.outputs))
    meta_off = HEADER_SIZE
    t_off = _align(meta_off + len(meta), 8)
    o_off = t_off + len(trecs)
    io_off = o_off + len(orecs)
    d_off = _align(io_off + len(io), 64)
    header = struct.pack("<4sHH14I", MAGIC, VERSION[0], VERSION[1], HEADER_SIZE,
                         len(graph.tensors), len(graph.ops), len(graph.inputs),
                         len(graph.outputs), meta_off, len(meta), t_off, o_off, io_off,
                         d_off, len(data), zlib.crc32(bytes(data)) & 0xFFFFFFFF, 0)
    assert len(header) == HEADER_SIZE
    out = bytearray(header)
    out += meta
    out += b"\0" * (t_off - len(out))
    out += trecs + orecs + io
    out += b"\0" * (d_off - len(out))
    out += data
    with open(path, "wb") as f:
        f.write(out)


def load(path):
    with open(path, "rb") as f:
        buf = f.read()
    return loads(buf)


def loads(buf):
    if len(buf) < HEADER_SIZE:
        raise ValueError("ffn: file shorter than header")
    (magic, vmaj, _vmin, hsize, nt, no, ni, nout, meta_off, meta_size, t_off, o_off, io_off,
     d_off, d_size, crc, _r) = struct.unpack_from("<4sHH14I", buf, 0)
    if magic != MAGIC or vmaj != VERSION[0] or hsize != HEADER_SIZE:
        raise ValueError("ffn: bad magic/version/header size")
    for off, size in ((meta_off, meta_size), (t_off, nt * TENSOR_REC), (o_off, no * OP_REC),
                      (io_off, 4 * (ni + nout)), (d_off, d_size)):
        if off < HEADER_SIZE or off + size > len(buf):
            raise ValueError("ffn: region %d+%d outside file of %d bytes" % (off, size, len(buf)))
    data = buf[d_off:d_off + d_size]
    if zlib.crc32(data) & 0xFFFFFFFF != crc:
        raise ValueError("ffn: data CRC mismatch")
    g = Graph()
    for line in buf[meta_off:meta_off + meta_size].decode("utf-8").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            g.meta[k] = v
    for i in range(nt):
        name, dtype, rank, d0, d1, d2, d3, off, size = struct.unpack_from(
            "<40sII4III", buf, t_off + i * TENSOR_REC)
        if dtype != 1 or rank > 4:
            raise ValueError("ffn: tensor %d: bad dtype/rank" % i)
        shape = [d0, d1, d2, d3][:rank]
        arr = None
        if size:
            if size != 4 * math.prod(shape) or off + size > d_size:
                raise ValueError("ffn: tensor %d: bad data range" % i)
            arr = np.frombuffer(data, dtype="<f4", count=size // 4, offset=off).reshape(shape)
        g.tensors.append(Tensor(name.rstrip(b"\0").decode("utf-8"), shape, arr))
    for i in range(no):
        rec = struct.unpack_from("<III4I2I16i4f", buf, o_off + i * OP_REC)
        kind, n_in, n_out = rec[0], rec[1], rec[2]
        if kind not in OP_NAMES:
            raise ValueError("ffn: op %d: unknown type %d" % (i, kind))
        g.ops.append(Op(OP_NAMES[kind], rec[3:3 + n_in], rec[7:7 + n_out],
                        list(rec[9:25]), list(rec[25:29])))
    ids = struct.unpack_from("<%dI" % (ni + nout), buf, io_off)
    g.inputs, g.outputs = list(ids[:ni]), list(ids[ni:])
    return g


def same_pads(size, k, stride, dilation=1):
    """TensorFlow SAME padding for one axis: (before, after), extra at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


# ---- weight patches (.ffp, models/FORMAT.md "Weight patches") ----------------------------

PATCH_MAGIC = b"FFP1"


def base_id(buf):
    """(data CRC-32, data size) of an .ffn file's bytes: what a patch is bound to."""
    d_size, crc = struct.unpack_from("<2I", buf, 52)
    return crc, d_size


def save_patch(base_path, tuned, path):
    """Writes the constants of graph `tuned` that differ from the .ffn at base_path
    (same graph, other weights) as a weight patch. Returns the tensor ids written."""
    with open(base_path, "rb") as f:
        buf = f.read()
    base = loads(buf)
    if len(base.tensors) != len(tuned.tensors):
        raise ValueError("ffn patch: %d tensors in the base, %d tuned" % (len(base.tensors), len(tuned.tensors)))
    body, ids = bytearray(), []
    for i, (b, t) in enumerate(zip(base.tensors, tuned.tensors)):
        if b.data is None or t.data is None:
            if (b.data is None) != (t.data is None):
                raise ValueError("ffn patch: tensor %d is a constant in only one graph" % i)
            continue
        if b.data.shape != t.data.shape:
            raise ValueError("ffn patch: tensor %d shape %s != %s" % (i, t.data.shape, b.data.shape))
        if np.array_equal(b.data, t.data):
            continue
        if not np.all(np.isfinite(t.data)):
            raise ValueError("ffn patch: tensor %d not finite" % i)
        body += struct.pack("<2I", i, t.data.size) + t.data.astype("<f4").tobytes()
        ids.append(i)
    crc, d_size = base_id(buf)
    head = PATCH_MAGIC + struct.pack("<4I", crc, d_size, len(ids), zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(head + body)
    return ids


def apply_patch(base_path, patch_path):
    """The .ffn at base_path with the patch applied (checked like lib/nn/model_patch.c)."""
    with open(base_path, "rb") as f:
        buf = f.read()
    with open(patch_path, "rb") as f:
        p = f.read()
    g = loads(buf)
    if p[:4] != PATCH_MAGIC or len(p) < 20:
        raise ValueError("ffn patch: bad magic")
    crc, d_size, n, body_crc = struct.unpack_from("<4I", p, 4)
    if zlib.crc32(p[20:]) & 0xFFFFFFFF != body_crc:
        raise ValueError("ffn patch: CRC mismatch")
    if (crc, d_size) != base_id(buf):
        raise ValueError("ffn patch: made for another base")
    off = 20
    for _ in range(n):
        i, count = struct.unpack_from("<2I", p, off)
        t = g.tensors[i]
        if t.data is None or t.data.size != count:
            raise ValueError("ffn patch: record for tensor %d does not fit" % i)
        t.data = np.frombuffer(p, "<f4", count, off + 8).reshape(t.data.shape).astype(np.float32)
        off += 8 + 4 * count
    if off != len(p):
        raise ValueError("ffn patch: trailing bytes")
    return g
