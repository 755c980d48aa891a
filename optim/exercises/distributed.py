"""Exercises of the chapter *Many processes*: gradient accumulation over k micro-batches."""

import numpy as np

import optim

from .cases import numbers, pick
from .core import Case, Exercise, Mistake, register

CHAPTER = "Many processes"
LEARNING_RATES = (0.1, 0.05, 0.2, 0.01)


def _gradient(w, X, y):
    """The gradient of the mean over rows of ½(x·w − y)²."""
    return X.T @ (X @ w - y) / len(y)


def accumulated_sgd_step(w, X, y, k, lr):
    X, y, w = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    g = sum(_gradient(w, Xj, yj) / k for Xj, yj in zip(np.split(X, k), np.split(y, k)))
    new_w, _ = optim.SGD(lr=lr).step(w, g, optim.SGD(lr=lr).init(w))
    return new_w


def _args(rng, k, rows_each, d):
    n = k * rows_each
    return dict(w=numbers(rng, (d,)), X=numbers(rng, (n, d)), y=numbers(rng, (n,)), k=k,
                lr=pick(rng, LEARNING_RATES))


def _cases(rng):
    return [
        Case("k = 2 micro-batches of 2 rows, 3 weights", _args(rng, 2, 2, 3)),
        Case("k = 3 micro-batches of 2 rows, 2 weights", _args(rng, 3, 2, 2)),
        Case("k = 4 micro-batches of 3 rows, 3 weights", _args(rng, 4, 3, 3)),
        Case("k = 2 micro-batches of 3 rows, 4 weights", _args(rng, 2, 3, 4)),
        Case("k = 3 micro-batches of 1 row, 2 weights", _args(rng, 3, 1, 2)),
        Case("k = 1: the whole batch at once", _args(rng, 1, 4, 3)),
        Case("k = 6 micro-batches of 2 rows, 3 weights", _args(rng, 6, 2, 3)),
        Case("k = 2 micro-batches of 4 rows, 1 weight", _args(rng, 2, 4, 1)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _parts(X, y, k):
    return zip(np.split(np.asarray(X, dtype=float), k), np.split(np.asarray(y, dtype=float), k))


def _no_division(w, X, y, k, lr):
    return w - lr * sum(_gradient(w, Xj, yj) for Xj, yj in _parts(X, y, k))


def _zeroed_inside(w, X, y, k, lr):
    g = 0
    for Xj, yj in _parts(X, y, k):
        g = _gradient(w, Xj, yj) / k          # zero_grad() inside the loop: only the last one is left
    return w - lr * g


def _step_every_micro_batch(w, X, y, k, lr):
    for Xj, yj in _parts(X, y, k):
        w = w - lr * _gradient(w, Xj, yj) / k
    return w


def _divided_by_rows_too(w, X, y, k, lr):
    return w - lr * sum(_gradient(w, Xj, yj) / (k * len(yj)) for Xj, yj in _parts(X, y, k))


register(Exercise(
    name="accumulated_sgd_step", chapter=CHAPTER, reference=accumulated_sgd_step,
    make_cases=_cases, returns=("w",),
    task="""
One SGD step on a batch that does not fit at once, taken as k micro-batches (gradient accumulation).

The model is linear, the loss of the batch is the mean over its rows of ½(x·w − y)², so a set of
rows (Xj, yj) has the gradient  Xjᵀ(Xj·w − yj) / (number of rows).  Split the rows of X and y
into k consecutive micro-batches of equal size (np.split(X, k)), add up their gradients the way
`loss / k` and `backward()` add them into `p.grad`, then take one step  w ← w − lr·ĝ.
The result must be the step the whole batch would take.

`w` has shape (d,), `X` (n, d), `y` (n,), `k` divides n; `lr` is a number. Return the new w
as a new array (leave the inputs unchanged).
""",
    mistakes=(
        Mistake("accumulated without dividing by k",
                "Each micro-batch's loss is a mean over its own rows; adding k of them gives k times the "
                "batch's mean gradient. Divide each micro-batch's loss (or gradient) by k.", _no_division),
        Mistake("the gradients were zeroed inside the loop",
                "Zeroing (opt.zero_grad()) belongs before the loop: inside it, each micro-batch throws away "
                "the ones before, and only the last micro-batch's gradient (divided by k) is left.",
                _zeroed_inside),
        Mistake("stepped after every micro-batch",
                "Accumulation takes one step per batch, after all k micro-batches: stepping after each one "
                "is k small steps, each from a different w, not the large batch's step.",
                _step_every_micro_batch),
        Mistake("divided by the number of rows as well",
                "The micro-batch loss is already a mean over its rows; dividing by its rows again makes "
                "the gradient too small by that factor. Only the 1/k is missing from a micro-batch mean.",
                _divided_by_rows_too),
    ),
))
