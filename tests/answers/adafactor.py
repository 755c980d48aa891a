"""Answers for the exercises of chapter `adafactor`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _adafactor_second_moment(g, R, C, beta2):
    n, m = g.shape
    row = np.array([[sum(g[i, j] ** 2 for j in range(m)) / m] for i in range(n)])
    col = np.array([[sum(g[i, j] ** 2 for i in range(n)) / n for j in range(m)]])
    R = R + (1 - beta2) * (row - R)                    # written as a lerp
    C = C + (1 - beta2) * (col - C)
    # the paper's form: sums, and 1ᵀR — the same V̂
    V = np.outer(R[:, 0] * m, C[0] * n) / (R.sum() * m)
    return R, C, V


SOLUTIONS = {
    "adafactor_second_moment": _adafactor_second_moment,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adafactor_second_moment": [
        # g = [[1, 2], [3, 4]], first step (β₂ = 0, R = C = 0): g² = [[1, 4], [9, 16]];
        # row means R = [[2.5], [12.5]], column means C = [[5, 10]], mean(R) = 7.5;
        # V̂ = R C / 7.5 = [[2.5·5, 2.5·10], [12.5·5, 12.5·10]] / 7.5 = [[5/3, 10/3], [25/3, 50/3]]
        ((np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 1)), np.zeros((1, 2)), 0.0),
         (np.array([[2.5], [12.5]]), np.array([[5.0, 10.0]]),
          np.array([[5 / 3, 10 / 3], [25 / 3, 50 / 3]]))),
        # g = [[2, 0]] (one row), R = [[1]], C = [[1, 1]], β₂ = 0.5: g² = [[4, 0]];
        # R = 0.5 + 0.5·2 = 1.5; C = [[0.5 + 0.5·4, 0.5 + 0]] = [[2.5, 0.5]]; V̂ = R C / R = C
        ((np.array([[2.0, 0.0]]), np.array([[1.0]]), np.array([[1.0, 1.0]]), 0.5),
         (np.array([[1.5]]), np.array([[2.5, 0.5]]), np.array([[2.5, 0.5]]))),
    ],
}
