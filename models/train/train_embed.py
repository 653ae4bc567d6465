#!/usr/bin/python3
"""Reconstruction-side MobileFaceNet: fine-tune a copy of MobileFaceNet so that
its embedding of a VQ model's reconstruction matches the frozen MobileFaceNet
embedding of the original (issue 12, section 3). The gallery stays enrolled
from photos with the original network; the backend embeds decoded faces with
this copy. The codec is frozen, so devices and their codes do not change.

Cheap steps: the codec is frozen, so each DevTrain face's reconstruction (centre
crop and mirror) is computed once and kept on disk (data/recon_ID.npy); the
originals' embeddings come from train.EmbCache. A step runs only the network
being trained.

Which constants train (--train); what ships is a weight patch over the npm
network holding those (models/FORMAT.md, "Weight patches"):
  light  every bias and PReLU slope, every depthwise kernel, the first
         convolution: about 6 % of the weights
  early  every constant of the layers at 56x56 and 28x28, and every bias and
         PReLU slope: about 9 %, where reconstruction artefacts are seen
  mid    the same through the 14x14 layers: about 42 %
  all    every constant (the full network changes)
Batch norm is folded in the .ffn, so no statistics move.

Model selection: Top-1 as deployed on the held-out DevTrain people (train.py's
split, seed 1), never DevTest. Resumable: run/ckpt.pt every --ckpt-every steps.

usage: train_embed.py --vq models/vq/vq2 --run DIR [--train light|early|mid|all] [--steps N]
                      [--lr F] [--batch N] [--threads N] [--val-every N] [--degrade P]
                      [--init-patch FFP] [--drop-blocks ADD,ADD,...]
Writes DIR/best.ffn (the whole network, the best step), DIR/best.ffp (the same as a
weight patch over the fetched MobileFaceNet: what ships, as models/vq/ID.emb.ffp) and
DIR/log.jsonl.
"""
import argparse
import copy
import json
import math
import os
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ffn  # noqa: E402
import import_ffn  # noqa: E402
import degrade  # noqa: E402
import train  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402


def degraded_centre(data, rows, flip):
    """The centre crops of rows (mirrored where flip), each through camera
    degradations (degrade.TRAIN), seeded by the image's name and side: the
    same degraded face on every run."""
    x = data.center(rows, flip)
    out = torch.empty_like(x)
    for i in range(len(rows)):
        name = data.files[int(rows[i])] + ("/m" if bool(flip[i]) else "")
        rng = np.random.default_rng([2, zlib.crc32(name.encode())])
        img = (x[i].permute(1, 2, 0) * 128.0 + 127.5).clamp(0, 255).round().byte().numpy()
        img = degrade.degrade(img, rng, degrade.TRAIN)
        out[i] = (torch.from_numpy(img).permute(2, 0, 1).float() - 127.5) / 128.0
    return out.contiguous(memory_format=torch.channels_last)


def recon_cache(vq_prefix, data, degraded=False, chunk=64):
    """uint8 [N, 2, 112, 112, 3]: the frozen codec's reconstruction of every
    DevTrain centre crop and of its mirror (computed once, kept on disk);
    degraded: of the crop after camera degradations (degraded_centre)."""
    path = os.path.join(train.DATA, "recon_%s%s.npy" % (os.path.basename(vq_prefix),
                                                        "_degraded" if degraded else ""))
    n = len(data.crops)
    if os.path.exists(path):
        r = np.load(path, mmap_mode="r")
        if r.shape == (n, 2, 112, 112, 3):
            return torch.from_numpy(np.ascontiguousarray(r))
    model, _ = import_ffn.import_model(vq_prefix)
    out = np.zeros((n, 2, 112, 112, 3), np.uint8)
    t0 = time.time()
    with torch.no_grad():
        for k in range(0, n, chunk):
            rows = torch.arange(k, min(n, k + chunk))
            for f in (0, 1):
                side = torch.full((len(rows),), bool(f))
                x = degraded_centre(data, rows, side) if degraded else data.center(rows, side)
                y = model(x)[0].permute(0, 2, 3, 1) * 128.0 + 127.5
                out[k:k + len(rows), f] = y.clamp(0, 255).round().byte().numpy()
            if k % 1024 == 0:
                print("recon cache: %d/%d (%.0f s)" % (k, n, time.time() - t0), flush=True)
    np.save(path + ".tmp.npy", out)
    os.replace(path + ".tmp.npy", path)
    return torch.from_numpy(out)


def stage_ops(graph, min_side):
    """Indices of the ops up to the last whose output is at least min_side wide."""
    with torch.no_grad():
        _, acts = FfnModule(graph)(torch.zeros(1, 112, 112, 3), taps="all")
    last = max(k for k, op in enumerate(graph.ops)
               if acts.get(op.outputs[0]) is not None and acts[op.outputs[0]].dim() == 4
               and acts[op.outputs[0]].shape[2] >= min_side)
    return set(range(last + 1))


def trainable_consts(graph, which):
    """Tensor ids of the constants that train."""
    ids = set()
    first_conv = next(op for op in graph.ops if op.kind == "CONV_2D")
    whole = stage_ops(graph, {"early": 28, "mid": 14}[which]) if which in ("early", "mid") else set()
    for k, op in enumerate(graph.ops):
        consts = [i for i in op.inputs if graph.tensors[i].data is not None]
        if which == "all" or k in whole:
            ids.update(consts)
            continue
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 2:
            ids.add(op.inputs[2])                    # bias (folded batch norm)
        if op.kind == "PRELU":
            ids.update(consts)
        if op.kind == "DEPTHWISE_CONV_2D" or op is first_conv:
            ids.add(op.inputs[1])
    return sorted(ids)


def drop_blocks(graph, adds):
    """Zeroes the last convolution of the residual branch of each ADD op in adds
    (op indices), so that block computes x + 0 = x: the C runtime then drops the
    branch (lib/nn/net_rewrite.c). Returns the zeroed tensor ids (kept at zero)."""
    producer = {o: k for k, op in enumerate(graph.ops) for o in op.outputs}
    ids = set()
    for k in adds:
        op = graph.ops[k]
        if op.kind != "ADD":
            sys.exit("train_embed: op %d is %s, not a residual ADD" % (k, op.kind))
        conv = graph.ops[producer[op.inputs[0]]]
        for t in conv.inputs[1:]:
            graph.tensors[t].data = np.zeros_like(graph.tensors[t].data)
            ids.add(t)
    return ids


def make_student(path, which, init_patch=None, drop=()):
    g = ffn.apply_patch(path, init_patch) if init_patch else ffn.load(path)
    zeroed = drop_blocks(g, drop)
    m = FfnModule(g)
    ids = [i for i in trainable_consts(m.graph, which) if i not in zeroed]
    for i in ids:
        name = m._consts[i]
        t = getattr(m, name)
        delattr(m, name)
        m.register_parameter(name, torch.nn.Parameter(t.clone()))
    return m, ids


def to_graph(student, ids):
    """The student as an ffn.Graph (weights back in the file's layouts)."""
    g = copy.deepcopy(student.graph)
    for i in ids:
        c = getattr(student, student._consts[i]).detach().float()
        op = next(o for o in g.ops if i in o.inputs)
        if c.dim() == 4 and op.kind == "CONV_2D":
            c = c.permute(0, 2, 3, 1)   # OIHW -> OHWI
        elif c.dim() == 4 and op.kind == "DEPTHWISE_CONV_2D":
            c = c.permute(1, 2, 3, 0)   # C1HW -> 1HWC
        g.tensors[i].data = np.ascontiguousarray(c.numpy().reshape(g.tensors[i].shape), np.float32)
    return g


def embed(net, x_u8):
    """Unit embeddings of uint8 NHWC faces."""
    x = (x_u8.float() - 127.5) / 128.0
    return F.normalize(net(x)[0], dim=1)


def heldout_split(data):
    """train.py's held-out DevTrain people (10 %, seed 1) as a Validation whose
    gallery is each one's first crop and probes up to 8 further ones (its
    split only, not its degraded copy)."""
    val = train.Validation.__new__(train.Validation)
    by_person = [np.flatnonzero(data.labels == p) for p in train.heldout_people(data.labels, 0.1, 1)]
    val.gallery = np.array([r[0] for r in by_person])
    val.probes = np.concatenate([r[1:9] for r in by_person])
    return val


def validate(student, frozen, data, recon, val):
    """Top-1 of held-out people: gallery = frozen net on the original, probes =
    student on the reconstruction (as deployed); and the frozen net on the
    reconstruction (the same probes, before fine-tuning)."""
    with torch.no_grad():
        g = torch.cat([frozen(data.center(torch.from_numpy(val.gallery[k:k + 64])))
                       for k in range(0, len(val.gallery), 64)])
        probes = torch.from_numpy(val.probes)
        s = torch.cat([embed(student, recon[probes[k:k + 64], 0]) for k in range(0, len(probes), 64)])
        person = torch.from_numpy(data.labels[val.probes])
        gal_person = torch.from_numpy(data.labels[val.gallery])
        return float((gal_person[(s @ g.T).argmax(1)] == person).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vq", required=True, help="VQ model prefix, e.g. models/vq/vq2")
    ap.add_argument("--run", required=True)
    ap.add_argument("--train", default="light", choices=("light", "early", "mid", "all"))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--lr", type=float, default=0.0, help="peak learning rate (0: 1e-3 light, 1e-4 all)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--init-patch", default="",
                    help="start from this weight patch over the base (e.g. models/vq/vq7.emb.ffp)")
    ap.add_argument("--drop-blocks", default="",
                    help="comma-separated ADD op indices whose residual branch goes (zeroed; "
                         "the C runtime skips it): a cheaper embedder")
    ap.add_argument("--degrade", type=float, default=0.0,
                    help="share of training faces reconstructed from a degraded crop (degrade.TRAIN); "
                         "the target stays the clean original's embedding")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lr = args.lr or {"light": 1e-3, "early": 3e-4, "mid": 2e-4, "all": 1e-4}[args.train]
    os.makedirs(args.run, exist_ok=True)
    dev = torch.device("cpu")
    gen = torch.Generator().manual_seed(1)
    data = train.Data("devtrain", dev, gen)
    val = heldout_split(data)
    rows = np.flatnonzero(~np.isin(data.labels, data.labels[val.gallery]))  # the others
    frozen = train.Embedder(dev)
    targets = train.EmbCache("mobilefacenet", frozen, data, 192)
    recon = recon_cache(args.vq, data)
    recon_deg = recon_cache(args.vq, data, degraded=True) if args.degrade > 0 else None
    base = os.path.join(train.MODELS_CACHE, "ffn", "mobilefacenet.ffn")
    drop = [int(k) for k in args.drop_blocks.split(",") if k]
    student, ids = make_student(base, args.train, args.init_patch or None, drop)
    params = [p for p in student.parameters()]
    nparam = sum(p.numel() for p in params)
    total = sum(int(np.prod(t.shape)) for t in student.graph.tensors if t.data is not None)
    print("train_embed: %s: %d of %d weights train (%.1f %%), %d training faces, %d held-out people"
          % (args.train, nparam, total, 100.0 * nparam / total, len(rows), len(val.gallery)), flush=True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    ck = os.path.join(args.run, "ckpt.pt")
    step, best, log = 0, {"top1": -1.0, "step": -1}, open(os.path.join(args.run, "log.jsonl"), "a")
    if os.path.exists(ck):
        st = torch.load(ck)
        student.load_state_dict(st["student"])
        opt.load_state_dict(st["opt"])
        step, best = st["step"], st["best"]
        gen.set_state(st["gen"])
        print("train_embed: resumed at step %d (best %s)" % (step, best), flush=True)
    if step == 0:
        v = validate(student, frozen, data, recon, val)
        print("train_embed: step 0 val_top1_deployed %.4f" % v, flush=True)
        log.write(json.dumps({"step": 0, "val_top1_deployed": v}) + "\n")
        log.flush()
    t0 = time.time()
    rows_t = torch.from_numpy(rows)
    while step < args.steps:
        r = rows_t[torch.randint(len(rows_t), (args.batch,), generator=gen)]
        f = torch.rand(args.batch, generator=gen) < 0.5
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / args.steps)) * min(1.0, (step + 1) / 50)
        faces = recon[r, f.long()]
        if recon_deg is not None:
            d = torch.rand(args.batch, generator=gen) < args.degrade
            faces = torch.where(d.view(-1, 1, 1, 1), recon_deg[r, f.long()], faces)
        e = embed(student, faces)
        loss = (1.0 - (e * targets.get(r, f)).sum(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 10 == 0:
            print("step %d loss %.4f (%.2f s/step)" % (step, float(loss), (time.time() - t0) / 10), flush=True)
            t0 = time.time()
        if step % args.val_every == 0 or step == args.steps:
            v = validate(student, frozen, data, recon, val)
            print("train_embed: step %d val_top1_deployed %.4f" % (step, v), flush=True)
            log.write(json.dumps({"step": step, "loss": float(loss), "val_top1_deployed": v}) + "\n")
            log.flush()
            if v > best["top1"]:
                best = {"top1": v, "step": step}
                g = to_graph(student, ids)
                g.meta["name"] = "mobilefacenet-%s" % os.path.basename(args.vq)
                g.meta["training_step"] = str(step)
                ffn.save(g, os.path.join(args.run, "best.ffn.tmp"))
                os.replace(os.path.join(args.run, "best.ffn.tmp"), os.path.join(args.run, "best.ffn"))
                ffn.save_patch(base, g, os.path.join(args.run, "best.ffp.tmp"))
                os.replace(os.path.join(args.run, "best.ffp.tmp"), os.path.join(args.run, "best.ffp"))
        if step % args.ckpt_every == 0 or step == args.steps:
            targets.save()
            torch.save({"student": student.state_dict(), "opt": opt.state_dict(), "step": step,
                        "best": best, "gen": gen.get_state()}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    print("train_embed: done; best %s" % best, flush=True)


if __name__ == "__main__":
    main()
