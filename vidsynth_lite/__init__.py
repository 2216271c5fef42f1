"""vidsynth_lite: five video-synthesis papers rebuilt on one small, tested PyTorch package.

Subpackages are imported lazily (``vl.data``, ``vl.metrics`` ...) so that ``import vidsynth_lite`` stays fast
and never touches CUDA. Layers, each importing only from the ones before it (``tests/test_layers.py``)::

    runtime, paths, checks, config -> io -> train -> data -> nn -> metrics -> models -> viz -> reproduce
    -> exercises -> chapters -> booktools, cli

``train`` (the one loop) sits right after ``io`` so that every layer that trains something -- the feature
networks in ``metrics``, the models -- uses it; ``chapters`` is the only layer that knows chapters exist.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

LAYERS = ("runtime", "paths", "checks", "config", "io", "train", "data", "nn", "metrics", "models", "viz", "reproduce",
          "exercises", "chapters", "booktools", "cli")
_SUBMODULES = LAYERS


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'vidsynth_lite' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
