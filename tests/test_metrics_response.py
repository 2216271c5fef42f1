"""Response of the Frechet distance to corruptions, relative to the same-distribution floor, on a fixed network.

The fixed network is a seeded, untrained 3D CNN (three 3x3x3 convolutions with ReLU, global average pooling) fed
the first frame followed by the frame differences, so that it sees motion without any training; chapter 2 repeats the experiment with the trained SynI3D and the real I3D.
Each corruption is applied to a real set disjoint from the reference set, so "no corruption" is exactly the floor.
"""

import pytest
import torch

from vidsynth_lite import data
from vidsynth_lite.metrics import frechet_score

N, T = 48, 12


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(3, 16, 3, (1, 2, 2), 1), torch.nn.ReLU(),
        torch.nn.Conv3d(16, 32, 3, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv3d(32, 64, 3, 2, 1), torch.nn.ReLU())

    @torch.no_grad()
    def features(x):                                                   # [N, T, 3, H, W] -> [N, 64]
        motion = torch.cat([x[:, :1], (x[:, 1:] - x[:, :-1]).clamp(-1, 1)], 1)   # frame 0, then differences
        return net(motion.transpose(1, 2)).mean(dim=(2, 3, 4))

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


@pytest.mark.parametrize("kind,factor", [("noise", 10.0), ("shuffle", 3.0), ("frozen", 1.8)])
def test_fvd_grows_above_the_floor(setup, kind, factor):
    features, real, ref, other = setup
    g = torch.Generator().manual_seed(1)
    fr = features(real)
    s = frechet_score(fr, features(corrupt(other, kind, g)), features(ref), metric="FD[probe]")
    assert s.floor > 0
    assert s.value > factor * s.floor, (kind, s.value, s.floor)
    clean = frechet_score(fr, features(other), features(ref))
    assert clean.value < 1.6 * clean.floor                             # an uncorrupted set stays near the floor
