"""Answers for the exercises of chapter `schedules`: an independent correct solution per
exercise, written the way a reader might, and numbers worked out by hand
(see tests/test_exercises.py)."""
import math

import numpy as np  # noqa: F401


def _schedules_warmup_cosine(lr, t, warmup, total):
    if t <= warmup:
        return lr * t / warmup
    progress = (t - warmup - 1) / max(total - warmup - 1, 1)
    progress = min(progress, 1.0)
    return lr * ((1.0 + math.cos(progress * math.pi)) / 2)


def _schedules_warmup_linear(lr, t, warmup, total):
    if t > total:
        return 0.0 * lr
    if t > warmup:
        return (total - t) * lr / (total - warmup)
    return lr * t / warmup


SOLUTIONS = {
    "schedules_warmup_cosine": _schedules_warmup_cosine,
    "schedules_warmup_linear": _schedules_warmup_linear,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "schedules_warmup_cosine": [
        ((2.0, 1, 4, 20), (2 * 0.25,)),            # 1/4
        ((2.0, 4, 4, 20), (2 * 1.0,)),             # end of the warm-up
        ((2.0, 5, 4, 20), (2 * 1.0,)),             # s = 1: cos 0
        # s = 9 of 16 decay steps: ½(1 + cos(π·8/15))
        ((2.0, 13, 4, 20), (2 * 0.5 * (1 + math.cos(math.pi * 8 / 15)),)),
        ((2.0, 20, 4, 20), (2 * 0.0,)),
        ((2.0, 25, 4, 20), (2 * 0.0,)),
    ],
    "schedules_warmup_linear": [
        ((2.0, 1, 10, 100), (2 * 0.1,)),
        ((2.0, 10, 10, 100), (2 * 1.0,)),
        ((2.0, 55, 10, 100), (2 * 0.5,)),          # (100 − 55)/90
        ((2.0, 100, 10, 100), (2 * 0.0,)),
        ((2.0, 150, 10, 100), (2 * 0.0,)),
    ],
}
