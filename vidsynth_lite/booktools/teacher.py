"""The teacher's page, generated from the chapters themselves so that it cannot drift from them.

Every fact comes from a source that the tests check: the syllabus from each chapter's opening block (objectives,
prerequisites with links to earlier chapters, student time, core and optional parts), the CPU time from the
chapter's results file (``results/<name>.json``, written when the chapter ran; "not measured yet" otherwise), what
each exercise tests and how it is graded from its registered checker (``vidsynth_lite/exercises/<chapter>.py``),
and the answer key from the chapter's ``solution`` cells. ``book/teacher.md`` calls these functions when the book
is built; ``python -m vidsynth_lite.booktools.teacher`` prints the same page as Markdown.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from vidsynth_lite.booktools.exercise_cells import Chapter, chapter_sources, read_chapter

KIND_WORDS = {"build": "build a piece", "understand": "understanding", "train": "train, graded on the outcome",
              "debug": "debug, graded on the outcome", "quiz": "quiz"}


class Markdown(str):
    """Markdown text that a notebook (and the book) renders as Markdown."""

    def _repr_markdown_(self) -> str:
        return str(self)


def _chapters(root: str | Path) -> list[Chapter]:
    return [read_chapter(s) for s in chapter_sources(root) if not s.stem.startswith("9")]


def _from_book(text: str) -> str:
    """Chapter text as seen from ``book/``: links between chapters (``NN_name.ipynb``) point into notebooks/."""
    return re.sub(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", r"](../notebooks/\1)", text)


def _link(chapter: Chapter) -> str:
    return f"[{chapter.title}](../notebooks/{chapter.stem}.ipynb)"


UNMEASURED = "not measured"      # how the syllabus's run-time column starts for a chapter with no lite run time
RUN_TIME_HEADER = "run time at"  # that column's header (then `lite`); booktools.check_book reads the column


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def cpu_time(stem: str, results_root: str | Path | None = None) -> str:
    """The chapter's run time at ``lite`` and the machine, from its results file; or why there is none."""
    from vidsynth_lite.chapters import CHAPTERS
    from vidsynth_lite.reproduce.results import read_results

    names = [c.results for c in CHAPTERS.values() if c.notebook == stem]
    if not names:
        return f"{UNMEASURED} yet (the chapter is not registered in vidsynth_lite.chapters)"
    try:
        record = read_results(names[0], results_root)
    except FileNotFoundError:
        return f"{UNMEASURED} yet"
    metrics = record.get("metrics", {})
    # "seconds" is the run time the results writer records (None when written outside a chapter's run)
    seconds = next((v for v in (record.get("seconds"), metrics.get("chapter_seconds"),
                                metrics.get("chapter_seconds_until_results")) if v is not None), None)
    if seconds is None:
        return f"{UNMEASURED} yet (the results file records no run time)"
    if record.get("profile") != "lite":
        return f"{UNMEASURED} at `lite` yet (last run: `{record.get('profile')}`, {_duration(float(seconds))})"
    env = record.get("environment", {})
    machine = env.get("gpu") or env.get("cpu") or env.get("platform") or "unknown machine"
    threads = f", {env['threads']} threads" if env.get("threads") else ""
    return f"{_duration(float(seconds))} ({machine}{threads}, device {env.get('device', '?')})"


def syllabus(root: str | Path = ".", results_root: str | Path | None = None) -> Markdown:
    chapters = _chapters(root)
    by_stem = {c.stem: c for c in chapters}
    rows = [f"| | chapter | builds on | student time | {RUN_TIME_HEADER} `lite` | exercises |",
            "|---|---|---|---|---|---|"]
    for c in chapters:
        if c.opening is None:
            builds_on, student = "not stated yet", "not stated yet"
        else:
            builds_on = ", ".join(f"ch. {int(d[:2])}" for d in c.opening.depends_on if d in by_stem) or "--"
            student = f"about {c.opening.minutes} min" if c.opening.minutes else "not stated yet"
        counts = {}
        for ex in c.coded:
            kind = _registered(ex.name).kind
            counts[kind] = counts.get(kind, 0) + 1
        experiments = sum(w.experiment for w in c.written)
        parts = [f"{n} {k}" for k, n in counts.items()] + ([f"{experiments} open"] if experiments else [])
        rows.append(f"| {c.stem[:2]} | {_link(c)} | {builds_on} | {student} | {cpu_time(c.stem, results_root)} | "
                    f"{', '.join(parts) or 'none yet'} |")
    return Markdown("\n".join(rows) + "\n")


def _registered(name: str):
    from vidsynth_lite.exercises import get

    return get(name)


def chapter_guide(root: str | Path = ".") -> Markdown:
    """Per chapter: outcomes, prerequisites, core and optional parts, and each exercise with its grading."""
    out = []
    for c in _chapters(root):
        out.append(f"**{_link(c)}**\n")
        if c.opening is None:
            out.append("*No opening block yet: objectives, prerequisites and time are not stated.*\n")
        else:
            out.append("Students will be able to:\n")
            out += [f"- {o}" for o in c.opening.objectives]
            out.append(f"\n*Prerequisites:* {_from_book(c.opening.prerequisites)}\n")
            out.append(f"*Time:* {c.opening.time}\n")
            out.append(f"*Core and optional:* {c.opening.core_optional}\n")
        if c.coded or c.written:
            out.append("Exercises:\n")
        for ex in c.coded:
            registered = _registered(ex.name)
            out.append(f"- `{ex.name}` ({KIND_WORDS[registered.kind]}, {_points(registered.points)}) -- tests "
                       f"{registered.skill or 'what its cell states'}. *Graded* {registered.grading()}.")
        for k, w in enumerate(c.written, start=1):
            what = "open experiment" if w.experiment else "written answer"
            out.append(f"- answer {k} ({what}, {_points(w.points)}) -- {_question(w.question)} *Graded* by hand, "
                       "against the answer key.")
        out.append("")
    return Markdown(_from_book("\n".join(out)) + "\n")


def _points(n: int) -> str:
    return f"{n} point{'s' * (n != 1)}"


def _question(text: str, limit: int = 160) -> str:
    """A question cell in one line: headings left out, shortened to ``limit`` characters."""
    lines = [line for line in text.split("\n") if not line.lstrip().startswith("#")]
    return _first_sentence(" ".join(" ".join(lines).split()), limit)


def _first_sentence(text: str, limit: int = 160) -> str:
    text = text.replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


def answer_key(root: str | Path = ".") -> Markdown:
    """The book's solutions and the answers to every written question and open experiment."""
    out = []
    for c in _chapters(root):
        if not (c.coded or c.written):
            continue
        out.append(f"**{c.title}**\n")
        for ex in c.coded:
            out.append(f"*`{ex.name}`* -- {_registered(ex.name).skill}\n")
            out.append("```python\n" + ex.solution_body.strip() + "\n```\n")
            if ex.explanation:
                out.append(ex.explanation.strip() + "\n")
        for k, w in enumerate(c.written, start=1):
            out.append(f"*Answer {k}* ({'open experiment' if w.experiment else 'question'}): "
                       f"{_question(w.question, 200)}\n")
            out.append(_from_book(w.answer.strip()) + "\n")
    return Markdown("\n".join(out) + "\n")


def page(root: str | Path = ".", results_root: str | Path | None = None) -> Markdown:
    return Markdown("## Syllabus\n\n" + syllabus(root, results_root) + "\n## Chapters and their exercises\n\n"
                    + chapter_guide(root) + "\n## Answer key\n\n" + answer_key(root))


if __name__ == "__main__":
    print(page(sys.argv[1] if len(sys.argv) > 1 else "."))
