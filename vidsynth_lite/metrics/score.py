"""A metric value that never travels without the protocol that produced it.

Public FVD numbers disagree because implementations differ in weights, value range, resize, feature layer,
sample count and covariance estimator (see chapter 2). A :class:`Score` therefore carries its protocol, and,
where computed, the spread over disjoint draws (``std``) and the same-distribution floor (``floor``: the
score of real data against other real data at the same sample count).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass
class Score:
    """One number with its protocol.

    ``value``: the score (for several disjoint draws, their mean); ``protocol``: everything needed to
    reproduce it (metric, feature network and its hash, preprocessing, clip length, stride, resolution,
    numbers of samples, split, seeds, estimator); ``std``: standard deviation over disjoint draws;
    ``floor``: the same metric between two disjoint real samples of the same size; ``draws`` / ``floor_draws``:
    the value and the floor in each disjoint draw (what :func:`vidsynth_lite.metrics.compare` pairs).
    """

    value: float
    protocol: dict = dataclasses.field(default_factory=dict)
    std: float | None = None
    floor: float | None = None
    draws: list[float] | None = None
    floor_draws: list[float] | None = None

    @property
    def name(self) -> str:
        return str(self.protocol.get("metric", "score"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: score and protocol together (what ``results/*.json`` stores)."""
        return {"value": _clean(self.value), "std": _clean(self.std), "floor": _clean(self.floor),
                "draws": None if self.draws is None else [_clean(v) for v in self.draws],
                "floor_draws": None if self.floor_draws is None else [_clean(v) for v in self.floor_draws],
                "protocol": dict(self.protocol)}

    @classmethod
    def from_dict(cls, d: dict) -> Score:
        return cls(value=d["value"], protocol=dict(d.get("protocol", {})), std=d.get("std"),
                   floor=d.get("floor"), draws=d.get("draws"), floor_draws=d.get("floor_draws"))

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        text = format(self.value, spec)
        if self.std is not None:
            text += " +- " + format(self.std, spec)
        if self.floor is not None:
            text += " (floor " + format(self.floor, spec) + ")"
        return text

    def __str__(self) -> str:
        return f"{self.name} = {self:.4g}"  # format spec given: number, std and floor only

    def __float__(self) -> float:
        return float(self.value)


def _clean(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def protocol_line(protocol: dict) -> str:
    """The protocol as one ``key=value`` line, in a fixed order (metric first)."""
    keys = ["metric"] + sorted(k for k in protocol if k != "metric")
    return ", ".join(f"{k}={protocol[k]}" for k in keys if k in protocol)


def show(*scores: Score, file=None) -> str:
    """Print each score beside its protocol and return the printed text.

    Example line: ``FVD-syn = 12.3 +- 0.8 (floor 4.1)  [metric=FVD-syn, network=syn-i3d@1a2b.., n_real=64, ...]``.
    """
    lines = [f"{s}  [{protocol_line(s.protocol)}]" for s in scores]
    text = "\n".join(lines)
    print(text, file=file)
    return text
