"""vidsynth_lite: five video-synthesis papers rebuilt on one small, tested PyTorch package.

Subpackages are imported lazily (``vl.data``, ``vl.metrics`` ...) so that ``import vidsynth_lite`` stays fast
and never touches CUDA. Layers, each importing only from the ones above it::

    runtime, config, paths -> io -> data -> nn -> metrics -> models -> train -> viz -> reproduce
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "paths", "runtime", "config", "io", "data", "nn", "metrics", "models", "train", "viz", "reproduce",
    "exercises", "cli",
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'vidsynth_lite' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
