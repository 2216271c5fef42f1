"""PSNR and SSIM against scikit-image (and torchmetrics when installed), plus the K-sample helpers."""

import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vidsynth_lite.metrics import best_of_k, mean_of_k, per_timestep, psnr, ssim, ssim_skimage_default


def pair(seed=0, shape=(2, 4, 3, 24, 28), noise=0.3):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(*shape, generator=g) * 2 - 1
    b = (a + noise * torch.randn(*shape, generator=g)).clamp(-1, 1)
    return a, b


def test_psnr_matches_skimage_per_image():
    a, b = pair()
    got = psnr(a, b)
    assert got.shape == (2, 4)
    for i in range(2):
        for t in range(4):
            ref = peak_signal_noise_ratio(a[i, t].numpy(), b[i, t].numpy(), data_range=2.0)
            assert got[i, t].item() == pytest.approx(ref, abs=1e-5)


@pytest.mark.parametrize("noise", [0.05, 0.3, 1.0])
def test_ssim_gaussian_matches_skimage(noise):
    a, b = pair(1, noise=noise)
    got = ssim(a, b)
    assert got.shape == (2, 4)
    for i in range(2):
        for t in range(4):
            ref = structural_similarity(a[i, t].numpy(), b[i, t].numpy(), channel_axis=0, data_range=2.0,
                                        gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
            assert got[i, t].item() == pytest.approx(float(ref), abs=1e-5)


def test_ssim_skimage_default_variant_matches_skimage_defaults():
    a, b = pair(2)
    got = ssim_skimage_default(a, b)
    for i in range(2):
        for t in range(4):
            ref = structural_similarity(a[i, t].numpy(), b[i, t].numpy(), channel_axis=0, data_range=2.0)
            assert got[i, t].item() == pytest.approx(float(ref), abs=1e-5)
    assert not torch.allclose(got, ssim(a, b), atol=1e-3)   # the two variants really differ


def test_torchmetrics_if_installed():
    tm = pytest.importorskip("torchmetrics.functional")
    a, b = pair(3)
    x, y = a.flatten(0, 1), b.flatten(0, 1)
    ref = tm.structural_similarity_index_measure(x, y, data_range=2.0, reduction="none")
    torch.testing.assert_close(ssim(x, y), ref.float(), atol=1e-5, rtol=0)


def test_identical_images():
    a, _ = pair(4)
    assert torch.allclose(ssim(a, a), torch.ones(2, 4))
    assert torch.isinf(psnr(a, a)).all()


def test_helpers():
    v = torch.tensor([[[0.1, 0.5], [0.3, 0.2]], [[0.9, 0.0], [0.4, 0.8]]])   # [B=2, K=2, T=2]
    torch.testing.assert_close(per_timestep(v.mean(1)), torch.tensor([0.425, 0.375]))
    torch.testing.assert_close(best_of_k(v.mean(-1)), torch.tensor([0.3, 0.6]))
    torch.testing.assert_close(best_of_k(v.mean(-1), higher_is_better=False), torch.tensor([0.25, 0.45]))
    torch.testing.assert_close(mean_of_k(v.mean(-1)), torch.tensor([0.275, 0.525]))


def test_bad_input_raises():
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(torch.zeros(3, 16, 16), torch.zeros(3, 16, 17))
    with pytest.raises(ValueError, match="smaller than"):
        ssim(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        psnr(torch.zeros(4, 16, 16), torch.zeros(4, 16, 16))
