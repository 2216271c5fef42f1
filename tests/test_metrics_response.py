"""Response of the Frechet distance to corruptions, relative to the same-distribution floor, on a fixed network.

The fixed network is a seeded, untrained SynI3D (width 8) fed the first frame and the frame differences, so that
it sees motion without any training; chapter 2 repeats the experiment with the trained SynI3D and the real I3D.
Each corruption is applied to a real set disjoint from the reference set, so "no corruption" is exactly the floor.
"""

import pytest
import torch

from vidsynth_lite import data
from vidsynth_lite.metrics import frechet_score
from vidsynth_lite.metrics.syn_i3d import SynI3D

N, T = 48, 12


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    net = SynI3D(width=8).eval()

    @torch.no_grad()
    def features(x):                                                   # [N, T, 3, H, W]
        motion = torch.cat([x[:, :1], (x[:, 1:] - x[:, :-1]).clamp(-1, 1)], 1)   # frame 0, then differences
        return net.features(motion)

    ds = data.load("sky", "test", frames=T, size=32, seed=0, length=3 * N)
    v = torch.stack([ds[i]["video"] for i in range(3 * N)])          # [3N, T, 3, 32, 32]
    return features, v[:N], v[N:2 * N], v[2 * N:]


def corrupt(x, kind, g):
    if kind == "noise":
        return (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    if kind == "shuffle":
        return torch.stack([c[torch.randperm(x.shape[1], generator=g)] for c in x])
    if kind == "frozen":
        return x[:, :1].expand_as(x).contiguous()
    raise ValueError(kind)


@pytest.mark.parametrize("kind,factor", [("noise", 2.0), ("shuffle", 1.4), ("frozen", 1.15)])
def test_fvd_grows_above_the_floor(setup, kind, factor):
    features, real, ref, other = setup
    g = torch.Generator().manual_seed(1)
    fr = features(real)
    s = frechet_score(fr, features(corrupt(other, kind, g)), features(ref), metric="FD[probe]")
    assert s.floor > 0
    assert s.value > factor * s.floor, (kind, s.value, s.floor)
    clean = frechet_score(fr, features(other), features(ref))
    assert clean.value < factor * clean.floor                          # an uncorrupted set stays near the floor
