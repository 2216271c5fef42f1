"""The four exercise families and what each promises (the contracts are documented in :mod:`.core`).

Every family is a frozen dataclass with a ``name`` and :meth:`Family.judge`, which runs the student's answer and
returns ``(passed, message)``. The student's function arrives already wrapped by :func:`core.check`: forbidden
implementations are hidden while it runs, and any error it raises arrives here as :class:`Problem` with one
sentence saying what went wrong, so a family only decides what to try and what counts as right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

KINDS = ("build", "understand", "train", "debug", "quiz")
NOT_ATTEMPTED = ("not implemented yet", "not answered yet")   # verdicts that get no hint (nothing to correct)


class Problem(Exception):
    """One sentence saying why the student's answer is not right yet; it ends the check."""


@dataclass(frozen=True, kw_only=True)
class Family:
    """What every exercise has, whatever its family."""

    name: str                       # "<chapter>.<topic>", e.g. "running.train_step"
    hint: str = ""                  # shown after a failure
    skill: str = ""                 # what the exercise tests, one line (the teacher's page lists it)
    kind: str = "build"             # build | understand | train | debug | quiz (the teacher's page groups by it)
    points: int = 1                 # points of its autograded cell in the nbgrader version
    forbid: tuple = ()              # callables, dotted names or modules hidden while the student's function runs

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.name!r}: kind {self.kind!r} is not one of {KINDS}")

    def judge(self, student: Any, generator: torch.Generator) -> tuple[bool, str]:
        raise NotImplementedError

    def grading(self) -> str:
        """How the exercise is graded, in one sentence (the teacher's page)."""
        raise NotImplementedError

    def hidden(self) -> tuple:
        """Everything hidden while the student's function runs."""
        return tuple(self.forbid)

    def fallback(self) -> Callable | None:
        """What :func:`core.use` runs on with when the student's function fails its check (None: nothing)."""
        return None

    def takes_function(self) -> bool:
        return True


def _cases(trials: int, make_inputs: Callable, edge_cases: dict, generator: torch.Generator):
    for trial in range(trials):
        yield f"random input {trial + 1}", make_inputs(generator)
    for label, make in edge_cases.items():
        yield f"edge case '{label}'", make()


def _hidden_labels(targets: tuple) -> str:
    """The hidden implementations in words (a checker's private reference is "its reference")."""
    from vidsynth_lite.exercises.guard import _label

    labels = []
    for target in targets:
        if isinstance(target, str):
            labels.append(target)
        elif getattr(target, "__name__", "").startswith(("_", "<lambda>")):
            labels.append("the checker's reference")
        else:
            labels.append(_label(target))
    return ", ".join(labels)


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Exercise(Family):
    """Match a reference: the student's function returns what ``reference`` returns on the same inputs.

    Tried on ``trials`` random inputs from ``make_inputs(generator)``, then on each fixed input of
    ``edge_cases`` (``{"empty batch": lambda: (torch.zeros(0, 2),)}``), then once per dtype of ``dtypes`` with
    the floating tensors of a fresh random input cast to it. With ``check_dtype`` the result's floating tensors
    must have the reference's dtype. The reference itself is always hidden while the student's function runs.
    """

    reference: Callable[..., Any]                       # the package's (or an independent) implementation
    make_inputs: Callable[[torch.Generator], tuple]     # random positional arguments for one trial
    atol: float = 1e-5
    rtol: float = 1e-5
    trials: int = 5
    edge_cases: dict = field(default_factory=dict)      # label -> () -> positional arguments
    dtypes: tuple = ()                                  # e.g. (torch.float32, torch.float64)
    check_dtype: bool = False                           # the result's dtype must equal the reference's

    def hidden(self) -> tuple:
        return (self.reference, *self.forbid)

    def fallback(self) -> Callable:
        return self.reference

    def judge(self, student, generator):
        cases = list(_cases(self.trials, self.make_inputs, self.edge_cases, generator))
        for dtype in self.dtypes:
            cases.append((f"{str(dtype).replace('torch.', '')} input", _cast(self.make_inputs(generator), dtype)))
        for where, args in cases:
            want = self.reference(*_clone(args))
            try:
                got = student(*_clone(args))
            except Problem as problem:
                return False, f"{problem} (on {where})"
            difference = compare(got, want, self.atol, self.rtol, check_dtype=self.check_dtype)
            if difference:
                return False, f"{where}: {difference}"
        return True, f"matches the reference on {self._tried()}"

    def _tried(self) -> str:
        parts = [f"{self.trials} random inputs"]
        if self.edge_cases:
            parts.append(f"{len(self.edge_cases)} edge case{'s' * (len(self.edge_cases) > 1)} "
                         f"({', '.join(self.edge_cases)})")
        if self.dtypes:
            parts.append("/".join(str(d).replace("torch.", "") for d in self.dtypes) + " inputs")
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]

    def grading(self) -> str:
        text = f"automatic: equals the reference on {self._tried()}"
        if self.check_dtype:
            text += ", result dtype included"
        return text + f"; calling {_hidden_labels(self.hidden())} fails it"


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Property(Family):
    """Satisfy a property: ``holds(student, *inputs)`` returns None when the property holds, else what broke.

    For answers that have no single right output to compare with, or whose point is a law rather than a value:
    a shift that composes and inverts, a mask that never sees the future in another raster order, a training step
    that leaves a model exactly where the reference step does. ``claim`` states the property in words.
    ``reference`` (optional) is what :func:`core.use` falls back on, and is hidden like ``forbid``.
    """

    make_inputs: Callable[[torch.Generator], tuple]
    holds: Callable[..., str | None]
    claim: str
    trials: int = 5
    edge_cases: dict = field(default_factory=dict)
    reference: Callable[..., Any] | None = None

    def hidden(self) -> tuple:
        return ((self.reference,) if self.reference else ()) + tuple(self.forbid)

    def fallback(self) -> Callable | None:
        return self.reference

    def judge(self, student, generator):
        for where, args in _cases(self.trials, self.make_inputs, self.edge_cases, generator):
            try:
                broken = self.holds(student, *args)
            except Problem as problem:
                return False, f"{problem} (on {where})"
            if broken:
                return False, f"{where}: {broken}"
        extra = f" and {len(self.edge_cases)} edge cases" if self.edge_cases else ""
        return True, f"{self.claim}: holds on {self.trials} random inputs{extra}"

    def grading(self) -> str:
        extra = f" and edge cases ({', '.join(self.edge_cases)})" if self.edge_cases else ""
        hidden = _hidden_labels(self.hidden())
        return (f"automatic, a property: {self.claim}, on {self.trials} random inputs{extra}"
                + (f"; calling {hidden} fails it" if hidden else ""))


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Outcome(Family):
    """Graded on an outcome: ``measure(student)`` trains, runs or repairs something small with the student's
    function and returns measurements; ``goal(measurements)`` says whether they are good enough.

    ``goal_text`` states the goal with its numbers ("held-out MSE below 0.5 x the copy-last-frame MSE"); the
    verdict prints it beside the measured values, so a student sees how far off they are.
    """

    measure: Callable[[Callable], dict[str, float]]
    goal: Callable[[dict[str, float]], bool]
    goal_text: str
    kind: str = "train"

    def judge(self, student, generator):
        try:
            measured = self.measure(student)
        except Problem as problem:
            return False, str(problem)
        values = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in measured.items())
        if self.goal(measured):
            return True, f"goal met ({self.goal_text}): {values}"
        return False, f"goal not met ({self.goal_text}): {values}"

    def grading(self) -> str:
        hidden = _hidden_labels(self.hidden())
        return f"automatic, on the outcome: {self.goal_text}" + (f"; calling {hidden} fails it" if hidden else "")


# ---------------------------------------------------------------------------------------------------------------
def digest(name: str, answer: str) -> str:
    """The stored form of a quiz answer: ``sha256("<name>:<answer>")`` (so the package does not print it)."""
    return hashlib.sha256(f"{name}:{answer.strip().lower()}".encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Choice(Family):
    """A multiple-choice question: the student sets ``answer = "b"``; the right letter is stored only as
    :func:`digest` (its explanation lives in the chapter's answer key, a ``solution`` markdown cell)."""

    options: tuple[str, ...]        # the letters a student may answer, e.g. ("a", "b", "c", "d")
    answer_sha256: str              # digest(name, right letter)
    kind: str = "quiz"

    def takes_function(self) -> bool:
        return False

    def judge(self, student, generator):
        if student is None:
            return False, f"{NOT_ATTEMPTED[1]}: set `answer` to one of {', '.join(map(repr, self.options))}"
        if not isinstance(student, str) or student.strip().lower() not in self.options:
            return False, f"expected one of {', '.join(map(repr, self.options))}, got {student!r}"
        if digest(self.name, student) == self.answer_sha256:
            return True, f"{student.strip().lower()!r} is right"
        return False, f"{student.strip().lower()!r} is not right"

    def grading(self) -> str:
        return f"automatic: multiple choice among {', '.join(self.options)}"


# ---------------------------------------------------------------------------------------------------------------
def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _cast(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def compare(got: Any, want: Any, atol: float, rtol: float, where: str = "result", check_dtype: bool = False) -> str | None:
    """None if ``got`` matches ``want``; otherwise one sentence saying how it differs."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where}: expected a sequence of {len(want)} values, got {type(got).__name__}"
        for i, (g, w) in enumerate(zip(got, want)):
            problem = compare(g, w, atol, rtol, f"{where}[{i}]", check_dtype)
            if problem:
                return problem
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"{where}: expected a dict with keys {sorted(want)}"
        for k in want:
            problem = compare(got[k], want[k], atol, rtol, f"{where}[{k!r}]", check_dtype)
            if problem:
                return problem
        return None
    w = want if isinstance(want, torch.Tensor) else torch.as_tensor(np.asarray(want))
    try:
        g = got if isinstance(got, torch.Tensor) else torch.as_tensor(np.asarray(got))
    except (TypeError, ValueError, RuntimeError):
        return f"{where}: expected a tensor-like value, got {type(got).__name__}"
    if tuple(g.shape) != tuple(w.shape):
        return f"{where}: expected shape {tuple(w.shape)}, got {tuple(g.shape)}"
    if check_dtype and w.is_floating_point() and g.dtype != w.dtype:
        return f"{where}: expected dtype {w.dtype}, got {g.dtype} (keep the input's precision)"
    g, w = g.detach().double().cpu(), w.detach().double().cpu()
    if (g.isnan() & ~w.isnan()).any():
        return f"{where}: NaN where the reference has numbers (a division by zero, or a square root of 0 -> 0?)"
    if not torch.allclose(g, w, atol=atol, rtol=rtol, equal_nan=True):
        worst = (g - w).abs().max().item()
        return f"{where}: values differ from the reference (largest difference {worst:.3g}, tolerance {atol:g})"
    return None
