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


def test_check_book_fails_on_a_chapter_rendered_unexecuted(tmp_path):
    site = _site(tmp_path, "<div class='cell'>no outputs</div>", None)
    assert check_book.main([str(site)]) == 1


def test_check_book_fails_on_a_teacher_page_executed_before_the_chapters(tmp_path):
    # what the teacher page shows for a chapter whose results file does not exist yet
    missing = cpu_time("03_vqvae", results_root=tmp_path / "no-results-here")
    assert check_book.UNMEASURED in missing
    site = _site(tmp_path, "<div class='cell_output'>ok</div>", f"<td>{missing}</td>")
    assert check_book.main([str(site)]) == 1


def test_check_book_passes_an_executed_site_with_a_measured_teacher_page(tmp_path):
    site = _site(tmp_path, "<div class='cell_output'>ok</div>", "<td>4.1 min (AMD EPYC, device cpu)</td>")
    assert check_book.main([str(site)]) == 0
