"""Exercises of the chapter *Adafactor*: the factored second moment, as torch.optim.Adafactor keeps it."""

import numpy as np

from optim.adafactor import factored_second_moment
from optim.core import PURE

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, register

CHAPTER = "Adafactor"
BETA2S = (0.9, 0.5, 0.99, 0.0)          # 0: the first step (β̂₂₁ = 1 − 1^τ = 0)


def adafactor_second_moment(g, R, C, beta2):
    """The reference: torch's update of R and C, then V̂ = R C / mean(R) (ε₁ = 0)."""
    g2 = g * g
    R = beta2 * R + (1 - beta2) * g2.mean(axis=-1, keepdims=True)
    C = beta2 * C + (1 - beta2) * g2.mean(axis=-2, keepdims=True)
    return R, C, factored_second_moment(R, C, 0.0, PURE)


def _args(rng, n, m, scale=1.0):
    return dict(g=numbers(rng, (n, m), scale), R=positive(rng, (n, 1), scale**2),
                C=positive(rng, (1, m), scale**2), beta2=pick(rng, BETA2S[:3]))


def _cases(rng):
    first = _args(rng, 3, 4)
    return [
        Case("a 3 × 5 matrix", _args(rng, 3, 5)),
        Case("a 4 × 2 matrix", _args(rng, 4, 2)),
        Case("a square 4 × 4 matrix", _args(rng, 4, 4)),
        Case("the first step: β̂₂ = 0, R and C zero", {**first, "beta2": 0.0, "R": np.zeros((3, 1)),
                                                    "C": np.zeros((1, 4))}),
        Case("a column, 5 × 1 (the factoring is exact: V̂ is the full average)", _args(rng, 5, 1)),
        Case("a row, 1 × 6", _args(rng, 1, 6)),
        Case("gradients of size 1e3", _args(rng, 3, 4, 1e3)),
        Case("gradients of size 1e-3", _args(rng, 2, 5, 1e-3)),
        Case("β₂ = 0.99", {**_args(rng, 3, 3), "beta2": 0.99}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _second_moment(g, R, C, beta2, *, swap=False, square=True, norm="mean", sums=False, old=False,
                   betas_swapped=False):
    g2 = g * g if square else g
    row, col = (-2, -1) if swap else (-1, -2)
    reduce = np.sum if sums else np.mean
    keep, lose = (beta2, 1 - beta2) if not betas_swapped else (1 - beta2, beta2)
    R_new = keep * R + lose * reduce(g2, axis=row, keepdims=True)
    C_new = keep * C + lose * reduce(g2, axis=col, keepdims=True)
    r, c = (R, C) if old else (R_new, C_new)
    denominator = r.sum(axis=-2, keepdims=True) if norm == "sum" else r.mean(axis=-2, keepdims=True)
    return R_new, C_new, r * c / denominator


def _means_swapped(g, R, C, beta2):
    return _second_moment(g, R, C, beta2, swap=True)


def _not_squared(g, R, C, beta2):
    return _second_moment(g, R, C, beta2, square=False)


def _divided_by_the_sum(g, R, C, beta2):
    return _second_moment(g, R, C, beta2, norm="sum")


def _sums_not_means(g, R, C, beta2):
    """The paper's form: sums, divided by sum(R). V̂ is torch's; R and C are m and n times larger."""
    return _second_moment(g, R, C, beta2, sums=True, norm="sum")


def _sums_over_the_mean(g, R, C, beta2):
    """Sums, but still divided by mean(R): V̂ is n times too large."""
    return _second_moment(g, R, C, beta2, sums=True)


def _betas_swapped(g, R, C, beta2):
    return _second_moment(g, R, C, beta2, betas_swapped=True)


def _old_factors(g, R, C, beta2):
    return _second_moment(g, R, C, beta2, old=True)


def _state_in_place(g, R, C, beta2):
    g2 = g * g
    R *= beta2
    R += (1 - beta2) * g2.mean(axis=-1, keepdims=True)
    C *= beta2
    C += (1 - beta2) * g2.mean(axis=-2, keepdims=True)
    return R, C, R * C / R.mean(axis=-2, keepdims=True)


register(Exercise(
    name="adafactor_second_moment", chapter=CHAPTER, reference=adafactor_second_moment,
    make_cases=_cases, returns=("R", "C", "V"),
    task="""
Adafactor's factored second moment for one n × m weight matrix, as torch.optim.Adafactor keeps it:

    R  ← β₂·R + (1 − β₂)·(row means of g²)        R has shape (n, 1): one number per row
    C  ← β₂·C + (1 − β₂)·(column means of g²)     C has shape (1, m): one number per column
    V̂ = R·C / mean(R)                             the outer product, shape (n, m)

`g` is an (n, m) array, `R` an (n, 1) array, `C` a (1, m) array, `beta2` a number (no ε here).
Return the tuple `(R, C, V)` with the new values, as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("row and column means swapped",
                "R is one number per *row*: average g² along each row, over the columns, "
                "`(g * g).mean(axis=-1, keepdims=True)`, shape (n, 1); C averages each column over "
                "the rows, `axis=-2`, shape (1, m).", _means_swapped),
        Mistake("the gradient was not squared",
                "R and C average g², the squared gradient (Adam's V_t, factored), not g: the "
                "signs of g would cancel in the means, and V̂ could be negative.", _not_squared),
        Mistake("V̂ divided by the sum of R, not its mean",
                "With row and column *means* (torch's R and C), the normaliser is mean(R): "
                "R_i·C_j / mean(R). The paper's R·C / 1ᵀR is for row and column *sums*; mixing the "
                "two makes V̂ n times too small.", _divided_by_the_sum),
        Mistake("row and column sums instead of means",
                "torch keeps *means* of g² (its R and C are the paper's sums divided by m and n, "
                "which keeps them on the scale of g² however large the matrix). Kept as sums "
                "throughout and divided by sum(R), V̂ comes out the same; R and C do not.",
                _sums_not_means),
        Mistake("row and column sums, divided by mean(R)",
                "torch keeps *means* of g² (its R and C are the paper's sums divided by m and n, "
                "which keeps them on the scale of g² however large the matrix). Sums divided by "
                "mean(R) make V̂ n times too large: with sums the normaliser is sum(R), with "
                "means mean(R).", _sums_over_the_mean),
        Mistake("β₂ and 1 − β₂ swapped",
                "The old value is kept with weight β₂ and the new means enter with 1 − β₂: "
                "R ← β₂·R + (1 − β₂)·mean(g²).", _betas_swapped),
        Mistake("V̂ built from the old R and C",
                "Update R and C first, then take V̂ from the new ones: the current gradient is "
                "part of the estimate (at the first step, with R = C = 0, the old ones give 0/0).",
                _old_factors),
        Mistake("updated the state in place",
                "`R *= beta2` (or `R[:] = ...`) changes the caller's array. Write "
                "`R = beta2 * R + (1 - beta2) * ...`: a new array, the old state untouched.",
                _state_in_place),
    ),
))
