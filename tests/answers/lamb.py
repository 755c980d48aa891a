"""Answers for the exercises of chapter `lamb`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import math

import numpy as np


def _lamb_step(W, G, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m = m + (1 - beta1) * (G - m)                 # the same averages, written as lerps
    v = v + (1 - beta2) * (G * G - v)
    r = m / (np.sqrt(v) + eps) + weight_decay * W
    new = np.empty_like(np.asarray(W, dtype=float))
    for i, (w, u) in enumerate(zip(W, r)):        # one layer at a time
        w_norm, u_norm = min(np.linalg.norm(w), 10.0), np.linalg.norm(u)
        trust = 1.0 if w_norm == 0 or u_norm == 0 else w_norm / (u_norm + eps)
        new[i] = w - (lr * trust / (1 - beta1**t)) * u
    return new, m, v


SOLUTIONS = {
    "lamb_step": _lamb_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "lamb_step": [
        # one layer w = (3, 4), ‖w‖ = 5; g = (1, 1), t = 1, ε = λ = 0: m = (0.1, 0.1), v = (0.001, 0.001),
        # r = m/√v = √10·(1, 1), ‖r‖ = √20; trust = 5/√20; lr/(1 − 0.9) = 1: the step is 5/√20·√10 = 5/√2
        ((np.array([[3.0, 4.0]]), np.array([[1.0, 1.0]]), np.zeros((1, 2)), np.zeros((1, 2)), 1, 0.1, 0.9,
          0.999, 0.0, 0.0),
         (np.array([[3.0 - 5 / math.sqrt(2), 4.0 - 5 / math.sqrt(2)]]), np.array([[0.1, 0.1]]),
          np.array([[0.001, 0.001]]))),
        # a layer of zeros: trust 1. g = (2, −2), β₁ = β₂ = 0.5: m = (1, −1), v = (2, 2), r = (1, −1)/√2
        # (λw = 0); lr/(1 − 0.5) = 0.4
        ((np.zeros((1, 2)), np.array([[2.0, -2.0]]), np.zeros((1, 2)), np.zeros((1, 2)), 1, 0.2, 0.5, 0.5,
          0.0, 0.1),
         (np.array([[-0.4 / math.sqrt(2), 0.4 / math.sqrt(2)]]), np.array([[1.0, -1.0]]), np.array([[2.0, 2.0]]))),
    ],
}
