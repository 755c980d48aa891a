"""Answers for the exercises of chapter `schedulefree`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _schedulefree_sgd_step(x, z, t, lr, beta, h, w_star):
    x, z = np.asarray(x, dtype=float), np.asarray(z, dtype=float)
    y = z + beta * (x - z)                      # the same interpolation, written as a lerp
    z = z - lr * h * (y - w_star)
    x = x + (z - x) / t                         # the running mean, one more z
    return x, z


SOLUTIONS = {
    "schedulefree_sgd_step": _schedulefree_sgd_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "schedulefree_sgd_step": [
        # t = 1, x = z = 1, h = 1, w* = 0: y = 1, g = 1, z = 1 − 0.5 = 0.5; c = 1: x = z = 0.5
        ((1.0, 1.0, 1, 0.5, 0.9, 1.0, 0.0), (0.5, 0.5)),
        # t = 2, x = 1, z = 3, β = 0.5: y = 2; h = 2, w* = 1: g = 2; lr = 0.25: z = 2.5;
        # c = 1/2: x = (1 + 2.5)/2 = 1.75
        ((1.0, 3.0, 2, 0.25, 0.5, 2.0, 1.0), (1.75, 2.5)),
        # t = 4, x = 0, z = 4, β = 0.75: y = 0.75·0 + 0.25·4 = 1; h = 1, w* = 0: g = 1;
        # lr = 1: z = 3; c = 1/4: x = 0.75·0 + 0.25·3 = 0.75
        ((0.0, 4.0, 4, 1.0, 0.75, 1.0, 0.0), (0.75, 3.0)),
    ],
}
