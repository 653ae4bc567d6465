#!/usr/bin/python3
"""Train the facefleet VQ-VAE with knowledge distillation.

RUNBOOK (vq3, the fine-tune of vq2; models/train/run-all vq3 runs it all):

  nice -n 10 models/train/run-all vq3 --init models/vq/vq2 --steps1 0 --steps2 2400 \\
      --lr2 3e-4 --w-feat 0 --w-head 1 --w-proto 0.2 --degrade 0.4 --teacher-batch 8 \\
      --val-every 150 --threads 1

  (train.py alone takes the same flags after --run models/train/runs/vq3.)
  Resume: rerun the same command. It continues from runs/vq3/ckpt.pt (written
  every --ckpt-every steps: model, head, optimiser, all random states, log, best
  score); the schedule depends only on --steps1/--steps2, so keep them. The
  on-disk embedding caches (data/*_emb.npz) are reused. On a GPU the same
  command uses CUDA (drop --threads); it needs models/train/data (or run
  prepare_data.py there), models/cache and runs/vq3. Stopping early is fine:
  best.pt is the best held-out checkpoint so far, and rerunning run-all with
  --steps2 set to the step reached finishes at once and exports best.pt.

Stage 1 (reconstruction): L1 in MobileFaceNet's input space. FSQ needs no
codebook or commitment loss (see vqvae.py). Skipped with --steps1 0.
Stage 2 (distillation): the reconstruction must keep identity, so on top of
a smaller L1 term:
  - frozen MobileFaceNet (the backend's own embedder): 1 - cos between the
    embeddings of the reconstruction and of the clean original; optionally
    (--w-feat) feature matching on its intermediate activations, which needs a
    live MobileFaceNet pass on the original every step;
  - the larger teacher (dlib ResNet-29 from @vladmandic/face-api, if fetched):
    1 - cos between teacher(reconstruction) and the teacher embedding of the
    original, on --teacher-batch samples;
  - --w-proto: classification of the reconstruction's embedding against the
    training people's prototypes (mean MobileFaceNet embedding of their
    originals), CosFace margin. The backend's question is "which enrolled
    person is this", not "how close to this one photo": this pushes the
    reconstruction away from the people it could be confused with;
  - --w-head: an identity head (IdHead, training only, never exported)
    predicts the original's MobileFaceNet embedding from the quantised code
    grid alone, a direct signal that the codes themselves carry identity.
Targets of originals (MobileFaceNet and teacher, centre crop and its mirror)
are cached on disk (EmbCache), so a step runs only the networks that need
gradients. With --degrade P the encoder sees, for a share P of the batch, a
camera-degraded input (degrade.py: blur, noise, JPEG, low resolution,
gamma, colour cast, occlusion); every target stays that of the clean original.

--init PREFIX starts from an exported model (import_ffn.py); its batch norms
are folded, so their statistics stay frozen while training (freeze_bn).
--dec-widths W,W,W (with --init) replaces the imported decoder by a new, smaller
one (--dec-low-blocks) for the same codes: with --freeze-encoder the devices'
codes do not move, and --w-dec-kd distils the new decoder from the imported one
(L1 to its reconstruction of the same codes) beside the identity terms. The
backend's cost per face is mostly the decoder and MobileFaceNet (issue 19).
--enc-widths W,W,W,W (with --init and --warm) is the other side: a smaller device
encoder (distil_encoder.py's, which learned to reproduce the imported one's codes)
finished end to end through the imported decoder, kept as it is (--freeze-decoder).
--recon-embedder FFP trains, jointly with the decoder, a reconstruction-side
MobileFaceNet (a weight patch, train_embed.py's): it embeds every reconstruction in the
identity terms and the validation's probes, while the originals' targets and the gallery
stay the frozen network's, as the backend does; best.emb.ffp is its best step.
--w-emb-kd adds 1 - cos to MobileFaceNet of the imported decoder's reconstruction of
the same codes; --select top1+tar picks best.pt on the mean of held-out Top-1 and
verification TAR at FAR 1e-2 (which sees whether different people stay apart).

Data: LFW DevTrain people only (prepare_data.py), with flips, small shifts,
scale and photometric jitter. Validation and model selection: a seeded slice
of DevTrain people with 2+ images (--heldout, people-disjoint from the training
batches and caches; DevTest is never looked at): identification Top-1 of the
held-out people as deployed (gallery = MobileFaceNet of each person's first
original, probes = reconstructions of the others), also with degraded probes,
and the mean cosine reconstruction vs original. best.pt keeps the best Top-1
(ties: cosine) of this run's steps. With --init the step-0 figures are the
imported model's, for reference only: when it trained on all of DevTrain (vq2)
the held-out people are not new to it, so they favour it. Deterministic seed, checkpoint every --ckpt-every steps and at
the end; rerunning the same command resumes. Uses CUDA when present.

usage: train.py [--run DIR] [--steps1 N] [--steps2 N] [--batch B] ...
"""
import argparse
import json
import math
import os
import shutil
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
import degrade  # noqa: E402
import vqvae  # noqa: E402
from ffn_torch import FfnModule  # noqa: E402

MODELS_CACHE = os.environ.get("FF_MODELS_DIR", os.path.join(HERE, "..", "cache"))
DATA = os.path.join(HERE, "data")


def progress(step, total, t0, start_step, extra):
    done = step - start_step
    rate = done / max(time.time() - t0, 1e-9)
    eta = (total - step) / rate if rate > 0 else 0
    bar = "#" * int(30 * step / total)
    sys.stderr.write("\r[%-30s] %d/%d %.2f it/s ETA %dm%02ds %s   " %
                     (bar, step, total, rate, eta // 60, eta % 60, extra))
    sys.stderr.flush()


def heldout_people(labels, frac, seed):
    """Seeded share `frac` of the people with 2+ images (the ones identification can score)."""
    ids, counts = np.unique(labels, return_counts=True)
    multi = ids[counts >= 2]
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(multi, int(round(frac * len(multi))), replace=False))


class Data:
    """Crops in memory (uint8 NHWC 128x128); batches of jittered 112x112 in [-1, 1],
    drawn from `rows` only (the training people)."""

    def __init__(self, split, device, gen, rows=None):
        self.crops = torch.from_numpy(np.load(os.path.join(DATA, "%s_crops.npy" % split)))
        self.labels = np.load(os.path.join(DATA, "%s_labels.npy" % split))
        self.files = open(os.path.join(DATA, "%s_files.txt" % split)).read().split()
        self.rows = torch.arange(len(self.crops)) if rows is None else torch.as_tensor(rows)
        self.device = device
        self.gen = gen

    def center(self, rows, flip=None):
        x = self.crops[rows][:, 8:120, 8:120].to(self.device).permute(0, 3, 1, 2).float()
        x = (x - 127.5) / 128.0
        if flip is not None:
            x = torch.where(flip.to(self.device).view(-1, 1, 1, 1), torch.flip(x, [3]), x)
        return x.contiguous(memory_format=torch.channels_last)

    def batch(self, size):
        rows = self.rows[torch.randint(len(self.rows), (size,), generator=self.gen)]
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


def degrade_batch(x, rng, share, probs=degrade.TRAIN, mask_out=None):
    """The encoder's input: a share of the batch through degrade.py (uint8 round trip).
    mask_out (a list) receives which rows were degraded."""
    if share <= 0:
        return x
    out = x.clone()
    chosen = rng.random(len(x)) < share
    if mask_out is not None:
        mask_out.append(torch.from_numpy(chosen))
    for i in np.flatnonzero(chosen):
        img = (x[i].permute(1, 2, 0) * 128.0 + 127.5).clamp(0, 255).round().byte().cpu().numpy()
        img = degrade.degrade(img, rng, probs)
        out[i] = (torch.from_numpy(img).to(x.device).permute(2, 0, 1).float() - 127.5) / 128.0
    return out.contiguous(memory_format=torch.channels_last)


class EmbCache:
    """Embeddings of the originals' centre crops and mirrors, [N, 2, D], filled lazily
    (only rows a batch asks for: the training people's) and kept on disk, so no step
    runs a frozen network on an original twice, across restarts too."""

    def __init__(self, name, net, data, dim):
        self.path = os.path.join(DATA, "%s_emb.npz" % name)
        self.net, self.data = net, data
        self.emb = torch.zeros(len(data.crops), 2, dim)
        self.have = torch.zeros(len(data.crops), 2, dtype=torch.bool)
        if os.path.exists(self.path):
            z = np.load(self.path)
            if z["emb"].shape == tuple(self.emb.shape):
                self.emb, self.have = torch.from_numpy(z["emb"]), torch.from_numpy(z["have"])

    def get(self, rows, flip, chunk=64):
        flip = flip.long()
        miss = ~self.have[rows, flip]
        keys = torch.unique(rows[miss] * 2 + flip[miss])
        with torch.no_grad():
            for k in range(0, len(keys), chunk):
                r, f = keys[k:k + chunk] // 2, keys[k:k + chunk] % 2
                self.emb[r, f] = self.net(self.data.center(r, f.bool())).float().cpu()
                self.have[r, f] = True
        return self.emb[rows, flip].to(self.data.device)

    def save(self):
        np.savez(self.path + ".tmp.npz", emb=self.emb.numpy(), have=self.have.numpy())
        os.replace(self.path + ".tmp.npz", self.path)


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

    def __call__(self, x_nchw, taps=False):
        x = x_nchw.permute(0, 2, 3, 1)
        if not taps:
            return F.normalize(self.m(x)[0], dim=1)
        (e,), acts = self.m(x, taps=self.taps)
        return F.normalize(e, dim=1), [acts[t] for t in self.taps]


class ReconEmbedder(nn.Module):
    """A reconstruction-side MobileFaceNet that trains (--recon-embedder): train_embed.py's
    student from a weight patch, called like Embedder on NCHW faces in [-1, 1]."""

    def __init__(self, patch, which, device):
        super().__init__()
        import train_embed  # noqa: E402 (it imports this module)
        self.base = os.path.join(MODELS_CACHE, "ffn", "mobilefacenet.ffn")
        self.net, self.ids = train_embed.make_student(self.base, which, patch)
        self.net.to(device)

    def forward(self, x_nchw):
        return F.normalize(self.net(x_nchw.permute(0, 2, 3, 1))[0], dim=1)

    def save_patch(self, path):
        import ffn  # noqa: E402
        import train_embed  # noqa: E402
        ffn.save_patch(self.base, train_embed.to_graph(self.net, self.ids), path + ".tmp")
        os.replace(path + ".tmp", path)


class Teacher:
    """dlib ResNet-29 teacher (dlib_resnet.py) on its dlib-chip-like box, resampled
    from the 112x112 training box (the aligned crop stands in for the fixed box the
    teacher's box was measured against: both frame the same face, shared/data
    README). A full pass over the originals costs ~20 min on 2 cores, so their
    embeddings are cached lazily (EmbCache)."""

    def __init__(self, device):
        from dlib_resnet import load_teacher  # noqa: E402
        self.net = load_teacher(os.path.join(MODELS_CACHE, "faceapi")).to(device)
        self.net = self.net.to(memory_format=torch.channels_last).eval()

    def __call__(self, x):
        """x: 112x112 crops in [-1, 1] covering the training box -> unit descriptors."""
        from dlib_resnet import resample_box  # noqa: E402
        return F.normalize(self.net(resample_box(x * 128.0 + 127.5)), dim=1)


class IdHead(nn.Module):
    """Training only: the original's MobileFaceNet embedding from the quantised code grid.
    Small on purpose (so the codes, not the head, must carry identity); a global
    depthwise conv keeps where on the face a code sits, as MobileFaceNet's GDC does."""

    def __init__(self, cin, grid, width=128, dim=192):
        super().__init__()
        self.body = nn.Sequential(vqvae.ConvBN(cin, width, 3), vqvae.DSBlock(width, width),
                                  vqvae.DSBlock(width, 2 * width, 2), vqvae.DSBlock(2 * width, 2 * width))
        g = (grid + 1) // 2
        self.gdc = nn.Conv2d(2 * width, 2 * width, g, groups=2 * width, bias=False)
        self.fc = nn.Linear(2 * width, dim)

    def forward(self, q):
        return F.normalize(self.fc(self.gdc(self.body(q)).flatten(1)), dim=1)


class RateModel(nn.Module):
    """Training only: the bits a face's codes cost under a learned table per grid cell and
    lattice dim (factorised; the shipped coder's context tables do better). `soft` is the
    expected cost of a soft assignment of the bounded latent to the lattice values
    (soft-to-hard quantisation), so the rate's gradient reaches the encoder; `hard` is the
    cost of the codes actually sent."""

    def __init__(self, fsq, grid, tau=0.02):
        super().__init__()
        self.fsq, self.tau = fsq, tau
        n = int(fsq.lv_fine.max())
        self.logits = nn.Parameter(torch.zeros(grid * grid, fsq.groups * fsq.dim, n))
        values = torch.arange(n).float()[None, :] / fsq.fine + fsq.low[:, None]      # D, n
        self.register_buffer("values", values.repeat(fsq.groups, 1))
        valid = torch.arange(n)[None, :] < fsq.lv_fine.long()[:, None]
        self.register_buffer("valid", valid.repeat(fsq.groups, 1))

    @torch.no_grad()
    def fit(self, model, data, rows, chunk=64):
        """Start the tables at the codes' own frequencies (add-one), so the rate's weight
        does not chase an untrained table."""
        counts = torch.ones_like(self.logits)
        for k in range(0, len(rows), chunk):
            b = model.fsq.bound(model.encoder(data.center(rows[k:k + chunk])))
            n, c = b.shape[:2]
            b = b.reshape(n, c, -1).transpose(1, 2).unsqueeze(-1)
            hard = ((b - self.values) ** 2).masked_fill(~self.valid, 1e4).argmin(-1)   # N, cells, C
            hard = hard.permute(1, 2, 0)                                                # cells, C, N
            counts.scatter_add_(2, hard, torch.ones(hard.shape))
        self.logits.copy_(torch.log(counts))

    def cost(self):
        """-log2 p of every value, [cells, dims, n]."""
        logits = self.logits.masked_fill(~self.valid, -1e4)
        return -F.log_softmax(logits, -1) / math.log(2)

    def forward(self, b):
        """b: bounded latent [N, C, H, W] -> (soft bits, hard bits), each [N]."""
        n, c = b.shape[:2]
        b = b.reshape(n, c, -1).transpose(1, 2).unsqueeze(-1)               # N, cells, C, 1
        d2 = (b - self.values) ** 2
        w = F.softmax((-d2 / self.tau).masked_fill(~self.valid, -1e4), -1)
        cost = self.cost()
        soft = (w * cost).sum((1, 2, 3))
        hard_idx = d2.masked_fill(~self.valid, 1e4).argmin(-1, keepdim=True)
        hard = torch.gather(cost.expand(n, -1, -1, -1), 3, hard_idx).sum((1, 2, 3))
        return soft, hard


def coarsen(model, b, share, rng):
    """Snap a random share of cells of a random share of the batch onto the integer levels,
    so the decoder also sees codes other than the nearest: the device's rate control moves
    the indices of a face whose codes would pass the byte budget to cheaper nearby codewords
    (lib/codec/vq_budget.c), integer ones among them."""
    if share <= 0 or model.fsq.fine == 1:
        return None
    n, _, h, w = b.shape
    faces = torch.from_numpy(rng.random(n) < share).to(b.device).view(n, 1, 1, 1)
    cells = torch.from_numpy(rng.random((n, 1, h, w)) < rng.uniform(0.1, 0.6)).to(b.device)
    return faces & cells


def freeze_bn(model):
    """Batch norms in eval mode: statistics and folded imports stay exact (import_ffn.py)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def prototypes(cache, data):
    """Unit mean MobileFaceNet embedding (centre + mirror) of each training person's originals."""
    rows = data.rows
    e = torch.cat([cache.get(rows, torch.zeros(len(rows), dtype=torch.bool)),
                   cache.get(rows, torch.ones(len(rows), dtype=torch.bool))]).cpu()
    lab = torch.from_numpy(data.labels[rows.numpy()]).long().repeat(2)
    people, cls = torch.unique(lab, return_inverse=True)
    proto = torch.zeros(len(people), e.shape[1]).index_add_(0, cls, e)
    label_to_class = torch.full((int(data.labels.max()) + 1,), -1, dtype=torch.long)
    label_to_class[people] = torch.arange(len(people))
    return F.normalize(proto, dim=1).to(data.device), label_to_class


def tar_at_far(scores, person, gal_person, far):
    """Verification as the access decision: every probe against every gallery person; the
    threshold lets through `far` of the impostor comparisons, TAR is the genuine share above it.
    Unlike Top-1 it sees whether different people's reconstructions stay apart."""
    same = person.view(-1, 1) == gal_person.view(1, -1)
    thr = torch.quantile(scores[~same].float(), 1 - far)
    return float((scores[same] > thr).float().mean())


class Validation:
    """Held-out DevTrain people: gallery = first image's original, probes = up to
    `max_probes` further images through the codec (clean, and degraded with
    degrade.TEST seeded per image)."""

    def __init__(self, data, people, max_probes=8, seed=1):
        rows_by_person = {int(p): np.flatnonzero(data.labels == p) for p in people}
        self.gallery = np.array([r[0] for r in rows_by_person.values()])
        self.probes = np.concatenate([r[1:1 + max_probes] for r in rows_by_person.values()])
        self.data = data
        self.seed = seed
        rows = torch.from_numpy(self.probes)
        self.degraded = torch.stack([degrade_batch(data.center(rows[k:k + 1]), np.random.default_rng(
            [seed, zlib.crc32(data.files[int(rows[k])].encode())]), 1.0, degrade.TEST)[0]
            for k in range(len(rows))]).cpu()

    def __len__(self):
        return len(self.gallery) + len(self.probes)

    @torch.no_grad()
    def __call__(self, model, embedder, rate=None, chunk=64, recon_embedder=None):
        """recon_embedder: embeds the reconstructions (default: embedder, as the gallery)."""
        data = self.data
        rec_emb = recon_embedder or embedder
        g = torch.cat([embedder(data.center(torch.from_numpy(self.gallery[k:k + chunk])))
                       for k in range(0, len(self.gallery), chunk)])
        g_rec = torch.cat([rec_emb(model(data.center(torch.from_numpy(self.gallery[k:k + chunk])))[0])
                           for k in range(0, len(self.gallery), chunk)])
        orig, rec, deg, bits = [], [], [], []
        for k in range(0, len(self.probes), chunk):
            x = data.center(torch.from_numpy(self.probes[k:k + chunk]))
            if rate is not None:
                bits.append(rate(model.fsq.bound(model.encoder(x)))[1])
            orig.append(embedder(x))
            rec.append(rec_emb(model(x)[0]))
            deg.append(rec_emb(model(self.degraded[k:k + chunk].to(data.device).contiguous(
                memory_format=torch.channels_last))[0]))
        orig, rec, deg = torch.cat(orig), torch.cat(rec), torch.cat(deg)
        person = torch.from_numpy(data.labels[self.probes]).to(g.device)
        gal_person = torch.from_numpy(data.labels[self.gallery]).to(g.device)

        def top1(probe, gal):
            return float((gal_person[(probe @ gal.T).argmax(1)] == person).float().mean())
        cos_g = (g * g_rec).sum(1)
        extra = {"val_tar_deployed_1e2": tar_at_far(rec @ g.T, person, gal_person, 1e-2)}
        if bits:
            bits = torch.cat(bits)
            extra.update({"val_bits_mean": float(bits.mean()), "val_bits_p99": float(bits.quantile(0.99))})
        return {**extra, "val_top1_original": top1(orig, g), "val_top1_deployed": top1(rec, g),
                "val_top1_both": top1(rec, g_rec), "val_top1_degraded_deployed": top1(deg, g),
                "val_cos_recon_orig": float(torch.cat([(orig * rec).sum(1), cos_g]).mean()),
                "val_people": len(self.gallery), "val_probes": len(self.probes)}


class Losses:
    """The frozen networks and cached targets a step's losses need."""

    def __init__(self, args, train, device):
        self.w = args
        self.rate, self.lam, self.hard_bits, self.old_dec = None, 0.0, 0.0, None
        self.embedder = Embedder(device)
        self.recon = None  # ReconEmbedder: embeds the reconstructions instead of self.embedder
        self.mfn = EmbCache("mobilefacenet", self.embedder, train, 192)
        self.labels = torch.from_numpy(train.labels).long()
        self.teacher = self.teacher_cache = None
        if not (args.no_teacher or args.no_stage2) and args.w_teacher > 0:
            try:
                self.teacher = Teacher(device)
                self.teacher_cache = EmbCache("dlib", self.teacher, train, 128)
            except (ImportError, FileNotFoundError) as e:
                print("teacher unavailable (%s): distilling from MobileFaceNet only" % e, file=sys.stderr)
        self.proto = None
        if args.w_proto > 0 and not args.no_stage2:
            t0 = time.time()
            self.proto, self.label_to_class = prototypes(self.mfn, train)
            self.mfn.save()
            print("prototypes: %d training people (%.0f s)" % (len(self.proto), time.time() - t0), file=sys.stderr)

    def save(self):
        self.mfn.save()
        if self.teacher_cache is not None:
            self.teacher_cache.save()

    def identity(self, y, codes, rows, flip, head, y_old=None):
        """Stage-2 terms: everything measured against the clean original's identity (and, with
        y_old, against the imported decoder's reconstruction of the same codes: what these codes
        can give, where the original also holds what they lost)."""
        w, terms = self.w, {}
        e_o = self.mfn.get(rows, flip)
        rec_emb = self.recon or self.embedder
        if w.w_feat > 0:  # needs the original's activations at this batch's jitter: a live pass
            with torch.no_grad():
                _, f_x = self.embedder(self.batch_x, taps=True)
            e_y, f_y = self.embedder(y, taps=True)
            terms["feat"] = sum(F.mse_loss(a, b) / (b.pow(2).mean() + 1e-6) for a, b in zip(f_y, f_x)) / len(f_x)
        else:
            e_y = rec_emb(y)
        terms["emb"] = (1 - (e_o * e_y).sum(1)).mean()
        if y_old is not None:
            with torch.no_grad():
                e_old = rec_emb(y_old)
            terms["emb_kd"] = (1 - (e_old * e_y).sum(1)).mean()
        if self.proto is not None:  # CosFace against the training people's prototypes
            cls = self.label_to_class[self.labels[rows]].to(y.device)
            logits = e_y @ self.proto.T
            logits = logits - w.proto_margin * F.one_hot(cls, logits.shape[1])
            terms["proto"] = F.cross_entropy(w.proto_scale * logits, cls)
        if head is not None:
            terms["head"] = (1 - (head(codes) * e_o).sum(1)).mean()
        if self.teacher is not None:  # the teacher is 10x MobileFaceNet: on the first samples only
            tb = min(w.teacher_batch, len(rows))
            terms["teacher"] = (1 - (self.teacher(y[:tb]) * self.teacher_cache.get(rows[:tb], flip[:tb])).sum(1)).mean()
        return terms

    def __call__(self, model, head, batch, stage, rng, step):
        x, rows, flip = batch
        self.batch_x = x
        fsq = model.fsq
        degraded = []
        with torch.set_grad_enabled(not self.w.freeze_encoder):
            b = fsq.bound(model.encoder(degrade_batch(x, rng, self.w.degrade, mask_out=degraded)))
        r = fsq.snap(b)
        mask = coarsen(model, b, self.w.coarse, rng)
        if mask is not None:
            r = torch.where(mask, fsq.snap(b, 1), r)
        q = b + (r - b).detach()
        idx = fsq.indices(r)
        y = model.decode(q)
        terms = {"l1": F.l1_loss(y, x)}
        y_old = None
        if self.old_dec is not None and (self.w.w_dec_kd > 0 or self.w.w_emb_kd > 0):
            with torch.no_grad():
                y_old = self.old_dec(q * model.dec_scale.view(1, -1, 1, 1))
            if self.w.w_dec_kd > 0:
                terms["dec_kd"] = F.l1_loss(y, y_old)
        if self.rate is not None:
            soft, hard = self.rate(b)
            terms["rate"] = soft.mean() / 1000.0          # kilobits per face
            # the constraint is on clean faces: a degraded one (blurred, small) costs less
            clean = ~degraded[0].to(hard.device) if degraded else torch.ones_like(hard, dtype=torch.bool)
            self.hard_bits = float(hard.detach()[clean].mean()) if clean.any() else self.hard_bits
        if stage == 2:
            # the head starts random: until it has learned something its gradient would only
            # add noise to the encoder, so it first trains on detached codes
            qh = q * model.dec_scale.view(1, -1, 1, 1)
            terms.update(self.identity(y, qh if step >= self.w.head_warmup else qh.detach(), rows, flip, head,
                                       y_old if self.w.w_emb_kd > 0 else None))
        w = self.w
        weights = {"l1": w.w_l1 if stage == 1 else w.w_l1_kd, "emb": w.w_emb, "feat": w.w_feat,
                   "teacher": w.w_teacher, "proto": w.w_proto, "head": w.w_head, "rate": self.lam,
                   "dec_kd": w.w_dec_kd, "emb_kd": w.w_emb_kd}
        return sum(weights[k] * v for k, v in terms.items()), terms, idx


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "default"))
    ap.add_argument("--lfw", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "lfw"),
                    help="unused (data/ holds the prepared crops); kept for run-all")
    ap.add_argument("--init", help="start from an exported model, models/vq/ID (import_ffn.py); "
                    "freezes batch-norm statistics")
    ap.add_argument("--init-decoder", help="take only the decoder of an exported model (same decoder "
                    "as --preset), its batch-norm statistics frozen; the encoder starts fresh")
    ap.add_argument("--steps1", type=int, default=400, help="stage-1 steps")
    ap.add_argument("--steps2", type=int, default=3600, help="stage-2 (distillation) steps")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--preset", default="g14s", choices=sorted(vqvae.PRESETS), help="architecture (vqvae.PRESETS)")
    ap.add_argument("--lr", type=float, default=2e-3, help="stage-1 peak learning rate")
    ap.add_argument("--lr2", type=float, default=1.5e-3, help="stage-2 peak learning rate")
    ap.add_argument("--head-lr-mult", type=float, default=3.0, help="identity head's learning rate / lr2")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--val-every", type=int, default=400)
    ap.add_argument("--heldout", type=float, default=0.1, help="share of DevTrain people with 2+ images "
                    "held out for validation")
    ap.add_argument("--no-teacher", action="store_true", help="distil from MobileFaceNet only")
    ap.add_argument("--no-stage2", action="store_true", help="ablation: reconstruction only")
    ap.add_argument("--w-l1", type=float, default=1.0)
    ap.add_argument("--w-l1-kd", type=float, default=0.3)
    ap.add_argument("--w-emb", type=float, default=4.0)
    ap.add_argument("--w-feat", type=float, default=1.0)
    ap.add_argument("--w-teacher", type=float, default=1.0)
    ap.add_argument("--teacher-batch", type=int, default=16, help="samples per batch seen by the teacher")
    ap.add_argument("--w-head", type=float, default=0.0, help="identity head on the codes (IdHead)")
    ap.add_argument("--head-warmup", type=int, default=100, help="steps the head trains on detached codes")
    ap.add_argument("--w-proto", type=float, default=0.0, help="CosFace against training-people prototypes")
    ap.add_argument("--proto-scale", type=float, default=32.0)
    ap.add_argument("--proto-margin", type=float, default=0.1)
    ap.add_argument("--degrade", type=float, default=0.0, help="share of encoder inputs degraded (degrade.py)")
    ap.add_argument("--fine", type=int, default=1, help="lattice steps per FSQ level (vqvae.FSQ); an "
                    "--init model with 1 starts on a superset of its lattice")
    ap.add_argument("--rate-target", type=float, default=0.0, help="bits per face (RateModel, hard); "
                    "its weight is a Lagrange multiplier raised while the mean is above it")
    ap.add_argument("--rate-step", type=float, default=0.05, help="multiplier's step per unit of relative excess")
    ap.add_argument("--coarse", type=float, default=0.0, help="share of faces with random cells snapped to "
                    "the integer levels (coarsen)")
    ap.add_argument("--dec-widths", help="with --init: a new decoder of these widths (e.g. 192,96,48) "
                    "instead of the imported one")
    ap.add_argument("--dec-low-blocks", type=int, default=2, help="the new decoder's blocks at the grid")
    ap.add_argument("--freeze-encoder", action="store_true", help="the encoder does not train (codes fixed)")
    ap.add_argument("--freeze-decoder", action="store_true", help="the decoder does not train (the backend's "
                    "stays valid)")
    ap.add_argument("--enc-widths", help="with --init: a new encoder of these widths (e.g. 16,32,64,128), "
                    "its weights from --warm")
    ap.add_argument("--enc-last-blocks", type=int, default=2)
    ap.add_argument("--w-dec-kd", type=float, default=0.0, help="L1 to the imported decoder's reconstruction")
    ap.add_argument("--w-emb-kd", type=float, default=0.0, help="1 - cos to MobileFaceNet of the imported "
                    "decoder's reconstruction")
    ap.add_argument("--warm", help="a run's checkpoint (e.g. runs/X/best.pt) whose weights this new run "
                    "starts from (same architecture; optimiser and schedule start afresh)")
    ap.add_argument("--recon-embedder", help="a reconstruction-side MobileFaceNet weight patch "
                    "(models/vq/ID.emb.ffp) that trains with the decoder and embeds the reconstructions")
    ap.add_argument("--recon-embedder-train", default="mid", choices=("light", "early", "mid", "all"),
                    help="which of its constants train (train_embed.py)")
    ap.add_argument("--recon-embedder-lr-mult", type=float, default=1.0, help="its learning rate / lr2")
    ap.add_argument("--select", default="top1", choices=("top1", "top1+tar"), help="best.pt's criterion "
                    "on the held-out people: Top-1 as deployed, or its mean with TAR at FAR 1e-2")
    return ap.parse_args()


def build_model(args, device):
    """The model, and the imported decoder when --dec-widths replaced it (else None)."""
    old_dec = None
    if args.init:
        import import_ffn  # noqa: E402
        model, _ = import_ffn.import_model(args.init, args.preset)
        if args.fine != 1:
            model.fsq = vqvae.FSQ(model.fsq.levels, model.fsq.groups, fine=args.fine)
            model.config["fine"] = args.fine
        if args.dec_widths:
            widths = [int(w) for w in args.dec_widths.split(",")]
            old_dec = model.decoder.to(device).to(memory_format=torch.channels_last).eval()
            for p in old_dec.parameters():
                p.requires_grad_(False)
            model.decoder = vqvae.Decoder(widths, model.fsq.groups * model.fsq.dim, args.dec_low_blocks,
                                          model.config["dec_shuffle"])
            model.config.update(dec_widths=widths, dec_low_blocks=args.dec_low_blocks)
        if args.enc_widths:  # a smaller device encoder (distil_encoder.py's, through --warm)
            widths = [int(w) for w in args.enc_widths.split(",")]
            model.encoder = vqvae.Encoder(widths, model.fsq.groups * model.fsq.dim, args.enc_last_blocks)
            model.config.update(enc_widths=widths, enc_last_blocks=args.enc_last_blocks)
    else:
        model = vqvae.VQVAE(**vqvae.PRESETS[args.preset], fine=args.fine)
        if args.init_decoder:
            import import_ffn  # noqa: E402
            model.decoder.load_state_dict(import_ffn.import_model(args.init_decoder)[0].decoder.state_dict())
    for frozen, part in ((args.freeze_encoder, model.encoder), (args.freeze_decoder, model.decoder)):
        for p in part.parameters() if frozen else ():
            p.requires_grad_(False)
    # channels-last: about 2x faster depthwise convs on CPU (measured, PyTorch 1.13)
    return model.to(device).to(memory_format=torch.channels_last), old_dec


def set_train(model, head, frozen_bn):
    """frozen_bn: the imported part of the model (None: nothing imported)."""
    model.train()
    if frozen_bn is not None:
        freeze_bn(frozen_bn)
    if head is not None:
        head.train()


def lr_at(step, args, steps2):
    """Linear warm-up (50 steps), then cosine to 0, per stage."""
    stage = 1 if step < args.steps1 else 2
    s0, n = (0, args.steps1) if stage == 1 else (args.steps1, steps2)
    base = args.lr if stage == 1 else args.lr2
    return stage, base * (0.5 * (1 + math.cos(math.pi * (step - s0) / n)) if step - s0 > 50 else (step - s0 + 1) / 51)


def better(v, best, select):
    def key(r):
        s = r["val_top1_deployed"]
        if select == "top1+tar":
            s = (s + r.get("val_tar_deployed_1e2", 0.0)) / 2
        return s, r["val_cos_recon_orig"]
    return best is None or key(v) > key(best)


def random_state(gen, rng):
    """The three generators a run draws from, for its checkpoint."""
    return {"gen": gen.get_state(), "rng": torch.get_rng_state(), "np_rng": rng.bit_generator.state}


def set_random_state(st, gen, rng):
    gen.set_state(st["gen"])
    torch.set_rng_state(st["rng"])
    rng.bit_generator.state = st["np_rng"]


def imported_part(model, args, new_decoder):
    """What came from an exported model, whose folded batch norms stay frozen (None: nothing)."""
    if not args.init:
        return model.decoder if args.init_decoder else None
    if new_decoder:  # --dec-widths: the new decoder trains its own
        return model.encoder
    return model.decoder if args.enc_widths else model


def start_run(args):
    """Threads, seeds, device, the run folder; the training people's data and the held-out
    people's validation (args: threads, seed, run, heldout)."""
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.run, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    labels = np.load(os.path.join(DATA, "devtrain_labels.npy"))
    held = heldout_people(labels, args.heldout, args.seed)
    data = Data("devtrain", device, gen, rows=np.flatnonzero(~np.isin(labels, held)))
    return device, gen, rng, data, Validation(data, held)


def main():
    args = parse_args()
    device, gen, rng, train, val = start_run(args)
    print("training on %d images, validating on %d held-out people (%d images)" %
          (len(train.rows), len(val.gallery), len(val)), file=sys.stderr)
    model, old_dec = build_model(args, device)
    head = IdHead(model.fsq.groups * model.fsq.dim, model.grid).to(device) if args.w_head > 0 else None
    steps2 = 0 if args.no_stage2 else args.steps2
    total = args.steps1 + steps2
    groups = [{"params": [p for p in model.parameters() if p.requires_grad], "mult": 1.0}]
    if head is not None:
        groups.append({"params": list(head.parameters()), "mult": args.head_lr_mult})
    recon = None
    if args.recon_embedder:
        if args.w_feat > 0:
            sys.exit("train: --recon-embedder needs --w-feat 0 (feature matching is on the frozen network)")
        recon = ReconEmbedder(args.recon_embedder, args.recon_embedder_train, device)
        groups.append({"params": list(recon.parameters()), "mult": args.recon_embedder_lr_mult,
                       "weight_decay": 0.0})
    rate = RateModel(model.fsq, model.grid).to(device) if args.rate_target > 0 else None
    if rate is not None:  # the tables must follow the codes faster than the codes move
        groups.append({"params": list(rate.parameters()), "fixed_lr": 3e-3, "weight_decay": 0.0})
    lam = 0.0
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
    ckpt = os.path.join(args.run, "ckpt.pt")
    step, log, best = 0, [], None
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location=device)
        model.load_state_dict(st["model"])
        if head is not None:
            head.load_state_dict(st["head"])
        if recon is not None:
            recon.load_state_dict(st["recon"])
        if rate is not None and st.get("rate") is not None:
            rate.load_state_dict(st["rate"])
            lam = st.get("lam", 0.0)
        opt.load_state_dict(st["opt"])
        set_random_state(st, gen, rng)
        step, log, best = st["step"], st["log"], st.get("best")
        if best is not None and best["step"] == 0:  # written by an older train.py
            best = None
        print("resumed %s at step %d" % (ckpt, step), file=sys.stderr)
    elif args.warm:
        model.load_state_dict(torch.load(args.warm, map_location=device)["model"])
        print("weights from %s" % args.warm, file=sys.stderr)
    losses = Losses(args, train, device) if step < total else None
    if losses is not None:
        losses.rate, losses.lam, losses.old_dec, losses.recon = rate, lam, old_dec, recon
    if rate is not None and step == 0:
        model.eval()
        rate.fit(model, train, train.rows[torch.randperm(len(train.rows), generator=gen)[:2048]])
    embedder = losses.embedder if losses else Embedder(device)

    def save(path=ckpt):
        torch.save({"model": model.state_dict(), "head": head.state_dict() if head is not None else None,
                    "opt": opt.state_dict(), **random_state(gen, rng), "step": step, "log": log, "best": best,
                    "rate": rate.state_dict() if rate is not None else None,
                    "recon": recon.state_dict() if recon is not None else None,
                    "lam": losses.lam if losses is not None else lam,
                    "config": model.config, "args": vars(args)}, path + ".tmp")
        os.replace(path + ".tmp", path)
        if losses is not None:
            losses.save()

    imported = imported_part(model, args, old_dec is not None)

    def validate():
        nonlocal best
        model.eval()
        v = dict(val(model, embedder, rate, recon_embedder=recon), step=step)
        set_train(model, head, imported)
        log.append(v)
        sys.stderr.write("\n" + json.dumps(v) + "\n")
        # an imported model (step 0) is the baseline, not a candidate: its training saw the
        # held-out people (vq2 trained on all of DevTrain), so it would win on memory alone
        if step > 0 and better(v, best, args.select):
            best = v
            save()
            shutil.copyfile(ckpt, os.path.join(args.run, "best.pt"))
            if recon is not None:  # what the backend loads beside the decoder: models/vq/ID.emb.ffp
                recon.save_patch(os.path.join(args.run, "best.emb.ffp"))
        else:
            save()

    if step == 0 and (args.init or args.warm):  # where the start point stands, on the same held-out people
        validate()
    t0, start = time.time(), step
    set_train(model, head, imported)
    while step < total:
        stage, lr = lr_at(step, args, steps2)
        for g in opt.param_groups:
            g["lr"] = g["fixed_lr"] if "fixed_lr" in g else lr * g["mult"]
        loss, terms, idx = losses(model, head, train.batch(args.batch), stage, rng, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if rate is not None:  # dual ascent on the rate constraint
            losses.lam = max(0.0, losses.lam + args.rate_step * (losses.hard_bits / args.rate_target - 1))
        progress(step, total, t0, start, "s%d loss %.4f %s codes %d%s" % (
            stage, loss.item(), " ".join("%s %.4f" % (k, v.item()) for k, v in terms.items()),
            torch.unique(idx).numel(),
            " bits %.0f lam %.3f" % (losses.hard_bits, losses.lam) if rate is not None else ""))
        if step % args.val_every == 0 or step == total:
            validate()
        elif step % args.ckpt_every == 0 or step == args.steps1:
            save()
        if step == args.steps1:  # the distillation ablation: the network after stage 1 only
            shutil.copyfile(ckpt, os.path.join(args.run, "stage1.pt"))
    with open(os.path.join(args.run, "summary.json"), "w") as f:
        json.dump({"log": log, "best": best, "config": model.config, "args": vars(args)}, f, indent=1)
    print(json.dumps(best or (log[-1] if log else {})))


if __name__ == "__main__":
    main()
