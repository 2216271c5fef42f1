"""Feature-network profiles live in one place: configs/metrics/<network>/<profile>.yaml, read by one function."""

import dataclasses

import pytest

from vidsynth_lite.config import PROFILES
from vidsynth_lite.metrics import network_profiles, syn_i3d, syn_video

NETWORKS = [("syn_video", syn_video.SynVideoConfig, syn_video.config),
            ("syn_i3d", syn_i3d.SynI3DConfig, syn_i3d.resolve_config)]


@pytest.mark.parametrize("network, cls, read", NETWORKS)
def test_configs_carry_no_profile_values_of_their_own(network, cls, read):
    for f in dataclasses.fields(cls):      # a default would be a second place for a profile value
        assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, f.name


@pytest.mark.parametrize("network, cls, read", NETWORKS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_file_reads_into_its_config(network, cls, read, profile):
    import yaml
    path = network_profiles.profile_path(network, profile)
    values = yaml.safe_load(path.read_text())
    cfg = read(profile)
    assert isinstance(cfg, cls)
    assert {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()} == values


def test_bad_profile_files_get_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_CONFIGS", str(tmp_path))
    folder = tmp_path / "metrics" / "syn_video"
    folder.mkdir(parents=True)
    with pytest.raises(network_profiles.NetworkProfileError, match="missing"):
        syn_video.config("lite")
    (folder / "lite.yaml").write_text("size: 32\nwidth: [1\n")
    with pytest.raises(network_profiles.NetworkProfileError, match="not valid YAML"):
        syn_video.config("lite")
    (folder / "lite.yaml").write_text("size: 32\n")
    with pytest.raises(network_profiles.NetworkProfileError, match="missing .*frames"):
        syn_video.config("lite")
    with pytest.raises(network_profiles.NetworkProfileError, match="unknown profile"):
        syn_video.config("huge")


def test_overrides_are_checked():
    assert syn_video.config("lite", steps=7).steps == 7
    with pytest.raises(network_profiles.NetworkProfileError, match="unknown SynVideoConfig settings"):
        syn_video.config("lite", depth=3)
