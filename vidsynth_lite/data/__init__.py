"""Video data: procedural worlds that stand in for the papers' benchmarks, and loaders for the real ones.

``load(name, split, frames=, size=, seed=, length=)`` returns a ``torch.utils.data.Dataset`` whose items are dicts
with ``video`` ``[T, 3, H, W]`` float32 in [-1, 1] plus the world's annotations:

============  ==========================  ===========================================================
world         stands in for               annotations
============  ==========================  ===========================================================
``pushbot``   BAIR robot pushing          ``state`` [T, 3] (gripper x, y, height), ``actions``, ``objects``
``sky``       Sky time-lapse, DTDB clouds ``direction`` (radians), ``speed``
``actions``   Kinetics, UCF-101, Weizmann ``label`` (12 classes, ``ActionsWorld.classes``)
``drums``     AudioSet-Drums              ``audio`` [T, samples_per_frame], ``sample_rate``, ``hits``
``faces``     FaceForensics, VoxCeleb     ``identity``, ``expression`` [T, 4]
``faces_b``   second image domain         ``image`` [3, H, W], ``identity`` (animal-like heads, T = 1)
============  ==========================  ===========================================================

Real data: ``VideoFolder`` (any folder of video files), ``BairFolder`` (BAIR in its converted PNG form).
Caching: ``cached(dataset)`` stores a generated split under ``vidsynth_lite.paths.cache_dir()``.
"""

from __future__ import annotations

from . import measure, render
from ._world import SIZES, SPLITS, World, item_seed
from .actions import ActionsWorld
from .cache import CachedWorld, cached
from .drums import Drums
from .faces import Faces, FacesB
from .pushbot import PushBot
from .real import BairFolder, VideoFolder
from .sky import Sky

WORLDS: dict[str, type[World]] = {"pushbot": PushBot, "sky": Sky, "actions": ActionsWorld, "drums": Drums,
                                  "faces": Faces, "faces_b": FacesB}


def load(name: str, split: str = "train", *, frames: int | None = None, size: int = 64, seed: int = 0,
         length: int | None = None, **options) -> World:
    """The synthetic world ``name`` as a ``Dataset`` (see the table in this module's docstring).

    ``frames`` defaults to the world's own clip length (30 for ``pushbot`` like BAIR, 16 otherwise); ``size`` is
    the square resolution (32, 64, 128 or 256); ``seed`` selects an independent universe of clips; ``length`` is
    the number of items (default 10 000 for train, 1 000 for test). ``options`` are world specific
    (``objects=`` for pushbot). Item ``i`` is a pure function of ``(name, split, seed, i)``.
    """
    if not isinstance(name, str) or name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; expected one of {sorted(WORLDS)}")
    return WORLDS[name](split, frames=frames, size=size, seed=seed, length=length, **options)


__all__ = [  # noqa: RUF022
    "load", "WORLDS", "SIZES", "SPLITS", "World", "item_seed", "PushBot", "Sky", "ActionsWorld", "Drums", "Faces",
    "FacesB", "VideoFolder", "BairFolder", "cached", "CachedWorld", "measure", "render",
]
