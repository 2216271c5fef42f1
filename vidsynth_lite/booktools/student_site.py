"""The student site (``make book-student``): the book built from the nbgrader release versions, and the check that
no solution reached it.

The site is built in a separate source folder, ``<out>/src``, laid out like the book: ``notebooks/<chapter>.ipynb``
are the released student versions (so links between chapters keep working), ``book/`` is the book's prose
without the teacher's page, and the other top-level folders the configuration refers to (static files, vendored
scripts, Sphinx extensions) are linked in. The configuration is the book's own with three changes: its title
says "student edition", the teacher's page and the reproduction page are left out, and notebooks are **not
executed**. A student version cannot run to completion as it stands (its grade cells fail until the exercises
are done), and its outputs are the student's to make; so a student page shows the chapter's prose and code,
every exercise stub and grade cell, and no outputs at all -- which also means no solution output. Building
without execution takes seconds per chapter, so the test suite builds the whole site.

:func:`leaks` then reads every file of the built site (HTML pages, ``_sources``, the ``.ipynb`` downloads, the
search index) as plain text and looks for every line of every solution and every sentence of every answer that
appears nowhere else in the book.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from vidsynth_lite.booktools.exercise_cells import chapter_sources, read_chapter, tags

TEACHER_ONLY = ("book/teacher", "notebooks/90_reproduction")   # toc entries the student site leaves out
NOT_LINKED = {"notebooks", "book", "_build", "assignments", "tests", "benchmarks", "configs", "results", "runs",
              "vidsynth_lite", "_config.yml", "_toc.yml", "make", "Makefile"}
MIN_SNIPPET = 20          # characters (normalised) a solution line needs to count as its own text


def normalise(text: str) -> str:
    """Lower-case words and numbers only: markup, punctuation, HTML tags and spacing do not hide a match."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _page_text(path: Path) -> str:
    raw = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        parts = []
        for cell in notebook.get("cells", []):
            parts.append("".join(cell.get("source", "")))
            for output in cell.get("outputs", []):
                parts.append(json.dumps(output))
        return "\n".join(parts)
    if path.suffix in (".html", ".htm", ".xml"):
        return html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return raw


def solution_snippets(root: str | Path) -> list[tuple[str, str]]:
    """``(normalised snippet, where)`` for every solution line and answer sentence found nowhere else in the
    book (not in any chapter's other cells, not in the prose pages)."""
    root = Path(root)
    chapters = [read_chapter(s) for s in chapter_sources(root)]
    shared = [c.source for ch in chapters for c in ch.cells if "solution" not in tags(c)]
    shared += [p.read_text() for p in (root / "book").rglob("*.md") if p.name != "teacher.md"]
    corpus = normalise("\n".join(shared))
    snippets: dict[str, str] = {}
    for ch in chapters:
        for ex in ch.coded:
            for line in ex.solution_body.split("\n"):
                snippets.setdefault(normalise(line), f"{ch.source.name}: solution of {ex.name}")
        answers = [(f"answer {k}", w.answer) for k, w in enumerate(ch.written, start=1)]
        answers += [(f"the explanation of {ex.name}", ex.explanation) for ex in ch.coded if ex.explanation]
        for label, answer in answers:
            for sentence in re.split(r"(?<=[.!?;:])\s+", " ".join(answer.split())):
                snippets.setdefault(normalise(sentence), f"{ch.source.name}: {label}")
    return [(s, where) for s, where in snippets.items() if len(s) >= MIN_SNIPPET and s not in corpus]


def leaks(site: str | Path, snippets: list[tuple[str, str]]) -> list[str]:
    """Every (file, solution) pair where a solution snippet appears in a file of the built site."""
    found = []
    for path in sorted(Path(site).rglob("*")):
        if not path.is_file() or path.suffix in (".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ttf",
                                                 ".eot", ".ico", ".mp4", ".pickle", ".doctree"):
            continue
        text = normalise(_page_text(path))
        for snippet, where in snippets:
            if snippet in text:
                found.append(f"{path.relative_to(site)} holds a line of {where}: {snippet[:80]!r}")
    return found


def _student_toc(toc: dict, available: set[str]) -> dict:
    def keep(entries):
        out = []
        for entry in entries:
            if "file" in entry and (entry["file"] in TEACHER_ONLY or entry["file"] not in available):
                continue
            entry = dict(entry)
            for key in ("chapters", "sections"):
                if key in entry:
                    entry[key] = keep(entry[key])
            if "chapters" in entry and not entry["chapters"]:
                continue
            out.append(entry)
        return out

    toc = dict(toc)
    toc["parts"] = keep(toc.get("parts", []))
    return toc


def prepare(root: str | Path, course: str | Path, out: str | Path) -> Path:
    """Lay out the student book's sources under ``out/src`` and return that folder."""
    import yaml

    root, course, out = Path(root).resolve(), Path(course).resolve(), Path(out).resolve()
    src = out / "src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    for released in sorted((course / "release").glob("*/*.ipynb")):
        shutil.copy(released, src / "notebooks" / released.name)
    shutil.copytree(root / "book", src / "book", ignore=shutil.ignore_patterns("teacher.md"))
    for item in root.iterdir():
        if item.name.startswith(".") or item.name in NOT_LINKED:
            continue
        (src / item.name).symlink_to(item)
    available = {f"notebooks/{p.stem}" for p in (src / "notebooks").glob("*.ipynb")}
    available |= {str(p.relative_to(src).with_suffix("")) for p in (src / "book").rglob("*.md")}
    toc = _student_toc(yaml.safe_load((root / "_toc.yml").read_text()), available)
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = f"{config.get('title', 'vidsynth-lite')} (student edition)"
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config["exclude_patterns"] = [*config.get("exclude_patterns", []), "**/teacher.md"]
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for static in config.get("sphinx", {}).get("config", {}).get("html_static_path", []):
        (src / static).mkdir(parents=True, exist_ok=True)    # vendored files not fetched yet: an empty folder
    return src


def build(root: str | Path, course: str | Path, out: str | Path) -> Path:
    """Build the student site with jupyter-book (no execution); return its HTML folder."""
    src = prepare(root, course, out)
    out = Path(out).resolve()
    shutil.rmtree(out / "_build", ignore_errors=True)
    done = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(src),
                           "--path-output", str(out), "--warningiserror", "--keep-going", "--quiet"],
                          capture_output=True, text=True, check=False)
    html_dir = out / "_build" / "html"
    if done.returncode != 0 or not (html_dir / "index.html").is_file():
        raise RuntimeError(f"jupyter-book could not build the student site ({done.returncode}):\n"
                           f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return html_dir


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite.booktools.student_site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default="assignments", help="the course made by `make assignments`")
    parser.add_argument("--out", default="_build/student", help="where to build the student site")
    args = parser.parse_args(argv)
    html_dir = build(Path.cwd(), args.course, args.out)
    found = leaks(html_dir, solution_snippets(Path.cwd()))
    for line in found:
        print(f"!! {line}", file=sys.stderr)
    pages = len(list(html_dir.rglob("*.html")))
    print(f"student site: {html_dir} ({pages} pages); solution lines found in it: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
