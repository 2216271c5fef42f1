"""``pushbot``: a top-down robot arm pushing objects on a table (stands in for BAIR robot pushing).

What you see: a textured table (wood grain, felt or concrete, lit from the top left) seen from above, a few objects
(discs, rounded boxes, triangles, hexagons, each with its own colour, pattern and bevel shading, casting a soft
shadow), and a two-link arm whose base sits fixed just below the bottom edge. The arm ends in a gripper (a steel hub
with a yellow cap and two fingers). The arm is drawn over the objects, so it occludes them.

What moves: the gripper follows a smooth random path (a Catmull-Rom curve through random waypoints, half of them
chosen near an object so that pushes are frequent) and rises and lowers. The links follow by inverse kinematics.
When the gripper is down (height < 0.35) and touches an object, the object is pushed out of the gripper's contact
disc along the contact normal and turns a little with the tangential motion; objects also push each other apart
and stay on the table. Lifting the gripper shows as a larger gripper with a shadow further away.

What is random (per clip): table material and colours, number-free object properties (shape, size, colour,
pattern, orientation, start position), the waypoints and heights. Nothing else.

Annotations:
- ``state`` ``[T, 3]``: gripper ``x``, ``y`` (image coordinates normalised to [0, 1], ``x`` right, ``y`` down)
  and height ``z`` in [0, 1] (0 = on the table, pushing; 1 = lifted).
- ``actions`` ``[T, 3]``: ``state[t + 1] - state[t]`` (last row zero), BAIR's commanded end-effector motion.
- ``objects`` ``[T, K, 2]``: object centres (same coordinates).

The trajectory is laid out on a fixed frame grid, so a 16-frame clip is the first 16 frames of the 30-frame clip
with the same index (BAIR clips have 30 frames; CCVS and the VQ-VAE chapter use 16).
"""

from __future__ import annotations

import numpy as np
import torch

from . import render as R
from ._world import World, to_video

_SPACING = 6          # frames between waypoints
_DOWN = 0.35          # gripper height below which it touches the table
_CONTACT = 0.045      # radius of the gripper's contact disc (normalised units)
_SHOULDER = (0.5, 1.04)
_L1, _L2 = 0.62, 0.56
_HUB = np.array([0.97, 0.82, 0.12], np.float32)   # colour of the gripper cap (drawn exactly at ``state``)
_UPPER = np.array([0.78, 0.2, 0.16], np.float32)
_FORE = np.array([0.7, 0.72, 0.76], np.float32)


def _table(rng: np.random.Generator, size: int) -> np.ndarray:
    """Per-clip table texture ``[3, H, W]`` in [0, 1]: wood grain, felt or concrete, with a lighting gradient."""
    kind = rng.integers(3)
    X, Y = R.grid(size)
    if kind == 0:  # wood: long stretched noise + fine grain lines
        base = R.hsv(rng.uniform(0.05, 0.11), rng.uniform(0.35, 0.6), rng.uniform(0.55, 0.8))
        n = R.value_noise(rng, size, (2, 14))
        grain = 0.5 + 0.5 * np.sin(2 * np.pi * (n * 6 + R.value_noise(rng, size, (1, 3)) * 3))
        tex = 0.75 + 0.25 * grain[..., None] * np.array([1.0, 0.9, 0.8], np.float32)
        if rng.random() < 0.5:
            tex = tex.transpose(1, 0, 2)
    elif kind == 1:  # felt: soft blotches
        base = R.hsv(rng.uniform(0.25, 0.65), rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.6))
        tex = 0.8 + 0.35 * R.fractal_noise(rng, size, (3, 3), octaves=4)[..., None] - 0.175
        tex = np.broadcast_to(tex, (size, size, 3)) + 0.0
    else:  # concrete: grey speckle
        base = R.hsv(rng.uniform(0, 1), rng.uniform(0.0, 0.12), rng.uniform(0.6, 0.8))
        tex = 0.82 + 0.3 * (R.fractal_noise(rng, size, (4, 4), octaves=5) - 0.5)[..., None]
        tex = np.broadcast_to(tex, (size, size, 3)) + 0.0
    light = (1.08 - 0.22 * (X + Y) / 2)[..., None]
    return np.clip(base * tex * light, 0, 1).astype(np.float32).transpose(2, 0, 1).copy()


def _ik(gx: np.ndarray, gy: np.ndarray):
    """Elbow position of the two-link arm reaching ``(gx, gy)`` from the shoulder (elbow bends to the right)."""
    sx, sy = _SHOULDER
    dx, dy = gx - sx, gy - sy
    d = np.clip(np.sqrt(dx * dx + dy * dy), 1e-6, _L1 + _L2 - 1e-6)
    a = (_L1 ** 2 - _L2 ** 2 + d * d) / (2 * d)
    h = np.sqrt(np.maximum(_L1 ** 2 - a * a, 0.0))
    mx, my = sx + a * dx / d, sy + a * dy / d
    return mx - h * dy / d, my + h * dx / d


def _trajectory(rng: np.random.Generator, frames: int, starts: np.ndarray) -> np.ndarray:
    """Gripper path ``[T, 3]`` (x, y, z): smooth curve through random waypoints, many of them at objects."""
    n = frames // _SPACING + 4
    w = rng.random((n, 6))
    k = len(starts)
    near = w[:, 3] < 0.5
    obj = starts[np.minimum((w[:, 4] * k).astype(int), k - 1)]
    xy = np.where(near[:, None], obj + (w[:, :2] - 0.5) * 0.25, 0.1 + 0.8 * w[:, :2])
    z = np.where(w[:, 2] < 0.65, -0.2, 0.4 + 0.6 * w[:, 5])
    path = R.catmull_rom(np.concatenate([xy, z[:, None]], 1), _SPACING, frames)
    path[:, :2] = np.clip(path[:, :2], 0.07, 0.93)
    path[:, 2] = np.clip(path[:, 2], 0.0, 1.0)
    return path.astype(np.float32)


def _simulate(path: np.ndarray, pos: np.ndarray, ang: np.ndarray, radii: np.ndarray):
    """Push objects with the gripper. Returns per-frame centres ``[T, K, 2]`` and angles ``[T, K]``."""
    T, K = len(path), len(pos)
    pos, ang = pos.astype(np.float64).copy(), ang.astype(np.float64).copy()
    out_p, out_a = np.empty((T, K, 2)), np.empty((T, K))
    prev = path[0]
    iu, ju = np.triu_indices(K, 1)
    for t in range(T):
        cur = path[t]
        for s in (0.5, 1.0):  # two sub-steps so a fast gripper does not jump through an object
            g = prev + s * (cur - prev)
            if g[2] < _DOWN:
                d = pos - g[None, :2]
                dist = np.sqrt((d ** 2).sum(1)) + 1e-9
                reach = radii + _CONTACT
                hit = dist < reach
                if hit.any():
                    n = d[hit] / dist[hit, None]
                    push = (reach[hit] - dist[hit])[:, None] * n
                    pos[hit] += push
                    vel = cur[:2] - prev[:2]
                    ang[hit] += 2.0 * (n[:, 0] * vel[1] - n[:, 1] * vel[0]) / radii[hit]
                    if K > 1:  # a pushed object pushes the others apart
                        d = pos[ju] - pos[iu]
                        dist = np.sqrt((d ** 2).sum(1)) + 1e-9
                        over = radii[iu] + radii[ju] - dist
                        m = over > 0
                        if m.any():
                            corr = (0.5 * over[m] / dist[m])[:, None] * d[m]
                            np.add.at(pos, iu[m], -corr)
                            np.add.at(pos, ju[m], corr)
                    pos = np.clip(pos, radii[:, None], 1 - radii[:, None])
        prev = cur
        out_p[t], out_a[t] = pos, ang
    return out_p.astype(np.float32), out_a.astype(np.float32)


def _shift(alpha: np.ndarray, size: int, dy: float, dx: float) -> np.ndarray:
    """``alpha [T, h, w]`` moved down-right by ``(dy, dx)`` (normalised, rounded to whole pixels): a shadow."""
    oy, ox = max(round(dy * size), 1), max(round(dx * size), 1)
    out = np.zeros_like(alpha)
    out[:, oy:, ox:] = alpha[:, :-oy, :-ox]
    return out


class PushBot(World):
    """Robot arm pushing objects on a table, with gripper state and object positions (BAIR stand-in).

    Extra argument: ``objects`` (number of objects, 1 to 6, default 3).
    """

    name = "pushbot"
    default_frames = 30

    def __init__(self, split="train", *, frames=None, size=64, seed=0, length=None, objects: int = 3):
        super().__init__(split, frames=frames, size=size, seed=seed, length=length)
        if isinstance(objects, bool) or not isinstance(objects, (int, np.integer)) or not 1 <= objects <= 6:
            raise ValueError(f"objects must be an int in [1, 6], got {objects!r}")
        self.objects = int(objects)

    def params(self) -> dict:
        return {**super().params(), "objects": self.objects}

    def generate(self, ss, frames, size):
        scene_ss, traj_ss = ss.spawn(2)
        rs, rt = np.random.default_rng(scene_ss), np.random.default_rng(traj_ss)
        K = self.objects
        table = _table(rs, size)

        # objects: shape kind, size, colour, pattern, orientation, non-overlapping start positions
        props = rs.random((K, 8))
        kinds = (props[:, 0] * 4).astype(int)
        radii = 0.065 + 0.04 * props[:, 1]
        colors = np.stack([R.hsv(h, 0.55 + 0.4 * s, 0.55 + 0.4 * v) for h, s, v in props[:, 2:5]])
        patterns = (props[:, 5] * 4).astype(int)
        freqs = 2.5 + 3.0 * props[:, 6]
        angles0 = props[:, 7] * 2 * np.pi
        starts = np.empty((K, 2))
        cand = rs.random((20, K, 2)) * 0.64 + 0.15
        for k in range(K):
            for c in cand[:, k]:
                if k == 0 or np.all(np.hypot(*(starts[:k] - c).T) > radii[:k] + radii[k] + 0.02):
                    break
            starts[k] = c

        path = _trajectory(rt, frames, starts)
        obj_pos, obj_ang = _simulate(path, starts, angles0, radii)
        video = self._render(table, path, obj_pos, obj_ang, kinds, radii, colors, patterns, freqs, size)
        actions = np.zeros_like(path)
        actions[:-1] = path[1:] - path[:-1]
        return {"video": video, "state": torch.from_numpy(path.copy()), "actions": torch.from_numpy(actions),
                "objects": torch.from_numpy(obj_pos)}

    @staticmethod
    def _render(table, path, obj_pos, obj_ang, kinds, radii, colors, patterns, freqs, size):
        T = len(path)
        S = size
        canvas = np.broadcast_to(table, (T, 3, S, S)).copy()
        # object shadows then bodies
        for k in range(len(radii)):
            cx = obj_pos[:, k, 0][:, None, None]
            cy = obj_pos[:, k, 1][:, None, None]
            an = obj_ang[:, k][:, None, None]
            r = float(radii[k])
            kind, pat, f, col = kinds[k], patterns[k], freqs[k], colors[k]

            def sdf(X, Y, cx=cx, cy=cy, an=an, r=r, kind=kind):
                u, v = R.rotate(X, Y, cx, cy, an)
                if kind == 0:
                    d = np.sqrt(u * u + v * v) - r
                elif kind == 1:
                    d = R.sdf_box(u, v, r * 0.9, r * 0.62, r * 0.18)
                elif kind == 2:
                    d = R.sdf_ngon(u, v, r * 1.15, 3)
                else:
                    d = R.sdf_ngon(u, v, r, 6)
                return d, u, v

            box = R.bbox(S, cx - r, cx + r, cy - r, cy + r, pad=r * 0.2 + 0.03)

            def body(X, Y, sdf=sdf, r=r, pat=pat, f=f, col=col, cx=cx, cy=cy):
                d, u, v = sdf(X, Y)
                if pat == 1:
                    p = np.sin(u * (f * 2 * np.pi / r) * 0.5)
                elif pat == 2:
                    p = np.sign(np.sin(u * (f / r) * 1.5) * np.sin(v * (f / r) * 1.5))
                elif pat == 3:
                    p = np.cos(np.sqrt(u * u + v * v) * (f * 2 * np.pi / r) * 0.5)
                else:
                    p = 0.0
                bevel = np.clip(-d * (S / 1.5), 0.0, 1.0)
                light = 1.0 - 0.35 * ((X - cx) + (Y - cy)) / r
                shade = (0.55 + 0.3 * bevel) * np.clip(light, 0.6, 1.4) * (1.0 + 0.15 * p)
                return d, shade

            if box is None:
                continue
            ys, xs = box
            ax = R._axis(S)
            d, shade = body(ax[xs][None, None, :], ax[ys][None, :, None])
            region = canvas[:, :, ys, xs]
            R.over(region, 0, _shift(0.35 * R.coverage(d, S, soft=2.5), S, 0.018, 0.012))
            R.over(region, R.tint(shade, col), R.coverage(d, S))

        # the arm: shoulder -> elbow -> wrist (= gripper), drawn over the objects
        gx, gy, gz = (path[:, i][:, None, None] for i in range(3))
        ex, ey = _ik(gx, gy)
        sx, sy = _SHOULDER
        scale = 1.0 + 0.45 * gz
        # gripper direction = forearm direction
        fx, fy = gx - ex, gy - ey
        fn = np.sqrt(fx * fx + fy * fy) + 1e-9
        fx, fy = fx / fn, fy / fn
        px, py = -fy, fx
        opening = (0.022 + 0.014 * gz) * scale
        reach = 0.06 * scale
        fingers = [(gx + px * o, gy + py * o, gx + px * o + fx * reach, gy + py * o + fy * reach) for o in (opening, -opening)]
        r1, r2, rf = 0.036, 0.029, 0.013 * scale

        # links: both capsules evaluated once inside the arm's bounding box (union over frames)
        xs_ = np.concatenate([np.full(T, sx), ex.ravel(), gx.ravel()])
        ys_ = np.concatenate([np.full(T, sy), ey.ravel(), gy.ravel()])
        abox = R.bbox(S, xs_.min(), xs_.max(), ys_.min(), ys_.max(), pad=0.08)
        if abox is not None:
            ys, xs = abox
            ax = R._axis(S)
            X, Y = ax[xs][None, None, :], ax[ys][None, :, None]
            d1 = R.sdf_capsule(X, Y, sx, sy, ex, ey, r1)
            d2 = R.sdf_capsule(X, Y, ex, ey, gx, gy, r2)
            region = canvas[:, :, ys, xs]
            # soft shadow: the links' silhouette shifted down-right by a whole number of pixels
            R.over(region, 0, _shift(0.3 * R.coverage(np.minimum(d1, d2), S, soft=3.0), S, 0.03, 0.02))
            # both links in one pass: the forearm lies over the upper arm where they overlap
            fore = R.coverage(d2, S)
            upper = R.coverage(d1, S) * (1.0 - fore)
            cyl1 = 0.35 + 0.75 * np.sqrt(np.clip(d1 * (-1.0 / r1), 0.0, 1.0))   # cylinder shading across a link
            cyl2 = 0.35 + 0.75 * np.sqrt(np.clip(d2 * (-1.0 / r2), 0.0, 1.0))
            alpha = upper + fore
            color = R.tint(upper * cyl1, _UPPER) + R.tint(fore * cyl2, _FORE)   # premultiplied by alpha
            region *= (1.0 - alpha)[:, None]
            region += color

        def grip_sdf(X, Y):
            da = R.sdf_capsule(X, Y, *fingers[0], rf)
            db = R.sdf_capsule(X, Y, *fingers[1], rf)
            hub = np.sqrt((X - gx) ** 2 + (Y - gy) ** 2) - 0.042 * scale
            return np.minimum(np.minimum(da, db), hub)

        off = (0.02 + 0.06 * gz).ravel()  # the gripper's shadow moves away as it rises
        gbox = R.bbox(S, gx - 0.13, gx + 0.25, gy - 0.13, gy + 0.28)
        if gbox is not None:
            ys, xs = gbox
            ax = R._axis(S)
            X, Y = ax[xs][None, None, :], ax[ys][None, :, None]
            d = grip_sdf(X, Y)                                                 # [T, h, w]
            region = canvas[:, :, ys, xs]
            # shadow: the gripper's own silhouette moved down-right by its height (whole pixels, per frame)
            soft = 0.3 * R.coverage(d, S, soft=3.0)
            shadow = np.zeros_like(soft)
            h, w = soft.shape[1:]
            for t in range(T):
                ox, oy = max(round(float(off[t]) * S), 1), max(round(1.3 * float(off[t]) * S), 1)
                if oy < h and ox < w:
                    shadow[t, oy:, ox:] = soft[t, : h - oy, : w - ox]
            R.over(region, 0, shadow)
            R.over(region, R.tint(0.45 + 0.25 * np.clip(-d * S / 2, 0, 1), [0.75, 0.78, 0.82]), R.coverage(d, S))
            cap = np.sqrt((X - gx) ** 2 + (Y - gy) ** 2) - 0.024 * scale
            R.over(region, _HUB, R.coverage(cap, S))
        return to_video(canvas)
