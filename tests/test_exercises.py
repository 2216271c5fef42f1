"""Every exercise in every chapter: its checker fails on the stub, passes on the book's solution, and fails on a
solution that calls the package's own implementation; the checker framework's promises (one message, edge cases,
dtypes, hidden implementations restored, grade/use)."""

import ast
import math

import numpy as np
import pytest
import torch
from notebook_cells import SOURCES

import vidsynth_lite as vl
from vidsynth_lite.booktools.exercise_cells import read_chapter
from vidsynth_lite.exercises.guard import ForbiddenCall, guarded, hidden

CHAPTERS = {source.name: read_chapter(source) for source in SOURCES}
PAIRS = [(name, ex) for name, chapter in CHAPTERS.items() for ex in chapter.coded]
NAMESPACE = {"vl": vl, "torch": torch, "np": np, "math": math}   # all an answer may use (core.py, step 3)


def _define(body: str, answer: str):
    """Run an exercise cell's definitions (not its check) with only the allowed names; return the answer."""
    namespace = dict(NAMESPACE)
    exec(compile(ast.parse(body), "<exercise>", "exec"), namespace)  # noqa: S102 - the chapter's own cell
    return namespace[answer]


def test_every_chapter_with_exercises_has_checked_ones():
    assert PAIRS, "no exercises found in the chapters"
    assert {ex.name for _, ex in PAIRS} <= set(vl.exercises.names()), "a chapter checks an unregistered exercise"


@pytest.mark.parametrize("chapter, exercise", PAIRS, ids=[f"{c}:{ex.name}" for c, ex in PAIRS])
def test_checker_fails_on_stub_and_passes_on_solution(chapter, exercise):
    stub = _define(exercise.stub_body, exercise.answer)
    solved = _define(exercise.solution_body, exercise.answer)
    verdict = vl.exercises.check(exercise.name, stub, quiet=True)
    assert not verdict.passed, f"{exercise.name}: the checker accepts the stub"
    verdict = vl.exercises.check(exercise.name, solved, quiet=True)
    assert verdict.passed, f"{exercise.name}: the checker rejects the book's solution: {verdict.message}"


REFERENCED = [name for name in vl.exercises.names()
              if getattr(vl.exercises.get(name), "reference", None) is not None]


@pytest.mark.parametrize("name", REFERENCED)
def test_a_solution_that_returns_the_reference_fails(name):
    reference = vl.exercises.get(name).reference

    def calls_the_reference(*args, **kwargs):
        return reference(*args, **kwargs)

    verdict = vl.exercises.check(name, calls_the_reference, quiet=True)
    assert not verdict.passed and "write it yourself" in verdict.message, verdict.message


def _fit_briefly(model, optimizer, videos, steps):
    def loss(m, batch):
        return (m(batch[:, :-2].flatten(0, 1), batch[:, 1:-1].flatten(0, 1)) - batch[:, 2:].flatten(0, 1)).pow(2).mean()

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        vl.train.fit(model, loss, lambda step: videos[:8], steps=steps, optimizer=optimizer, run_dir=folder,
                     progress=False)


def _step_by_fit(model, optimizer, loss_fn, batch, max_norm):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = vl.train.fit(model, loss_fn, lambda step: batch, steps=1, optimizer=optimizer, run_dir=folder,
                              grad_clip=max_norm, progress=False)
    return torch.tensor(result.history[0]["loss"])


def _capsule_by_renderer(points, a, b, radius):
    d = vl.data.render.sdf_capsule(points[:, 0].numpy(), points[:, 1].numpy(), *a.tolist(), *b.tolist(), radius)
    return torch.as_tensor(d, dtype=points.dtype)


def _shift_by_scipy(image, dx, dy):
    import scipy.ndimage

    spectrum = scipy.ndimage.fourier_shift(np.fft.fft2(image.double().numpy()), (dy, dx))
    return torch.as_tensor(np.fft.ifft2(spectrum).real, dtype=image.dtype)


def _gradient_by_autograd(f, x, eps=1e-6):
    x = x.detach().double().requires_grad_(True)
    f(x).backward()
    return x.grad.to(torch.float32)


def _gradient_by_functional(f, x, eps=1e-6):
    return torch.autograd.functional.jacobian(f, x.double()).to(x.dtype)


CHEATS = [("running.train_briefly", _fit_briefly, "fit"), ("running.train_step", _step_by_fit, "fit"),
          ("data.capsule_distance", _capsule_by_renderer, "sdf_capsule"),
          ("data.fourier_shift", _shift_by_scipy, "fourier_shift"),
          ("running.numerical_gradient", _gradient_by_autograd, "backward"),
          ("running.numerical_gradient", _gradient_by_functional, "")]


@pytest.mark.parametrize("name, cheat, named", CHEATS, ids=[f"{n}:{c.__name__}" for n, c, _ in CHEATS])
def test_a_solution_that_calls_the_package_or_library_implementation_fails(name, cheat, named):
    verdict = vl.exercises.check(name, cheat, quiet=True)
    assert not verdict.passed
    assert "write it yourself" in verdict.message and named in verdict.message, verdict.message


# --- the framework's promises -----------------------------------------------------------------------------------
def test_hidden_functions_are_restored_even_when_the_student_raises():
    psnr, capsule = vl.metrics.psnr, vl.data.measure.capsule_distance
    code = capsule.__code__

    def crashes(points, a, b, radius):
        raise ZeroDivisionError("boom")

    verdict = vl.exercises.check("data.capsule_distance", crashes, quiet=True)
    assert "raised ZeroDivisionError: boom" in verdict.message
    assert capsule.__code__ is code and vl.metrics.psnr is psnr
    assert capsule(torch.zeros(1, 2), torch.zeros(2), torch.ones(2), 0.0).item() == 0.0


def test_a_swallowed_forbidden_call_still_fails():
    def sneaky(points, a, b, radius):
        try:
            return vl.data.measure.capsule_distance(points, a, b, radius)
        except Exception:  # noqa: BLE001 - the point of the test
            return (points - a).norm(dim=-1) - radius

    verdict = vl.exercises.check("data.capsule_distance", sneaky, quiet=True)
    assert not verdict.passed and "capsule_distance" in verdict.message and "write it yourself" in verdict.message


def test_guard_hides_modules_classes_and_names_bound_before_the_check():
    from vidsynth_lite.data.measure import phase_correlation as bound_early

    def uses_a_class():
        return vl.train.StepBatches(torch.zeros(4, 2), 2)

    with pytest.raises(ForbiddenCall, match="StepBatches"):
        guarded(uses_a_class, ["vidsynth_lite.train"])()
    with pytest.raises(ForbiddenCall, match="phase_correlation"):
        guarded(lambda: bound_early(torch.zeros(2, 2), torch.zeros(2, 2)), ["vidsynth_lite.data.measure"])()
    with hidden(["vidsynth_lite.data.measure.motion_magnitude"]), pytest.raises(ForbiddenCall):
        vl.data.measure.motion_magnitude(torch.zeros(1, 2, 3, 4, 4))
    assert vl.data.measure.motion_magnitude(torch.zeros(1, 2, 3, 4, 4)).shape == (1,)   # restored
    assert vl.train.StepBatches(torch.zeros(4, 2), 2)(0).shape == (2, 2)
    with pytest.raises(ValueError, match="cannot hide"), hidden(["vidsynth_lite.no_such_module.function"]):
        pass


def test_edge_cases_and_dtypes_catch_what_random_inputs_miss():
    def divides_by_zero(points, a, b, radius):            # right on every random input, NaN when a == b
        ab = b - a
        h = ((points - a) @ ab / (ab @ ab)).clamp(0, 1)
        return (points - a - h[:, None] * ab).norm(dim=-1) - radius

    def always_float64(points, a, b, radius):
        ab = (b - a).double()
        h = ((points.double() - a.double()) @ ab / (ab @ ab).clamp_min(1e-12)).clamp(0, 1)
        return (points.double() - a.double() - h[:, None] * ab).norm(dim=-1) - radius

    verdict = vl.exercises.check("data.capsule_distance", divides_by_zero, quiet=True)
    assert "a == b" in verdict.message and "NaN" in verdict.message, verdict.message
    verdict = vl.exercises.check("data.capsule_distance", always_float64, quiet=True)
    assert "expected dtype torch.float32, got torch.float64" in verdict.message, verdict.message


def test_checker_reports_wrong_shapes_values_and_errors():
    def wrong_value(points, a, b, radius):
        return (points - a).norm(dim=-1) - radius

    def wrong_shape(points, a, b, radius):
        return ((points - a).norm(dim=-1) - radius).sum()

    assert "values differ" in vl.exercises.check("data.capsule_distance", wrong_value, quiet=True).message
    assert "expected shape" in vl.exercises.check("data.capsule_distance", wrong_shape, quiet=True).message
    assert "raised TypeError" in vl.exercises.check("data.capsule_distance", lambda *a: a[0] / "x",
                                                    quiet=True).message
    assert "expected a function" in vl.exercises.check("data.capsule_distance", 3, quiet=True).message


def test_a_training_step_missing_a_part_is_named():
    def no_clip(model, optimizer, loss_fn, batch, max_norm):
        out = loss_fn(model, batch)
        loss = out[0] if isinstance(out, tuple) else out
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    verdict = vl.exercises.check("running.train_step", no_clip, quiet=True)
    assert "not clipped" in verdict.message, verdict.message


def test_outcome_verdicts_carry_their_measurements():
    def no_training(model, optimizer, videos, steps):
        pass

    verdict = vl.exercises.check("running.train_briefly", no_training, quiet=True)
    assert not verdict.passed and "goal not met" in verdict.message and "ratio" in verdict.message


def test_quiz_answers_are_checked_without_being_stored():
    assert vl.exercises.check("running.quiz_resume", None, quiet=True).message.startswith("not answered yet")
    assert "expected one of" in vl.exercises.check("running.quiz_resume", "e", quiet=True).message
    wrong = [letter for letter in "abcd" if not vl.exercises.check("running.quiz_resume", letter, quiet=True)]
    assert len(wrong) == 3
    right = ({"a", "b", "c", "d"} - set(wrong)).pop()
    quiz = vl.exercises.get("running.quiz_resume")
    assert quiz.answer_sha256 == vl.exercises.digest("running.quiz_resume", right)   # stored as a digest only


def test_grade_raises_on_failure_and_use_falls_back_to_the_book():
    def stub(points, a, b, radius):
        raise NotImplementedError

    with pytest.raises(vl.exercises.ExerciseFailed, match="not implemented yet"):
        vl.exercises.grade("data.capsule_distance", stub)
    assert vl.exercises.use("data.capsule_distance", stub) is vl.data.measure.capsule_distance

    def solved(points, a, b, radius):
        ab = b - a
        h = ((points - a) @ ab / (ab @ ab).clamp_min(1e-12)).clamp(0, 1)
        return (points - a - h[:, None] * ab).norm(dim=-1) - radius

    vl.exercises.grade("data.capsule_distance", solved)
    assert vl.exercises.use("data.capsule_distance", solved) is solved


def test_in_a_notebook_each_verdict_shows_once(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    cells = ['import vidsynth_lite as vl\nvl.exercises.check("data.quiz_split", "b")',
             'vl.exercises.check("data.quiz_split", "a")',
             'vl.exercises.grade("data.quiz_split", "b")']
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    for cell in notebook.cells:
        assert len(cell.outputs) == 1, f"{cell.source!r} shows {len(cell.outputs)} outputs"
        assert "text/markdown" in cell.outputs[0]["data"]
    assert "'a' is not right" in notebook.cells[1].outputs[0]["data"]["text/markdown"]
