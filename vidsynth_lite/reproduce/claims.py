"""Claims and paper tables: what each chapter checks of its paper, in one form the Reproduction page reads.

A **claim** is a sentence the paper states ("the flow module F improves FVD"), where it states it, and a verdict
*computed from the run* -- never prose written in advance:

- ``reproduced``: the run resolves the comparison (paired difference over disjoint draws or seeds larger than twice
  its standard deviation) in the paper's direction;
- ``not reproduced``: resolved, in the other direction;
- ``not resolved at this N``: the difference is within twice its spread (or there is a single draw);
- ``not testable at this profile``: the chapter says why, and which ``full`` run would test it.

Each carries its evidence (``numbers``: values, difference, spread, draws, N), its effect size (difference over
its standard deviation) and the profile it was measured at. A **paper table** is one of the paper's tables with
our numbers beside the paper's, columns named with their protocol. Chapters store both in their results file
(``metrics["claims"]``, ``metrics["paper_tables"]``) through :func:`claims_record` / :func:`tables_record`.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from typing import Any

REPRODUCED = "reproduced"
CONTRADICTED = "not reproduced"
NOT_RESOLVED = "not resolved at this N"
NOT_TESTED = "not testable at this profile"
VERDICTS = (REPRODUCED, CONTRADICTED, NOT_RESOLVED, NOT_TESTED)


@dataclasses.dataclass
class Claim:
    claim: str                      # the paper's claim, in words
    source: str                     # where the paper makes it ("CCVS Table 1", "Walker et al. Sec. 5.2")
    verdict: str                    # one of VERDICTS, computed
    numbers: str                    # the evidence: values, difference, spread, draws / seeds, N
    profile: str                    # the profile it was measured at
    effect: float | None = None     # difference / its standard deviation (None with one draw)
    why: str = ""                   # for NOT_TESTED: why, and which full run would test it

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: expected one of {list(VERDICTS)}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["effect"] is not None and not math.isfinite(out["effect"]):
            out["effect"] = None
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Claim:
        return cls(**{f.name: d.get(f.name, f.default) for f in dataclasses.fields(cls)
                      if f.name in d or f.default is not dataclasses.MISSING})

    def __str__(self) -> str:
        tail = f" -- {self.why}" if self.why else ""
        return f"[{self.verdict.upper()}] {self.claim} ({self.source}): {self.numbers}{tail}"


def from_verdict(claim: str, source: str, verdict, *, expect_winner: str, profile: str) -> Claim:
    """A claim from a paired comparison (``vl.metrics.Evaluation.compare``): the paper expects ``expect_winner``
    (one of the two compared rows) to be the better one."""
    if expect_winner not in (verdict.a, verdict.b):
        raise ValueError(f"expect_winner {expect_winner!r} is neither {verdict.a!r} nor {verdict.b!r}")
    if not verdict.resolved:
        outcome = NOT_RESOLVED
    else:
        outcome = REPRODUCED if verdict.winner == expect_winner else CONTRADICTED
    return Claim(claim, source, outcome, verdict.text, profile, verdict.effect)


def from_paired_values(claim: str, source: str, a: Sequence[float], b: Sequence[float], *, a_name: str,
                       b_name: str, metric: str, lower_is_better: bool, expect_a_better: bool, profile: str,
                       unit: str = "seeds") -> Claim:
    """A claim from paired measurements (one pair per seed or draw): resolved when the mean difference exceeds
    twice its standard deviation."""
    if len(a) != len(b) or len(a) < 1:
        raise ValueError(f"need the same number (>= 1) of paired values, got {len(a)} and {len(b)}")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    mean = sum(diffs) / len(diffs)
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) if len(diffs) > 1 else None
    resolved = std is not None and mean != 0 and abs(mean) > 2 * std
    a_better = (mean < 0) if lower_is_better else (mean > 0)
    ma, mb = sum(map(float, a)) / len(a), sum(map(float, b)) / len(b)
    spread = f"std {std:.3g} over {len(diffs)} {unit}" if std is not None else f"one {unit[:-1]}: no spread"
    numbers = f"{metric}: {a_name} {ma:.4g} vs {b_name} {mb:.4g} (difference {mean:+.3g}, {spread})"
    if not resolved:
        outcome = NOT_RESOLVED
    else:
        outcome = REPRODUCED if a_better == expect_a_better else CONTRADICTED
    effect = mean / std if std else None
    return Claim(claim, source, outcome, numbers, profile, effect)


def not_tested(claim: str, source: str, why: str, *, profile: str) -> Claim:
    """A claim this profile cannot test; ``why`` says why and which ``full`` run would test it."""
    if not why.strip():
        raise ValueError("say why the claim cannot be tested at this profile, and what would test it")
    return Claim(claim, source, NOT_TESTED, "-", profile, None, why)


@dataclasses.dataclass
class PaperTable:
    """One of the paper's tables, our numbers beside the paper's. ``columns`` name their protocol."""

    name: str                           # "CCVS Table 1: ablations on BAIR"
    columns: list[str]                  # e.g. ["row", "paper: FVD (BAIR, real I3D)", "ours: FVD-syn (pushbot)"]
    rows: list[list[Any]]
    note: str = ""                      # how the protocols differ

    def __post_init__(self) -> None:
        bad = [r for r in self.rows if len(r) != len(self.columns)]
        if bad:
            raise ValueError(f"{self.name}: rows must have {len(self.columns)} cells, got {bad[0]}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def claims_record(claims: Sequence[Claim]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in claims]


def tables_record(tables: Sequence[PaperTable]) -> dict[str, dict[str, Any]]:
    return {t.name: t.to_dict() for t in tables}


def counts(claims: Sequence[Claim]) -> dict[str, int]:
    return {v: sum(c.verdict == v for c in claims) for v in VERDICTS}


class ClaimsView:
    """Notebook display of a list of claims: one row each, verdict first."""

    def __init__(self, claims: Sequence[Claim]):
        self.claims = list(claims)

    def _repr_html_(self) -> str:
        colours = {REPRODUCED: "#1b7f3b", CONTRADICTED: "#b42318", NOT_RESOLVED: "#8a6d00", NOT_TESTED: "#555"}
        rows = "".join(
            f'<tr><td style="color:{colours[c.verdict]};font-weight:600">{html.escape(c.verdict)}</td>'
            f"<td>{html.escape(c.claim)}<br><small>{html.escape(c.source)}</small></td>"
            f"<td><small>{html.escape(c.numbers)}{'<br>' + html.escape(c.why) if c.why else ''}</small></td>"
            f"<td>{'' if c.effect is None else f'{c.effect:+.1f}'}</td><td>{html.escape(c.profile)}</td></tr>"
            for c in self.claims)
        return ('<table class="vidsynth-claims"><thead><tr><th>verdict</th><th>claim</th><th>evidence</th>'
                f"<th>effect (std)</th><th>profile</th></tr></thead><tbody>{rows}</tbody></table>")

    def __repr__(self) -> str:
        return "\n".join(map(str, self.claims))


def show_claims(claims: Sequence[Claim]) -> ClaimsView:
    return ClaimsView(claims)
