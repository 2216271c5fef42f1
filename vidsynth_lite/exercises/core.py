"""Exercises with checkers, for readers and classrooms.

``vl.exercises.check("<chapter>.<topic>", answer)`` runs the exercise's checker on a student's answer (a function,
or a letter for a quiz) and returns a :class:`Verdict` that shows itself once in a notebook (a green or red line
with one sentence saying why). ``check`` never raises, so a notebook with unsolved stubs still runs top to bottom;
:func:`grade` is the same check for autograded nbgrader cells (it raises :class:`ExerciseFailed` on a failure);
:func:`use` lets a chapter run on the student's function once it passes, and on the package's until then.

The families (one contract each, like FrEIA's one contract for invertible blocks)
---------------------------------------------------------------------------------
Every exercise is a frozen dataclass registered with :func:`register` in ``vidsynth_lite/exercises/<chapter>.py``.
All share ``name`` ("<chapter>.<topic>"), ``hint`` (shown after a failure), ``skill`` (what it tests, one line,
for the teacher's page), ``kind`` (build | understand | train | debug | quiz), ``points`` (nbgrader points) and
``forbid`` (callables, dotted names or whole modules hidden while the student's function runs: calling one fails
the exercise with "your function called vidsynth_lite's <name>; write it yourself" -- see :mod:`.guard`).

:class:`Exercise` -- *match a reference*. ``reference(*inputs)`` and ``student(*inputs)`` must agree (shapes,
    values within ``atol``/``rtol``) on ``trials`` random inputs from ``make_inputs(generator)``, on every fixed
    input of ``edge_cases`` (``{"one frame": lambda: (torch.zeros(1, 1, 3, 4, 4),)}``: empty, size-1 and
    broadcast inputs where they mean something), and once per dtype in ``dtypes`` (floating inputs cast to
    float32, float64 ...); with ``check_dtype=True`` the result's dtype must also equal the reference's. The
    reference is always hidden while the student's function runs, so list in ``forbid`` only what else would be a
    shortcut (the public function when the reference is a lambda around it, a numpy twin, a whole module).
:class:`Property` -- *satisfy a law*. ``holds(student, *inputs) -> None | "what broke"`` on random and edge
    inputs; ``claim`` states the law in words. For conceptual exercises with no single right output, or whose
    point is a law: a gradient that matches finite differences, a mask that never sees the future in another
    raster order, a shift that composes and inverts, a training step that lands exactly where the reference
    step does. An optional ``reference`` is what :func:`use` falls back on (and is hidden like ``forbid``).
:class:`Outcome` -- *train or repair something small, graded on the result*. ``measure(student) -> {name:
    value}`` runs the student's function on a small task (a few seconds on one CPU thread, seeded, so the verdict
    is repeatable) and ``goal(measured) -> bool`` decides; ``goal_text`` says the goal with its numbers and the
    verdict prints the measurements beside it. Measure the goal's margin on the reference answer *and* on the
    stub before fixing a threshold, and say both in the module.
:class:`Choice` -- *a quiz item*. ``options`` are the letters; the right one is stored only as
    ``digest(name, letter)``; its explanation lives in the chapter's answer key (a ``solution`` markdown cell).

Written answers and open experiments need no checker: the question is a markdown cell and its answer (the
expected outcome, for an experiment) a markdown cell tagged ``solution`` right after it; the teacher's build
and page show it, the student versions replace it with "YOUR ANSWER HERE" (graded by hand in nbgrader).

How to write an exercise for this book
--------------------------------------
1. Pick the kind. Each chapter has at least one of each: **build** a piece the chapter then uses (turn the
   chapter's own "from scratch" cell into the stub, so the student's version is the one that runs on);
   **understand** (a law, a derivation, a variant the chapter did not show -- not a transcription of a cell
   above); **train/debug** something small graded on its outcome; an **open experiment** with its expected
   outcome in the answer key. Close the chapter with 3-5 quiz or discussion questions, answers in the key.
2. Register it in ``vidsynth_lite/exercises/<chapter>.py`` with one of the families above, a ``skill`` line, a
   ``hint`` and, for a build exercise, ``edge_cases``, ``dtypes=(torch.float32, torch.float64)`` and
   ``check_dtype=True``. Put in ``forbid`` everything that would let ``return vl.<the thing asked>(...)``
   pass. Make the reference independent of the code under test where you can.
3. In the chapter source, two cells per exercise::

       # %% tags=["exercise"]
       def psnr(a, b):
           \"\"\"[N, C, H, W] in [-1, 1] -> [N] decibels.\"\"\"
           raise NotImplementedError      # or a buggy version, for a debug exercise


       vl.exercises.check("metrics.psnr", psnr)

       # %% tags=["solution", "hide-cell"]
       def psnr(a, b):
           ...                            # the book's solution, same signature


       vl.exercises.check("metrics.psnr", psnr)

   The ``check`` call is the last statement of both cells, with the exercise's name and the function's name
   (or ``answer`` for a quiz). Everything a solution needs comes from its arguments and ``torch``, ``np``,
   ``math``, ``vl`` (the student versions and the tests run it with only those). A later cell that runs on the
   student's piece writes ``psnr = vl.exercises.use("metrics.psnr", psnr)``.
4. Written answers, open experiments and quiz explanations: a markdown cell tagged ``solution`` right after the
   question (``experiment`` too for an open experiment's expected outcome). Optional tag ``points-N`` (default 1).
5. Chapters open with a markdown cell tagged ``opening`` (:mod:`vidsynth_lite.booktools.exercise_cells` parses
   it for the teacher's page) holding four labelled paragraphs: **You will be able to** (outcomes, as bullets),
   **Prerequisites** (with links to earlier chapters), **Time** ("about N minutes" for a student) and **Core and
   optional** (which sections a course may skip).
6. ``tests/test_exercises.py`` then proves the stub fails, the solution passes and a solution that calls the
   hidden implementation fails; ``make assignments`` makes the nbgrader versions; the teacher's page lists it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from vidsynth_lite.exercises.families import (
    KINDS,
    NOT_ATTEMPTED,
    Choice,
    Exercise,
    Family,
    Outcome,
    Problem,
    Property,
    compare,
    digest,
)
from vidsynth_lite.exercises.guard import ForbiddenCall, guarded

_REGISTRY: dict[str, Family] = {}
_LAST: dict[str, tuple[Any, Verdict]] = {}                 # name -> (the answer last checked, its verdict)
FRAMEWORK = {"core", "families", "guard"}                  # modules of this package that hold no exercises

__all__ = ["KINDS", "Choice", "Exercise", "ExerciseFailed", "Family", "Outcome", "Property", "Verdict", "check",
           "compare", "digest", "get", "grade", "names", "register", "use"]


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


class ExerciseFailed(AssertionError):
    """An autograded cell's exercise does not pass yet (nbgrader gives the cell no points)."""


def register(exercise: Family) -> Family:
    if not isinstance(exercise, Family):
        raise TypeError(f"register() takes an Exercise, Property, Outcome or Choice, got {type(exercise).__name__}")
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
        if info.name not in FRAMEWORK:
            importlib.import_module(f"{package.__name__}.{info.name}")


def get(name: str) -> Family:
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"no exercise named {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def _student_errors(student: Callable[..., Any]) -> Callable[..., Any]:
    """The student's function, with each error it raises turned into one :class:`Problem` sentence."""

    def call(*args, **kwargs):
        try:
            return student(*args, **kwargs)
        except NotImplementedError:
            raise Problem(f"{NOT_ATTEMPTED[0]}: replace `raise NotImplementedError` with your code") from None
        except ForbiddenCall as error:
            raise Problem(str(error)) from None
        except Problem:
            raise
        except Exception as error:  # noqa: BLE001 - a student's error becomes the verdict
            import traceback

            raise Problem(f"raised {traceback.format_exception_only(type(error), error)[-1].strip()}") from None

    return call


def _judge(name: str, answer: Any, seed: int) -> Verdict:
    exercise = get(name)
    if exercise.takes_function():
        if not callable(answer):
            return Verdict(name, False, f"expected a function, got {type(answer).__name__}")
        answer = _student_errors(guarded(answer, exercise.hidden()))
    passed, message = exercise.judge(answer, torch.Generator().manual_seed(seed))
    if not passed and exercise.hint and not message.startswith(NOT_ATTEMPTED):
        message = f"{message}. Hint: {exercise.hint}"
    return Verdict(name, passed, message)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return bool(shell) and shell.__class__.__name__ == "ZMQInteractiveShell"


def check(name: str, answer: Any, seed: int = 0, quiet: bool = False) -> Verdict:
    """Run exercise ``name``'s checker on ``answer`` and return the :class:`Verdict`; never raises.

    In a notebook the verdict shows itself once, as the cell's value (so end the cell with this call); in a
    script it is printed unless ``quiet``.
    """
    verdict = _judge(name, answer, seed)
    _LAST[name] = (answer, verdict)
    if not quiet and not _in_notebook():
        print(repr(verdict))
    return verdict


def grade(name: str, answer: Any, seed: int = 0) -> None:
    """The autograded form of :func:`check` (nbgrader's test cells): shows the verdict when it passes, raises
    :class:`ExerciseFailed` with the same one sentence when it does not."""
    verdict = _judge(name, answer, seed)
    _LAST[name] = (answer, verdict)
    if not verdict.passed:
        raise ExerciseFailed(repr(verdict))
    if _in_notebook():
        from IPython.display import display

        display(verdict)
    else:
        print(repr(verdict))


def use(name: str, student: Callable[..., Any]) -> Callable[..., Any]:
    """``student`` if it passes exercise ``name``'s check, else the package's version with a one-line note.

    A chapter that runs on a piece the student builds calls this, so the chapter (and an autograded student
    version) still runs top to bottom while the exercise is unsolved.
    """
    exercise = get(name)
    last = _LAST.get(name)
    verdict = last[1] if last is not None and last[0] is student else check(name, student, quiet=True)
    if verdict.passed:
        return student
    fallback = exercise.fallback()
    if fallback is None:
        raise ValueError(f"exercise {name!r} has no package version to fall back on; `use` needs one")
    print(f"note: your `{name.split('.')[-1]}` does not pass its check yet, so the chapter goes on with the "
          f"book's version")
    return fallback
