"""Exercises of the chapter *Momentum*: one heavy-ball step in torch's convention."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Momentum"
LEARNING_RATES = (0.1, 0.01, 0.5, 0.03)
BETAS = (0.9, 0.5, 0.99, 0.8)


def momentum_step(w, g, v, lr, beta):
    sgd = optim.SGD(lr=lr, momentum=beta)
    new_w, state = one_step(sgd, w, g, m=np.asarray(v, dtype=float))
    return new_w, state.m


def _momentum_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale), v=numbers(rng, shape, scale),
                lr=pick(rng, LEARNING_RATES), beta=pick(rng, BETAS))


def _momentum_cases(rng):
    first = _momentum_args(rng, (3,), 1.0)
    coasting = _momentum_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _momentum_args) + [
        Case("first step: v = 0", {**first, "v": zeros_like(first["v"])}),
        Case("zero gradient (coasting)", {**coasting, "g": zeros_like(coasting["g"])}),
    ]


def _scales_the_weights(w, g, v, lr, beta):
    w = w + beta * w - lr * (1 - beta) * g  # the famous snippet `w += beta * w - lr * (1 - beta) * g`
    return w, v


def _momentum_term_sign(w, g, v, lr, beta):
    v = g - beta * v
    return w - lr * v, v


def _lr_inside_the_velocity(w, g, v, lr, beta):
    v = beta * v - lr * g
    return w + v, v


def _dampened(w, g, v, lr, beta):
    v = beta * v + (1 - beta) * g
    return w - lr * v, v


def _old_velocity(w, g, v, lr, beta):
    return w - lr * v, beta * v + g


def _velocity_in_place(w, g, v, lr, beta):
    v *= beta
    v += g
    return w - lr * v, v


register(Exercise(
    name="momentum_step", chapter=CHAPTER, reference=momentum_step,
    make_cases=_momentum_cases, returns=("w", "v"),
    task="""
One step of SGD with (heavy-ball) momentum, in torch's convention:

    v ← β·v + g
    w ← w − lr·v

`w, g, v` are numbers or arrays of one shape (`v` is the velocity, 0 before the first step);
`lr` and `beta` are numbers. Return the tuple `(w, v)` of new values, as new arrays.
""",
    mistakes=(
        Mistake("weights scaled by (1 + β): there is no velocity",
                "`w += beta * w - lr * (1 - beta) * g` multiplies the weights by (1 + β) at every step "
                "and keeps no velocity at all: β must multiply the previous *step*, not the weights. "
                "Keep a velocity v ← β·v + g and step w ← w − lr·v.", _scales_the_weights),
        Mistake("the momentum term with the wrong sign",
                "The old velocity is *added*: v ← β·v + g. With −β·v the velocity flips direction at "
                "every step instead of building up speed.", _momentum_term_sign),
        Mistake("lr inside the velocity (the other convention)",
                "That is Sutskever's form, v ← β·v − lr·g, w ← w + v. The exercise (and torch) keep lr "
                "outside: v ← β·v + g, w ← w − lr·v. The two differ when lr changes.",
                _lr_inside_the_velocity),
        Mistake("a dampened velocity (the moving-average form)",
                "v ← β·v + (1 − β)·g is the exponential-moving-average form (torch's dampening = β). "
                "torch's default adds the whole gradient: v ← β·v + g.", _dampened),
        Mistake("stepped with the old velocity",
                "Update the velocity first, then step with the new one: w ← w − lr·(β·v + g).",
                _old_velocity),
        Mistake("updated the velocity in place",
                "`v *= beta` changes the caller's array. Write `v = beta * v + g`: a new array.",
                _velocity_in_place),
    ),
))
