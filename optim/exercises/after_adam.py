"""Exercises of the chapter *After Adam: a map of 2020–2026*: the orthogonalised gradient U Vᵀ."""

import numpy as np

from .core import Case, Exercise, Mistake, register

CHAPTER = "After Adam: a map of 2020–2026"


def orthogonalize(G):
    U, s, Vt = np.linalg.svd(np.asarray(G, dtype=float), full_matrices=False)
    r = int(np.sum(s > max(np.shape(G)) * np.finfo(float).eps * s.max()))   # the rank, as matrix_rank
    return U[:, :r] @ Vt[:r]


def _matrix(rng, rows, cols, kappa=10.0):
    """A gradient matrix with singular values spread over a condition number kappa (two decimals)."""
    U = np.linalg.qr(rng.normal(size=(rows, rows)))[0][:, :min(rows, cols)]
    V = np.linalg.qr(rng.normal(size=(cols, cols)))[0][:, :min(rows, cols)]
    s = np.logspace(0, -np.log10(kappa), min(rows, cols))
    return np.round(U @ np.diag(s) @ V.T, 2) + 0.0


def _cases(rng):
    return [
        Case("a wide 3 × 5 matrix", {"G": _matrix(rng, 3, 5)}),
        Case("a tall 6 × 2 matrix", {"G": _matrix(rng, 6, 2)}),
        Case("a square 4 × 4 matrix", {"G": _matrix(rng, 4, 4)}),
        Case("an ill-conditioned square matrix", {"G": _matrix(rng, 3, 3, kappa=1000.0)}),
        Case("a tall 5 × 3 matrix with κ = 100", {"G": _matrix(rng, 5, 3, kappa=100.0)}),
        Case("a wide 2 × 7 matrix", {"G": _matrix(rng, 2, 7)}),
        Case("a diagonal matrix with a negative entry", {"G": np.diag([2.0, -0.5, 0.25])}),
        Case("a 1 × 4 row", {"G": np.array([[3.0, -4.0, 0.0, 12.0]])}),
        Case("a rank-one 3 × 4 matrix δxᵀ", {"G": np.outer([1.0, 2.0, -1.0], [2.0, 0.5, 1.0, -1.0])}),
    ]


def _kept_sigma(G):
    return np.asarray(G, dtype=float)


def _frobenius_only(G):
    G = np.asarray(G, dtype=float)
    return G / np.linalg.norm(G)


def _sign(G):
    return np.sign(G)


def _spectral_norm_only(G):
    G = np.asarray(G, dtype=float)
    return G / np.linalg.norm(G, 2)


def _newton_schulz(G, steps=5):
    # Muon's quintic iteration: an approximation whose singular values land near 1, not on it
    a, b, c = 3.4445, -4.7750, 2.0315
    X = np.asarray(G, dtype=float)
    tall = X.shape[0] > X.shape[1]
    X = X.T if tall else X
    X = X / (np.linalg.norm(X) + 1e-7)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def _null_directions_kept(G):
    U, _, Vt = np.linalg.svd(np.asarray(G, dtype=float), full_matrices=False)
    return U @ Vt


def _inverse_sigma(G):
    U, s, Vt = np.linalg.svd(np.asarray(G, dtype=float), full_matrices=False)
    return U @ np.diag(1 / s) @ Vt


register(Exercise(
    name="orthogonalize", chapter=CHAPTER, reference=orthogonalize, make_cases=_cases, returns=("O",),
    task="""
The orthogonalised gradient. For a gradient matrix G with thin SVD G = U Σ Vᵀ, return

    O = U Vᵀ

the matrix of G's shape whose singular values are all 1 (Muon's direction; Shampoo's first
step). `np.linalg.svd(G, full_matrices=False)` returns U, the singular values and Vᵀ.
If G is rank-deficient, keep only the directions whose singular value is not zero: those
above max(G.shape) · ε · σ_max, with ε = np.finfo(float).eps (the tolerance of
np.linalg.matrix_rank). A zero singular value stays zero, as in Muon's Newton–Schulz.
""",
    mistakes=(
        Mistake("kept the singular values",
                "U Σ Vᵀ is G itself. Drop Σ: the orthogonalised matrix is U Vᵀ, every singular value 1.",
                _kept_sigma),
        Mistake("divided by the Frobenius norm",
                "G/‖G‖_F has norm 1 but keeps the ratios of the singular values; U Vᵀ sets each one to 1.",
                _frobenius_only),
        Mistake("took the sign of each entry",
                "sign(G) is Adam's and Lion's first step: it equalises coordinates, not directions. "
                "Use the SVD: U Vᵀ.", _sign),
        Mistake("inverted the singular values",
                "U Σ⁻¹ Vᵀ blows up the weakest directions (it is the pseudo-inverse's transpose); "
                "U Vᵀ sets every singular value to exactly 1.", _inverse_sigma),
        Mistake("kept the null directions of a rank-deficient G",
                "A zero singular value has no direction to keep: the thin SVD still returns singular "
                "vectors for it (arbitrary ones), and U Vᵀ turns that 0 into a 1. Keep the first r "
                "columns and rows, r = the number of singular values above the tolerance.",
                _null_directions_kept),
        Mistake("divided by the largest singular value",
                "G/σ₁ (the spectral norm) makes the largest singular value 1 but keeps the others' "
                "ratios; U Vᵀ sets every one of them to 1.", _spectral_norm_only),
        Mistake("approximated with Newton–Schulz",
                "Muon's five quintic Newton–Schulz steps land the singular values near 1 (about 0.7 "
                "to 1.2), not on 1. This exercise wants the exact U Vᵀ: use the SVD.", _newton_schulz),
    ),
))
