"""Profile settings of the book's feature networks: one YAML file per (network, profile), read by one function.

``configs/metrics/<network>/<profile>.yaml`` holds every field of the network's config dataclass (issue 8
section 5: a profile value lives in exactly one place). :func:`network_profile` reads and validates a file and
returns the dataclass; the dataclasses themselves carry no profile values.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml

from vidsynth_lite import paths
from vidsynth_lite.config import PROFILES


class NetworkProfileError(ValueError):
    """A network profile file that is missing, malformed, or does not match the config's fields."""


def profile_path(network: str, profile: str) -> Path:
    return paths.configs_dir() / "metrics" / network / f"{profile}.yaml"


def network_profile(cls: type, network: str, profile: str, **overrides):
    """The config ``cls`` of ``network`` at ``profile``, from its YAML file, with ``overrides`` applied.

    Every field of ``cls`` must be in the file and nothing else; values are checked against the field types.
    ``None`` overrides are ignored.
    """
    if profile not in PROFILES:
        raise NetworkProfileError(f"unknown profile {profile!r} for {network}; expected one of {list(PROFILES)}")
    path = profile_path(network, profile)
    if not path.is_file():
        raise NetworkProfileError(f"{path}: missing (the {network} settings of profile {profile!r} live there)")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise NetworkProfileError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(values, dict):
        raise NetworkProfileError(f"{path}: expected a mapping of field names to values")
    fields = {f.name for f in dataclasses.fields(cls)}
    missing, unknown = fields - set(values), set(values) - fields
    if missing or unknown:
        raise NetworkProfileError(f"{path}: fields do not match {cls.__name__}: missing {sorted(missing)}, "
                                  f"unknown {sorted(unknown)}")
    bad = set(overrides) - fields
    if bad:
        raise NetworkProfileError(f"unknown {cls.__name__} settings {sorted(bad)}; allowed: {sorted(fields)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        values[name] = _coerce(path, name, value, hints[name])
    return cls(**values)


def _coerce(path: Path, name: str, value, hint):
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise NetworkProfileError(f"{path}: {name} = {value!r}: expected a list")
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (not isinstance(value, hint) or (hint is not bool
                                                                            and isinstance(value, bool))):
        raise NetworkProfileError(f"{path}: {name} = {value!r}: expected {hint.__name__}")
    return value
