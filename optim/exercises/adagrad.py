"""Exercises of the chapter *AdaGrad*: one AdaGrad step, accumulator included."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "AdaGrad"
LEARNING_RATES = (0.1, 0.01, 0.5, 1.0)
EPSILONS = (1e-10, 1e-8, 1e-6, 1e-3)
RMSPROP_DECAY = 0.99  # torch.optim.RMSprop's default averaging constant


def adagrad_step(w, g, v, lr, eps):
    adagrad = optim.Adagrad(lr=lr, eps=eps)
    new_w, state = one_step(adagrad, w, g, v=np.asarray(v, dtype=float))
    return new_w, state.v


def _adagrad_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                v=positive(rng, shape, scale**2), lr=pick(rng, LEARNING_RATES),
                eps=pick(rng, EPSILONS))


def _adagrad_cases(rng):
    first = _adagrad_args(rng, (3,), 1.0)
    still = _adagrad_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _adagrad_args) + [
        Case("first step: v = 0", {**first, "v": zeros_like(first["v"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: a large accumulated v (≈1e4)",
             {**_adagrad_args(rng, (3,), 1.0), "v": positive(rng, (3,), 1e4)}),
    ]


def _divided_by_v(w, g, v, lr, eps):
    v = v + g * g
    return w - lr * g / (v + eps), v


def _eps_inside_the_root(w, g, v, lr, eps):
    v = v + g * g
    return w - lr * g / np.sqrt(v + eps), v


def _accumulated_after_the_step(w, g, v, lr, eps):
    w = w - lr * g / (np.sqrt(v) + eps)
    return w, v + g * g


def _accumulated_g(w, g, v, lr, eps):
    v = v + g
    return w - lr * g / (np.sqrt(v) + eps), v


def _moving_average(w, g, v, lr, eps):
    v = RMSPROP_DECAY * v + (1 - RMSPROP_DECAY) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def _accumulator_in_place(w, g, v, lr, eps):
    v += g * g
    return w - lr * g / (np.sqrt(v) + eps), v


register(Exercise(
    name="adagrad_step", chapter=CHAPTER, reference=adagrad_step,
    make_cases=_adagrad_cases, returns=("w", "v"),
    task="""
One step of AdaGrad. `v` is the sum of the squared gradients of the previous steps (V_{t−1},
0 before the first step); this step adds its own, then divides by the root:

    V_t = V_{t−1} + g²
    w  ← w − lr·g / (√V_t + ε)

`w, g, v` are numbers or arrays of one shape; `lr` and `eps` are numbers. Return the tuple
`(w, v)` with the new weights and the new sum V_t, as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("divided by V_t instead of √V_t",
                "The scale of the step is the root of the accumulated squares: g / (√V_t + ε). "
                "Dividing by V_t itself makes the step shrink like 1/t instead of 1/√t, and its "
                "size depends on the scale of g (AdaGrad's step should not).", _divided_by_v),
        Mistake("ε inside the square root",
                "ε goes outside the root, as in torch: √V_t + ε, not √(V_t + ε). It matters when "
                "V_t is as small as ε (tiny gradients).", _eps_inside_the_root),
        Mistake("accumulated the gradient after the step",
                "Add g² to the sum *before* dividing: the step uses V_t, which already contains this "
                "step's gradient. With the old sum the first step divides by ε alone and explodes.",
                _accumulated_after_the_step),
        Mistake("accumulated g instead of g²",
                "V_t is a sum of *squared* gradients, V_{t−1} + g·g: it measures how large the "
                "gradients have been, whatever their sign.", _accumulated_g),
        Mistake("a moving average instead of the sum (that is RMSprop)",
                "AdaGrad never forgets: V_t = V_{t−1} + g², a plain sum. The moving average "
                "β·V + (1 − β)·g² is RMSprop, the fix for AdaGrad's ever-shrinking steps (a later "
                "chapter).", _moving_average),
        Mistake("updated the accumulator in place",
                "`v += g * g` changes the caller's array. Write `v = v + g * g`: a new array, the "
                "old state untouched.", _accumulator_in_place),
    ),
))
