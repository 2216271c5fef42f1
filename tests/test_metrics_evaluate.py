"""The one evaluation (vidsynth_lite.metrics.evaluate): counts, pasting, baselines, skips, verdicts, checks.

A small closed-form feature network stands in for SynVideo so that each number here can be recomputed by hand.
Several tests fail on chapter 3's former notebook code (named in their docstrings).
"""

import json

import numpy as np
import pytest
import torch

from vidsynth_lite import data
from vidsynth_lite.checks import InputError
from vidsynth_lite.metrics import Score, evaluate, frechet_score, kernel_score
from vidsynth_lite.metrics.evaluation import CEILING, COPY_LAST, FLOOR, STILL_FRAME, Evaluation
from vidsynth_lite.metrics.frechet import frechet_distance_from_features

M, K, T, C = 12, 3, 8, 2


class Probe:
    """Closed-form features: per frame the 2x2 mean colour (12-d); per clip its time mean and mean |difference|."""

    name = "syn-probe"
    hash = "probe"
    preprocessing = "2x2 average pooling"

    def both(self, videos):
        n, t = videos.shape[:2]
        f = torch.nn.functional.adaptive_avg_pool2d(videos.flatten(0, 1), 2).reshape(n, t, -1)   # [N, T, 12]
        motion = (f[:, 1:] - f[:, :-1]).abs().mean(1)                                           # [N, 12]
        return torch.cat([f.mean(1), 4 * motion], 1).double(), f.double()

    def __call__(self, videos):
        return self.both(videos)[0]


@pytest.fixture(scope="module")
def clips():
    ds = data.load("pushbot", "test", frames=T, size=32, seed=0, length=2 * M)
    v = torch.stack([ds[i]["video"] for i in range(2 * M)])
    return v[:M], v[M:]                                                     # real, reference [M, T, 3, 32, 32]


def noisy(x, sigma, seed):
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(-1, 1)


def run(real, ref, samples, **kw):
    kw = {"cond_frames": C, "reference": ref, "network": Probe(), "draws": 3, "skip": ("FVD",), **kw}
    return evaluate(real, samples, **kw)


def test_every_sample_counts_and_the_score_is_the_mean_over_k(clips):
    """Chapter 3's notebook scored M of the M x K samples (the K samples of the first M / K inputs)."""
    real, ref = clips
    s = torch.stack([noisy(real, 0.05 * (j + 1), j) for j in range(K)], 1)              # [M, K, T, ...]
    ev = run(real, ref, {"m": s})
    probe = Probe()
    pasted = s.clone()
    pasted[:, :, :C] = real[:, None, :C]
    rv = probe(real)
    expect = []
    for b in range(3):
        idx = slice(4 * b, 4 * b + 4)
        expect.append(np.mean([frechet_distance_from_features(rv[idx], probe(pasted[idx, j])) for j in range(K)]))
    np.testing.assert_allclose(ev.scores["m"]["FVD-syn"].draws, expect, rtol=1e-10)
    assert ev.scores["m"]["FVD-syn"].protocol["n_real"] == ev.scores["m"]["FVD-syn"].protocol["n_fake"] == 4
    worse = s.clone()
    worse[-1, -1] = noisy(real[-1:], 0.8, 9)[0]                           # only the last sample of the last input
    assert run(real, ref, {"m": worse}).scores["m"]["FVD-syn"].draws[-1] != expect[-1]


def test_fvd_star_reference_has_the_same_given_frames_as_the_samples(clips):
    """Chapter 3 compared samples with pasted true frames against unpasted full-clip reconstructions."""
    real, ref = clips
    recon = noisy(real, 0.1, 3)                                             # an imperfect autoencoder
    ev = run(real, ref, {"outputs the reconstruction": recon[:, None]}, reconstructions=recon)
    assert ev.scores["outputs the reconstruction"]["FVD*-syn"].value < 1e-9
    assert CEILING in ev.scores and "FVD*-syn" not in ev.scores[CEILING]       # it is the FVD* reference
    assert ev.scores[CEILING]["FVD-syn"].value == pytest.approx(ev.scores["outputs the reconstruction"]["FVD-syn"].value)


def test_baselines_are_computed_from_the_same_inputs(clips):
    real, ref = clips
    ev = run(real, ref, {"m": noisy(real, 0.1, 0)[:, None]})
    assert list(ev.rows) == [COPY_LAST, "m"] and ev.rows[COPY_LAST]["kind"] == "baseline"
    copy = real.clone()
    copy[:, C:] = real[:, C - 1:C]
    mse = (copy[:, C:] - real[:, C:]).double().pow(2).flatten(2).mean(-1)               # [M, T - C]
    psnr = (10 * torch.log10(4 / mse.clamp(min=4e-10))).mean()
    assert ev.scores[COPY_LAST]["PSNR best-of-K"].value == pytest.approx(float(psnr), rel=1e-9)
    assert ev.scores[COPY_LAST]["DIV-syn"].value == 0.0
    assert ev.curves[COPY_LAST]["SSIM mean-of-K"].shape == (T - C,)
    un = run(real, ref, {"m": noisy(real, 0.1, 0)[:, None]}, cond_frames=0)
    assert STILL_FRAME in un.rows and "PSNR best-of-K" not in un.scores["m"]
    assert "unconditional" in un.skipped["PSNR"]
    still = un.scores[STILL_FRAME]["FID-syn"]
    assert still.value > 0 and un.scores[FLOOR]["FID-syn"].draws == still.floor_draws
    assert un.scores[STILL_FRAME]["FVD-syn"].value > un.scores[FLOOR]["FVD-syn"].value   # no motion


def test_best_of_k_picks_one_whole_sample_per_input(clips):
    real, ref = clips
    s = torch.stack([noisy(real, 0.3, 0), real, noisy(real, 0.3, 1)], 1)   # sample 1 is the truth
    ev = run(real, ref, {"m": s}, skip=("FVD", "FVD-syn", "KVD-syn", "FID-syn", "DIV-syn"))
    assert ev.scores["m"]["PSNR best-of-K"].value == pytest.approx(100.0)  # the capped PSNR of identical frames
    assert ev.scores["m"]["SSIM best-of-K"].value == pytest.approx(1.0)
    assert ev.scores["m"]["PSNR mean-of-K"].value < 100
    moving = ev.scores[COPY_LAST]["PSNR-moving mean-of-K"]
    assert moving.value < ev.scores[COPY_LAST]["PSNR mean-of-K"].value   # copy-last is worst where things move


def test_mismatched_sets_are_errors_never_silent_cuts(clips):
    """frechet_score / kernel_score cut the larger set to the smaller one's size without a word."""
    real, ref = clips
    a, b = np.random.default_rng(0).standard_normal((2, 12, 5))
    with pytest.raises(InputError, match="same size"):
        frechet_score(a, b[:10])
    with pytest.raises(InputError, match="same size"):
        kernel_score(a, b, b[:8])
    with pytest.raises(InputError, match="divisible"):
        frechet_score(a, b, draws=5)
    with pytest.raises(InputError, match="same inputs"):
        run(real, ref, {"m": real[:-1, None]})
    with pytest.raises(InputError, match="reference"):
        run(real, ref[:-1], {"m": real[:, None]})
    with pytest.raises(InputError, match="divisible"):
        run(real, ref, {"m": real[:, None]}, draws=5)


def test_a_failing_metric_raises_and_only_the_caller_skips(clips):
    """Chapter 3 turned any error into a 'MISSING' line."""
    real, ref = clips

    class Broken(Probe):
        def both(self, videos):
            raise RuntimeError("feature network broke")

    with pytest.raises(RuntimeError, match="broke"):
        run(real, ref, {"m": real[:, None]}, network=Broken())
    with pytest.raises(InputError, match="i3d_clips"):
        run(real, ref, {"m": real[:, None]}, skip=())
    with pytest.raises(InputError, match="unknown metrics"):
        run(real, ref, {"m": real[:, None]}, skip=("FVD", "IS"))
    ev = run(real, ref, {"m": real[:, None]}, skip=("FVD", "KVD-syn"))
    assert ev.skipped["KVD-syn"] == "skipped by the caller" and "KVD-syn" not in ev.scores["m"]
    assert "skipped KVD-syn" in str(ev)


@pytest.mark.parametrize("bad, words", [
    (lambda r: r[:, None] * 255, ["samples['m']", "[-1, 1]"]),
    (lambda r: r[:, None].masked_fill(torch.rand_like(r[:, None]) < 1e-4, float("nan")), ["NaN"]),
    (lambda r: r, ["6 dimensions", "K axis"]),
    (lambda r: r[:, None, :4], ["same [T, C, H, W]"]),
])
def test_bad_samples_get_one_clear_message(clips, bad, words):
    real, ref = clips
    with pytest.raises(InputError) as info:
        run(real, ref, {"m": bad(real)})
    for word in words:
        assert word in str(info.value)


def test_compare_says_beats_only_when_resolved():
    def ev_with(a, b):
        scores = {"A": {"FVD-syn": Score(np.mean(a), {"n_real": 128}, draws=a)},
                  "B": {"FVD-syn": Score(np.mean(b), {"n_real": 128}, draws=b)}}
        return Evaluation(rows={}, scores=scores, curves={}, skipped={}, protocol={})
    resolved = ev_with([1.0, 2.0, 3.0], [5.0, 6.2, 7.1]).compare("A", "B", "FVD-syn")
    assert resolved.resolved and resolved.winner == "A" and str(resolved).startswith("A beats B on FVD-syn")
    assert resolved.difference == pytest.approx(-4.1)
    close = ev_with([1.0, 2.0, 3.0], [1.5, 1.9, 3.4]).compare("A", "B", "FVD-syn")
    assert not close.resolved and "not resolved at this N (n = 128 per draw)" in str(close)
    floor = Evaluation(rows={}, scores={"A": {"FVD-syn": Score(6.0, {}, draws=[5.0, 6.0, 7.0])},
                                        FLOOR: {"FVD-syn": Score(1.0, {}, draws=[1.0, 1.1, 0.9])}},
                       curves={}, skipped={}, protocol={})
    assert str(floor.compare("A", FLOOR, "FVD-syn")).startswith("A is above the real-vs-real floor on FVD-syn")
    one = ev_with([1.0], [9.0]).compare("A", "B", "FVD-syn")
    assert not one.resolved and "one draw" in str(one) and one.a_better is None


def test_compare_two_metrics_of_one_row(clips):
    real, ref = clips
    recon = noisy(real, 0.05, 3)
    ev = run(real, ref, {"m": noisy(real, 0.05, 4)[:, None]}, reconstructions=recon)
    v = ev.compare("m", "m", "FVD*-syn", b_metric="FVD-syn")
    assert v.a == "m [FVD*-syn]" and v.b == "m [FVD-syn]"
    assert v.difference == pytest.approx(ev.scores["m"]["FVD*-syn"].value - ev.scores["m"]["FVD-syn"].value)
    with pytest.raises(ValueError, match="direction"):
        ev.compare("m", "m", "FVD-syn", b_metric="PSNR mean-of-K")


def test_results_are_json_with_a_protocol_per_number(clips):
    real, ref = clips
    ev = run(real, ref, {"m": noisy(real, 0.1, 0)[:, None]}, protocol={"world": "pushbot"})
    d = json.loads(json.dumps(ev.to_dict()))
    fvd = d["rows"]["m"]["metrics"]["FVD-syn"]
    assert fvd["protocol"]["network"] == "syn-probe" and fvd["protocol"]["world"] == "pushbot"
    assert len(fvd["draws"]) == 3 and fvd["floor"] is not None
    assert d["rows"][FLOOR]["kind"] == "floor"
    assert "FVD-syn" in ev._repr_html_()
