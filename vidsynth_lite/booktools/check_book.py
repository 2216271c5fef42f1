"""After ``jupyter-book build``: every chapter page must show executed outputs, and the teacher page the run
time of every chapter.

jupyter-book is told to stop on any failing cell; this check is the second lock. A notebook page whose code
cells carry no output at all means a chapter was rendered unexecuted, which must never pass silently. The
teacher page tabulates the chapters' results files, so it is only right when it was executed after them.
"""

from __future__ import annotations

import sys
from pathlib import Path


def pages_without_outputs(html_dir: str | Path) -> list[Path]:
    pages = sorted(Path(html_dir).glob("notebooks/*.html"))
    if not pages:
        raise SystemExit(f"no chapter pages under {html_dir}/notebooks: did the build run?")
    return [p for p in pages if "cell_output" not in p.read_text(errors="replace")]


UNMEASURED = "not measured"    # what booktools.teacher.cpu_time writes for a chapter without a lite results file


def teacher_rows_unmeasured(html_dir: str | Path) -> int:
    """How many chapters the teacher page lists without a run time at ``lite`` (0 when there is no such page)."""
    page = Path(html_dir) / "book" / "teacher.html"
    return page.read_text(errors="replace").count(UNMEASURED) if page.exists() else 0


def main(argv: list[str]) -> int:
    html_dir = argv[0] if argv else "_build/html"
    empty = pages_without_outputs(html_dir)
    for page in empty:
        print(f"!! {page} has no cell outputs: the chapter was not executed", file=sys.stderr)
    total = len(list(Path(html_dir).glob("notebooks/*.html")))
    print(f"{total - len(empty)}/{total} chapter pages carry executed outputs")
    unmeasured = teacher_rows_unmeasured(html_dir)
    if unmeasured:
        print(f"!! the teacher page lists {unmeasured} chapter(s) as '{UNMEASURED}': it was executed before the "
              "chapters wrote their results files", file=sys.stderr)
    return 1 if empty or unmeasured else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
