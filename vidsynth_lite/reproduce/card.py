"""The run card every chapter ends with: what a reader is looking at, read from the chapter's results file.

A page of the book is one execution of its chapter. The card says at which profile it ran, how long it took,
on which machine, and when, so that nobody mistakes a 2-minute ``smoke`` page for the ``lite`` book or a CPU run
for a GPU one. It reads ``results/<chapter>.json`` only (never the live kernel), so it shows what was stored.
"""

from __future__ import annotations

import html
from typing import Any

from vidsynth_lite.reproduce.results import read_results

CARD_CLASS = "vidsynth-run-card"   # the site check looks for it on every chapter page


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _machine(environment: dict[str, Any]) -> str:
    parts = [environment.get("cpu") or environment.get("platform", "unknown platform")]
    if environment.get("gpu"):
        parts.insert(0, f"{environment['gpu']} (CUDA {environment.get('cuda', '?')})")
    threads = environment.get("threads")
    cores = environment.get("cpu_count")
    if threads is not None:
        parts.append(f"{threads} torch thread{'s' if threads != 1 else ''}" + (f" of {cores} cores" if cores else ""))
    parts.append(f"device {environment.get('device', '?')}")
    parts.append(f"torch {environment.get('torch', '?')}")
    return ", ".join(str(p) for p in parts)


def run_card(chapter: str, root=None) -> dict[str, str]:
    """The card's facts as text: ``profile``, ``time``, ``machine``, ``written``, ``results``."""
    record = read_results(chapter, root)
    env = record.get("environment", {})
    return {"profile": str(record["profile"]), "time": _duration(record.get("seconds")),
            "machine": _machine(env), "written": str(record.get("written", "unknown")),
            "results": f"results/{chapter}.json"}


def card_html(chapter: str, root=None) -> str:
    facts = run_card(chapter, root)
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts.items())
    return (f'<div class="{CARD_CLASS}" style="border:1px solid #ccd;border-radius:6px;padding:0.5em 1em;'
            f'margin:1em 0;font-size:0.9em"><strong>This page is one run of the chapter</strong>'
            f'<dl style="display:grid;grid-template-columns:max-content 1fr;gap:0.1em 1em;margin:0.4em 0 0">'
            f"{rows}</dl></div>")


class RunCard:
    """Displays as HTML in a notebook (and the rendered book), as text elsewhere."""

    def __init__(self, chapter: str, root=None):
        self.chapter, self.root = chapter, root

    def _repr_html_(self) -> str:
        return card_html(self.chapter, self.root)

    def __repr__(self) -> str:
        return "\n".join(f"{k:>8}: {v}" for k, v in run_card(self.chapter, self.root).items())


def show_run(chapter: str, root=None) -> RunCard:
    """The last cell of every chapter: ``vl.reproduce.show_run("vqvae")``."""
    return RunCard(chapter, root)
