"""Hide the package's own implementation while a student's function runs.

An exercise that asks for ``psnr`` must not be solvable by ``return vl.metrics.psnr(a, b)``. :func:`guarded`
wraps the student's function so that, during each of its calls (and only then), every *forbidden* callable
raises :class:`ForbiddenCall` -- "your function called vidsynth_lite's psnr; write it yourself" -- however the
student reached it: ``vl.metrics.psnr``, ``from vidsynth_lite.metrics.image import psnr as p`` at the top of the
cell, or the exercise's own reference. A call that the student's code catches and swallows still fails the
exercise: the wrapper records every forbidden call and raises after the function returns.

How a function is hidden: its ``__code__`` is swapped for a blocker while the student's function runs, so every
name bound to that function object is blocked at once. A function with a closure (whose code cannot be swapped)
is replaced instead wherever a loaded module or the student's globals hold it. A class is hidden by replacing its
``__init__``. Everything is restored when the call ends, even when it raises.

A forbidden target is a callable, a dotted name (``"vidsynth_lite.metrics.psnr"``, ``"torch.autograd.grad"``,
``"torch.Tensor.backward"``) or a module (``"vidsynth_lite.train.loop"``: every function and class defined in
it; a package such as ``"vidsynth_lite.train"``: every function and class of every module in it). Names are resolved when the check runs, so a misspelt name fails loudly there.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_ACTIVE: list[list[str]] = []        # one list of recorded forbidden calls per active guard (innermost last)


class ForbiddenCall(RuntimeError):
    """The student's function called an implementation the exercise asks them to write."""


def called(label: str) -> None:
    """What a hidden function does instead of its work (the blocker code calls this)."""
    if _ACTIVE:
        _ACTIVE[-1].append(label)
    raise ForbiddenCall(f"your function called {label}; write it yourself")


def _label(obj: Any) -> str:
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    if module.startswith("vidsynth_lite"):
        return f"vidsynth_lite's {name} ({module}.{name})"
    return f"{module}.{name}" if module else name


def resolve(target: Any) -> list[Any]:
    """The callables a forbidden ``target`` stands for (a module stands for everything defined in it)."""
    if not isinstance(target, str):
        return [target]
    try:
        module = importlib.import_module(target)
    except ImportError:
        module = None
    if module is not None:
        modules = [module]
        if hasattr(module, "__path__"):                              # a package: every module in it
            import pkgutil

            modules += [importlib.import_module(info.name)
                        for info in pkgutil.walk_packages(module.__path__, prefix=f"{target}.")]
        return [v for m in modules for v in vars(m).values()
                if (inspect.isfunction(v) or inspect.isclass(v)) and getattr(v, "__module__", None) == m.__name__]
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            break
        return [obj]
    raise ValueError(f"cannot hide {target!r}: no such module, function or class")


def _blocker(label: str) -> types.CodeType:
    """A code object that takes any arguments and calls :func:`called` (built from builtins only, because it
    runs with the hidden function's globals)."""
    source = (f"def blocked(*args, **kwargs):\n"
              f"    __import__({__name__!r}, fromlist=['called']).called({label!r})\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<hidden {label}>", "exec"), namespace)  # noqa: S102 - fixed template, no user input
    return namespace["blocked"].__code__


@contextmanager
def hidden(targets: Iterable[Any], student_globals: dict | None = None) -> Iterator[list[str]]:
    """Within the block, every target raises :class:`ForbiddenCall`; yields the list of forbidden calls made."""
    undo: list[Callable[[], None]] = []
    calls: list[str] = []
    seen: set[int] = set()
    try:
        for target in targets:
            for obj in resolve(target):
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                _hide(obj, _label(obj), undo, student_globals)
        _ACTIVE.append(calls)
        yield calls
    finally:
        if _ACTIVE and _ACTIVE[-1] is calls:
            _ACTIVE.pop()
        for restore in reversed(undo):
            restore()


def _hide(obj: Any, label: str, undo: list[Callable[[], None]], student_globals: dict | None) -> None:
    if inspect.isclass(obj):
        had_own = "__init__" in vars(obj)
        original = vars(obj).get("__init__")

        def blocked_init(self, *args, **kwargs):
            called(label)

        obj.__init__ = blocked_init
        undo.append(lambda: setattr(obj, "__init__", original) if had_own else delattr(obj, "__init__"))
        return
    inner = inspect.unwrap(obj) if callable(obj) else obj
    function = getattr(inner, "__func__", inner)                     # bound methods -> their function
    if isinstance(function, types.FunctionType) and not function.__code__.co_freevars:
        code = function.__code__
        function.__code__ = _blocker(label)
        undo.append(lambda: setattr(function, "__code__", code))
        return
    if not callable(obj):
        raise TypeError(f"cannot hide {obj!r}: not a function or class")
    # a closure or a builtin: replace the bindings that loaded modules and the student's globals hold
    @functools.wraps(obj)
    def replacement(*args, **kwargs):
        called(label)

    for namespace in [vars(m) for m in list(sys.modules.values()) if m is not None] + [student_globals or {}]:
        for key, value in list(namespace.items()):
            if value is obj:
                namespace[key] = replacement
                undo.append(functools.partial(namespace.__setitem__, key, obj))


def guarded(student: Callable[..., Any], targets: Iterable[Any]) -> Callable[..., Any]:
    """``student`` with ``targets`` hidden during each of its calls; raises :class:`ForbiddenCall` afterwards if it
    called one of them, even if it caught the error itself."""
    targets = tuple(targets)
    if not targets:
        return student
    student_globals = getattr(student, "__globals__", None)

    @functools.wraps(student)
    def call(*args, **kwargs):
        with hidden(targets, student_globals) as calls:
            result = student(*args, **kwargs)
        if calls:
            raise ForbiddenCall(f"your function called {calls[0]}; write it yourself")
        return result

    return call
