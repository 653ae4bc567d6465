"""Camera degradations of a face crop (uint8 HxWx3 RGB), one seeded numpy Generator.

LFW is press photography: sharp, well exposed, lightly compressed. Real device
cameras are not, and the codec trained on LFW alone loses far more on other
faces (issue 12: 32 points on an in-the-wild set against 18 on DevTest). Used
twice, with the same code so training and test see the same family:
  - train.py degrades the encoder's input with some probability (TRAIN), while
    every identity target stays that of the clean original;
  - degrade_devtest.py writes a fixed, seeded degraded copy of DevTest (TEST):
    the calibration's recipe (../shared/CALIBRATION.md), every op on every face.
Each op is applied with its probability from the table passed in.
"""
import cv2
import numpy as np

# probability of each op per degraded face
TRAIN = {"scale": 0.5, "blur": 0.35, "gamma": 0.5, "gain": 0.5, "noise": 0.4, "jpeg": 0.5, "occlude": 0.15}
TEST = {"scale": 1.0, "blur": 1.0, "gamma": 1.0, "gain": 1.0, "noise": 1.0, "jpeg": 1.0, "occlude": 0.0}


def rescale(img, rng):
    """Low resolution upscaled: 0.35-0.7x down (area), back up bilinear."""
    h, w = img.shape[:2]
    f = rng.uniform(0.35, 0.7)
    small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def blur(img, rng):
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.4))


def gamma(img, rng):
    lut = (255.0 * (np.arange(256) / 255.0) ** rng.uniform(0.6, 1.5)).round().astype(np.uint8)
    return lut[img]


def gain(img, rng):
    """Colour cast: per-channel gain (white balance) on top of an overall one."""
    g = rng.uniform(0.75, 1.25) * rng.uniform(0.85, 1.15, 3)
    return np.clip(img * g, 0, 255).round().astype(np.uint8)


def noise(img, rng):
    return np.clip(img + rng.normal(0, rng.uniform(2.0, 10.0), img.shape), 0, 255).round().astype(np.uint8)


def jpeg(img, rng):
    q = int(rng.integers(20, 61))
    ok, buf = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def occlude(img, rng):
    """A flat rectangle (hand, scarf, sunglasses-sized) over 5-20 % of the face."""
    h, w = img.shape[:2]
    area = rng.uniform(0.05, 0.2) * h * w
    aspect = rng.uniform(0.5, 2.0)
    bh, bw = min(h, int(np.sqrt(area / aspect))), min(w, int(np.sqrt(area * aspect)))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    out = img.copy()
    out[y:y + bh, x:x + bw] = rng.integers(0, 256, 3)
    return out


# order: optics and sensor first, then the encoder (JPEG) last, as in a camera
OPS = (("scale", rescale), ("blur", blur), ("gamma", gamma), ("gain", gain), ("noise", noise),
       ("occlude", occlude), ("jpeg", jpeg))


def degrade(img, rng, probs=TRAIN):
    """uint8 HxWx3 RGB -> degraded copy (same shape and dtype)."""
    out = np.ascontiguousarray(img)
    for name, op in OPS:
        if rng.random() < probs[name]:
            out = np.ascontiguousarray(op(out, rng))
    return out
