"""Exercises that check themselves.

In a chapter, the reader writes a function and checks it::

    def sgd_step(w, g, lr):
        return w - lr * g

    from optim import exercises
    exercises.check("sgd_step", sgd_step)      # or exercises.check_sgd_step(sgd_step)

`exercises.show("sgd_step")` shows the task and starter code; `EXERCISES` maps every
name to its `Exercise`. A chapter adds its own exercises in a module here named as the
chapter (see `sgd.py`); it is found by name from CHAPTERS, in the order of the book.
"""
import importlib
import importlib.util

#: the chapters of the book, in order; `optim/exercises/CHAPTER.py` registers that chapter's exercises
CHAPTERS = ("framework", "sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop",
            "adam", "nadam", "adamw", "lookahead", "radam", "ranger", "lazyadam",
            "after_adam", "lion", "adafactor", "lamb", "muon", "shampoo", "schedulefree", "prodigy",
            "memory",
            "precision",
            "speed",
            "distributed",
            "schedules", "finetuning", "which_optimizer")
for _chapter in CHAPTERS:  # importing a module registers its exercises, so EXERCISES keeps book order
    if importlib.util.find_spec(f"{__name__}.{_chapter}") is not None:
        importlib.import_module(f"{__name__}.{_chapter}")

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

__all__ = ["CHAPTERS", "EXERCISES", "Case", "CheckResult", "Exercise", "Mistake", "check", "register", "show",
           "DEFAULT_TIME_LIMIT", "TimeLimitExceeded"] + [f"check_{name}" for name in EXERCISES]
