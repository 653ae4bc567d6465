"""Minimal, bounds-checked reader for TensorFlow Lite flatbuffer files.

Reads only what facefleet's converter needs (tensors, buffers, operators and
their builtin options) without the tensorflow or flatbuffers packages. Every
offset is checked against the file size; a corrupt file raises ValueError.
"""
import struct

import numpy as np

BUILTIN = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D", 5: "DEPTH_TO_SPACE", 9: "FULLY_CONNECTED",
    11: "L2_NORMALIZATION", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL",
    19: "RELU", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR",
    25: "SOFTMAX", 28: "TANH", 34: "PAD", 39: "TRANSPOSE", 40: "MEAN",
    41: "SUB", 42: "DIV", 43: "SQUEEZE", 54: "PRELU", 55: "MAXIMUM",
    57: "MINIMUM", 59: "NEG", 74: "SUM", 75: "SQRT", 76: "RSQRT",
    92: "SQUARE", 101: "ABS",
}
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
PADDING = {0: "SAME", 1: "VALID"}
ACTIVATION = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}

# builtin options: op name -> list of (field name, struct format, default)
OPTIONS = {
    "CONV_2D": [("padding", "b", 0), ("stride_w", "i", 1), ("stride_h", "i", 1),
                ("activation", "b", 0), ("dilation_w", "i", 1), ("dilation_h", "i", 1)],
    "DEPTHWISE_CONV_2D": [("padding", "b", 0), ("stride_w", "i", 1), ("stride_h", "i", 1),
                          ("depth_multiplier", "i", 1), ("activation", "b", 0),
                          ("dilation_w", "i", 1), ("dilation_h", "i", 1)],
    "MAX_POOL_2D": [("padding", "b", 0), ("stride_w", "i", 1), ("stride_h", "i", 1),
                    ("filter_w", "i", 1), ("filter_h", "i", 1), ("activation", "b", 0)],
    "AVERAGE_POOL_2D": [("padding", "b", 0), ("stride_w", "i", 1), ("stride_h", "i", 1),
                        ("filter_w", "i", 1), ("filter_h", "i", 1), ("activation", "b", 0)],
    "FULLY_CONNECTED": [("activation", "b", 0), ("weights_format", "b", 0),
                        ("keep_num_dims", "b", 0)],
    "ADD": [("activation", "b", 0)],
    "SUB": [("activation", "b", 0)],
    "MUL": [("activation", "b", 0)],
    "DIV": [("activation", "b", 0)],
    "SOFTMAX": [("beta", "f", 1.0)],
    "CONCATENATION": [("axis", "i", 0), ("activation", "b", 0)],
    "L2_NORMALIZATION": [("activation", "b", 0)],
}


class Buf:
    def __init__(self, data):
        self.d = data

    def need(self, pos, n):
        if pos < 0 or n < 0 or pos + n > len(self.d):
            raise ValueError("tflite: offset %d+%d outside file of %d bytes" % (pos, n, len(self.d)))

    def scalar(self, fmt, pos):
        n = struct.calcsize("<" + fmt)
        self.need(pos, n)
        return struct.unpack_from("<" + fmt, self.d, pos)[0]

    def uoffset(self, pos):
        return pos + self.scalar("I", pos)


class Table:
    """One flatbuffer table: field access through its vtable."""

    def __init__(self, buf, pos):
        self.b = buf
        self.pos = pos
        self.vt = pos - buf.scalar("i", pos)
        self.vtlen = buf.scalar("H", self.vt)

    def field_pos(self, i):
        slot = 4 + 2 * i
        if slot + 2 > self.vtlen:
            return None
        off = self.b.scalar("H", self.vt + slot)
        return self.pos + off if off else None

    def scalar(self, i, fmt, default=0):
        p = self.field_pos(i)
        return default if p is None else self.b.scalar(fmt, p)

    def table(self, i):
        p = self.field_pos(i)
        return None if p is None else Table(self.b, self.b.uoffset(p))

    def vector(self, i):
        """(element start, count) or (None, 0)."""
        p = self.field_pos(i)
        if p is None:
            return None, 0
        v = self.b.uoffset(p)
        n = self.b.scalar("I", v)
        return v + 4, n

    def scalars(self, i, fmt):
        start, n = self.vector(i)
        if start is None:
            return []
        size = struct.calcsize("<" + fmt)
        self.b.need(start, size * n)
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.b.d, start))

    def tables(self, i):
        start, n = self.vector(i)
        if start is None:
            return []
        self.b.need(start, 4 * n)
        return [Table(self.b, self.b.uoffset(start + 4 * k)) for k in range(n)]

    def string(self, i):
        start, n = self.vector(i)
        if start is None:
            return ""
        self.b.need(start, n)
        return self.b.d[start:start + n].decode("utf-8", "replace")

    def bytes(self, i):
        start, n = self.vector(i)
        if start is None:
            return b""
        self.b.need(start, n)
        return self.b.d[start:start + n]


def read(path):
    """Returns dict(tensors=[...], inputs=[...], outputs=[...], ops=[...])."""
    with open(path, "rb") as f:
        buf = Buf(f.read())
    model = Table(buf, buf.uoffset(0))
    codes = []
    for oc in model.tables(1):
        code = oc.scalar(3, "i", 0) or oc.scalar(0, "b", 0)
        codes.append(BUILTIN.get(code, "BUILTIN_%d" % code))
    buffers = [b.bytes(0) for b in model.tables(4)]
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise ValueError("tflite: expected 1 subgraph, got %d" % len(subgraphs))
    sg = subgraphs[0]
    tensors = []
    for t in sg.tables(0):
        shape = t.scalars(0, "i")
        ttype = t.scalar(1, "b", 0)
        if ttype not in TENSOR_TYPES:
            raise ValueError("tflite: tensor type %d unsupported" % ttype)
        bi = t.scalar(2, "I", 0)
        raw = buffers[bi] if bi < len(buffers) else b""
        data = None
        if raw:
            data = np.frombuffer(raw, dtype=TENSOR_TYPES[ttype]).reshape(shape).copy()
        tensors.append({"name": t.string(3), "shape": shape, "data": data})
    ops = []
    for op in sg.tables(3):
        name = codes[op.scalar(0, "I", 0)]
        opts = {}
        table = op.table(4)
        for k, (field, fmt, default) in enumerate(OPTIONS.get(name, [])):
            opts[field] = table.scalar(k, fmt, default) if table else default
        if name == "RESHAPE" and table:
            opts["new_shape"] = table.scalars(0, "i")
        ops.append({"op": name, "inputs": op.scalars(1, "i"), "outputs": op.scalars(2, "i"),
                    "options": opts})
    return {"tensors": tensors, "inputs": sg.scalars(1, "i"), "outputs": sg.scalars(2, "i"),
            "ops": ops}


if __name__ == "__main__":
    import sys
    g = read(sys.argv[1])
    for i in g["inputs"]:
        print("input", g["tensors"][i]["name"], g["tensors"][i]["shape"])
    for op in g["ops"]:
        ins = [(g["tensors"][i]["name"], g["tensors"][i]["shape"]) if i >= 0 else None
               for i in op["inputs"]]
        outs = [(g["tensors"][i]["name"], g["tensors"][i]["shape"]) for i in op["outputs"]]
        print(op["op"], op["options"], ins, "->", outs)
    for i in g["outputs"]:
        print("output", g["tensors"][i]["name"], g["tensors"][i]["shape"])
