"""Answers for the exercises of chapter `adagrad`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _adagrad_step(w, g, v, lr, eps):
    v = v + np.square(g)
    scale = lr / (v**0.5 + eps)      # the effective learning rate, one per coordinate
    return w - scale * g, v


SOLUTIONS = {
    "adagrad_step": _adagrad_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adagrad_step": [
        # first step: V = 0 + 2² = 4; w = 1 − 0.1·2/√4 = 1 − 0.1
        ((1.0, 2.0, 0.0, 0.1, 0.0), (0.9, 4.0)),
        # V = 16 + 3² = 25; w = 1 − 0.5·3/5 = 0.7
        ((1.0, 3.0, 16.0, 0.5, 0.0), (0.7, 25.0)),
        # a negative gradient: V = 0 + 1 = 1; w = −1 − 1·(−1)/(1 + 1) = −0.5
        ((-1.0, -1.0, 0.0, 1.0, 1.0), (-0.5, 1.0)),
    ],
}
