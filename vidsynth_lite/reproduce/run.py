"""Run a chapter with papermill at a profile and read back its results.

``python -m vidsynth_lite reproduce vqvae --profile full`` is what a user with a GPU runs; it
is ``papermill <notebook> <out> -f configs/<chapter>/<profile>.yaml -k python3`` plus a read-back of
``results/<chapter>.json``. The notebook may be given as its jupytext source (``notebooks/03_vqvae.py``): it is
converted to a notebook first. Parameter validation happens inside the notebook (its ``resolve`` cell), so a
wrong name, type or range fails the run with the config's message; the command line checks them before it
starts papermill (:mod:`vidsynth_lite.cli`).

Every cell runs under a per-cell time limit (:data:`CELL_TIMEOUT_S`, by profile): a cell that stalls -- a kernel
or a driver waiting on a message that never comes, both idle -- fails the run with :class:`CellStalled`, which
names the cell and its section, instead of waiting forever. The kernel client is
:class:`~vidsynth_lite.reproduce.kernel.RearmingKernelManager`'s, which removes the one such stall we found (a
reply stranded in the driver's shell socket, see :mod:`vidsynth_lite.reproduce.kernel`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from vidsynth_lite import paths
from vidsynth_lite.reproduce.kernel import RearmingKernelManager
from vidsynth_lite.reproduce.results import read_results

# Seconds one cell may run before the run fails (0 or None: no limit). smoke matches CI's nbval limit
# (Makefile: --nbval-cell-timeout=600); lite leaves a loaded 2-core machine room; full trains for days on a GPU
# (its cells resume from checkpoints when re-run), so its bound only catches a stall.
CELL_TIMEOUT_S = {"smoke": 600, "lite": 3600, "full": 7 * 24 * 3600}
IOPUB_TIMEOUT_S = 60  # after a cell's reply, how long its last outputs may take (nbclient's default 4 s is short
                      # for a machine at load 6)


class CellStalled(TimeoutError):
    """A chapter's cell ran past the per-cell limit (or its outputs never finished arriving)."""


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


def _section_starts(notebook_path: Path) -> dict[str, str]:
    """``{cell id: heading}`` for the first code cell after each of the chapter's ``#``/``##`` headings.
    Cells are matched by their id, not their index: papermill inserts its injected-parameters cell, which shifts
    every index after it."""
    import nbformat

    cells = nbformat.read(notebook_path, as_version=4).cells
    headings, current = {}, None
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith(("## ", "# ")):
                    current = line.lstrip("# ").strip()
                    break
        elif current is not None:
            headings[cell.get("id")] = current
            current = None
    return headings


class _CellTracker:
    """An nbclient ``on_cell_start`` hook that remembers the cell being run and the section it is in, so that a
    cell that stalls can be named."""

    def __init__(self, notebook_path: Path):
        self.headings = _section_starts(notebook_path)
        self.section: str | None = None
        self.cell = None
        self.index: int | None = None

    def __call__(self, cell=None, cell_index=None, **_):
        self.cell, self.index = cell, cell_index
        self.section = self.headings.get(cell.get("id"), self.section) if cell is not None else self.section

    def describe(self) -> str:
        if self.cell is None:
            return "before its first cell (kernel start-up)"
        lines = [line for line in self.cell.source.splitlines() if line.strip()]
        first = lines[0].strip() if lines else ""
        first = first if len(first) <= 70 else first[:67] + "..."
        section = f" in section {self.section!r}" if self.section else ""
        return f"cell {self.index} (id {self.cell.get('id')}){section}, which starts {first!r}"


def _stage_printer(notebook_path: Path):
    """An nbclient ``on_cell_execute`` hook that prints one line when execution enters a new section (the
    chapter's ``##`` headings), with the time since the run started."""
    import time

    headings = _section_starts(notebook_path)
    started = time.perf_counter()
    total = len(set(headings.values()))
    seen: list[str] = []

    def hook(cell=None, cell_index=None, **_):
        title = headings.get(cell.get("id")) if cell is not None else None
        if title and title not in seen:
            seen.append(title)
            print(f"[{time.perf_counter() - started:7.1f} s] stage {len(seen)}/{total}: {title}", flush=True)

    return hook


def cell_timeout(profile: str, timeout: int | None = None) -> int | None:
    """The per-cell limit in seconds: ``timeout`` if given (0: no limit), else the profile's default."""
    if timeout is None:
        timeout = CELL_TIMEOUT_S.get(profile, max(CELL_TIMEOUT_S.values()))
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise ValueError(f"cell timeout must be a whole number of seconds >= 0 (0: no limit), got {timeout!r}")
    return timeout or None


def run_chapter(notebook: str | Path, chapter: str, profile: str, output: str | Path,
                parameters: dict[str, Any] | None = None, timeout: int | None = None, *,
                results_name: str | None = None, progress: bool = False) -> dict[str, Any]:
    """Execute ``notebook`` with ``configs/<chapter>/<profile>.yaml`` (+ ``parameters``); return its results.

    ``timeout``: seconds one cell may run (default :data:`CELL_TIMEOUT_S` for the profile; 0: no limit); a cell
    past it stops the run with :class:`CellStalled` naming the cell. ``results_name``: the chapter's results
    file (default: ``chapter``); ``progress``: print a line per section.
    """
    import papermill
    import yaml
    from nbclient.exceptions import CellTimeoutError

    config_file = paths.configs_dir() / chapter / f"{profile}.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(f"no profile file {config_file}; expected configs/{chapter}/<smoke|lite|full>.yaml")
    params = {**(yaml.safe_load(config_file.read_text()) or {}), **(parameters or {})}
    limit = cell_timeout(profile, timeout)
    env_profile = os.environ.pop("VIDSYNTH_PROFILE", None)  # the profile asked for here must win
    try:
        with tempfile.TemporaryDirectory(prefix="vidsynth-nb-") as folder:
            source = as_notebook(notebook, folder)
            tracker = _CellTracker(source)
            hooks = {"on_cell_start": tracker}
            if progress:
                hooks["on_cell_execute"] = _stage_printer(source)
            try:
                papermill.execute_notebook(str(source), str(output), parameters=params,
                                           kernel_name="python3", cwd=str(Path(notebook).resolve().parent),
                                           progress_bar=False, execution_timeout=limit,
                                           iopub_timeout=IOPUB_TIMEOUT_S,
                                           kernel_manager_class=RearmingKernelManager, **hooks)
            except CellTimeoutError as error:
                what = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise CellStalled(
                    f"{chapter} at {profile}: {tracker.describe()} did not finish: {what} (per-cell limit "
                    f"{limit} s, outputs {IOPUB_TIMEOUT_S} s); the notebook as far as it ran is {output}. "
                    "A cell that needs longer: --cell-timeout SECONDS (0: no limit)") from error
    finally:
        if env_profile is not None:
            os.environ["VIDSYNTH_PROFILE"] = env_profile
    name = results_name or chapter
    results = read_results(name)
    if results["profile"] != profile:
        raise RuntimeError(f"results/{name}.json says profile {results['profile']!r}, expected {profile!r}")
    return results
