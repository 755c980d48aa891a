"""Answers for the exercises of chapter `nadam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _nadam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m = m + (1 - beta1) * (g - m)                      # the same average, written as a lerp
    v = beta2 * v + (1 - beta2) * g * g
    # the look-ahead, written as the next momentum without its next gradient
    lookahead = beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)
    denominator = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return w - lr * lookahead / denominator, m, v


def _nadam_weights(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    product = np.ones_like(beta1)
    for i in range(1, t + 1):                          # a running product, as torch keeps it
        mu = beta1 * (1 - 0.5 * 0.96 ** (i * momentum_decay))
        product = product * mu
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    return (1 - mu) / (1 - product), mu_next / (1 - product * mu_next)


SOLUTIONS = {
    "nadam_step": _nadam_step,
    "nadam_weights": _nadam_weights,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "nadam_step": [
        # t = 1, β₁ = 0.5, β₂ = 0.75: m = 1, v = 0.25·4 = 1; v̂ = 1/0.25 = 4, √v̂ = 2;
        # m̂ = 0.5·1/(1 − 0.25) + 0.5·2/(1 − 0.5) = 2/3 + 2 = 8/3; w = 1 − 0.1·(8/3)/2 = 13/15
        ((1.0, 2.0, 0.0, 0.0, 1, 0.1, 0.5, 0.75, 0.0), (13 / 15, 1.0, 1.0)),
        # t = 2, β₁ = β₂ = 0.5, ε = 1: m = 0.5 + 0.5 = 1, v = 0.25 + 0.5 = 0.75; v̂ = 0.75/0.75 = 1;
        # m̂ = 0.5/(1 − 0.125) + 0.5/(1 − 0.25) = 4/7 + 2/3 = 26/21; w = 0 − (26/21)/(1 + 1)
        ((0.0, 1.0, 1.0, 0.5, 2, 1.0, 0.5, 0.5, 1.0), (-13 / 21, 1.0, 0.75)),
    ],
    "nadam_weights": [
        # ψ = 0 makes 0.96^0 = 1, so μ_i = β₁/2 = 0.25 for β₁ = 0.5 (a constant μ):
        # t = 1: (1 − 0.25)/(1 − 0.25) = 1; 0.25/(1 − 0.0625) = 4/15
        ((1, 0.5, 0.0), (1.0, 4 / 15)),
        # t = 2: (0.75)/(1 − 0.0625) = 0.8; 0.25/(1 − 0.015625) = 16/63
        ((2, 0.5, 0.0), (0.8, 16 / 63)),
    ],
}
