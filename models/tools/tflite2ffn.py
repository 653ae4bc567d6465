#!/usr/bin/python3
"""Convert a float32 TFLite model into a facefleet .ffn file.

Folds TF-isms into explicit ops once, so every runtime sees the same simple
graph: PReLU written as RELU/NEG/MUL/ADD (MTCNN) or RELU/ABS/SUB/MUL/ADD
(MobileFaceNet) becomes PRELU, softmax written as MAX/SUB/EXP/SUM/DIV becomes
SOFTMAX, "SAME" padding stays a padding mode (pads depend on the input size,
and TF puts the odd pixel at the bottom/right). Any op left over that the
format has no equivalent for is an error, never silently dropped.

usage: tflite2ffn.py IN.tflite OUT.ffn --name NAME [--meta key=value ...]
"""
import argparse
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ffn  # noqa: E402
import tflite_reader  # noqa: E402

ACT_CLAMP = {None: (-ffn.INF, ffn.INF), "RELU": (0.0, ffn.INF), "RELU6": (0.0, 6.0),
             "RELU_N1_TO_1": (-1.0, 1.0)}


def clamp_of(opts):
    act = tflite_reader.ACTIVATION.get(opts.get("activation", 0), "?")
    if act not in ACT_CLAMP:
        raise ValueError("unsupported fused activation %s" % act)
    return list(ACT_CLAMP[act])


class Converter:
    def __init__(self, model, meta):
        self.m = model
        self.g = ffn.Graph(meta)
        self.ids = {}  # tflite tensor index -> ffn tensor id

    def t(self, i):
        """ffn id of tflite tensor i (constants are copied on first use)."""
        if i not in self.ids:
            src = self.m["tensors"][i]
            if src["data"] is None:
                raise ValueError("tensor %s used before it is produced" % src["name"])
            self.ids[i] = self.g.const(src["name"][-ffn.NAME_LEN:], src["data"].astype(np.float32))
        return self.ids[i]

    def out(self, i, shape=None):
        src = self.m["tensors"][i]
        self.ids[i] = self.g.tensor(src["name"][-ffn.NAME_LEN:], shape or src["shape"])
        return self.ids[i]

    def const_of(self, i):
        d = self.m["tensors"][i]["data"]
        return None if d is None else d.astype(np.float32)

    # -- pattern fusion ------------------------------------------------------
    def match_prelu(self, ops, k):
        """PReLU as RELU,NEG,RELU,NEG,MUL,ADD or RELU,ABS,SUB,MUL,ADD."""
        kinds = [o["op"] for o in ops[k:k + 6]]
        if kinds[:6] == ["RELU", "NEG", "RELU", "NEG", "MUL", "ADD"]:
            relu, neg, relu2, neg2, mul, add = ops[k:k + 6]
            x = relu["inputs"][0]
            ok = (neg["inputs"][0] == x and relu2["inputs"][0] == neg["outputs"][0]
                  and neg2["inputs"][0] == relu2["outputs"][0])
            alpha = self.mul_const(mul, neg2["outputs"][0])
            if ok and alpha is not None and self.adds(add, relu, mul):
                return 6, x, alpha, add["outputs"][0]  # relu(x) + a*(-relu(-x))
        if kinds[:5] == ["RELU", "ABS", "SUB", "MUL", "ADD"]:
            relu, ab, sub, mul, add = ops[k:k + 5]
            x = relu["inputs"][0]
            ok = ab["inputs"][0] == x and sub["inputs"] == [x, ab["outputs"][0]]
            half = self.mul_const(mul, sub["outputs"][0])
            if ok and half is not None and self.adds(add, relu, mul):
                return 5, x, 2.0 * half, add["outputs"][0]  # relu(x) + c*(x-|x|)
        return None

    def mul_const(self, mul, var):
        a, b = mul["inputs"]
        if b == var and self.const_of(a) is not None:
            return self.const_of(a).reshape(-1)
        if a == var and self.const_of(b) is not None:
            return self.const_of(b).reshape(-1)
        return None

    @staticmethod
    def adds(add, x, y):
        return sorted(add["inputs"]) == sorted([x["outputs"][0], y["outputs"][0]])

    @staticmethod
    def match_softmax(ops, k):
        kinds = [o["op"] for o in ops[k:k + 5]]
        if kinds != ["BUILTIN_82", "SUB", "BUILTIN_47", "SUM", "DIV"]:
            return None
        mx, sub, ex, sm, div = ops[k:k + 5]
        x = mx["inputs"][0]
        if (sub["inputs"] == [x, mx["outputs"][0]] and ex["inputs"][0] == sub["outputs"][0]
                and sm["inputs"][0] == ex["outputs"][0]
                and div["inputs"] == [ex["outputs"][0], sm["outputs"][0]]):
            return 5, x, div["outputs"][0]
        return None

    # -- op translation --------------------------------------------------------
    def conv_params(self, o, kh, kw):
        opt = o["options"]
        mode = ffn.PAD_SAME if tflite_reader.PADDING[opt["padding"]] == "SAME" else ffn.PAD_EXPLICIT
        ip = [opt["stride_h"], opt["stride_w"], 0, 0, 0, 0, opt.get("dilation_h", 1),
              opt.get("dilation_w", 1), 1, mode]
        return ip

    def emit(self, o):
        kind, ins, outs, opt = o["op"], o["inputs"], o["outputs"], o["options"]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = self.const_of(ins[1])
            ip = self.conv_params(o, w.shape[1], w.shape[2])
            if kind == "DEPTHWISE_CONV_2D":
                ip[8] = opt["depth_multiplier"]
            bias = ins[2] if len(ins) > 2 and ins[2] >= 0 else None
            b = self.t(bias) if bias is not None else self.g.const(
                self.m["tensors"][ins[1]]["name"][-35:] + "/bias", np.zeros(w.shape[0] if kind == "CONV_2D" else w.shape[3]))
            self.g.op(kind, [self.t(ins[0]), self.t(ins[1]), b], [self.out(outs[0])], ip, clamp_of(opt))
        elif kind == "FULLY_CONNECTED":
            self.g.op(kind, [self.t(i) for i in ins], [self.out(outs[0])], [], clamp_of(opt))
        elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            mode = ffn.PAD_SAME if tflite_reader.PADDING[opt["padding"]] == "SAME" else ffn.PAD_EXPLICIT
            ip = [opt["stride_h"], opt["stride_w"], 0, 0, 0, 0, opt["filter_h"], opt["filter_w"], 0, mode]
            self.g.op(kind, [self.t(ins[0])], [self.out(outs[0])], ip, clamp_of(opt))
        elif kind in ("ADD", "SUB", "MUL"):
            self.g.op(kind, [self.t(i) for i in ins], [self.out(outs[0])], [], clamp_of(opt))
        elif kind in ("RELU", "RELU6"):
            lo, hi = ACT_CLAMP[kind]
            self.g.op("CLAMP", [self.t(ins[0])], [self.out(outs[0])], [], [lo, hi])
        elif kind == "LOGISTIC":
            self.g.op("SIGMOID", [self.t(ins[0])], [self.out(outs[0])])
        elif kind == "RESHAPE":
            shape = self.m["tensors"][outs[0]]["shape"]
            dims = [0] + [-1 if k == len(shape) - 1 else d for k, d in enumerate(shape)][1:]
            self.g.op("RESHAPE", [self.t(ins[0])], [self.out(outs[0])], [len(shape)] + dims)
        else:
            raise ValueError("op %s has no .ffn equivalent" % kind)

    def run(self, input_shape):
        for i in self.m["inputs"]:
            self.ids[i] = self.g.tensor(self.m["tensors"][i]["name"][-ffn.NAME_LEN:], input_shape)
            self.g.inputs.append(self.ids[i])
        ops, k = self.m["ops"], 0
        while k < len(ops):
            p = self.match_prelu(ops, k)
            if p:
                n, x, slope, y = p
                self.g.op("PRELU", [self.t(x), self.g.const(self.m["tensors"][y]["name"][-34:] + "/slope", slope)],
                          [self.out(y)])
                k += n
                continue
            s = self.match_softmax(ops, k)
            if s:
                n, x, y = s
                self.g.op("SOFTMAX", [self.t(x)], [self.out(y)])
                k += n
                continue
            self.emit(ops[k])
            k += 1
        self.g.outputs = [self.ids[i] for i in self.m["outputs"]]
        self.g.prune()
        return self.g


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--name", required=True)
    ap.add_argument("--input-shape", default="0,0,0,3",
                    help="NHWC input dims written to the file, 0 = any (default 0,0,0,3)")
    ap.add_argument("--output-names", default="", help="comma-separated names for the outputs")
    ap.add_argument("--meta", action="append", default=[], help="key=value metadata")
    a = ap.parse_args()
    with open(a.src, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    meta = {"name": a.name, "source": "%s sha256:%s" % (os.path.basename(a.src), sha)}
    for kv in a.meta:
        k, v = kv.split("=", 1)
        meta[k] = v
    g = Converter(tflite_reader.read(a.src), meta).run([int(d) for d in a.input_shape.split(",")])
    for tid, name in zip(g.outputs, [n for n in a.output_names.split(",") if n]):
        g.tensors[tid].name = name
    ffn.save(g, a.dst)
    kinds = {}
    for op in g.ops:
        kinds[op.kind] = kinds.get(op.kind, 0) + 1
    print("%s: %d tensors, %d ops %s" % (a.dst, len(g.tensors), len(g.ops), kinds))


if __name__ == "__main__":
    main()
