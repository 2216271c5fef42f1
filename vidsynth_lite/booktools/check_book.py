"""After ``jupyter-book build``: every chapter page must show executed outputs, and the teacher page the run
time of every chapter.

jupyter-book is told to stop on any failing cell; this check is the second lock. A notebook page whose code
cells carry no output at all means a chapter was rendered unexecuted, which must never pass silently. The
teacher page tabulates the chapters' results files, so it is only right when it was executed after them.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from vidsynth_lite.booktools.teacher import RUN_TIME_HEADER, UNMEASURED


def pages_without_outputs(html_dir: str | Path) -> list[Path]:
    pages = sorted(Path(html_dir).glob("notebooks/*.html"))
    if not pages:
        raise SystemExit(f"no chapter pages under {html_dir}/notebooks: did the build run?")
    return [p for p in pages if "cell_output" not in p.read_text(errors="replace")]




def _cells(row_html: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.DOTALL)]


def teacher_rows_unmeasured(html_dir: str | Path) -> int:
    """How many chapters the teacher page's syllabus lists without a run time at ``lite`` (0 when there is no
    teacher page). Only the syllabus's run-time column counts: prose may say "not measured" about other things."""
    page = Path(html_dir) / "book" / "teacher.html"
    if not page.exists():
        return 0
    for table in re.findall(r"<table.*?</table>", page.read_text(errors="replace"), re.DOTALL):
        rows = [_cells(r) for r in re.findall(r"<tr.*?</tr>", table, re.DOTALL)]
        header = next((i for i, h in enumerate(rows[0]) if RUN_TIME_HEADER in h), None) if rows else None
        if header is not None:
            return sum(UNMEASURED in row[header] for row in rows[1:] if len(row) > header)
    raise SystemExit(f"{page} has no syllabus table (no column '{RUN_TIME_HEADER}')")


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
