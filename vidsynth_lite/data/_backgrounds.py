"""Real photographs and textures shipped inside scikit-image and scikit-learn, used as backgrounds.

The pool is fixed (same images in the same order on every machine): scikit-image's photos (astronaut, coffee,
chelsea, rocket, immunohistochemistry, hubble deep field, camera, moon, coins) and textures (brick, grass, gravel),
scikit-learn's two photos (china, flower) and a mosaic of its handwritten 8x8 digits. Grey images are tinted.
Each image is resized once per output size (cached per process) so that a clip only crops and pans.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
from PIL import Image

SKIMAGE_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "camera",
                 "moon", "coins", "brick", "grass", "gravel")
NAMES = SKIMAGE_NAMES + ("sklearn_china", "sklearn_flower", "sklearn_digits")


def _digits_mosaic() -> np.ndarray:
    from sklearn.datasets import load_digits
    d = load_digits().images / 16.0                          # [1797, 8, 8] in [0, 1]
    rng = np.random.default_rng(12345)                      # fixed: the mosaic is part of the data set
    idx = rng.integers(0, len(d), (24, 24))
    tiles = d[idx]                                          # [24, 24, 8, 8]
    img = tiles.transpose(0, 2, 1, 3).reshape(24 * 8, 24 * 8)
    ink, paper = np.array([0.15, 0.2, 0.45]), np.array([0.93, 0.9, 0.82])
    return paper * (1 - img[..., None]) + ink * img[..., None]


@cache
def _raw(name: str) -> np.ndarray:
    """The original image as float32 RGB ``[H, W, 3]`` in [0, 1]."""
    if name == "sklearn_digits":
        img = _digits_mosaic()
    elif name.startswith("sklearn_"):
        from sklearn.datasets import load_sample_image
        img = load_sample_image(name.split("_", 1)[1] + ".jpg") / 255.0
    else:
        import skimage.data
        img = getattr(skimage.data, name)()
        img = img / (255.0 if img.dtype == np.uint8 else max(float(img.max()), 1.0))
    img = np.asarray(img, np.float32)
    if img.ndim == 2:  # grey: tint it a little so backgrounds are not all grey
        tint = {"camera": (1.0, 0.95, 0.85), "moon": (0.9, 0.92, 1.0), "coins": (1.0, 0.9, 0.7),
                "brick": (1.0, 0.7, 0.55), "grass": (0.6, 0.9, 0.5), "gravel": (0.95, 0.9, 0.8)}.get(name, (1, 1, 1))
        img = img[..., None] * np.array(tint, np.float32)
    return np.clip(img[..., :3], 0, 1)


@lru_cache(maxsize=128)
def resized(name: str, short_side: int) -> np.ndarray:
    """The image resized so that its short side is ``short_side`` pixels: ``[3, H, W]`` float32."""
    img = _raw(name)
    h, w = img.shape[:2]
    s = short_side / min(h, w)
    nh, nw = max(round(h * s), short_side), max(round(w * s), short_side)
    pil = Image.fromarray((img * 255).astype(np.uint8)).resize((nw, nh), Image.BILINEAR)
    out = np.asarray(pil, np.float32).transpose(2, 0, 1) / 255.0
    out.setflags(write=False)
    return out


def clip_background(rng: np.random.Generator, size: int, frames: int, pan: np.ndarray) -> np.ndarray:
    """A ``[T, 3, size, size]`` background: a random crop of a random pool image, panned by ``pan [T, 2]``.

    ``pan`` is the camera's displacement in image widths (x, y); the crop moves with it (bilinear, sub-pixel).
    """
    name = NAMES[rng.integers(len(NAMES))]
    zoom = 1.0 + 0.25 * rng.integers(5)                     # how much of the photo one frame shows
    big = resized(name, round(size * zoom * 1.6))      # room to pan
    _, H, W = big.shape
    span = np.abs(pan).max(0) * size + 2
    oy0 = rng.uniform(0, max(H - size - 2 * span[1] - 1, 0)) + span[1]
    ox0 = rng.uniform(0, max(W - size - 2 * span[0] - 1, 0)) + span[0]
    oy = np.clip(oy0 + pan[:, 1] * size, 0, H - size - 1.001)
    ox = np.clip(ox0 + pan[:, 0] * size, 0, W - size - 1.001)
    iy, ix = np.floor(oy).astype(int), np.floor(ox).astype(int)
    fy, fx = (oy - iy).astype(np.float32), (ox - ix).astype(np.float32)
    ar = np.arange(size)
    rows = (iy[:, None] + ar[None, :])[:, None, :, None]    # [T, 1, S, 1]
    cols = (ix[:, None] + ar[None, :])[:, None, None, :]    # [T, 1, 1, S]
    ch = np.arange(3)[None, :, None, None]
    fy, fx = fy[:, None, None, None], fx[:, None, None, None]
    out = ((1 - fy) * ((1 - fx) * big[ch, rows, cols] + fx * big[ch, rows, cols + 1])
           + fy * ((1 - fx) * big[ch, rows + 1, cols] + fx * big[ch, rows + 1, cols + 1]))
    return out.astype(np.float32)
