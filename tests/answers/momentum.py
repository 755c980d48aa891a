"""Answers for the exercises of chapter `momentum`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _momentum_step(w, g, v, lr, beta):
    v = g + beta * v
    return w - v * lr, v


def _max_stable_lr(lam, beta):
    # the characteristic polynomial μ² − (1 + β − αλ)μ + β has its root μ = −1 at αλ = 2 + 2β
    return (2.0 + 2.0 * np.array(beta, dtype=float)) / np.array(lam, dtype=float)


SOLUTIONS = {
    "momentum_step": _momentum_step,
    "max_stable_lr": _max_stable_lr,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # v = 0.5·1 + 2 = 2.5, w = 1 − 0.1·2.5
    "momentum_step": [((1.0, 2.0, 1.0, 0.1, 0.5), (0.75, 2.5)),
                      # first step, v = 0: v = g = −4, w = 3 − 0.5·(−4)
                      ((3.0, -4.0, 0.0, 0.5, 0.9), (5.0, -4.0))],
    # 2(1 + 0.9)/10 = 0.38; 2(1 + 0.5)/3 = 1; β = 0: gradient descent's 2/λ
    "max_stable_lr": [((10.0, 0.9), (0.38,)), ((3.0, 0.5), (1.0,)), ((4.0, 0.0), (0.5,))],
}
