"""Exercises of the chapter *Muon*: one Muon step, Newton–Schulz orthogonalisation included."""

import numpy as np

import optim

from .cases import numbers, pick
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Muon"
LEARNING_RATES = (0.02, 0.05, 0.1, 0.01)
MOMENTA = (0.95, 0.9, 0.5)
QUINTIC = (3.4445, -4.7750, 2.0315)


def muon_step(w, g, m, lr, momentum):
    muon = optim.Muon(lr=lr, momentum=momentum, weight_decay=0.0)
    new_w, state = one_step(muon, w, g, m=np.asarray(m, dtype=float))
    return new_w, state.m


def _args(rng, shape, scale=1.0):
    return dict(w=numbers(rng, shape), g=numbers(rng, shape, scale), m=numbers(rng, shape, scale),
                lr=pick(rng, LEARNING_RATES), momentum=pick(rng, MOMENTA))


def _cases(rng):
    return [
        Case("a square 3×3 matrix", _args(rng, (3, 3))),
        Case("a square 4×4 matrix", _args(rng, (4, 4))),
        Case("a wide 2×5 matrix", _args(rng, (2, 5))),
        Case("a tall 5×2 matrix: transposed inside, and its lr scaled by √(5/2)", _args(rng, (5, 2))),
        Case("a tall 4×3 matrix", _args(rng, (4, 3))),
        Case("a batch of 2 runs of 3×3 matrices (the last two axes are the matrix)", _args(rng, (2, 3, 3))),
        Case("large gradients (≈100): the normalisation matters", _args(rng, (3, 3), 100.0)),
        Case("momentum 0.5, a square 3×3 matrix", {**_args(rng, (3, 3)), "momentum": 0.5}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _mT(x):
    return np.swapaxes(x, -1, -2)


def _ns(G, coefficients=QUINTIC, normalise=True, gram="left"):
    a, b, c = coefficients
    tall = G.shape[-2] > G.shape[-1] and gram == "left"
    X = _mT(G) if tall else G
    if normalise:
        X = X / np.maximum(np.sqrt(np.sum(X * X, axis=(-2, -1), keepdims=True)), 1e-7)
    with np.errstate(all="ignore"):
        for _ in range(5):
            A = X @ _mT(X) if gram == "left" else _mT(X) @ X
            X = a * X + (b * A + c * A @ A) @ X
    return _mT(X) if tall else X


def _muon(w, g, m, lr, momentum, *, what="nesterov", scale=True, **ns):
    m_new = momentum * m + (1 - momentum) * g
    u = {"nesterov": (1 - momentum) * g + momentum * m_new, "momentum": m_new, "gradient": g}[what]
    rows, cols = np.shape(w)[-2:]
    step = lr * max(1.0, rows / cols) ** 0.5 if scale else lr
    return w - step * _ns(u, **ns), m_new


def _unnormalised(*args):
    return _muon(*args, normalise=False)


def _gram_on_the_wrong_side(*args):
    return _muon(*args, gram="right")


def _cubic(*args):
    return _muon(*args, coefficients=(1.5, -0.5, 0.0))


def _orthogonalised_the_gradient(*args):
    return _muon(*args, what="gradient")


def _no_nesterov(*args):
    return _muon(*args, what="momentum")


def _no_shape_scale(*args):
    return _muon(*args, scale=False)


def _state_in_place(w, g, m, lr, momentum):
    m *= momentum
    m += (1 - momentum) * g
    rows, cols = np.shape(w)[-2:]
    u = (1 - momentum) * g + momentum * m
    return w - lr * max(1.0, rows / cols) ** 0.5 * _ns(u), m


register(Exercise(
    name="muon_step", chapter=CHAPTER, reference=muon_step,
    make_cases=_cases, returns=("w", "m"),
    task="""
One step of Muon (torch.optim.Muon's defaults: Nesterov on, 5 Newton–Schulz steps; no weight decay here):

    m  ← μ·m + (1 − μ)·g                       (μ = momentum)
    u  = (1 − μ)·g + μ·m                        (Nesterov: the gradient, pulled towards the new m)
    X  = u / max(‖u‖_F, 1e-7)                   (Frobenius norm of the matrix: every σ ≤ 1)
    5 times:  A = X Xᵀ,  X ← a·X + (b·A + c·A²) X     with (a, b, c) = (3.4445, −4.7750, 2.0315)
    w  ← w − lr·√max(1, rows/cols)·X

A matrix with more rows than columns is transposed before the iteration (so that A = X Xᵀ is the
small Gram matrix) and transposed back after it. `w, g, m` are arrays of one shape; the last two axes
are the matrix, leading axes are independent runs (use `np.swapaxes(X, -1, -2)` and `@`).
`lr, momentum` are numbers. Return `(w, m)` as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("Newton–Schulz on the un-normalised matrix",
                "The iteration pulls singular values in (0, ≈1.26) towards a band around 1; values above "
                "≈1.26 explode (σ = 2 gives p(2) ≈ 34, and it grows from there). Divide u by its "
                "Frobenius norm first: ‖u‖_F ≥ σ_max, so every σ lands in (0, 1].", _unnormalised),
        Mistake("the Gram matrix on the wrong side: A = XᵀX, then A·X",
                "A must be X Xᵀ when it multiplies X from the left (or XᵀX from the right: X·A). "
                "With XᵀX on the left the shapes only fit for a square matrix, and even then the "
                "result is not an odd polynomial of X.", _gram_on_the_wrong_side),
        Mistake("the cubic coefficients (1.5, −0.5, 0) instead of the quintic",
                "1.5σ − 0.5σ³ converges to 1 but slowly: five steps leave small singular values "
                "small. Muon's quintic (3.4445, −4.7750, 2.0315) has slope 3.4445 at 0.", _cubic),
        Mistake("orthogonalised the gradient, not the momentum",
                "Muon orthogonalises the (Nesterov) momentum u = (1 − μ)·g + μ·m_new, not g: "
                "the momentum is what averages the noise before the step's size is thrown away.",
                _orthogonalised_the_gradient),
        Mistake("no Nesterov: orthogonalised the momentum buffer itself",
                "torch.optim.Muon's default is nesterov=True: u = (1 − μ)·g + μ·m_new, the "
                "gradient pulled towards the new momentum, not m_new alone.", _no_nesterov),
        Mistake("the learning rate is not scaled by √max(1, rows/cols)",
                "A tall matrix's orthogonalised update has RMS √(1/rows) per entry, not √(1/cols): "
                "Keller Jordan's Muon (and torch's default) multiplies lr by √max(1, rows/cols).",
                _no_shape_scale),
        Mistake("updated the state in place",
                "`m *= momentum` (or `m[:] = ...`) changes the caller's array. Write "
                "`m = momentum * m + (1 - momentum) * g`: a new array, the old state untouched.",
                _state_in_place),
    ),
))
