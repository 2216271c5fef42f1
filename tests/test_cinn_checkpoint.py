"""The shipped cINN checkpoint (checkpoints/cinn/, trained by `python -m vidsynth_lite pretrain cinn`) still
loads into the current networks with the lite recipe's configs and reproduces the numbers recorded with it."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from vidsynth_lite import config, io
from vidsynth_lite.chapters import cinn as ch

ROOT = ch.checkpoint_dir()


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def _lite():
    return config.resolve(ch.CINNChapterConfig, {"profile": "lite"})


def _shipped(cfg):
    return [(w, "full") for w in cfg.worlds] + [("pushbot", v) for v in cfg.ablations]


def test_shipped_files_are_few_small_and_complete():
    cfg = _lite()
    paths = [ch.checkpoint_path(w, v) for w, v in _shipped(cfg)]
    missing = [p.name for p in paths if not p.is_file()]
    assert not missing, f"missing from {ROOT}: {missing}"
    total = sum(p.stat().st_size for p in paths)
    assert total < 6 * 2**20, f"the shipped checkpoint is {total / 2**20:.1f} MiB"   # fp16, stage 1 + x_0 encoder: 5.5
    weights = sorted(p.name for p in ROOT.glob("*.safetensors"))
    assert weights == sorted(p.name for p in paths), f"stale files in {ROOT}: {weights}"


@pytest.mark.parametrize("world_variant", ["pushbot-full", "sky-full", "pushbot-no_x0"])
def test_checkpoint_matches_the_lite_recipe_and_its_recorded_metrics(world_variant):
    cfg = _lite()
    world, variant = world_variant.split("-")
    want = ch.model_configs(cfg, world, **ch.VARIANTS[variant])
    _, meta = io.load_weights(ch.checkpoint_path(world, variant))
    as_json = lambda c: json.loads(json.dumps(dataclasses.asdict(c)))   # tuples become lists
    assert meta["config"]["encoder"] == as_json(want.encoder)
    assert meta["config"]["decoder"] == as_json(want.decoder)
    assert meta["config"]["image_ae"] == as_json(want.image_ae)
    assert meta["step"] == cfg.stage1_steps
    ch.load_models(world, variant)                              # strict state-dict loads into today's networks
    recorded = json.loads((ROOT / "logs" / "recorded_metrics.json").read_text())[world_variant]
    torch.set_num_threads(1)
    again = ch.recorded_metrics(cfg, world, variant, clips=recorded["clips"])
    assert again["test_l1"] == pytest.approx(recorded["test_l1"], abs=1e-4)
    assert again["embedding_norm"] == pytest.approx(recorded["embedding_norm"], rel=1e-4)
