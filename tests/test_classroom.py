"""Classroom-ready chapters: opening and closing blocks, the nbgrader course (student versions released and
validated by nbgrader itself), the student site without any solution, and the teacher's page."""

import json
import re
import shutil

import nbformat
import pytest
from notebook_cells import REPO, SOURCES

import vidsynth_lite as vl
from vidsynth_lite.booktools import assignment, student_site, teacher
from vidsynth_lite.booktools.exercise_cells import ChapterFormatError, parse_opening, read_chapter

CHAPTERS = [read_chapter(s) for s in SOURCES if not s.stem.startswith("9")]


def _ready(chapter):
    """Chapters without an opening block are not converted yet (issue 16): reported, not hidden."""
    if chapter.opening is None:
        return pytest.param(chapter, marks=pytest.mark.xfail(reason=f"{chapter.stem} has no opening block yet",
                                                             strict=True), id=chapter.stem)
    return pytest.param(chapter, id=chapter.stem)


@pytest.mark.parametrize("chapter", [_ready(c) for c in CHAPTERS])
def test_chapter_is_classroom_ready(chapter):
    opening = chapter.opening
    assert opening is not None, "no markdown cell tagged `opening`"
    assert len(opening.objectives) >= 3 and opening.minutes and opening.core_optional
    for earlier in opening.depends_on:
        assert earlier < chapter.stem and (REPO / "notebooks" / f"{earlier}.py").is_file(), earlier
    kinds = {vl.exercises.get(ex.name).kind for ex in chapter.coded}
    assert "build" in kinds and "understand" in kinds and kinds & {"train", "debug"}, kinds
    assert any(w.experiment for w in chapter.written), "no open experiment with its expected outcome"
    questions = [w for w in chapter.written if not w.experiment] + [ex for ex in chapter.coded
                                                                      if vl.exercises.get(ex.name).kind == "quiz"]
    assert 3 <= len(questions) <= 6, f"{len(questions)} closing questions; 3 to 5 (and a quiz) expected"
    assert all(ex.explanation for ex in chapter.coded if vl.exercises.get(ex.name).kind == "quiz")
    prose = "\n".join(c.source for c in chapter.cells if c.cell_type == "markdown")
    for project_talk in ("the issue", "load average", "the lead", "this project"):
        assert project_talk not in prose.lower(), f"project talk in the chapter: {project_talk!r}"


def test_opening_parser_names_what_is_missing():
    with pytest.raises(ChapterFormatError, match=r"\*\*Time\*\*"):
        parse_opening("**You will be able to**\n- a\n**Prerequisites**: b\n**Core and optional**: c")
    parsed = parse_opening("**You will be able to**\n\n- do x;\n- do y\n\n**Prerequisites**: [ch 0](00_a.ipynb)"
                           "\n\n**Time**: about 1.5 hours\n\n**Core and optional**: all core")
    assert parsed.objectives == ["do x;", "do y"] and parsed.minutes == 90 and parsed.depends_on == ["00_a"]


# --- the nbgrader course ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    sources = [s for s in SOURCES if assignment.has_exercises(s)]
    ids = assignment.write_course(sources, root)
    released = {i: assignment.release(root, i) for i in ids}
    return root, released


def _nbgrader_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if "nbgrader" in c.metadata]


def test_every_chapter_with_exercises_is_released_with_valid_nbgrader_metadata(course):
    root, released = course
    assert set(released) == {s.stem for s in SOURCES if assignment.has_exercises(s)}
    for stem, path in released.items():
        assignment.check_metadata(root / "source" / stem / f"{stem}.ipynb")
        assignment.check_metadata(path)
        chapter = read_chapter(REPO / "notebooks" / f"{stem}.py")
        cells = _nbgrader_cells(path)
        grades = [c for c in cells if c.metadata.nbgrader["grade"] and c.cell_type == "code"]
        assert len(grades) == len(chapter.coded)
        assert all(c.metadata.nbgrader["locked"] and c.metadata.nbgrader["points"] > 0 for c in grades)
        answers = [c for c in cells if c.metadata.nbgrader["solution"] and c.cell_type == "code"]
        for cell, exercise in zip(answers, chapter.coded):
            assert cell.source.strip() == exercise.stub_body.strip(), "the release must keep the book's stub"
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and '"outputs": []' in text
        written = [c for c in cells if c.cell_type == "markdown"]
        assert len(written) == len(chapter.written) and all(c.source == "YOUR ANSWER HERE" for c in written)


def test_release_holds_no_solution_line(course):
    root, _ = course
    snippets = student_site.solution_snippets(REPO)
    assert student_site.leaks(root / "release", snippets) == []
    in_source = [s for s in snippets if "explanation" not in s[1]]      # quiz explanations stay out of both
    assert len(student_site.leaks(root / "source", in_source)) >= len(in_source)   # the check sees solutions


def test_nbgrader_validates_the_graded_cells(course, tmp_path):
    """nbgrader's own validator: the teacher's version passes every grade cell; in the students' version no grade
    cell passes (``nbgrader validate --invert``)."""
    root, released = course
    combined = {}
    for version in ("source", "release"):
        cells = []
        for stem in released:
            notebook = nbformat.read(root / version / stem / f"{stem}.ipynb", as_version=4)
            cells += assignment.graded_cells_only(notebook).cells[1:]
        notebook = assignment.graded_cells_only(nbformat.read(released[next(iter(released))], as_version=4))
        notebook.cells = notebook.cells[:1] + cells
        combined[version] = tmp_path / f"{version}.ipynb"
        nbformat.write(notebook, combined[version])
    assert assignment.validate(combined["source"]) == {}
    assert assignment.validate(combined["release"], invert=True) == {}


# --- the student site ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def student_html(course, tmp_path_factory):
    root, _ = course
    return student_site.build(REPO, root, tmp_path_factory.mktemp("student"))


def test_student_site_holds_no_solution(student_html):
    pages = {p.relative_to(student_html).as_posix() for p in student_html.rglob("*.html")}
    assert {f"notebooks/{s.stem}.html" for s in SOURCES if assignment.has_exercises(s)} <= pages
    assert "book/teacher.html" not in pages
    downloads = list((student_html / "_sources").rglob("*.ipynb"))
    assert downloads and all("BEGIN SOLUTION" not in p.read_text() for p in downloads)
    assert (student_html / "searchindex.js").is_file()
    assert student_site.leaks(student_html, student_site.solution_snippets(REPO)) == []


def test_leak_check_finds_a_solution_in_any_kind_of_file(student_html, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(student_html, site)
    snippets = student_site.solution_snippets(REPO)
    chapter = next(c for c in CHAPTERS if c.coded)
    line = max(chapter.coded[0].solution_body.split("\n"), key=len).strip()
    page = site / "notebooks" / f"{chapter.stem}.html"
    highlighted = "".join(f'<span class="n">{w}</span> ' for w in line.split())   # as Pygments splits code
    page.write_text(page.read_text().replace("</body>", f"<pre>{highlighted}</pre></body>"))
    found = student_site.leaks(site, snippets)
    assert found and found[0].startswith(f"notebooks/{chapter.stem}.html")
    page.write_text(student_html.joinpath("notebooks", f"{chapter.stem}.html").read_text())
    download = next((site / "_sources").rglob("*.ipynb"))
    notebook = json.loads(download.read_text())
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [chapter.written[0].answer]})
    download.write_text(json.dumps(notebook))
    assert any(f.startswith(str(download.relative_to(site))) for f in student_site.leaks(site, snippets))


# --- the teacher's page -------------------------------------------------------------------------------------------
def test_teacher_page_lists_every_chapter_exercise_and_answer(tmp_path):
    page = teacher.page(REPO, tmp_path / "no-results")
    for chapter in CHAPTERS:
        assert f"notebooks/{chapter.stem}.ipynb" in page
        for ex in chapter.coded:
            registered = vl.exercises.get(ex.name)
            assert f"`{ex.name}`" in page and registered.grading() in page
            assert ex.solution_body.strip() in page
        for w in chapter.written:
            assert teacher._from_book(w.answer.strip()) in page
    assert "not measured yet" in page
    rows = [line for line in page.split("## Chapters")[0].split("\n") if line.startswith("| 0")]
    assert len(rows) == len(CHAPTERS)


def test_teacher_page_reads_the_cpu_time_from_results(tmp_path):
    vl.reproduce.write_results("running", "lite", metrics={"chapter_seconds_until_results": 151.0},
                               protocol={"test": 1}, environment={"cpu": "Test CPU", "threads": 2, "device": "cpu"},
                               root=tmp_path)
    vl.reproduce.write_results("data", "smoke", metrics={"chapter_seconds_until_results": 40.0},
                               protocol={"test": 1}, environment={}, root=tmp_path)
    assert teacher.cpu_time("00_running_the_book", tmp_path) == "2.5 min (Test CPU, 2 threads, device cpu)"
    assert re.match(r"not measured at `lite` yet \(last run: `smoke`, 40 s\)", teacher.cpu_time("01_video_data",
                                                                                               tmp_path))
    assert teacher.cpu_time("03_vqvae", tmp_path) == "not measured yet"


def test_teacher_page_is_in_the_teacher_build_only():
    toc = (REPO / "_toc.yml").read_text()
    assert "book/teacher" in toc
    assert "book/teacher" in student_site.TEACHER_ONLY
    source = (REPO / "book" / "teacher.md").read_text()
    assert "file_format: mystnb" in source and "page(" in source
