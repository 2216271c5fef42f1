"""CCVS's flow module F, Eq. 1 / Eq. 9 fusion, the autoencoder's shapes and the shift-and-add decoding."""

import pytest
import torch

from vidsynth_lite.models.ccvs import Autoencoder, AutoencoderConfig, fuse
from vidsynth_lite.models.ccvs.synthesis import decode_video, reconstruct_video


def _cfg(**kw):
    base = {"size": 16, "levels": 3, "widths": (8, 8, 4), "num_codes": 16, "code_dim": 4, "flow_hidden": (4, 4, 4), "proj_min": 4}
    return AutoencoderConfig(**{**base, **kw})


def test_eq1_fusion_interpolates_between_decoded_and_warped_features():
    g = torch.Generator().manual_seed(1)
    d, e, m = torch.randn(2, 4, 5, 5, generator=g), torch.randn(2, 4, 5, 5, generator=g), torch.randn(2, 1, 5, 5,
                                                                                                       generator=g)
    fused, m_a = fuse(d, [e], [m])
    s = torch.sigmoid(m)
    torch.testing.assert_close(fused, s * d + (1 - s) * e)             # Eq. 1
    assert torch.equal(m_a, m)
    big = torch.full_like(m, 30.0)
    torch.testing.assert_close(fuse(d, [e], [big])[0], d)              # sigma(m) = 1: keep the decoded features
    torch.testing.assert_close(fuse(d, [e], [-big])[0], e)             # sigma(m) = 0: take the context


def test_eq9_weights_contexts_by_their_confidence():
    g = torch.Generator().manual_seed(2)
    d = torch.randn(1, 3, 4, 4, generator=g)
    e1, e2 = torch.randn(1, 3, 4, 4, generator=g), torch.randn(1, 3, 4, 4, generator=g)
    m1, m2 = torch.randn(1, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    fused, m_a = fuse(d, [e1, e2], [m1, m2], eps=0.0)
    c1, c2 = 1 - torch.sigmoid(m1), 1 - torch.sigmoid(m2)
    s1, s2 = c1 / (c1 + c2), c2 / (c1 + c2)
    torch.testing.assert_close(m_a, s1 * m1 + s2 * m2)
    ea = s1 * e1 + s2 * e2
    torch.testing.assert_close(fused, torch.sigmoid(m_a) * d + (1 - torch.sigmoid(m_a)) * ea)
    # two identical contexts are one context (no parameter, no change)
    torch.testing.assert_close(fuse(d, [e1, e1], [m1, m1], eps=0.0)[0], fuse(d, [e1], [m1])[0])


def test_autoencoder_shapes_and_flow_trace():
    ae = Autoencoder(_cfg())
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    out = ae(x)
    assert out.recon.shape == x.shape and out.quant.codes.shape == (3, 4, 4)
    assert [f.shape[-1] for f in out.feats] == [4, 8, 16] and not out.trace.flows    # no context: no F
    _, _, feats = ae.encode(x)
    out = ae(x, [feats, feats])                                        # two context frames
    assert [len(f) for f in out.trace.flows] == [2, 2, 2]
    assert [f[0].shape for f in out.trace.flows] == [(3, 2, 4, 4), (3, 2, 8, 8), (3, 2, 16, 16)]
    with pytest.raises(ValueError, match="frames"):
        ae(torch.zeros(1, 3, 8, 8))


def test_warp_fraction_leaves_the_other_channels_to_z():
    """With warp_fraction < 1, channels outside F's share are the plain decoder's, whatever the context."""
    torch.manual_seed(0)
    ae = Autoencoder(_cfg(widths=(8, 8, 8), warp_fraction=0.5)).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    quant, _, feats = ae.encode(x)
    d = ae.decoder.from_z(quant.z_q)
    plain = d.clone()
    ctx = [[f[:, :] for f in feats]]
    fused, _ = ae.decoder.flow.step(0, d, [c[0] for c in ctx], None, type(ae.decode(quant.z_q)[1])([], [], []))
    assert ae.decoder.flow.parts == [4, 4, 4]
    torch.testing.assert_close(fused[:, 4:], plain[:, 4:])
    assert not torch.allclose(fused[:, :4], plain[:, :4])


def test_decode_video_keeps_given_frames_and_uses_a_sliding_context():
    torch.manual_seed(0)
    ae = Autoencoder(_cfg()).eval()
    video = torch.rand(2, 6, 3, 16, 16) * 2 - 1
    rec = reconstruct_video(ae, video, context=2, given=2)
    assert rec.shape == video.shape and torch.equal(rec[:, :2], video[:, :2])
    no_ctx = reconstruct_video(ae, video, context=0, given=1)
    with torch.no_grad():                                              # context 0 = every frame decoded alone
        alone = ae.decode_tokens(ae.tokens(video[:, 3]))[0]
    torch.testing.assert_close(no_ctx[:, 3], alone)
    fixed = reconstruct_video(ae, video, context=0, given=1, fixed_tokens=True)
    torch.testing.assert_close(fixed[:, 2], fixed[:, 5])               # App. B: fixed z_s -> no motion


def test_older_context_frames_are_detached_in_training():
    """App. A: gradients are kept for the context features of the immediately preceding frame only; older
    decoded frames still reach the last one through the preceding frame's own decoding (as in the official
    code): detaching changes the gradient that frame 1's tokens receive."""
    torch.manual_seed(0)
    ae = Autoencoder(_cfg())
    video = torch.rand(1, 4, 3, 16, 16) * 2 - 1
    quant, _, _ = ae.encode(video.flatten(0, 1))
    grads = {}
    for previous_only in (True, False):
        z_q = quant.z_q.view(1, 4, *quant.z_q.shape[1:]).detach().requires_grad_(True)
        out = decode_video(ae, z_q, video[:, :1], context=3, grad_previous_only=previous_only)
        out[:, 3].sum().backward()                                     # the last frame's pixels
        grads[previous_only] = z_q.grad[0].clone()
    assert grads[True][3].abs().sum() > 0 and grads[True][2].abs().sum() > 0
    assert not torch.allclose(grads[True][1], grads[False][1])          # the direct path from frame 1 is cut
