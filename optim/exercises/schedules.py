"""Exercises of the chapter *Schedules*: the warm-up + cosine factor and the warm-up + linear
decay factor (Hugging Face's formula, steps counted from 1)."""

import math

import numpy as np

import optim

from .core import Case, Exercise, Mistake, register

CHAPTER = "Schedules"
# (warmup, total) pairs; warm-ups of 1 and of more than half the run included
SHAPES = ((10, 100), (4, 20), (100, 1000), (7, 30), (1, 12), (25, 40))


def _cases(rng):
    cases = []
    for warmup, total in SHAPES:
        t_mid = int(rng.integers(warmup + 1, total))
        for label, t in (("first step", 1), ("end of the warm-up", warmup),
                         ("first step after the warm-up", warmup + 1),
                         ("during the decay", t_mid), ("last step", total),
                         ("after the end", total + int(rng.integers(1, total)))):
            lr = np.exp(rng.uniform(np.log(1e-4), np.log(1.0), size=int(rng.integers(1, 4))))
            cases.append(Case(f"{label}: t = {t}, warmup = {warmup}, total = {total}",
                              {"lr": lr, "t": t, "warmup": warmup, "total": total}))
    return cases


def _scaled(factor):
    """A mutant of the scheduled rate from a mutant of the factor."""
    def scheduled(lr, t, warmup, total):
        return lr * factor(t, warmup, total)
    return scheduled


# --- schedules_warmup_cosine -------------------------------------------------------------

def schedules_warmup_cosine(lr, t, warmup, total):
    return lr * optim.schedules.warmup_cosine(warmup, total)(t)


def _cosine(s, length):
    """Half a cosine from 1 at s = 1 to 0 at s = length, held at 0 after."""
    return 0.5 * (1 + math.cos(math.pi * min(s - 1, length - 1) / max(length - 1, 1)))


def _cos_full_rate_first_factor(t, warmup, total):
    return 1.0 if t <= warmup else _cosine(t - warmup, total - warmup)


def _cos_from_zero_factor(t, warmup, total):
    if t <= warmup:
        return (t - 1) / warmup
    return _cosine(t - warmup, total - warmup)


def _cos_over_total_factor(t, warmup, total):
    return t / warmup if t <= warmup else _cosine(t - warmup, total)


def _cos_not_held_factor(t, warmup, total):
    if t <= warmup:
        return t / warmup
    length = total - warmup
    return 0.5 * (1 + math.cos(math.pi * (t - warmup - 1) / max(length - 1, 1)))


register(Exercise(
    name="schedules_warmup_cosine", chapter=CHAPTER, reference=schedules_warmup_cosine,
    make_cases=_cases, returns=("factor",),
    task="""
The learning-rate factor of a linear warm-up followed by a half cosine, at step t = 1, 2, ...
(the step about to be taken). During the warm-up (t <= warmup) the factor is t / warmup, so it
reaches 1 at t = warmup. Then the decay runs over the remaining total − warmup steps: with
s = t − warmup, the factor is ½(1 + cos(π (s − 1) / (total − warmup − 1))), from 1 at
t = warmup + 1 down to 0 at t = total, and it stays 0 after the end. `lr` is an array of base
learning rates (one per run); return the learning rates of step t: lr times the factor.
""",
    mistakes=(
        Mistake("warm-up starting at the full rate",
                "During the warm-up the factor climbs from 1/warmup at t = 1 to 1 at t = warmup: "
                "t / warmup, not 1.", _scaled(_cos_full_rate_first_factor)),
        Mistake("warm-up off by one (t counted from 0)",
                "Steps are numbered from t = 1: the first factor is 1/warmup, not 0, and the "
                "warm-up reaches 1 at t = warmup. Use t / warmup, not (t − 1) / warmup.",
                _scaled(_cos_from_zero_factor)),
        Mistake("cosine decay over total steps instead of total − warmup",
                "The decay starts after the warm-up, so it lasts total − warmup steps; over "
                "`total` steps it has not reached 0 at t = total.", _scaled(_cos_over_total_factor)),
        Mistake("factor rises again after the end",
                "After t = total the factor stays at 0: clip the decay's progress at its end "
                "(min(s − 1, total − warmup − 1)) before taking the cosine.", _scaled(_cos_not_held_factor)),
    ),
))


# --- schedules_warmup_linear (Hugging Face's formula) ---------------------------------------

def schedules_warmup_linear(lr, t, warmup, total):
    return lr * optim.schedules.warmup_linear(warmup, total)(t)


def _lin_full_rate_first_factor(t, warmup, total):
    return 1.0 if t <= warmup else max(0.0, (total - t) / (total - warmup))


def _lin_from_zero_factor(t, warmup, total):
    if t <= warmup:
        return (t - 1) / warmup
    return max(0.0, (total - t) / (total - warmup))


def _lin_over_total_factor(t, warmup, total):
    return t / warmup if t <= warmup else max(0.0, (total - t) / total)


def _lin_negative_factor(t, warmup, total):
    return t / warmup if t <= warmup else (total - t) / (total - warmup)


register(Exercise(
    name="schedules_warmup_linear", chapter=CHAPTER, reference=schedules_warmup_linear,
    make_cases=_cases, returns=("factor",),
    task="""
The learning-rate factor of a linear warm-up and a linear decay at step t = 1, 2, ... (the
formula of Hugging Face's get_linear_schedule_with_warmup, with steps counted from 1): a linear
warm-up, t / warmup for t <= warmup, then a linear decay (total − t) / (total − warmup), which
reaches 0 at t = total and stays 0 after the end. `lr` is an array of base learning rates (one per run); return the
learning rates of step t: lr times the factor.
""",
    mistakes=(
        Mistake("warm-up starting at the full rate",
                "During the warm-up the factor climbs from 1/warmup at t = 1 to 1 at t = warmup: "
                "t / warmup, not 1.", _scaled(_lin_full_rate_first_factor)),
        Mistake("warm-up off by one (t counted from 0)",
                "Steps are numbered from t = 1 here: the first factor is 1/warmup, not 0. Use "
                "t / warmup, not (t − 1) / warmup. (Counting from 0 is what torch's LambdaLR does "
                "with Hugging Face's schedule, and what BERT's own code does: there the first "
                "step has rate 0. This exercise asks for the count from 1.)",
                _scaled(_lin_from_zero_factor)),
        Mistake("linear decay over total steps instead of total − warmup",
                "The decay starts at 1 right after the warm-up and reaches 0 at t = total: divide "
                "by total − warmup, not by total.", _scaled(_lin_over_total_factor)),
        Mistake("negative factor after the end",
                "After t = total, (total − t) is negative: a negative learning rate climbs the "
                "loss. Clip the factor at 0: max(0.0, ...).", _scaled(_lin_negative_factor)),
    ),
))
