"""Score/protocol plumbing, fvd/kvd API on a toy feature network, IS, DIV, ACD and the LPIPS guard."""

import json
import math

import numpy as np
import pytest
import torch

from vidsynth_lite.metrics import (
    LPIPSUnavailable,
    Score,
    acd_color,
    acd_features,
    div,
    div_pixel,
    frechet_distance_from_features,
    fvd,
    inception_score,
    kvd,
    lpips_vgg,
    show,
)


class MeanColourNet:
    """A transparent feature network: per-frame mean colour, concatenated over time ([N, 3T])."""

    name = "mean-colour"
    hash = "none"
    preprocessing = "none"

    def __call__(self, videos):
        return videos.mean(dim=(-2, -1)).flatten(1)


def videos(n, seed, t=4, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 1, 3, 1, 1, generator=g) * 0.3 + shift
    return (base + 0.05 * torch.randn(n, t, 3, 8, 8, generator=g)).clamp(-1, 1)


def test_fvd_protocol_floor_and_draws():
    real, ref, fake = videos(60, 0), videos(60, 1), videos(60, 2, shift=0.4)
    s = fvd(real, fake, network=MeanColourNet(), real_ref=ref, draws=3, protocol={"split": "test", "seed": 7})
    assert s.protocol["metric"] == "FVD[mean-colour]"
    for key in ("network", "network_hash", "preprocessing", "clip_length", "resolution", "n_real", "n_fake",
                "covariance", "split", "seed", "stride", "draws"):
        assert key in s.protocol, key
    assert s.protocol["n_real"] == 20 and s.protocol["clip_length"] == 4 and s.protocol["resolution"] == "8x8"
    assert s.protocol["split"] == "test" and s.protocol["seed"] == 7
    assert s.std is not None and s.std > 0
    assert s.floor is not None and s.value > 5 * s.floor          # a shifted distribution is far above the floor
    # the value is the mean over three disjoint draws of 20
    f = MeanColourNet()
    parts = [frechet_distance_from_features(f(real[i:i + 20]), f(fake[i:i + 20])) for i in (0, 20, 40)]
    assert s.value == pytest.approx(np.mean(parts), rel=1e-10)


def test_fvd_accepts_iterables_of_batches_and_dicts():
    real, fake = videos(24, 3), videos(24, 4, shift=0.2)
    a = fvd(real, fake, network=MeanColourNet())
    b = fvd((real[i:i + 5] for i in range(0, 24, 5)), [{"video": v} for v in fake], network=MeanColourNet())
    assert a.value == pytest.approx(b.value, rel=1e-10)


def test_kvd_names_and_sign():
    real, ref, fake = videos(40, 5), videos(40, 6), videos(40, 7, shift=0.5)
    s = kvd(real, fake, network=MeanColourNet(), real_ref=ref)
    assert s.protocol["metric"] == "KVD[mean-colour]" and s.value > 0 and s.value > abs(s.floor)


def test_fvd_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        fvd(videos(4, 0) * 10, videos(4, 1), network=MeanColourNet())
    with pytest.raises(ValueError, match="network must be"):
        fvd(videos(4, 0), videos(4, 1), network="inception")


def test_score_roundtrip_and_show(capsys):
    s = Score(12.3456, {"metric": "FVD-syn", "n_real": 64}, std=0.5, floor=2.0)
    d = json.loads(json.dumps(s.to_dict()))
    assert Score.from_dict(d) == s
    text = show(s)
    out = capsys.readouterr().out
    assert "FVD-syn = 12.35 +- 0.5 (floor 2)" in out and "n_real=64" in out and text in out


def test_inception_score_closed_forms():
    k = 5
    uniform = torch.full((100, k), 1 / k)
    assert inception_score(uniform, splits=4)[0] == pytest.approx(1.0)
    onehot = torch.eye(k).repeat(20, 1)                          # confident, every class equally often
    mean, std = inception_score(onehot, splits=4)
    assert mean == pytest.approx(k, rel=1e-6) and std == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="softmax"):
        inception_score(torch.ones(10, 3), splits=2)


def test_div_closed_form():
    # K=3 samples on a line at 0, 3, 4 -> pairwise distances 3, 4, 1 -> mean 8/3
    f = torch.tensor([[[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]])     # distances 3, 4, 5
    assert div(f) == pytest.approx(4.0)
    assert div(torch.zeros(2, 4, 7)) == 0.0
    s = torch.zeros(1, 2, 2, 3, 4, 4)
    s[:, 1] = 0.5
    assert div_pixel(s) == pytest.approx(0.5)


def test_acd_color_closed_form_and_features():
    v = torch.zeros(1, 3, 3, 4, 4)
    v[0, 1, 0] = 0.3                                              # frame 1 redder by 0.3
    v[0, 2, 1] = 0.4                                              # frame 2 greener by 0.4
    # pairwise colour distances: 0.3, 0.4, 0.5 -> mean 0.4
    assert acd_color(v) == pytest.approx(0.4)
    assert acd_features(v, lambda x: x.mean(dim=(-2, -1))) == pytest.approx(0.4)
    still = v[:, :1].expand(2, 5, 3, 4, 4)
    assert acd_color(still) == 0.0


def test_lpips_refuses_without_real_weights(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_LPIPS_BACKBONE", raising=False)
    monkeypatch.delenv("VIDSYNTH_LPIPS_HEADS", raising=False)
    with pytest.raises(LPIPSUnavailable, match="real weights"):
        lpips_vgg()
    with pytest.raises(LPIPSUnavailable):
        lpips_vgg("/nonexistent/vgg.pth", "/nonexistent/lin.pth")


def test_score_format_without_std():
    assert str(Score(1.5, {"metric": "X"})) == "X = 1.5"
    assert not math.isnan(Score(1.0).value)
