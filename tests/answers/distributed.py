"""Answers for the exercises of chapter `distributed`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _accumulated_sgd_step(w, X, y, k, lr):
    w, X, y = (np.asarray(a, dtype=float) for a in (w, X, y))
    b = len(y) // k
    total = np.zeros_like(w)
    for j in range(k):                                  # a loop over micro-batches, sums of per-row terms
        for i in range(j * b, (j + 1) * b):
            total = total + (X[i] @ w - y[i]) * X[i] / (b * k)
    return w - lr * total


SOLUTIONS = {
    "accumulated_sgd_step": _accumulated_sgd_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "accumulated_sgd_step": [
        # rows x = 1 and x = 3, y = 0, w = 1, k = 2: the row gradients are 1·1 = 1 and 3·3 = 9, mean 5;
        # w = 1 − 0.1·5 = 0.5
        ((np.array([1.0]), np.array([[1.0], [3.0]]), np.array([0.0, 0.0]), 2, 0.1), (np.array([0.5]),)),
        # the same rows as one micro-batch (k = 1): the same step
        ((np.array([1.0]), np.array([[1.0], [3.0]]), np.array([0.0, 0.0]), 1, 0.1), (np.array([0.5]),)),
        # two weights, rows (1, 0) and (0, 2), y = (1, 0), w = (0, 1), k = 2: residuals −1 and 2;
        # gradients (−1, 0) and (0, 4), mean (−0.5, 2); w = (0, 1) − 0.1·(−0.5, 2) = (0.05, 0.8)
        ((np.array([0.0, 1.0]), np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0]), 2, 0.1),
         (np.array([0.05, 0.8]),)),
    ],
}
