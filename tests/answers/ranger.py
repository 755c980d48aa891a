"""Answers for the exercises of chapter `ranger`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import math

import numpy as np


def _centralize(g, conv_only):
    g = np.array(g, dtype=float)                  # a copy
    if g.ndim < (4 if conv_only else 2):
        return g
    flat = g.reshape(g.shape[0], -1)              # one row per output unit
    return (flat - flat.sum(axis=1, keepdims=True) / flat.shape[1]).reshape(g.shape)


def _ranger_step(w, g, slow, m, v, t, lr, beta1, beta2, eps, k, alpha):
    g = _centralize(g, False)
    m = m + (1 - beta1) * (g - m)
    v = v + (1 - beta2) * (g * g - v)
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho > 5:
        r = math.sqrt((rho - 4) / (rho_inf - 4) * (rho - 2) / (rho_inf - 2) * rho_inf / rho)
        w = w - (lr * r) * m_hat / ((np.sqrt(v) + eps) / math.sqrt(1 - beta2**t))
    else:
        w = w - lr * m_hat
    if t % k == 0:
        slow = (1 - alpha) * slow + alpha * w
        w = slow.copy()
    return np.asarray(w, dtype=float), np.asarray(slow, dtype=float), m, v


SOLUTIONS = {
    "centralize": _centralize,
    "ranger_step": _ranger_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "centralize": [
        # row means 2 and 6
        ((np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]]), False), (np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0]]),)),
        # a bias is left alone
        ((np.array([1.0, 2.0]), False), (np.array([1.0, 2.0]),)),
        # a column matrix (one input): every row is its own mean, so the gradient vanishes
        ((np.array([[3.0], [-1.0]]), False), (np.array([[0.0], [0.0]]),)),
        # a 1 × 2 × 2 kernel: one mean, (1 + 2 + 3 + 6)/4 = 3
        ((np.array([[[1.0, 2.0], [3.0, 6.0]]]), False), (np.array([[[-2.0, -1.0], [0.0, 3.0]]]),)),
        # the same 3-D tensor with conv_only: not a kernel (fewer than four axes), left alone
        ((np.array([[[1.0, 2.0], [3.0, 6.0]]]), True), (np.array([[[1.0, 2.0], [3.0, 6.0]]]),)),
    ],
    "ranger_step": [
        # 1 × 2 matrix, g = [1, 3] → centred [−1, 1]; t = 1, β₁ = 0.9: m = [−0.1, 0.1],
        # v = 0.001·[1, 1], m̂ = [−1, 1]; momentum step with lr = 0.1: w = [1.1, 2.9];
        # k = 1, α = 0.5, slow = [1, 3]: slow = [1.05, 2.95], w = slow
        ((np.array([[1.0, 3.0]]), np.array([[1.0, 3.0]]), np.array([[1.0, 3.0]]),
          np.zeros((1, 2)), np.zeros((1, 2)), 1, 0.1, 0.9, 0.999, 1e-5, 1, 0.5),
         (np.array([[1.05, 2.95]]), np.array([[1.05, 2.95]]), np.array([[-0.1, 0.1]]),
          np.array([[0.001, 0.001]]))),
        # a bias (not centred), t = 2, k = 6 (no sync): g = 2, m = 0, β₁ = 0.5: m = 1,
        # m̂ = 1/(1 − 0.25) = 4/3; w = 0 − 0.3·4/3 = −0.4; v = 0.001·4 = 0.004; slow stays 5
        ((np.array([0.0]), np.array([2.0]), np.array([5.0]), np.array([0.0]), np.array([0.0]),
          2, 0.3, 0.5, 0.999, 1e-5, 6, 0.5),
         (np.array([-0.4]), np.array([5.0]), np.array([1.0]), np.array([0.004]))),
    ],
}
