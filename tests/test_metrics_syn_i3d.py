"""SynI3D: shapes, order transforms, deterministic seeded training, hash-keyed cache, feature wrapper."""

import dataclasses

import pytest
import torch

from vidsynth_lite.metrics import syn_i3d as S


def test_forward_shapes_and_bad_input():
    m = S.SynI3D(width=4).eval()
    out = m(torch.zeros(2, 16, 3, 32, 32))
    assert out["features"].shape == (2, 32) and out["direction"].shape == (2, 2)
    assert out["speed"].shape == (2,) and out["action"].shape == (2, 12) and out["order"].shape == (2, 3)
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        m(torch.zeros(2, 3, 16, 32, 32))


def test_order_transforms():
    v = torch.arange(8.0).view(8, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(S.reorder(v, 0, g), v)
    assert torch.equal(S.reorder(v, 1, g).flatten(), torch.arange(7.0, -1, -1))
    for _ in range(20):
        s = S.reorder(v, 2, g).flatten()
        assert sorted(s.tolist()) == list(range(8)) and not torch.equal(s, torch.arange(8.0))


def test_seeded_training_is_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_CACHE", str(tmp_path))
    cfg = S.resolve_config("smoke", steps=3, n_train=8, n_test=8)
    m1, r1 = S.train(cfg, progress=False)
    m2, _ = S.train(cfg, progress=False)
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert set(r1["held_out"]) >= {"direction_acc_22.5deg", "speed_acc_25pct", "action_acc", "order_acc"}

    model, report = S.load_or_train("smoke", steps=3, n_train=8, n_test=8, progress=False, return_report=True)
    path = S.cache_path(cfg)
    assert path.is_file() and path.parent == tmp_path / "syn_i3d"
    assert report["hash"] == S.config_hash(cfg) == model.hash
    for a, b in zip(model.state_dict().values(), m1.state_dict().values()):
        assert torch.equal(a, b)                                  # the cached run is the same seeded run
    S._LOADED.clear()
    again = S.load_or_train("smoke", steps=3, n_train=8, n_test=8, progress=False)  # from the file now
    for a, b in zip(again.state_dict().values(), m1.state_dict().values()):
        assert torch.equal(a, b)
    assert S.config_hash(dataclasses.replace(cfg, seed=1)) != S.config_hash(cfg)


def test_resolve_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown SynI3DConfig settings"):
        S.resolve_config("lite", depth=3)
    with pytest.raises(ValueError, match="profile"):
        S.resolve_config("huge")


def test_feature_wrapper_resizes_and_names():
    m = S.SynI3D(width=4).eval()
    m.cfg = S.resolve_config("smoke", width=4)
    m.hash = "test"
    f = S.SynI3DFeatures(m)
    assert f.name == "syn-i3d" and f.dim == 32
    assert f(torch.zeros(3, 16, 3, 64, 64)).shape == (3, 32)       # 64 x 64 resized to the 32 x 32 it knows
    p = f.probs(torch.zeros(2, 16, 3, 32, 32))
    torch.testing.assert_close(p.sum(1), torch.ones(2))


def test_fvd_by_name_uses_syn_i3d_and_names_the_score(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_CACHE", str(tmp_path))
    from vidsynth_lite.metrics import fvd, kvd
    g = torch.Generator().manual_seed(0)
    real = torch.rand(6, 16, 3, 32, 32, generator=g) * 2 - 1
    fake = real.flip(1)
    kw = {"profile": "smoke", "steps": 2, "n_train": 4, "n_test": 4, "progress": False}
    s = fvd(real, fake, network="syn-i3d", network_kwargs=kw)
    assert s.protocol["metric"] == "FVD-syn" and s.protocol["network"] == "syn-i3d"
    assert s.protocol["network_hash"] == S.config_hash(S.resolve_config("smoke", steps=2, n_train=4, n_test=4))
    assert kvd(real, fake, network="syn-i3d", network_kwargs=kw).protocol["metric"] == "KVD-syn"
