"""Run a chapter with papermill at a profile and read back its results.

``python -m vidsynth_lite reproduce vqvae --profile full`` is what a user with a GPU runs; it
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


def _stage_printer(notebook_path: Path):
    """An nbclient ``on_cell_execute`` hook that prints one line when execution enters a new section (the
    chapter's ``##`` headings), with the time since the run started."""
    import time

    import nbformat

    cells = nbformat.read(notebook_path, as_version=4).cells
    headings, current = {}, None
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith(("## ", "# ")):
                    current = line.lstrip("# ").strip()
                    break
        elif current is not None:
            headings[index] = current
            current = None
    started = time.perf_counter()
    total = len(set(headings.values()))
    seen: list[str] = []

    def hook(cell=None, cell_index=None, **_):
        title = headings.get(cell_index)
        if title and title not in seen:
            seen.append(title)
            print(f"[{time.perf_counter() - started:7.1f} s] stage {len(seen)}/{total}: {title}", flush=True)

    return hook


def run_chapter(notebook: str | Path, chapter: str, profile: str, output: str | Path,
                parameters: dict[str, Any] | None = None, timeout: int | None = None, *,
                results_name: str | None = None, progress: bool = False) -> dict[str, Any]:
    """Execute ``notebook`` with ``configs/<chapter>/<profile>.yaml`` (+ ``parameters``); return its results.

    ``results_name``: the chapter's results file (default: ``chapter``); ``progress``: print a line per section.
    """
    import papermill
    import yaml

    config_file = paths.configs_dir() / chapter / f"{profile}.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(f"no profile file {config_file}; expected configs/{chapter}/<smoke|lite|full>.yaml")
    params = {**(yaml.safe_load(config_file.read_text()) or {}), **(parameters or {})}
    env_profile = os.environ.pop("VIDSYNTH_PROFILE", None)  # the profile asked for here must win
    try:
        with tempfile.TemporaryDirectory(prefix="vidsynth-nb-") as folder:
            source = as_notebook(notebook, folder)
            hooks = {"on_cell_execute": _stage_printer(source)} if progress else {}
            papermill.execute_notebook(str(source), str(output), parameters=params,
                                       kernel_name="python3", cwd=str(Path(notebook).resolve().parent),
                                       progress_bar=False, execution_timeout=timeout, **hooks)
    finally:
        if env_profile is not None:
            os.environ["VIDSYNTH_PROFILE"] = env_profile
    name = results_name or chapter
    results = read_results(name)
    if results["profile"] != profile:
        raise RuntimeError(f"results/{name}.json says profile {results['profile']!r}, expected {profile!r}")
    return results
