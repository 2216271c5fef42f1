"""Disk cache of generated splits: same items (up to uint8 quantisation), keyed by parameters and code version."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import vidsynth_lite.data as D
from vidsynth_lite.data import cache as C


def test_cached_items_match_the_world(tmp_path):
    world = D.load("drums", frames=4, size=32, length=5)
    ds = D.cached(world, root=tmp_path, progress=False)
    assert len(ds) == 5
    for i in (0, 4):
        a, b = world[i], ds[i]
        assert set(a) == set(b)
        assert (a["video"] - b["video"]).abs().max() <= 1 / 127.5 + 1e-6
        torch.testing.assert_close(a["audio"], b["audio"])
        assert a["sample_rate"] == b["sample_rate"] and isinstance(b["sample_rate"], int)
    folder = next(tmp_path.iterdir())
    assert np.load(folder / "video.npy", mmap_mode="r").dtype == np.uint8


def test_second_call_reuses_the_cache_and_keys_differ(tmp_path, monkeypatch):
    world = D.load("pushbot", frames=3, size=32, length=3)
    D.cached(world, root=tmp_path, progress=False)
    calls = []
    monkeypatch.setattr(type(world), "generate", lambda *a: calls.append(1))
    again = D.cached(world, root=tmp_path, progress=False)
    assert calls == [] and len(again) == 3
    keys = {C.cache_key(D.load("pushbot", frames=3, size=32, length=3, **kw)) for kw in
            ({}, {"seed": 1}, {"objects": 2})}
    keys.add(C.cache_key(D.load("pushbot", "test", frames=3, size=32, length=3)))
    keys.add(C.cache_key(D.load("pushbot", frames=4, size=32, length=3)))
    assert len(keys) == 5


def test_code_version_change_invalidates(tmp_path, monkeypatch):
    world = D.load("sky", frames=2, size=32, length=2)
    k1 = C.cache_key(world)
    monkeypatch.setattr(C, "DATA_VERSION", "999")
    assert C.cache_key(world) != k1


def test_interrupted_write_leaves_nothing_trusted(tmp_path, monkeypatch):
    world = D.load("sky", frames=2, size=32, length=2)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(C.np, "savez", boom)
    with pytest.raises(RuntimeError):
        D.cached(world, root=tmp_path, progress=False)
    assert os.listdir(tmp_path) == []


def test_default_location_follows_vidsynth_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_CACHE", str(tmp_path))
    D.cached(D.load("faces_b", size=32, length=2), progress=False)
    assert len(list((tmp_path / "data").iterdir())) == 1
    with pytest.raises(TypeError, match="synthetic world"):
        D.cached([1, 2, 3])


# --------------------------------------------------------------------- issue 9: damaged entries, full disks, modes
@pytest.mark.parametrize("damage, words", [
    (lambda f: (f / "video.npy").write_bytes((f / "video.npy").read_bytes()[:-100]), ["video.npy has", "bytes"]),
    (lambda f: (f / "meta.json").write_text("{garbage"), ["meta.json is damaged"]),
    (lambda f: (f / "annotations.npz").unlink(), ["annotations.npz is missing"]),
    (lambda f: _flip_last_byte(f / "video.npy"), ["video.npy does not match its recorded SHA-256"]),
])
def test_damaged_entry_is_named_and_rendered_again(tmp_path, damage, words):
    world = D.load("sky", frames=2, size=32, length=3)
    first = D.cached(world, root=tmp_path, progress=False)
    reference = first[2]["video"].clone()
    folder = first.folder
    del first
    damage(folder)
    C._VERIFIED.clear()                                   # a new process has verified nothing yet
    with pytest.warns(UserWarning) as caught:
        again = D.cached(world, root=tmp_path, progress=False)
    text = str(caught[0].message)
    assert str(folder) in text and "rendering it again" in text
    for word in words:
        assert word in text
    assert torch.equal(again[2]["video"], reference)
    with pytest.raises(C.CacheEntryError):
        damage(folder)
        C._VERIFIED.clear()
        C.CachedWorld(folder)


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_full_disk_is_named_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(C.np, "save", no_space)
    with pytest.raises(OSError, match=f"the disk holding the data cache {tmp_path} is full.*VIDSYNTH_CACHE"):
        D.cached(D.load("sky", frames=2, size=32, length=2), root=tmp_path, progress=False)
    assert os.listdir(tmp_path) == []


def test_cache_entries_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = D.cached(D.load("sky", frames=2, size=32, length=2), root=tmp_path, progress=False).folder
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in folder.iterdir())
