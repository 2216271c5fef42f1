"""Chapter settings: flat notebook parameters -> a validated, typed config.

A chapter declares its settings as a dataclass that subclasses :class:`ChapterConfig`; every field is made with
:func:`param` (default, one-line help, allowed range or choices). The values of each profile live in
``configs/<chapter>/<profile>.yaml`` -- the same files papermill takes with ``-f``. Resolution order:

1. the dataclass defaults,
2. the profile's YAML file (the profile is the notebook's ``profile`` unless ``VIDSYNTH_PROFILE`` is set),
3. every notebook / papermill parameter whose value is not ``None``.

Every value is checked: an unknown name, a wrong type, a value out of range or an unknown profile raises one
:class:`ConfigError` naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

import yaml

from vidsynth_lite import paths

PROFILES = ("smoke", "lite", "full")
PROFILE_ENV = "VIDSYNTH_PROFILE"

# Names that IPython puts into a notebook's namespace; they are never parameters.
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
_LITERALS = (str, int, float, bool, type(None), list, tuple, dict)


class ConfigError(ValueError):
    """A parameter that cannot be accepted; the message says which one and what is allowed."""


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          choices: tuple | None = None) -> Any:
    """Declare a config field with its help text and the values it allows."""
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class ChapterConfig:
    """Fields every chapter has. Subclasses set ``chapter`` (the folder under ``configs/``)."""

    chapter: ClassVar[str] = ""
    profile: str = param("lite", "smoke (CI, seconds) | lite (2-core CPU, minutes) | full (paper scale, GPU)",
                         choices=PROFILES)
    seed: int = param(0, "seed of every random generator (runtime.seed_everything)", min=0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def notebook_parameters(namespace: dict[str, Any]) -> dict[str, Any]:
    """Collect the parameters a notebook defined (or papermill injected) from its ``globals()``.

    Contract: the ``parameters`` cell is the first code cell and holds flat literals only; papermill's injected
    cell follows it. Python keeps a namespace in insertion order, so the parameters are the literal-valued
    names that come before the first imported module; names IPython adds and names starting with ``_`` are
    skipped. A name papermill injects that the config does not know is therefore caught by :func:`resolve`.
    """
    found: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("_") or name in _IPYTHON_NAMES:
            continue
        if isinstance(value, types.ModuleType):
            break
        if not isinstance(value, _LITERALS):
            continue
        found[name] = value
    return found


def _describe_allowed(f: dataclasses.Field, hint: Any) -> str:
    meta = f.metadata
    if meta.get("choices"):
        return f"one of {list(meta['choices'])}"
    text = f"{_type_name(hint)}"
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        text += f" in [{lo}, {hi}]"
    elif lo is not None:
        text += f" >= {lo}"
    elif hi is not None:
        text += f" <= {hi}"
    return text


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(hint)
        return not args or all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


def _check(cls: type, name: str, value: Any, source: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        allowed = ", ".join(sorted(fields))
        raise ConfigError(f"unknown parameter {name!r} (= {value!r}) from {source}; "
                          f"{cls.__name__} accepts: {allowed}")
    f = fields[name]
    hint = typing.get_type_hints(cls)[name]
    allowed = _describe_allowed(f, hint)
    if not _matches(value, hint):
        raise ConfigError(f"parameter {name!r} = {value!r} ({type(value).__name__}) from {source}: "
                          f"expected {allowed}")
    meta = f.metadata
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected {allowed}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (
            (meta.get("min") is not None and value < meta["min"])
            or (meta.get("max") is not None and value > meta["max"])):
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected {allowed}")
    if hint is float and isinstance(value, int):
        value = float(value)
    if isinstance(value, list) and typing.get_origin(hint) is tuple:
        value = tuple(value)
    return value


def profile_file(cls: type, profile: str) -> Path:
    return paths.configs_dir() / cls.chapter / f"{profile}.yaml"


def load_profile(cls: type, profile: str) -> dict[str, Any]:
    """Read ``configs/<chapter>/<profile>.yaml``; a missing file means "the defaults"."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {list(PROFILES)}")
    path = profile_file(cls, profile)
    if not cls.chapter or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of parameter names to values, got {type(data).__name__}")
    return data


def resolve(cls: type, params: dict[str, Any] | None = None, **overrides: Any):
    """Turn (profile, overrides) into a validated ``cls`` instance; see the module docstring for the order."""
    if not (isinstance(cls, type) and issubclass(cls, ChapterConfig)):
        raise TypeError(f"resolve() needs a ChapterConfig subclass, got {cls!r}")
    given = {**(params or {}), **overrides}
    profile = os.environ.get(PROFILE_ENV) or given.get("profile") or "lite"
    source_profile = f"${PROFILE_ENV}" if os.environ.get(PROFILE_ENV) else "the parameters"
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r} (from {source_profile}); expected one of {list(PROFILES)}")
    values: dict[str, Any] = {}
    profile_values = load_profile(cls, profile)
    for name, value in profile_values.items():
        if name == "profile":
            continue
        values[name] = _check(cls, name, value, str(profile_file(cls, profile)))
    for name, value in given.items():
        if name == "profile":
            continue
        if value is None:
            _check_known(cls, name)
            continue
        values[name] = _check(cls, name, value, "the notebook parameters")
    values["profile"] = _check(cls, "profile", profile, source_profile)
    return cls(**values)


def _check_known(cls: type, name: str) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    if name not in names:
        raise ConfigError(f"unknown parameter {name!r} from the notebook parameters; "
                          f"{cls.__name__} accepts: {', '.join(sorted(names))}")


def describe(cls: type) -> str:
    """A table of every parameter: name, type, default, allowed values, help."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(f"{f.name:<20} {_describe_allowed(f, hints[f.name]):<32} default {default!r:<10} "
                    f"{f.metadata.get('help', '')}")
    return "\n".join(rows)
