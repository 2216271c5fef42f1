"""Where the book keeps what it writes: results, training runs, caches and configs.

Every location can be moved with an environment variable, so that tests write into temporary folders and a
user can put large files on another disk.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The repository that holds this package (the folder with ``pyproject.toml`` above the package).

    Falls back to the current working directory when the package is installed outside a checkout.
    """
    candidate = _PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def results_dir() -> Path:
    """``results/``: one JSON file per chapter (env ``VIDSYNTH_RESULTS``)."""
    return _from_env("VIDSYNTH_RESULTS", repo_root() / "results")


def runs_dir() -> Path:
    """``runs/``: training runs with checkpoints and logs (env ``VIDSYNTH_RUNS``)."""
    return _from_env("VIDSYNTH_RUNS", repo_root() / "runs")


def cache_dir() -> Path:
    """``.cache/``: generated datasets, fetched weights, trained feature networks (env ``VIDSYNTH_CACHE``)."""
    return _from_env("VIDSYNTH_CACHE", repo_root() / ".cache")


def configs_dir() -> Path:
    """``configs/``: papermill parameter files ``<chapter>/<profile>.yaml`` (env ``VIDSYNTH_CONFIGS``)."""
    return _from_env("VIDSYNTH_CONFIGS", repo_root() / "configs")
