"""Every metric checks its inputs (issue 9): range, dtype, finiteness, matching shapes and counts."""

import numpy as np
import pytest
import torch

from vidsynth_lite.checks import InputError
from vidsynth_lite.metrics import (
    acd_color,
    div,
    div_pixel,
    fid,
    frechet_distance_from_features,
    frechet_score,
    inception_score,
    mmd2_unbiased,
    psnr,
    ssim,
)

GOOD = torch.rand(2, 4, 3, 16, 16) * 2 - 1
NAN = GOOD.clone()
NAN[0, 1, 2, 3, 4] = float("nan")


class Frames:
    name, hash, preprocessing = "syn-probe", "probe", "none"

    def frames(self, videos):
        return videos.mean(dim=(-1, -2))                                     # [N, T, 3]


@pytest.mark.parametrize("call, words", [
    (lambda: psnr(GOOD, NAN), ["psnr", "NaN"]),
    (lambda: psnr(GOOD * 127.5 + 127.5, GOOD), ["[-1, 1]", "uint8"]),
    (lambda: ssim(GOOD.to(torch.int64), GOOD.to(torch.int64)), ["dtype"]),
    (lambda: div(torch.full((2, 3, 4), float("inf"))), ["NaN or inf"]),
    (lambda: div_pixel(GOOD), ["6 dimensions"]),
    (lambda: inception_score(torch.tensor([[0.5, float("nan")]] * 4), splits=2), ["NaN"]),
    (lambda: acd_color(NAN), ["NaN"]),
    (lambda: acd_color(GOOD[0]), ["5 dimensions"]),
    (lambda: frechet_score(np.ones((4, 3)), np.full((4, 3), np.nan)), ["generated features", "NaN"]),
    (lambda: frechet_score(np.ones((4, 3)), np.ones((4, 2))), ["3-dimensional"]),
    (lambda: frechet_distance_from_features(np.ones((4, 3)), np.full((4, 3), np.inf)), ["NaN or inf"]),
    (lambda: mmd2_unbiased(np.ones((4, 3)), np.full((4, 3), np.nan)), ["NaN or inf"]),
    (lambda: fid(GOOD, GOOD[:1], network=Frames()), ["same size"]),
    (lambda: fid(GOOD, GOOD[:, :2], network=Frames()), ["same [T, C, H, W]"]),
])
def test_bad_metric_inputs_get_one_clear_message(call, words):
    with pytest.raises((InputError, ValueError)) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_psnr_with_another_data_range_skips_the_range_check():
    a = torch.rand(2, 3, 8, 8) * 255
    assert torch.isfinite(psnr(a, a + 1, data_range=255.0)).all()


def test_fid_states_frames_and_clips():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 6, 5, 3, 8, 8, generator=g) * 2 - 1
    s = fid(a, b, network=Frames(), draws=2)
    assert s.protocol["metric"] == "FID-syn" and s.protocol["n_real"] == 3 and s.protocol["n_frames"] == 15
    assert s.protocol["frames_per_clip"] == 5 and len(s.draws) == 2
