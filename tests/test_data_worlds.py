"""Synthetic worlds: the API contract, determinism, disjoint splits, and annotations that agree with the pixels."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import vidsynth_lite.data as D

WORLDS = ["pushbot", "sky", "actions", "drums", "faces"]
ALL = WORLDS + ["faces_b"]


def _frames(name):
    return 1 if name == "faces_b" else 6


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()


# --- errors -------------------------------------------------------------------------------------------------------

def test_unknown_world_names_the_choices():
    with pytest.raises(ValueError, match="unknown world 'bair'.*pushbot"):
        D.load("bair")


@pytest.mark.parametrize("kwargs, match", [
    ({"size": 48}, "size .* must be one of"),
    ({"size": 64.0}, "size .* must be one of"),
    ({"frames": 0}, "frames"),
    ({"frames": 2.5}, "frames"),
    ({"seed": -1}, "seed"),
    ({"length": 0}, "length"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.load("pushbot", **kwargs)


def test_bad_split_raises():
    with pytest.raises(ValueError, match="split must be one of"):
        D.load("sky", "val")


def test_index_out_of_range():
    ds = D.load("sky", length=3, frames=2, size=32)
    with pytest.raises(IndexError):
        ds[3]
    assert torch.equal(ds[-1]["video"], ds[2]["video"])


def test_world_specific_options_are_validated():
    with pytest.raises(ValueError, match="objects"):
        D.load("pushbot", objects=0)
    with pytest.raises(ValueError, match="frames"):
        D.load("faces_b", frames=4)


# --- contract: shapes, dtypes, ranges -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", [32, 128])
def test_item_shapes_dtypes_ranges(name, size):
    T = _frames(name)
    item = D.load(name, frames=T, size=size)[0]
    v = item["video"]
    assert v.shape == (T, 3, size, size) and v.dtype == torch.float32
    assert v.min() >= -1 and v.max() <= 1 and torch.isfinite(v).all()
    assert v.std() > 0.05  # not a blank frame


def test_default_frames_follow_the_benchmarks():
    assert D.load("pushbot").frames == 30  # BAIR clips have 30 frames
    assert D.load("sky").frames == 16


@pytest.mark.parametrize("name", ALL)
def test_batches_collate(name):
    T = _frames(name)
    batch = next(iter(DataLoader(D.load(name, frames=T, size=32, length=4), batch_size=4)))
    assert batch["video"].shape == (4, T, 3, 32, 32)


def test_annotation_shapes():
    p = D.load("pushbot", frames=5, size=32, objects=4)[0]
    assert p["state"].shape == (5, 3) and p["actions"].shape == (5, 3) and p["objects"].shape == (5, 4, 2)
    torch.testing.assert_close(p["actions"][:-1], p["state"][1:] - p["state"][:-1])
    s = D.load("sky", frames=5, size=32)[0]
    assert s["direction"].shape == () and 0 <= float(s["direction"]) < 2 * np.pi and float(s["speed"]) > 0
    d = D.load("drums", frames=5, size=32)[0]
    assert d["audio"].shape == (5, d["sample_rate"] // d["fps"]) and d["hits"].shape == (5, 5)
    f = D.load("faces", frames=5, size=32)[0]
    assert f["expression"].shape == (5, 4) and 0 <= f["identity"] < 256
    a = D.load("actions", frames=5, size=32)
    assert len(a.classes) >= 10 and 0 <= a[0]["label"] < len(a.classes)


# --- determinism and splits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("split", ["train", "test"])
def test_items_are_pure_functions_of_name_split_seed_index(name, split):
    T = _frames(name)
    a = D.load(name, split, frames=T, size=32)
    b = D.load(name, split, frames=T, size=32, length=50)   # another object, another length
    forward = [a[i]["video"] for i in range(3)]
    backward = [b[i]["video"] for i in (2, 1, 0)][::-1]
    torch.manual_seed(123)
    np.random.seed(123)
    for x, y in zip(forward, backward):
        assert torch.equal(x, y)
    assert not torch.equal(forward[0], forward[1])
    other_seed = D.load(name, split, frames=T, size=32, seed=1)[0]["video"]
    assert not torch.equal(forward[0], other_seed)


@pytest.mark.parametrize("name", ALL)
def test_train_and_test_never_share_a_clip(name):
    T = _frames(name)
    n = 40 if name == "faces_b" else 12
    train = {_digest(D.load(name, "train", frames=T, size=32)[i]["video"]) for i in range(n)}
    test = {_digest(D.load(name, "test", frames=T, size=32)[i]["video"]) for i in range(n)}
    assert len(train) == n and len(test) == n      # no repeats inside a split either
    assert not train & test


def test_same_scene_at_every_size():
    small = D.load("pushbot", frames=4, size=32)[3]
    big = D.load("pushbot", frames=4, size=128)[3]
    torch.testing.assert_close(small["state"], big["state"])
    down = torch.nn.functional.avg_pool2d(big["video"], 4)
    assert (down - small["video"]).abs().mean() < 0.06


# --- pushbot: the gripper is drawn at `state`; objects move only when pushed ---------------------------------------

def _hub_distance(video, state, size):
    """Per frame: distance (pixels) from `state` to the centroid of the gripper cap's yellow pixels."""
    rgb = (video + 1) / 2                                        # [T, 3, H, W]
    hub = torch.tensor([0.97, 0.82, 0.12]).view(1, 3, 1, 1)
    mask = ((rgb - hub).abs().amax(1) < 0.06).float()            # [T, H, W]
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    n = mask.sum((1, 2))
    cx, cy = (mask * xs).sum((1, 2)) / n, (mask * ys).sum((1, 2)) / n
    return torch.hypot(cx - state[:, 0] * size, cy - state[:, 1] * size), n


@pytest.mark.parametrize("index", range(4))
def test_pushbot_gripper_is_drawn_at_state(index):
    size = 64
    item = D.load("pushbot", frames=12, size=size)[index]
    dist, n = _hub_distance(item["video"], item["state"], size)
    assert (n > 0).all()
    assert dist.max() < 1.0, dist
    # a wrong annotation would fail: the cap is far from the state of another frame
    shuffled = item["state"].roll(6, 0)
    moved = (item["state"] - shuffled)[:, :2].norm(dim=1) * size > 4
    if moved.any():
        d2, _ = _hub_distance(item["video"], shuffled, size)
        assert (d2[moved] > 2).all()


def test_pushbot_objects_move_only_when_touched_by_a_lowered_gripper():
    ds = D.load("pushbot", frames=30, size=32)
    pushes = 0
    for i in range(12):
        it = ds[i]
        obj, st = it["objects"], it["state"]
        moved = (obj[1:] - obj[:-1]).norm(dim=-1) > 1e-5                    # [T-1, K]
        near = (obj[1:] - st[1:, None, :2]).norm(dim=-1) < 0.25             # gripper close to the object
        near |= (obj[:-1] - st[:-1, None, :2]).norm(dim=-1) < 0.25
        down = (st[1:, 2] < 0.35) | (st[:-1, 2] < 0.35)
        assert not (moved & ~(near & down[:, None])).any()
        pushes += int(moved.any())
    assert pushes >= 4   # pushing is common, as in BAIR


def test_pushbot_short_clip_is_a_prefix_of_the_long_one():
    a = D.load("pushbot", frames=16, size=32)[5]
    b = D.load("pushbot", frames=30, size=32)[5]
    assert torch.equal(a["video"], b["video"][:16])
    assert torch.equal(a["state"], b["state"][:16])


# --- sky: measured cloud motion follows `direction` and `speed` ----------------------------------------------------

def _phase_correlation(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Integer (dx, dy) that moves `a` onto `b` (peak of the normalised cross-power spectrum)."""
    h, w = a.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    a = (a - a.mean(1, keepdims=True)) * win
    b = (b - b.mean(1, keepdims=True)) * win
    F = np.fft.fft2(b) * np.conj(np.fft.fft2(a))
    c = np.fft.ifft2(F / (np.abs(F) + 1e-9)).real
    iy, ix = np.unravel_index(c.argmax(), c.shape)
    return (ix - w if ix > w // 2 else ix), (iy - h if iy > h // 2 else iy)


def test_sky_cloud_displacement_follows_direction():
    size, lag = 64, 5
    ds = D.load("sky", frames=lag + 1, size=size)
    good = flipped_good = 0
    n = 24
    for i in range(n):
        it = ds[i]
        v = it["video"].mean(1).numpy()[:, : size // 2]                  # sky band, above every horizon
        dx, dy = _phase_correlation(v[0], v[lag])
        d, s = float(it["direction"]), float(it["speed"]) * size * lag
        expect = np.array([np.cos(d), -np.sin(d)]) * s                  # y grows downward in images
        good += np.hypot(dx - expect[0], dy - expect[1]) < 1.5
        flipped_good += np.hypot(dx + expect[0], dy + expect[1]) < 1.5 and s > 3
        np.testing.assert_allclose(it["displacement"][lag].numpy() * size, expect, atol=1e-3)
    assert good >= 0.8 * n
    assert flipped_good <= 0.1 * n


# --- drums: audio onsets fall on strike frames; struck instruments light up --------------------------------------

def test_drums_audio_is_the_instruments_started_on_strike_frames():
    """The waveform is exactly each struck instrument's sound starting at the first sample of its strike frame
    (scaled by the annotated velocity) plus a faint noise floor: shifting any onset by one frame breaks it."""
    from vidsynth_lite.data.drums import GAIN, _timbre
    ds = D.load("drums", frames=16, size=32)
    for i in range(5):
        it = ds[i]
        audio, hits = it["audio"].numpy(), it["hits"].numpy()
        T, spf = audio.shape
        wave = audio.reshape(-1)

        def synth(offset, hits=hits, T=T, spf=spf):
            out = np.zeros(T * spf, np.float32)
            for t, k in zip(*np.nonzero(hits)):
                a = (t + offset) * spf
                if 0 <= a < len(out):
                    s = _timbre(k)[: len(out) - a]
                    out[a:a + len(s)] += GAIN * hits[t, k] * s
            return np.clip(out, -1, 1)

        residual = wave - synth(0)
        assert np.sqrt((residual ** 2).mean()) < 0.004           # only the noise floor is left
        for off in (-1, 1):
            assert np.sqrt(((wave - synth(off)) ** 2).mean()) > 0.02
        first = int(np.argmax(hits.sum(1) > 0))
        assert first > 0 and np.abs(audio[:first]).max() < 0.02  # silence before the first strike


def test_drums_onset_strength_peaks_on_strike_frames():
    ds = D.load("drums", frames=16, size=32)
    on, off = [], []
    for i in range(8):
        it = ds[i]
        audio, hits = it["audio"].numpy(), it["hits"].numpy()
        d = np.diff(audio.reshape(-1), prepend=0.0).reshape(audio.shape)    # emphasises attacks
        q = 64
        ratio = np.sqrt((d[1:, :q] ** 2).mean(1)) / (np.sqrt((d[:-1, -q:] ** 2).mean(1)) + 1e-4)
        struck = hits[1:].sum(1) > 0
        on += list(ratio[struck])
        off += list(ratio[~struck])
    assert np.median(on) > 2 * np.median(off)


def test_drums_struck_instrument_flashes():
    ds = D.load("drums", frames=16, size=64)
    from vidsynth_lite.data.drums import _LAYOUT
    brighter = total = 0
    for i in range(4):
        it = ds[i]
        v, hits = it["video"], it["hits"]
        for t in range(1, 16):
            for k in np.nonzero(hits[t].numpy())[0]:
                if hits[t - 1, k] > 0:
                    continue
                cx, cy = _LAYOUT[k, :2]
                x, y = int(cx * 64), int(cy * 64)
                patch = slice(y - 1, y + 2), slice(x - 6, x + 7)
                now = v[t][:, patch[0], patch[1]].mean()
                before = v[t - 1][:, patch[0], patch[1]].mean()
                brighter += bool(now > before)
                total += 1
    assert total > 10 and brighter >= 0.8 * total


# --- actions: the motion depends on the label ---------------------------------------------------------------------

def _motion_features(video: torch.Tensor) -> np.ndarray:
    diff = (video[1:] - video[:-1]).abs().mean(1)                          # [T-1, H, W]
    spatial = torch.nn.functional.adaptive_avg_pool2d(diff.mean(0, keepdim=True), 4).flatten()
    temporal = diff.mean((1, 2))
    spec = torch.fft.rfft(temporal - temporal.mean()).abs()
    return torch.cat([spatial / (spatial.sum() + 1e-6), spec / (spec.sum() + 1e-6),
                      temporal.mean().reshape(1) * 10]).numpy()


def test_actions_motion_depends_on_label():
    train = D.load("actions", "train", frames=16, size=32)
    test = D.load("actions", "test", frames=16, size=32)
    feats, labels = [], []
    for i in range(180):
        it = train[i]
        feats.append(_motion_features(it["video"]))
        labels.append(it["label"])
    feats, labels = np.stack(feats), np.array(labels)
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    cent = np.stack([((feats[labels == c] - mu) / sd).mean(0) for c in range(12)])
    correct = 0
    n = 72
    for i in range(n):
        it = test[i]
        f = (_motion_features(it["video"]) - mu) / sd
        correct += int(np.argmin(((cent - f) ** 2).sum(1)) == it["label"])
    assert correct / n > 0.35    # chance is 1/12 = 0.083


def test_actions_walkers_travel_and_runners_travel_faster():
    ds = D.load("actions", frames=16, size=32)
    speed = {0: [], 1: [], 3: []}
    i = 0
    while min(len(v) for v in speed.values()) < 3:
        it = ds[i]
        i += 1
        if it["label"] in speed:
            world = it["position"] + it["camera"]                              # undo the camera pan
            speed[it["label"]].append(float((world[-1, 0] - world[0, 0]).abs()))
    assert min(speed[1]) > max(speed[0]) > 0.05 > max(speed[3])


def test_actions_classes_are_balanced():
    labels = np.array([D.load("actions", frames=1, size=32)[i]["label"] for i in range(240)])
    counts = np.bincount(labels, minlength=12)
    assert counts.min() >= 8


# --- faces: the mouth opens when `expression` says so; identities are stable ---------------------------------------

def test_faces_mouth_follows_expression():
    ds = D.load("faces", frames=16, size=64)
    cors = []
    for i in range(8):
        it = ds[i]
        rgb = (it["video"] + 1) / 2
        dark_red = ((rgb[:, 0] < 0.35) & (rgb[:, 1] < 0.15)).float()[:, 34:48, 18:46].sum((1, 2))
        mouth = it["expression"][:, 0]
        if mouth.std() > 0.1:
            cors.append(np.corrcoef(dark_red.numpy(), mouth.numpy())[0, 1])
    assert len(cors) >= 3 and np.median(cors) > 0.7


def test_faces_identity_is_a_stable_look():
    ds = D.load("faces", frames=1, size=32, identities=2, length=40)
    by_id = {}
    for i in range(12):
        it = ds[i]
        by_id.setdefault(it["identity"], []).append(it["video"][0])
    assert set(by_id) == {0, 1}
    # skin and hair dominate the centre: same identity -> closer centre colours than different identities
    centre = {k: torch.stack(v)[:, :, 10:22, 10:22].mean((2, 3)) for k, v in by_id.items()}
    within = max(float(torch.cdist(c, c).max()) for c in centre.values())
    between = float(torch.cdist(centre[0], centre[1]).min())
    assert between > within


def test_worker_processes_give_the_same_items():
    ds = D.load("actions", frames=3, size=32, length=6)
    batch = next(iter(DataLoader(ds, batch_size=6, num_workers=2)))
    assert torch.equal(batch["video"], torch.stack([ds[i]["video"] for i in range(6)]))
    assert batch["label"].tolist() == [ds[i]["label"] for i in range(6)]
