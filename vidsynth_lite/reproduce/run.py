"""Run a chapter with papermill at a profile and read back its results.

``python -m vidsynth_lite reproduce notebooks/03_vqvae.ipynb --profile full`` is what a user with a GPU runs; it
is ``papermill <notebook> <out> -f configs/<chapter>/<profile>.yaml -k python3`` plus a read-back of
``results/<chapter>.json``. Parameter validation happens inside the notebook (its ``resolve`` cell), so a wrong
name, type or range fails the run with the config's message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vidsynth_lite import paths
from vidsynth_lite.reproduce.results import read_results


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
        papermill.execute_notebook(str(notebook), str(output), parameters=params, kernel_name="python3",
                                   cwd=str(Path(notebook).parent), progress_bar=False,
                                   execution_timeout=timeout)
    finally:
        if env_profile is not None:
            os.environ["VIDSYNTH_PROFILE"] = env_profile
    results = read_results(chapter)
    if results["profile"] != profile:
        raise RuntimeError(f"results/{chapter}.json says profile {results['profile']!r}, expected {profile!r}")
    return results
