"""``drums``: a drummer whose sticks strike drums and cymbals, with the sound track (stands in for AudioSet-Drums).

What you see: a dark stage with a spotlight, a drummer (head, shirt) behind a kit of five instruments played with
sticks -- hi-hat, snare, tom, floor tom, crash cymbal -- plus a bass drum in front. Drum shells are shaded
cylinders with pale heads; cymbals are brass ellipses on stands. The arms and sticks are drawn over the kit.

What moves: each hand's stick tip travels from one target to the next along an arc (lifted between strikes) and
touches the instrument's head exactly on the strike frame; the arm follows. A struck instrument flashes and
fades over the next frames.

What you hear: every strike starts a sound at the first audio sample of the strike frame: a synthesised,
instrument-specific timbre (snare = tone + noise burst, toms = pitched decaying sines with a pitch drop, hi-hat =
short high-passed noise, crash = long noisy inharmonic ring), scaled by the strike's velocity and mixed at ``GAIN``, on a faint room
noise floor. The timbres are fixed (the same instrument always sounds the same), which is what lets a model
learn the audio-visual link.

What is random (per clip): kit and clothing colours, small layout jitter, the rhythm (gaps of 2-6 frames per
hand), the instrument of each strike, its velocity, the stage lighting.

Annotations: ``audio`` ``[T, samples_per_frame]`` (float32 in [-1, 1]; ``audio.reshape(-1)`` is the waveform),
``sample_rate`` (16 000), ``fps`` (16), ``hits`` ``[T, 5]`` (strike velocity per instrument and frame, 0 when
not struck; instruments in ``INSTRUMENTS`` order).
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise

import numpy as np
import torch

from . import render as R
from ._world import World, to_video

INSTRUMENTS = ("hihat", "snare", "tom", "floor_tom", "crash")
SAMPLE_RATE = 16_000
FPS = 16
SPF = SAMPLE_RATE // FPS
# layout: centre x, y, head half-width, half-height, shell height (0 = cymbal)
_LAYOUT = np.array([[0.17, 0.47, 0.10, 0.022, 0.0],
                    [0.34, 0.63, 0.10, 0.035, 0.07],
                    [0.52, 0.50, 0.075, 0.03, 0.06],
                    [0.72, 0.66, 0.11, 0.04, 0.12],
                    [0.83, 0.36, 0.12, 0.028, 0.0]])
_HANDS = ((0, 1, 2), (1, 2, 3, 4))   # instruments each hand plays (left, right)
_SHOULDERS = ((0.42, 0.36), (0.58, 0.36))
GAIN = 0.45   # mix level: overlapping strikes rarely reach the [-1, 1] limit


@cache
def _timbre(instrument: int) -> np.ndarray:
    """The fixed sound of one instrument (float32, up to one second)."""
    rng = np.random.default_rng(1000 + instrument)   # fixed: timbres are part of the world
    n = SAMPLE_RATE
    t = np.arange(n) / SAMPLE_RATE
    noise = rng.standard_normal(n)
    if instrument == 0:      # hi-hat: short bright noise
        s = np.diff(noise, prepend=0.0) * np.exp(-t / 0.03) * 0.5
    elif instrument == 1:    # snare: tone + noise burst
        s = 0.6 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05) + 0.6 * noise * np.exp(-t / 0.09)
    elif instrument in (2, 3):  # toms: pitched sine with a pitch drop
        f0 = 190.0 if instrument == 2 else 95.0
        f = f0 * (1 + 0.5 * np.exp(-t / 0.02))
        s = np.sin(2 * np.pi * np.cumsum(f) / SAMPLE_RATE) * np.exp(-t / (0.22 if instrument == 2 else 0.35))
    else:                    # crash: noise + inharmonic partials, long ring
        parts = sum(np.sin(2 * np.pi * fr * t + rng.uniform(0, 6.28)) for fr in (523.0, 787.0, 1131.0, 1710.0))
        s = (0.5 * np.diff(noise, prepend=0.0) + 0.15 * parts) * np.exp(-t / 0.7)
    s = s * (1 - np.exp(-t / 0.0005))   # 0.5 ms attack avoids a click before the onset
    return (s / np.abs(s).max() * 0.8).astype(np.float32)


def _schedule(r: np.random.Generator, T: int):
    """Strike frames per hand: ``[(frame, instrument, velocity), ...]`` with gaps of 2-6 frames."""
    out, taken = [], set()
    for hand, choices in enumerate(_HANDS):
        f = int(r.integers(1, 5))
        while f < T:
            inst, vel = int(r.choice(choices)), float(r.uniform(0.5, 1.0))
            if (f, inst) not in taken:    # both hands never hit the same instrument on the same frame
                out.append((f, inst, vel, hand))
                taken.add((f, inst))
            f += int(r.integers(2, 7))
    return out


class Drums(World):
    """Drummer with synchronised audio: ``audio`` ``[T, samples_per_frame]``, ``hits`` ``[T, 5]``."""

    name = "drums"
    default_frames = 16
    instruments = INSTRUMENTS
    sample_rate = SAMPLE_RATE
    fps = FPS

    def generate(self, ss, frames, size):
        r = np.random.default_rng(ss)
        T, S = frames, size
        layout = _LAYOUT.copy()
        layout[:, :2] += r.uniform(-0.02, 0.02, (len(layout), 2))
        strikes = _schedule(r, T)
        hits = np.zeros((T, len(INSTRUMENTS)), np.float32)
        for f, inst, vel, _ in strikes:
            hits[f, inst] = max(hits[f, inst], vel)

        # --- audio: timbre templates added at the strike frames' first samples
        wave = r.standard_normal(T * SPF).astype(np.float32) * 0.002
        for f, inst, vel, _ in strikes:
            s = _timbre(inst)
            a = f * SPF
            n = min(len(s), len(wave) - a)
            wave[a:a + n] += GAIN * vel * s[:n]
        wave = np.clip(wave, -1, 1)

        # --- static scene: stage, drummer body, kit
        X, Y = R.grid(S)
        spot = np.exp(-((X - 0.5) ** 2 + (Y - 0.35) ** 2) / 0.12)
        stage_col = R.hsv(r.uniform(0.55, 0.8), r.uniform(0.3, 0.6), r.uniform(0.15, 0.3))
        spot_col = R.hsv(r.uniform(0.05, 0.15), 0.3, r.uniform(0.5, 0.8))
        bg = R.tint(np.ones((S, S)), stage_col) + R.tint(spot, spot_col) * 0.6
        bg = bg[None].astype(np.float32)                                    # [1, 3, S, S]
        shirt = R.hsv(r.random(), r.uniform(0.4, 0.9), r.uniform(0.4, 0.85))
        skin = R.hsv(r.uniform(0.04, 0.09), r.uniform(0.3, 0.6), r.uniform(0.45, 0.95))
        torso = R.sdf_box(X - 0.5, Y - 0.5, 0.11, 0.16, 0.06)
        R.over(bg, R.tint(0.8 + 0.3 * np.clip(-torso * 8, 0, 1), shirt)[None], R.coverage(torso, S)[None])
        head = R.sdf_circle(X, Y, 0.5, 0.24, 0.07)
        R.over(bg, R.tint(np.clip(1.1 - 3 * ((X - 0.5) + (Y - 0.24)), 0.6, 1.3), skin)[None], R.coverage(head, S)[None])
        hair = np.maximum(R.sdf_circle(X, Y, 0.5, 0.225, 0.072), Y - 0.21)
        R.over(bg, R.tint(np.ones((S, S)), R.hsv(r.uniform(0, 0.1), 0.5, r.uniform(0.1, 0.4)))[None],
               R.coverage(hair, S)[None])
        shell = R.hsv(r.random(), r.uniform(0.5, 0.9), r.uniform(0.35, 0.75))
        brass = np.float32([0.85, 0.68, 0.25])
        # bass drum (front, decorative)
        kick = R.sdf_circle(X, Y, 0.5, 0.83, 0.15)
        R.over(bg, R.tint(np.clip(0.9 + 0.5 * kick / 0.15, 0.4, 1.0), np.float32([0.92, 0.9, 0.85]))[None],
               R.coverage(kick, S)[None])
        ring = np.abs(kick + 0.01) - 0.012
        R.over(bg, shell, R.coverage(ring, S)[None])
        heads = []
        for i, (cx, cy, rx, ry, sh) in enumerate(layout):
            if sh > 0:   # shell: box under the head, cylinder shading across x
                body = np.minimum(R.sdf_box(X - cx, Y - (cy + sh / 2), rx, sh / 2),
                                  R.sdf_ellipse(X, Y, cx, cy + sh, rx, ry))
                cyl = np.sqrt(np.clip(1 - ((X - cx) / rx) ** 2, 0, 1))
                R.over(bg, R.tint((0.4 + 0.7 * cyl) * np.ones_like(Y), shell)[None], R.coverage(body, S)[None])
                col = np.float32([0.78, 0.77, 0.72])
            else:        # cymbal stand
                stand = R.sdf_capsule(X, Y, cx, cy, cx, 0.98, 0.006)
                R.over(bg, np.float32([0.55, 0.55, 0.58]), R.coverage(stand, S)[None])
                col = brass
            d = R.sdf_ellipse(X, Y, cx, cy, rx, ry)
            R.over(bg, R.tint(np.clip(1.05 - 2.0 * (X - cx + Y - cy), 0.6, 1.3), col)[None], R.coverage(d, S)[None])
            heads.append(R.coverage(d, S))
        canvas = np.broadcast_to(bg, (T, 3, S, S)).copy()

        # --- flashes: a struck head brightens, then fades (geometric decay)
        for i in range(len(INSTRUMENTS)):
            glow = np.zeros(T, np.float32)
            g = 0.0
            for t in range(T):
                g = max(g * 0.5, hits[t, i])
                glow[t] = g
            if glow.any():
                canvas += (0.35 * glow)[:, None, None, None] * heads[i][None, None]

        # --- sticks and arms: the tip rests on the target exactly at each strike frame
        tips = self._tips(strikes, layout, T)
        for hand in range(2):
            sx, sy = _SHOULDERS[hand]
            tx, ty = tips[hand][:, 0][:, None, None], tips[hand][:, 1][:, None, None]
            side = -1 if hand == 0 else 1
            hx = sx + 0.55 * (tx - sx) + side * 0.02
            hy = sy + 0.55 * (ty - sy) + 0.05
            ex, ey = (sx + hx) / 2 + side * 0.06, (sy + hy) / 2 + 0.04
            xs = np.concatenate([tips[hand][:, 0], [sx]])
            ys = np.concatenate([tips[hand][:, 1], [sy]])
            box = R.bbox(S, xs.min(), xs.max(), ys.min(), ys.max(), pad=0.12)

            def arm(X, Y, sx=sx, sy=sy, ex=ex, ey=ey, hx=hx, hy=hy):
                d = np.minimum(R.sdf_capsule(X, Y, sx, sy, ex, ey, 0.028), R.sdf_capsule(X, Y, ex, ey, hx, hy, 0.024))
                return R.tint(0.5 + 0.6 * np.sqrt(np.clip(-d / 0.026, 0, 1)), shirt), R.coverage(d, S)

            def stick(X, Y, hx=hx, hy=hy, tx=tx, ty=ty):
                d = R.sdf_capsule(X, Y, hx, hy, tx, ty, 0.008)
                return np.float32([0.9, 0.78, 0.55]), R.coverage(d, S)

            R.draw(canvas, S, box, arm)
            R.draw(canvas, S, box, stick)
            R.draw(canvas, S, box, lambda X, Y, hx=hx, hy=hy: (skin, R.coverage(R.sdf_circle(X, Y, hx, hy, 0.02), S)))

        return {"video": to_video(canvas), "audio": torch.from_numpy(wave.reshape(T, SPF)),
                "sample_rate": SAMPLE_RATE, "fps": FPS, "hits": torch.from_numpy(hits)}

    @staticmethod
    def _tips(strikes, layout, T):
        """Stick tip paths ``[T, 2]`` per hand: arcs between consecutive targets, on the head at strike frames."""
        out = []
        for hand in range(2):
            rest = np.array([_SHOULDERS[hand][0] + (-0.12 if hand == 0 else 0.12), 0.5])
            keys = [(-3, rest)] + [(f, layout[i, :2]) for f, i, _, h in sorted(strikes) if h == hand]
            keys.append((T + 3, rest))
            tip = np.zeros((T, 2))
            for (f0, p0), (f1, p1) in pairwise(keys):
                for t in range(max(f0, 0), min(f1, T)):
                    s = (t - f0) / (f1 - f0)
                    tip[t] = p0 + (p1 - p0) * s
                    tip[t, 1] -= 0.14 * np.sin(np.pi * s)     # lifted between strikes
            for f, i, _, h in strikes:
                if h == hand and f < T:
                    tip[f] = layout[i, :2]
            out.append(tip)
        return out
