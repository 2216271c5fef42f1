from dataclasses import dataclass

import pytest

from vidsynth_lite import config
from vidsynth_lite.chapters.running import RunningConfig
from vidsynth_lite.config import ChapterConfig, ConfigError, notebook_parameters, param, resolve


@dataclass
class Toy(ChapterConfig):
    chapter = "toy-without-files"
    steps: int = param(10, "steps", min=1, max=100)
    lr: float = param(0.1, "learning rate", min=0.0)
    size: int = param(32, "size", choices=(16, 32, 64))
    name: str = param("a", "a name")
    widths: tuple = param((1, 2), "widths")


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def test_defaults_and_overrides():
    cfg = resolve(Toy, {"profile": "lite", "steps": 5, "lr": 1})
    assert (cfg.steps, cfg.lr, cfg.size, cfg.profile) == (5, 1.0, 32, "lite")
    assert isinstance(cfg.lr, float)


def test_none_means_profile_value(repo):
    lite = resolve(RunningConfig, {"profile": "lite", "steps": None})
    smoke = resolve(RunningConfig, {"profile": "smoke", "steps": None})
    import yaml

    assert smoke.steps == yaml.safe_load((repo / "configs/running/smoke.yaml").read_text())["steps"]
    assert lite.steps != smoke.steps


def test_env_profile_overrides_notebook(monkeypatch):
    monkeypatch.setenv("VIDSYNTH_PROFILE", "smoke")
    assert resolve(RunningConfig, {"profile": "lite"}).profile == "smoke"


@pytest.mark.parametrize("params, words", [
    ({"stpes": 5}, ["unknown parameter 'stpes'", "steps"]),
    ({"steps": "abc"}, ["'steps'", "'abc'", "expected int in [1, 100]"]),
    ({"steps": 2.5}, ["'steps'", "2.5", "int"]),
    ({"steps": True}, ["'steps'", "True"]),
    ({"steps": 0}, ["'steps'", "= 0", "[1, 100]"]),
    ({"lr": -1.0}, ["'lr'", "-1.0", ">= 0.0"]),
    ({"size": 48}, ["'size'", "48", "one of [16, 32, 64]"]),
    ({"profile": "huge"}, ["unknown profile 'huge'", "smoke", "full"]),
    ({"stpes": None}, ["unknown parameter 'stpes'"]),
])
def test_bad_parameters_raise_one_clear_error(params, words):
    with pytest.raises(ConfigError) as info:
        resolve(Toy, {"profile": "lite", **params})
    for word in words:
        assert word in str(info.value)


def test_unknown_profile_from_environment(monkeypatch):
    monkeypatch.setenv("VIDSYNTH_PROFILE", "tiny")
    with pytest.raises(ConfigError, match="unknown profile 'tiny'.*VIDSYNTH_PROFILE"):
        resolve(Toy, {"profile": "lite"})


def test_profile_file_with_unknown_key_is_named(tmp_path, monkeypatch):
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / "lite.yaml").write_text("profile: lite\nstepz: 3\n")
    monkeypatch.setenv("VIDSYNTH_CONFIGS", str(tmp_path))
    with pytest.raises(ConfigError, match="stepz.*lite.yaml"):
        resolve(RunningConfig, {"profile": "lite"})


def test_profile_files_name_their_own_profile(repo):
    import yaml

    files = sorted((repo / "configs").glob("*/*.yaml"))
    assert files
    for path in files:
        assert path.stem in config.PROFILES, path
        assert (yaml.safe_load(path.read_text()) or {}).get("profile") == path.stem, path


@pytest.mark.parametrize("profile", config.PROFILES)
def test_chapter0_profiles_resolve(profile):
    assert resolve(RunningConfig, {"profile": profile}).profile == profile


def test_notebook_parameters_stop_at_first_module():
    import math

    namespace = {"__name__": "__main__", "__builtins__": math, "In": [], "_i1": "x", "get_ipython": print, "profile": "lite",
                 "seed": 1, "steps": None, "stepz": 4, "math": math, "later": 5}
    assert notebook_parameters(namespace) == {"profile": "lite", "seed": 1, "steps": None, "stepz": 4}


def test_describe_lists_every_field():
    text = config.describe(Toy)
    for name in ("profile", "seed", "steps", "lr", "size"):
        assert name in text


# ------------------------------------------------------------------------------ issue 9: parameters that got past
@dataclass
class Listy(ChapterConfig):
    chapter = "listy-without-files"
    lr: float = param(0.1, "learning rate", min=1e-6, max=1.0)
    temperatures: list = param([1.0, 1.2], "sampling temperatures", min=0.01, max=10.0)  # noqa: RUF009
    names: list[str] = param(["a"], "names")  # noqa: RUF009


@pytest.mark.parametrize("params, words", [
    ({"lr": float("nan")}, ["'lr' = nan", "finite", "[1e-06, 1.0]"]),
    ({"lr": float("inf")}, ["'lr' = inf", "finite"]),
    ({"temperatures": []}, ["'temperatures' = []", "at least 1 float"]),
    ({"temperatures": ["hot"]}, ["'temperatures'", "element 0 ('hot')", "float"]),
    ({"temperatures": [1.0, -1.0]}, ["element 1 (-1.0)", "in [0.01, 10.0]"]),
    ({"temperatures": [float("nan")]}, ["element 0 (nan)"]),
    ({"names": ["a", 3]}, ["element 1 (3)", "str"]),
    ({"seed": 2**70}, ["'seed' = 1180591620717411303424", "in [0, 9223372036854775807]"]),
])
def test_nan_lists_and_huge_seeds_are_refused_naming_the_value(params, words):
    with pytest.raises(ConfigError) as info:
        resolve(Listy, {"profile": "lite", **params})
    for word in words:
        assert word in str(info.value)
    assert "\n" not in str(info.value)


def test_good_lists_pass_and_keep_their_values():
    cfg = resolve(Listy, {"profile": "lite", "temperatures": [0.5, 2], "names": ["x", "y"]})
    assert cfg.temperatures == [0.5, 2] and cfg.names == ["x", "y"]


@pytest.mark.parametrize("params, words", [
    ({"frames": 2}, ["'frames' = 2", ">= 3"]),
    ({"interrupt_at": 5, "ckpt_every": 10, "steps": 60}, ["'interrupt_at' = 5", ">= ckpt_every = 10"]),
    ({"interrupt_at": 60, "steps": 60}, ["'interrupt_at' = 60", "< steps = 60"]),
])
def test_chapter0_validate_refuses_what_its_model_and_demo_cannot_take(params, words):
    with pytest.raises(ConfigError) as info:
        resolve(RunningConfig, {"profile": "lite", **params})
    for word in words:
        assert word in str(info.value)


def test_malformed_profile_yaml_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / "lite.yaml").write_text("profile: lite\nsteps: [1, 2\n")
    monkeypatch.setenv("VIDSYNTH_CONFIGS", str(tmp_path))
    with pytest.raises(ConfigError, match=r"running/lite\.yaml is not valid YAML"):
        resolve(RunningConfig, {"profile": "lite"})


def test_configs_folder_that_does_not_exist_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_CONFIGS", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"VIDSYNTH_CONFIGS = .*nowhere.* is not a folder"):
        resolve(RunningConfig, {"profile": "smoke"})
    monkeypatch.setenv("VIDSYNTH_CONFIGS", str(tmp_path))          # exists, but has no running/ folder
    with pytest.raises(ConfigError, match="has no folder 'running'"):
        resolve(RunningConfig, {"profile": "smoke"})
    (tmp_path / "running").mkdir()
    with pytest.raises(ConfigError, match="has no file .*smoke.yaml"):
        resolve(RunningConfig, {"profile": "smoke"})


def test_run_key_changes_with_every_value_and_the_code(monkeypatch):
    base = resolve(RunningConfig, {"profile": "smoke"})
    keys = {config.run_key(base)}
    for change in ({"lr": 1e-3}, {"seed": 1}, {"frames": 5}, {"profile": "lite"}):
        keys.add(config.run_key(resolve(RunningConfig, {"profile": "smoke", **change})))
    assert len(keys) == 5
    assert config.run_key(resolve(RunningConfig, {"profile": "smoke"})) == config.run_key(base)
    assert config.run_key(base, fields=["size"]) == config.run_key(
        resolve(RunningConfig, {"profile": "smoke", "lr": 1e-3}), fields=["size"])
    folder = config.run_dir(base, "stage")
    assert folder.name == "stage" and folder.parent.name == f"running-smoke-{config.run_key(base)}"
    monkeypatch.setattr(config, "code_version", lambda: "0.1.0-edited")
    assert config.run_key(base) not in keys
