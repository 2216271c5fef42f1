"""``faces``: talking heads with identities and expressions (stands in for FaceForensics / VoxCeleb), and
``faces_b``: an image-only second domain of animal-like heads (MoCoGAN-HD's cross-domain setting).

``faces`` -- what you see: a head-and-shoulders portrait in front of a soft, blurry room background: an
oval, shaded head with ears, a hair style (short, long, bald, big curls), eyes (white, coloured iris, pupil),
eyebrows, a nose, lips, a neck and a shirt.

What moves: the mouth opens and closes in syllable-like bursts (talking) and smiles slowly; the eyes blink now and
then (eyelids close over two or three frames); the head turns left/right (yaw: the features slide sideways and the
far eye narrows) and tilts a little; eyebrows rise with the smile.

What is random: the identity (``identity``: index of a person; the same index always has the same face shape,
skin, hair, eye colour and clothes, and train and test identities are drawn from disjoint streams), the
background, and the expression track of the clip.

Annotations: ``identity`` (int in ``[0, identities)``), ``expression`` ``[T, 4]``: mouth opening, smile, blink
(eyelid closure) in [0, 1] and yaw in [-1, 1].

``faces_b`` -- what you see: one image (``frames`` is 1) of an animal-like head (cat / fox / bear-like: pointed or
round ears, a muzzle, a nose, whiskers, slit or round pupils, fur colours with noise texture) on a plain
background. Annotations: ``image`` ``[3, H, W]`` (also given as ``video`` ``[1, 3, H, W]``), ``identity``.
"""

from __future__ import annotations

import numpy as np
import torch

from . import render as R
from ._world import SPLITS, World, _stable_int, to_video

_SKIN = ((0.97, 0.83, 0.7), (0.9, 0.72, 0.56), (0.76, 0.56, 0.4), (0.55, 0.38, 0.26), (0.38, 0.26, 0.18))
_HAIR = ((0.1, 0.07, 0.05), (0.35, 0.2, 0.1), (0.65, 0.45, 0.2), (0.85, 0.75, 0.5), (0.55, 0.15, 0.08),
         (0.6, 0.6, 0.62))
_EYES = ((0.3, 0.2, 0.1), (0.2, 0.4, 0.65), (0.25, 0.5, 0.3), (0.45, 0.35, 0.2))


def _identity(world: str, split: str, seed: int, identity: int) -> dict:
    r = np.random.default_rng(np.random.SeedSequence([_stable_int(world + "/identity"), SPLITS[split], seed,
                                                      identity]))
    return dict(rx=r.uniform(0.17, 0.22), ry=r.uniform(0.23, 0.28), skin=np.float32(_SKIN[r.integers(5)]),  # noqa: C408
                hair=np.float32(_HAIR[r.integers(6)]), style=int(r.integers(4)), eye=np.float32(_EYES[r.integers(4)]),
                eye_dx=r.uniform(0.07, 0.09), eye_y=r.uniform(-0.05, -0.02), mouth_w=r.uniform(0.06, 0.09),
                shirt=R.hsv(r.random(), r.uniform(0.3, 0.8), r.uniform(0.3, 0.8)), brow=r.uniform(0.012, 0.02),
                nose=r.uniform(0.035, 0.06))


def _expression(r: np.random.Generator, T: int) -> np.ndarray:
    """``[T, 4]``: mouth opening (talking bursts), smile, blink, yaw."""
    t = np.arange(T, dtype=np.float64)
    rate = r.uniform(0.18, 0.32)                                    # syllables per frame
    talk = np.clip(np.sin(2 * np.pi * rate * t + r.uniform(0, 6.3)), 0, 1)
    envelope = R.catmull_rom(r.random((T // 8 + 4, 1)), 8, T)[:, 0] > 0.4   # speaking or pausing
    mouth = talk * envelope * r.uniform(0.5, 1.0)
    smile = np.clip(R.catmull_rom(r.random((T // 10 + 4, 1)), 10, T)[:, 0], 0, 1)
    blink = np.zeros(T)
    f = int(r.integers(0, 12))
    while f < T:
        for k, v in enumerate((0.6, 1.0, 0.5)):
            if f + k < T:
                blink[f + k] = v
        f += int(r.integers(10, 30))
    yaw = np.clip(R.catmull_rom(r.uniform(-1, 1, (T // 8 + 4, 1)), 8, T)[:, 0], -1, 1) * r.uniform(0.3, 1.0)
    return np.stack([mouth, smile, blink, yaw], 1).astype(np.float32)


def _room(r: np.random.Generator, S: int) -> np.ndarray:
    base = R.hsv(r.random(), r.uniform(0.1, 0.4), r.uniform(0.35, 0.75))
    n = R.value_noise(r, S, (3, 3), channels=3).transpose(2, 0, 1)   # [3, S, S] blurry blobs
    _, Y = R.grid(S)
    return (base.reshape(3, 1, 1) * (0.75 + 0.5 * n) * (1.1 - 0.3 * Y)).astype(np.float32)


class Faces(World):
    """Talking heads with ``identity`` and an ``expression`` track. Extra argument ``identities`` (default 256)."""

    name = "faces"
    default_frames = 16

    def __init__(self, split="train", *, frames=None, size=64, seed=0, length=None, identities: int = 256):
        super().__init__(split, frames=frames, size=size, seed=seed, length=length)
        if isinstance(identities, bool) or not isinstance(identities, (int, np.integer)) or identities < 1:
            raise ValueError(f"identities must be a positive int, got {identities!r}")
        self.identities = int(identities)

    def params(self):
        return {**super().params(), "identities": self.identities}

    def generate(self, ss, frames, size):
        r = np.random.default_rng(ss)
        T, S = frames, size
        ident = int(r.integers(self.identities))
        p = _identity(self.name, self.split, self.seed, ident)
        expr = _expression(r, T)
        canvas = np.broadcast_to(_room(r, S)[None], (T, 3, S, S)).copy()
        roll = r.uniform(-0.12, 0.12) * np.sin(np.linspace(0, r.uniform(1, 3), T))
        self._draw(canvas, S, p, expr, roll)
        return {"video": to_video(canvas), "identity": ident, "expression": torch.from_numpy(expr)}

    @staticmethod
    def _draw(canvas, S, p, expr, roll):
        c = lambda a: np.asarray(a, np.float64)[:, None, None]
        mouth, smile, blink, yaw = (c(expr[:, i]) for i in range(4))
        cx, cy = 0.5, 0.46
        rx, ry = p["rx"], p["ry"]
        X0, Y0 = R.grid(S)
        # shirt and neck (do not turn with the head)
        body = R.sdf_ellipse(X0, Y0, 0.5, 1.08, 0.42, 0.3)
        R.over(canvas, R.tint(np.clip(1.2 - Y0 * 0.4, 0.7, 1.2) + 0 * X0, p["shirt"])[None],
               np.broadcast_to(R.coverage(body, S), canvas.shape[:1] + (S, S)))
        neck = R.sdf_box(X0 - 0.5, Y0 - 0.74, 0.07, 0.08, 0.02)
        R.over(canvas, (p["skin"] * 0.8).reshape(3, 1, 1), np.broadcast_to(R.coverage(neck, S), (len(expr), S, S)))
        # the head frame (inside the head's box): roll around the chin, yaw slides features sideways
        ys, xs = R.bbox(S, 0.12, 0.88, 0.08, 0.82)
        canvas = canvas[:, :, ys, xs]
        X, Y = R.rotate(X0[:, xs][None], Y0[ys][None], cx, cy + ry, c(roll))
        X, Y = X + cx, Y + cy + ry
        shift = 0.55 * rx * yaw
        hair, style = p["hair"], p["style"]
        if style == 1:   # long hair behind the head
            d = np.minimum(R.sdf_ellipse(X, Y, cx, cy + 0.05, rx * 1.25, ry * 1.15),
                           R.sdf_box(X - cx, Y - (cy + 0.2), rx * 1.2, 0.15, 0.05))
            R.over(canvas, R.tint(0.8 + 0.0 * X, hair), R.coverage(d, S))
        elif style == 3:  # big curls
            d = R.sdf_circle(X, Y, cx, cy - 0.06, rx * 1.45)
            R.over(canvas, R.tint(0.8 + 0.2 * np.sin(X * 50) * np.sin(Y * 50), hair), R.coverage(d, S))
        for side in (-1, 1):  # ears: hidden behind the head as it turns away
            d = R.sdf_ellipse(X, Y, cx + side * rx * (1 - 0.25 * side * yaw) + 0.3 * shift, cy + 0.01, 0.03, 0.05)
            R.over(canvas, (p["skin"] * 0.85).reshape(3, 1, 1), R.coverage(d, S))
        head = R.sdf_ellipse(X, Y, cx + 0.3 * shift, cy, rx, ry)
        light = np.clip(1.08 - 1.6 * ((X - cx - shift) * 0.6 + (Y - cy) * 0.5) ** 2 * 4 - 0.3 * (X - cx), 0.55, 1.15)
        R.over(canvas, R.tint(light, p["skin"]), R.coverage(head, S))
        if style in (0, 1):  # hair cap
            d = np.maximum(R.sdf_ellipse(X, Y, cx + 0.3 * shift, cy - 0.02, rx * 1.06, ry * 1.02),
                           (Y - (cy - ry * 0.45)) - 0.08 * np.abs(X - cx - 0.3 * shift))
            R.over(canvas, R.tint(0.85 + 0.15 * np.sin(X * 120 + Y * 20), hair), R.coverage(d, S))
        # eyes: whites, iris, pupil, eyelid (blink); the far eye narrows with yaw
        ey = cy + p["eye_y"]
        for side in (-1, 1):
            ex = cx + shift + side * p["eye_dx"] * (1 - 0.3 * side * yaw)
            w = 0.035 * (1 - 0.35 * np.clip(side * yaw, 0, 1))
            d = R.sdf_ellipse(X, Y, ex, ey, w, 0.02)
            R.over(canvas, np.float32([0.96, 0.95, 0.92]), R.coverage(d, S))
            d_iris = np.maximum(R.sdf_circle(X, Y, ex + 0.4 * shift, ey, 0.014), d)
            R.over(canvas, p["eye"], R.coverage(d_iris, S))
            d_pupil = np.maximum(R.sdf_circle(X, Y, ex + 0.4 * shift, ey, 0.006), d)
            R.over(canvas, np.float32([0.05, 0.04, 0.04]), R.coverage(d_pupil, S))
            lid = np.maximum(d - 0.004, Y - (ey - 0.022 + 0.048 * blink))
            R.over(canvas, p["skin"] * 0.9, R.coverage(lid, S))
            brow_y = ey - 0.04 - 0.015 * smile
            d_brow = R.sdf_capsule(X, Y, ex - 0.03, brow_y + 0.004 * side * 0, ex + 0.03, brow_y - 0.006 * side * 0,
                                   p["brow"] * 0.5)
            R.over(canvas, hair * 0.8, R.coverage(d_brow, S))
        # nose
        nx, ny = cx + 1.3 * shift, cy + 0.04
        d = R.sdf_ellipse(X, Y, nx, ny, 0.018, p["nose"] * 0.5)
        R.over(canvas, R.tint(np.clip(0.85 + 8 * (X - nx), 0.7, 1.05), p["skin"]), 0.8 * R.coverage(d, S, soft=1.5))
        # mouth: lips ellipse bent into a smile (parabolic warp), dark inside when open
        mx, my = cx + 1.1 * shift, cy + 0.12
        w = p["mouth_w"] * (1 - 0.3 * np.abs(yaw))
        Yw = Y + smile * 18.0 * (X - mx) ** 2 - 0.01 * smile
        lips = np.maximum(R.sdf_ellipse(X, Yw, mx, my, w, 0.012 + 0.03 * mouth), np.abs(X - mx) - w)
        R.over(canvas, np.float32([0.7, 0.3, 0.3]), R.coverage(lips, S))
        inner = np.maximum(R.sdf_ellipse(X, Yw, mx, my, w * 0.8, 0.004 + 0.026 * mouth), np.abs(X - mx) - w * 0.8)
        R.over(canvas, np.float32([0.25, 0.05, 0.07]), R.coverage(inner, S) * np.clip(mouth * 5, 0, 1))


class FacesB(World):
    """Image-only second domain: animal-like heads, one image per item (``frames`` must be 1)."""

    name = "faces_b"
    default_frames = 1
    max_frames = 1

    def generate(self, ss, frames, size):
        r = np.random.default_rng(ss)
        S = size
        ident = int(ss.entropy[-1]) if hasattr(ss, "entropy") else 0
        fur = R.hsv(r.uniform(0.03, 0.12), r.uniform(0.2, 0.8), r.uniform(0.3, 0.95))
        fur2 = np.clip(fur * r.uniform(1.1, 1.5), 0, 1)
        bg = R.hsv(r.random(), r.uniform(0.1, 0.4), r.uniform(0.5, 0.9))
        X, Y = R.grid(S)
        canvas = (np.ones((1, 3, S, S), np.float32) * bg.reshape(3, 1, 1)) * (1.1 - 0.25 * Y)
        tex = 0.8 + 0.4 * R.fractal_noise(r, S, (6, 6), octaves=3)
        cx, cy, rad = 0.5 + r.uniform(-0.04, 0.04), 0.55 + r.uniform(-0.04, 0.04), r.uniform(0.26, 0.32)
        pointed = r.random() < 0.6
        for side in (-1, 1):
            ex, ey = cx + side * rad * 0.62, cy - rad * 0.75
            if pointed:
                u, v = R.rotate(X, Y, ex, ey, side * 0.3 + np.pi)
                d = R.sdf_ngon(u, v, rad * 0.45, 3)
            else:
                d = R.sdf_circle(X, Y, ex, ey, rad * 0.32)
            R.over(canvas, R.tint(tex, fur * 0.8)[None], R.coverage(d, S)[None])
            R.over(canvas, np.float32([0.9, 0.6, 0.6]), 0.7 * R.coverage(d + rad * 0.12, S)[None])
        head = R.sdf_ellipse(X, Y, cx, cy, rad, rad * r.uniform(0.85, 1.0))
        R.over(canvas, R.tint(tex * np.clip(1.15 - 1.2 * ((X - cx) + (Y - cy)), 0.6, 1.3), fur)[None],
               R.coverage(head, S)[None])
        muzzle = R.sdf_ellipse(X, Y, cx, cy + rad * 0.35, rad * 0.45, rad * 0.3)
        R.over(canvas, R.tint(tex, fur2)[None], R.coverage(muzzle, S)[None])
        slit = r.random() < 0.5
        iris = R.hsv(r.uniform(0.1, 0.35), 0.8, 0.8)
        for side in (-1, 1):
            ex, ey = cx + side * rad * 0.38, cy - rad * 0.1
            d = R.sdf_ellipse(X, Y, ex, ey, rad * 0.14, rad * 0.11)
            R.over(canvas, iris, R.coverage(d, S)[None])
            pw = rad * (0.03 if slit else 0.07)
            R.over(canvas, np.float32([0.02, 0.02, 0.02]), R.coverage(R.sdf_ellipse(X, Y, ex, ey, pw, rad * 0.1), S)[None])
        u, v = R.rotate(X, Y, cx, cy + rad * 0.22, np.pi / 2)
        R.over(canvas, np.float32([0.25, 0.12, 0.12]), R.coverage(R.sdf_ngon(u, v, rad * 0.1, 3), S)[None])
        for side in (-1, 1):
            for k in (-1, 0, 1):
                d = R.sdf_capsule(X, Y, cx + side * rad * 0.3, cy + rad * (0.4 + 0.06 * k),
                                  cx + side * rad * 1.05, cy + rad * (0.35 + 0.15 * k), 0.003)
                R.over(canvas, np.float32([0.95, 0.95, 0.95]), 0.8 * R.coverage(d, S)[None])
        video = to_video(canvas)
        return {"video": video, "image": video[0], "identity": ident}
