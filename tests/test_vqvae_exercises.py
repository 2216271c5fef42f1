"""Chapter 3's exercises refuse answers that call the package's own quantiser or masks (stub fails / solution
passes is tests/test_exercises.py's job for every chapter); the debug exercise's checker catches each bug alone."""

import pytest
import torch
import torch.nn.functional as F

import vidsynth_lite as vl


def _quantize_by_package(z, e, beta):
    codes = vl.nn.nearest_code(z, e)
    e_k = e[codes].detach()
    return vl.nn.straight_through(z, e_k), codes, beta * (z - e_k).pow(2).mean()


def _quantize_by_module(z, e, beta):
    vq = vl.nn.VectorQuantizer(len(e), e.shape[1], init_from_data=False, restart_threshold=0.0)
    with torch.no_grad():
        vq.codebook.copy_(e)
    out = vq.eval()(z)
    return out


def _mask_by_package(kernel, order, include_centre):
    return vl.nn.causal_mask(kernel, "h" if include_centre else "h_first")


def _conv_by_package(x, weight, bias):
    conv = vl.nn.MaskedConv3d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), "h_first")
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv(x)


CHEATS = [("vqvae.quantize", _quantize_by_package, "nearest_code"),
          ("vqvae.quantize", _quantize_by_module, "VectorQuantizer"),
          ("vqvae.order_mask", _mask_by_package, "causal_mask"),
          ("vqvae.masked_conv", _conv_by_package, "MaskedConv3d")]


@pytest.mark.parametrize("name, cheat, named", CHEATS, ids=[f"{n}:{c.__name__}" for n, c, _ in CHEATS])
def test_a_solution_that_calls_the_package_fails(name, cheat, named):
    verdict = vl.exercises.check(name, cheat, quiet=True)
    assert not verdict.passed and "write it yourself" in verdict.message and named in verdict.message, verdict.message


def _conv(time_sign: int, centre: bool):
    def masked_conv3d(x, weight, bias):
        kt, ky, kx = weight.shape[2:]
        dt = time_sign * (torch.arange(kt)[:, None, None] - kt // 2)
        dy = torch.arange(ky)[None, :, None] - ky // 2
        dx = torch.arange(kx)[None, None, :] - kx // 2
        row = (dx <= 0) if centre else (dx < 0)
        mask = (dt < 0) | ((dt == 0) & (dy < 0)) | ((dt == 0) & (dy == 0) & row)
        return F.conv3d(F.pad(x, (kx // 2,) * 2 + (ky // 2,) * 2 + (kt // 2,) * 2), weight * mask.float(), bias)
    return masked_conv3d


@pytest.mark.parametrize("time_sign, centre, passes", [(1, False, True), (-1, False, False), (1, True, False),
                                                        (-1, True, False)],
                         ids=["repaired", "reads the next frame", "reads itself", "both bugs"])
def test_the_debug_checker_catches_each_bug_on_its_own(time_sign, centre, passes):
    verdict = vl.exercises.check("vqvae.masked_conv", _conv(time_sign, centre), quiet=True)
    assert verdict.passed == passes, verdict.message


def test_the_debug_checker_refuses_a_mask_that_sees_nothing():
    def blind(x, weight, bias):
        return F.conv3d(F.pad(x, (1,) * 6), weight * 0, bias)

    verdict = vl.exercises.check("vqvae.masked_conv", blind, quiet=True)
    assert not verdict.passed and "repeated frames" in verdict.message
