"""Answers for the exercises of chapter `lion`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _lion_step(w, g, m, lr, beta1, beta2, weight_decay):
    c = m + (1 - beta1) * (g - m)                   # the interpolation, written as a lerp
    direction = np.where(c > 0, 1.0, np.where(c < 0, -1.0, 0.0))
    w = w - lr * weight_decay * w - lr * direction
    m = m + (1 - beta2) * (g - m)
    return w, m


SOLUTIONS = {
    "lion_step": _lion_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "lion_step": [
        # m = 0: c = 0.1·2 > 0, w = 1 − 0.1 = 0.9; m = 0.01·2 = 0.02
        ((1.0, 2.0, 0.0, 0.1, 0.9, 0.99, 0.0), (0.9, 0.02)),
        # decay 2·(1 − 0.1·0.5) = 1.9; c = 0.9·1 + 0.1·(−1) = 0.8 > 0: w = 1.9 − 0.1 = 1.8;
        # m = 0.99·1 + 0.01·(−1) = 0.98 (the memory outvotes the gradient)
        ((2.0, -1.0, 1.0, 0.1, 0.9, 0.99, 0.5), (1.8, 0.98)),
        # β₁ = 0.5, m = −g: c = 0, sign(0) = 0, no step; m = 0.9·(−1) + 0.1·1 = −0.8
        ((1.0, 1.0, -1.0, 0.1, 0.5, 0.9, 0.0), (1.0, -0.8)),
    ],
}
