"""Exercises with checkers: ``check("<chapter>.<topic>", your_function)``.

Each chapter registers its exercises in ``vidsynth_lite/exercises/<chapter>.py``; see :mod:`.core`.
"""

from vidsynth_lite.exercises.core import Exercise, Verdict, check, get, names, register

__all__ = ["Exercise", "Verdict", "check", "get", "names", "register"]
