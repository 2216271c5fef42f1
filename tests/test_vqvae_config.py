"""Chapter 3 profiles: one source per value; full is the paper's Tables 3-8; lite/smoke are smaller; validate()."""

import inspect

import pytest
import torch
import yaml

import vidsynth_lite as vl
from vidsynth_lite.chapters import vqvae as chapter
from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.models.vqvae import PAPER_TRAINING, BottomPrior, TopPrior, VideoVQVAE, VQVAEModels

MODEL_FIELDS = chapter.MODEL_FIELDS


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def _resolve(profile, **overrides):
    return vl.config.resolve(VQVAEChapterConfig, {"profile": profile, **overrides})


def _yaml(repo, profile):
    return yaml.safe_load((repo / "configs" / "vqvae" / f"{profile}.yaml").read_text())


@pytest.mark.parametrize("profile", ["smoke", "lite", "full"])
def test_every_model_size_of_a_profile_is_written_in_its_yaml_file(repo, profile):
    """No size hides in code: each profile's file names every model field (the defaults are only the paper)."""
    missing = [name for name in MODEL_FIELDS if name not in _yaml(repo, profile)]
    assert not missing, f"{profile}.yaml lacks {missing}"
    assert "profile ==" not in inspect.getsource(chapter), "profile-dependent code in chapters/vqvae.py"


def test_full_is_the_papers_tables_3_to_8_on_the_meta_device():
    """full.yaml resolves to exactly the tables of models/vqvae/config.py, and the networks built from it on
    the meta device have the paper networks' parameters, name by name and shape by shape."""
    cfg = _resolve("full")
    sizes = model_configs(cfg)
    assert sizes == VQVAEModels()
    assert (cfg.size, cfg.frames, cfg.cond_frames) == (256, 16, 4)
    assert (cfg.vq_batch, cfg.top_batch, cfg.bottom_batch) == tuple(PAPER_TRAINING[k].batch
                                                                    for k in ("vqvae", "top", "bottom"))
    assert (cfg.vq_steps, cfg.top_steps, cfg.bottom_steps) == tuple(PAPER_TRAINING[k].steps
                                                                    for k in ("vqvae", "top", "bottom"))
    assert (sizes.bottom.past_window, sizes.bottom.past_layers, sizes.bottom.up_channels) == (4, 4, 1024)
    paper = VQVAEModels()
    with torch.device("meta"):
        for cls, ours, theirs in [(VideoVQVAE, sizes.vqvae, paper.vqvae), (TopPrior, sizes.top, paper.top),
                                  (BottomPrior, sizes.bottom, paper.bottom)]:
            a, b = cls(ours).state_dict(), cls(theirs).state_dict()
            assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}, cls.__name__
    with torch.device("meta"):
        top = TopPrior(sizes.top)
    assert len(top.pixelcnn.layers) == 40 and len(top.pixelcnn.attn) == 8       # Table 4: 40 layers, 8 attention


@pytest.mark.parametrize("profile", ["smoke", "lite"])
def test_small_profiles_are_smaller_than_the_paper(profile):
    sizes = model_configs(_resolve(profile))
    paper = VQVAEModels()
    assert sizes.vqvae.hidden < paper.vqvae.hidden and sizes.top.layers < paper.top.layers
    assert sizes.bottom.layers < paper.bottom.layers and sizes.vqvae.size < paper.vqvae.size


def test_bad_parameter_is_a_clear_error():
    with pytest.raises(vl.config.ConfigError, match="size"):
        _resolve("lite", size=48)


@pytest.mark.parametrize("overrides, message", [
    ({"frames": 18}, "'frames' = 18 .*expected a multiple of 4"),
    ({"frames": 8, "cond_frames": 8}, "'frames' = 8 .*expected more than cond_frames"),
    ({"top_heads": 5}, "'top_heads' = 5 .*expected a divisor of top_hidden"),
    ({"bottom_kernel": 4}, "'bottom_kernel' = 4 .*expected an odd filter size"),
    ({"bottom_past_window": 4, "bottom_past_layers": 1}, "'bottom_past_layers' = 1"),
    ({"test_videos": 4, "eval_draws": 3}, "'test_videos' = 4 .*multiple of eval_draws"),
    ({"eval_skip": ["FVD", "BLEU"]}, "'eval_skip'"),
    ({"eval_skip": [], "fvd_videos": 0}, "'fvd_videos' = 0"),
])
def test_validate_names_the_parameter_the_model_cannot_take(overrides, message):
    """A value inside its range that the model cannot take fails at the parameters cell (resolve runs
    validate), not minutes later; a config built by hand fails in validate() and in model_configs()."""
    with pytest.raises(vl.config.ConfigError, match=message):
        _resolve("smoke", **overrides)
    cfg = VQVAEChapterConfig(**{**_resolve("smoke").to_dict(), **overrides})
    with pytest.raises(vl.config.ConfigError, match=message):
        cfg.validate()
    with pytest.raises(vl.config.ConfigError, match=message):
        model_configs(cfg)
    assert _resolve("smoke").validate().frames == 16


@pytest.mark.parametrize("temperatures", [[], ["hot"], [-1.0], [0.0]])
def test_temperatures_are_a_non_empty_list_of_positive_numbers(temperatures):
    """``temperatures: list[float]`` with bounds: the parameters cell refuses a bad list by name."""
    with pytest.raises(vl.config.ConfigError, match="temperatures"):
        _resolve("smoke", temperatures=temperatures)
