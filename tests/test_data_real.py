"""Real-video loaders: real clips from Debian's opencv-doc, clips we encode ourselves, corrupted files, BAIR PNGs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vidsynth_lite.data as D
from vidsynth_lite import io as vl_io
from vidsynth_lite.io import read_video, write_video

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
needs_opencv = pytest.mark.skipif(not (OPENCV_DATA / "vtest.avi").is_file(),
                                  reason="Debian's opencv-doc is not installed (apt-get install opencv-doc): "
                                         "no real clips under /usr/share/doc/opencv-doc/examples/data")


@pytest.fixture(scope="module")
def own_clips(tmp_path_factory):
    """A labelled folder of mp4s encoded from the sky world, plus two broken files."""
    root = tmp_path_factory.mktemp("videos")
    sky = D.load("sky", frames=24, size=64)
    for i in range(3):
        cls = "a" if i < 2 else "b"
        (root / cls).mkdir(exist_ok=True)
        write_video(root / cls / f"clip{i}.mp4", sky[i]["video"], fps=8)
    (root / "b" / "notes.mp4").write_text("this is not a video")
    data = (root / "a" / "clip0.mp4").read_bytes()
    (root / "b" / "truncated.mp4").write_bytes(data[: len(data) // 5])
    (root / "a" / "short.mp4").parent.mkdir(exist_ok=True)
    write_video(root / "a" / "short.mp4", sky[5]["video"][:3], fps=8)
    return root, sky


def test_scan_skips_broken_files_with_one_warning_naming_them(own_clips):
    root, _ = own_clips
    with pytest.warns(UserWarning) as record:
        ds = D.VideoFolder(root, frames=8, size=32, labels=True)
    text = str(record[0].message)
    assert "notes.mp4" in text and "truncated.mp4" in text and "short.mp4" in text and "too short" in text
    assert sorted(p.name for p in ds.files) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    assert ds.classes == ["a", "b"] and [ds[i]["label"] for i in range(3)] == [0, 0, 1]


def test_clip_content_offset_and_stride(own_clips):
    root, sky = own_clips
    with pytest.warns(UserWarning):
        fixed = D.VideoFolder(root, frames=5, stride=2, size=64, offset=3)
    item = fixed[0]                                       # clip0.mp4 = sky[0]
    assert item["video"].shape == (5, 3, 64, 64) and item["start"] == 3
    original = sky[0]["video"][3:12:2]
    assert (item["video"] - original).abs().mean() < 0.03  # H.264 at crf 18 is close to the source
    # a wrong frame would be much further away (the clouds move)
    assert (item["video"] - sky[0]["video"][4:13:2]).abs().mean() > (item["video"] - original).abs().mean()
    # an offset beyond what fits is clamped
    with pytest.warns(UserWarning):
        late = D.VideoFolder(root, frames=5, stride=2, size=64, offset=100)
    assert late[0]["start"] == 24 - 9


def test_random_offsets_are_reproducible_and_change_with_epoch(own_clips):
    root, _ = own_clips
    with pytest.warns(UserWarning):
        a = D.VideoFolder(root, frames=4, size=32, offset="random", crop="random", seed=3)
    with pytest.warns(UserWarning):
        b = D.VideoFolder(root, frames=4, size=32, offset="random", crop="random", seed=3)
    starts = [a[i]["start"] for i in range(3)]
    assert starts == [b[i]["start"] for i in range(3)]
    assert torch.equal(a[1]["video"], b[1]["video"])
    seen = set()
    for epoch in range(6):
        a.set_epoch(epoch)
        seen.add(a[0]["start"])
    assert len(seen) > 1


def test_no_usable_file_is_a_clear_error(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"\x00" * 100)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no usable video"):
        D.VideoFolder(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        D.VideoFolder(tmp_path / "missing")
    with pytest.raises(ValueError, match="offset"):
        D.VideoFolder(tmp_path, offset="middle")


@needs_opencv
def test_real_clips_from_opencv_doc(tmp_path):
    root = tmp_path / "real"
    (root / "walking").mkdir(parents=True)
    (root / "movie").mkdir()
    shutil.copy(OPENCV_DATA / "vtest.avi", root / "walking" / "vtest.avi")
    shutil.copy(OPENCV_DATA / "Megamind.avi", root / "movie" / "Megamind.avi")
    raw = (OPENCV_DATA / "Megamind.avi").read_bytes()
    (root / "movie" / "corrupted.avi").write_bytes(raw[:2000] + bytes(np.random.default_rng(0).integers(
        0, 256, 4000, dtype=np.uint8)))
    with pytest.warns(UserWarning, match="corrupted.avi"):
        ds = D.VideoFolder(root, frames=8, stride=2, size=64, offset=10, labels=True)
    assert ds.classes == ["movie", "walking"]
    assert ds.lengths == [270, 795]                    # Megamind.avi, vtest.avi
    item = ds[1]
    assert item["video"].shape == (8, 3, 64, 64) and item["label"] == 1
    v = item["video"]
    assert -1 <= v.min() and v.max() <= 1 and v.std() > 0.1
    # the same frames through the lead's reader, resized the same way: the loader picks the right frames
    ref = read_video(root / "walking" / "vtest.avi", start=10, num_frames=8, stride=2)       # [8, 3, 576, 768]
    ref = torch.nn.functional.interpolate((ref + 1) * 127.5, size=(64, 85), mode="bilinear", antialias=True)
    ref = ref[..., 10:74] / 127.5 - 1
    assert (v - ref).abs().mean() < 0.02
    # people walk in vtest.avi: consecutive sampled frames differ
    assert (v[1:] - v[:-1]).abs().mean() > 0.005


def _write_bair(root: Path, n: int, frames: int, with_arrays=True):
    world = D.load("pushbot", frames=frames, size=64)
    for i in range(n):
        d = root / "train" / f"traj_{i}"
        d.mkdir(parents=True)
        it = world[i]
        rgb = ((it["video"] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for t, img in enumerate(rgb):
            Image.fromarray(img).save(d / f"{t}.png")
        if with_arrays:
            np.save(d / "actions.npy", np.random.default_rng(i).normal(size=(frames, 4)).astype(np.float32))
            np.save(d / "endeffector_positions.npy", it["state"].numpy())
    return world


def test_bair_converted_form(tmp_path):
    world = _write_bair(tmp_path, 2, 12)
    ds = D.BairFolder(tmp_path, "train", frames=10, size=64)
    assert len(ds) == 2
    it = ds[1]
    assert it["video"].shape == (10, 3, 64, 64)
    assert (it["video"] - world[1]["video"][:10]).abs().max() <= 1 / 127.5 + 1e-6   # PNG is lossless (uint8)
    torch.testing.assert_close(it["state"], world[1]["state"][:10])
    assert it["actions"].shape == (10, 4)
    # frames sort numerically: 10.png comes after 9.png
    assert [p.name for p in ds.trajectories[0][1]][-1] == "9.png"


def test_bair_errors_and_short_trajectories(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        D.BairFolder(tmp_path, "train")
    _write_bair(tmp_path, 1, 5, with_arrays=False)
    with pytest.warns(UserWarning, match="shorter"), pytest.raises(ValueError, match="no trajectory"):
        D.BairFolder(tmp_path, "train", frames=30)
    ds = D.BairFolder(tmp_path, "train", frames=5, size=32)
    assert ds[0]["video"].shape == (5, 3, 32, 32) and "actions" not in ds[0]


def test_bair_frames_of_mixed_sizes_name_the_file_and_trajectory(tmp_path):
    _write_bair(tmp_path, 2, 4, with_arrays=False)
    odd = sorted((tmp_path / "train").iterdir())[1] / "2.png"
    Image.new("RGB", (48, 40)).save(odd)
    ds = D.BairFolder(tmp_path, "train", frames=4, size=32)
    assert ds[0]["video"].shape == (4, 3, 32, 32)
    with pytest.raises(vl_io.VideoReadError, match=f"trajectory '{odd.parent.name}': frame .*2.png' is 40x48 but "
                                                    "0.png is 64x64"):
        ds[1]
