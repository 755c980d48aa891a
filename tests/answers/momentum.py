"""Answers for the exercises of chapter `momentum`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _momentum_step(w, g, v, lr, beta):
    v = g + beta * v
    return w - v * lr, v


SOLUTIONS = {
    "momentum_step": _momentum_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # v = 0.5·1 + 2 = 2.5, w = 1 − 0.1·2.5
    "momentum_step": [((1.0, 2.0, 1.0, 0.1, 0.5), (0.75, 2.5))],
}
