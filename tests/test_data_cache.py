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
