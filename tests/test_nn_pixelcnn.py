"""Masked convolutions, causal attention and the conditional PixelCNN: causality (3D and 2D), receptive field,
fused attention, fast sampling."""

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from vidsynth_lite.nn import (
    CausalPixelCNN,
    CausalSelfAttention3d,
    MaskedConv3d,
    PixelCNNConfig,
    allowed,
    attention_memory_bytes,
    causal_mask,
    sample_cached,
    sample_naive,
)

SIZES = {"num_codes": 8, "hidden": 8, "residual": 8, "layers": 3, "cond_channels": 3, "attn_every": 2, "heads": 2}


def _model_3d(seed=0):
    torch.manual_seed(seed)
    return CausalPixelCNN(PixelCNNConfig.spacetime(3, **SIZES)).double().eval()


def _model_2d(seed=0):
    torch.manual_seed(seed)
    return CausalPixelCNN(PixelCNNConfig.planar(5, **SIZES)).double().eval()


def test_pixelcnn_takes_a_config_and_names_its_kernels():
    cfg = PixelCNNConfig.spacetime(3, **SIZES)
    assert (cfg.first_kernel, cfg.v_kernels, cfg.h_kernel) == ((3, 3, 3), [(3, 3, 1), (3, 1, 3)], (3, 1, 3))
    assert cfg.attention_layers == [1] and PixelCNNConfig.planar(5, **SIZES).h_kernel == (1, 1, 5)
    with pytest.raises(TypeError, match="PixelCNNConfig"):
        CausalPixelCNN(8)
    with pytest.raises(ValueError, match="divisible"):
        PixelCNNConfig.planar(3, **{**SIZES, "heads": 3})


def _dense_causal_attention(attn, x):
    """The textbook computation the module replaced: the full N x N score matrix, masked, softmax."""
    b, c, t, h, w = x.shape
    q, k, v = attn._split(x.flatten(2).transpose(1, 2))                  # [B, heads, N, d]
    n = q.shape[2]
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5               # [B, heads, N, N]
    scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
    return attn.proj(out).transpose(1, 2).reshape(b, c, t, h, w)


def test_attention_equals_the_dense_computation_without_storing_the_score_matrix():
    torch.manual_seed(0)
    attn = CausalSelfAttention3d(32, 4).double().eval()
    x = torch.randn(2, 32, 4, 16, 16, dtype=torch.float64)              # N = 1024 positions
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _dense_causal_attention(attn, x), rtol=1e-10, atol=1e-10)
    scores_bytes = 2 * 4 * 1024 * 1024 * 4                                  # B x heads x N x N in float32
    attn = attn.float()
    x = x.float().requires_grad_(True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        attn(x).sum().backward()
    largest = max(e.cpu_memory_usage for e in prof.events())
    assert largest < scores_bytes / 8, f"an allocation of {largest} B: the N x N scores were stored"
    assert attention_memory_bytes(2, 1024, 32, 4, dense=True)["scores"] == 2 * scores_bytes   # scores + softmax


def test_masks_follow_the_paper_order():
    m = causal_mask((3, 3, 3), "h_first")      # offsets: t, y, x in -1..1
    assert m[0].sum() == 9                     # the whole previous time step
    assert m[2].sum() == 0                     # nothing of the next one
    assert m[1, 0].sum() == 3 and m[1, 1].tolist() == [1, 0, 0] and m[1, 2].sum() == 0
    assert causal_mask((3, 3, 3), "h")[1, 1].tolist() == [1, 1, 0]
    assert causal_mask((1, 3, 3), "v")[0].tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]]
    assert not allowed("v_first", 0, 0, -1) and allowed("v_first", -1, 1, 1)
    with pytest.raises(ValueError):
        MaskedConv3d(1, 1, (2, 3, 3), "h")


@pytest.mark.parametrize("make,shape", [(_model_3d, (2, 3, 4, 4)), (_model_2d, (2, 1, 5, 5))])
def test_logits_depend_only_on_earlier_positions(make, shape):
    """Gradient test: d logits(p) / d input(q) is zero for every q >= p in raster order (t, y, x)."""
    model = make()
    b, t, h, w = shape
    n = t * h * w
    codes = torch.randint(0, 8, shape, generator=torch.Generator().manual_seed(0))
    cond = torch.randn(b, 3, t, h, w, dtype=torch.float64)
    emb = model.embed(codes).detach().requires_grad_(True)                 # [B, T, H, W, C]
    model.embed = _Fixed(emb)
    for p in range(n):
        ti, yi, xi = p // (h * w), (p // w) % h, p % w
        logits = model(codes, cond)[:, :, ti, yi, xi]
        grad, = torch.autograd.grad(logits.sum(), emb)
        seen = grad.abs().sum(dim=(0, 4)).flatten()                        # [T*H*W]
        assert torch.all(seen[p:] == 0), f"position {p} sees itself or the future"
        if p == n - 1:
            assert torch.all(seen[:p] > 0), "the last position should see every earlier one"


class _Fixed(torch.nn.Module):
    """Stands in for the embedding so that gradients w.r.t. the embedded input can be taken."""

    def __init__(self, emb):
        super().__init__()
        self.emb = emb

    def forward(self, codes):
        return self.emb


def test_perturbing_a_code_changes_only_later_logits():
    model = _model_3d(1)
    codes = torch.randint(0, 8, (1, 3, 4, 4), generator=torch.Generator().manual_seed(2))
    cond = torch.randn(1, 3, 3, 4, 4, dtype=torch.float64)
    base = model(codes, cond)
    p = 21                                                                  # t = 1, y = 1, x = 1
    changed = codes.clone()
    changed[0, 1, 1, 1] = (changed[0, 1, 1, 1] + 3) % 8
    diff = (model(changed, cond) - base).abs().amax(dim=(0, 1)).flatten()
    assert torch.all(diff[:p + 1] == 0) and diff[p + 1:].max() > 0


@pytest.mark.parametrize("make,shape", [(_model_3d, (2, 3, 4, 4)), (_model_2d, (3, 1, 5, 5))])
def test_cached_sampler_equals_naive_sampler(make, shape):
    model = make()
    b, t, h, w = shape
    cond = torch.randn(b, 3, t, h, w, dtype=torch.float64)
    u = torch.rand(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for temperature in (1.0, 1.2):
        fast = sample_cached(model, cond, u, temperature)
        naive = sample_naive(lambda c: model(c, cond), u, temperature)
        assert torch.equal(fast, naive)
        # the cached rows give the full pass's logits for the sampled volume
        model.begin(b, t, h, w)
        rows = torch.stack([torch.stack([model.row(fast[:, ti, yi], cond[:, :, ti, yi], ti, yi)
                                         for yi in range(h)], 2) for ti in range(t)], 2)
        model.end()
        torch.testing.assert_close(rows, model(fast, cond), rtol=1e-10, atol=1e-10)
    # different draws give different samples (the test could fail)
    other = sample_cached(model, cond, torch.rand(shape, dtype=torch.float64))
    assert not torch.equal(other, fast)
