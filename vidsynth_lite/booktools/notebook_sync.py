"""Check that generated notebooks (``.ipynb``) agree with their jupytext sources (``.py``).

The ``.py`` files are the sources we commit; the ``.ipynb`` files that nbval, papermill and jupyter-book need
are generated from them. A reader who edits a generated notebook in JupyterLab without jupytext pairing would
otherwise test or render something other than the source. ``python -m vidsynth_lite.booktools.notebook_sync
notebooks/*.py`` exits 1 and names the first differing cell.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", [])))
            for c in notebook.cells]


def difference(source: str | Path, generated: str | Path) -> str | None:
    """None when ``generated`` holds the same cells (type, text, tags) as ``source``; else what differs."""
    import jupytext
    import nbformat

    source, generated = Path(source), Path(generated)
    if not generated.is_file():
        return f"{generated} is missing; run `make notebooks`"
    want = _cells(jupytext.read(source))
    got = _cells(nbformat.read(generated, as_version=4))
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            what = "type" if w[0] != g[0] else ("tags" if w[2] != g[2] else "text")
            return f"{generated} differs from {source} at cell {i + 1} ({what}); regenerate with `make notebooks`"
    if len(want) != len(got):
        return f"{generated} has {len(got)} cells, {source} has {len(want)}; regenerate with `make notebooks`"
    return None


def main(argv: list[str]) -> int:
    problems = [p for p in (difference(s, Path(s).with_suffix(".ipynb")) for s in argv) if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(argv) - len(problems)}/{len(argv)} notebooks agree with their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
