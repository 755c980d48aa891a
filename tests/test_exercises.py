"""The self-checking exercises, tested table-driven over the registry.

For every exercise in `optim.exercises.EXERCISES`:
* the reference passes, and so does an independent correct solution written here
  (a different order of operations, the way a reader might write it);
* the reference agrees with numbers worked out by hand (so the wiring of the
  reference to the `optim` package is right, not merely self-consistent);
* every catalogued mistake fails, and is named, with its hint;
* generic broken code (raises, returns None, wrong shape/dtype/count, NaN, mutates
  its inputs, loops forever) gets its own clear message and never raises out of the check.

A chapter that registers new exercises adds `tests/answers/CHAPTER.py` with their rows of
SOLUTIONS and HAND_COMPUTED.
"""

import importlib.util
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from optim import exercises
from optim.exercises import EXERCISES, check

NAMES = list(EXERCISES)
MISTAKES = [(name, mistake) for name, exercise in EXERCISES.items() for mistake in exercise.mistakes]
MISTAKE_IDS = [f"{name}:{mistake.name}" for name, mistake in MISTAKES]
QUICK = 0.3  # seconds: the time limit for the many endless-loop rows


# --- independent correct solutions and hand-computed numbers, one file per chapter -----
# tests/answers/CHAPTER.py defines SOLUTIONS (name -> a correct solution written the way a
# reader might, with a different order of operations) and HAND_COMPUTED (name ->
# [(arguments, returned values)] worked out by hand), so chapters can be added in parallel.

def _load_answers():
    solutions, hand_computed = {}, {}
    for path in sorted((Path(__file__).parent / "answers").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"answers_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        solutions.update(module.SOLUTIONS)
        hand_computed.update(module.HAND_COMPUTED)
    return solutions, hand_computed


SOLUTIONS, HAND_COMPUTED = _load_answers()


def test_every_exercise_has_a_solution_and_hand_computed_numbers_here():
    assert set(SOLUTIONS) == set(EXERCISES) == set(HAND_COMPUTED)


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_a_task_cases_and_mistakes(name):
    exercise = EXERCISES[name]
    assert exercise.task.strip() and exercise.chapter
    assert len(exercise.mistakes) >= 3
    cases = exercise.cases()
    assert len(cases) >= 8
    assert all(tuple(case.args) == exercise.params for case in cases)
    # seeded: the same cases every time
    again = exercise.cases()
    assert all(_same_args(a.args, b.args) for a, b in zip(cases, again))


def _same_args(a, b):
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def _same_value(x, y):
    """Equal arrays, a nan (a diverged run's metric) equal to a nan in the same place."""
    try:
        return np.array_equal(x, y, equal_nan=True)
    except TypeError:           # equal_nan needs numbers
        return np.array_equal(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    result = check(name, EXERCISES[name].reference)
    assert result, str(result)
    assert result.kind == "passed"
    assert str(result).startswith(f"✓ {name}: all {len(EXERCISES[name].cases())} cases passed.")
    assert "Tested:" in str(result)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_independent_correct_solution_passes(name, seed):
    result = check(name, SOLUTIONS[name], seed=seed)
    assert result, str(result)


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_agrees_with_numbers_worked_out_by_hand(name):
    exercise = EXERCISES[name]
    for args, expected in HAND_COMPUTED[name]:
        got = exercise.reference(*args)
        got = got if len(exercise.returns) > 1 else (got,)
        for have, want in zip(got, expected):
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=MISTAKE_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_catalogued_mistake_is_caught_and_named(name, mistake, seed):
    result = check(name, mistake.code, seed=seed)
    assert not result
    assert result.mistake is mistake, f"named {result.mistake and result.mistake.name!r}\n{result}"
    text = str(result)
    assert f"Looks like: {mistake.name}." in text
    assert f"Hint: {mistake.hint}" in text
    assert mistake.name in result._repr_html_()


# --- generic broken code ----------------------------------------------------------------

def _outputs(name, args):
    exercise = EXERCISES[name]
    value = exercise.reference(*args)
    return list(value) if len(exercise.returns) > 1 else [value]


def _pack(name, outputs):
    return tuple(outputs) if len(EXERCISES[name].returns) > 1 else outputs[0]


def raises(name):
    def broken(*args):
        raise ValueError("broken on purpose")
    return broken


def returns_none(name):
    def broken(*args):
        _outputs(name, args)  # computes the answer... and forgets `return`
    return broken


def wrong_shape(name):
    def broken(*args):
        return _pack(name, [np.asarray(out)[np.newaxis] for out in _outputs(name, args)])
    return broken


def wrong_dtype(name):
    def broken(*args):
        return _pack(name, [np.asarray(out, dtype=np.float32) for out in _outputs(name, args)])
    return broken


def returns_nan(name):
    def broken(*args):
        outputs = _outputs(name, args)
        return _pack(name, [np.full_like(np.asarray(outputs[0]), np.nan)] + outputs[1:])
    return broken


def wrong_count(name):
    def broken(*args):
        outputs = _outputs(name, args)
        return outputs[0] if len(outputs) > 1 else (outputs[0], outputs[0])
    return broken


def returns_text(name):
    def broken(*args):
        return _pack(name, ["not a number"] * len(EXERCISES[name].returns))
    return broken


def endless_loop(name):
    def broken(*args):
        while True:
            pass
    return broken


def endless_loop_that_swallows_exceptions(name):
    def broken(*args):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass
    return broken


BROKEN = [
    # (maker, kind, words the message must contain)
    (raises, "exception", ["ValueError: broken on purpose", 'raise ValueError("broken on purpose")']),
    (returns_none, "none", ["returned `None`", "forget `return`"]),
    (wrong_shape, "shape", ["has shape (1"]),
    (wrong_dtype, "dtype", ["dtype float32", "float64"]),
    (returns_nan, "not finite", ["nan or inf"]),
    (wrong_count, "count", ["the exercise asks for"]),
    (returns_text, "type", ["not an array of numbers"]),
    (endless_loop, "time limit", ["did not finish", "loop"]),
    (endless_loop_that_swallows_exceptions, "time limit", ["did not finish"]),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("maker, kind, words", BROKEN, ids=[row[0].__name__ for row in BROKEN])
def test_broken_code_gets_a_clear_message_not_a_crash(name, maker, kind, words):
    result = check(name, maker(name), time_limit=QUICK)
    assert not result
    assert result.kind == kind, str(result)
    for word in words:
        assert word in result.message, result.message
    assert result.mistake is None  # generic breakage is not mistaken for a catalogued mistake
    str(result), result._repr_html_()  # both renderings work


@pytest.mark.parametrize("name", NAMES)
def test_changing_an_input_in_place_is_reported_by_name(name):
    exercise = EXERCISES[name]

    def scribbles(*args):
        outputs = _outputs(name, args)
        arrays = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
        if arrays:  # (plain numbers cannot be changed in place)
            arrays[0] += 1.0  # after computing the right answer: only the mutation is wrong
        return _pack(name, outputs)

    result = check(name, scribbles)
    assert result.kind == "mutated", str(result)
    changed = next(p for p in exercise.params
                   if isinstance(result.case.args[p], np.ndarray) and result.case.args[p].dtype.kind == "f")
    assert f"changed its input `{changed}` in place" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_signature_or_a_non_function_is_explained(name):
    # a function of the wrong arity: one argument, or two for a one-argument exercise
    wrong, takes = (lambda w: w, "(w)") if len(EXERCISES[name].params) != 1 else (lambda w, g: w, "(w, g)")
    result = check(name, wrong)
    assert result.kind == "signature" and f"Your function takes `{takes}`" in result.message
    result = check(name, 42)
    assert result.kind == "signature" and "needs your function itself" in result.message


def test_an_endless_loop_is_stopped_by_the_default_time_limit_quickly():
    start = time.perf_counter()
    result = exercises.check_sgd_step(endless_loop("sgd_step"))
    assert result.kind == "time limit"
    assert time.perf_counter() - start < 3.0


def test_the_time_limit_works_outside_the_main_thread():
    box = {}
    worker = threading.Thread(
        target=lambda: box.update(result=check("sgd_step", endless_loop("sgd_step"), time_limit=QUICK)))
    worker.start()
    worker.join(10)
    assert box["result"].kind == "time limit"
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name == "optim-exercise-check"]  # the loop was stopped


def test_the_check_leaves_the_alarm_handler_as_it_found_it():
    before = signal.getsignal(signal.SIGALRM)
    check("sgd_step", endless_loop("sgd_step"), time_limit=QUICK)
    check("sgd_step", EXERCISES["sgd_step"].reference)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_reader_pressing_stop_is_not_swallowed():
    def interrupted(w, g, lr):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check("sgd_step", interrupted)


def test_nan_producing_mistakes_raise_no_warnings():
    off_by_one = EXERCISES["adam_step"].mistakes[1]  # 0/0 at t = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check("adam_step", off_by_one.code)
    assert result.mistake is off_by_one


def test_code_that_only_works_on_arrays_is_told_about_plain_numbers():
    def sgd_step(w, g, lr):
        return w.copy() - lr * g

    result = check("sgd_step", sgd_step)
    assert result.kind == "exception" and "AttributeError" in result.message
    assert "plain numbers" in result.message and "w.copy()" in result.message


# --- the report ---------------------------------------------------------------------------

def test_a_report_shows_the_case_expected_and_got_and_marks_the_wrong_value():
    mistake = EXERCISES["adam_step"].mistakes[0]  # missing bias correction: only w is wrong
    text = str(check("adam_step", mistake.code))
    assert "Inputs:" in text and "Expected:" in text and "Got:" in text
    marked = [line.split("=")[0].strip() for line in text.splitlines() if "← wrong" in line]
    assert marked == ["w"]


def test_the_html_report_escapes_what_the_reader_wrote():
    def sgd_step(w, g, lr):
        raise ValueError("<b>not bold</b>")

    page = check("sgd_step", sgd_step)._repr_html_()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page and "<b>not bold</b>" not in page


def test_a_result_is_truthy_only_when_everything_passed():
    assert bool(check("sgd_step", SOLUTIONS["sgd_step"])) is True
    assert bool(check("sgd_step", raises("sgd_step"))) is False


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_shows_its_task_and_a_starter_that_has_its_signature(name):
    exercise = exercises.show(name)
    assert exercise.signature in str(exercise)
    namespace = {}
    exec(exercise.template, namespace)  # the starter code is valid Python
    assert tuple(namespace[name].__code__.co_varnames[:len(exercise.params)]) == exercise.params
    assert getattr(exercises, f"check_{name}")(exercise.reference)


def test_an_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="sgd_step"):
        check("sgd_stepp", SOLUTIONS["sgd_step"])


def test_inside_a_jupyter_kernel_an_endless_loop_is_stopped_and_the_report_is_html():
    import nbclient
    import nbformat
    cells = ["from optim import exercises",
             "def sgd_step(w, g, lr):\n    while True:\n        pass\n\n"
             "exercises.check('sgd_step', sgd_step)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    [output] = notebook.cells[1].outputs
    assert "did not finish within 1 s" in output["data"]["text/plain"]
    assert "border-left" in output["data"]["text/html"]


def test_an_in_place_change_of_another_input_is_not_named_as_the_catalogued_one():
    def sgd_step(w, g, lr):
        g *= lr  # changes g, not w: the catalogued mistake is "updated w in place"
        return w - g

    result = check("sgd_step", sgd_step)
    assert result.kind == "mutated" and result.mutated == ("g",)
    assert result.mistake is None


def test_every_exercise_module_is_a_chapter_of_the_book():
    """A module in optim/exercises/ that is not in CHAPTERS would never be imported."""
    package = Path(exercises.__file__).parent
    machinery = {"__init__", "core", "report", "sandbox", "cases"}
    modules = {p.stem for p in package.glob("*.py")} - machinery
    assert modules <= set(exercises.CHAPTERS), f"not in CHAPTERS: {modules - set(exercises.CHAPTERS)}"
