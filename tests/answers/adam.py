"""Answers for the exercises of chapter `adam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.square(g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


SOLUTIONS = {
    "adam_step": _adam_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adam_step": [
        # t = 1: m = 0.2, v = 0.004; m̂ = 2, v̂ = 4; w = 1 − 0.1·2/2
        ((1.0, 2.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 0.0), (0.9, 0.2, 0.004)),
        # t = 2: m = 0.38, v = 0.007996; m̂ = 0.38/0.19 = 2, v̂ = 0.007996/0.001999 = 4
        ((1.0, 2.0, 0.2, 0.004, 2, 0.1, 0.9, 0.999, 0.0), (0.9, 0.38, 0.007996)),
    ],
}
