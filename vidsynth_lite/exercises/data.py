"""Chapter 1 exercises: drawing with signed distances, measuring motion in the Fourier domain, telling actions
apart by their motion, a quiz."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from vidsynth_lite.data.measure import capsule_distance, phase_correlation
from vidsynth_lite.exercises.core import Choice, Exercise, Outcome, Property, register
from vidsynth_lite.exercises.families import Problem

# ---------------------------------------------------------------------------------------------------------------
# Exercise 1.1 (build): the capsule's signed distance, which the chapter then draws with


def _capsule_inputs(g: torch.Generator, n: int | None = None):
    n = int(torch.randint(1, 60, (1,), generator=g)) if n is None else n
    return (torch.rand(n, 2, generator=g), torch.rand(2, generator=g), torch.rand(2, generator=g),
            float(torch.rand(1, generator=g)) * 0.2)


register(Exercise(
    name="data.capsule_distance",
    points=2,
    kind="build",
    skill="signed distance functions: project on a segment, clamp to its ends, subtract the radius",
    reference=capsule_distance,
    make_inputs=_capsule_inputs,
    edge_cases={"a == b (the capsule is a disc)": lambda: (torch.rand(7, 2), torch.tensor([0.4, 0.6]),
                                                           torch.tensor([0.4, 0.6]), 0.1),
                "no points": lambda: _capsule_inputs(torch.Generator().manual_seed(3), n=0),
                "one point on the segment": lambda: (torch.tensor([[0.5, 0.5]]), torch.tensor([0.2, 0.2]),
                                                     torch.tensor([0.8, 0.8]), 0.05)},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    forbid=("vidsynth_lite.data.render.sdf_capsule",),
    hint="h = ((p - a) . (b - a)) / |b - a|^2, clamped to [0, 1] (and safe when a == b: clamp |b - a|^2 away "
         "from 0); d = |p - a - h (b - a)| - radius, one value per point",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1.2 (build): phase correlation, which the chapter then measures the clouds' motion with


def _shifted_pair(g: torch.Generator, h: int | None = None, w: int | None = None):
    h = 16 + 8 * int(torch.randint(0, 3, (1,), generator=g)) if h is None else h
    w = 24 if w is None else w
    a = torch.rand(h, w, generator=g)
    dx = int(torch.randint(-(w // 2) + 1, w // 2, (1,), generator=g))
    dy = int(torch.randint(-(h // 2) + 1, max(h // 2, 1), (1,), generator=g)) if h > 1 else 0
    return a, torch.roll(a, shifts=(dy, dx), dims=(0, 1))


def _same_twice(a: torch.Tensor):
    return a, a.clone()


register(Exercise(
    name="data.phase_correlation",
    points=2,
    kind="build",
    skill="the Fourier shift theorem used as a measuring instrument (cross-power spectrum, its peak, wrap-around)",
    reference=phase_correlation,
    make_inputs=_shifted_pair,
    atol=0.0, rtol=0.0,
    edge_cases={"odd, non-square size": lambda: _shifted_pair(torch.Generator().manual_seed(5), 15, 21),
                "no shift": lambda: _same_twice(torch.rand(12, 20, generator=torch.Generator().manual_seed(4))),
                "a single row": lambda: _shifted_pair(torch.Generator().manual_seed(6), 1, 17)},
    dtypes=(torch.float32, torch.float64),
    hint="normalise B * conj(A) by its magnitude, inverse-FFT, find the peak, wrap indices past the middle "
         "to negative shifts; return torch.tensor([dx, dy]) (x first)",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1.3 (understand): a sub-pixel shift by the shift theorem, which is how the sky world moves its clouds.
# Graded by two laws: an integer shift is torch.roll, and a band-limited periodic image shifted by any (dx, dy)
# equals the same image sampled at (x - dx, y - dy).


def _bandlimited(h: int, w: int, seed: int, dx: float = 0.0, dy: float = 0.0) -> torch.Tensor:
    """A sum of a few sinusoids with frequencies below Nyquist, sampled at (x - dx, y - dy): float64 [h, w]."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(h, dtype=torch.float64)[:, None]
    x = torch.arange(w, dtype=torch.float64)[None, :]
    image = torch.zeros(h, w, dtype=torch.float64)
    for _ in range(4):
        ky = int(torch.randint(-((h - 1) // 2), (h - 1) // 2 + 1, (1,), generator=g))
        kx = int(torch.randint(-((w - 1) // 2), (w - 1) // 2 + 1, (1,), generator=g))
        amplitude, phase = float(torch.rand(1, generator=g)), float(torch.rand(1, generator=g)) * 2 * math.pi
        image += amplitude * torch.cos(2 * math.pi * (kx * (x - dx) / w + ky * (y - dy) / h) + phase)
    return image


def _shift_inputs(g: torch.Generator):
    h, w = (int(v) for v in torch.randint(5, 24, (2,), generator=g))
    integer = bool(torch.rand(1, generator=g) < 0.4)
    dx, dy = ((torch.rand(2, generator=g) - 0.5) * 2 * torch.tensor([w, h]) * 0.6).tolist()
    if integer:
        dx, dy = float(round(dx)), float(round(dy))
    dtype = torch.float32 if bool(torch.rand(1, generator=g) < 0.5) else torch.float64
    return h, w, dx, dy, dtype, int(torch.randint(0, 10_000, (1,), generator=g))


def _shift_laws(student, h, w, dx, dy, dtype, seed):
    tolerance = 1e-4 if dtype == torch.float32 else 1e-9
    for label, image, truth in _shift_cases(h, w, dx, dy, seed):
        image = image.to(dtype)
        got = student(image.clone(), dx, dy)
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor, got {type(got).__name__}"
        if got.is_complex():
            return "the result is complex: return the real part of the inverse FFT"
        if got.shape != image.shape or got.dtype != image.dtype:
            return (f"expected a {tuple(image.shape)} {image.dtype} image, got {tuple(got.shape)} {got.dtype} "
                    "(same shape and dtype as the input)")
        error = (got.double() - truth).abs().max().item()
        if not error <= tolerance * max(1.0, truth.abs().max().item()):
            return f"{label} (dx={dx:g}, dy={dy:g}, {h}x{w}): largest error {error:.3g}"
    return None


def _shift_cases(h, w, dx, dy, seed):
    noise = torch.rand(h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if float(dx).is_integer() and float(dy).is_integer():
        yield "an integer shift must equal torch.roll", noise, torch.roll(noise, (int(dy), int(dx)), (0, 1))
    yield ("a band-limited image must come out sampled at (x - dx, y - dy)", _bandlimited(h, w, seed),
           _bandlimited(h, w, seed, dx, dy))


register(Property(
    name="data.fourier_shift",
    points=2,
    kind="understand",
    skill="the shift theorem: a shift is a phase ramp on signed frequencies, exact at sub-pixel amounts",
    make_inputs=_shift_inputs,
    holds=_shift_laws,
    claim="integer shifts equal torch.roll and band-limited images shift exactly by any (dx, dy)",
    trials=6,
    edge_cases={"zero shift": lambda: (8, 9, 0.0, 0.0, torch.float64, 1),
                "a single row": lambda: (1, 16, 2.5, 0.0, torch.float64, 2),
                "even size, half a pixel": lambda: (8, 12, 0.5, -0.5, torch.float32, 3)},
    forbid=("scipy.ndimage.fourier_shift", "scipy.ndimage.shift"),
    hint="multiply fft2(image) by exp(-2 pi i (kx dx / W + ky dy / H)) with *signed* frequencies "
         "(torch.fft.fftfreq), inverse-FFT, keep the real part, and compute in float64 or complex128",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 1.4 (train): motion features that tell the twelve `actions` classes apart, graded on the held-out
# accuracy of a fixed classifier (standardised features, multinomial logistic regression).
# Measured on this task (240 training and 120 held-out clips, 8 frames at 32 x 32, seed 0): chance is 1/12 =
# 0.08; the stub (mean |x[t+1] - x[t]|, one number) reaches 0.17; the same on a 4 x 4 grid 0.49; the grid's mean
# and spread over time 0.53; the book's solution (grid mean and spread over time plus the track of the moving
# pixels' centroid) 0.63. The goal is 0.5.
GOAL_ACCURACY = 0.5
MAX_FEATURES = 64


@functools.lru_cache(maxsize=1)
def _actions_clips() -> tuple[torch.Tensor, np.ndarray, torch.Tensor, np.ndarray]:
    from vidsynth_lite.data import load

    out = []
    for split, count in (("train", 240), ("test", 120)):
        world = load("actions", split, frames=8, size=32, seed=0)
        items = [world[i] for i in range(count)]
        out += [torch.stack([it["video"] for it in items]), np.array([it["label"] for it in items])]
    return tuple(out)


def _classify_with(student) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_videos, train_labels, test_videos, test_labels = _actions_clips()
    features = []
    for videos in (train_videos, test_videos):
        f = student(videos.clone())
        if not isinstance(f, torch.Tensor) or f.ndim != 2 or f.shape[0] != len(videos):
            shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
            raise Problem(f"expected features [B, F] with B = {len(videos)} clips, got {shape}")
        if f.shape[1] > MAX_FEATURES:
            raise Problem(f"{f.shape[1]} features per clip: keep to at most {MAX_FEATURES} (summaries, not pixels)")
        if not torch.isfinite(f).all():
            raise Problem("the features contain NaN or inf")
        features.append(f.detach().double().numpy())
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(features[0], train_labels)
    return {"features": int(features[0].shape[1]), "held-out accuracy": float(classifier.score(features[1], test_labels)),
            "chance": 1 / 12}


register(Outcome(
    name="data.motion_features",
    points=2,
    kind="train",
    skill="what distinguishes classes of motion (where and when pixels change), measured by a trained classifier",
    measure=_classify_with,
    goal=lambda m: m["held-out accuracy"] >= GOAL_ACCURACY,
    goal_text=f"a logistic regression on your features classifies at least {GOAL_ACCURACY:.0%} of 120 held-out "
              f"actions clips correctly (12 classes, chance 8 %)",
    hint="one number per clip cannot separate 12 classes: measure motion per region (a grid) and over time "
         "(its mean and spread per region, or where the moving pixels are in each frame)",
))


# ---------------------------------------------------------------------------------------------------------------
# Quiz (closing block)
register(Choice(
    name="data.quiz_split",
    skill="how a generated dataset keeps train and test apart and every item reproducible",
    options=("a", "b", "c", "d"),
    answer_sha256="86ff5084cd13eeecfdb8e9417310df442f8a6f5288b432142a9ca1b0e89f78ed",
    hint="re-read 'Pure functions of the index': what goes into the seed of item i?",
))
