"""Vector quantiser: Eq. 1 lookup, straight-through gradients, Eq. 3 EMA update, commitment loss, restarts,
float32 under bf16 autocast, no host synchronisation."""

import copy
import math

import pytest
import torch

from vidsynth_lite.nn import (
    VectorQuantizer,
    code_counts_and_sums,
    ema_codebook_update,
    nearest_code,
    perplexity,
    usage,
)


def test_nearest_code_matches_bruteforce():
    g = torch.Generator().manual_seed(0)
    z, e = torch.randn(50, 3, generator=g), torch.randn(7, 3, generator=g)
    brute = torch.stack([((e - zi) ** 2).sum(1).argmin() for zi in z])
    assert torch.equal(nearest_code(z, e), brute)
    with pytest.raises(ValueError, match="same D"):
        nearest_code(z, torch.randn(7, 4))


def test_ema_update_equals_eq3_on_hand_made_batch():
    # codebook of 3 codes in 2D; batch of 4 vectors: two map to code 0, one to code 2, one to code 0 again
    n_old = torch.tensor([2.0, 1.0, 0.5])
    m_old = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-0.5, -0.5]])
    z = torch.tensor([[1.0, 0.1], [0.9, -0.1], [-1.0, -1.2], [1.2, 0.0]])
    codes = torch.tensor([0, 0, 2, 0])
    counts, sums = code_counts_and_sums(z, codes, 3)
    assert counts.tolist() == [3.0, 0.0, 1.0]
    gamma = 0.9
    n, m, e = ema_codebook_update(n_old, m_old, counts, sums, gamma, eps=0.0)
    # by hand: N = 0.9 N + 0.1 n ; m = 0.9 m + 0.1 sum z ; e = m / N
    n_hand = torch.tensor([0.9 * 2 + 0.1 * 3, 0.9 * 1 + 0.0, 0.9 * 0.5 + 0.1 * 1])
    m_hand = torch.tensor([[0.9 * 2 + 0.1 * 3.1, 0.0 + 0.1 * 0.0],
                           [0.0, 0.9],
                           [0.9 * -0.5 + 0.1 * -1.0, 0.9 * -0.5 + 0.1 * -1.2]])
    torch.testing.assert_close(n, n_hand)
    torch.testing.assert_close(m, m_hand)
    torch.testing.assert_close(e, m_hand / n_hand[:, None])
    # Laplace smoothing changes only the denominator: (N + eps) / (sum N + K eps) * sum N
    _, _, e_s = ema_codebook_update(n_old, m_old, counts, sums, gamma, eps=0.1)
    total = n_hand.sum()
    torch.testing.assert_close(e_s, m_hand / ((n_hand + 0.1) / (total + 0.3) * total)[:, None])


def test_quantizer_module_applies_eq3_and_commitment():
    vq = VectorQuantizer(3, 2, beta=0.25, decay=0.9, eps=0.0, restart_threshold=0.0, init_from_data=False)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[1.0, 0.0], [0.0, 5.0], [-1.0, -1.0]]))
        vq.embed_sum.copy_(vq.codebook)
    z = torch.tensor([[1.0, 0.1], [0.9, -0.1], [-1.0, -1.2], [1.2, 0.0]])      # [N, D] as [B, D]
    old = vq.codebook.clone()
    z_in = z.clone().requires_grad_(True)
    out = vq.train()(z_in)
    assert out.codes.tolist() == [0, 0, 2, 0]
    # commitment: beta * mean ||z - sg[e]||^2 with the codebook *before* the update
    torch.testing.assert_close(out.loss, 0.25 * ((z - old[out.codes]) ** 2).mean())
    # Eq. 3 with N_old = 1, m_old = e_old
    n = 0.9 * 1 + 0.1 * torch.tensor([3.0, 0.0, 1.0])
    m = 0.9 * old + 0.1 * torch.stack([z[[0, 1, 3]].sum(0), torch.zeros(2), z[2]])
    torch.testing.assert_close(vq.codebook, m / n[:, None])
    # straight-through: the forward value is the code vector, the gradient reaches z unchanged
    torch.testing.assert_close(out.z_q, old[out.codes])
    out.z_q.sum().backward()
    torch.testing.assert_close(z_in.grad, torch.ones_like(z))


def test_plain_codebook_loss_option_trains_the_codebook():
    vq = VectorQuantizer(4, 2, ema=False, init_from_data=False)
    out = vq.train()(torch.randn(8, 2))
    out.loss.backward()
    assert isinstance(vq.codebook, torch.nn.Parameter) and vq.codebook.grad is not None
    assert vq.codebook.grad.abs().sum() > 0


def test_dead_codes_are_restarted_at_encoder_outputs():
    vq = VectorQuantizer(8, 2, decay=0.5, restart_threshold=0.2, init_from_data=False)
    with torch.no_grad():                       # code 0 near the data, codes 1..7 far away (never used)
        vq.codebook.copy_(torch.cat([torch.zeros(1, 2), torch.full((7, 2), 100.0)]))
        vq.embed_sum.copy_(vq.codebook)
    z = torch.randn(64, 2) * 0.1
    vq.train()
    vq(z)                                        # N of unused codes: 0.5 (not dead yet)
    assert int(vq.restarts) == 0
    vq(z)                                        # 0.25
    vq(z)                                        # 0.125 < 0.2 -> restarted
    assert int(vq.restarts) == 7
    dist = (vq.codebook[1:, None] - z[None]).abs().amax(-1).min(1).values
    assert dist.max() == 0                     # every restarted code sits on a batch vector
    assert torch.all(vq.cluster_size[1:] == 1.0)
    assert torch.equal(vq.codebook[0], torch.zeros(2)) or vq.cluster_size[0] > 0.2   # code 0 lives on


def test_perplexity_and_usage():
    assert float(perplexity(torch.zeros(10, dtype=torch.long), 4)) == pytest.approx(1.0)
    assert float(perplexity(torch.arange(4).repeat(5), 4)) == pytest.approx(4.0)
    assert float(usage(torch.tensor([0, 0, 1]), 4)) == pytest.approx(0.5)
    p = torch.tensor([0.5, 0.25, 0.25])
    assert float(perplexity(torch.tensor([0, 0, 1, 2]), 3)) == pytest.approx(math.exp(-(p * p.log()).sum().item()))


def test_quantizer_runs_in_float32_under_bf16_autocast():
    """Under bf16 autocast the codes, the loss and the EMA buffers equal the float32 ones exactly, and the
    buffers stay float32. Without the guard, bf16 distances pick other codes for near-tied vectors."""
    torch.manual_seed(0)
    vq = VectorQuantizer(512, 64, init_from_data=False, restart_threshold=0.0)
    z = torch.randn(4, 64, 4, 8, 8)                                      # [B, D, T, H, W]: 1024 vectors
    ref = copy.deepcopy(vq).train()
    out_ref = ref(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = vq.train()(z)
        bf16_codes = nearest_code(z.movedim(1, -1).reshape(-1, 64), ref.codebook)   # unguarded Eq. 1
    assert torch.equal(out.codes, out_ref.codes)
    assert torch.equal(out.loss, out_ref.loss) and out.z_q.dtype == torch.float32
    for name in ("codebook", "cluster_size", "embed_sum"):
        assert getattr(vq, name).dtype == torch.float32, name
        assert torch.equal(getattr(vq, name), getattr(ref, name)), name
    assert not torch.equal(bf16_codes, out_ref.codes.flatten())          # the guard is needed


def test_quantizer_training_step_never_reads_a_tensor_on_the_host():
    """On the meta device any ``int(t)``, ``float(t)`` or ``.item()`` raises: a training step (data start, EMA,
    restarts, statistics, backward) that runs there has no host synchronisation."""
    with torch.device("meta"):
        vq = VectorQuantizer(16, 4, restart_threshold=1.0)
        z = torch.randn(2, 4, 3, 3, requires_grad=True)
        for _ in range(2):
            out = vq.train()(z)
            (out.loss + out.z_q.sum()).backward()
    assert out.perplexity.device.type == "meta" and out.usage.device.type == "meta"
    with pytest.raises(RuntimeError, match="meta"):                      # the probe itself can fail
        int(vq.step)


def test_restarts_and_data_start_are_exactly_repeatable_from_the_global_seed():
    """Restart rows come from the device's global generator (saved in every training checkpoint)."""
    def run():
        torch.manual_seed(3)
        vq = VectorQuantizer(32, 2, decay=0.5, restart_threshold=0.5).train()
        for i in range(4):
            vq(torch.randn(16, 2, generator=torch.Generator().manual_seed(i)))
        return vq
    a, b = run(), run()
    assert int(a.restarts) > 0 and torch.equal(a.codebook, b.codebook)


def test_quantizer_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"\[B, 4"):
        VectorQuantizer(8, 4)(torch.randn(2, 3, 5))
