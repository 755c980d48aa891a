"""Exercises of the chapter *Shampoo and SOAP*: one Shampoo step on a weight matrix, as the paper's Algorithm 1."""

import numpy as np

from optim.core import PURE
from optim.shampoo import inverse_root

from .cases import numbers, pick
from .core import Case, Exercise, Mistake, register

CHAPTER = "Shampoo and SOAP"
LEARNING_RATES = (0.1, 0.01, 0.3, 0.03)
EPSILONS = (1e-3, 1e-2, 0.1)


def shampoo_step(w, g, L, R, lr, eps):
    eye_l, eye_r = np.eye(np.shape(L)[-1]), np.eye(np.shape(R)[-1])
    L = L + g @ g.T
    R = R + g.T @ g
    step = inverse_root(L + eps * eye_l, 4, PURE) @ g @ inverse_root(R + eps * eye_r, 4, PURE)
    return w - lr * step, L, R


def _psd(rng, n, k=3):
    a = numbers(rng, (n, k))
    return a @ a.T


def _args(rng, n, m):
    return dict(w=numbers(rng, (n, m)), g=numbers(rng, (n, m)), L=_psd(rng, n), R=_psd(rng, m),
                lr=pick(rng, LEARNING_RATES), eps=pick(rng, EPSILONS))


def _cases(rng):
    first = _args(rng, 3, 3)
    return [
        Case("a 3×3 weight", _args(rng, 3, 3)),
        Case("a 4×4 weight", _args(rng, 4, 4)),
        Case("a 2×2 weight, larger ε", {**_args(rng, 2, 2), "eps": 0.5}),
        Case("the first step: L = R = 0", {**first, "L": np.zeros((3, 3)), "R": np.zeros((3, 3))}),
        Case("a 5×5 weight", _args(rng, 5, 5)),
        Case("another 3×3 weight", _args(rng, 3, 3)),
        Case("a 1×1 weight: Shampoo is AdaGrad with g²'s square root split in two", _args(rng, 1, 1)),
        Case("gradients near 1e-3, ε = 1e-3", {**_args(rng, 3, 3), "g": numbers(rng, (3, 3), 1e-3), "eps": 1e-3}),
        Case("gradients near 100", {**_args(rng, 4, 4), "g": numbers(rng, (4, 4), 100.0)}),
        Case("a 3×2 weight: L is 3×3, R is 2×2", _args(rng, 3, 2)),
        Case("a 2×4 weight: L is 2×2, R is 4×4", _args(rng, 2, 4)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _shampoo(w, g, L, R, lr, eps, *, power=4, swap=False, eps_after=False, accumulate=True):
    L = (L if accumulate else 0) + g @ g.T
    R = (R if accumulate else 0) + g.T @ g
    left, right = (R, L) if swap else (L, R)

    def root(a):
        if eps_after:     # the root of the statistic first, then ε: (L^{1/4} + εI)^{-1}
            lam, q = np.linalg.eigh(a)
            return (q / (np.abs(lam) ** (1 / power) + eps)) @ q.T
        lam, q = np.linalg.eigh(a + eps * np.eye(len(a)))
        return (q * lam ** (-1 / power)) @ q.T

    return w - lr * root(left) @ g @ root(right), L, R


def _half(*args):
    return _shampoo(*args, power=2)


def _swapped(*args):
    return _shampoo(*args, swap=True)


def _eps_after(*args):
    return _shampoo(*args, eps_after=True)


def _no_accumulation(*args):
    return _shampoo(*args, accumulate=False)


def _state_in_place(w, g, L, R, lr, eps):
    L += g @ g.T
    R += g.T @ g
    return _shampoo(w, g, L - g @ g.T, R - g.T @ g, lr, eps)


register(Exercise(
    name="shampoo_step", chapter=CHAPTER, reference=shampoo_step,
    make_cases=_cases, returns=("w", "L", "R"),
    task="""
One step of Shampoo on a weight matrix W (n×m) with gradient G (Gupta et al. 2018, Algorithm 1):

    L ← L + G Gᵀ                          (n×n: the statistics of the rows)
    R ← R + Gᵀ G                          (m×m: the statistics of the columns)
    W ← W − lr · (L + εI)^(−1/4) · G · (R + εI)^(−1/4)

A^(−1/4) of a symmetric positive definite A: with `lam, Q = np.linalg.eigh(A)`, it is
`Q @ np.diag(lam ** -0.25) @ Q.T`. `w, g, L, R` are 2-D arrays, `lr, eps` numbers.
Return the tuple `(w, L, R)` with the new values (L and R without the ε), as new arrays.
""",
    mistakes=(
        Mistake("exponent −1/2 on each side instead of −1/4",
                "Each side takes the fourth root: L^(−1/4) G R^(−1/4). Together the two sides make the "
                "−1/2 of full-matrix AdaGrad, (L ⊗ R)^(−1/2) ≈ (GGᵀ ⊗ GᵀG)^(−1/2) has the gradient "
                "squared twice; −1/2 per side over-corrects, a step of order 1/‖G‖.", _half),
        Mistake("L and R swapped: Gᵀ G on the left",
                "L collects G Gᵀ (n×n, rows) and multiplies G from the left; R collects Gᵀ G (m×m, "
                "columns) and multiplies from the right. On a non-square W the swap does not even fit.",
                _swapped),
        Mistake("ε added after the root: (L^(1/4) + εI)^(−1)",
                "ε regularises the statistic itself, before the root: (L + εI)^(−1/4), as Shampoo starts "
                "L at εI. Added after the root it is another matrix: for a zero eigenvalue of L, the fourth "
                "root becomes ε instead of ε^(1/4).", _eps_after),
        Mistake("the statistics are not accumulated: L = G Gᵀ",
                "Shampoo sums the outer products over all steps, L ← L + G Gᵀ, like AdaGrad sums g². "
                "From this step's gradient alone the preconditioner is rank-deficient and forgets the past.",
                _no_accumulation),
        Mistake("updated L or R in place",
                "`L += g @ g.T` changes the caller's array. Write `L = L + g @ g.T`: a new array, the "
                "old state untouched.", _state_in_place),
    ),
))
