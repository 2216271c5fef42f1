"""Checkpoints of the three networks round-trip; training resumed from a checkpoint continues identically."""

import json
import types

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
from vidsynth_lite.models.vqvae import checkpoint as vqck

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
MAX_BYTES = 5 * 10**6          # 5 MB (decimal): the priors stored as int8 (save_pretrained), the VQ-VAE as float16


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
    stored, _ = vl.io.load_weights(path)
    assert meta["config"]["storage"]["format"] == vqck.INT8_FORMAT
    assert {k.split(".")[0] for k, v in stored.items() if v.dtype == torch.int8} == {"top", "bottom"}
    assert all(v.dtype == torch.float16 for k, v in stored.items() if k.startswith("vqvae.") and v.is_floating_point())
    assert "note" not in record or "intermediate" not in record["note"]
    assert record["steps_done"] == {"vqvae": meta["chapter"].vq_steps, "top": meta["chapter"].top_steps,
                                    "bottom": meta["chapter"].bottom_steps}, "the run stopped before its end"
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


# --- the shipped file's int8 priors -------------------------------------------------------------------------------
def _awkward_weights():
    """Weights of the priors' kinds (conv kernels, linear, embedding) with the cases that break a careless
    quantiser: an all-zero channel, a channel of tiny values (float16 scales underflow), one large outlier."""
    g = torch.Generator().manual_seed(0)
    conv = torch.randn(8, 4, 3, 3, 3, generator=g) * 0.1                        # [out, in, kt, ky, kx]
    conv[1] = 0                                                                 # a dead channel
    conv[2] *= 1e-6                                                             # below float16's normal range
    conv[3, 0, 0, 0, 0] = 40.0                                                  # an outlier sets its channel's scale
    return {"conv": conv, "linear": torch.randn(16, 48, generator=g, dtype=torch.float64),
            "embedding": torch.randn(512, 32, generator=g) * 3}


@pytest.mark.parametrize("name", ["conv", "linear", "embedding"])
def test_int8_round_trip_error_is_at_most_half_a_scale_per_element(name):
    """Round to nearest with scale s_c per output channel: |w - q s_c| <= s_c / 2 for every element (closed form;
    the factor 1 + 1e-6 allows float32 rounding of w / s), q within [-127, 127], the largest |q| of a channel is 127
    (the range is used) unless its scale underflows float16, and quantising the dequantized tensor again changes nothing (a file
    rewritten from its own weights stays the same)."""
    w = _awkward_weights()[name]
    q, scale = vqck.quantize_int8(w)
    assert q.dtype == torch.int8 and q.shape == w.shape and scale.dtype == torch.float16 and scale.shape == (len(w),)
    assert bool((scale > 0).all()) and int(q.abs().max()) <= 127
    back = vqck.dequantize_int8(q, scale)                                      # float32
    bound = scale.float().view((-1,) + (1,) * (w.dim() - 1)) / 2
    assert bool(((w.float() - back).abs() <= bound * (1 + 1e-6)).all())
    normal = w.flatten(1).abs().amax(1) / 127 >= 2.0 ** -14        # scales in float16's normal range
    assert bool((q.flatten(1).abs().amax(1)[normal] == 127).all())
    q2, scale2 = vqck.quantize_int8(back)
    assert torch.equal(q2, q) and torch.equal(scale2, scale)


def test_quantize_int8_refuses_what_it_cannot_store():
    with pytest.raises(ValueError, match=">= 2 dims"):
        vqck.quantize_int8(torch.ones(4))
    with pytest.raises(ValueError, match="float tensor"):
        vqck.quantize_int8(torch.ones(4, 4, dtype=torch.long))


def test_save_pretrained_stores_int8_priors_and_the_loader_applies_their_scales(tmp_path, monkeypatch):
    """The priors' matrices and kernels are int8 in the file; loading multiplies each by its channel's scale, so
    every loaded weight is within half a scale of the trained one (a loader that ignored the scales would be off
    by a factor of 1/scale, about 100-10 000 here) and the top prior's logits barely move. The VQ-VAE is float16."""
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    _, predictor, path = _saved_smoke_predictor(tmp_path)
    stored, meta = vl.io.load_weights(path)
    assert meta["config"]["storage"]["quantized"] == ["top.", "bottom."]
    trained, (loaded, _) = predictor.state_dict(), chapter.load_pretrained(path)
    quantized = [k for k, v in stored.items() if v.dtype == torch.int8]
    assert quantized and all(k.startswith(("top.", "bottom.")) and trained[k].dim() >= 2 for k in quantized)
    assert all(k + vqck.SCALE_SUFFIX in stored for k in quantized)
    for key in quantized:
        scale = stored[key + vqck.SCALE_SUFFIX].float().view((-1,) + (1,) * (trained[key].dim() - 1))
        error = (loaded.state_dict()[key] - trained[key]).abs()
        assert bool((error <= scale / 2 * (1 + 1e-6)).all()), key
        assert not torch.allclose(stored[key].float(), trained[key], atol=0.5), key  # the scales matter
    for key, value in trained.items():
        if key.startswith("vqvae.") and value.is_floating_point():
            assert stored[key].dtype == torch.float16 and torch.equal(loaded.state_dict()[key], value.half().float())
    volumes = {k: v.long() for k, v in latent_volumes(predictor.vqvae.eval(), _data()).items()}
    predictor.top.eval()
    with torch.no_grad():
        args = (volumes["top"][:, :1], volumes["bottom"][:, :2], volumes["top"][:, 1:])
        want, got = predictor.top(*args), loaded.top(*args)
    assert (got - want).abs().max() < 0.05 * want.abs().max()


def test_loader_refuses_int8_tensors_without_a_storage_record(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    _, _, path = _saved_smoke_predictor(tmp_path)
    stored, meta = vl.io.load_weights(path)
    del meta["config"]["storage"]
    vl.io.save_weights(path, stored, config=meta["config"], extra=meta["extra"])
    with pytest.raises(vl.io.CheckpointError, match="storage record"):
        chapter.load_pretrained(path)


def test_a_float16_file_from_before_the_int8_format_still_loads(tmp_path, monkeypatch):
    """The pretraining curve's snapshots of an older run are plain float16 files without a storage record."""
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    cfg, predictor, path = _saved_smoke_predictor(tmp_path)
    half = {k: v.half() if v.is_floating_point() else v for k, v in predictor.state_dict().items()}
    config = {"kind": "vqvae-predictor", "chapter": cfg.to_dict(), "models": model_configs(cfg).to_dict()}
    vl.io.save_weights(path, half, config=config, extra={})
    loaded, _ = chapter.load_pretrained(path)
    key = next(k for k, v in half.items() if k.startswith("top.") and v.dim() >= 2)
    assert torch.equal(loaded.state_dict()[key], half[key].float())


def test_rescore_scores_the_file_as_stored_and_rewrites_only_its_record(tmp_path, monkeypatch):
    """``pretrain vqvae --rescore`` (:func:`finish_checkpoint`) evaluates the predictor loaded from the file -- the
    int8 priors dequantized -- and rewrites the record without touching the tensors (the evaluation itself is
    replaced by a stand-in here: this test is about what gets scored and what gets written)."""
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    _, predictor, path = _saved_smoke_predictor(tmp_path)
    before, _ = vl.io.load_weights(path)
    scored = {}

    def quality(cfg, real, reference, *, predictor, **kw):
        scored.update(predictor.state_dict())
        return types.SimpleNamespace(protocol={"stand-in": True})

    monkeypatch.setattr(chapter, "evaluation_clips", lambda cfg, n: (None, None))
    monkeypatch.setattr(chapter, "quality", quality)
    monkeypatch.setattr(chapter, "point", lambda ev: {"samples_fvd_syn": 1.0})
    monkeypatch.setattr(chapter, "score_curve", lambda *a, **kw: [{"stage": "priors"}])
    monkeypatch.setattr(chapter, "smoke_check", lambda predictor, cfg: {"psnr": 2.0})
    monkeypatch.setattr(chapter, "_network_hash", lambda network: "h")
    chapter.finish_checkpoint(path, tmp_path)
    after, meta = vl.io.load_weights(path)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert meta["extra"]["metrics"]["samples_fvd_syn"] == 1.0 and meta["extra"]["smoke_check"] == {"psnr": 2.0}
    assert json.loads(path.with_suffix(".json").read_text())["metrics"] == meta["extra"]["metrics"]
    dequantized = vqck.unpack_state(after, meta["config"]["storage"])
    assert all(torch.equal(scored[k], dequantized[k].float()) for k in scored if k.startswith(("top.", "bottom.")))
    key = next(k for k, v in after.items() if v.dtype == torch.int8)
    assert not torch.equal(scored[key], predictor.state_dict()[key])     # the int8 weights, not the trained ones
