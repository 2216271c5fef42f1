"""Every chapter is registered once; its papermill profile files and its parameters cell agree with its config."""

import ast
import dataclasses

import pytest
import yaml
from notebook_cells import REPO, SOURCES, tagged

from vidsynth_lite import config
from vidsynth_lite.chapters import CHAPTERS

CASES = [(name, profile) for name in CHAPTERS for profile in config.PROFILES]


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def test_every_notebook_is_a_chapter_and_every_chapter_has_a_notebook():
    notebooks = {s.stem for s in SOURCES if not s.stem.startswith("90")}
    assert notebooks == {c.notebook for c in CHAPTERS.values()}


@pytest.mark.parametrize("name, profile", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_profile_file_resolves_to_its_own_values(name, profile):
    cls = CHAPTERS[name].config_class()
    path = REPO / "configs" / cls.chapter / f"{profile}.yaml"
    assert path.is_file(), f"{name}: no {path.relative_to(REPO)}"
    values = yaml.safe_load(path.read_text()) or {}
    cfg = config.resolve(cls, {"profile": profile})
    for key, value in values.items():                       # the file's values are the values the chapter runs
        got = getattr(cfg, key)
        assert got == (tuple(value) if isinstance(got, tuple) else value), f"{path.name}: {key}"


def test_config_folders_are_chapters():
    folders = {p.name for p in (REPO / "configs").iterdir() if p.is_dir()}
    assert folders == {CHAPTERS[n].config_class().chapter for n in CHAPTERS}


@pytest.mark.parametrize("name", CHAPTERS)
def test_parameters_cell_names_exactly_the_config_fields(name):
    chapter = CHAPTERS[name]
    source = REPO / "notebooks" / f"{chapter.notebook}.py"
    cell = tagged(source, "parameters")[0]
    names = [t.id for node in ast.parse(cell).body if isinstance(node, ast.Assign) for t in node.targets]
    fields = [f.name for f in dataclasses.fields(chapter.config_class())]
    assert sorted(names) == sorted(fields), f"{source.name}: parameters cell vs {chapter.config}"


@pytest.mark.parametrize("name", list(CHAPTERS))
def test_papermill_reads_every_parameter(name):
    """papermill parses the parameters cell with its own rules (an '=' in a comment defeats it: it then warns
    "Passed unknown parameter" for a parameter the chapter has)."""
    import nbformat
    from papermill.translators import PythonTranslator

    chapter = CHAPTERS[name]
    cell = tagged(REPO / "notebooks" / f"{chapter.notebook}.py", "parameters")[0]
    parsed = [p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(cell))]
    fields = [f.name for f in dataclasses.fields(chapter.config_class())]
    assert sorted(parsed) == sorted(fields), f"papermill cannot read {sorted(set(fields) - set(parsed))}"
