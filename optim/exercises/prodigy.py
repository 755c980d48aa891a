"""Exercises of the chapter *Prodigy*: Prodigy's estimate of d, one step, as prodigyopt.Prodigy computes it."""

import numpy as np

import optim

from .cases import numbers, pick
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Prodigy"
LEARNING_RATES = (1.0, 0.5, 2.0)
BETA3S = (0.9, 0.95, 0.5)
DS = (0.01, 0.1, 0.3)                 # never 1: there, d and d² coincide


def prodigy_d(w, g, w0, s, r, d, lr, beta3):
    """The reference: optim.Prodigy with d0 = 1 (prodigyopt weighs by d²·lr/d0, so then λ = d²·lr exactly)."""
    w, g, w0, s = (np.asarray(a, dtype=float) for a in (w, g, w0, s))
    prodigy = optim.Prodigy(lr=lr, beta3=beta3, d0=1.0)
    _, state = one_step(prodigy, w, g, p0=w0, s=s, d_numerator=r, d=d, d_max=d)
    return float(np.squeeze(state.d)), float(np.squeeze(state.d_numerator)), state.s


def _args(rng, size):
    w0 = numbers(rng, (size,))
    return dict(w=w0 + numbers(rng, (size,), 0.5), g=numbers(rng, (size,)), w0=w0,
                s=numbers(rng, (size,), 0.01), r=abs(numbers(rng, (), 0.01)), d=pick(rng, DS),
                lr=pick(rng, LEARNING_RATES), beta3=pick(rng, BETA3S))


def _rising(rng, size):
    """g points from w back towards w0 (so ⟨g, w0 − w⟩ > 0), small old sums: the estimate rises above d."""
    a = _args(rng, size)
    return {**a, "g": np.round(a["w0"] - a["w"], 2) + 0.0, "s": numbers(rng, (size,), 1e-4), "r": 1e-5,
            "d": 0.01}


def _cases(rng):
    first = _args(rng, 4)
    falling = _args(rng, 3)
    return [
        Case("vectors of 3", _args(rng, 3)), Case("vectors of 5", _args(rng, 5)),
        Case("vectors of 8", _args(rng, 8)),
        Case("the estimate rises: g points along w0 − w", _rising(rng, 4)),
        Case("the estimate rises, a longer vector", _rising(rng, 6)),
        Case("first step: w = w0, s = 0, r = 0 (the estimate is 0, d stays)",
             {**first, "w": first["w0"].copy(), "s": np.zeros(4), "r": 0.0}),
        Case("the estimate is negative: g points along w − w0, d = 0.3",
             {**falling, "g": np.round(falling["w"] - falling["w0"], 2) + 0.0, "d": 0.3}),
        Case("a plain number (one weight)", {**_args(rng, 1), "w": 0.5, "g": 0.75, "w0": -0.25, "s": 0.0,
                                             "r": 0.0, "d": 0.1}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _prodigy(w, g, w0, s, r, d, lr, beta3, *, keep_max=True, power=2, norm="l1", sign=1.0, decay=True,
             old_s=False):
    w, g, w0, s = (np.asarray(a, dtype=float) for a in (w, g, w0, s))
    lam = d**power * lr
    r_new = (beta3 if decay else 1.0) * r + lam * sign * np.sum(g * (w0 - w))
    s_new = (beta3 if decay else 1.0) * s + lam * g
    below = s if old_s else s_new
    size = np.sum(np.abs(below)) if norm == "l1" else np.sqrt(np.sum(below * below))
    d_hat = r_new / size if size > 0 else 0.0
    return (max(d, d_hat) if keep_max else d_hat), r_new, s_new


def _no_max(*args):
    return _prodigy(*args, keep_max=False)


def _weighted_by_d(*args):
    return _prodigy(*args, power=1)


def _l2_norm(*args):
    return _prodigy(*args, norm="l2")


def _wrong_direction(*args):
    return _prodigy(*args, sign=-1.0)


def _no_decay(*args):
    return _prodigy(*args, decay=False)


def _old_s_in_the_denominator(*args):
    return _prodigy(*args, old_s=True)


def _state_in_place(w, g, w0, s, r, d, lr, beta3):
    lam = d * d * lr
    r = beta3 * r + lam * np.sum(g * (w0 - w))
    s *= beta3
    s += lam * g
    return max(d, r / np.sum(np.abs(s))), r, s


register(Exercise(
    name="prodigy_d", chapter=CHAPTER, reference=prodigy_d,
    make_cases=_cases, returns=("d", "r", "s"),
    task="""
Prodigy's estimate of the distance to the solution, one step, in the form of the reference code
prodigyopt (with d₀ = 1; the paper also multiplies λ by (1 − β₃), which cancels in r/‖s‖₁), β₃ = beta3:

    λ  = d²·lr                               (the weight of this step)
    r ← β₃·r + λ·⟨g, w0 − w⟩                  (⟨·,·⟩: the sum over all weights)
    s ← β₃·s + λ·g
    d ← max(d, r / ‖s‖₁)                      (‖s‖₁ = Σ|s|, with the new s)

`w, g, w0, s` are arrays of one shape (one model's weights, its gradient, its starting point, and
the weighted sum of gradients) or plain numbers; `r, d, lr, beta3` are numbers.
Return the tuple `(d, r, s)` with the new values, as new objects: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("d can shrink: the max with the previous d is missing",
                "d ← max(d, r/‖s‖₁): the estimate r/‖s‖₁ is a lower bound on the distance, and a later "
                "bound that happens to be smaller does not make an earlier one wrong. Without the max, "
                "d falls whenever the gradients turn (and r/‖s‖₁ can even be negative).", _no_max),
        Mistake("the weight is d·lr, not d²·lr (D-Adaptation's weighting)",
                "Prodigy weighs step k by λ = d²·lr: with d growing, later steps count more, which is what "
                "lets d grow faster than D-Adaptation's d (whose weight is d·lr).", _weighted_by_d),
        Mistake("divided by the L2 norm of s instead of the L1 norm",
                "The bound uses ⟨s, w0 − w*⟩ ≤ ‖s‖₁·‖w0 − w*‖∞ (Adam's steps are per coordinate, so the "
                "distance is measured coordinate by coordinate): divide by Σ|s|, not √Σs².", _l2_norm),
        Mistake("⟨g, w − w0⟩ instead of ⟨g, w0 − w⟩",
                "The numerator is ⟨g, w0 − w⟩ (from convexity: f(w) − f* ≤ ⟨g, w − w*⟩, rearranged): "
                "gradients that point back towards the start make it grow.", _wrong_direction),
        Mistake("r and s were not decayed by β₃",
                "Both sums are moving averages: r ← β₃·r + ..., s ← β₃·s + ... (β₃ = √β₂ by default); "
                "without the decay old steps never fade.", _no_decay),
        Mistake("‖s‖₁ of the old s",
                "Update s first, then divide by ‖s‖₁ of the new s (the sum that includes this step's "
                "gradient, as r does).", _old_s_in_the_denominator),
        Mistake("updated the state in place",
                "`s *= beta3` (or `s += ...`) changes the caller's array. Write "
                "`s = beta3 * s + lam * g`: a new array, the old state untouched.", _state_in_place),
    ),
))
