"""The results store: one JSON file per chapter, ``results/<chapter>.json``.

Every number carries its protocol: ``{"chapter", "profile", "metrics": {...}, "protocol": {...},
"environment": {...}, "config": {...}, "run_key", "code_version", "written": ISO time}``. ``config`` holds
every resolved parameter of the run (pass ``config=cfg``), so two results files say exactly how they differ.
The reproduction pages read these files; no number is typed in.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from pathlib import Path
from typing import Any

from vidsynth_lite import config as config_module
from vidsynth_lite import paths
from vidsynth_lite.io.atomic import write_text

REQUIRED = ("chapter", "profile", "metrics", "protocol", "environment")
_NAME = re.compile(r"^[a-z0-9_]+$")


def _plain(value: Any) -> Any:
    """Make numbers JSON-native (tensors, numpy scalars) and refuse NaN (a result must be a number)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # kept visible ("nan"), never silently dropped
    return value


class ResultsError(ValueError):
    """A results file that cannot be read back (truncated, not JSON, missing keys); the message names it."""


def results_path(chapter: str, root: str | Path | None = None) -> Path:
    """The results file of ``chapter``: ``<root or results/>/<chapter>.json`` (the name is always checked)."""
    if not isinstance(chapter, str) or not _NAME.match(chapter):
        raise ValueError(f"chapter name {chapter!r} must be lower-case letters, digits and '_'")
    return (Path(root) if root is not None else paths.results_dir()) / f"{chapter}.json"


def write_results(chapter: str, profile: str, metrics: dict[str, Any], protocol: dict[str, Any],
                  environment: dict[str, Any] | None = None, root: str | Path | None = None, *,
                  config: config_module.ChapterConfig | dict[str, Any] | None = None) -> Path:
    """Write ``results/<chapter>.json`` atomically and return its path.

    ``config``: the chapter's resolved config; every parameter is recorded, with the run key and the code
    version (:func:`vidsynth_lite.config.run_key`), so a results file says exactly which run made it.
    """
    from vidsynth_lite import runtime

    path = results_path(chapter, root)
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError("metrics must be a non-empty dict of name -> value")
    if not isinstance(protocol, dict) or not protocol:
        raise ValueError("protocol must be a non-empty dict describing how the metrics were measured")
    record = {
        "chapter": chapter,
        "profile": profile,
        "metrics": _plain(metrics),
        "protocol": _plain(protocol),
        "environment": _plain(environment if environment is not None else runtime.environment()),
        "code_version": config_module.code_version(),
        "seconds": runtime.elapsed(),       # the chapter's run time up to this call (None outside a chapter)
    }
    if isinstance(config, config_module.ChapterConfig):
        if config.profile != profile:
            raise ValueError(f"write_results: profile {profile!r} but config.profile {config.profile!r}")
        record.update(config=_plain(config.to_dict()), run_key=config_module.run_key(config))
    elif config is not None:
        if not isinstance(config, dict):
            raise TypeError(f"config must be a ChapterConfig or a dict, got {type(config).__name__}")
        record["config"] = _plain(config)
    record["written"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    write_text(path, json.dumps(record, indent=2, sort_keys=False) + "\n")
    return path


def read_results(chapter: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read a chapter's results; a missing or malformed file raises with what to run to make it."""
    path = results_path(chapter, root)
    if not path.is_file():
        raise FileNotFoundError(f"no results for chapter {chapter!r} at {path}; run the chapter's notebook first")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path} is not a readable results file ({type(error).__name__}: {error}); it is "
                           "truncated or damaged: run the chapter's notebook again to rewrite it") from error
    if not isinstance(record, dict):
        raise ResultsError(f"{path} holds a {type(record).__name__}, expected a JSON object")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ResultsError(f"{path} lacks {missing}; expected the keys {list(REQUIRED)}")
    return record


def available(root: str | Path | None = None) -> list[str]:
    """The chapters that have a results file."""
    folder = Path(root) if root else paths.results_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
