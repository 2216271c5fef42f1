"""CCVS's public entry points reject bad input with one InputError that names what was expected.

Each case below would, without the check, fail later with an unrelated message (a convolution's channel
mismatch, an embedding's "index out of range", a decoder's size mismatch) or not at all: a token id beyond its
vocabulary turns into another kind of token, an end frame beyond the layout's reach is silently clamped.
"""

import pytest
import torch

from vidsynth_lite.checks import InputError
from vidsynth_lite.models.ccvs import (
    Autoencoder,
    AutoencoderConfig,
    CCVSTransformer,
    LossConfig,
    PositionEstimator,
    SoundAutoencoder,
    TokenLayout,
    TokenWindows,
    augmented_view,
    decode_video,
    dequantize_state,
    frame_spectrogram,
    fuse,
    quantize_state,
    reconstruct_video,
    synthesize,
)

CODES, SIDE = 12, 4                                   # codebook size, token grid side (16x16 frames, 3 levels)


def _ae(seed=0):
    torch.manual_seed(seed)
    return Autoencoder(AutoencoderConfig(size=16, levels=3, widths=(8, 8, 4), num_codes=CODES, code_dim=4,
                                         flow_hidden=(4, 4, 4), proj_min=4)).eval()


def _t(**layout):
    torch.manual_seed(1)
    lay = TokenLayout(frame_tokens=SIDE * SIDE, frame_vocab=CODES, window=4, **layout)
    return CCVSTransformer(lay, n_layer=1, n_head=2, n_embd=8).eval()


def _frames(*shape):
    return torch.rand(*shape) * 2 - 1


# -- the autoencoder ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x, match", [
    (_frames(2, 1, 3, 16, 16), r"expected 4 dimensions \[B, C, H, W\]"),          # a video, not frames
    (_frames(2, 1, 16, 16), "expected 3 channels"),
    (_frames(2, 3, 18, 18), "multiples of 4"),                                      # not divisible by 2^(K-1)
    (_frames(2, 3, 8, 8), "the size it was built for"),
    (torch.zeros(2, 3, 16, 16, dtype=torch.uint8), "x / 127.5 - 1"),
])
def test_autoencoder_rejects_frames_of_the_wrong_layout(x, match):
    ae = _ae()
    for entry in (ae.encode, ae.tokens, ae):
        with pytest.raises(InputError, match=match):
            entry(x)


def test_value_checks_at_the_public_entries_only():
    """tokens() and forward() read the values; encode() (inside every training step) checks the shape only."""
    ae = _ae()
    x = _frames(2, 3, 16, 16) * 200                                                  # uint8-range floats
    ae.encode(x)                                                                     # no host read
    for entry in (ae.tokens, ae):
        with pytest.raises(InputError, match=r"values must lie in \[-1, 1\]"):
            entry(x)


def test_decode_tokens_rejects_ids_outside_the_codebook():
    ae = _ae()
    codes = torch.zeros(2, SIDE, SIDE, dtype=torch.long)
    assert ae.decode_tokens(codes)[0].shape == (2, 3, 16, 16)
    for bad, match in ((codes + CODES, r"token ids must lie in \[0, 11\], found \[12, 12\]"),
                       (codes - 1, r"found \[-1, -1\]"),
                       (codes.float(), "expected integer token ids"),
                       (codes[:, :2], r"expected \[N, h, w\] = \[\*, 4, 4\]")):
        with pytest.raises(InputError, match=match):
            ae.decode_tokens(bad)


def test_decode_rejects_latents_and_contexts_of_another_layout():
    ae = _ae()
    quant, _, feats = ae.encode(_frames(2, 3, 16, 16))
    with pytest.raises(InputError, match=r"z_q: expected \[N, F, h, w\] = \[\*, 4, 4, 4\]"):
        ae.decode(quant.z_q[:, :2])
    with pytest.raises(InputError, match="3 feature maps"):
        ae.decode(quant.z_q, [feats[:2]])                                            # a level missing
    with pytest.raises(InputError, match=r"contexts\[0\]\[2\]"):
        ae.decode(quant.z_q, [[*feats[:2], feats[2][:1]]])                           # another batch size


# -- F ---------------------------------------------------------------------------------------------------------
def test_fuse_and_flow_step_reject_mismatched_features():
    d = torch.randn(2, 4, 5, 5)
    with pytest.raises(InputError, match="equal length"):
        fuse(d, [d, d], [torch.zeros(2, 1, 5, 5)])
    with pytest.raises(InputError, match=r"masks\[0\]: expected \[N, 1, H, W\]"):
        fuse(d, [d], [torch.zeros(2, 4, 5, 5)])
    flow = _ae().decoder.flow
    with pytest.raises(InputError, match=r"d: expected \[N, C_0, H, W\] = \[\*, 8, \*, \*\]"):
        flow.step(0, torch.randn(2, 4, 4, 4), [torch.randn(2, 4, 4, 4)], None, None)
    with pytest.raises(InputError, match="non-empty list"):
        flow.step(0, torch.randn(2, 8, 4, 4), [], None, None)
    with pytest.raises(InputError, match="coarser level's"):
        flow.levels[1](torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8), torch.zeros(2, 2, 8, 8),
                       torch.zeros(2, 1, 8, 8))


def test_augmented_view_takes_square_frames_only():
    g = torch.Generator().manual_seed(0)
    assert augmented_view(_frames(2, 3, 16, 16), LossConfig(), g).context.shape == (2, 3, 16, 16)
    with pytest.raises(InputError, match=r"expected 4 dimensions \[B, C, H, W\]"):
        augmented_view(_frames(2, 1, 3, 16, 16), LossConfig(), g)
    with pytest.raises(InputError, match="square frames"):
        augmented_view(_frames(2, 3, 16, 8), LossConfig(), g)


# -- decoding videos ---------------------------------------------------------------------------------------------
def test_decode_and_reconstruct_video_reject_bad_clips():
    ae = _ae()
    video = _frames(2, 5, 3, 16, 16)
    with pytest.raises(InputError, match="expected 5 dimensions"):
        reconstruct_video(ae, video[:, 0], context=1)
    with pytest.raises(InputError, match="given: expected an int in"):
        reconstruct_video(ae, video, context=1, given=6)                             # more than the clip
    with pytest.raises(InputError, match="context: expected an int >= 0"):
        reconstruct_video(ae, video, context=-1)
    quant, _, _ = ae.encode(video.flatten(0, 1))
    z_q = quant.z_q.view(2, 5, 4, SIDE, SIDE)                                        # [B, T, F, h, w]
    with pytest.raises(InputError, match="same 2 clips"):
        decode_video(ae, z_q, video[:1, :1], context=1)
    with pytest.raises(InputError, match=r"z_q: expected \[B, T, F, h, w\]"):
        decode_video(ae, z_q.flatten(0, 1), video[:, :1], context=1)


# -- the transformer and its token streams -----------------------------------------------------------------------
def test_stream_builder_rejects_ids_outside_each_vocabulary():
    lay = TokenLayout(frame_tokens=4, frame_vocab=11, window=3, frame_annotation=2, annotation_vocab=8)
    f = torch.randint(0, 11, (2, 5, 4))
    a = torch.randint(0, 8, (2, 5, 2))
    assert lay.stream(f, annotations=a).shape == (2, 30)
    with pytest.raises(InputError, match=r"annotations: annotation values must lie in \[0, 7\]"):
        lay.stream(f, annotations=a + 8)                         # would silently become other tokens
    with pytest.raises(InputError, match=r"frames: token ids must lie in \[0, 10\]"):
        lay.stream(f + 11, annotations=a)
    with pytest.raises(InputError, match=r"expected \[B, T, h w\] = \[\*, \*, 4\]"):
        lay.stream(f[..., :3], annotations=a)
    with pytest.raises(InputError, match="expected integer"):
        lay.stream(f.float(), annotations=a)
    lab = TokenLayout(frame_tokens=4, frame_vocab=11, window=3, classes=3)
    with pytest.raises(InputError, match=r"labels: class labels must lie in \[0, 2\]"):
        lab.stream(f, labels=torch.tensor([0, 3]))
    with pytest.raises(InputError, match="state tokens"):
        dequantize_state(torch.tensor([0, 8]), 8)
    with pytest.raises(InputError, match="NaN"):
        quantize_state(torch.tensor([[0.5, float("nan")]]), 8)


def test_training_windows_check_their_token_ids_once():
    lay = TokenLayout(frame_tokens=4, frame_vocab=11, window=3)
    with pytest.raises(InputError, match=r"codes: token ids must lie in \[0, 10\]"):
        TokenWindows(torch.full((2, 8, 4), 11), lay)
    state = TokenLayout(frame_tokens=4, frame_vocab=11, window=3, frame_annotation=2, annotation_vocab=8)
    with pytest.raises(InputError, match="annotations: this layout needs"):
        TokenWindows(torch.zeros(2, 8, 4, dtype=torch.long), state)


def test_transformer_loss_rejects_streams_it_cannot_take():
    t = _t()
    n = t.layout.block_size
    assert torch.isfinite(t.loss(torch.randint(0, CODES, (2, n))))
    with pytest.raises(InputError, match=rf"\[B, L = {n}\]"):
        t.loss(torch.randint(0, CODES, (2, n - 1)))
    with pytest.raises(InputError, match=r"token ids must lie in \[0, 11\]"):
        t.loss(torch.full((2, n), CODES))
    p2p = _t(end_frame=True, max_end_distance=6)
    with pytest.raises(InputError, match="end_distance"):
        p2p.loss(torch.randint(0, CODES, (2, p2p.layout.block_size)))


def test_sampling_needs_a_frame_to_start_from_and_whole_frames():
    t = _t()
    stream = torch.randint(0, CODES, (1, 5 * 16))
    with pytest.raises(InputError, match="at least 1 given frame"):
        t.sample(stream, 0)
    with pytest.raises(InputError, match="whole frames of 16 tokens"):
        t.sample(stream[:, :-3], 1)
    with pytest.raises(InputError, match=r"given_frames: expected an int in \[0, 5\]"):
        t.sample(stream, 6)
    with pytest.raises(InputError, match=r"token ids must lie in \[0, 11\]"):
        t.sample(stream + CODES, 1)
    p2p = _t(end_frame=True, max_end_distance=6)
    with pytest.raises(InputError, match="end_distance"):
        p2p.sample(torch.randint(0, CODES, (1, 16 + 3 * 16)), 1)


# -- synthesis -----------------------------------------------------------------------------------------------
def test_synthesize_rejects_inputs_before_sampling():
    ae, t = _ae(), _t()
    given = _frames(2, 1, 3, 16, 16)
    with pytest.raises(InputError, match=r"at least 1 frame \[B, m >= 1"):
        synthesize(ae, t, given[:, :0], 6)                                           # too few context frames
    with pytest.raises(InputError, match="3 frames given but the video has 2"):
        synthesize(ae, t, _frames(2, 3, 3, 16, 16), 2)
    with pytest.raises(InputError, match="expected 5 dimensions"):
        synthesize(ae, t, given[:, 0], 6)
    with pytest.raises(InputError, match="frames of 16x16"):
        synthesize(ae, t, _frames(2, 1, 3, 8, 8), 6)
    other = CCVSTransformer(TokenLayout(frame_tokens=16, frame_vocab=CODES + 1, window=4), 1, 2, 8)
    with pytest.raises(InputError, match="disagree"):
        synthesize(ae, other, given, 6)
    state = _t(frame_annotation=2, annotation_vocab=8)
    with pytest.raises(InputError, match="annotations: this layout needs"):
        synthesize(ae, state, given, 6)
    with pytest.raises(InputError, match=r"annotation values must lie in \[0, 7\]"):
        synthesize(ae, state, given, 6, annotations=torch.full((2, 6, 2), 8))
    with pytest.raises(InputError, match=r"expected one entry per frame"):
        synthesize(ae, state, given, 6, annotations=torch.zeros(2, 4, 2, dtype=torch.long))
    classes = _t(classes=3)
    with pytest.raises(InputError, match=r"class labels must lie in \[0, 2\]"):
        synthesize(ae, classes, given, 6, labels=torch.tensor([0, 3]))
    p2p = _t(end_frame=True, max_end_distance=6)
    with pytest.raises(InputError, match="end_frame: point-to-point synthesis needs"):
        synthesize(ae, p2p, given, 6)
    with pytest.raises(InputError, match="reach at most 7 frames"):                 # no silent clamp of the time
        synthesize(ae, p2p, given, 9, end_frame=_frames(2, 3, 16, 16))


# -- controls --------------------------------------------------------------------------------------------------
def test_control_networks_reject_inputs_of_another_layout():
    est = PositionEstimator(code_dim=4, tokens_side=4, hidden=8)
    with pytest.raises(InputError, match=r"z: expected \[N, F, h, w\] = \[\*, 4, 4, 4\]"):
        est(torch.randn(5, 4, 8, 8))
    sound = SoundAutoencoder(num_codes=16, code_dim=4, hidden=8)
    with pytest.raises(InputError, match="multiples of 4"):
        sound.tokens(torch.zeros(2, 1, 30, 8))
    with pytest.raises(InputError, match="expected 1 channels"):
        sound(torch.zeros(2, 3, 32, 8))
    with pytest.raises(InputError, match="more than 64 samples"):
        frame_spectrogram(torch.randn(2, 3, 40))
    with pytest.raises(InputError, match=r"audio: expected \[B, T, S\]"):
        frame_spectrogram(torch.randn(2, 1000))
