"""``actions``: twelve classes of motion on real photo backgrounds (stands in for Kinetics, UCF-101, Weizmann).

What you see: a real background (a random crop of a photo or texture shipped with scikit-image or scikit-learn,
including a mosaic of scikit-learn's handwritten digits) and one actor with a soft ground shadow. The actor is
either an articulated figure (head with hair, shirt-coloured torso and arms, trouser-coloured legs, cylinder
shading) or a textured, bevel-shaded object.

What moves (the class, ``label``, is the index in ``classes``):

====  ========  ===============================================================================
 0    walk      figure walks sideways, legs and arms swing in opposition
 1    run       faster, leaning forward, bent elbows, bigger strides
 2    jump      figure hops in place, arms go up in the air, knees bend on landing
 3    wave      figure stands, one raised arm waves
 4    clap      figure stands, both arms swing together and apart overhead
 5    squat     figure bends its knees and rises, arms forward
 6    spin      object turns in place
 7    bounce    ball falls and bounces with gravity, squashing on impact
 8    zoom      object grows or shrinks steadily (approaches or recedes)
 9    orbit     object circles around a centre
10    swing     pendulum bob on a rod swings from a pivot
11    shake     object jitters fast from side to side
====  ========  ===============================================================================

What is random (per clip): background image and crop, actor colours, size, position, facing, rate and phase of
the motion, object shape and pattern; on 40 % of clips the camera pans at a constant velocity (the background and
the actor shift together).

Annotations: ``label`` (int), ``position`` ``[T, 2]`` (the actor's centre in normalised image coordinates, x
right, y down, including the camera's pan), ``camera`` ``[T, 2]`` (camera displacement, image widths).
"""

from __future__ import annotations

import numpy as np
import torch

from . import render as R
from ._backgrounds import clip_background
from ._world import World, to_video

CLASSES = ("walk", "run", "jump", "wave", "clap", "squat", "spin", "bounce", "zoom", "orbit", "swing", "shake")
_FIGURE = 6           # classes below this index are performed by the figure
_SKIN = ((0.96, 0.8, 0.66), (0.87, 0.67, 0.5), (0.65, 0.45, 0.3), (0.45, 0.3, 0.2))


def _end(px, py, ang, length):
    """End of a limb of ``length`` starting at ``(px, py)``; ``ang`` = 0 points down, positive toward +x."""
    return px + length * np.sin(ang), py + length * np.cos(ang)


def _figure_pose(label: int, r: np.random.Generator, T: int, h: float):
    """Per-frame joint angles and hip position of the figure. Angles in radians, arrays ``[T]``."""
    t = np.arange(T, dtype=np.float64)
    z = np.zeros(T)
    facing = 1.0 if r.random() < 0.5 else -1.0
    phi0 = r.uniform(0, 2 * np.pi)
    lean, hop, vx = z, z, 0.0
    arm_l, arm_r, elb_l, elb_r = z + 0.15, z - 0.15, z + 0.2, z + 0.2
    th_l, th_r, kn_l, kn_r = z, z, z, z
    if label in (0, 1):  # walk / run
        run = label == 1
        f = r.uniform(0.11, 0.15) if run else r.uniform(0.06, 0.09)
        vx = facing * (r.uniform(0.018, 0.026) if run else r.uniform(0.006, 0.011))
        ph = 2 * np.pi * f * t + phi0
        a_leg, a_arm = (0.85, 0.8) if run else (0.45, 0.4)
        th_l, th_r = a_leg * np.sin(ph), -a_leg * np.sin(ph)
        kb = 1.3 if run else 0.6
        kn_l = -kb * np.clip(np.sin(ph - 1.2), 0, 1)
        kn_r = -kb * np.clip(np.sin(ph + np.pi - 1.2), 0, 1)
        arm_l, arm_r = -a_arm * np.sin(ph), a_arm * np.sin(ph)
        elb_l = elb_r = z + (1.4 if run else 0.3)
        lean = z + (0.25 if run else 0.05)
        hop = (0.04 if run else 0.01) * h * np.abs(np.cos(ph))
    elif label == 2:  # jump
        f = r.uniform(0.06, 0.09)
        s = np.abs(np.sin(np.pi * f * t * 2 + phi0))
        hop = r.uniform(0.25, 0.4) * h * s
        arm_r = z + 2.7 * s
        arm_l = -arm_r
        th_l = th_r = 0.7 * (1 - s)
        kn_l = kn_r = -1.4 * (1 - s)
    elif label == 3:  # wave
        f = r.uniform(0.12, 0.2)
        ph = 2 * np.pi * f * t + phi0
        arm_r = z + 2.6 + 0.3 * np.sin(ph)
        elb_r = 0.8 * np.sin(ph)
        if r.random() < 0.5:
            arm_l, elb_l, arm_r, elb_r = -arm_r, -elb_r, z - 0.15, z + 0.2
    elif label == 4:  # clap: both arms, mirrored
        f = r.uniform(0.12, 0.2)
        s = 0.5 + 0.5 * np.sin(2 * np.pi * f * t + phi0)
        arm_r = 1.6 + 0.9 * s
        elb_r = 0.3 + 0.9 * s
        arm_l, elb_l = -arm_r, -elb_r
    else:  # squat
        f = r.uniform(0.05, 0.08)
        d = 0.5 - 0.5 * np.cos(2 * np.pi * f * t + phi0)
        th_l = th_r = 1.3 * d
        kn_l = kn_r = -2.3 * d
        arm_l = arm_r = 1.4 * d
        lean = 0.35 * d
    sgn = facing
    return dict(facing=facing, vx=vx, lean=sgn * lean, hop=hop,  # noqa: C408
                arm=(sgn * arm_l, sgn * arm_r), elb=(sgn * elb_l, sgn * elb_r),
                th=(sgn * th_l, sgn * th_r), kn=(sgn * kn_l, sgn * kn_r))


class ActionsWorld(World):
    """Twelve motion classes performed by a figure or an object on real photo backgrounds (``label``)."""

    name = "actions"
    default_frames = 16
    classes = CLASSES

    def generate(self, ss, frames, size):
        r = np.random.default_rng(ss)
        T, S = frames, size
        label = int(r.integers(len(CLASSES)))
        t = np.arange(T, dtype=np.float64)
        pan = np.zeros((T, 2))
        if r.random() < 0.4:
            a = r.uniform(0, 2 * np.pi)
            pan = np.outer(t, [np.cos(a), np.sin(a)]) * r.uniform(0.004, 0.012)
        canvas = clip_background(r, S, T, pan)
        canvas *= 0.85
        ground = r.uniform(0.8, 0.9)
        if label < _FIGURE:
            pos = self._figure(canvas, r, label, T, S, ground, pan)
        else:
            pos = self._object(canvas, r, label, T, S, ground, pan)
        return {"video": to_video(canvas), "label": label, "position": torch.from_numpy(pos.astype(np.float32)),
                "camera": torch.from_numpy(pan.astype(np.float32))}

    @staticmethod
    def _shadow(canvas, S, cx, ground, w):
        box = R.bbox(S, cx - w, cx + w, ground - 0.05, ground + 0.05)
        R.draw(canvas, S, box, lambda X, Y: (0.0, 0.45 * R.coverage(
            R.sdf_ellipse(X, Y, cx, ground, w, 0.025), S, soft=3.0)))

    def _figure(self, canvas, r, label, T, S, ground, pan):
        h = r.uniform(0.45, 0.6)                       # body height, image heights
        p = _figure_pose(label, r, T, h)
        L_th = L_sh = 0.25 * h
        L_up, L_fo, L_to = 0.17 * h, 0.16 * h, 0.3 * h
        head_r = 0.1 * h
        x0 = 0.5 - p["vx"] * (T - 1) / 2 if p["vx"] else r.uniform(0.3, 0.7)
        hx = x0 + p["vx"] * np.arange(T)
        th_l, th_r = p["th"]
        kn_l, kn_r = p["kn"]
        extent = np.maximum(L_th * np.cos(th_l) + L_sh * np.cos(th_l + kn_l),
                            L_th * np.cos(th_r) + L_sh * np.cos(th_r + kn_r))
        hy = ground - extent - p["hop"]
        hx, hy = hx - pan[:, 0], hy - pan[:, 1]         # the camera pans over a static world
        gy = ground - pan[:, 1]
        col = lambda a: np.asarray(a, np.float64)[:, None, None]
        HX, HY = col(hx), col(hy)
        NX, NY = _end(HX, HY, col(p["lean"]) + np.pi, L_to)          # neck (torso points up)
        CX, CY = _end(NX, NY, col(p["lean"]) + np.pi, head_r * 1.25)  # head centre
        limbs_shirt = [(HX, HY, NX, NY)]
        for arm, elb in zip(p["arm"], p["elb"]):
            ex, ey = _end(NX, NY + 0.02 * h, col(arm), L_up)
            wx, wy = _end(ex, ey, col(arm + elb), L_fo)
            limbs_shirt += [(NX, NY + 0.02 * h, ex, ey), (ex, ey, wx, wy)]
        limbs_legs = []
        for th, kn in zip(p["th"], p["kn"]):
            kx, ky = _end(HX, HY, col(th), L_th)
            fx, fy = _end(kx, ky, col(th + kn), L_sh)
            limbs_legs += [(HX, HY, kx, ky), (kx, ky, fx, fy)]
        shirt = R.hsv(r.random(), r.uniform(0.4, 0.9), r.uniform(0.5, 0.95))
        pants = R.hsv(r.random(), r.uniform(0.2, 0.7), r.uniform(0.2, 0.6))
        skin = np.array(_SKIN[r.integers(len(_SKIN))], np.float32)
        hair = R.hsv(r.uniform(0.02, 0.12), r.uniform(0.3, 0.8), r.uniform(0.1, 0.5))
        self._shadow_track(canvas, S, hx, gy, 0.12 * h)
        box = R.bbox(S, hx - 0.5 * h, hx + 0.5 * h, hy - 0.75 * h, hy + 0.55 * h)
        rad = 0.06 * h
        if box is None:
            return np.stack([hx, hy - 0.2 * h], 1)
        ys, xs = box
        ax = R._axis(S)
        X, Y = ax[xs][None, None, :], ax[ys][None, :, None]
        region = canvas[:, :, ys, xs]
        for limbs, color, rr in ((limbs_legs, pants, rad * 1.1), (limbs_shirt, shirt, rad)):
            d = np.min(np.stack([R.sdf_capsule(X, Y, *seg, rr) for seg in limbs]), 0)
            cyl = np.sqrt(np.clip(-d / rr, 0.0, 1.0))
            R.over(region, R.tint(0.45 + 0.65 * cyl, color), R.coverage(d, S))
        dh = R.sdf_circle(X, Y, CX, CY, head_r)
        light = np.clip(1.0 - 0.6 * ((X - CX) + (Y - CY)) / head_r * 0.5, 0.6, 1.3)
        R.over(region, R.tint(light, skin), R.coverage(dh, S))
        dhair = np.maximum(R.sdf_circle(X, Y, CX, CY - 0.15 * head_r, head_r * 1.02), Y - (CY - 0.25 * head_r))
        R.over(region, R.tint(light, hair), R.coverage(dhair, S))
        return np.stack([hx, hy - 0.2 * h], 1)

    def _shadow_track(self, canvas, S, cx, gy, w):
        w = np.broadcast_to(np.asarray(w, np.float64), cx.shape)
        self._shadow(canvas, S, cx[:, None, None], gy[:, None, None], w[:, None, None])

    def _object(self, canvas, r, label, T, S, ground, pan):
        t = np.arange(T, dtype=np.float64)
        kind = int(r.integers(4))
        r0 = r.uniform(0.1, 0.16)
        color = R.hsv(r.random(), r.uniform(0.5, 0.95), r.uniform(0.6, 0.95))
        pat_f = r.uniform(2.0, 4.0)
        cx, cy = np.full(T, r.uniform(0.3, 0.7)), np.full(T, r.uniform(0.35, 0.65))
        ang = np.full(T, r.uniform(0, 2 * np.pi))
        rad = np.full(T, r0)
        sq = np.ones(T)                                    # vertical squash (bounce)
        rod = None
        if label == 6:    # spin
            ang = ang + t * r.choice([-1, 1]) * r.uniform(0.15, 0.4)
        elif label == 7:  # bounce: |sin| is a chain of parabolas-like arcs
            kind = 0
            f = r.uniform(0.05, 0.08)
            s = np.abs(np.sin(np.pi * f * t * 2 + r.uniform(0, np.pi)))
            cy = ground - rad - r.uniform(0.3, 0.45) * s
            cx = cx + r.uniform(-0.006, 0.006) * t
            sq = 1.0 - 0.25 * np.clip(1 - s / 0.15, 0, 1)
        elif label == 8:  # zoom
            g = r.choice([-1, 1]) * r.uniform(0.04, 0.07)
            rad = np.clip(r0 * np.exp(g * (t - T / 2)), 0.04, 0.35)
            cx[:], cy[:] = r.uniform(0.4, 0.6), r.uniform(0.4, 0.6)
        elif label == 9:  # orbit
            R_ = r.uniform(0.15, 0.25)
            w = r.choice([-1, 1]) * r.uniform(0.15, 0.3)
            a0 = r.uniform(0, 2 * np.pi)
            rad[:] = r0 * 0.8
            cx = 0.5 + R_ * np.cos(w * t + a0)
            cy = 0.5 + R_ * np.sin(w * t + a0)
        elif label == 10:  # swing
            kind = 0
            px, length = r.uniform(0.35, 0.65), r.uniform(0.45, 0.65)
            A, f = r.uniform(0.5, 0.9), r.uniform(0.05, 0.09)
            th = A * np.sin(2 * np.pi * f * t + r.uniform(0, 2 * np.pi))
            cx, cy = px + length * np.sin(th), 0.04 + length * np.cos(th)
            rad[:] = r0 * 0.8
            rod = (px, 0.04)
        else:             # shake
            f, A = r.uniform(0.3, 0.45), r.uniform(0.03, 0.06)
            cx = cx + A * np.sin(2 * np.pi * f * t + r.uniform(0, 2 * np.pi))
        cx, cy = cx - pan[:, 0], cy - pan[:, 1]
        self._shadow_track(canvas, S, cx, np.full(T, ground) - pan[:, 1], rad * 0.9)
        c = lambda a: np.asarray(a, np.float64)[:, None, None]
        CX, CY, AN, RA, SQ = c(cx), c(cy), c(ang), c(rad), c(sq)
        if rod is not None:
            px, py = rod[0] - pan[:, 0], rod[1] - pan[:, 1]
            rbox = R.bbox(S, np.minimum(px, cx), np.maximum(px, cx), np.minimum(py, cy), np.maximum(py, cy), 0.02)
            R.draw(canvas, S, rbox, lambda X, Y: (np.float32([0.25, 0.22, 0.2]), R.coverage(
                R.sdf_capsule(X, Y, c(px), c(py), CX, CY, 0.006), S)))
        box = R.bbox(S, cx - rad, cx + rad, cy - rad, cy + rad, pad=0.02)

        def body(X, Y):
            u, v = R.rotate(X, (Y - CY) / SQ + CY, CX, CY, AN)
            if kind == 0:
                d = np.sqrt(u * u + v * v) - RA
            elif kind == 1:
                d = R.sdf_box(u, v, RA * 0.85, RA * 0.6, RA * 0.15)
            elif kind == 2:
                d = R.sdf_ngon(u, v, RA * 1.1, 3)
            else:
                d = R.sdf_ngon(u, v, RA, 5)
            p = np.sign(np.sin(u * pat_f * 3 / RA) * np.sin(v * pat_f * 3 / RA))
            light = np.clip(1.0 - 0.4 * ((X - CX) + (Y - CY)) / RA, 0.55, 1.4)
            shade = (0.6 + 0.3 * np.clip(-d * S / 1.5, 0, 1)) * light * (1 + 0.2 * p)
            return R.tint(shade, color), R.coverage(d, S)

        R.draw(canvas, S, box, body)
        return np.stack([cx, cy], 1)
