"""The common contract of every synthetic world: validated arguments, per-item seeds, tensor conversion.

An item is a pure function of ``(world name, split, seed, index)``: its random generator is built from a numpy
``SeedSequence`` whose entropy is exactly those four values (the name and split hashed with SHA-256, not with
Python's per-process ``hash``). Nothing depends on the order items are read in, on the machine, on torch's global
seed or on worker processes. ``train`` and ``test`` use different entropy, hence independent streams that never
produce the same clip (checked in ``tests/test_data_worlds.py``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch.utils.data import Dataset

SPLITS = {"train": 0, "test": 1}
SIZES = (32, 64, 128, 256)
DEFAULT_LENGTH = {"train": 10_000, "test": 1_000}


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def item_seed(world: str, split: str, seed: int, index: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one item: entropy ``(hash(world), split id, seed, index)``."""
    return np.random.SeedSequence([_stable_int(world), SPLITS[split], int(seed), int(index)])


def to_video(frames: np.ndarray) -> torch.Tensor:
    """``[T, 3, H, W]`` float in [0, 1] (channel planes, as the renderers draw) -> float32 in [-1, 1]."""
    v = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
    return v.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0)  # [T, 3, H, W]


class World(Dataset):
    """Base class: a procedural video dataset of ``length`` items.

    Subclasses set ``name``, ``default_frames`` and implement ``generate(ss, frames, size) -> dict`` where ``ss``
    is the item's ``SeedSequence``. ``frames`` and ``size`` change how a clip is rendered (its duration and its
    resolution), never which scene is drawn: the same index shows the same scene at every size.
    """

    name = "world"
    default_frames = 16
    min_frames = 1
    max_frames = 512
    sizes = SIZES

    def __init__(self, split: str = "train", *, frames: int | None = None, size: int = 64, seed: int = 0,
                 length: int | None = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or int(size) not in self.sizes:
            raise ValueError(f"size for world {self.name!r} must be one of {list(self.sizes)}, got {size!r}")
        frames = self.default_frames if frames is None else frames
        if (isinstance(frames, bool) or not isinstance(frames, (int, np.integer))
                or not self.min_frames <= frames <= self.max_frames):
            raise ValueError(f"frames for world {self.name!r} must be an int in "
                             f"[{self.min_frames}, {self.max_frames}], got {frames!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        length = DEFAULT_LENGTH[split] if length is None else length
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"length must be a positive int, got {length!r}")
        self.split, self.frames, self.size = split, int(frames), int(size)
        self.seed, self.length = int(seed), int(length)

    def params(self) -> dict:
        """The generator's parameters (what a cache key must include)."""
        return {"world": self.name, "split": self.split, "frames": self.frames, "size": self.size,
                "seed": self.seed}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.name!r} {self.split} of length {self.length}")
        return self.generate(item_seed(self.name, self.split, self.seed, index), self.frames, self.size)

    def generate(self, ss: np.random.SeedSequence, frames: int, size: int) -> dict:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(split={self.split!r}, frames={self.frames}, size={self.size}, "
                f"seed={self.seed}, length={self.length})")
