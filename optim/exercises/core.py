"""The machinery of self-checking exercises, written once for every chapter.

An `Exercise` is a task ("write `sgd_step(w, g, lr)`"), a reference solution
that calls the `optim` package, seeded cases, and a catalogue of `Mistake`s.
A mistake is a small function that solves the exercise *wrongly in one known
way* (a "mutant") plus a hint.

`check(exercise, fn)` runs the reader's `fn` on every case (safely: see
`sandbox`) and compares it with the reference. At the first case that fails
it reports what went wrong; if the reader's function behaves exactly like one
of the mutants on every case, it also names that mistake and gives its hint.
"""

import dataclasses
import inspect
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .report import CheckResult
from .sandbox import DEFAULT_TIME_LIMIT, Outcome, run

RTOL = 1e-7  # agreement with the reference: generous for any order of operations,
ATOL = 1e-10  # ...times the case's largest |value|, strict for every real mistake


@dataclass(frozen=True)
class Mistake:
    """A classic wrong solution: its name, a hint, and the code that makes it."""

    name: str
    hint: str
    code: Callable


@dataclass(frozen=True)
class Case:
    """One call of the exercise: a short label and the arguments, in order."""

    label: str
    args: dict[str, Any]


@dataclass(frozen=True, eq=False)
class Exercise:
    """A function for the reader to write, with everything needed to check it.

    `reference` names the arguments (its signature *is* the exercise's),
    `make_cases(rng)` draws the cases, `returns` names the returned values.
    """

    name: str
    task: str
    reference: Callable
    make_cases: Callable[[np.random.Generator], list[Case]]
    returns: tuple[str, ...] = ("w",)
    mistakes: tuple[Mistake, ...] = ()
    chapter: str = ""

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.reference).parameters)

    @property
    def signature(self) -> str:
        returns = self.returns[0] if len(self.returns) == 1 else f"({', '.join(self.returns)})"
        return f"{self.name}({', '.join(self.params)}) -> {returns}"

    @property
    def template(self) -> str:
        """Starter code to copy into a cell."""
        return (f"def {self.name}({', '.join(self.params)}):\n"
                f"    ...  # your code here\n"
                f"    return {', '.join(self.returns)}\n")

    def cases(self, seed: int = 0) -> list[Case]:
        return self.make_cases(np.random.default_rng(seed))

    def check(self, fn: Callable, **options) -> CheckResult:
        return check(self, fn, **options)

    def __str__(self) -> str:
        chapter = f" (chapter: {self.chapter})" if self.chapter else ""
        return (f"Exercise {self.name}{chapter}\n\n    {self.signature}\n\n{self.task.strip()}\n\n"
                f'Check your function with: exercises.check("{self.name}", {self.name})')

    def _repr_markdown_(self) -> str:
        chapter = f" *(chapter: {self.chapter})*" if self.chapter else ""
        return (f"**Exercise `{self.name}`**{chapter}\n\n```python\n{self.template}```\n\n"
                f"{self.task.strip()}\n\n"
                f'Check your function with `exercises.check("{self.name}", {self.name})`.')


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry that `check` and the tests use."""
    if exercise.name in EXERCISES:
        raise ValueError(f"an exercise named {exercise.name!r} is already registered")
    EXERCISES[exercise.name] = exercise
    return exercise


def show(name: str) -> Exercise:
    """The exercise called `name`; a notebook displays its task and starter code."""
    return _find(name)


def check(exercise: "str | Exercise", fn: Callable, *, seed: int = 0,
          time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check the reader's `fn` against the reference of `exercise` on seeded cases.

    Never raises for anything `fn` does; returns a `CheckResult` that is truthy
    when every case passed and that a notebook shows as a readable report.
    """
    exercise = _find(exercise)
    report = CheckResult(exercise=exercise.name, returns=exercise.returns)
    unusable = _unusable(exercise, fn)
    if unusable:
        return report.failing("signature", unusable)
    cases = exercise.cases(seed)
    report = dataclasses.replace(report, n_cases=len(cases), tested=_tested(cases))
    outcomes, failure = [], None
    for index, case in enumerate(cases):
        expected = _reference_outputs(exercise, case)
        outcome = run(fn, case.args, time_limit)
        outcomes.append(outcome)
        if failure is None:
            kind_and_text = _problem(exercise, expected, outcome, time_limit)
            if kind_and_text:
                failure = (index, case, expected, outcome, *kind_and_text)
        if outcome.timed_out:
            break  # one endless loop is enough waiting
    if failure is None:
        return report.passing()
    index, case, expected, outcome, kind, text = failure
    got = _unpack(outcome.value, len(exercise.returns))
    return report.failing(kind, text, case_index=index, case=case, expected=expected, got=got,
                          wrong=_wrong_names(exercise.returns, expected, got),
                          mutated=outcome.mutated,
                          mistake=diagnose(exercise, cases[:len(outcomes)], outcomes))


def diagnose(exercise: Exercise, cases: list[Case], outcomes: list[Outcome]) -> "Mistake | None":
    """The catalogued mistake that behaves exactly like the reader on every case."""
    if any(outcome.timed_out for outcome in outcomes):
        return None
    for mistake in exercise.mistakes:
        if all(_agree(exercise, outcome, run(mistake.code, case.args))
               for case, outcome in zip(cases, outcomes)):
            return mistake
    return None


# --- what the reader's function did wrong on one case ------------------------------

def _problem(exercise, expected, outcome, time_limit) -> "tuple[str, str] | None":
    """(kind, plain-words message) of the first thing wrong, or None if all is right."""
    if outcome.timed_out:
        return "time limit", (f"Your function did not finish within {time_limit:g} s "
                              "(every case takes microseconds): is there a loop that never ends?")
    if outcome.error is not None:
        error = outcome.error
        where = f" at {outcome.where}" if outcome.where else ""
        text = f"Your function raised `{type(error).__name__}: {error}`{where}."
        if "'float'" in str(error):  # e.g. `w.shape` or `w.copy()` on a plain number
            text += (" This case passes plain numbers (Python floats): the function must work on "
                     "numbers as well as on arrays (`np.asarray(w)` makes an array of either).")
        return "exception", text
    if outcome.value is None:
        return "none", "Your function returned `None`: did you forget `return`?"
    got = _unpack(outcome.value, len(exercise.returns))
    if got is None:
        return "count", _count_message(exercise.returns, outcome.value)
    for name, want, have in zip(exercise.returns, expected, got):
        problem = _form_problem(name, want, have)
        if problem:
            return problem
    scale = _scale(expected)
    for name, want, have in zip(exercise.returns, expected, got):
        have = np.asarray(have)
        if not np.all(np.isfinite(have) | ~np.isfinite(want)):
            return "not finite", f"The `{name}` you returned contains nan or inf where the right answer is finite."
    for name, want, have in zip(exercise.returns, expected, got):
        if not _close(np.asarray(have), want, scale):
            return "wrong value", f"The `{name}` you returned is wrong{_largest_error(np.asarray(have), want)}."
    if outcome.mutated:
        names = ", ".join(f"`{name}`" for name in outcome.mutated)
        x = outcome.mutated[0]
        return "mutated", (f"Your function changed its input {names} in place. Return new arrays "
                           f"and leave the inputs alone: write `{x} = {x} * ...` or `{x} = {x} - ...` "
                           f"rather than `{x} *= ...`, `{x} -= ...` or `{x}[:] = ...` "
                           f"(the caller may still need the old values).")
    return None


def _count_message(returns, value) -> str:
    want = len(returns)
    names = returns[0] if want == 1 else f"({', '.join(returns)})"
    several = isinstance(value, tuple) or (want > 1 and isinstance(value, list))
    n = len(value) if several else 1
    return (f"Your function returned {n} value{'s' if n != 1 else ''}; "
            f"the exercise asks for {want}: `{names}`.")


def _form_problem(name, want, have) -> "tuple[str, str] | None":
    """Wrong type, shape or dtype of one returned value."""
    if have is None:
        return "none", f"The `{name}` you returned is `None`."
    try:
        have = np.asarray(have)
    except Exception:
        have = np.asarray(None)
    if have.dtype.kind not in "biufc":
        return "type", f"The `{name}` you returned is a {type(have).__name__}, not an array of numbers."
    if have.shape != want.shape:
        return "shape", f"The `{name}` you returned has shape {have.shape}; it should have shape {want.shape}."
    if have.dtype != want.dtype:
        return "dtype", (f"The `{name}` you returned has dtype {have.dtype}; it should be {want.dtype} "
                         f"(like the inputs). Did a constant or `np.zeros(...)` fix another dtype?")
    return None


def _largest_error(have, want) -> str:
    error = np.abs(have - want)
    if error.ndim == 0:
        return f" (off by {float(error):.3g})"
    index = np.unravel_index(np.argmax(error), error.shape)
    return f" (largest difference {float(error[index]):.3g}, at index {tuple(int(i) for i in index)})"


# --- comparing values ---------------------------------------------------------------

def _unpack(value, n: int) -> "tuple | None":
    """The returned values as a tuple of n, or None if there are not n of them."""
    if n == 1:
        return None if value is None or isinstance(value, tuple) else (value,)
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    return None


def _wrong_names(names, expected, got) -> tuple[str, ...]:
    """The returned values that differ from the expected ones."""
    if got is None:
        return ()
    scale = _scale(expected)
    return tuple(name for name, want, have in zip(names, expected, got)
                 if _form_problem(name, want, have) or not _close(np.asarray(have), want, scale))


def _scale(values) -> float:
    finite = [np.abs(v[np.isfinite(v)]).max() for v in map(np.asarray, values) if np.isfinite(v).any()]
    return float(max(finite, default=1.0))


def _close(have: np.ndarray, want: np.ndarray, scale: float) -> bool:
    """Equal to within rounding: nan matches nan, inf matches the same inf."""
    if have.shape != want.shape:
        return False
    if have.dtype.kind == "b" or want.dtype.kind == "b":  # bool - bool raises TypeError
        have, want = have.astype(float), want.astype(float)
    with np.errstate(all="ignore"):
        near = np.abs(have - want) <= RTOL * np.abs(want) + ATOL * scale
    near &= np.isfinite(want)  # RTOL · inf is inf: an expected inf is matched only by the same inf
    same = (have == want) | (np.isnan(have) & np.isnan(want))
    return bool(np.all(near | same))


def _agree(exercise, reader: Outcome, mutant: Outcome) -> bool:
    """Did the reader's function behave exactly like the mutant on this case?"""
    if reader.timed_out or mutant.timed_out:
        return False
    if reader.error is not None or mutant.error is not None:
        return type(reader.error) is type(mutant.error)
    n = len(exercise.returns)
    have, want = _unpack(reader.value, n), _unpack(mutant.value, n)
    if have is None or want is None:
        return False
    try:
        have = [np.asarray(v, dtype=float) for v in have]
        want = [np.asarray(v, dtype=float) for v in want]
    except (TypeError, ValueError):
        return False
    scale = _scale(want)
    if not all(_close(h, w, scale) for h, w in zip(have, want)):
        return False
    # A mutant whose mistake *is* a mutation must be matched by the same mutation.
    return not mutant.mutated or set(reader.mutated) == set(mutant.mutated)


def _reference_outputs(exercise, case) -> tuple:
    outcome = run(exercise.reference, case.args, time_limit=60.0)
    if outcome.error is not None or outcome.timed_out:
        raise RuntimeError(f"the reference of {exercise.name} failed on {case}") from outcome.error
    return tuple(np.asarray(v) for v in _unpack(outcome.value, len(exercise.returns)))


# --- small helpers -------------------------------------------------------------------

def _find(exercise) -> Exercise:
    if isinstance(exercise, Exercise):
        return exercise
    if exercise not in EXERCISES:
        raise KeyError(f"no exercise called {exercise!r}; the exercises are: {', '.join(EXERCISES)}")
    return EXERCISES[exercise]


def _unusable(exercise, fn) -> str:
    """Why `fn` cannot even be called like the exercise asks ('' if it can)."""
    if not callable(fn):
        return (f"`check` needs your function itself, e.g. `check(\"{exercise.name}\", {exercise.name})`; "
                f"it got a {type(fn).__name__}.")
    try:
        inspect.signature(fn).bind(*exercise.params)
    except TypeError:
        return (f"Your function takes `{_own_params(fn)}`, but the exercise calls it as "
                f"`{exercise.name}({', '.join(exercise.params)})`.")
    except ValueError:
        pass  # no signature to inspect (some builtins): just call it
    return ""


def _own_params(fn) -> str:
    return f"({', '.join(inspect.signature(fn).parameters)})"


def _tested(cases: list[Case]) -> str:
    counts = Counter(case.label for case in cases)
    return "; ".join(label if n == 1 else f"{label} (×{n})" for label, n in counts.items())


def state_with(state, **fields):
    """A copy of an `optim.State` with some fields replaced (for references)."""
    state = state.copy()
    for name, value in fields.items():
        setattr(state, name, value)
    return state


def one_step(optimizer, w, g, **state_fields):
    """One step of an `optim` optimizer from a chosen state: (new w, new state)."""
    w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
    state = state_with(optimizer.init(w), **state_fields)
    return optimizer.step(w, g, state)
