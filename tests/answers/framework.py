"""Answers for the exercises of chapter `framework`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _framework_step(w, g, m, V, alpha, beta1, beta2, eps):
    m = m + (1 - beta1) * (g - m)
    V = beta2 * V + (1 - beta2) * g * g
    return w - alpha * m / (V**0.5 + eps), m, V


SOLUTIONS = {
    "framework_step": _framework_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # m = 0.5·2 = 1, V = 0.25·4 = 1, w = 1 − 0.1·1/1
    "framework_step": [((1.0, 2.0, 0.0, 0.0, 0.1, 0.5, 0.75, 0.0), (0.9, 1.0, 1.0))],
}
