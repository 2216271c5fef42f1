"""Reproduction smoke: papermill runs chapter 0 at smoke and its results file is read back and checked."""

import json
import subprocess
import sys

import pytest
from notebook_cells import REPO

import vidsynth_lite as vl


@pytest.fixture(scope="module")
def chapter0(tmp_path_factory):
    import jupytext
    import nbformat

    folder = tmp_path_factory.mktemp("nb")
    notebook = folder / "00_running_the_book.ipynb"
    nbformat.write(jupytext.read(REPO / "notebooks" / "00_running_the_book.py"), notebook)
    return notebook


def test_papermill_smoke_run_writes_checked_results(chapter0, tmp_path):
    from vidsynth_lite.reproduce.run import run_chapter

    results = run_chapter(chapter0, "running", "smoke", tmp_path / "out.ipynb")
    assert results["chapter"] == "running" and results["profile"] == "smoke"
    assert results["metrics"]["resume_bit_exact"] is True
    assert 0 < results["metrics"]["rollout_mse"] < 1 and 0 < results["metrics"]["copy_last_frame_mse"] < 1
    assert results["protocol"]["resolution"] == 16 and results["protocol"]["steps"] == 8
    assert results["environment"]["device"] == "cpu"
    on_disk = json.loads((vl.paths.results_dir() / "running.json").read_text())
    assert on_disk["metrics"] == results["metrics"]


@pytest.mark.parametrize("name, value, message", [
    ("stepz", 5, "unknown parameter 'stepz'"),
    ("steps", "abc", "parameter 'steps' = 'abc'"),
    ("size", 48, "expected one of [16, 32, 64]"),
])
def test_papermill_bad_parameters_fail_with_the_config_message(chapter0, tmp_path, name, value, message):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(chapter0), str(tmp_path / "bad.ipynb"), kernel_name="python3",
                                   parameters={"profile": "smoke", name: value}, progress_bar=False)
    assert "ConfigError" in str(info.value) and message in str(info.value)
    assert not (vl.paths.results_dir() / "running.json").exists(), "a failed run must not write results"


def test_results_store_round_trip_and_errors(tmp_path):
    path = vl.reproduce.write_results("toy", "smoke", {"a": 1.5}, {"n": 3}, environment={"device": "cpu"})
    record = vl.reproduce.read_results("toy")
    assert path.exists() and record["metrics"] == {"a": 1.5} and record["protocol"] == {"n": 3}
    with pytest.raises(ValueError, match="protocol"):
        vl.reproduce.write_results("toy", "smoke", {"a": 1}, {})
    with pytest.raises(FileNotFoundError, match="run the chapter"):
        vl.reproduce.read_results("absent")


def test_cli_env_prints_json():
    out = subprocess.run([sys.executable, "-m", "vidsynth_lite", "env"], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout)["device"] in ("cpu", "cuda", "mps")
