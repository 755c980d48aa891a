"""Answers for the exercises of chapter `radam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import math

import numpy as np


def _radam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m = m + (1 - beta1) * (g - m)                 # the same averages, written as lerps
    v = v + (1 - beta2) * (g * g - v)
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho <= 5:
        return w - lr * m_hat, m, v
    r = math.sqrt((rho - 4) / (rho_inf - 4) * (rho - 2) / (rho_inf - 2) * rho_inf / rho)
    v_hat_root = (np.sqrt(v) + eps) / math.sqrt(1 - beta2**t)
    return w - (lr * r) * m_hat / v_hat_root, m, v


SOLUTIONS = {
    "radam_step": _radam_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "radam_step": [
        # t = 1, below the switch: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004, m̂ = 0.2/0.1 = 2;
        # a momentum step: w = 1 − 0.1·2 = 0.8
        ((1.0, 2.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 1e-8), (0.8, 0.2, 0.004)),
        # β₂ = 0.75: ρ_∞ = 2/0.25 − 1 = 7; t = 10 with β₁ = β₂ = 0.75, m = v = 1, g = 1:
        # m = v = 1, m̂ = 1/(1 − 0.75¹⁰); ρ₁₀ = 7 − 20·0.75¹⁰/(1 − 0.75¹⁰); ε = 0.
        # √(1 − β₂ᵗ)/√v = √(1 − 0.75¹⁰), so the step is lr·r₁₀/√(1 − 0.75¹⁰):
        ((3.0, 1.0, 1.0, 1.0, 10, 0.5, 0.75, 0.75, 0.0),
         (3.0 - 0.5 * math.sqrt((7 - 20 * 0.75**10 / (1 - 0.75**10) - 4)
                                * (7 - 20 * 0.75**10 / (1 - 0.75**10) - 2) * 7
                                / (3 * 5 * (7 - 20 * 0.75**10 / (1 - 0.75**10))))
          / math.sqrt(1 - 0.75**10), 1.0, 1.0)),
        # β₂ = 0.75, t = 4: ρ₄ = 7 − 8·0.3164/0.6836 ≈ 3.30 ≤ 5, momentum step;
        # β₁ = 0.5, m = 0, g = 4: m = 2, m̂ = 2/(1 − 1/16) = 32/15; v = 0.25·16 = 4
        ((0.0, 4.0, 0.0, 0.0, 4, 0.3, 0.5, 0.75, 0.0), (-0.3 * 32 / 15, 2.0, 4.0)),
    ],
}
