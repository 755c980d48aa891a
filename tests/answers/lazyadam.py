"""Answers for the exercises of chapter `lazyadam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _lazyadam_step(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    rows, where = np.unique(indices, return_inverse=True)
    g = np.zeros((len(rows), w.shape[1]))
    for i, r in enumerate(where.ravel()):          # sum the gradients of repeated rows
        g[r] += values[i]
    w, m, v = w.copy(), m.copy(), v.copy()
    m[rows] = m[rows] + (1 - beta1) * (g - m[rows])
    v[rows] = v[rows] + (1 - beta2) * (g * g - v[rows])
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    w[rows] -= lr_t * m[rows] / (np.sqrt(v[rows]) + eps)
    return w, m, v


def _lazyadam_run(w, indices, values, lr, beta1, beta2, eps):
    w = np.array(w, dtype=float)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, len(indices) + 1):
        w, m, v = _lazyadam_step(w, m, v, t, indices[t - 1], values[t - 1], lr, beta1, beta2, eps)
    return w, m, v


SOLUTIONS = {
    "lazyadam_step": _lazyadam_step,
    "lazyadam_run": _lazyadam_run,
}

_W = np.array([[1.0], [1.0]])
_Z = np.zeros((2, 1))

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "lazyadam_step": [
        # t = 1, row 0 twice with gradient 1: g = 2, m = 0.2, v = 0.004, α_1 = 0.1·√0.001/0.1;
        # step = α_1·0.2/√0.004 = 0.1·√0.001·2/(2·√0.001) = 0.1; row 1 untouched
        ((_W, _Z, _Z, 1, np.array([0, 0]), np.array([[1.0], [1.0]]), 0.1, 0.9, 0.999, 0.0),
         (np.array([[0.9], [1.0]]), np.array([[0.2], [0.0]]), np.array([[0.004], [0.0]]))),
        # β₁ = β₂ = 0, t = 3: m = g = 3, v = 9, α_t = lr = 1; w = 2 − 3/(3 + 1) = 1.25;
        # row 1 keeps its m = 5 and v = 7
        ((np.array([[2.0], [0.0]]), np.array([[0.0], [5.0]]), np.array([[0.0], [7.0]]), 3,
          np.array([0]), np.array([[3.0]]), 1.0, 0.0, 0.0, 1.0),
         (np.array([[1.25], [0.0]]), np.array([[3.0], [5.0]]), np.array([[9.0], [7.0]]))),
    ],
    "lazyadam_run": [
        # step 1 moves row 0 by 0.1 (as above, g = 2); step 2 moves row 1, first seen, with
        # t = 2: m = 0.2, v = 0.004, α_2 = 0.1·√(1 − 0.999²)/(1 − 0.9²) = 0.1·√0.001999/0.19,
        # step = α_2·0.2/√0.004 = 0.1·√0.001999/0.19·0.1/√0.001
        ((_W, np.array([[0], [1]]), np.array([[[2.0]], [[2.0]]]), 0.1, 0.9, 0.999, 0.0),
         (np.array([[0.9], [1 - 0.1 * 0.001999**0.5 / 0.19 * 0.1 / 0.001**0.5]]),
          np.array([[0.2], [0.2]]), np.array([[0.004], [0.004]]))),
    ],
}
