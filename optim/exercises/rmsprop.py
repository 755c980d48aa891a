"""Exercises of the chapter *RMSprop*: one RMSprop step, plain and centered.

The book writes the averaging constant β₂ (torch calls it ``alpha``), so the exercises
take ``beta2``.
"""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "RMSprop"
LEARNING_RATES = (0.01, 0.1, 0.001, 0.5)
BETA2S = (0.99, 0.9, 0.999, 0.95)  # never 0.5: there β₂ and 1 − β₂ are the same number
EPSILONS = (1e-8, 1e-10, 1e-6, 1e-3)


# --- rmsprop_step: the plain rule ---------------------------------------------------------

def rmsprop_step(w, g, v, lr, beta2, eps):
    rmsprop = optim.RMSprop(lr=lr, alpha=beta2, eps=eps)
    new_w, state = one_step(rmsprop, w, g, v=np.asarray(v, dtype=float))
    return new_w, state.v


def _rmsprop_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                v=positive(rng, shape, scale**2), lr=pick(rng, LEARNING_RATES),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS))


def _rmsprop_cases(rng):
    first = _rmsprop_args(rng, (3,), 1.0)
    still = _rmsprop_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _rmsprop_args) + [
        Case("first step: v = 0", {**first, "v": zeros_like(first["v"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: a large v (≈1e4) and small gradients",
             {**_rmsprop_args(rng, (3,), 1.0), "v": positive(rng, (3,), 1e4)}),
    ]


def _eps_inside_the_root(w, g, v, lr, beta2, eps):
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * g / np.sqrt(v + eps), v


def _divided_by_v(w, g, v, lr, beta2, eps):
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * g / (v + eps), v


def _averaged_after_the_step(w, g, v, lr, beta2, eps):
    w = w - lr * g / (np.sqrt(v) + eps)
    return w, beta2 * v + (1 - beta2) * g * g


def _sum(w, g, v, lr, beta2, eps):
    v = v + g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def _swapped_weights(w, g, v, lr, beta2, eps):
    v = (1 - beta2) * v + beta2 * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def _average_in_place(w, g, v, lr, beta2, eps):
    v *= beta2
    v += (1 - beta2) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


register(Exercise(
    name="rmsprop_step", chapter=CHAPTER, reference=rmsprop_step,
    make_cases=_rmsprop_cases, returns=("w", "v"),
    task="""
One step of RMSprop (torch's rule, without momentum). `v` is the moving average of the
squared gradients before this step (V_{t−1}, 0 before the first step); this step updates
it with its own gradient, then divides by its root:

    V_t = β₂·V_{t−1} + (1 − β₂)·g²
    w  ← w − lr·g / (√V_t + ε)

`w, g, v` are numbers or arrays of one shape; `lr`, `beta2` (torch's `alpha`) and `eps`
are numbers. Return the tuple `(w, v)` with the new weights and the new average V_t, as
new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("ε inside the square root",
                "torch adds ε outside the root: √V_t + ε. √(V_t + ε) is the form of TensorFlow's "
                "RMSProp kernel and of Keras from 2.11 on; it "
                "acts like an ε of about √ε outside the root, which matters when the gradients "
                "are tiny (|g| below √ε).", _eps_inside_the_root),
        Mistake("divided by V_t instead of √V_t",
                "V_t averages *squared* gradients; its root is the typical size of a gradient. "
                "Divide by √V_t + ε, so that the step has the units of lr and does not depend on "
                "the scale of g.", _divided_by_v),
        Mistake("updated V after the step",
                "Update the average *before* dividing: the step uses V_t, which already contains "
                "this step's g². With the old average the first step divides by ε alone.",
                _averaged_after_the_step),
        Mistake("a running sum instead of a moving average (that is AdaGrad)",
                "RMSprop forgets: V_t = β₂·V_{t−1} + (1 − β₂)·g². The plain sum V_{t−1} + g² is "
                "AdaGrad, whose steps shrink forever.", _sum),
        Mistake("the weights β₂ and 1 − β₂ swapped",
                "β₂ (close to 1) multiplies the old average and 1 − β₂ the new g²: "
                "V_t = β₂·V_{t−1} + (1 − β₂)·g². Swapped, V forgets almost everything at "
                "every step.", _swapped_weights),
        Mistake("updated the average in place",
                "`v *= beta2` changes the caller's array. Write `v = beta2 * v + ...`: a new "
                "array, the old state untouched.", _average_in_place),
    ),
))


# --- centered_rmsprop_step: dividing by a standard deviation -----------------------------

def centered_rmsprop_step(w, g, v, g_avg, lr, beta2, eps):
    rmsprop = optim.RMSprop(lr=lr, alpha=beta2, eps=eps, centered=True)
    new_w, state = one_step(rmsprop, w, g, v=np.asarray(v, dtype=float),
                            g_avg=np.asarray(g_avg, dtype=float))
    return new_w, state.v, state.g_avg


def _centered_args(rng, shape, scale):
    g_avg = numbers(rng, shape, scale)
    # A state that moving averages can reach: V ≥ ḡ² (the variance is not negative).
    v = np.square(g_avg) + positive(rng, shape, scale**2)
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                v=float(v) if shape == () else v, g_avg=g_avg, lr=pick(rng, LEARNING_RATES),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS))


def _centered_cases(rng):
    first = _centered_args(rng, (3,), 1.0)
    still = _centered_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _centered_args) + [
        Case("first step: v = g_avg = 0",
             {**first, "v": zeros_like(first["v"]), "g_avg": zeros_like(first["g_avg"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
    ]


def _averages(g, v, g_avg, beta2):
    return beta2 * v + (1 - beta2) * g * g, beta2 * g_avg + (1 - beta2) * g


def _centered_wrong_sign(w, g, v, g_avg, lr, beta2, eps):
    v, g_avg = _averages(g, v, g_avg, beta2)
    return w - lr * g / (np.sqrt(v + g_avg * g_avg) + eps), v, g_avg


def _subtracted_the_mean_not_its_square(w, g, v, g_avg, lr, beta2, eps):
    v, g_avg = _averages(g, v, g_avg, beta2)
    return w - lr * g / (np.sqrt(v - g_avg) + eps), v, g_avg


def _subtracted_outside_the_root(w, g, v, g_avg, lr, beta2, eps):
    v, g_avg = _averages(g, v, g_avg, beta2)
    return w - lr * g / (np.sqrt(v) - np.abs(g_avg) + eps), v, g_avg


def _old_mean(w, g, v, g_avg, lr, beta2, eps):
    v_new, g_avg_new = _averages(g, v, g_avg, beta2)
    return w - lr * g / (np.sqrt(v_new - g_avg * g_avg) + eps), v_new, g_avg_new


def _not_centered(w, g, v, g_avg, lr, beta2, eps):
    v, g_avg = _averages(g, v, g_avg, beta2)
    return w - lr * g / (np.sqrt(v) + eps), v, g_avg


register(Exercise(
    name="centered_rmsprop_step", chapter=CHAPTER, reference=centered_rmsprop_step,
    make_cases=_centered_cases, returns=("w", "v", "g_avg"),
    task="""
One step of *centered* RMSprop (torch's `centered=True`, without momentum). Besides the
moving average of squared gradients `v` it keeps the moving average of the gradients
themselves, `g_avg` (ḡ, 0 before the first step), and divides by the root of their
difference, an estimate of the variance of the gradient:

    V_t = β₂·V_{t−1} + (1 − β₂)·g²
    ḡ_t = β₂·ḡ_{t−1} + (1 − β₂)·g
    w  ← w − lr·g / (√(V_t − ḡ_t²) + ε)

`w, g, v, g_avg` are numbers or arrays of one shape; `lr`, `beta2` and `eps` are numbers.
Return the tuple `(w, v, g_avg)` of new values, as new arrays.
""",
    mistakes=(
        Mistake("centered with the wrong sign",
                "The variance is the mean square *minus* the squared mean: V_t − ḡ_t². With "
                "V_t + ḡ_t² the step gets smaller, not larger, when the gradient is consistent.",
                _centered_wrong_sign),
        Mistake("subtracted the mean gradient, not its square",
                "Subtract ḡ_t², not ḡ_t: V_t − ḡ_t² is a variance, in the units of g². V_t − ḡ_t "
                "mixes units and goes negative (then the root is nan).",
                _subtracted_the_mean_not_its_square),
        Mistake("subtracted outside the root",
                "The standard deviation is √(V_t − ḡ_t²), not √V_t − |ḡ_t|: subtract inside "
                "the root.", _subtracted_outside_the_root),
        Mistake("divided with the old mean gradient",
                "Update both averages first, then divide by √(V_t − ḡ_t²) with the *new* ḡ_t. "
                "Mixing the new V_t with the old ḡ_{t−1} does not estimate a variance.",
                _old_mean),
        Mistake("not centered: that is plain RMSprop",
                "You kept ḡ but did not use it: divide by √(V_t − ḡ_t²) + ε, not √V_t + ε.",
                _not_centered),
    ),
))
