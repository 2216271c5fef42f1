"""Disk cache of a generated split, so that a chapter's second run does not render its worlds again.

``cached(world)`` renders every item once and stores them under
``vidsynth_lite.paths.cache_dir() / "data" / <world>-<key>/``:

- ``video.npy``: ``uint8`` ``[N, T, 3, H, W]`` (a quarter of float32; read back memory-mapped), quantised as
  ``round((v + 1) * 127.5)``, so a cached frame differs from the rendered one by at most 1/255 of the range;
- ``annotations.npz``: every other field, stacked over items;
- ``meta.json``: the parameters and the code version the key was made from, and the size and SHA-256 of the two
  files above.

The key is a SHA-256 of the generator's parameters (world, split, frames, size, seed, length and the world's own
options) and of the code version: ``DATA_VERSION`` plus a hash of the rendering source files, so editing a world
invalidates its cache. The folder is written under a temporary name and renamed into place in one step, so an
interrupted run never leaves a half-written cache that a later run would trust. Every time an entry is opened
its files are checked against ``meta.json`` (sizes, then SHA-256, once per process): a damaged entry (a
truncated ``video.npy``, garbage in ``meta.json``, a file changed on disk) is named in a warning and rendered
again instead of being trained on. A full disk is named as such, with the folder, and leaves nothing behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from vidsynth_lite.io.atomic import file_sha256, honour_umask

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


_FILES = ("video.npy", "annotations.npz")
_VERIFIED: dict[str, tuple] = {}   # folder -> (size, mtime) of its files when last verified in this process


class CacheEntryError(ValueError):
    """A data-cache entry that is damaged; the message names the folder and what is wrong."""


def _file_records(folder: Path) -> dict[str, dict]:
    return {name: {"bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)} for name in _FILES}


def verify_entry(folder: Path) -> dict:
    """Check a cache entry's files against its ``meta.json`` (sizes, then SHA-256); return the meta.

    Raises :class:`CacheEntryError` naming the folder and the damage.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if isinstance(meta, dict) and "files" not in meta and "scalars" in meta:
            raise CacheEntryError(f"data cache entry {folder} was written without checksums (an older "
                                  "vidsynth_lite)")
        files, scalars = meta["files"], meta["scalars"]
        if not isinstance(files, dict) or not isinstance(scalars, list):
            raise TypeError("'files' must be a mapping and 'scalars' a list")
    except FileNotFoundError as error:
        raise CacheEntryError(f"data cache entry {folder} has no meta.json") from error
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise CacheEntryError(f"data cache entry {folder}: meta.json is damaged ({type(error).__name__}: "
                              f"{error})") from error
    stamp = []
    for name in _FILES:
        path = folder / name
        if not path.is_file():
            raise CacheEntryError(f"data cache entry {folder}: {name} is missing")
        stat = path.stat()
        expected = files.get(name, {}).get("bytes")
        if stat.st_size != expected:
            raise CacheEntryError(f"data cache entry {folder}: {name} has {stat.st_size} bytes, meta.json records "
                                  f"{expected} (truncated or replaced)")
        stamp.append((stat.st_size, stat.st_mtime_ns))
    if _VERIFIED.get(str(folder)) != tuple(stamp):
        for name in _FILES:
            if file_sha256(folder / name) != files[name].get("sha256"):
                raise CacheEntryError(f"data cache entry {folder}: {name} does not match its recorded SHA-256 "
                                      "(changed on disk)")
        _VERIFIED[str(folder)] = tuple(stamp)
    return meta


class CachedWorld(Dataset):
    """A generated split read back from disk; items look like the world's (``video`` float32 in [-1, 1]).

    Opening verifies the entry (:func:`verify_entry`); a damaged one raises :class:`CacheEntryError`.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = verify_entry(self.folder)
        try:
            self.video = np.load(self.folder / "video.npy", mmap_mode="r")            # [N, T, 3, H, W] uint8
            with np.load(self.folder / "annotations.npz", allow_pickle=False) as z:
                self.annotations = {k: z[k] for k in z.files}
        except (ValueError, OSError) as error:
            raise CacheEntryError(f"data cache entry {self.folder} cannot be read ({type(error).__name__}: "
                                  f"{error})") from error
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
    if folder.exists():
        try:
            return CachedWorld(folder)
        except CacheEntryError as error:
            warnings.warn(f"{error}; rendering it again", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
            _VERIFIED.pop(str(folder), None)
    try:
        return _render_into(world, root, folder, progress)
    except OSError as error:
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise OSError(error.errno, f"the disk holding the data cache {root} is full (writing {folder.name}, "
                          f"{len(world)} clips): free some space, or set VIDSYNTH_CACHE to a folder on another disk; "
                          "nothing was left behind") from error
        raise


def _render_into(world: World, root: Path, folder: Path, progress: bool) -> CachedWorld:
    """Render every item of ``world`` and move the finished entry to ``folder`` in one rename."""
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
        honour_umask(tmp, directory=True)
        np.save(tmp / "video.npy", video)
        np.savez(tmp / "annotations.npz", **{k: np.asarray(v) for k, v in fields.items()})
        meta = {**world.params(), "length": len(world), "code": code_version(), "scalars": scalars,
                "files": _file_records(tmp)}
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
