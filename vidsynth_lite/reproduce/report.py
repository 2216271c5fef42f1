"""Tables for the reproduction page, built from ``results/*.json`` only."""

from __future__ import annotations

from typing import Any

from vidsynth_lite.reproduce.results import available, read_results


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def metrics_table(chapter: str):
    """A DataFrame with one row per metric: name, value, and the chapter's profile."""
    import pandas as pd

    record = read_results(chapter)
    flat: dict[str, Any] = {}
    _flatten("", record["metrics"], flat)
    return pd.DataFrame({"metric": list(flat), "value": list(flat.values()), "profile": record["profile"]})


def protocol_table(chapter: str):
    """A DataFrame with one row per protocol entry of the chapter's results."""
    import pandas as pd

    flat: dict[str, Any] = {}
    _flatten("", read_results(chapter)["protocol"], flat)
    return pd.DataFrame({"protocol": list(flat), "value": [str(v) for v in flat.values()]})


def overview():
    """One row per chapter that has results: profile, when, device, number of metrics."""
    import pandas as pd

    rows = []
    for chapter in available():
        record = read_results(chapter)
        rows.append({"chapter": chapter, "profile": record["profile"], "written": record.get("written", ""),
                     "device": record["environment"].get("device", ""), "metrics": len(record["metrics"])})
    return pd.DataFrame(rows, columns=["chapter", "profile", "written", "device", "metrics"])
