"""Read a chapter source as a classroom sees it: its opening block, its coded exercises, its written answers.

The cell conventions (documented for authors in :mod:`vidsynth_lite.exercises.core`):

- a code cell tagged ``exercise`` (the stub) is followed by a code cell tagged ``solution`` (the book's answer);
  the last statement of both is ``vl.exercises.check("<name>", <function or answer>)`` with the same name;
- a markdown cell tagged ``solution`` is the answer key of the markdown question before it (``experiment`` too:
  the expected outcome of an open experiment; ``points-N``: its points, 1 by default); right after a coded
  exercise's solution cell it is instead that exercise's explanation (part of the key, not a question);
- a markdown cell tagged ``opening`` holds the chapter's objectives, prerequisites, time and core/optional parts.

The student versions, the nbgrader export, the student site's leak check, the teacher's page and the tests all
read chapters through this module, so they agree on what an exercise is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

OPENING_LABELS = {"objectives": "You will be able to", "prerequisites": "Prerequisites", "time": "Time",
                  "core_optional": "Core and optional"}


class ChapterFormatError(ValueError):
    """A chapter's exercise cells do not follow the conventions; the message names the cell."""


@dataclass
class CodedExercise:
    name: str                   # the registered exercise ("running.train_step")
    answer: str                 # the name passed to check: the student's function, or `answer` for a quiz
    stub: str                   # the exercise cell
    solution: str               # the solution cell
    stub_index: int             # cell indices in the chapter
    solution_index: int
    explanation: str = ""       # a `solution` markdown cell right after the solution: why the answer is right
    explanation_index: int | None = None

    @property
    def stub_body(self) -> str:
        return split_check(self.stub)[0]

    @property
    def solution_body(self) -> str:
        return split_check(self.solution)[0]


@dataclass
class WrittenAnswer:
    question: str               # the markdown cell the answer belongs to
    answer: str                 # the answer key (a markdown cell tagged `solution`)
    index: int
    experiment: bool = False    # the expected outcome of an open experiment
    points: int = 1


@dataclass
class Opening:
    objectives: list[str]
    prerequisites: str
    time: str
    core_optional: str
    minutes: int | None         # the student time the "Time" paragraph states ("about N minutes / hours")
    depends_on: list[str]       # chapters linked from "Prerequisites" (notebook stems)


@dataclass
class Chapter:
    source: Path
    title: str
    cells: list = field(repr=False)
    coded: list[CodedExercise]
    written: list[WrittenAnswer]
    opening: Opening | None

    @property
    def stem(self) -> str:
        return self.source.stem


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def split_check(source: str) -> tuple[str, str, str]:
    """``(body, name, answer)``: the cell without its final ``vl.exercises.check(name, answer)`` statement."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ChapterFormatError(f"an exercise cell does not parse: {error}") from None
    last = tree.body[-1] if tree.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    if not (isinstance(call, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", "")) == "check"
            and len(call.args) == 2 and isinstance(call.args[0], ast.Constant) and isinstance(call.args[1], ast.Name)):
        raise ChapterFormatError("an exercise or solution cell must end with "
                                 f'vl.exercises.check("<name>", <function>); this one ends with:\n{source[-200:]}')
    lines = source.split("\n")
    body = "\n".join(lines[: last.lineno - 1]).rstrip()
    return body, call.args[0].value, call.args[1].id


def _points(cell_tags: list[str]) -> int:
    for tag in cell_tags:
        if tag.startswith("points-"):
            return int(tag.split("-", 1)[1])
    return 1


def parse_opening(text: str) -> Opening:
    """The four labelled paragraphs of an opening cell (``**You will be able to**`` ...)."""
    found = {key: text.find(f"**{label}**") for key, label in OPENING_LABELS.items()}
    missing = [OPENING_LABELS[k] for k, at in found.items() if at < 0]
    if missing:
        raise ChapterFormatError(f"the opening cell lacks {', '.join('**' + m + '**' for m in missing)}")
    order = sorted(found, key=found.get)
    parts = {}
    for i, key in enumerate(order):
        start = found[key] + len(OPENING_LABELS[key]) + 4
        end = found[order[i + 1]] if i + 1 < len(order) else len(text)
        parts[key] = text[start:end].strip().lstrip(":").strip()
    objectives = [" ".join(item.split()) for item in re.split(r"^\s*- ", parts["objectives"], flags=re.MULTILINE)[1:]]
    if not objectives:
        raise ChapterFormatError("**You will be able to** must list the outcomes as bullets ('- ...')")
    match = re.search(r"about (\d+(?:\.\d+)?) (minutes|hours?)", parts["time"])
    minutes = None if match is None else round(float(match.group(1)) * (60 if match.group(2).startswith("hour") else 1))
    depends = re.findall(r"\((?:\.\./notebooks/)?(\d\d_[a-z0-9_]+)(?:\.ipynb)?\)", parts["prerequisites"])
    return Opening(objectives=objectives, prerequisites=" ".join(parts["prerequisites"].split()),
                   time=" ".join(parts["time"].split()), core_optional=" ".join(parts["core_optional"].split()),
                   minutes=minutes, depends_on=sorted(set(depends)))


def read_chapter(source: str | Path) -> Chapter:
    """Parse a chapter source (jupytext percent file or notebook) into its classroom parts."""
    import jupytext

    source = Path(source)
    cells = jupytext.read(source).cells
    title = next((c.source.split("\n", 1)[0].lstrip("# ").strip() for c in cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), source.stem)
    coded, written, opening = [], [], None
    for i, cell in enumerate(cells):
        cell_tags = tags(cell)
        where = f"{source.name}, cell {i + 1}"
        if cell.cell_type == "markdown" and "opening" in cell_tags:
            try:
                opening = parse_opening(cell.source)
            except ChapterFormatError as error:
                raise ChapterFormatError(f"{where}: {error}") from None
        if "exercise" in cell_tags:
            following = cells[i + 1] if i + 1 < len(cells) else None
            if following is None or following.cell_type != "code" or "solution" not in tags(following):
                raise ChapterFormatError(f"{where}: an `exercise` cell must be followed by its `solution` cell")
            try:
                _, name, answer = split_check(cell.source)
                _, solution_name, solution_answer = split_check(following.source)
            except ChapterFormatError as error:
                raise ChapterFormatError(f"{where}: {error}") from None
            if (name, answer) != (solution_name, solution_answer):
                raise ChapterFormatError(f"{where}: the stub checks {name!r} with `{answer}`, its solution "
                                         f"{solution_name!r} with `{solution_answer}`")
            coded.append(CodedExercise(name, answer, cell.source, following.source, i, i + 1))
        elif "solution" in cell_tags and cell.cell_type == "code":
            if i == 0 or "exercise" not in tags(cells[i - 1]):
                raise ChapterFormatError(f"{where}: a code `solution` cell must follow its `exercise` cell")
        elif "solution" in cell_tags and cell.cell_type == "markdown" and coded and coded[-1].solution_index == i - 1:
            coded[-1].explanation, coded[-1].explanation_index = cell.source, i
        elif "solution" in cell_tags and cell.cell_type == "markdown":
            question = next((cells[j].source for j in range(i - 1, -1, -1) if cells[j].cell_type == "markdown"
                             and "solution" not in tags(cells[j])), None)
            if question is None:
                raise ChapterFormatError(f"{where}: an answer (`solution` markdown cell) with no question before it")
            written.append(WrittenAnswer(question, cell.source, i, "experiment" in cell_tags, _points(cell_tags)))
    return Chapter(source, title, cells, coded, written, opening)


def chapter_sources(root: str | Path) -> list[Path]:
    """The chapter sources of the book, in reading order."""
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.py"))
