"""The post-build check of ``make book`` (vidsynth_lite.booktools.check_book) fails on what it names."""

from __future__ import annotations

from vidsynth_lite.booktools import check_book
from vidsynth_lite.booktools.teacher import cpu_time


def _site(tmp_path, chapter_html: str, teacher_html: str | None):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "03_vqvae.html").write_text(chapter_html)
    if teacher_html is not None:
        (tmp_path / "book").mkdir()
        (tmp_path / "book" / "teacher.html").write_text(teacher_html)
    return tmp_path


def _syllabus(run_time: str) -> str:
    """The teacher page's syllabus table as Sphinx renders it, with one chapter's run time."""
    return ("<table><thead><tr><th></th><th>chapter</th><th>run time at <code>lite</code></th></tr></thead>"
            f"<tbody><tr><td>03</td><td>3. VQ-VAE</td><td>{run_time}</td></tr></tbody></table>")


def test_check_book_fails_on_a_chapter_rendered_unexecuted(tmp_path):
    site = _site(tmp_path, "<div class='cell'>no outputs</div>", None)
    assert check_book.main([str(site)]) == 1


def test_check_book_fails_on_a_teacher_page_executed_before_the_chapters(tmp_path):
    # what the teacher page shows for a chapter whose results file does not exist yet
    missing = cpu_time("03_vqvae", results_root=tmp_path / "no-results-here")
    assert check_book.UNMEASURED in missing
    site = _site(tmp_path, "<div class='cell_output'>ok</div>", _syllabus(missing))
    assert check_book.main([str(site)]) == 1


def test_check_book_passes_an_executed_site_with_a_measured_teacher_page(tmp_path):
    # prose elsewhere on the page may say "not measured" about something else (the answer key does)
    page = _syllabus("4.1 min (AMD EPYC, device cpu)") + "<p>(b) not measured for this key.</p>"
    site = _site(tmp_path, "<div class='cell_output'>ok</div>", page)
    assert check_book.main([str(site)]) == 0
