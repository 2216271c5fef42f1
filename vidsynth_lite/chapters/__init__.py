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
    ``config`` (the config class's name in that module), ``results`` (the file name under ``results/``),
    ``title``, and ``tables``: the paper tables its results file carries (``metrics["paper_tables"]``)."""

    notebook: str
    module: str
    config: str
    results: str
    title: str = ""
    tables: tuple[str, ...] = ()

    def config_class(self):
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.config)


CHAPTERS: dict[str, Chapter] = {
    "running": Chapter(notebook="00_running_the_book", module="running", config="RunningConfig",
                       results="running", title="Running the book"),
    "data": Chapter(notebook="01_video_data", module="video_data", config="DataConfig", results="data",
                    title="Video data"),
    "metrics": Chapter(notebook="02_measuring", module="measuring", config="MetricsConfig", results="metrics",
                       title="Measuring video synthesis"),
    "vqvae": Chapter(notebook="03_vqvae", module="vqvae", config="VQVAEChapterConfig", results="vqvae",
                     title="Predicting video with a hierarchical VQ-VAE (Walker et al. 2021)",
                     tables=("Walker et al. Table 2",)),
    "ccvs": Chapter(notebook="04_ccvs", module="ccvs", config="CCVSChapterConfig", results="ccvs",
                    title="CCVS: context-aware controllable video synthesis (Le Moing et al. 2021)",
                    tables=("CCVS Table 1", "CCVS Table 2", "CCVS Table 3")),
    "cinn": Chapter(notebook="05_cinn", module="cinn", config="CINNChapterConfig", results="cinn",
                    title="Stochastic image-to-video synthesis with a cINN (Dorkenwald et al. 2021)",
                    tables=("Dorkenwald et al. Table 4",)),
    "trivd": Chapter(notebook="06_trivd", module="trivd", config="TrIVDChapterConfig", results="trivd",
                     title="Transformation-based adversarial video prediction (TrIVD-GAN-FP, Luc et al. 2020)",
                     tables=("Luc et al. Table 1", "Luc et al. Table 2", "Luc et al. Table 4",
                             "Luc et al. Fig. 5")),
    "mocogan_hd": Chapter(notebook="07_mocogan_hd", module="mocogan_hd", config="MoCoGANHDChapterConfig",
                          results="mocogan_hd", title="A good image generator is what you need: MoCoGAN-HD "
                          "(Tian et al. 2021)"),
}

__all__ = ["CHAPTERS", "Chapter"]
