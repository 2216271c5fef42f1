"""Disk cache of a generated split, so that a chapter's second run does not render its worlds again.

``cached(world)`` renders every item once and stores them under
``vidsynth_lite.paths.cache_dir() / "data" / <world>-<key>/``:

- ``video.npy``: ``uint8`` ``[N, T, 3, H, W]`` (a quarter of float32; read back memory-mapped), quantised as
  ``round((v + 1) * 127.5)``, so a cached frame differs from the rendered one by at most 1/255 of the range;
- ``annotations.npz``: every other field, stacked over items;
- ``meta.json``: the parameters and the code version the key was made from.

The key is a SHA-256 of the generator's parameters (world, split, frames, size, seed, length and the world's own
options) and of the code version: ``DATA_VERSION`` plus a hash of the rendering source files, so editing a world
invalidates its cache. The folder is written under a temporary name and renamed into place in one step, so an
interrupted run never leaves a half-written cache that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ._world import World

DATA_VERSION = "1"
_SOURCES = ("render.py", "_world.py", "_backgrounds.py", "pushbot.py", "sky.py", "actions.py", "drums.py",
            "faces.py")


def code_version() -> str:
    """``DATA_VERSION`` plus a short hash of the generators' source code."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return f"{DATA_VERSION}-{h.hexdigest()[:12]}"


def cache_key(world: World) -> str:
    params = {**world.params(), "length": len(world), "code": code_version()}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


class CachedWorld(Dataset):
    """A generated split read back from disk; items look like the world's (``video`` float32 in [-1, 1])."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self.video = np.load(self.folder / "video.npy", mmap_mode="r")            # [N, T, 3, H, W] uint8
        with np.load(self.folder / "annotations.npz", allow_pickle=False) as z:
            self.annotations = {k: z[k] for k in z.files}
        self.scalars = set(self.meta["scalars"])

    def __len__(self) -> int:
        return len(self.video)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < len(self.video):
            raise IndexError(f"index {index} out of range for a cached split of {len(self.video)} items")
        v = torch.from_numpy(np.array(self.video[index])).float().div_(127.5).sub_(1.0)   # [T, 3, H, W]
        item = {"video": v}
        for k, arr in self.annotations.items():
            a = arr[index]
            item[k] = a.item() if k in self.scalars else torch.from_numpy(np.array(a))
        return item


def cached(world: World, root: str | os.PathLike | None = None, progress: bool = True) -> CachedWorld:
    """Render ``world`` once into the disk cache (or reuse a matching cache) and return it as a ``Dataset``."""
    if not isinstance(world, World):
        raise TypeError(f"cached() takes a synthetic world from vidsynth_lite.data.load, got {type(world).__name__}")
    if root is None:
        from vidsynth_lite.paths import cache_dir
        root = cache_dir() / "data"
    root = Path(root)
    folder = root / f"{world.name}-{cache_key(world)}"
    if (folder / "meta.json").is_file():
        return CachedWorld(folder)
    root.mkdir(parents=True, exist_ok=True)
    first = world[0]
    video = np.empty((len(world),) + tuple(first["video"].shape), np.uint8)
    fields: dict[str, list] = {k: [] for k in first if k != "video"}
    scalars = [k for k, v in first.items() if k != "video" and not isinstance(v, torch.Tensor)]
    indices = range(len(world))
    if progress:
        from tqdm.auto import tqdm
        indices = tqdm(indices, desc=f"rendering {world.name} {world.split}", leave=False)
    for i in indices:
        item = first if i == 0 else world[i]
        video[i] = ((item["video"] + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8).numpy()
        for k, values in fields.items():
            v = item[k]
            values.append(v.numpy() if isinstance(v, torch.Tensor) else v)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    try:
        np.save(tmp / "video.npy", video)
        np.savez(tmp / "annotations.npz", **{k: np.asarray(v) for k, v in fields.items()})
        meta = {**world.params(), "length": len(world), "code": code_version(), "scalars": scalars}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        try:
            os.replace(tmp, folder)        # atomic: the folder appears complete or not at all
        except OSError:                    # another process finished first: use its copy
            if not (folder / "meta.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return CachedWorld(folder)
