"""Answers for the exercises of chapter `muon`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _muon_step(w, g, m, lr, momentum):
    m = m + (1 - momentum) * (g - m)                     # the moving average, as a lerp
    u = g + momentum * (m - g)                           # Nesterov, as torch's grad.lerp(m, μ)
    tall = u.shape[-2] > u.shape[-1]
    X = np.swapaxes(u, -1, -2) if tall else u
    X = X / np.maximum(np.linalg.norm(X, axis=(-2, -1), keepdims=True), 1e-7)
    for _ in range(5):
        XXt = np.einsum("...ij,...kj->...ik", X, X)
        X = 3.4445 * X + np.einsum("...ij,...jk->...ik", -4.7750 * XXt + 2.0315 * XXt @ XXt, X)
    if tall:
        X = np.swapaxes(X, -1, -2)
    rows, cols = w.shape[-2:]
    return w - lr * np.sqrt(max(1.0, rows / cols)) * X, m


SOLUTIONS = {
    "muon_step": _muon_step,
}


def _p5(s):
    """Five steps of σ ← 3.4445σ − 4.7750σ³ + 2.0315σ⁵ on one singular value, in plain arithmetic."""
    for _ in range(5):
        s = 3.4445 * s - 4.7750 * s**3 + 2.0315 * s**5
    return s


# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "muon_step": [
        # diag(3, 4), m = 0, μ = 0.5: m = 0.5·g = diag(1.5, 2); u = 0.5·g + 0.5·m = diag(2.25, 3);
        # ‖u‖_F = 3.75: X₀ = diag(0.6, 0.8), a diagonal matrix's singular values are its entries,
        # each mapped by the quintic alone; square, so lr is not scaled
        ((np.zeros((2, 2)), np.diag([3.0, 4.0]), np.zeros((2, 2)), 0.1, 0.5),
         (-0.1 * np.diag([_p5(0.6), _p5(0.8)]), np.diag([1.5, 2.0]))),
        # a tall 2×1 column (3, 4)ᵀ: X₀ = (0.6, 0.8)ᵀ has one singular value, 1, and p⁵(1) ≈ 0.696
        # (p(1) = 3.4445 − 4.7750 + 2.0315 = 0.701: the quintic does not fix 1); lr·√(2/1)
        ((np.zeros((2, 1)), np.array([[3.0], [4.0]]), np.zeros((2, 1)), 0.1, 0.5),
         (-0.1 * np.sqrt(2) * _p5(1.0) * np.array([[0.6], [0.8]]), np.array([[1.5], [2.0]]))),
    ],
}
