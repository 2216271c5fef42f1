"""CCVS's token streams (Fig. 2) for every control, and T's sampling over them (cached == uncached)."""

import pytest
import torch

from vidsynth_lite.models.ccvs.transformer import (
    CCVSTransformer,
    TokenLayout,
    dequantize_state,
    quantize_state,
)

Q, HW = 11, 4                                    # codebook size, tokens per frame


def _frames(b=2, t=5, seed=0):
    return torch.randint(0, Q, (b, t, HW), generator=torch.Generator().manual_seed(seed))


def test_prediction_stream_is_the_frames_in_order():
    lay = TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3)
    f = _frames()
    s = lay.stream(f)
    assert s.shape == (2, 5 * HW) and torch.equal(s, f.flatten(1))
    assert lay.block_size == 3 * HW and lay.vocab_size == Q and lay.prefix_len == 0


def test_state_tokens_precede_each_frame_in_their_own_vocabulary():
    lay = TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, frame_annotation=2, annotation_vocab=8)
    f = _frames()
    state = torch.rand(2, 5, 2, generator=torch.Generator().manual_seed(1))
    tokens = quantize_state(state, 8)
    s = lay.stream(f, annotations=tokens)
    chunk = s.view(2, 5, 2 + HW)
    assert torch.equal(chunk[:, :, :2], Q + tokens) and torch.equal(chunk[:, :, 2:], f)
    assert torch.equal(lay.frames_of(s), f) and lay.vocab_size == Q + 8 and lay.chunk_len == 6
    assert ((dequantize_state(tokens, 8) - state).abs() <= 0.5 / 8 + 1e-6).all()


def test_point_to_point_puts_the_end_frame_first_with_its_future_time():
    lay = TokenLayout(frame_tokens=HW, frame_vocab=Q, window=4, end_frame=True, max_end_distance=9)
    f, end = _frames(), _frames(t=1, seed=2)[:, 0]
    s = lay.stream(f, end=end)
    assert torch.equal(s[:, :HW], end) and torch.equal(lay.frames_of(s), f)
    assert lay.frames_in_window == 3 and lay.block_size == HW + 3 * HW and lay.n_times == 10
    slots, times = lay.prefix_positions(torch.tensor([9, 6]))(2)                 # window starts at frame 2
    assert slots.tolist() == [0, 1, 2, 3] and times[:, 0].tolist() == [7, 4]


def test_class_label_is_one_token_with_its_own_slot():
    lay = TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, classes=5)
    s = lay.stream(_frames(), labels=torch.tensor([0, 4]))
    assert s[:, 0].tolist() == [Q, Q + 4] and lay.n_slots == HW + 1 and lay.vocab_size == Q + 5
    slots, times = lay.prefix_positions()(3)
    assert slots.tolist() == [HW] and times.tolist() == [0]


def test_layout_refuses_two_video_level_annotations_and_missing_inputs():
    with pytest.raises(ValueError, match="one video-level"):
        TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, end_frame=True, classes=2, max_end_distance=5)
    lay = TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, frame_annotation=2, annotation_vocab=8)
    with pytest.raises(ValueError, match="annotations"):
        lay.stream(_frames())


LAYOUTS = {
    "prediction": TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3),
    "state": TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, frame_annotation=2, annotation_vocab=8),
    "p2p": TokenLayout(frame_tokens=HW, frame_vocab=Q, window=4, end_frame=True, max_end_distance=9),
    "class": TokenLayout(frame_tokens=HW, frame_vocab=Q, window=3, classes=5),
}


def _inputs(name, frames=7):
    g = torch.Generator().manual_seed(3)
    lay = LAYOUTS[name]
    f = torch.randint(0, Q, (2, frames, HW), generator=g)
    kw = {}
    if name == "state":
        kw["annotations"] = torch.randint(0, 8, (2, frames, 2), generator=g)
    if name == "p2p":
        kw["end"] = torch.randint(0, Q, (2, HW), generator=g)
    if name == "class":
        kw["labels"] = torch.tensor([1, 3])
    return lay, lay.stream(f, **kw)


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("decomposed", [True, False])
def test_sampling_keeps_annotations_and_cached_equals_uncached(name, decomposed):
    if name == "p2p" and not decomposed:
        with pytest.raises(ValueError, match="decomposed"):
            CCVSTransformer(LAYOUTS[name], n_layer=1, n_head=2, n_embd=8, decomposed=False)
        return
    lay, stream = _inputs(name)                                                   # 7 frames > window: slides
    torch.manual_seed(0)
    model = CCVSTransformer(lay, n_layer=2, n_head=2, n_embd=16, decomposed=decomposed).double().eval()
    end = torch.tensor([7, 6]) if name == "p2p" else None
    kw = {"uniforms": torch.rand(stream.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64),
              "end_distance": end, "top_k": 5}
    cached = model.sample(stream, 2, use_cache=True, **kw)
    naive = model.sample(stream, 2, use_cache=False, **kw)
    assert torch.equal(cached, naive)
    sampled = lay.frame_mask(7, 2)
    assert torch.equal(cached[:, ~sampled], stream[:, ~sampled])                  # annotations, given frames kept
    assert cached[:, sampled].max() < Q                                           # only frame tokens are drawn


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_training_loss_is_finite_and_has_gradients(name):
    lay, stream = _inputs(name, frames=LAYOUTS[name].frames_in_window)
    model = CCVSTransformer(lay, n_layer=1, n_head=2, n_embd=16)
    end = torch.tensor([8, 3]) if name == "p2p" else None
    loss = model.loss(stream, end)
    loss.backward()
    assert torch.isfinite(loss) and abs(float(loss.detach()) - torch.log(torch.tensor(float(lay.vocab_size)))) < 1.0
    assert model.gpt.transformer.time_emb.weight.grad.abs().sum() > 0
