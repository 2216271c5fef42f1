"""The real Kinetics-400 I3D: preprocessing, TF "SAME" padding, weight mapping and stored regression logits.

Weight-dependent tests skip (with the fetch command) when the weights are absent; ``make test`` fetches them
first with ``make weights``.
"""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from vidsynth_lite.metrics.i3d import InceptionI3d, pad_same, same_padding
from vidsynth_lite.metrics.i3d_weights import NumpyOnlyUnpickler, find_weights
from vidsynth_lite.metrics.preprocess import (
    i3d_preprocess,
    resize_bilinear_tf1,
    resize_bilinear_torch,
    tf1_bilinear_matrix,
)

WEIGHTS = find_weights()
needs_weights = pytest.mark.skipif(WEIGHTS is None, reason="Kinetics-400 I3D weights absent: run `make weights`")


# ---------------------------------------------------------------- preprocessing (no weights needed)

def test_tf1_resize_of_a_ramp_upsampling():
    # TF1 resize_bilinear(align_corners=False): source coordinate i * in/out, upper neighbour clamped
    ramp = torch.arange(4, dtype=torch.float64).view(1, 4).expand(2, 4)          # [H=2, W=4]
    out = resize_bilinear_tf1(ramp, (2, 8))
    expected = torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3], dtype=torch.float64)
    torch.testing.assert_close(out[0], expected)
    # half-pixel centres (torch) give a different, symmetric answer: the reference is not torch's default
    half = resize_bilinear_torch(ramp.float(), (2, 8))[0].double()
    torch.testing.assert_close(half, torch.tensor([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0],
                                                  dtype=torch.float64))


def test_tf1_resize_of_a_ramp_downsampling():
    ramp = torch.arange(8, dtype=torch.float64).view(8, 1)                       # [H=8, W=1]
    out = resize_bilinear_tf1(ramp, (3, 1))[:, 0]
    # scale 8/3: sources 0, 2.667, 5.333 -> plain linear interpolation of the ramp, no antialiasing
    torch.testing.assert_close(out, torch.tensor([0.0, 8 / 3, 16 / 3], dtype=torch.float64))
    assert torch.allclose(tf1_bilinear_matrix(5, 224).sum(1), torch.ones(224, dtype=torch.float64))


def test_i3d_preprocess_shape_range_and_channel_order():
    v = torch.zeros(2, 10, 3, 32, 48)
    v[:, :, 0] = 1.0        # red channel on
    v[:, :, 2] = -1.0
    x = i3d_preprocess(v)
    assert x.shape == (2, 3, 10, 224, 224)                                      # [N, C, T, 224, 224]
    assert torch.all(x[:, 0] == 1) and torch.all(x[:, 1] == 0) and torch.all(x[:, 2] == -1)   # RGB kept
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        i3d_preprocess(v * 255)
    with pytest.raises(ValueError, match=r"\[N, T, 3, H, W\]"):
        i3d_preprocess(torch.zeros(2, 10, 32, 48, 3))


# ---------------------------------------------------------------- architecture (no weights needed)

def test_same_padding_matches_tensorflow_rule():
    assert same_padding(224, 7, 2) == (2, 3)    # out 112: total 5, smaller half first
    assert same_padding(112, 3, 2) == (0, 1)
    assert same_padding(16, 7, 2) == (2, 3)
    assert same_padding(7, 3, 1) == (1, 1)
    assert same_padding(4, 2, 2) == (0, 0)
    x = torch.arange(5.0).view(1, 1, 1, 1, 5)
    y = torch.nn.functional.max_pool3d(pad_same(x, (1, 1, 2), (1, 1, 2), float("-inf")), (1, 1, 2), (1, 1, 2))
    torch.testing.assert_close(y.flatten(), torch.tensor([1.0, 3.0, 4.0]))   # -inf padding never wins


def test_output_shapes_and_minimum_frames():
    m = InceptionI3d()
    with torch.no_grad():
        h = m.features(torch.zeros(1, 3, 16, 224, 224))
    assert h.shape == (1, 1024, 2, 7, 7)
    with pytest.raises(ValueError, match="at least 9 frames"):
        m.features(torch.zeros(1, 3, 8, 224, 224))


def test_numpy_only_unpickler_refuses_code():
    import io
    payload = pickle.dumps({"a": np.arange(3.0)})
    assert np.array_equal(NumpyOnlyUnpickler(io.BytesIO(payload)).load()["a"], np.arange(3.0))
    evil = pickle.dumps(print)
    with pytest.raises(pickle.UnpicklingError, match="only numpy arrays"):
        NumpyOnlyUnpickler(io.BytesIO(evil)).load()


# ---------------------------------------------------------------- with the real weights

@pytest.fixture(scope="module")
def model():
    from vidsynth_lite.metrics.i3d_weights import load_i3d_k400
    return load_i3d_k400(WEIGHTS)


@pytest.fixture(scope="module")
def reference():
    from vidsynth_lite.metrics.i3d_reference import REFERENCE_FILE
    return json.loads(Path(REFERENCE_FILE).read_text())["logits"]


@needs_weights
def test_checkpoint_maps_exactly_onto_the_module():
    from vidsynth_lite.metrics.i3d_weights import read_checkpoint, state_dict_from_checkpoint
    sd = state_dict_from_checkpoint(read_checkpoint(WEIGHTS))       # raises if an array is left unused
    own = InceptionI3d().state_dict()
    assert set(sd) == set(own)
    for k, v in own.items():
        assert sd[k].shape == v.shape, k
    assert sum(v.numel() for k, v in sd.items() if "num_batches" not in k) > 12_000_000


@needs_weights
@pytest.mark.parametrize("value", [-1.0, 1.0])
@pytest.mark.parametrize("frames", [16, 30])
def test_constant_video_regression(model, reference, value, frames):
    from vidsynth_lite.metrics.i3d_reference import constant_clip
    with torch.no_grad():
        got = model(i3d_preprocess(constant_clip(value, frames)))[0]
    want = torch.tensor(reference[f"constant_{value:+.0f}_T{frames}"])
    torch.testing.assert_close(got, want, atol=2e-3, rtol=1e-3)


@needs_weights
def test_fixed_clip_stored_logits(model, reference):
    from vidsynth_lite.metrics.i3d_reference import fixed_clip
    with torch.no_grad():
        got = model(i3d_preprocess(fixed_clip()))[0]
    want = torch.tensor(reference["fixed_clip_T16_64px"])
    torch.testing.assert_close(got, want, atol=2e-3, rtol=1e-3)
    assert int(got.argmax()) == int(want.argmax())


@needs_weights
def test_constant_videos_are_far_apart_in_i3d_space(model, reference):
    a = torch.tensor(reference["constant_-1_T16"])
    b = torch.tensor(reference["constant_+1_T16"])
    assert (a - b).norm() > 1.0   # black and white clips are different features, not a degenerate network


@needs_weights
def test_pytorch_port_layout_maps_to_the_same_network(model, tmp_path):
    """Write our weights in the PyTorch port's layout (with a non-trivial BN scale folded back out) and reload."""
    from vidsynth_lite.metrics.i3d import INCEPTION_CHANNELS
    from vidsynth_lite.metrics.i3d_weights import _PT_BRANCHES, load_i3d_k400
    ours = model.state_dict()
    units = {n: n for n in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")}
    for block in INCEPTION_CHANNELS:
        for a, b in _PT_BRANCHES.items():
            units[f"{block}.{a}"] = f"{block}.{b}"
    sd = {}
    for a, b in units.items():
        gamma = torch.linspace(0.5, 2.0, ours[f"{a}.beta"].numel())
        sd[f"{b}.conv3d.weight"] = ours[f"{a}.conv.weight"] / gamma.view(-1, 1, 1, 1, 1)
        sd[f"{b}.bn.weight"] = gamma
        sd[f"{b}.bn.bias"] = ours[f"{a}.beta"]
        sd[f"{b}.bn.running_mean"] = ours[f"{a}.bn.running_mean"] / gamma
        sd[f"{b}.bn.running_var"] = ours[f"{a}.bn.running_var"]
    sd["logits.conv3d.weight"], sd["logits.conv3d.bias"] = ours["logits.weight"], ours["logits.bias"]
    torch.save(sd, tmp_path / "port.pt")
    other = load_i3d_k400(tmp_path / "port.pt")
    x = i3d_preprocess(torch.rand(1, 10, 3, 16, 16) * 2 - 1)
    with torch.no_grad():
        torch.testing.assert_close(other(x), model(x), atol=1e-3, rtol=1e-4)
