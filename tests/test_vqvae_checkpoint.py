"""Checkpoints of the three networks round-trip; training resumed from a checkpoint continues identically."""

import json

import pytest
import torch
from vqvae_smoke import smoke_sizes

import vidsynth_lite as vl
from vidsynth_lite.chapters import vqvae as chapter
from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.config import resolve
from vidsynth_lite.models.vqvae import (
    BottomPrior,
    CodesDataset,
    TopPrior,
    VideoPredictor,
    VideoVQVAE,
    bottom_prior_loss,
    latent_volumes,
    load_model,
    save_model,
    top_prior_loss,
    vqvae_loss,
)

_smoke = smoke_sizes


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.rand(6, 16, 3, 32, 32, generator=g) * 2 - 1


def _models():
    c = _smoke()
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


SHIPPED = sorted(chapter.WEIGHTS_DIR.glob("*.safetensors"))
PSNR_TOLERANCE_DB = 0.05       # float32 on another CPU may flip a near-tied code; a rotten file moves dB
# Issue 8 asked for at most 5 MB. The lite recipe's three networks are 5.59 MB in float16 (the top prior alone
# 2.1 MB); a smaller file needs smaller priors, i.e. another recipe and a retrained checkpoint. Missed, said in
# the report; this cap keeps the file from growing further.
MAX_BYTES = 6 * 2**20


def test_the_chapter_ships_its_checkpoint():
    assert chapter.WEIGHTS_DIR / f"{chapter.CHECKPOINT}.safetensors" in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_checkpoint_loads_and_recomputes_its_recorded_metric(path):
    """Every shipped file: at most MAX_BYTES; its recorded config builds exactly the current networks (load_pretrained
    refuses otherwise, by name); the reconstruction PSNR it recorded on 4 test clips is recomputed within
    PSNR_TOLERANCE_DB; the record beside it (command, commit, CPU-minutes, metrics) matches its metadata."""
    assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    predictor, meta = chapter.load_pretrained(path)
    record = meta["extra"]
    again = chapter.smoke_check(predictor, meta["chapter"])
    for key in ("psnr", "psnr_moving"):
        assert again[key] == pytest.approx(record["smoke_check"][key], abs=PSNR_TOLERANCE_DB), key
    beside = json.loads(path.with_suffix(".json").read_text())
    assert beside["smoke_check"] == record["smoke_check"] and beside["commit"] == record["commit"]
    assert record["command"].startswith("python -m vidsynth_lite pretrain vqvae") and record["cpu_minutes"] > 0
    assert {"copy_last_fvd_syn", "recon_fvd_syn", "samples_fvd_syn", "fvd_syn_floor"} <= set(record["metrics"])
    assert record["metrics"]["protocol"]["network_hash"] == chapter._network_hash("syn-video"), \
        "scored with another feature network: python -m vidsynth_lite pretrain vqvae --rescore"
    assert [p["stage"] for p in record["curve"]][-1] == "priors"          # the curve reaches the priors


def _saved_smoke_predictor(tmp_path):
    """A smoke-sized predictor written by save_pretrained: (its config, the predictor, the file)."""
    cfg = resolve(VQVAEChapterConfig, {"profile": "smoke"})
    sizes = model_configs(cfg)
    torch.manual_seed(0)
    predictor = VideoPredictor(VideoVQVAE(sizes.vqvae), TopPrior(sizes.top), BottomPrior(sizes.bottom))
    return cfg, predictor, chapter.save_pretrained(tmp_path / "x.safetensors", predictor, cfg, {"smoke_check": None})


def test_load_pretrained_refuses_a_file_whose_config_no_longer_builds_the_model(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    _, predictor, path = _saved_smoke_predictor(tmp_path)
    loaded, _ = chapter.load_pretrained(path)
    assert loaded.vqvae.vq_bottom.codebook.dtype == torch.float32          # stored as float16, loaded as float32
    assert torch.equal(loaded.vqvae.vq_bottom.codebook, predictor.vqvae.vq_bottom.codebook.half().float())
    state, meta = vl.io.load_weights(path)
    meta["config"]["models"]["vqvae"]["hidden"] += 1                        # a model that changed since
    vl.io.save_weights(path, state, config=meta["config"], extra=meta["extra"])
    with pytest.raises(vl.io.CheckpointError, match="model sizes"):
        chapter.load_pretrained(path)


def test_load_pretrained_takes_todays_evaluation_settings_over_the_stored_ones(tmp_path, monkeypatch):
    """A file trained before an evaluation field changed (here: 16 test inputs, no eval_draws field) still
    loads; its training recipe is kept, its evaluation settings are today's lite ones."""
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    cfg, _, path = _saved_smoke_predictor(tmp_path)
    state, meta = vl.io.load_weights(path)
    stored = meta["config"]["chapter"]
    stored["test_videos"] = 16                       # not a multiple of today's eval_draws = 3
    del stored["eval_draws"]
    vl.io.save_weights(path, state, config=meta["config"], extra=meta["extra"])
    with pytest.raises(vl.config.ConfigError, match="test_videos"):
        VQVAEChapterConfig(**{**stored, "eval_draws": 3}).validate()   # what loading the stored dict did
    _, loaded = chapter.load_pretrained(path)
    lite = resolve(VQVAEChapterConfig, {"profile": "lite"})
    assert loaded["chapter"].vq_steps == cfg.vq_steps and loaded["chapter"].vq_hidden == cfg.vq_hidden
    assert loaded["chapter"].test_videos == lite.test_videos and loaded["chapter"].eval_draws == lite.eval_draws
