"""Every exercise in every chapter: its checker fails on the stub and passes on the book's solution."""

import ast

import pytest
from notebook_cells import SOURCES, tagged

import vidsynth_lite as vl

PAIRS = []
for source in SOURCES:
    stubs, solutions = tagged(source, "exercise"), tagged(source, "solution")
    assert len(stubs) == len(solutions), f"{source.name}: {len(stubs)} exercise cells, {len(solutions)} solutions"
    PAIRS += [(source.name, stub, solution) for stub, solution in zip(stubs, solutions)]


def _checked_name(cell: str) -> tuple[str, str]:
    """The exercise name and the function passed in the cell's `vl.exercises.check("name", fn)` call."""
    for node in ast.walk(ast.parse(cell)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "check":
            return node.args[0].value, node.args[1].id
    raise AssertionError("an exercise cell must end with vl.exercises.check(<name>, <function>)")


def _define(cell: str):
    """Run the cell's definitions (not its check call) and return the checked function."""
    name, function = _checked_name(cell)
    tree = ast.parse(cell)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Call))]
    namespace = {"vl": vl, "torch": __import__("torch"), "np": __import__("numpy")}
    exec(compile(tree, "<exercise>", "exec"), namespace)  # noqa: S102 - the chapter's own solution cell
    return name, namespace[function]


def test_every_chapter_with_exercises_has_checked_ones():
    assert PAIRS, "no exercises found in the chapters"


@pytest.mark.parametrize("chapter, stub, solution", PAIRS, ids=[f"{c}:{_checked_name(s)[0]}" for c, s, _ in PAIRS])
def test_checker_fails_on_stub_and_passes_on_solution(chapter, stub, solution):
    name, student = _define(stub)
    solution_name, solved = _define(solution)
    assert name == solution_name, f"{chapter}: the solution checks {solution_name!r}, the stub {name!r}"
    assert not vl.exercises.check(name, student, quiet=True).passed, f"{name}: the checker accepts the stub"
    verdict = vl.exercises.check(name, solved, quiet=True)
    assert verdict.passed, f"{name}: the checker rejects the book's solution: {verdict.message}"


def test_checker_reports_wrong_shapes_and_values():
    import torch

    def wrong_value(average, value, decay):
        return decay * value + (1 - decay) * average

    def wrong_shape(average, value, decay):
        return (average + value).sum()

    assert "values differ" in vl.exercises.check("running.ema_update", wrong_value, quiet=True).message
    assert "expected shape" in vl.exercises.check("running.ema_update", wrong_shape, quiet=True).message
    assert "raised" in vl.exercises.check("running.ema_update", lambda *a: torch.zeros(1) / "x", quiet=True).message


def test_assignment_removes_solutions_only():
    from vidsynth_lite.booktools.assignment import strip_solutions

    source = SOURCES[0]
    student = strip_solutions(source)
    tags = [c.get("metadata", {}).get("tags", []) for c in student.cells]
    assert not any("solution" in t for t in tags)
    assert sum("exercise" in t for t in tags) == len(tagged(source, "exercise")) > 0
