"""The Reproduction page's tables, built from ``results/*.json`` only (no number is typed in).

- :func:`overview`: one row per chapter that has results: profile, run time, device, when, and how many of its
  claims were reproduced / not reproduced / not resolved / not testable;
- :func:`claims`: every claim every chapter checks, with its verdict, effect size and profile;
- :func:`paper_tables`: each chapter's paper tables, our numbers beside the paper's.
"""

from __future__ import annotations

from typing import Any

from vidsynth_lite.reproduce.claims import VERDICTS, Claim, PaperTable
from vidsynth_lite.reproduce.results import available, read_results


def _claims_of(chapter: str, record: dict[str, Any]) -> list[Claim]:
    found = record["metrics"].get("claims", [])
    if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
        raise ValueError(f"results/{chapter}.json: metrics['claims'] must be a list of claim "
                         f"records (vl.reproduce.claims.claims_record), got {type(found).__name__}")
    return [Claim.from_dict(c) for c in found]


def overview(root=None):
    """One row per chapter with results: profile, seconds, device, written, claim counts by verdict."""
    import pandas as pd

    rows = []
    for chapter in available(root):
        record = read_results(chapter, root)
        found = _claims_of(chapter, record)
        row = {"chapter": chapter, "profile": record["profile"],
               "run time (s)": None if record.get("seconds") is None else round(float(record["seconds"])),
               "device": record["environment"].get("device", ""), "written": record.get("written", "")}
        row.update({verdict: sum(c.verdict == verdict for c in found) for verdict in VERDICTS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["chapter", "profile", "run time (s)", "device", "written", *VERDICTS])


def claims(root=None):
    """Every claim of every chapter: chapter, claim, source, verdict, effect size (difference / std), evidence."""
    import pandas as pd

    rows = []
    for chapter in available(root):
        record = read_results(chapter, root)
        for c in _claims_of(chapter, record):
            rows.append({"chapter": chapter, "claim": c.claim, "source": c.source, "verdict": c.verdict,
                         "effect (std)": None if c.effect is None else round(c.effect, 1),
                         "evidence": c.numbers if not c.why else f"{c.numbers} ({c.why})",
                         "profile": c.profile})
    return pd.DataFrame(rows, columns=["chapter", "claim", "source", "verdict", "effect (std)", "evidence",
                                       "profile"])


def paper_tables(chapter: str, root=None) -> list[tuple[PaperTable, Any]]:
    """The chapter's paper tables as ``(table, DataFrame)`` pairs."""
    import pandas as pd

    record = read_results(chapter, root)
    out = []
    for entry in record["metrics"].get("paper_tables", {}).values():
        table = PaperTable(**entry)
        out.append((table, pd.DataFrame(table.rows, columns=table.columns)))
    return out
