"""The GPT of nn/gpt.py: causal, cached == uncached (logits and sampled tokens), sliding windows, the loss."""

import pytest
import torch
import torch.nn.functional as F

from vidsynth_lite.nn import GPT, GPTConfig, sample_chunks


def _model(dtype=torch.float64, **kw) -> GPT:
    cfg = GPTConfig(**{"vocab_size": 23, "block_size": 24, "n_layer": 2, "n_head": 2, "n_embd": 16,
                       "n_slots": 6, "n_times": 4, **kw})
    torch.manual_seed(0)
    model = GPT(cfg).to(dtype).eval()
    with torch.no_grad():                       # random (not zero-ish) positions, so that positions matter
        model.transformer.slot_emb.weight.normal_()
        model.transformer.time_emb.weight.normal_()
        model.transformer.wte.weight.normal_()
    return model


def test_future_tokens_do_not_change_past_logits():
    model = _model()
    idx = torch.randint(0, 23, (2, 20), generator=torch.Generator().manual_seed(1))
    logits, _ = model(idx, all_logits=True)
    changed = idx.clone()
    changed[:, 12] = (changed[:, 12] + 1) % 23
    logits2, _ = model(changed, all_logits=True)
    moved = (logits2 - logits).abs().amax(dim=(0, 2)) > 0                        # [T]
    assert not moved[:12].any() and moved[12:].all()


def test_cached_forward_equals_full_forward():
    model = _model()
    idx = torch.randint(0, 23, (3, 17), generator=torch.Generator().manual_seed(2))
    full, _ = model(idx, all_logits=True)
    cache = model.new_cache(3)
    pieces = [model(idx[:, :9], cache=cache, all_logits=True)[0]]                # a prefill of 9 tokens ...
    for i in range(9, 17):                                                        # ... then one token at a time
        pieces.append(model(idx[:, i:i + 1], cache=cache)[0])
    torch.testing.assert_close(torch.cat(pieces, 1), full, rtol=1e-10, atol=1e-10)
    assert cache.length == 17


def test_default_positions_are_slot_and_time_of_the_index():
    model = _model()
    slots, times = model.default_positions(5, 10)
    assert slots.tolist() == [5, 0, 1, 2, 3, 4, 5, 0, 1, 2] and times.tolist() == [0, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    plain = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=4))
    assert plain.cfg.n_slots == 8 and plain.default_positions(0, 8)[1].eq(0).all()   # nanoGPT's absolute positions


def test_loss_is_cross_entropy_over_targets_not_ignored():
    model = _model()
    idx = torch.randint(0, 23, (2, 8), generator=torch.Generator().manual_seed(3))
    targets = torch.full_like(idx, -1)
    targets[0, 3], targets[1, 7] = 4, 9
    logits, loss = model(idx, targets)
    expected = -(F.log_softmax(logits[0, 3], -1)[4] + F.log_softmax(logits[1, 7], -1)[9]) / 2
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_generate_cached_equals_uncached(dtype):
    model = _model(dtype)
    idx = torch.randint(0, 23, (4, 3), generator=torch.Generator().manual_seed(4))
    a = model.generate(idx, 15, top_k=10, generator=torch.Generator().manual_seed(7), use_cache=True)
    b = model.generate(idx, 15, top_k=10, generator=torch.Generator().manual_seed(7), use_cache=False)
    assert torch.equal(a, b) and a.shape == (4, 18) and torch.equal(a[:, :3], idx)


def _stream(prefix_len=2, chunk_len=5, n_chunks=7, given_chunks=1, batch=3):
    """A prefix, then chunks of 2 given annotation tokens + 3 sampled tokens (the first chunk all given)."""
    s = prefix_len + n_chunks * chunk_len
    g = torch.Generator().manual_seed(5)
    tokens = torch.randint(0, 23, (batch, s), generator=g)
    to_sample = torch.zeros(s, dtype=torch.bool)
    for c in range(given_chunks, n_chunks):
        to_sample[prefix_len + c * chunk_len + 2: prefix_len + (c + 1) * chunk_len] = True
    return tokens, to_sample, torch.rand(batch, s, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("moving_prefix", [False, True])
def test_cached_sampler_equals_naive_sampler_across_window_slides(dtype, moving_prefix):
    """7 chunks through a window of 3: four slides. The prefix's time index may move with the window (CCVS's
    point-to-point end frame, per sample)."""
    model = _model(dtype, block_size=2 + 3 * 5, n_slots=5, n_times=8)
    tokens, to_sample, u = _stream()

    def prefix_positions(start):                       # two "end frame" tokens at time 7 - start, per sample
        slots = torch.tensor([0, 1])
        times = (torch.tensor([7, 6, 5])[:, None] - start).clamp(min=0).expand(3, 2)
        return slots, times

    kw = {"prefix_len": 2, "chunk_len": 5, "window": 3, "uniforms": u, "top_k": 8, "vocab": (0, 20),
              "prefix_positions": prefix_positions if moving_prefix else None}
    cached = sample_chunks(model, tokens, to_sample, use_cache=True, **kw)
    naive = sample_chunks(model, tokens, to_sample, use_cache=False, **kw)
    assert torch.equal(cached, naive)
    assert torch.equal(cached[:, ~to_sample], tokens[:, ~to_sample])               # given tokens untouched
    assert cached[:, to_sample].max() < 20                                        # vocab restriction
    assert not torch.equal(cached[:, to_sample], tokens[:, to_sample])            # something was sampled


def test_window_actually_slides():
    """A token outside the window must not influence later samples; one inside must (for some draw)."""
    model = _model(block_size=2 + 3 * 5, n_slots=5, n_times=8)
    tokens, to_sample, u = _stream(n_chunks=5)
    kw = {"prefix_len": 2, "chunk_len": 5, "window": 3, "uniforms": u}
    base = sample_chunks(model, tokens, to_sample, **kw)
    last = slice(2 + 4 * 5 + 2, 2 + 5 * 5)              # the sampled tokens of chunk 4 (window: chunks 2..4)
    early = tokens.clone()
    early[:, 2:2 + 2] = (early[:, 2:4] + 1) % 23          # annotations of chunk 0: outside chunk 4's window
    assert torch.equal(sample_chunks(model, early, to_sample, **kw)[:, last], base[:, last])
    inside = tokens.clone()
    inside[:, 2 + 4 * 5:2 + 4 * 5 + 2] = (inside[:, 22:24] + 1) % 23      # annotations of chunk 4: inside
    assert not torch.equal(sample_chunks(model, inside, to_sample, **kw)[:, last], base[:, last])


def test_sampler_refuses_a_window_longer_than_the_block():
    model = _model(block_size=12, n_slots=5)
    tokens, to_sample, u = _stream()
    with pytest.raises(ValueError, match="block_size"):
        sample_chunks(model, tokens, to_sample, prefix_len=2, chunk_len=5, window=3, uniforms=u)
