"""The shipped MoCoGAN-HD checkpoints (``python -m vidsynth_lite pretrain mocogan_hd --profile lite``): each loads
strictly into the model the current lite config builds, says how it was made, and reproduces its recorded
fingerprint (the mean absolute output of fixed-seed samples)."""

import json
import math

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg


@pytest.fixture(scope="module")
def lite(monkeypatch_module):
    """The lite config as configs/mocogan_hd/lite.yaml says, even under `make test`'s VIDSYNTH_PROFILE=smoke
    (which would otherwise resolve every config at smoke)."""
    monkeypatch_module.delenv(vl.config.PROFILE_ENV, raising=False)
    return vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "lite"}).validate()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _module(stage, cfg):
    kind, _world, variant, cross = ch.STAGES[stage]
    if kind == "image":
        return sg.Generator(ch.image_config(cfg))
    k = cfg.n_pca
    pca = mh.LatentPCA(torch.zeros(cfg.style_dim), torch.zeros(k, cfg.style_dim), torch.zeros(k), torch.zeros(k))
    return ch.build_motion_generator(cfg, pca, variant=variant, cross_domain=cross)


@pytest.mark.parametrize("stage", list(ch.STAGES))
def test_shipped_checkpoint_loads_and_reproduces_its_fingerprint(stage, lite):
    assert lite.use_pretrained, "the lite chapter must load the shipped checkpoints (configs/mocogan_hd/lite.yaml)"
    path = ch.PRETRAINED_DIR / f"{stage}.safetensors"
    assert path.is_file(), f"{path} is missing: python -m vidsynth_lite pretrain mocogan_hd --stage {stage}"
    module = _module(stage, lite)
    info = ch.load_pretrained(stage, module)
    assert info["stage"] == stage and info["profile"] == "lite"
    assert info["command"].startswith("python -m vidsynth_lite pretrain mocogan_hd")
    assert len(info["commit"]) >= 40 and info["steps"] > 0 and info["cpu_minutes"] > 0
    assert math.isclose(ch.fingerprint_sample(module.eval(), lite), info["fingerprint"], rel_tol=1e-5)
    kind = ch.STAGES[stage][0]
    if kind == "image":
        assert info["curve"], "an image stage records its quality-against-CPU-minutes curve"
        last = info["curve"][-1]
        assert last["step"] == info["steps"] and last["fid_syn"] > 0 and last["floor"] >= 0
    assert path.stat().st_size < 4 * 2 ** 20                               # a few MB at most


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke"})
    ch.save_pretrained("image_faces", sg.Generator(ch.image_config(cfg)), cfg, {"steps": 1}, folder=tmp_path)
    other = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke", "channel_max": 8})
    with pytest.raises(vl.io.CheckpointError, match="another configuration"):
        ch.load_pretrained("image_faces", sg.Generator(ch.image_config(other)), folder=tmp_path)


def test_a_missing_checkpoint_names_the_command_that_builds_it(tmp_path):
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke"})
    with pytest.raises(FileNotFoundError, match="pretrain mocogan_hd --profile lite --stage image_sky"):
        ch.load_pretrained("image_sky", sg.Generator(ch.image_config(cfg)), folder=tmp_path)


def test_save_and_load_round_trip(tmp_path, lite):
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke"})
    G = sg.Generator(ch.image_config(cfg))
    ch.save_pretrained("image_faces", G, cfg, {"steps": 1, "commit": "x" * 40}, folder=tmp_path)
    twin = sg.Generator(ch.image_config(cfg))
    info = ch.load_pretrained("image_faces", twin, folder=tmp_path)
    for (name, a), b in zip(G.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(b, a.half().float(), msg=name)            # fp16 on disk
    assert math.isclose(ch.fingerprint_sample(twin.eval(), cfg), info["fingerprint"], rel_tol=1e-6)
    assert json.loads((tmp_path / "image_faces.json").read_text())["stage"] == "image_faces"


def test_pretrain_command_line(capsys, monkeypatch):
    """``python -m vidsynth_lite pretrain mocogan_hd ...`` reaches :func:`ch.pretrain_main` with the chapter's own
    arguments; an unknown stage and a chapter without checkpoints are clear errors."""
    from vidsynth_lite import cli

    seen = {}
    monkeypatch.setattr(ch, "pretrain", lambda profile, stages=None, folder=None, curves=True: seen.update(
        profile=profile, stages=stages, folder=folder, curves=curves) or [])
    assert cli.main(["pretrain", "mocogan_hd", "--profile", "smoke", "--stage", "image_sky", "--no-curves"]) == 0
    assert seen == {"profile": "smoke", "stages": ["image_sky"], "folder": None, "curves": False}
    assert cli.main(["pretrain", "mocogan_hd", "--folder", "elsewhere"]) == 0
    assert seen == {"profile": "lite", "stages": None, "folder": "elsewhere", "curves": True}
    with pytest.raises(SystemExit):
        ch.pretrain_main(["--stage", "image_moon"])
    assert "invalid choice: 'image_moon'" in capsys.readouterr().err
    assert cli.main(["pretrain", "running"]) == 2       # chapter 0 ships no checkpoint
    assert "no pretrain for 'running'" in capsys.readouterr().err
