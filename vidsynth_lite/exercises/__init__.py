"""Exercises with checkers: ``check("<chapter>.<topic>", your_function)``.

Each chapter registers its exercises in ``vidsynth_lite/exercises/<chapter>.py``. The four families (match a
reference, satisfy a property, reach an outcome, answer a quiz), the cell conventions and "how to write an
exercise for this book" are documented in :mod:`.core`.
"""

from vidsynth_lite.exercises.core import (
    Choice,
    Exercise,
    ExerciseFailed,
    Family,
    Outcome,
    Property,
    Verdict,
    check,
    digest,
    get,
    grade,
    names,
    register,
    use,
)
from vidsynth_lite.exercises.guard import ForbiddenCall

__all__ = ["Choice", "Exercise", "ExerciseFailed", "Family", "ForbiddenCall", "Outcome", "Property", "Verdict",
           "check", "digest", "get", "grade", "names", "register", "use"]
