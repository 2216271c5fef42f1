"""Chapter settings: flat notebook parameters -> a validated, typed config.

A chapter declares its settings as a dataclass that subclasses :class:`ChapterConfig`; every field is made with
:func:`param` (default, one-line help, allowed range or choices). The values of each profile live in
``configs/<chapter>/<profile>.yaml`` -- the same files papermill takes with ``-f``. Resolution order:

1. the dataclass defaults,
2. the profile's YAML file (the profile is the notebook's ``profile`` unless ``VIDSYNTH_PROFILE`` is set),
3. every notebook / papermill parameter whose value is not ``None``.

Every value is checked: an unknown name, a wrong type, NaN, a value out of range (element by element for lists),
an unknown profile or a malformed profile file raises one :class:`ConfigError` naming the parameter, the value
and what is allowed. Then the chapter's own :meth:`ChapterConfig.validate` checks what the ranges cannot say
(``frames`` must be a multiple of the model's temporal stride, one setting must be below another), so that a value
the model cannot take stops the chapter at its parameters cell, not minutes later.

A run is identified by everything that changes its result: :func:`run_key` hashes the resolved config and the
package's source (:func:`code_version`), and :func:`run_dir` names a training folder by it, so a changed
parameter starts a new run and an identical one resumes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
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
          choices: tuple | None = None, min_len: int | None = None) -> Any:
    """Declare a config field with its help text and the values it allows.

    For a list field, ``min`` / ``max`` apply to every element, and ``min_len`` is the shortest list allowed
    (default: 1 when the default list has elements). The element type comes from the annotation
    (``list[float]``) or, failing that, from the default's elements.
    """
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
            "min_len": min_len}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class ChapterConfig:
    """Fields every chapter has. Subclasses set ``chapter`` (the folder under ``configs/``)."""

    chapter: ClassVar[str] = ""
    profile: str = param("lite", "smoke (CI, seconds) | lite (2-core CPU, minutes) | full (paper scale, GPU)",
                         choices=PROFILES)
    seed: int = param(0, "seed of every random generator (runtime.seed_everything)", min=0, max=2**63 - 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Check what single ranges cannot: combinations of fields and what the chapter's model can take.

        Called by :func:`resolve` after every field passed its own check. Chapters override it and raise
        :class:`ConfigError` (via :meth:`refuse`) naming the parameter, its value and what is allowed.
        """

    def refuse(self, name: str, allowed: str) -> None:
        """Raise the one-line :class:`ConfigError` for parameter ``name``: its value and what is allowed."""
        raise ConfigError(f"parameter {name!r} = {getattr(self, name)!r} (profile {self.profile!r}): expected "
                          f"{allowed}")


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
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        name = getattr(origin, "__name__", str(origin))
        return f"{name} of {_type_name(args[0])}" if origin in (list, tuple) and args else name
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


def _element_hint(f: dataclasses.Field, hint: Any) -> Any:
    """The element type of a list / tuple field: from its annotation (``list[float]``), else from its default's
    elements (``[1.0, 1.2]`` -> float); ``None`` when neither says."""
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    if args:
        return args[0]
    default = list(f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default or ())
    if default and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in default):
        return float if any(isinstance(v, float) for v in default) else int
    kinds = {type(v) for v in default}
    return kinds.pop() if len(kinds) == 1 else None


def _out_of_range(value: Any, meta: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and math.isnan(value):
        return True
    return ((meta.get("min") is not None and value < meta["min"])
            or (meta.get("max") is not None and value > meta["max"]))


def _check(cls: type, name: str, value: Any, source: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        allowed = ", ".join(sorted(fields))
        raise ConfigError(f"unknown parameter {name!r} (= {value!r}) from {source}; "
                          f"{cls.__name__} accepts: {allowed}")
    f = fields[name]
    hint = typing.get_type_hints(cls)[name]
    allowed = _describe_allowed(f, hint)
    is_list = typing.get_origin(hint) in (list, tuple) or hint in (list, tuple)
    if not (isinstance(value, (list, tuple)) if is_list else _matches(value, hint)):   # elements: below
        raise ConfigError(f"parameter {name!r} = {value!r} ({type(value).__name__}) from {source}: "
                          f"expected {allowed}")
    meta = f.metadata
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected a finite number"
                          + (f", {allowed}" if allowed != "float" else ""))
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected {allowed}")
    if _out_of_range(value, meta):
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected {allowed}")
    if isinstance(value, (list, tuple)):
        _check_elements(name, value, f, hint, source)
    if hint is float and isinstance(value, int):
        value = float(value)
    if isinstance(value, list) and typing.get_origin(hint) is tuple:
        value = tuple(value)
    return value


def _check_elements(name: str, value: list | tuple, f: dataclasses.Field, hint: Any, source: str) -> None:
    """Lists are checked element by element: type (annotation or default's), finiteness, range, length."""
    element = _element_hint(f, hint)
    meta = f.metadata
    need = meta.get("min_len")
    if need is None:   # a list whose default has elements must have some
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        need = 1 if default else 0
    kind = _type_name(element) if element is not None else "any"
    bounds = _describe_allowed(f, float).replace("float", "").strip()
    what = f"a list of at least {need} {kind} value(s){' ' + bounds if bounds else ''}"
    if len(value) < need:
        raise ConfigError(f"parameter {name!r} = {value!r} from {source}: expected {what}")
    for i, item in enumerate(value):
        bad = (element is not None and not _matches(item, element)) or (
            isinstance(item, float) and not math.isfinite(item)) or _out_of_range(item, meta)
        if bad:
            raise ConfigError(f"parameter {name!r} = {value!r} from {source}: element {i} ({item!r}) is not "
                              f"allowed; expected {what}")


def profile_file(cls: type, profile: str) -> Path:
    return paths.configs_dir() / cls.chapter / f"{profile}.yaml"


def load_profile(cls: type, profile: str) -> dict[str, Any]:
    """Read ``configs/<chapter>/<profile>.yaml``.

    A chapter without a folder under ``configs/`` uses its defaults. Refused with a :class:`ConfigError`: a
    configs folder that does not exist (``VIDSYNTH_CONFIGS`` pointing at a missing folder would otherwise give
    the defaults, i.e. another profile's values), a chapter folder ``$VIDSYNTH_CONFIGS`` lacks, a chapter folder
    without this profile's file, and a file that is not a YAML mapping (the message names the file).
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {list(PROFILES)}")
    if not cls.chapter:
        return {}
    root = paths.configs_dir()
    from_env = f"$VIDSYNTH_CONFIGS = {os.environ['VIDSYNTH_CONFIGS']!r}" if os.environ.get("VIDSYNTH_CONFIGS") \
        else "the configs folder"
    if not root.is_dir():
        raise ConfigError(f"{from_env}: {root} is not a folder; expected a folder holding "
                          "<chapter>/<smoke|lite|full>.yaml")
    path = profile_file(cls, profile)
    if not path.parent.is_dir():
        if os.environ.get("VIDSYNTH_CONFIGS"):
            raise ConfigError(f"{from_env} has no folder {cls.chapter!r}; expected {path}")
        return {}
    if not path.is_file():
        raise ConfigError(f"profile {profile!r} of chapter {cls.chapter!r} has no file {path}; expected one of "
                          f"{sorted(p.name for p in path.parent.glob('*.yaml'))} to be {profile}.yaml")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from error
    data = data or {}
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
    cfg = cls(**values)
    cfg.validate()
    return cfg


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


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version and a SHA-256 of every source file of ``vidsynth_lite`` (12 hex digits).

    Any edit of the package changes it, so a run trained by other code is never resumed as if it were this one.
    """
    import vidsynth_lite

    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{vidsynth_lite.__version__}-{h.hexdigest()[:12]}"


def run_key(cfg: ChapterConfig, fields: list[str] | tuple[str, ...] | None = None) -> str:
    """16 hex digits identifying a run: the chapter, the resolved values (all, or only ``fields``) and
    :func:`code_version`. Equal keys: the same run (it resumes); any changed value: another run."""
    if not isinstance(cfg, ChapterConfig):
        raise TypeError(f"run_key() takes a resolved ChapterConfig, got {type(cfg).__name__}")
    values = cfg.to_dict()
    if fields is not None:
        unknown = sorted(set(fields) - set(values))
        if unknown:
            raise ConfigError(f"run_key(fields=...) names {unknown}, which {type(cfg).__name__} does not have")
        values = {k: values[k] for k in fields}
    key = {"chapter": cfg.chapter, "config": values, "code": code_version()}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_dir(cfg: ChapterConfig, stage: str | None = None, fields: list[str] | tuple[str, ...] | None = None
            ) -> Path:
    """The training folder of this configuration: ``runs/<chapter>-<profile>-<run_key>[/<stage>]``.

    A chapter with several trainings can key each by the fields it depends on, e.g.
    ``run_dir(cfg, "vqvae", fields=VQVAE_FIELDS)``, so that changing a prior's setting does not retrain the
    autoencoder; by default every field counts.
    """
    folder = paths.runs_dir() / f"{cfg.chapter}-{cfg.profile}-{run_key(cfg, fields)}"
    if stage is not None:
        if not stage or "/" in stage or stage.startswith("."):
            raise ValueError(f"stage must be a plain folder name, got {stage!r}")
        folder = folder / stage
    return folder
