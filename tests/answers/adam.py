"""Answers for the exercises of chapter `adam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.square(g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _amsgrad_step(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m = m + (1 - beta1) * (g - m)                 # the same average, written as a lerp
    v = v + (1 - beta2) * (g * g - v)
    v_max = np.where(v > v_max, v, v_max)
    denominator = np.sqrt(v_max) / np.sqrt(1 - beta2**t) + eps
    return w - (lr / (1 - beta1**t)) * m / denominator, m, v, v_max


SOLUTIONS = {
    "adam_step": _adam_step,
    "amsgrad_step": _amsgrad_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adam_step": [
        # t = 1: m = 0.2, v = 0.004; m̂ = 2, v̂ = 4; w = 1 − 0.1·2/2
        ((1.0, 2.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 0.0), (0.9, 0.2, 0.004)),
        # t = 2: m = 0.38, v = 0.007996; m̂ = 0.38/0.19 = 2, v̂ = 0.007996/0.001999 = 4
        ((1.0, 2.0, 0.2, 0.004, 2, 0.1, 0.9, 0.999, 0.0), (0.9, 0.38, 0.007996)),
        # ε counts: t = 1, β₁ = β₂ = 0: m = g = 3, v = 9; m̂ = 3, v̂ = 9; w = 2 − 1·3/(√9 + 1) = 1.25
        ((2.0, 3.0, 5.0, 7.0, 1, 1.0, 0.0, 0.0, 1.0), (1.25, 3.0, 9.0)),
    ],
    "amsgrad_step": [
        # t = 1, β₁ = 0.5, β₂ = 0.75: m = 0.5·4 = 2, v = 0.25·16 = 4, v_max = max(2, 4) = 4;
        # m̂ = 2/0.5 = 4, v̂_max = 4/0.25 = 16; w = 1 − 0.1·4/4
        ((1.0, 4.0, 0.0, 0.0, 2.0, 1, 0.1, 0.5, 0.75, 0.0), (0.9, 2.0, 4.0, 4.0)),
        # t = 2, β₁ = β₂ = 0.5: m = 0.5 + 0.5 = 1, v = 0.5 + 0.5 = 1, v_max = max(3, 1) = 3;
        # m̂ = 1/0.75 = 4/3, v̂_max = 3/0.75 = 4; w = 1 − 0.3·(4/3)/2 = 0.8
        ((1.0, 1.0, 1.0, 1.0, 3.0, 2, 0.3, 0.5, 0.5, 0.0), (0.8, 1.0, 1.0, 3.0)),
        # ε counts: t = 1, β₁ = β₂ = 0: m = g = 3, v = 9, v_max = max(1, 9) = 9;
        # m̂ = 3, v̂_max = 9; w = 2 − 1·3/(3 + 1) = 1.25
        ((2.0, 3.0, 5.0, 7.0, 1.0, 1, 1.0, 0.0, 0.0, 1.0), (1.25, 3.0, 9.0, 9.0)),
    ],
}
