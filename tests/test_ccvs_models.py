"""CCVS end to end at toy size: training windows, doubly autoregressive synthesis for every control, the
controls' networks, checkpoints that rebuild themselves."""

import pytest
import torch

from vidsynth_lite.models.ccvs import (
    Autoencoder,
    AutoencoderConfig,
    CCVSTransformer,
    PositionEstimator,
    SoundAutoencoder,
    TokenLayout,
    TokenWindows,
    frame_spectrogram,
    load_model,
    save_model,
    synthesize,
)


def _ae(seed=0):
    torch.manual_seed(seed)
    return Autoencoder(AutoencoderConfig(size=16, levels=3, widths=(8, 8, 4), num_codes=12, code_dim=4,
                                         flow_hidden=(4, 4, 4), proj_min=4)).eval()


def test_windows_are_deterministic_and_respect_the_end_frame_distance():
    codes = torch.randint(0, 12, (3, 20, 16), generator=torch.Generator().manual_seed(0))
    lay = TokenLayout(frame_tokens=16, frame_vocab=12, window=4, end_frame=True, max_end_distance=9)
    data = TokenWindows(codes, lay, seed=1)
    a, b = data[5], data[5]
    assert torch.equal(a["stream"], b["stream"]) and len(data) == 24
    for i in range(len(data)):
        item = data[i]
        d = int(item["end_distance"])
        assert 3 <= d <= 9 and item["stream"].shape == (lay.block_size,)
        clip, frames = i % 3, lay.frames_of(item["stream"][None])[0]
        starts = [s for s in range(20 - d) if torch.equal(codes[clip, s:s + 3], frames)]
        assert any(torch.equal(codes[clip, s + d], item["stream"][:16]) for s in starts)   # end = frame s + d
    with pytest.raises(ValueError, match="too short"):
        TokenWindows(codes[:, :8], lay)


@pytest.mark.parametrize("control", ["prediction", "state", "p2p", "class"])
def test_synthesize_keeps_the_given_frames_and_returns_k_samples(control):
    ae = _ae()
    kw, layout = {}, {"frame_tokens": 16, "frame_vocab": 12, "window": 4}
    if control == "state":
        layout.update(frame_annotation=2, annotation_vocab=8)
        kw["annotations"] = torch.randint(0, 8, (2, 6, 2))
    if control == "p2p":
        layout.update(end_frame=True, max_end_distance=8)
        kw["end_frame"] = torch.rand(2, 3, 16, 16) * 2 - 1
    if control == "class":
        layout.update(classes=3)
        kw["labels"] = torch.tensor([0, 2])
    torch.manual_seed(1)
    t = CCVSTransformer(TokenLayout(**layout), n_layer=1, n_head=2, n_embd=8).eval()
    given = torch.rand(2, 1, 3, 16, 16) * 2 - 1
    video = synthesize(ae, t, given, 6, samples=3, context=2, top_k=5, generator=torch.Generator().manual_seed(2),
                       **kw)
    assert video.shape == (2, 3, 6, 3, 16, 16)
    assert torch.equal(video[:, :, 0], given[:, None, 0].expand(-1, 3, -1, -1, -1))
    if control == "p2p":
        assert torch.equal(video[:, :, -1], kw["end_frame"][:, None].expand(-1, 3, -1, -1, -1))
    again = synthesize(ae, t, given, 6, samples=3, context=2, top_k=5, generator=torch.Generator().manual_seed(2),
                       use_cache=False, **kw)
    assert torch.equal(video, again)                                       # the KV cache changes nothing


def test_class_conditioned_synthesis_from_the_label_alone():
    ae = _ae()
    t = CCVSTransformer(TokenLayout(frame_tokens=16, frame_vocab=12, window=4, classes=3), n_layer=1, n_head=2,
                        n_embd=8).eval()
    video = synthesize(ae, t, torch.zeros(2, 0, 3, 16, 16), 5, labels=torch.tensor([1, 2]),
                       generator=torch.Generator().manual_seed(0))
    assert video.shape == (2, 1, 5, 3, 16, 16) and torch.isfinite(video).all()


def test_position_estimator_and_sound_autoencoder_shapes():
    est = PositionEstimator(code_dim=4, tokens_side=4, hidden=8)
    pos = est(torch.randn(5, 4, 4, 4))
    assert pos.shape == (5, 2) and (pos > 0).all() and (pos < 1).all()
    audio = torch.randn(2, 3, 1000) * 0.1
    spec = frame_spectrogram(audio)
    assert spec.shape == (2, 3, 1, 32, 8) and spec.min() >= -1 and spec.max() <= 1
    sound = SoundAutoencoder(num_codes=16, code_dim=4, hidden=8)
    recon, _quant = sound(spec.flatten(0, 1))
    assert recon.shape == spec.flatten(0, 1).shape and sound.tokens(spec.flatten(0, 1)).shape == (6, 16)


def test_checkpoints_rebuild_the_same_networks(tmp_path):
    ae = _ae()
    t = CCVSTransformer(TokenLayout(frame_tokens=16, frame_vocab=12, window=4, end_frame=True, max_end_distance=6),
                        n_layer=1, n_head=2, n_embd=8)
    est = PositionEstimator(code_dim=4, tokens_side=4, hidden=8)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    for name, model in (("ae", ae), ("t", t), ("est", est)):
        path = save_model(tmp_path / f"{name}.safetensors", model, step=3)
        loaded, meta = load_model(path)
        assert meta["step"] == 3 and type(loaded) is type(model)
        for k, v in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[k], v), k
    loaded_ae, _ = load_model(save_model(tmp_path / "half.safetensors", ae, half=True))
    torch.testing.assert_close(loaded_ae.decode_tokens(ae.tokens(x))[0], ae.decode_tokens(ae.tokens(x))[0],
                               atol=2e-2, rtol=0)                            # fp16 storage: close, not equal
