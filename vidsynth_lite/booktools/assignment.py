"""Student versions of the chapters, in the format nbgrader reads and released with nbgrader (``make assignments``).

From each chapter source this writes an nbgrader *course directory*::

    assignments/
      nbgrader_config.py                    the course's settings (the book's stubs stay; cells may run long)
      source/<chapter>/<chapter>.ipynb      the teacher's version: solutions inside nbgrader's solution regions
      release/<chapter>/<chapter>.ipynb     the students' version, made by ``nbgrader generate_assignment``

In the source version each exercise is two cells. The *answer cell* (nbgrader: ``solution``) holds the book's stub
and, after it, the book's solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the course's
``ClearSolutions.code_stub`` is empty, so nbgrader's release keeps the book's stub (a docstring, a buggy loop to
repair, a weak first answer) and drops the solution. The *grade cell* (``grade``, locked, with the exercise's
points) is ``vl.exercises.grade("<name>", <function>)``: it raises when the checker fails, which is how nbgrader
scores a test cell. Written answers (markdown cells tagged ``solution``) become nbgrader's manually graded answer
cells ("YOUR ANSWER HERE" in the release). The release carries no solution, no answer key and no outputs.

A teacher then runs the usual nbgrader commands in ``assignments/`` (``nbgrader release_assignment``,
``collect``, ``autograde``, ``formgrade``); :func:`validate` runs ``nbgrader validate`` on a notebook.

``python -m vidsynth_lite.booktools.assignment [--course DIR] [notebooks/NN_name.py ...]``
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vidsynth_lite.booktools.exercise_cells import read_chapter

COURSE = Path("assignments")
SETUP = "import math\n\nimport numpy as np\nimport torch\n\nimport vidsynth_lite as vl"   # what an answer may use

NBGRADER_CONFIG = '''"""nbgrader settings of the vidsynth-lite course (written by `make assignments`; edit freely)."""

c = get_config()  # noqa: F821 - nbgrader provides it
# The book's stubs sit above each solution region; nbgrader's default stub would add "raise NotImplementedError()".
c.ClearSolutions.code_stub = {"python": ""}
# A chapter's cells may train for minutes at the lite profile.
c.Execute.timeout = 3600
'''

STUDENT_NOTE = ("**Student version.** The worked solutions and the answer key are not in this notebook. Each "
                "exercise has a cell for your answer and, below it, a locked cell "
                "`vl.exercises.grade(...)` that checks it (a red error until it is right; calling the package's "
                "own implementation of the thing asked fails it). Written answers go in the cells that say "
                "YOUR ANSWER HERE. A chapter cell that runs on your piece uses the book's version until yours "
                "passes.")


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int | None = None) -> dict:
    meta = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked, "task": False,
            "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in text)


def nbgrader_source(source: str | Path):
    """The teacher's nbgrader version of one chapter (a notebook with nbgrader cell metadata, no outputs)."""
    import nbformat

    from vidsynth_lite.exercises import get

    chapter = read_chapter(source)
    stubs = {ex.stub_index: ex for ex in chapter.coded}
    solutions = {ex.solution_index for ex in chapter.coded} | {ex.explanation_index for ex in chapter.coded}
    written = {w.index: (k, w) for k, w in enumerate(chapter.written, start=1)}
    cells = []
    for i, cell in enumerate(chapter.cells):
        if i in solutions:
            continue
        if i in stubs:
            ex = stubs[i]
            answer = f"{ex.stub_body}\n\n### BEGIN SOLUTION\n{ex.solution_body}\n### END SOLUTION"
            cells.append(nbformat.v4.new_code_cell(
                answer, metadata=_nbgrader(f"{_slug(ex.name)}-answer", solution=True, grade=False, locked=False)))
            cells.append(nbformat.v4.new_code_cell(
                f'vl.exercises.grade("{ex.name}", {ex.answer})',
                metadata=_nbgrader(_slug(ex.name), solution=False, grade=True, locked=True,
                                   points=get(ex.name).points)))
        elif i in written:
            k, answer = written[i]
            kind = "experiment" if answer.experiment else "answer"
            cells.append(nbformat.v4.new_markdown_cell(
                answer.answer, metadata=_nbgrader(f"{chapter.stem[:2]}-{kind}-{k}", solution=True, grade=True,
                                                  locked=False, points=answer.points)))
        else:
            kept = nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code" else \
                nbformat.v4.new_markdown_cell(cell.source)
            cell_tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != "hide-cell"]
            if cell_tags:
                kept.metadata["tags"] = cell_tags
            cells.append(kept)
            if i == 0 and cell.cell_type == "markdown":
                cells.append(nbformat.v4.new_markdown_cell(STUDENT_NOTE))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                       "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def has_exercises(source: str | Path) -> bool:
    chapter = read_chapter(source)
    return bool(chapter.coded or chapter.written)


def write_course(sources: list[str | Path], root: str | Path = COURSE) -> list[str]:
    """Write ``nbgrader_config.py`` and each chapter's source version under ``root``; return the assignment ids."""
    import nbformat

    root = Path(root)
    (root / "source").mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    ids = []
    for source in map(Path, sources):
        folder = root / "source" / source.stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbgrader_source(source), folder / f"{source.stem}.ipynb")
        ids.append(source.stem)
    return ids


def release(root: str | Path, assignment: str) -> Path:
    """Run ``nbgrader generate_assignment`` (no database) and return the released notebook's path."""
    root = Path(root).resolve()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                           "--no-db", "--log-level=WARN"], cwd=root, capture_output=True, text=True, check=False)
    released = root / "release" / assignment / f"{assignment}.ipynb"
    if done.returncode != 0 or not released.is_file():
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return released


def check_metadata(path: str | Path) -> None:
    """nbgrader's own metadata validation of a notebook (raises ``ValidationError`` naming the cell)."""
    import nbformat
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(nbformat.read(path, as_version=4))


def graded_cells_only(notebook):
    """The notebook's nbgrader cells (answers, grade cells, written answers) after one setup cell of imports:
    what the checkers run on, without the chapter's own work (so nbgrader can validate it in seconds)."""
    import nbformat

    graded = [c for c in notebook.cells if "nbgrader" in c.get("metadata", {})]
    out = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), *graded])
    out.metadata = notebook.metadata
    return out


def validate(path: str | Path, invert: bool = False) -> dict:
    """``nbgrader validate`` on ``path`` through nbgrader's Python API: ``{}`` when it validates (every grade cell
    passes; with ``invert``, none does), else nbgrader's report (``failed`` / ``passed`` / ``changed`` cells)."""
    from nbgrader.validator import Validator
    from traitlets.config import Config

    config = Config()
    config.Validator.invert = invert
    config.Execute.timeout = 3600
    return Validator(config=config).validate(str(Path(path).resolve()))


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite.booktools.assignment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", help="chapter sources (default: every notebooks/NN_*.py)")
    parser.add_argument("--course", default=str(COURSE), help="the nbgrader course directory to write")
    args = parser.parse_args(argv)
    from vidsynth_lite.booktools.exercise_cells import chapter_sources

    sources = [s for s in (args.sources or chapter_sources(Path.cwd())) if has_exercises(s)]
    for assignment in write_course(sources, args.course):
        released = release(args.course, assignment)
        for path in (Path(args.course) / "source" / assignment / f"{assignment}.ipynb", released):
            check_metadata(path)
        print(f"released {released} (nbgrader metadata valid)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
