#!/usr/bin/python3
"""Train the facefleet VQ-VAE with knowledge distillation.

Stage 1 (reconstruction): L1 in MobileFaceNet's input space. FSQ needs no
codebook or commitment loss (see vqvae.py).
Stage 2 (distillation): the reconstruction must keep identity, so on top of
a smaller L1 term:
  - frozen MobileFaceNet (the backend's own embedder): 1 - cos between the
    embeddings of reconstruction and original, plus feature matching on its
    intermediate activations (one per resolution), which gives a far denser
    signal than the final 192-d vector alone;
  - the larger teacher (dlib ResNet-29 from @vladmandic/face-api, if fetched):
    1 - cos between teacher(reconstruction) and the cached teacher embedding
    of the original (cached once for the centre crop and its mirror).

Data: LFW DevTrain people only (prepare_data.py), with flips, small shifts,
scale and photometric jitter. Validation: DevTest pairs (View 1).
Deterministic seed, checkpoint every --ckpt-every steps and at the end;
rerunning the same command resumes. Uses CUDA when present.

usage: train.py [--run DIR] [--steps1 N] [--steps2 N] [--batch B] ...
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
import lfw_eval  # noqa: E402
import vqvae  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402

MODELS_CACHE = os.environ.get("FF_MODELS_DIR", os.path.join(HERE, "..", "cache"))


def progress(step, total, t0, start_step, extra):
    done = step - start_step
    rate = done / max(time.time() - t0, 1e-9)
    eta = (total - step) / rate if rate > 0 else 0
    bar = "#" * int(30 * step / total)
    sys.stderr.write("\r[%-30s] %d/%d %.2f it/s ETA %dm%02ds %s   " %
                     (bar, step, total, rate, eta // 60, eta % 60, extra))
    sys.stderr.flush()


class Data:
    """Crops in memory (uint8 NHWC 128x128); batches of jittered 112x112 in [-1, 1]."""

    def __init__(self, split, device, gen):
        d = os.path.join(HERE, "data")
        self.crops = torch.from_numpy(np.load(os.path.join(d, "%s_crops.npy" % split)))
        self.labels = np.load(os.path.join(d, "%s_labels.npy" % split))
        self.files = open(os.path.join(d, "%s_files.txt" % split)).read().split()
        self.device = device
        self.gen = gen

    def center(self, rows):
        x = self.crops[rows][:, 8:120, 8:120].to(self.device).permute(0, 3, 1, 2).float()
        return ((x - 127.5) / 128.0).contiguous(memory_format=torch.channels_last)

    def batch(self, size):
        rows = torch.randint(len(self.crops), (size,), generator=self.gen)
        x = self.crops[rows].to(self.device).permute(0, 3, 1, 2).float()
        x = (x - 127.5) / 128.0
        n = x.shape[0]
        flip = torch.rand(n, generator=self.gen) < 0.5
        scale = 1.0 + (torch.rand(n, generator=self.gen) - 0.5) * 0.12       # +-6%
        shift = (torch.rand(n, 2, generator=self.gen) - 0.5) * (8.0 / 64.0)   # +-4 px
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = scale * (112.0 / 128.0) * torch.where(flip, -1.0, 1.0)
        theta[:, 1, 1] = scale * (112.0 / 128.0)
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta.to(self.device), (n, 3, 112, 112), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        gain = 1.0 + (torch.rand(n, 1, 1, 1, generator=self.gen) - 0.5) * 0.2
        bias = (torch.rand(n, 1, 1, 1, generator=self.gen) - 0.5) * 0.1
        x = torch.clamp(x * gain.to(self.device) + bias.to(self.device), -1.0, 1.0)
        return x.contiguous(memory_format=torch.channels_last), rows, flip


class Embedder:
    """Frozen MobileFaceNet (from the same .ffn file the C backend runs) with feature taps."""

    def __init__(self, device):
        self.m = FfnModule(os.path.join(MODELS_CACHE, "ffn", "mobilefacenet.ffn")).to(device).eval()
        for p in self.m.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            _, acts = self.m(torch.zeros(1, 112, 112, 3, device=device), taps="all")
        last = {}
        for tid, a in acts.items():  # last activation at each spatial size
            if a.dim() == 4:
                last[a.shape[2]] = tid
        self.taps = [last[s] for s in sorted(last, reverse=True) if s in (56, 28, 14, 7)]

    def __call__(self, x_nchw, taps=True):
        x = x_nchw.permute(0, 2, 3, 1)
        if not taps:
            return F.normalize(self.m(x)[0], dim=1)
        (e,), acts = self.m(x, taps=self.taps)
        return F.normalize(e, dim=1), [acts[t] for t in self.taps]


class Teacher:
    """dlib ResNet-29 teacher (dlib_resnet.py) on its dlib-chip-like box, resampled
    from the 112x112 training box (the aligned crop stands in for the fixed box the
    teacher's box was measured against: both frame the same face, shared/data
    README). Embeddings of the originals (centre crop) are cached: computed once
    per image the first time a batch needs them (a full upfront pass costs ~20 min
    on 2 cores), reused for every later step and for the mirrored sample (the
    descriptor is close to mirror-invariant)."""

    def __init__(self, device, data):
        from dlib_resnet import load_teacher  # noqa: E402
        self.net = load_teacher(os.path.join(MODELS_CACHE, "faceapi")).to(device)
        self.net = self.net.to(memory_format=torch.channels_last).eval()
        self.data = data
        self.emb = torch.zeros(len(data.crops), 128, device=device)
        self.have = torch.zeros(len(data.crops), dtype=torch.bool)

    def __call__(self, x):
        """x: 112x112 crops in [-1, 1] covering the training box -> unit descriptors."""
        from dlib_resnet import resample_box  # noqa: E402
        return F.normalize(self.net(resample_box(x * 128.0 + 127.5)), dim=1)

    def target(self, rows, flip):
        missing = rows[~self.have[rows]].unique()
        if len(missing):
            with torch.no_grad():
                self.emb[missing.to(self.emb.device)] = self(self.data.center(missing))
            self.have[missing] = True
        return self.emb[rows.to(self.emb.device)]


def validate(model, embedder, val, max_pairs=1000):
    """DevTest pairs: accuracy of original-vs-original and recon-vs-recon MobileFaceNet."""
    pairs = lfw_eval.read_pairs(os.path.join(args.lfw, "pairsDevTest.txt"))[:max_pairs]
    index = {f: i for i, f in enumerate(val.files)}
    rows = sorted({index[lfw_eval.rel(a, b)] for a, b, _, _, _ in pairs} |
                  {index[lfw_eval.rel(c, d)] for _, _, c, d, _ in pairs})
    pos = {r: k for k, r in enumerate(rows)}
    eo, er, cos = [], [], []
    model.eval()
    with torch.no_grad():
        for k in range(0, len(rows), 64):
            x = val.center(torch.tensor(rows[k:k + 64]))
            y, _ = model(x)
            a, b = embedder(x, taps=False), embedder(y, taps=False)
            eo.append(a)
            er.append(b)
            cos.append((a * b).sum(1))
    model.train()
    eo, er = torch.cat(eo).cpu().numpy(), torch.cat(er).cpu().numpy()
    same = [p[4] for p in pairs]

    def acc(e):
        s = [float(e[pos[index[lfw_eval.rel(a, b)]]] @ e[pos[index[lfw_eval.rel(c, d)]]])
             for a, b, c, d, _ in pairs]
        return lfw_eval.verification(s, same)[0]
    return {"val_acc_original": acc(eo), "val_acc_vq": acc(er),
            "val_cos_recon_orig": float(torch.cat(cos).mean())}


def loss_terms(model, batch, stage, embedder, teacher, w):
    x, rows, flip = batch
    y, idx = model(x)
    terms = {"l1": F.l1_loss(y, x)}
    if stage == 2:
        with torch.no_grad():
            e_x, f_x = embedder(x)
        e_y, f_y = embedder(y)
        terms["emb"] = (1 - (e_x * e_y).sum(1)).mean()
        terms["feat"] = sum(F.mse_loss(a, b) / (b.pow(2).mean() + 1e-6) for a, b in zip(f_y, f_x)) / len(f_x)
        if teacher is not None:  # on the first tb samples only: the teacher is 10x MobileFaceNet
            tb = min(w["teacher_batch"], len(rows))
            terms["teacher"] = (1 - (teacher(y[:tb]) * teacher.target(rows[:tb], flip[:tb])).sum(1)).mean()
    weights = {"l1": w["l1"] if stage == 1 else w["l1_kd"], "emb": w["emb"], "feat": w["feat"],
               "teacher": w["teacher"]}
    total = sum(weights[k] * v for k, v in terms.items())
    return total, terms, idx


def main():
    global args
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "default"))
    ap.add_argument("--lfw", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "lfw"))
    ap.add_argument("--steps1", type=int, default=400, help="stage-1 steps")
    ap.add_argument("--steps2", type=int, default=3600, help="stage-2 (distillation) steps")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--preset", default="g14s", choices=sorted(vqvae.PRESETS), help="architecture (vqvae.PRESETS)")
    ap.add_argument("--lr", type=float, default=2e-3, help="stage-1 peak learning rate")
    ap.add_argument("--lr2", type=float, default=1.5e-3, help="stage-2 peak learning rate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores; torch's default "
                    "here was 1)")
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--val-every", type=int, default=400)
    ap.add_argument("--no-teacher", action="store_true", help="distil from MobileFaceNet only")
    ap.add_argument("--no-stage2", action="store_true", help="ablation: reconstruction only")
    ap.add_argument("--w-l1", type=float, default=1.0)
    ap.add_argument("--w-l1-kd", type=float, default=0.3)
    ap.add_argument("--w-emb", type=float, default=4.0)
    ap.add_argument("--w-feat", type=float, default=1.0)
    ap.add_argument("--w-teacher", type=float, default=1.0)
    ap.add_argument("--teacher-batch", type=int, default=16, help="samples per batch seen by the teacher")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.run, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    train, val = Data("devtrain", device, gen), Data("devtest", device, gen)
    # channels-last: about 2x faster depthwise convs on CPU (measured, PyTorch 1.13)
    model = vqvae.VQVAE(**vqvae.PRESETS[args.preset]).to(device).to(memory_format=torch.channels_last)
    steps2 = 0 if args.no_stage2 else args.steps2
    total = args.steps1 + steps2
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ckpt = os.path.join(args.run, "ckpt.pt")
    step, log = 0, []
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location=device)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"])
        torch.set_rng_state(st["rng"])
        step, log = st["step"], st["log"]
        print("resumed %s at step %d" % (ckpt, step), file=sys.stderr)
    embedder = Embedder(device)
    teacher = None
    if not args.no_teacher and steps2 and step < total:
        try:
            teacher = Teacher(device, train)
        except (ImportError, FileNotFoundError) as e:
            print("teacher unavailable (%s): distilling from MobileFaceNet only" % e, file=sys.stderr)
    w = {"l1": args.w_l1, "l1_kd": args.w_l1_kd, "emb": args.w_emb, "feat": args.w_feat,
         "teacher": args.w_teacher, "teacher_batch": args.teacher_batch}

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "rng": torch.get_rng_state(), "step": step, "log": log, "config": model.config,
                    "args": vars(args)}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    t0, start = time.time(), step
    model.train()
    while step < total:
        stage = 1 if step < args.steps1 else 2
        s0, n = (0, args.steps1) if stage == 1 else (args.steps1, steps2)
        base = args.lr if stage == 1 else args.lr2
        lr = base * (0.5 * (1 + math.cos(math.pi * (step - s0) / n)) if step - s0 > 50 else (step - s0 + 1) / 51)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, terms, idx = loss_terms(model, train.batch(args.batch), stage, embedder, teacher, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        used = torch.unique(idx).numel()
        progress(step, total, t0, start, "s%d loss %.4f %s codes %d" % (
            stage, loss.item(), " ".join("%s %.4f" % (k, v.item()) for k, v in terms.items()), used))
        if step % args.ckpt_every == 0 or step == total or step == args.steps1:
            save()
        if step % args.val_every == 0 or step == total:
            v = validate(model, embedder, val)
            v["step"] = step
            log.append(v)
            sys.stderr.write("\n" + json.dumps(v) + "\n")
            save()
        if step == args.steps1:  # the distillation ablation: the network after stage 1 only
            shutil.copyfile(ckpt, os.path.join(args.run, "stage1.pt"))
    with open(os.path.join(args.run, "summary.json"), "w") as f:
        json.dump({"log": log, "config": model.config, "args": vars(args)}, f, indent=1)
    print(json.dumps(log[-1] if log else {}))


if __name__ == "__main__":
    main()
