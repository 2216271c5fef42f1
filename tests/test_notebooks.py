"""Chapter sources follow the book's conventions; generated notebooks agree with their sources."""

import pytest
from notebook_cells import REPO, SOURCES, cells

from vidsynth_lite.booktools.notebook_sync import difference


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_chapter_conventions(source):
    chapter = cells(source)
    code = [c for c in chapter if c.cell_type == "code"]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), "the first code cell must be `parameters`"
    assert "profile" in code[0].source
    for cell in chapter:
        assert not cell.get("outputs"), "sources carry no outputs"
        assert "pip install" not in cell.source, "never pip install inside a notebook"
    if source.name[:2] != "90":
        prose = "\n".join(c.source for c in chapter if c.cell_type == "markdown")
        assert "## Summary" in prose and "## Exercises" in prose, "chapters end with a summary and exercises"
        assert "write_results(" in "\n".join(c.source for c in code), "a chapter writes its results file"


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_generated_notebook_agrees_with_source(source):
    generated = source.with_suffix(".ipynb")
    if not generated.exists():
        pytest.skip(f"{generated.name} not generated (make notebooks generates it; make test always does)")
    assert difference(source, generated) is None


def test_sync_check_detects_an_edited_notebook(tmp_path):
    import jupytext
    import nbformat

    source = SOURCES[0]
    notebook = jupytext.read(source)
    copy = tmp_path / "copy.ipynb"
    nbformat.write(notebook, copy)
    assert difference(source, copy) is None
    notebook.cells[3].source += "\nx = 1"
    nbformat.write(notebook, copy)
    assert "cell 4 (text)" in difference(source, copy)
    assert "missing" in difference(source, tmp_path / "absent.ipynb")


def test_toc_lists_every_chapter():
    toc = (REPO / "_toc.yml").read_text()
    for source in SOURCES:
        assert f"notebooks/{source.stem}" in toc, f"{source.name} is not in _toc.yml"


CODE_WIDTH = 88     # the book's width for chapter code (markdown cells are prose and exempt)


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_chapter_code_lines_fit_the_page(source):
    long = [f"cell {i + 1}: {len(line)} characters: {line.strip()[:60]}"
            for i, cell in enumerate(cells(source)) if cell.cell_type == "code"
            for line in cell.source.split("\n") if len(line) > CODE_WIDTH]
    assert not long, f"{len(long)} code lines over {CODE_WIDTH} characters:\n" + "\n".join(long)
