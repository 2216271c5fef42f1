"""Run a chapter with papermill at a profile and read back its results.

``python -m vidsynth_lite reproduce notebooks/03_vqvae.ipynb --profile full`` is what a user with a GPU runs; it
is ``papermill <notebook> <out> -f configs/<chapter>/<profile>.yaml -k python3`` plus a read-back of
``results/<chapter>.json``. The notebook may be given as its jupytext source (``notebooks/03_vqvae.py``): it is
converted to a notebook first. Parameter validation happens inside the notebook (its ``resolve`` cell), so a
wrong name, type or range fails the run with the config's message; the command line checks them before it
starts papermill (:mod:`vidsynth_lite.cli`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from vidsynth_lite import paths
from vidsynth_lite.reproduce.results import read_results


def as_notebook(source: str | Path, folder: str | Path) -> Path:
    """``source`` itself if it is an ``.ipynb``; a jupytext ``.py`` source converted into ``folder`` otherwise."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"notebook {str(source)!r} not found; expected notebooks/NN_name.ipynb or its "
                                "jupytext source notebooks/NN_name.py")
    if source.suffix == ".ipynb":
        return source
    if source.suffix != ".py":
        raise ValueError(f"{str(source)!r} is neither a notebook (.ipynb) nor a jupytext source (.py)")
    import jupytext
    import nbformat

    notebook = jupytext.read(source)
    if not notebook.cells or not any("parameters" in c.metadata.get("tags", []) for c in notebook.cells):
        raise ValueError(f"{str(source)!r} holds no cell tagged 'parameters'; is it a chapter's jupytext source?")
    target = Path(folder) / f"{source.stem}.ipynb"
    nbformat.write(notebook, target)
    return target


def run_chapter(notebook: str | Path, chapter: str, profile: str, output: str | Path,
                parameters: dict[str, Any] | None = None, timeout: int | None = None) -> dict[str, Any]:
    """Execute ``notebook`` with ``configs/<chapter>/<profile>.yaml`` (+ ``parameters``); return its results."""
    import papermill
    import yaml

    config_file = paths.configs_dir() / chapter / f"{profile}.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(f"no profile file {config_file}; expected configs/{chapter}/<smoke|lite|full>.yaml")
    params = {**(yaml.safe_load(config_file.read_text()) or {}), **(parameters or {})}
    env_profile = os.environ.pop("VIDSYNTH_PROFILE", None)  # the profile asked for here must win
    try:
        with tempfile.TemporaryDirectory(prefix="vidsynth-nb-") as folder:
            papermill.execute_notebook(str(as_notebook(notebook, folder)), str(output), parameters=params,
                                       kernel_name="python3", cwd=str(Path(notebook).resolve().parent),
                                       progress_bar=False, execution_timeout=timeout)
    finally:
        if env_profile is not None:
            os.environ["VIDSYNTH_PROFILE"] = env_profile
    results = read_results(chapter)
    if results["profile"] != profile:
        raise RuntimeError(f"results/{chapter}.json says profile {results['profile']!r}, expected {profile!r}")
    return results
