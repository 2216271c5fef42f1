"""Checkpoints of the three networks round-trip; training resumed from a checkpoint continues identically."""

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.vqvae import profile_configs
from vidsynth_lite.models.vqvae import (
    BottomPrior,
    CodesDataset,
    TopPrior,
    VideoVQVAE,
    bottom_prior_loss,
    latent_volumes,
    load_model,
    save_model,
    top_prior_loss,
    vqvae_loss,
)


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.rand(6, 16, 3, 32, 32, generator=g) * 2 - 1


def _models():
    c = profile_configs("smoke")
    torch.manual_seed(0)
    return VideoVQVAE(c.vqvae), TopPrior(c.top), BottomPrior(c.bottom)


def test_round_trip_of_all_three_models(tmp_path):
    vq, top, bottom = _models()
    video = _data()
    vq.train()
    vq(video)                                             # move the EMA codebooks away from their init
    vols = {k: v.long() for k, v in latent_volumes(vq, video).items()}
    for name, model in [("vq", vq), ("top", top), ("bottom", bottom)]:
        path = save_model(tmp_path / f"{name}.safetensors", model, step=7)
        loaded, step = load_model(path)
        assert step == 7 and type(loaded) is type(model)
        for k, v in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[k], v), k
    vq.eval()
    loaded_vq, _ = load_model(tmp_path / "vq.safetensors")
    assert torch.equal(loaded_vq.encode(video)[0], vq.encode(video)[0])
    loaded_top, _ = load_model(tmp_path / "top.safetensors")
    top.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded_top(vols["top"][:, :1], vols["bottom"][:, :2], vols["top"][:, 1:]),
                                   top(vols["top"][:, :1], vols["bottom"][:, :2], vols["top"][:, 1:]))


def test_load_model_refuses_foreign_checkpoints(tmp_path):
    path = vl.io.save_weights(tmp_path / "x.safetensors", torch.nn.Linear(2, 2), config={"kind": "gan"})
    with pytest.raises(vl.io.CheckpointError, match="kind"):
        load_model(path)


def _fit(model, loss, batches, steps, run_dir):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return vl.train.fit(model, loss, batches, steps=steps, optimizer=opt, run_dir=run_dir, ckpt_every=2,
                         device=torch.device("cpu"), progress=False)


@pytest.mark.parametrize("which", ["vqvae", "top", "bottom"])
def test_resume_continues_identically(tmp_path, which):
    """4 steps straight == 2 steps, a fresh process-like restart, 2 more (EMA codebooks, restarts, bottom
    masking and dropout included)."""
    video = _data()
    if which == "vqvae":
        batches = vl.train.StepBatches(video, 2, seed=0)
        loss = vqvae_loss
    else:
        vq, _, _ = _models()
        data = CodesDataset(latent_volumes(vq.eval(), video))
        batches = vl.train.StepBatches(data, 2, seed=0)
        loss = top_prior_loss if which == "top" else bottom_prior_loss
    index = {"vqvae": 0, "top": 1, "bottom": 2}[which]
    straight = _fit(_models()[index], loss, batches, 4, tmp_path / "a").model
    _fit(_models()[index], loss, batches, 2, tmp_path / "b")
    torch.manual_seed(123)                                 # a new process would start from other RNG state
    resumed = _fit(_models()[index], loss, batches, 4, tmp_path / "b")
    assert resumed.resumed_from == 2
    for k, v in straight.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[k], v), k
