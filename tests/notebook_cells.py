"""Read chapter sources (jupytext percent files) as cells, for the tests."""

from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))


def cells(source: pathlib.Path):
    import jupytext

    return jupytext.read(source).cells


def tagged(source: pathlib.Path, tag: str) -> list[str]:
    return [c.source for c in cells(source) if tag in c.get("metadata", {}).get("tags", [])]
