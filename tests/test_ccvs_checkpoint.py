"""The shipped CCVS checkpoints (``vidsynth_lite/models/ccvs/weights/``): they load, their settings are the
lite profile's, and the final autoencoder reproduces the check metric recorded when it was made."""

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import ccvs as chapter
from vidsynth_lite.models.ccvs import load_model

FOLDER = chapter.pretrained_dir()
MANIFEST = chapter.read_manifest(FOLDER)


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def _lite():
    cfg = vl.config.resolve(chapter.CCVSChapterConfig, {"profile": "lite"}).validate()
    return cfg, chapter.profile_configs("lite", cfg)


def _shipped_rows():
    return [row for row in chapter.ROWS if chapter.row_file(row) in MANIFEST["files"]]


def test_manifest_lists_every_file_the_chapter_loads():
    """The final autoencoder, the three transformers and the estimator are required; Table 1's other rows are
    optional (the chapter records a row that is not shipped as "not testable", naming the command that trains
    it), but every row the manifest lists is on disk, and the final row is always there."""
    assert MANIFEST is not None, f"no manifest.json in {FOLDER}: run `python -m vidsynth_lite pretrain ccvs`"
    needed = {"ae_final.safetensors", "position_estimator.safetensors", chapter.row_file(chapter.FINAL_ROW)}
    needed |= {f"t_{name}.safetensors" for name in chapter.TRANSFORMERS}
    assert needed <= set(MANIFEST["files"]), sorted(needed - set(MANIFEST["files"]))
    needed |= {chapter.row_file(row) for row in _shipped_rows()}
    assert all((FOLDER / name).is_file() for name in needed)
    assert {p.name for p in FOLDER.glob("*.safetensors")} == needed, "a checkpoint the manifest does not list"
    for name in chapter.TRANSFORMERS:
        assert MANIFEST["files"][f"t_{name}.safetensors"]["steps"] == MANIFEST["t_steps"][name]
    assert MANIFEST["command"].startswith("python -m vidsynth_lite pretrain ccvs") and MANIFEST["commit"]
    total = sum((FOLDER / name).stat().st_size for name in needed)
    assert total < 24 * 2 ** 20, f"shipped checkpoints weigh {total / 2 ** 20:.1f} MiB"


def test_shipped_networks_are_the_lite_profiles():
    _, sizes = _lite()
    for row in _shipped_rows():                            # Table 1: each row's switches, the profile's sizes
        model = chapter.load_shipped(FOLDER, chapter.row_file(row), chapter.row_configs(sizes, row)[0])
        assert model.cfg.flow == chapter.ROWS[row]["flow"]
    chapter.load_shipped(FOLDER, "ae_final.safetensors", sizes.autoencoder)
    layouts = chapter.layouts(sizes)
    for name, model in chapter.load_transformers(FOLDER).items():
        assert model.layout == layouts[name]
        assert (model.arch["n_layer"], model.arch["n_embd"]) == (sizes.transformer.n_layer, sizes.transformer.n_embd)


def test_final_autoencoder_reproduces_its_recorded_reconstruction_psnr():
    cfg, _ = _lite()
    ae, meta = load_model(FOLDER / "ae_final.safetensors")
    check = chapter.load_videos("pushbot", "test", 8, cfg.frames, cfg.size, cfg.seed)["video"]
    torch.manual_seed(0)
    psnr = chapter.reconstruction_psnr(ae, check, 1)
    recorded = MANIFEST["files"]["ae_final.safetensors"]["psnr_context1"]
    assert meta["step"] == MANIFEST["final_steps"]
    assert psnr == pytest.approx(recorded, abs=0.1)        # recorded in fp32; shipped in fp16


def test_a_checkpoint_of_other_sizes_is_refused(tmp_path):
    _, sizes = _lite()
    from dataclasses import replace

    with pytest.raises(vl.io.CheckpointError, match="pretrain ccvs"):
        chapter.load_shipped(FOLDER, "ae_final.safetensors", replace(sizes.autoencoder, num_codes=64))
