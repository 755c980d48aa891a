"""Answers for the exercises of chapter `prodigy`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _prodigy_d(w, g, w0, s, r, d, lr, beta3):
    weight = lr * d * d
    g = np.asarray(g, dtype=float)
    r = beta3 * r + weight * float(np.dot(np.ravel(g), np.ravel(np.asarray(w0) - np.asarray(w))))
    s = beta3 * np.asarray(s, dtype=float) + weight * g
    l1 = float(np.abs(s).sum())
    estimate = r / l1 if l1 > 0 else -np.inf
    return (estimate if estimate > d else d), r, s


SOLUTIONS = {
    "prodigy_d": _prodigy_d,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "prodigy_d": [
        # λ = 0.1²·1 = 0.01; ⟨g, w0 − w⟩ = ⟨(1, 1), (−1, 0)⟩ = −1: r = −0.01; s = (0.01, 0.01);
        # r/‖s‖₁ = −0.5 < d: d stays 0.1
        ((np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.zeros(2), np.zeros(2), 0.0, 0.1, 1.0, 0.5),
         (0.1, -0.01, np.array([0.01, 0.01]))),
        # λ = 0.01; ⟨(−2, 0), (−1, 0)⟩ = 2: r = 0.5·0.02 + 0.02 = 0.03; s = 0.5·(0.01, 0) + 0.01·(−2, 0)
        # = (−0.015, 0); r/‖s‖₁ = 0.03/0.015 = 2 > 0.1: d = 2
        ((np.array([1.0, 0.0]), np.array([-2.0, 0.0]), np.zeros(2), np.array([0.01, 0.0]), 0.02, 0.1, 1.0, 0.5),
         (2.0, 0.03, np.array([-0.015, 0.0]))),
        # one weight: λ = 0.01; g·(w0 − w) = 0.75·(−0.75) = −0.5625: r = −0.005625; s = 0.0075; d stays 0.1
        ((0.5, 0.75, -0.25, 0.0, 0.0, 0.1, 1.0, 0.9), (0.1, -0.005625, 0.0075)),
    ],
}
