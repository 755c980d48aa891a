"""Answers for the exercises of chapter `nesterov`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _nesterov_step(w, g, b, lr, beta):
    # Expanded: g + β(βb + g) = (1 + β)g + β²b, the look-ahead step written without the new buffer.
    step = (1 + beta) * g + beta * beta * b
    return w - lr * step, g + beta * b


def _nesterov_max_lr(lam, beta):
    # The closed form of the chapter: NAG's characteristic polynomial z² − (1+β)(1−αλ)z + β(1−αλ)
    # has a root at −1 when αλ = (2 + 2β)/(1 + 2β).
    return 2 * (1 + np.asarray(beta, dtype=float)) / (1 + 2 * np.asarray(beta, dtype=float)) / np.asarray(lam, dtype=float)


SOLUTIONS = {
    "nesterov_step": _nesterov_step,
    "nesterov_max_lr": _nesterov_max_lr,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # b = 0.5·1 + 2 = 2.5; step = g + βb = 2 + 1.25 = 3.25; w = 1 − 0.1·3.25
    "nesterov_step": [((1.0, 2.0, 1.0, 0.1, 0.5), (0.675, 2.5))],
    # λ = 2, β = 0.5: (2 + 1)/(1 + 1)/2 = 0.75;  λ = 1, β = 0.9: 3.8/2.8 = 19/14
    "nesterov_max_lr": [((2.0, 0.5), (0.75,)), ((1.0, 0.9), (19 / 14,))],
}
