"""Multiply-adds of .ffn models, counted from the graph (docs/ENERGY.md).

Pure Python (no numpy, no torch): reads the graph of an .ffn file
(models/FORMAT.md), infers every tensor's shape for the given input, and
counts one multiply-add per weight use: CONV_2D out_elems * kh*kw*cin/groups,
DEPTHWISE_CONV_2D out_elems * kh*kw, FULLY_CONNECTED out * in. Element-wise
ops (bias, PReLU, pooling, softmax) and image resizes are left out, as MAC
counts usually do.

  python3 models/tools/count_macs.py MODEL.ffn [H W [C]]
  python3 models/tools/count_macs.py --mtcnn DIR W H [--min-face PX] [--r-boxes R]
          [--o-boxes O] [--faces F] [--full-every N] [--track-frames T] [--sent K]
      the MTCNN cascade on a WxH frame as lib/vision runs it (factor 0.709,
      the same float32 pyramid scales): a whole scan (P-Net on every level
      down to 12 px, R-Net on R and O-Net on O candidate boxes; min face 40,
      the device's detector_min_face_px), a frame between whole scans (O-Net
      on each of F known faces' last box), their mean over the video schedule
      (one whole scan every N analysed frames: detector_full_scan_every), and
      the detector per sent face: a track of T analysed frames sending K faces
  python3 models/tools/count_macs.py --gdb-script > trace.gdb
  gdb -q -batch -x trace.gdb --args fleet-device --bench --bench-video=V ... > trace.txt
  python3 models/tools/count_macs.py --trace DIR trace.txt
      measured instead of assumed box counts: every net run of a video bench
      (gdb prints each ff_net_run's model file size and input shape, and each
      analysed frame), turned into MACs per frame, whole scans and the rest
"""
import argparse
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


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def pyramid(w, h, min_face, factor=0.709):
    """P-Net input sizes (w, h) of a whole scan: ff_mtcnn_pyramid_scales
    (scales stored as float32) and the levels P-Net can run on."""
    m, minl, sizes = 12.0 / min_face, min(w, h) * 12.0 / min_face, []
    while minl >= 12.0:
        ws, hs = math.ceil(w * f32(m)), math.ceil(h * f32(m))
        if min(ws, hs) >= 12:  # ff_mtcnn_pnet_out > 0
            sizes.append((ws, hs))
        m *= factor
        minl *= factor
    return sizes


def cascade_nets(d):
    return [load(os.path.join(d, n + ".ffn")) for n in ("pnet", "rnet", "onet")]


def mtcnn(d, w, h, a):
    pnet, rnet, onet = cascade_nets(d)
    sizes = pyramid(w, h, a.min_face)
    p = sum(count(pnet, hs, ws) for ws, hs in sizes)
    r1, o1 = count(rnet, 24, 24), count(onet, 48, 48)
    whole = p + r1 * a.r_boxes + o1 * a.o_boxes
    near = o1 * a.faces
    mean = (whole + near * (a.full_every - 1)) / a.full_every
    print("P-Net, %d levels of %dx%d (min face %g px, first %dx%d): %.1f M MACs"
          % (len(sizes), w, h, a.min_face, sizes[0][0], sizes[0][1], p / 1e6))
    print("R-Net %.2f M per box x %g, O-Net %.2f M per box x %g"
          % (r1 / 1e6, a.r_boxes, o1 / 1e6, a.o_boxes))
    print("whole scan: %.1f M MACs" % (whole / 1e6))
    print("between whole scans (O-Net on %d known face(s)): %.1f M MACs" % (a.faces, near / 1e6))
    print("mean per analysed frame, a whole scan every %d: %.1f M MACs"
          % (a.full_every, mean / 1e6))
    print("per sent face, %d frames of a track sending %d faces: %.1f M MACs"
          % (a.track_frames, a.sent, mean * a.track_frames / a.sent / 1e6))


GDB_SCRIPT = """set pagination off
set breakpoint pending on
break dev_scan_frame
commands
silent
printf "FRAME %d\\n", (s->lost || s->since + 1 >= s->full_every)
continue
end
break ff_net_run
commands
silent
printf "RUN %lu %u %u %u\\n", n->m->len, n->in_shape[0].dims[1], n->in_shape[0].dims[2], n->in_shape[0].dims[3]
continue
end
run
"""


def trace_frames(d, path):
    """[(whole, {net: [runs, MACs]})] per analysed frame of a gdb trace."""
    nets = dict(zip(("P-Net", "R-Net", "O-Net"), cascade_nets(d)))
    by_len = {os.path.getsize(os.path.join(d, n.lower().replace("-", "") + ".ffn")): n
              for n in nets}
    frames, memo = [], {}
    for line in open(path):
        f = line.split()
        if f[:1] == ["FRAME"]:
            frames.append((f[1] == "1", {n: [0, 0] for n in nets}))
        elif f[:1] == ["RUN"] and frames and int(f[1]) in by_len:
            key = (by_len[int(f[1])], int(f[2]), int(f[3]))
            if key not in memo:
                memo[key] = count(nets[key[0]], key[1], key[2])
            frames[-1][1][key[0]][0] += 1
            frames[-1][1][key[0]][1] += memo[key]
    return frames


def trace(d, path):
    frames = trace_frames(d, path)
    if not frames:
        print("%s: no FRAME lines (run fleet-device under --gdb-script's commands)" % path)
        return 1
    for name, sel in (("all analysed frames", lambda w: True), ("whole scans", lambda w: w),
                      ("between whole scans", lambda w: not w)):
        fs = [nets for whole, nets in frames if sel(whole)]
        if not fs:
            continue
        per = {n: [sum(x[n][k] for x in fs) / len(fs) for k in (0, 1)] for n in fs[0]}
        total = sum(v[1] for v in per.values())
        print("%s (%d): %.1f M MACs a frame; " % (name, len(fs), total / 1e6)
              + ", ".join("%s %.2f runs %.1f M" % (n, v[0], v[1] / 1e6) for n, v in per.items()))
    return 0


def main(argv):
    if argv[1:2] == ["--gdb-script"]:
        sys.stdout.write(GDB_SCRIPT)
        return 0
    if len(argv) == 4 and argv[1] == "--trace":
        return trace(argv[2], argv[3])
    if argv[1:2] == ["--mtcnn"]:
        ap = argparse.ArgumentParser(prog="count_macs.py --mtcnn")
        ap.add_argument("dir")
        ap.add_argument("w", type=int)
        ap.add_argument("h", type=int)
        ap.add_argument("--min-face", type=float, default=40.0)
        ap.add_argument("--r-boxes", type=float, default=20)
        ap.add_argument("--o-boxes", type=float, default=2)
        ap.add_argument("--faces", type=int, default=1)
        ap.add_argument("--full-every", type=int, default=3)
        ap.add_argument("--track-frames", type=int, default=10)
        ap.add_argument("--sent", type=int, default=3)
        a = ap.parse_args(argv[2:])
        if a.min_face < 12 or a.full_every < 1 or a.sent < 1 or a.w < 12 or a.h < 12:
            ap.error("need --min-face >= 12, --full-every >= 1, --sent >= 1, W and H >= 12")
        mtcnn(a.dir, a.w, a.h, a)
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
