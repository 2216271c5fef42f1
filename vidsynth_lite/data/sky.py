"""``sky``: clouds drifting over a landscape (stands in for Sky time-lapse, Landscape and DTDB clouds).

What you see: a sky gradient (day, dusk or overcast palettes), a layer of fractal clouds lit from the sun's side
(bright tops, grey undersides), and a static landscape silhouette in front of them: far hazy hills and near dark
hills with a textured surface. The hills occlude the clouds.

What moves: the cloud field is advected rigidly in one direction at one speed for the whole clip, and slowly
changes shape ("boils": every spatial frequency drifts in phase at its own small rate). The light changes slowly
(a linear brightness drift over the clip). The landscape does not move.

How: the cloud density is a Gaussian random field with a power-law spectrum (fractal noise), built directly in
the Fourier domain on a periodic square twice the image's width. Moving the field by ``(dx, dy)`` is then exact
at any sub-pixel amount: multiply each coefficient by ``exp(-2 pi i (kx dx + ky dy))`` (the Fourier shift
theorem). The coefficients are drawn on a fixed frequency grid, so the scene is the same at every size.

What is random (per clip): direction, speed, palette, cloud coverage and roughness, boiling rates, light drift,
hill profiles and colours.

Annotations: ``direction`` (radians, counter-clockwise from "moving right" with "up" at +pi/2, so the clouds'
displacement per frame in image coordinates is ``speed * (cos d, -sin d)``), ``speed`` (image widths per frame),
``displacement`` ``[T, 2]`` (x, y in image widths relative to frame 0; image coordinates, y down).
"""

from __future__ import annotations

import numpy as np
import torch

from . import render as R
from ._world import World, to_video

_K = 20                    # cloud spectrum: frequencies -K..K cycles per period (period = 2 image widths)
_PALETTES = (              # zenith, horizon, cloud light, cloud shadow
    ((0.16, 0.36, 0.75), (0.62, 0.78, 0.95), (1.0, 1.0, 1.0), (0.55, 0.6, 0.7)),      # day
    ((0.22, 0.2, 0.45), (0.98, 0.62, 0.36), (1.0, 0.85, 0.7), (0.45, 0.32, 0.42)),     # dusk
    ((0.45, 0.5, 0.56), (0.75, 0.78, 0.8), (0.92, 0.92, 0.93), (0.48, 0.5, 0.54)),     # overcast
)


def _profile(rng: np.random.Generator, size: int, base: float, amp: float, cells: int) -> np.ndarray:
    """A 1-D fractal hill profile ``[W]`` (normalised heights, y down)."""
    h = np.zeros(size, np.float32)
    a = 1.0
    for _ in range(3):
        h += a * (R._interp(size, cells) @ rng.random(cells + 1, dtype=np.float32))
        a, cells = a * 0.45, cells * 2
    return base - amp * (h / 1.6 - 0.5)


class Sky(World):
    """Time-lapse-like clouds over a landscape with known motion ``direction`` and ``speed``."""

    name = "sky"
    default_frames = 16

    def generate(self, ss, frames, size):
        r = np.random.default_rng(ss)
        T, S = frames, size
        direction = r.uniform(0, 2 * np.pi)
        speed = r.uniform(0.006, 0.03)
        zen, hor, c_lit, c_dark = (np.array(c, np.float32) for c in _PALETTES[r.integers(len(_PALETTES))])
        beta = r.uniform(1.3, 1.8)
        cover = r.uniform(-0.5, 0.6)
        boil = r.uniform(0.02, 0.06)
        drift = r.uniform(-0.25, 0.25)

        # --- cloud field: Fourier coefficients on a fixed grid, shifted per frame (shift theorem)
        k = np.arange(-_K, _K + 1)
        KX, KY = np.meshgrid(k, k)
        kk = np.hypot(KX, KY)
        amp = np.where(kk > 0, np.maximum(kk, 1.0) ** -beta, 0.0)
        coef = (r.standard_normal(kk.shape) + 1j * r.standard_normal(kk.shape)) * amp
        omega = r.uniform(-1, 1, kk.shape) * boil * np.sqrt(kk)
        t = np.arange(T, dtype=np.float64)
        disp = speed * t                                    # image widths moved since frame 0
        dx, dy = np.cos(direction) * disp, -np.sin(direction) * disp
        # the period is two image widths: a shift of d widths is d / 2 periods
        phase = -2j * np.pi * (KX * (dx / 2)[:, None, None] + KY * (dy / 2)[:, None, None]) \
            + 1j * omega * t[:, None, None]
        N = 2 * S
        spec = np.zeros((T, N, N), np.complex64)
        spec[:, (k % N)[:, None], (k % N)[None, :]] = coef * np.exp(phase)
        field = np.fft.ifft2(spec).real.astype(np.float32)   # [T, N, N]
        field /= field[0].std() + 1e-8
        sun = np.roll(field, (2, 2), axis=(1, 2))            # density toward the sun (top left)
        field, sun = field[:, :S, :S], sun[:, :S, :S]
        Y = R._axis(S)[None, :, None]
        # clouds thin out toward the horizon (perspective haze)
        alpha = R.smoothstep(cover, cover + 1.4, field) * (0.95 - 0.35 * Y)
        lit = np.clip(0.6 + 0.5 * (field - sun), 0.0, 1.0)

        light = (1.0 + drift * (t / 32.0 - 0.25)).astype(np.float32)[:, None, None, None]
        sky = R.tint(np.ones((1, S, 1), np.float32) - Y[0], zen) + R.tint(Y[0], hor)   # [1, 3, S, 1]
        canvas = np.broadcast_to(sky, (T, 3, S, S)).copy()
        cloud = R.tint(lit, c_lit) + R.tint(1 - lit, c_dark)                          # [T, 3, S, S]
        R.over(canvas, cloud, alpha)

        # --- landscape: far hazy hills, then near textured hills (static, occluding the clouds)
        far = _profile(r, S, r.uniform(0.55, 0.68), r.uniform(0.08, 0.2), 3)[None, :]
        near = _profile(r, S, r.uniform(0.72, 0.85), r.uniform(0.06, 0.18), 2)[None, :]
        Yc = R._axis(S)[:, None]
        g_far = R.hsv(r.uniform(0.2, 0.45), r.uniform(0.2, 0.5), r.uniform(0.25, 0.45))
        g_far = 0.6 * g_far + 0.4 * hor
        g_near = R.hsv(r.uniform(0.08, 0.35), r.uniform(0.3, 0.7), r.uniform(0.12, 0.3))
        tex = 0.75 + 0.5 * R.fractal_noise(r, S, (4, 4), octaves=4)
        shade = np.clip(1.1 - 0.6 * (Yc - near), 0.5, 1.2)
        ground = np.zeros((1, 3, S, S), np.float32) + R.tint(np.ones((S, S), np.float32), g_far)
        R.over(ground, R.tint(tex * shade, g_near)[None], R.coverage(near - Yc, S)[None])
        a_ground = np.maximum(R.coverage(far - Yc, S), R.coverage(near - Yc, S))[None]
        R.over(canvas, ground, np.broadcast_to(a_ground, (T, S, S)))
        canvas *= light

        displacement = np.stack([dx, dy], 1).astype(np.float32)
        return {"video": to_video(canvas), "direction": torch.tensor(direction, dtype=torch.float32),
                "speed": torch.tensor(speed, dtype=torch.float32), "displacement": torch.from_numpy(displacement)}
