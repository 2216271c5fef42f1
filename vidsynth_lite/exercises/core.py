"""Exercises with checkers, for readers and classrooms.

An exercise pairs a reference implementation from the package with a generator of random inputs. A student's
function passes when it matches the reference on every trial (same shapes, values within tolerance).
:func:`check` prints a verdict and returns it; it never raises, so a notebook with an unsolved stub still runs
from top to bottom.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

_REGISTRY: dict[str, Exercise] = {}


@dataclass(frozen=True)
class Exercise:
    name: str                                             # "<chapter>.<topic>", e.g. "metrics.psnr"
    reference: Callable[..., Any]                         # the package's implementation
    make_inputs: Callable[[torch.Generator], tuple]       # random positional arguments for one trial
    atol: float = 1e-5
    rtol: float = 1e-5
    trials: int = 5
    hint: str = ""


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.passed else "❌"
        return f"{mark} **{self.name}**: {self.message}"

    def __repr__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


def register(exercise: Exercise) -> Exercise:
    if exercise.name in _REGISTRY and _REGISTRY[exercise.name] is not exercise:
        raise ValueError(f"exercise {exercise.name!r} is registered twice")
    _REGISTRY[exercise.name] = exercise
    return exercise


def _load_all() -> None:
    """Import every ``vidsynth_lite/exercises/<chapter>.py`` so that its exercises register."""
    import importlib
    import pkgutil

    import vidsynth_lite.exercises as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "core":
            importlib.import_module(f"{package.__name__}.{info.name}")


def get(name: str) -> Exercise:
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"no exercise named {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def _compare(got: Any, want: Any, atol: float, rtol: float, where: str = "result") -> str | None:
    """None if ``got`` matches ``want``; otherwise a sentence saying how it differs."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where}: expected a sequence of {len(want)} values, got {type(got).__name__}"
        for i, (g, w) in enumerate(zip(got, want)):
            problem = _compare(g, w, atol, rtol, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"{where}: expected a dict with keys {sorted(want)}"
        for k in want:
            problem = _compare(got[k], want[k], atol, rtol, f"{where}[{k!r}]")
            if problem:
                return problem
        return None
    w = torch.as_tensor(np.asarray(want) if not isinstance(want, torch.Tensor) else want)
    try:
        g = torch.as_tensor(np.asarray(got) if not isinstance(got, torch.Tensor) else got)
    except Exception:  # noqa: BLE001
        return f"{where}: expected a tensor-like value, got {type(got).__name__}"
    if tuple(g.shape) != tuple(w.shape):
        return f"{where}: expected shape {tuple(w.shape)}, got {tuple(g.shape)}"
    g, w = g.detach().double().cpu(), w.detach().double().cpu()
    if not torch.allclose(g, w, atol=atol, rtol=rtol, equal_nan=True):
        worst = (g - w).abs().max().item()
        return f"{where}: values differ from the reference (largest difference {worst:.3g}, tolerance {atol:g})"
    return None


def check(name: str, student: Callable[..., Any], seed: int = 0, quiet: bool = False) -> Verdict:
    """Compare ``student`` with the reference of exercise ``name`` on random inputs; print and return a verdict."""
    exercise = get(name)
    generator = torch.Generator().manual_seed(seed)
    verdict = Verdict(name, True, f"matches the reference on {exercise.trials} random inputs")
    for trial in range(exercise.trials):
        args = exercise.make_inputs(generator)
        want = exercise.reference(*_clone(args))
        try:
            got = student(*_clone(args))
        except NotImplementedError:
            verdict = Verdict(name, False, "not implemented yet: replace `raise NotImplementedError` with your code")
            break
        except Exception as error:  # noqa: BLE001 - a student's error becomes the verdict
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            verdict = Verdict(name, False, f"raised {last} on trial {trial + 1}")
            break
        problem = _compare(got, want, exercise.atol, exercise.rtol)
        if problem:
            hint = f" Hint: {exercise.hint}" if exercise.hint else ""
            verdict = Verdict(name, False, f"trial {trial + 1}: {problem}.{hint}")
            break
    if not quiet:
        print(repr(verdict))
    return verdict


def _clone(args: tuple) -> tuple:
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)
