"""The measurement helpers chapter 1 and its exercises rely on, checked against closed forms and brute force."""

import numpy as np
import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.data import render as R
from vidsynth_lite.data.measure import capsule_distance, motion_magnitude, phase_correlation


@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-7, 5), (11, 7)])
def test_phase_correlation_recovers_periodic_shifts(shift):
    a = torch.rand(24, 32, generator=torch.Generator().manual_seed(0))
    b = torch.roll(a, shifts=(shift[1], shift[0]), dims=(0, 1))
    assert phase_correlation(a, b).tolist() == [float(shift[0]), float(shift[1])]


def test_motion_magnitude():
    still = torch.zeros(2, 4, 3, 5, 5)
    assert motion_magnitude(still).tolist() == [0.0, 0.0]
    flicker = still.clone()
    flicker[:, 1::2] = 1.0
    torch.testing.assert_close(motion_magnitude(flicker), torch.ones(2))
    with pytest.raises(ValueError, match="T >= 2"):
        motion_magnitude(torch.zeros(2, 1, 3, 4, 4))


def test_capsule_distance_matches_brute_force_and_the_renderer():
    g = torch.Generator().manual_seed(1)
    p, a, b = torch.rand(200, 2, generator=g), torch.tensor([0.2, 0.3]), torch.tensor([0.7, 0.6])
    seg = a + torch.linspace(0, 1, 20001)[:, None] * (b - a)                  # dense points on the segment
    brute = torch.cdist(p.double(), seg.double()).min(1).values - 0.1
    torch.testing.assert_close(capsule_distance(p, a, b, 0.1).double(), brute, atol=1e-4, rtol=0)
    rendered = R.sdf_capsule(p[:, 0].numpy(), p[:, 1].numpy(), 0.2, 0.3, 0.7, 0.6, 0.1)
    np.testing.assert_allclose(rendered, capsule_distance(p, a, b, 0.1).numpy(), atol=1e-6)


@pytest.mark.parametrize("name", ["data.capsule_distance", "data.phase_correlation"])
def test_exercises_fail_on_a_wrong_answer_and_on_the_helper_itself(name):
    verdict = vl.exercises.check(name, lambda *args: torch.zeros(3), quiet=True)
    assert not verdict
    verdict = vl.exercises.check(name, vl.exercises.get(name).reference, quiet=True)   # hidden while checked
    assert not verdict and "write it yourself" in verdict.message
