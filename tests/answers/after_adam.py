"""Answers for the exercises of chapter `after_adam`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _orthogonalize(G):
    # the polar factor through the symmetric square root: O = G (GᵀG)^(-1/2), for full column rank,
    # and the transpose trick for a wide matrix
    G = np.asarray(G, dtype=float)
    if G.shape[0] < G.shape[1]:
        return _orthogonalize(G.T).T
    lam, Q = np.linalg.eigh(G.T @ G)
    kept = lam > 1e-12 * lam.max()          # the pseudo-inverse root: zero directions stay zero
    return G @ (Q[:, kept] / np.sqrt(lam[kept])) @ Q[:, kept].T


SOLUTIONS = {
    "orthogonalize": _orthogonalize,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # a diagonal matrix: U Vᵀ is the diagonal of signs
    "orthogonalize": [((np.diag([2.0, -0.5]),), (np.diag([1.0, -1.0]),)),
                      # a row: its direction, (3, -4)/5
                      ((np.array([[3.0, -4.0]]),), (np.array([[0.6, -0.8]]),)),
                      # rank one, δxᵀ with δ = (1, 1), x = (3, 4): δ̂x̂ᵀ = (1/√2)(1, 1)ᵀ(0.6, 0.8)
                      ((np.outer([1.0, 1.0], [3.0, 4.0]),),
                       (np.outer([1.0, 1.0], [0.6, 0.8]) / np.sqrt(2),))],
}
