"""Answers for the exercises of chapter `rmsprop`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _rmsprop_step(w, g, v, lr, beta2, eps):
    v = v + (1 - beta2) * (np.square(g) - v)        # the same average, written as a lerp
    rate = lr / (v**0.5 + eps)                       # the effective learning rate
    return w - rate * g, v


def _centered_rmsprop_step(w, g, v, g_avg, lr, beta2, eps):
    v = v + (1 - beta2) * (np.square(g) - v)
    g_avg = g_avg + (1 - beta2) * (g - g_avg)
    std = (v - np.square(g_avg)) ** 0.5
    return w - lr / (std + eps) * g, v, g_avg


SOLUTIONS = {
    "rmsprop_step": _rmsprop_step,
    "centered_rmsprop_step": _centered_rmsprop_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "rmsprop_step": [
        # first step: V = 0.75·0 + 0.25·2² = 1; w = 1 − 0.1·2/√1 = 0.8
        ((1.0, 2.0, 0.0, 0.1, 0.75, 0.0), (0.8, 1.0)),
        # V = 0.9·4 + 0.1·2² = 4; w = 0 − 0.5·2/√4 = −0.5
        ((0.0, 2.0, 4.0, 0.5, 0.9, 0.0), (-0.5, 4.0)),
        # β₂ = 0 keeps only this gradient: V = 9; w = 1 − 1·(−3)/(3 + 1) = 1.75
        ((1.0, -3.0, 0.0, 1.0, 0.0, 1.0), (1.75, 9.0)),
    ],
    "centered_rmsprop_step": [
        # (w, g, v, g_avg, lr, beta2, eps)
        # V = 0.5·4 = 2, ḡ = 0.5·2 = 1, V − ḡ² = 1; w = 1 − 0.1·2/1 = 0.8
        ((1.0, 2.0, 0.0, 0.0, 0.1, 0.5, 0.0), (0.8, 2.0, 1.0)),
        # V = 3.5 + 0.5 = 4, ḡ = 0.5 − 0.5 = 0, √(4 − 0) = 2; w = 0 − 1·(−1)/2 = 0.5
        ((0.0, -1.0, 7.0, 1.0, 1.0, 0.5, 0.0), (0.5, 4.0, 0.0)),
        # a gradient that never varied: V = 9, ḡ = 3, V − ḡ² = 0, so only ε divides:
        # w = 2 − 0.1·3/(0 + 1) = 1.7
        ((2.0, 3.0, 9.0, 3.0, 0.1, 0.5, 1.0), (1.7, 9.0, 3.0)),
    ],
}
