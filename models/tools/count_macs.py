"""Multiply-adds of .ffn models, counted from the graph (docs/ENERGY.md).

Pure Python (no numpy, no torch): reads the graph of an .ffn file
(models/FORMAT.md), infers every tensor's shape for the given input, and
counts one multiply-add per weight use: CONV_2D out_elems * kh*kw*cin/groups,
DEPTHWISE_CONV_2D out_elems * kh*kw, FULLY_CONNECTED out * in. Element-wise
ops (bias, PReLU, pooling, softmax) are left out, as MAC counts usually do.

  python3 models/tools/count_macs.py MODEL.ffn [H W [C]]
  python3 models/tools/count_macs.py --mtcnn DIR W H [MIN_FACE [R [O]]]
      the MTCNN cascade on a WxH frame: P-Net on every pyramid scale (min
      face 20 px, factor 0.709: lib/vision's defaults), R-Net on R and O-Net
      on O candidate boxes (default 20 and 2)
"""
import math
import os
import struct
import sys

OPS = {1: "CONV_2D", 2: "DEPTHWISE_CONV_2D", 3: "FULLY_CONNECTED", 4: "MAX_POOL_2D",
       5: "AVERAGE_POOL_2D", 6: "ADD", 7: "SUB", 8: "MUL", 9: "PRELU", 10: "CLAMP",
       11: "SOFTMAX", 12: "RESHAPE", 14: "SIGMOID", 15: "DEPTH_TO_SPACE",
       16: "GLOBAL_AVERAGE_POOL", 17: "RESIZE_BILINEAR"}


def load(path):
    """(tensor shapes, ops as (kind, inputs, outputs, iparam), input ids)."""
    buf = open(path, "rb").read()
    (magic, _vmaj, _vmin, _hs, nt, no, ni, nout, _mo, _ms, t_off, o_off, io_off,
     _do, _ds, _crc, _r) = struct.unpack_from("<4sHH14I", buf, 0)
    if magic != b"FFNN":
        raise ValueError("%s: not an .ffn file" % path)
    shapes = []
    for i in range(nt):
        rec = struct.unpack_from("<40sII4III", buf, t_off + i * 80)
        shapes.append(list(rec[3:7])[:rec[2]])
    ops = []
    for i in range(no):
        rec = struct.unpack_from("<III4I2I16i4f", buf, o_off + i * 128)
        ops.append((OPS[rec[0]], rec[3:3 + rec[1]], rec[7:7 + rec[2]], list(rec[9:25])))
    ids = struct.unpack_from("<%dI" % (ni + nout), buf, io_off)
    return shapes, ops, list(ids[:ni])


def same_out(size, stride):
    return -(-size // stride)


def spatial(ip, h, w, kh, kw, dil_h=1, dil_w=1):
    if ip[9] == 1:  # SAME
        return same_out(h, ip[0]), same_out(w, ip[1])
    t, r, b, left = ip[2], ip[3], ip[4], ip[5]
    return ((h + t + b - dil_h * (kh - 1) - 1) // ip[0] + 1,
            (w + left + r - dil_w * (kw - 1) - 1) // ip[1] + 1)


def infer(kind, ins, ip, shp):
    """Output shape of one op and its multiply-adds."""
    x = shp[ins[0]]
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        wt = shp[ins[1]]
        kh, kw = wt[1], wt[2]
        oh, ow = spatial(ip, x[1], x[2], kh, kw, ip[6] or 1, ip[7] or 1)
        if kind == "CONV_2D":
            out = [x[0], oh, ow, wt[0]]
            return out, math.prod(out) * kh * kw * wt[3]
        out = [x[0], oh, ow, wt[3]]
        return out, math.prod(out) * kh * kw
    if kind == "FULLY_CONNECTED":
        wt = shp[ins[1]]
        return [x[0], wt[0]], x[0] * wt[0] * wt[1]
    if kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        oh, ow = spatial(ip, x[1], x[2], ip[6], ip[7])
        return [x[0], oh, ow, x[3]], 0
    if kind in ("ADD", "SUB", "MUL"):
        a, b = x, shp[ins[1]]
        return (a if math.prod(a) >= math.prod(b) else b), 0
    if kind == "RESHAPE":
        dims = [x[j] if d == 0 else d for j, d in enumerate(ip[1:1 + ip[0]])]
        if -1 in dims:
            k = dims.index(-1)
            dims[k] = math.prod(x) // -math.prod(dims)
        return dims, 0
    if kind == "GLOBAL_AVERAGE_POOL":
        return [x[0], 1, 1, x[3]], 0
    if kind == "DEPTH_TO_SPACE":
        bs = ip[0]
        return [x[0], x[1] * bs, x[2] * bs, x[3] // (bs * bs)], 0
    if kind == "RESIZE_BILINEAR":
        return [x[0], ip[0], ip[1], x[3]], 0
    return list(x), 0  # PRELU, CLAMP, SOFTMAX, SIGMOID


def count(model, h=None, w=None, c=None):
    shapes, ops, inputs = model
    shp = [list(s) for s in shapes]
    x = shp[inputs[0]]
    shp[inputs[0]] = [1, h or x[1], w or x[2], c or x[3]]
    macs = 0
    for kind, ins, outs, ip in ops:
        shp[outs[0]], m = infer(kind, ins, ip, shp)
        macs += m
    return macs


def mtcnn(d, w, h, min_face=20.0, n_r=20, n_o=2):
    pnet = load(os.path.join(d, "pnet.ffn"))
    m, total, scales = 12.0 / min_face, 0, 0
    side = min(w, h) * m
    while side >= 12:
        total += count(pnet, int(math.ceil(h * m)), int(math.ceil(w * m)))
        scales += 1
        m *= 0.709
        side *= 0.709
    r1 = count(load(os.path.join(d, "rnet.ffn")), 24, 24)
    o1 = count(load(os.path.join(d, "onet.ffn")), 48, 48)
    print("P-Net, %d scales of %dx%d: %.1f M MACs" % (scales, w, h, total / 1e6))
    print("R-Net %.2f M per box x %d, O-Net %.2f M per box x %d" % (r1 / 1e6, n_r, o1 / 1e6, n_o))
    print("MTCNN total: %.1f M MACs" % ((total + r1 * n_r + o1 * n_o) / 1e6))


def main(argv):
    if len(argv) >= 5 and argv[1] == "--mtcnn":
        extra = [float(argv[5])] if len(argv) > 5 else []
        extra += [int(a) for a in argv[6:8]]
        mtcnn(argv[2], int(argv[3]), int(argv[4]), *extra)
        return 0
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    model = load(argv[1])
    dims = [int(a) for a in argv[2:5]]
    x = model[0][model[2][0]]
    h, w, c = (dims + [None] * 3)[:3]
    print("%s %dx%dx%d: %.2f M MACs" % (argv[1], h or x[1], w or x[2], c or x[3],
                                        count(model, h, w, c) / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
