"""Small numpy rendering kit shared by the synthetic worlds.

Everything works in *normalised* image coordinates: ``x`` runs left to right and ``y`` top to bottom, both in
``[0, 1]``, so a scene described once renders the same at 32, 64, 128 or 256 pixels. Shapes are signed distance
functions (negative inside) evaluated on pixel centres; ``coverage`` turns a distance into an anti-aliased alpha
(one pixel wide ramp). Shapes can be evaluated for all ``T`` frames at once by passing per-frame parameters of
shape ``[T, 1, 1]``, which is how the worlds avoid per-pixel and per-frame Python loops.

Textures are value noise: random values on a coarse grid, smoothly interpolated with two small matrix products
(``My @ G @ Mx.T``). The grid does not depend on the output size, so a texture looks the same at every size.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache

import numpy as np

__all__ = [
    "bbox",
    "catmull_rom",
    "coverage",
    "draw",
    "fractal_noise",
    "grid",
    "hsv",
    "over",
    "rotate",
    "sdf_box",
    "sdf_capsule",
    "sdf_circle",
    "sdf_ellipse",
    "sdf_ngon",
    "smoothstep",
    "tint",
    "value_noise",
]


@lru_cache(maxsize=16)
def _axis(size: int) -> np.ndarray:
    a = (np.arange(size, dtype=np.float32) + 0.5) / size
    a.setflags(write=False)
    return a


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(X [1, W], Y [H, 1])`` in ``[0, 1]`` for a square image."""
    a = _axis(size)
    return a[None, :], a[:, None]


def coverage(sdf: np.ndarray, size: int, soft: float = 1.0) -> np.ndarray:
    """Anti-aliased alpha from a signed distance (normalised units): 1 inside, 0 outside, a ``soft``-pixel ramp."""
    return np.clip(0.5 - sdf * (size / soft), 0.0, 1.0, dtype=np.float32)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def rotate(x, y, cx, cy, angle):
    """Coordinates of ``(x, y)`` in a frame centred at ``(cx, cy)`` and turned by ``angle`` (radians)."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = x - cx, y - cy
    return c * dx + s * dy, -s * dx + c * dy


def sdf_circle(x, y, cx, cy, r):
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r


def sdf_ellipse(x, y, cx, cy, rx, ry, angle=0.0):
    """Approximate ellipse distance ``k0 (k0 - 1) / k1`` (first-order correct near the outline, which is what
    anti-aliasing needs; thin ellipses get no stray halo)."""
    u, v = rotate(x, y, cx, cy, angle)
    k0 = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    k1 = np.sqrt((u / (rx * rx)) ** 2 + (v / (ry * ry)) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def sdf_capsule(x, y, ax, ay, bx, by, r):
    """Distance to the segment a-b minus ``r``: a limb, a stick, a robot link."""
    px, py = x - ax, y - ay
    ux, uy = bx - ax, by - ay
    h = np.clip((px * ux + py * uy) / np.maximum(ux * ux + uy * uy, 1e-12), 0.0, 1.0)
    return np.sqrt((px - h * ux) ** 2 + (py - h * uy) ** 2) - r


def sdf_box(u, v, hw, hh, round_=0.0):
    """Rounded box in already-rotated local coordinates ``(u, v)``."""
    qx = np.abs(u) - hw + round_
    qy = np.abs(v) - hh + round_
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - round_


def sdf_ngon(u, v, r, n: int):
    """Regular ``n``-gon with circumradius ``r`` in local coordinates (distance along the face normals)."""
    ang = np.arctan2(v, u)
    sector = 2 * np.pi / n
    a = np.mod(ang + sector / 2, sector) - sector / 2
    rho = np.sqrt(u * u + v * v)
    return rho * np.cos(a) - r * np.cos(np.pi / n)


@lru_cache(maxsize=64)
def _interp(n_out: int, cells: int) -> np.ndarray:
    """``[n_out, cells + 1]`` matrix that smoothly interpolates ``cells + 1`` grid values onto pixel centres."""
    t = (np.arange(n_out) + 0.5) / n_out * cells
    i0 = np.minimum(np.floor(t).astype(int), cells - 1)
    f = t - i0
    f = f * f * (3 - 2 * f)
    m = np.zeros((n_out, cells + 1), np.float32)
    m[np.arange(n_out), i0] = 1 - f
    m[np.arange(n_out), i0 + 1] = f
    m.setflags(write=False)
    return m


def value_noise(rng: np.random.Generator, size: int, cells: tuple[int, int] = (4, 4),
                channels: int = 0) -> np.ndarray:
    """Smooth noise in ``[0, 1]``: ``[size, size]`` (or ``[size, size, channels]``), ``cells = (rows, cols)``."""
    cy, cx = cells
    my, mx = _interp(size, cy), _interp(size, cx)
    if channels:
        g = rng.random((channels, cy + 1, cx + 1), dtype=np.float32)
        return np.einsum("hi,cij,wj->hwc", my, g, mx, optimize=True).astype(np.float32)
    g = rng.random((cy + 1, cx + 1), dtype=np.float32)
    return my @ g @ mx.T


def fractal_noise(rng: np.random.Generator, size: int, cells: tuple[int, int] = (3, 3),
                  octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Sum of value-noise octaves (each twice as fine, ``gain`` times as strong), rescaled to ``[0, 1]``."""
    out = np.zeros((size, size), np.float32)
    amp, total = 1.0, 0.0
    cy, cx = cells
    for _ in range(octaves):
        out += amp * value_noise(rng, size, (cy, cx))
        total += amp
        amp *= gain
        cy, cx = cy * 2, cx * 2
    return out / total


def hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


def bbox(size: int, x_lo, x_hi, y_lo, y_hi, pad: float = 0.0):
    """Pixel slice ``(ys, xs)`` covering the normalised box (union over frames), padded; None if off-image."""
    x0 = max(int(np.floor((np.min(x_lo) - pad) * size)) - 1, 0)
    x1 = min(int(np.ceil((np.max(x_hi) + pad) * size)) + 1, size)
    y0 = max(int(np.floor((np.min(y_lo) - pad) * size)) - 1, 0)
    y1 = min(int(np.ceil((np.max(y_hi) + pad) * size)) + 1, size)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


def tint(shade, color) -> np.ndarray:
    """``shade [..., h, w]`` times an RGB ``color [3]`` -> ``[..., 3, h, w]`` (channel planes)."""
    return np.asarray(shade, np.float32)[..., None, :, :] * np.asarray(color, np.float32).reshape(3, 1, 1)


def over(canvas: np.ndarray, color, alpha: np.ndarray) -> None:
    """In place: ``canvas = canvas * (1 - alpha) + color * alpha``.

    ``canvas`` is ``[T, 3, h, w]`` (channel planes: contiguous rows make numpy fast), ``alpha`` is ``[T, h, w]``,
    ``color`` an RGB triple, a scalar (0 = shadow, a pure multiply) or ``[T, 3, h, w]``.
    """
    a = alpha[..., None, :, :]
    if np.isscalar(color) and color == 0:
        canvas *= 1.0 - a
        return
    color = np.asarray(color, np.float32)
    if color.ndim == 1:
        color = color.reshape(3, 1, 1)
    tmp = np.subtract(color, canvas, dtype=np.float32)
    tmp *= a
    canvas += tmp


def draw(canvas: np.ndarray, size: int, box, fn) -> None:
    """Paint a shape over ``canvas [T, 3, H, W]`` inside pixel ``box``.

    ``fn(X, Y)`` receives the box's coordinates (``X [1, 1, w]``, ``Y [1, h, 1]``) and returns
    ``(color, alpha)``: ``color`` as ``over`` takes it, ``alpha`` broadcastable to ``[T, h, w]``.
    """
    if box is None:
        return
    ys, xs = box
    a = _axis(size)
    X = a[xs][None, None, :]
    Y = a[ys][None, :, None]
    color, alpha = fn(X, Y)
    region = canvas[:, :, ys, xs]
    over(region, color, np.broadcast_to(alpha, (canvas.shape[0],) + alpha.shape[-2:]))


def catmull_rom(points: np.ndarray, spacing: int, n: int) -> np.ndarray:
    """Smooth curve through ``points [K, D]`` (one every ``spacing`` frames), sampled at frames ``0..n-1``.

    The curve passes through ``points[1]`` at frame 0, ``points[2]`` at frame ``spacing`` and so on, so a
    shorter clip is a prefix of a longer one.
    """
    t = np.arange(n) / spacing
    i = np.floor(t).astype(int) + 1
    f = (t - np.floor(t))[:, None]
    p0, p1, p2, p3 = points[i - 1], points[i], points[i + 1], points[i + 2]
    f2, f3 = f * f, f * f * f
    return 0.5 * ((2 * p1) + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f2 + (-p0 + 3 * p1 - 3 * p2 + p3) * f3)
