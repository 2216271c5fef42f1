"""The run card reads the chapter's results file: profile, run time, machine, date."""

import dataclasses

import pytest

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import RunningConfig


def test_card_states_profile_time_and_machine_from_the_results_file(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    cfg = vl.config.resolve(RunningConfig, {"profile": "smoke"})
    vl.runtime.start(cfg)
    vl.reproduce.write_results("running", "smoke", {"x": 1.0}, {"data": "toy"}, root=tmp_path, config=cfg)
    card = vl.reproduce.run_card("running", tmp_path)
    assert card["profile"] == "smoke"
    assert card["time"].endswith(" s") and card["time"] != "not recorded"
    assert "device cpu" in card["machine"] and vl.runtime.cpu_model() in card["machine"]
    html = vl.reproduce.show_run("running", tmp_path)._repr_html_()
    assert vl.reproduce.card.CARD_CLASS in html and "smoke" in html


def test_card_of_a_chapter_without_results_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the chapter"):
        vl.reproduce.run_card("running", tmp_path)


@pytest.mark.parametrize("seconds, text", [(None, "not recorded"), (12.4, "12 s"), (3725, "62 min 05 s")])
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert vl.reproduce.card._duration(seconds) == text


def test_results_record_the_run_time_since_start(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    cfg = dataclasses.replace(vl.config.resolve(RunningConfig, {"profile": "smoke"}))
    vl.runtime.start(cfg)
    path = vl.reproduce.write_results("running", "smoke", {"x": 1}, {"p": 1}, root=tmp_path, config=cfg)
    import json
    assert json.loads(path.read_text())["seconds"] >= 0
