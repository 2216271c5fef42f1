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


def test_shipped_files_are_small_and_complete():
    cfg = _lite()
    names = [ch.checkpoint_path(w, "full", kind).name for w in cfg.worlds for kind in ("stage1", "stage2",
                                                                                          "control")]
    names += [ch.checkpoint_path("pushbot", v, k).name for v in cfg.ablations for k in ("stage1", "stage2")]
    names += [ch.checkpoint_path("pushbot", "full", k, cfg.ablation_steps).name for k in ("stage1", "stage2")]
    missing = [n for n in names if not (ROOT / n).is_file()]
    assert not missing, f"missing from {ROOT}: {missing}"
    total = sum((ROOT / n).stat().st_size for n in names)
    assert total < 18 * 2**20, f"the shipped checkpoint is {total / 2**20:.1f} MB"   # 16.4 MB: 10 files, fp16


@pytest.mark.parametrize("world", ["pushbot", "sky"])
def test_checkpoint_matches_the_lite_recipe_and_its_recorded_metrics(world):
    cfg = _lite()
    for control in (False, True):
        want = ch.model_configs(cfg, world, control=control)
        _, meta1 = io.load_weights(ROOT / ch.checkpoint_path(world, "full", "stage1").name)
        _, meta2 = io.load_weights(ROOT / ch.checkpoint_path(world, "full", "control" if control else "stage2").name)
        assert meta1["config"]["encoder"] == json.loads(json.dumps(dataclasses.asdict(want.encoder)))
        assert meta1["config"]["decoder"] == json.loads(json.dumps(dataclasses.asdict(want.decoder)))
        assert meta2["config"]["cinn"] == json.loads(json.dumps(dataclasses.asdict(want.cinn)))
        ch.load_models(world, control=control)                  # strict state-dict load into today's networks
    recorded = json.loads((ROOT / "logs" / "recorded_metrics.json").read_text())[world]
    torch.set_num_threads(1)
    again = ch.recorded_metrics(cfg, world, clips=recorded["clips"])
    assert again["test_l1"] == pytest.approx(recorded["test_l1"], abs=1e-4)
    assert again["test_nll_per_dim"] == pytest.approx(recorded["test_nll_per_dim"], abs=1e-3)
