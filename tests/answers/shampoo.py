"""Answers for the exercises of chapter `shampoo`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _fourth_root_inverse(a):
    u, s, vt = np.linalg.svd(a)          # a symmetric positive definite matrix: its SVD is its eigendecomposition
    return u @ np.diag(1 / np.sqrt(np.sqrt(s))) @ vt


def _shampoo_step(w, g, L, R, lr, eps):
    L = L + np.einsum("ik,jk->ij", g, g)
    R = R + np.einsum("ki,kj->ij", g, g)
    left = _fourth_root_inverse(L + eps * np.eye(L.shape[0]))
    right = _fourth_root_inverse(R + eps * np.eye(R.shape[0]))
    return w - lr * (left @ (g @ right)), L, R


SOLUTIONS = {
    "shampoo_step": _shampoo_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "shampoo_step": [
        # 1×1: L = R = 2² = 4, 4^(−1/4) · 2 · 4^(−1/4) = 2/2 = 1: w = 1 − 0.1 = 0.9
        ((np.array([[1.0]]), np.array([[2.0]]), np.zeros((1, 1)), np.zeros((1, 1)), 0.1, 0.0),
         (np.array([[0.9]]), np.array([[4.0]]), np.array([[4.0]]))),
        # L = 15 + 1 = 16, 16^(−1/4) = 1/2; R = 0 + 1 = 1: step 1/2, w = 0 − 1·0.5
        ((np.array([[0.0]]), np.array([[1.0]]), np.array([[15.0]]), np.zeros((1, 1)), 1.0, 0.0),
         (np.array([[-0.5]]), np.array([[16.0]]), np.array([[1.0]]))),
        # G = diag(2, 1): L = R = diag(4, 1), step = diag(4^(−1/4)·2·4^(−1/4), 1) = I: w = −0.5 I
        ((np.zeros((2, 2)), np.diag([2.0, 1.0]), np.zeros((2, 2)), np.zeros((2, 2)), 0.5, 0.0),
         (-0.5 * np.eye(2), np.diag([4.0, 1.0]), np.diag([4.0, 1.0]))),
        # a 1×2 weight, G = [2, 0]: L = 12 + 4 = 16 (a number), R = diag(12, 1) + diag(4, 0) = diag(16, 1);
        # step = 16^(−1/4) · [2, 0] · diag(16^(−1/4), 1) = ½ · [1, 0]: w = −[0.5, 0]
        ((np.zeros((1, 2)), np.array([[2.0, 0.0]]), np.array([[12.0]]), np.diag([12.0, 1.0]), 1.0, 0.0),
         (np.array([[-0.5, 0.0]]), np.array([[16.0]]), np.diag([16.0, 1.0]))),
    ],
}
