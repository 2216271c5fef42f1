"""Chapters: the only layer that knows chapters exist.

One module per chapter holds its validated settings (a :class:`~vidsynth_lite.config.ChapterConfig` subclass
whose profile values live in ``configs/<config folder>/<profile>.yaml``) and the glue the chapter needs that is
not a model, a metric or a loop. :data:`CHAPTERS` names every chapter: its notebook source, its config class
and the results file it writes.
"""

from __future__ import annotations

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class Chapter:
    """One chapter of the book: ``notebook`` (source under ``notebooks/``), ``module`` (its settings module here),
    ``config`` (the config class's name in that module), ``results`` (the file name under ``results/``)."""

    notebook: str
    module: str
    config: str
    results: str

    def config_class(self):
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.config)


CHAPTERS: dict[str, Chapter] = {
    "running": Chapter("00_running_the_book", "running", "RunningConfig", "running"),
    "data": Chapter("01_video_data", "video_data", "DataConfig", "data"),
    "metrics": Chapter("02_measuring", "measuring", "MetricsConfig", "metrics"),
    "vqvae": Chapter("03_vqvae", "vqvae", "VQVAEChapterConfig", "vqvae"),
    "ccvs": Chapter("04_ccvs", "ccvs", "CCVSChapterConfig", "ccvs"),
}

__all__ = ["CHAPTERS", "Chapter"]
