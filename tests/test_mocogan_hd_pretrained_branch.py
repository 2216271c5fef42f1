"""Chapter 7 with ``use_pretrained`` on, end to end, at smoke: on checkpoints that the pretrain command writes
to a folder of its own (``pretrain mocogan_hd --profile smoke --folder DIR``, read back with
``-p pretrained_dir DIR``).

``make test`` runs the chapter at smoke with the shipped checkpoints off (they are lite-sized), so without
this test the branch the book renders at lite would first run in ``make book``: it once failed there on a
plotting call that no smoke run reached."""

from notebook_cells import REPO

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.reproduce.run import run_chapter


def test_chapter_runs_on_the_checkpoints_the_pretrain_command_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("VIDSYNTH_RESULTS", str(tmp_path / "results"))
    folder = tmp_path / "checkpoints"
    assert ch.pretrain_main(["--profile", "smoke", "--folder", str(folder)]) == 0
    assert sorted(p.stem for p in folder.glob("*.safetensors")) == sorted(ch.STAGES)

    results = run_chapter(REPO / "notebooks" / "07_mocogan_hd.py", "mocogan_hd", "smoke",
                          tmp_path / "out.ipynb",
                          parameters={"use_pretrained": True, "pretrained_dir": str(folder)})
    assert results["protocol"]["pretrained"] is True
    smoke = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke"})
    shipped = results["metrics"]["shipped"]          # what the chapter says it loaded
    assert shipped["image_faces"]["steps"] == smoke.pretrain_image_steps
    assert shipped["image_faces"]["command"].startswith("python -m vidsynth_lite pretrain mocogan_hd")
    assert set(shipped) == {"image_faces", "full", "w/o Eq. 2", "w/o D_I", "w/o L_contr", "w/o L_m"}
    # every claim the longer runs decide is now decided (reproduced, not reproduced or unresolved at this N)
    assert results["metrics"]["claim_counts"]["not testable at this profile"] == 0
