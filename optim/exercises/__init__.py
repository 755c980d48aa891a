"""Exercises that check themselves.

In a chapter, the reader writes a function and checks it::

    def sgd_step(w, g, lr):
        return w - lr * g

    from optim import exercises
    exercises.check("sgd_step", sgd_step)      # or exercises.check_sgd_step(sgd_step)

`exercises.show("sgd_step")` shows the task and starter code; `EXERCISES` maps every
name to its `Exercise`. A chapter adds its own exercises in a module here (see
`sgd.py`) and one import below.
"""

# Each module registers its exercises; imported in the order of the book, which `EXERCISES` keeps.
from . import framework, sgd, momentum, adam  # noqa: I001
from .core import EXERCISES, Case, Exercise, Mistake, check, register, show
from .report import CheckResult
from .sandbox import DEFAULT_TIME_LIMIT, TimeLimitExceeded


def _checker(name: str):
    def check_exercise(fn, **options) -> CheckResult:
        return check(name, fn, **options)

    check_exercise.__name__ = check_exercise.__qualname__ = f"check_{name}"
    check_exercise.__doc__ = f"Check your `{EXERCISES[name].signature}`; see `show({name!r})`."
    return check_exercise


# check_sgd_step, check_adam_step, ...: one per exercise, for tab completion
globals().update({f"check_{name}": _checker(name) for name in EXERCISES})

__all__ = ["EXERCISES", "Case", "CheckResult", "Exercise", "Mistake", "check", "register", "show",
           "DEFAULT_TIME_LIMIT", "TimeLimitExceeded"] + [f"check_{name}" for name in EXERCISES]
