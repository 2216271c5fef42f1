"""Make a student copy of a chapter: cells tagged ``solution`` are removed, everything else is kept.

``python -m vidsynth_lite.booktools.assignment notebooks/00_running_the_book.py assignments/00.ipynb``
(or ``make assignment CHAPTER=00_running_the_book``). The checker cells stay, so students see their verdicts.
"""

from __future__ import annotations

import sys
from pathlib import Path


def strip_solutions(source: str | Path):
    """The chapter as a notebook without its ``solution`` cells, and no outputs."""
    import jupytext

    notebook = jupytext.read(Path(source))
    notebook.cells = [c for c in notebook.cells if "solution" not in c.get("metadata", {}).get("tags", [])]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m vidsynth_lite.booktools.assignment SOURCE.py OUTPUT.ipynb", file=sys.stderr)
        return 2
    import nbformat

    notebook = strip_solutions(argv[0])
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
    print(f"wrote {out} ({len(notebook.cells)} cells, solutions removed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
