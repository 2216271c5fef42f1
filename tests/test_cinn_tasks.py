"""The tasks pair each start frame with its own control, residual and samples (the per-sample-condition order bug:
``repeat`` where ``repeat_interleave`` was meant gives every sample another input's eta), and the cINN training
leaves its stage 1 frozen.

Stub networks make the pairing readable: a clip or start frame is filled with an id; the stub cINN writes
``nu``'s id, the x_0 embedding and the eta bin into the three entries of ``z``; the stub decoder paints them into
the three colour channels of every frame.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from vidsynth_lite import config
from vidsynth_lite.chapters import cinn as ch
from vidsynth_lite.models import cinn as cm
from vidsynth_lite.models.cinn.tasks import ImageToVideo

T, S = 2, 4


class StubEmbed(nn.Module):
    def embed(self, x0):                                   # [B, 3, S, S] -> [B, 1]: the start frame's id
        return x0[:, :1, 0, 0]


class StubCINN(nn.Module):
    cfg = SimpleNamespace(z_dim=3)

    def condition(self, embedding, eta=None):              # [B, 2]: x_0 id, eta bin (-1 without)
        bins = torch.full_like(embedding, -1.0) if eta is None else eta.argmax(1, keepdim=True).float()
        return torch.cat([embedding, bins], 1)

    def forward(self, x, cond, reverse=False):
        if reverse:                                        # nu -> z = [nu id, x_0 id, eta bin]
            return torch.cat([x[:, :1], cond], 1), None
        return torch.cat([x[:, :1], torch.zeros_like(x[:, 1:])], 1), None    # z -> nu keeps z's first entry

    def sample(self, cond, generator=None, temperature=1.0):
        nu = torch.arange(len(cond), dtype=cond.dtype)[:, None] + 100        # a distinct nu per row
        return self(nu, cond, reverse=True)[0]


class StubEncoder(nn.Module):
    def forward(self, frames):                             # [B, T, 3, S, S] -> mu: the clip's id first
        mu = torch.zeros(len(frames), 3)
        mu[:, 0] = frames[:, 0, 0, 0, 0]
        return mu, torch.zeros_like(mu)


class StubDecoder(nn.Module):
    cfg = SimpleNamespace(frames=T, size=S)

    def forward(self, x0, z):                              # z [B, 3] painted into the channels of T frames
        return z[:, None, :, None, None].expand(-1, T, 3, S, S).clone()


def _model():
    return ImageToVideo(SimpleNamespace(encoder=StubEncoder(), decoder=StubDecoder()), StubEmbed(), StubCINN())


def _frames(ids):
    return torch.tensor(ids, dtype=torch.float32)[:, None, None, None].expand(-1, 3, S, S).clone()


def _onehot(bins, n=8):
    return torch.nn.functional.one_hot(torch.tensor(bins), n).float()


def _painted(out):                                         # [..., 1 + T, 3, S, S] -> [..., 3] of frame 1
    return out[..., 1, :, 0, 0]


def test_controlled_samples_keep_each_start_frame_with_its_own_eta():
    x0, eta = _frames([10, 20]), _onehot([3, 5])
    out = _model().sample(x0, 3, eta=eta)                  # [B, K, 1 + T, 3, S, S]
    assert out.shape == (2, 3, 1 + T, 3, S, S)
    painted = _painted(out)                                # [B, K, 3]
    assert painted[..., 1].tolist() == [[10] * 3, [20] * 3]      # x_0 of input b in all of b's samples
    assert painted[..., 2].tolist() == [[3] * 3, [5] * 3]        # and eta of input b, not of another input
    assert len(set(painted[..., 0].flatten().tolist())) == 6     # every sample its own nu
    assert torch.equal(out[:, :, 0], x0[:, None].expand(-1, 3, -1, -1, -1))


def test_motion_transfer_pairs_query_residual_and_new_start_frame():
    query = _frames([1, 2])[:, None].expand(-1, 1 + T, -1, -1, -1)      # [Q, 1 + T, 3, S, S]
    out = _model().transfer(query, _frames([10, 20, 30]))               # [Q, N, 1 + T, ...]
    painted = _painted(out)
    assert painted[..., 0].tolist() == [[1] * 3, [2] * 3]                # the residual of query q
    assert painted[..., 1].tolist() == [[10, 20, 30]] * 2                # applied to start frame n


def test_video_to_video_keeps_the_residual_and_takes_each_new_eta():
    query = _frames([1, 2])[:, None].expand(-1, 1 + T, -1, -1, -1)
    out = _model().video_to_video(query, _onehot([0, 0]), _onehot([4, 6, 7]))   # [B, E, 1 + T, ...]
    painted = _painted(out)
    assert painted[..., 0].tolist() == [[1] * 3, [2] * 3]                # query b's residual
    assert painted[..., 1].tolist() == [[1] * 3, [2] * 3]                # on query b's own x_0
    assert painted[..., 2].tolist() == [[4, 6, 7]] * 2                   # with the e-th new eta


@pytest.fixture
def smoke_cfg():
    torch.set_num_threads(1)
    return config.resolve(ch.CINNChapterConfig, {"profile": "smoke"})


def test_cinn_training_leaves_its_stage1_and_embedding_frozen(smoke_cfg, tmp_path):
    cfg = smoke_cfg
    models = ch.model_configs(cfg, "sky")
    torch.manual_seed(0)
    stage1, embed = cm.VideoCVAE(models.encoder, models.decoder).eval(), cm.ImageAE(models.image_ae).eval()
    before = {k: v.clone() for k, v in [*stage1.state_dict().items(), *embed.state_dict().items()]}
    clips = ch.load_clips(cfg, "sky", "train", 16)
    _, log = ch.fit_cinn(cfg, "sky", stage1, embed, clips, tmp_path, steps=4)
    after = {k: v for k, v in [*stage1.state_dict().items(), *embed.state_dict().items()]}
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert len(log) >= 1 and all(p.grad is None for p in stage1.parameters())


def test_a_shared_posterior_table_trains_the_same_controlled_cinn(smoke_cfg, tmp_path):
    cfg = smoke_cfg
    models = ch.model_configs(cfg, "pushbot")
    torch.manual_seed(0)
    stage1, embed = cm.VideoCVAE(models.encoder, models.decoder).eval(), cm.ImageAE(models.image_ae).eval()
    clips = ch.load_clips(cfg, "pushbot", "train", 16)
    shared = ch.posterior_table(stage1, embed, clips, control=False)
    a, _ = ch.fit_cinn(cfg, "pushbot", stage1, embed, clips, tmp_path / "a", control=True, steps=3)
    b, _ = ch.fit_cinn(cfg, "pushbot", stage1, embed, clips, tmp_path / "b", control=True, steps=3,
                       posterior=shared)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(ValueError, match="rows"):
        ch.fit_cinn(cfg, "pushbot", stage1, embed, clips, tmp_path / "c", steps=3,
                    posterior={k: v[:8] for k, v in shared.items()})
