"""The response battery: graded corruptions of real clips, and what a feature network's score does with them.

A video metric is trustworthy only if its score rises above the real-vs-real floor for every damage a person
sees, and rises with the damage's strength (issue 15). The battery takes three disjoint real sets, A (real), B
(reference) and C (the base of every corruption), scores A against corrupted C at graded strengths, and compares
each score with the floor (A vs B and A vs C at the same N, over disjoint draws).

Families (``FAMILIES``; each corruption at a higher strength contains the weaker one's random draws, scaled, so
that the curves are smooth in the strength):

==================  ==================================================================  =====================
family              what it does to each clip                                            strength
==================  ==================================================================  =====================
noise               i.i.d. Gaussian noise on every pixel of every frame                  sigma ([-1, 1] units)
static noise        one Gaussian noise image added to every frame (constant over time)   sigma
blur                Gaussian blur of every frame                                         sigma in pixels
colour shift        ``(+s, 0, -s)`` added to (R, G, B)                                   s
flicker             a random brightness offset per frame, uniform in ``[-a, a]``         a
freeze              frames from ``k`` on show frame ``k - 1``                            frozen frames
block shuffle       the clip cut into blocks of ``L`` frames, blocks permuted             16 / L blocks
time reversal       a fraction of the clips played backwards                             fraction of clips
copy last           a fraction of the clips: frames after the 4th show the 4th           fraction of clips
==================  ==================================================================  =====================

:func:`response` computes the scores, :meth:`BatteryResponse.failures` applies the rule of the test: a family
that a person sees fails when its strongest corruption does not rise above the floor's mean + 3 std, or when its
score falls from one strength to the next by more than the floor's std and more than twice the std over draws of the
paired difference (a fall the draws resolve, by the rule of every verdict in the book).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from vidsynth_lite.checks import InputError, check_same_clips, check_video


def _uniform(x: torch.Tensor, generator: torch.Generator, *shape) -> torch.Tensor:
    return torch.rand(*shape, generator=generator, dtype=x.dtype)


def _noise(x, s, g):
    return x + s * torch.randn(x.shape, generator=g, dtype=x.dtype)


def _static_noise(x, s, g):
    n, _, c, h, w = x.shape
    return x + s * torch.randn(n, 1, c, h, w, generator=g, dtype=x.dtype)   # the same image on every frame


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of every frame of ``[N, T, C, H, W]`` (reflect padding, radius ceil(3 sigma))."""
    if sigma <= 0:
        return x
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = k / k.sum()
    n, t, c, h, w = x.shape
    y = x.reshape(n * t * c, 1, h, w)                                          # [N*T*C, 1, H, W]
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return y.reshape(n, t, c, h, w)


def _blur(x, s, g):
    return gaussian_blur(x, s)


def _colour(x, s, g):
    return x + s * torch.tensor([1.0, 0.0, -1.0], dtype=x.dtype).view(1, 1, 3, 1, 1)


def _flicker(x, s, g):
    return x + s * (2 * _uniform(x, g, x.shape[0], x.shape[1], 1, 1, 1) - 1)


def _freeze(x, k, g):
    k = int(k)
    out = x.clone()
    out[:, k:] = x[:, k - 1:k]
    return out


def _block_shuffle(x, blocks, g):
    t = x.shape[1]
    blocks = int(blocks)
    if t % blocks:
        raise InputError(f"block shuffle: {t} frames cannot be cut into {blocks} equal blocks")
    size = t // blocks
    out = []
    for clip in x:
        while True:
            perm = torch.randperm(blocks, generator=g)
            if not torch.equal(perm, torch.arange(blocks)):
                break
        out.append(clip.view(blocks, size, *clip.shape[1:])[perm].reshape_as(clip))   # [T, C, H, W]
    return torch.stack(out)


def _fraction(x, p, g, change):
    chosen = _uniform(x, g, x.shape[0]) < p                                   # [N] the same u for every p
    return torch.where(chosen.view(-1, 1, 1, 1, 1), change(x), x)


def _reversal(x, p, g):
    return _fraction(x, p, g, lambda v: v.flip(1))


COPY_FROM = 4                                                                  # the chapters' conditioning length


def _copy_last(x, p, g):
    def copy(v):
        out = v.clone()
        out[:, COPY_FROM:] = v[:, COPY_FROM - 1:COPY_FROM]
        return out
    return _fraction(x, p, g, copy)


@dataclasses.dataclass(frozen=True)
class Family:
    """A graded corruption: ``apply(videos, strength, generator)``; strengths from weakest to strongest."""

    name: str
    strengths: tuple[float, ...]
    unit: str
    apply: Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("noise", (0.025, 0.05, 0.1, 0.2), "sigma", _noise),
    Family("static noise", (0.025, 0.05, 0.1, 0.2), "sigma", _static_noise),
    Family("blur", (0.5, 1.0, 1.5, 2.5), "sigma (pixels)", _blur),
    Family("colour shift", (0.05, 0.1, 0.2, 0.4), "shift", _colour),
    Family("flicker", (0.02, 0.05, 0.1, 0.2), "amplitude", _flicker),
    Family("freeze", (12, 8, 4, 1), "from frame", _freeze),
    Family("block shuffle", (2, 4, 8, 16), "blocks", _block_shuffle),
    Family("time reversal", (0.25, 0.5, 1.0), "fraction of clips", _reversal),
    Family("copy last", (0.25, 0.5, 1.0), "fraction of clips", _copy_last),
)}
# What a person sees on each world at the strongest strength. Time reversal is visible only where time has an
# arrow (pushing, drumming); clouds, most actions and faces played backwards are other valid clips.
SEEN = {world: tuple(n for n in FAMILIES if n != "time reversal" or world in ("pushbot", "drums"))
        for world in ("pushbot", "sky", "actions", "drums", "faces")}


def corrupt(videos: torch.Tensor, family: str | Family, strength: float, seed: int = 0) -> torch.Tensor:
    """``videos [N, T, 3, H, W]`` in [-1, 1] corrupted by ``family`` at ``strength`` (clamped to [-1, 1]).

    The random draws depend on ``seed`` only, not on the strength: a stronger corruption scales the same noise.
    """
    check_video(videos, name="videos")
    fam = FAMILIES[family] if isinstance(family, str) else family
    g = torch.Generator().manual_seed(seed)
    return fam.apply(videos.float(), strength, g).clamp(-1.0, 1.0)


@dataclasses.dataclass
class BatteryResponse:
    """Scores of corrupted sets against the real set, per draw, beside the floor."""

    network: str
    n_per_draw: int
    floor_draws: list[float]                                # A vs B and A vs C in every draw
    values: dict[str, dict[float, list[float]]]             # family -> strength -> score per draw
    metric: str = "FVD"

    @property
    def floor(self) -> tuple[float, float]:
        """Mean and std of the real-vs-real scores."""
        f = np.asarray(self.floor_draws)
        return float(f.mean()), float(f.std(ddof=1))

    def mean(self, family: str) -> list[float]:
        return [float(np.mean(v)) for v in self.values[family].values()]

    def threshold(self) -> float:
        mean, std = self.floor
        return mean + 3 * std

    def failures(self, families=None) -> list[str]:
        """The families (of ``families``, default all measured) that fail the battery's rule, with the numbers."""
        mean, std = self.floor
        out = []
        for name in families or self.values:
            strengths = list(self.values[name])
            means = self.mean(name)
            if means[-1] <= self.threshold():
                out.append(f"{name}: at its strongest ({strengths[-1]}) {means[-1]:.3g} does not rise above the "
                           f"floor's spread ({mean:.3g} + 3 x {std:.2g} = {self.threshold():.3g})")
            drops = [(strengths[i], strengths[i + 1]) for i in range(len(means) - 1)
                     if means[i + 1] < means[i] - self._tolerance(name, i)]
            if drops:
                out.append(f"{name}: falls with strength between {drops} ({[round(m, 3) for m in means]}, "
                           f"floor std {std:.2g})")
        return out

    def _tolerance(self, name: str, i: int) -> float:
        """How far a score may fall from strength ``i`` to ``i + 1`` before it counts: the floor's std, or -- the
        rule of every verdict in the book (``Evaluation.compare``) -- twice the std over draws of the paired
        difference, when that is larger (high scores vary more than the floor)."""
        per = list(self.values[name].values())
        diff = np.asarray(per[i + 1]) - np.asarray(per[i])
        sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        return max(self.floor[1], 2 * sd)

    def to_dict(self) -> dict:
        mean, std = self.floor
        return {"network": self.network, "metric": self.metric, "n_per_draw": self.n_per_draw,
                "floor_mean": mean, "floor_std": std, "floor_draws": self.floor_draws,
                "values": {f: {str(s): v for s, v in d.items()} for f, d in self.values.items()}}


def response(features: Callable, real: torch.Tensor, reference: torch.Tensor, base: torch.Tensor, *,
             families=None, draws: int = 2, seed: int = 0, network: str = "network", metric: str = "FVD",
             known: dict | None = None):
    """Score ``real`` against every corruption of ``base`` with ``features`` (Frechet distance per draw).

    ``real``, ``reference`` and ``base`` are disjoint real sets of one shape; ``families`` maps a family name
    to its strengths (default: every family at its strengths). Each of ``draws`` disjoint draws scores
    ``n = N / draws`` clips per side.

    ``features(videos)`` returns ``[N, D]`` (one sample per clip) or ``[N, T, D]`` (every frame a sample, as
    FID-syn; the frames of a clip stay in its draw), or a dict of such tensors: then the result is a dict of
    responses, one per name (one pass of the network serves several scores). ``known`` may hold the features
    already computed for ``"real"``, ``"reference"`` and ``"base"`` (whatever ``features`` would return).
    """
    from vidsynth_lite.metrics.frechet import frechet_distance_from_features
    for name, v in (("real", real), ("reference", reference), ("base", base)):
        check_video(v, name=name)
        check_same_clips(real, v, names=("real", name))
        if v.shape[0] != real.shape[0]:
            raise InputError(f"{name} has {v.shape[0]} clips and real {real.shape[0]}: the sets must be equal")
    m = real.shape[0]
    if m % draws or m // draws < 2:
        raise InputError(f"{m} clips cannot be split into {draws} equal draws of at least 2")
    n = m // draws
    blocks = [slice(d * n, (d + 1) * n) for d in range(draws)]
    known = known or {}

    several = []                                       # does ``features`` return a dict (several scores)?

    def feats(v, which=None):
        out = known[which] if which in known else features(v)
        several.append(isinstance(out, dict))
        named = out if isinstance(out, dict) else {metric: out}
        return {k: torch.as_tensor(x).double() for k, x in named.items()}

    def score(x, y):                                   # one value per draw; [n, T, D] -> every frame a sample
        return [frechet_distance_from_features(x[b].reshape(-1, x.shape[-1]).numpy(),
                                               y[b].reshape(-1, y.shape[-1]).numpy()) for b in blocks]

    fa, fb, fc = feats(real, "real"), feats(reference, "reference"), feats(base, "base")
    families = families or {name: f.strengths for name, f in FAMILIES.items()}
    values = {k: {} for k in fa}
    for name, strengths in families.items():
        for k in fa:
            values[k][name] = {}
        for s in strengths:
            fx = feats(corrupt(base, name, s, seed))
            for k in fa:
                values[k][name][s] = score(fa[k], fx[k])
    out = {k: BatteryResponse(network=network, n_per_draw=n, floor_draws=score(fa[k], fb[k]) + score(fa[k], fc[k]),
                              values=values[k], metric=k) for k in fa}
    return out if several[0] else out[metric]
