"""The response battery (issue 15): the shipped SynVideo sees every damage a viewer sees on pushbot, and its
score rises with the damage; the rule fails for a network blind to appearance (the old SynI3D fails it in chapter
2, whose lite run shows the numbers).

Kept small: N = 96 clips per set (2 draws of 48), two strengths per family (the second and the strongest), one
pass of features per set. Chapter 2 runs the full grid at N = 64 per draw and prints its verdict.
"""

import pytest
import torch

from vidsynth_lite import data
from vidsynth_lite.metrics import battery, syn_video

N, DRAWS = 96, 2


@pytest.fixture(scope="module")
def sets():
    ds = data.load("pushbot", "test", frames=16, size=32, seed=0, length=3 * N)
    v = torch.stack([ds[i]["video"] for i in range(3 * N)])               # [3N, 16, 3, 32, 32]
    return v[:N], v[N:2 * N], v[2 * N:]


def two(strengths):
    return strengths[1], strengths[-1]


@pytest.fixture(scope="module")
def shipped_response(sets):
    net = syn_video.features("lite")
    fams = {name: two(f.strengths) for name, f in battery.FAMILIES.items()}
    return battery.response(net, *sets, families=fams, draws=DRAWS, network="syn-video")


@pytest.mark.slow
def test_shipped_network_sees_every_damage_a_viewer_sees_on_pushbot(shipped_response):
    failures = shipped_response.failures(battery.SEEN["pushbot"])
    assert not failures, "\n".join(failures)


def test_corruptions_are_graded_and_nested(sets):
    a = sets[0][:4]
    weak, strong = battery.corrupt(a, "noise", 0.05), battery.corrupt(a, "noise", 0.1)
    free = (strong.abs() < 1) & (weak.abs() < 1)                            # neither was clamped
    torch.testing.assert_close((strong - a)[free], 2 * (weak - a)[free], atol=1e-5, rtol=1e-4)
    frozen = battery.corrupt(a, "freeze", 4)
    assert torch.equal(frozen[:, :4], a[:, :4]) and torch.equal(frozen[:, 15], a[:, 3])
    assert torch.equal(battery.corrupt(a, "time reversal", 1.0), a.flip(1))
    assert torch.equal(battery.corrupt(a, "time reversal", 0.0), a)
    shuffled = battery.corrupt(a, "block shuffle", 4)
    assert not torch.equal(shuffled, a) and torch.allclose(shuffled.sum(1), a.sum(1), atol=1e-4)
    static = battery.corrupt(a, "static noise", 0.1) - a
    inside = (a.abs() < 0.7).all(1)                                          # pixels never clamped
    torch.testing.assert_close((static[:, 1] - static[:, 0])[inside], torch.zeros_like(static[:, 0][inside]))
    blurred = battery.gaussian_blur(a, 1.0)
    assert torch.allclose(blurred.mean(dim=(-1, -2)), a.mean(dim=(-1, -2)), atol=0.03)   # blur keeps the mean
    assert (blurred[..., 1:] - blurred[..., :-1]).abs().mean() < (a[..., 1:] - a[..., :-1]).abs().mean()


def test_the_rule_fails_a_network_blind_to_appearance(sets):
    """A network that sees only frame differences (what SynI3D mostly was) misses static noise and colour."""
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(3, 32, 3, (1, 2, 2), 1)

    @torch.no_grad()
    def motion_only(x):                                                     # [N, T, 3, H, W] -> [N, 32]
        d = (x[:, 1:] - x[:, :-1]).transpose(1, 2)                          # differences only
        return torch.relu(conv(8 * d)).mean(dim=(2, 3, 4))

    fams = {"static noise": (0.05, 0.2), "colour shift": (0.1, 0.4), "freeze": (8, 1)}
    resp = battery.response(motion_only, *sets, families=fams, draws=DRAWS, network="motion-only probe")
    failing = {line.split(":")[0] for line in resp.failures()}
    assert {"static noise", "colour shift"} <= failing and "freeze" not in failing


def test_failure_messages_name_the_family_and_the_numbers():
    r = battery.BatteryResponse("x", 10, [1.0, 1.2, 0.9, 1.1],
                                {"blur": {0.5: [1.0, 1.1], 2.5: [1.2, 1.0]}, "noise": {0.1: [9, 9], 0.2: [5, 5]}})
    lines = r.failures()
    assert any(line.startswith("blur: at its strongest (2.5)") for line in lines)
    assert any(line.startswith("noise: falls with strength") for line in lines)


def test_one_pass_serves_several_scores_and_known_features_are_used(sets):
    a, b, c = (x[:8] for x in sets)
    calls = []

    def two_scores(x):                                                       # a video and a per-frame feature
        calls.append(x.shape[0])
        f = x.mean(dim=(-1, -2))                                            # [N, T, 3]
        return {"video": f.flatten(1), "frames": f}

    fams = {"noise": (0.1,), "freeze": (1,)}
    out = battery.response(two_scores, a, b, c, families=fams, draws=2)
    assert set(out) == {"video", "frames"} and len(calls) == 3 + 2
    assert out["frames"].metric == "frames" and out["video"].values["noise"][0.1] != out["frames"].values["noise"][0.1]
    known = {"real": two_scores(a), "reference": two_scores(b), "base": two_scores(c)}
    calls.clear()
    again = battery.response(two_scores, a, b, c, families=fams, draws=2, known=known)
    assert len(calls) == 2 and again["video"].floor_draws == out["video"].floor_draws
