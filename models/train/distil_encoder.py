#!/usr/bin/python3
"""Distil a smaller device encoder from an exported one, so that it sends the same codes.

The device's cost per face is its encoder (issue 19: <= 0.5 ms a face here); on this x86
core `vq6`'s 23.4 M multiply-adds run at the core's FMA peak (`perf`: 65 % of the time in
XNNPACK's 7x16 float GEMM, one load and seven FMAs per step), so only fewer multiply-adds
make it faster. A student with fewer channels learns to reproduce the teacher's bounded
latents (MSE in lattice units, before rounding): when it rounds to the same codewords, the
teacher's decoder, entropy tables and threshold stay valid, and nothing on the backend has
to be retrained. Codes a student gets wrong are mostly one lattice step off, the same kind
of move the device's rate control makes.

Data and held-out people as train.py (LFW DevTrain crops, jitter, --degrade share of
camera-degraded inputs; the held-out slice of DevTrain people for validation, DevTest never
looked at). Validation: share of held-out codes equal to the teacher's (clean and degraded
probes), and train.py's identification figures through the teacher's decoder. best.pt keeps
the highest clean agreement. Checkpoint every --ckpt-every steps; rerunning resumes. The
checkpoint is train.py's format, so export.py exports it (encoder and the --decoder model's
decoder).

usage: distil_encoder.py --run DIR [--teacher models/vq/vq6] [--widths 16,32,64,128] ...
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import import_ffn  # noqa: E402
import train  # noqa: E402
import vqvae  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--teacher", default=os.path.join(HERE, "..", "vq", "vq6"), help="exported model prefix")
    ap.add_argument("--decoder", help="exported model whose decoder the checkpoint carries [the teacher]")
    ap.add_argument("--widths", default="16,32,64,128", help="the student encoder's widths")
    ap.add_argument("--last-blocks", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--degrade", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--heldout", type=float, default=0.1)
    return ap.parse_args()


def build(args, device):
    """(student model: new encoder + the decoder model's decoder, teacher model)."""
    teacher, _ = import_ffn.import_model(args.teacher)
    dec_model = import_ffn.import_model(args.decoder)[0] if args.decoder else teacher
    cfg = dict(dec_model.config, enc_widths=[int(w) for w in args.widths.split(",")],
               enc_last_blocks=args.last_blocks)
    fine = cfg.pop("fine", teacher.fsq.fine)
    student = vqvae.VQVAE(**cfg, fine=fine)
    student.decoder.load_state_dict(dec_model.decoder.state_dict())
    for p in list(teacher.parameters()) + list(student.decoder.parameters()):
        p.requires_grad_(False)
    cl = torch.channels_last
    return student.to(device).to(memory_format=cl), teacher.to(device).to(memory_format=cl).eval()


@torch.no_grad()
def agreement(student, teacher, x, chunk=128):
    """(share of codes equal, mean |latent difference| in lattice units) over x."""
    same, diff, n, fsq = 0.0, 0.0, 0, teacher.fsq
    for k in range(0, len(x), chunk):
        xb = x[k:k + chunk]
        bs, bt = student.fsq.bound(student.encoder(xb)), fsq.bound(teacher.encoder(xb))
        same += float((fsq.indices(fsq.snap(bs)) == fsq.indices(fsq.snap(bt))).float().sum())
        diff += float((bs - bt).abs().mean(1).sum())
        n += len(xb)
    cells = n * teacher.grid * teacher.grid * teacher.fsq.groups
    return same / cells, diff / (n * teacher.grid * teacher.grid)


def main():
    args = parse_args()
    device, gen, rng, data, val = train.start_run(args)
    val_x = data.center(torch.from_numpy(val.probes))
    val_deg = val.degraded.to(device).contiguous(memory_format=torch.channels_last)
    student, teacher = build(args, device)
    opt = torch.optim.AdamW([p for p in student.encoder.parameters()], lr=args.lr, weight_decay=1e-4)
    ckpt, step, log, best = os.path.join(args.run, "ckpt.pt"), 0, [], None
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location=device)
        student.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        train.set_random_state(st, gen, rng)
        step, log, best = st["step"], st["log"], st["best"]
        print("resumed %s at step %d" % (ckpt, step), file=sys.stderr)
    embedder = train.Embedder(device)

    def save():
        torch.save({"model": student.state_dict(), "opt": opt.state_dict(), **train.random_state(gen, rng),
                    "step": step, "log": log, "best": best, "config": student.config, "args": vars(args)},
                   ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    def validate():
        nonlocal best
        student.eval()
        a, d = agreement(student, teacher, val_x)
        a_deg, _ = agreement(student, teacher, val_deg)
        v = dict(val(student, embedder), val_codes_equal=a, val_codes_equal_degraded=a_deg,
                 val_latent_l1=d, step=step)
        train.set_train(student, None, student.decoder)
        log.append(v)
        sys.stderr.write("\n" + json.dumps(v) + "\n")
        if step > 0 and (best is None or a > best["val_codes_equal"]):
            best = v
            save()
            shutil.copyfile(ckpt, os.path.join(args.run, "best.pt"))
        else:
            save()

    if step == 0:
        validate()
    train.set_train(student, None, student.decoder)  # the decoder is the teacher's, fixed
    t0, start = time.time(), step
    while step < args.steps:
        lr = args.lr * (0.5 * (1 + math.cos(math.pi * step / args.steps)) if step > 100 else (step + 1) / 101)
        for g in opt.param_groups:
            g["lr"] = lr
        x, _, _ = data.batch(args.batch)
        x = train.degrade_batch(x, rng, args.degrade)
        with torch.no_grad():
            bt = teacher.fsq.bound(teacher.encoder(x))
        bs = student.fsq.bound(student.encoder(x))
        loss = F.mse_loss(bs, bt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        train.progress(step, args.steps, t0, start, "loss %.5f" % loss.item())
        if step % args.val_every == 0 or step == args.steps:
            validate()
        elif step % args.ckpt_every == 0:
            save()
    with open(os.path.join(args.run, "summary.json"), "w") as f:
        json.dump({"log": log, "best": best, "config": student.config, "args": vars(args)}, f, indent=1)
    print(json.dumps(best))


if __name__ == "__main__":
    main()
