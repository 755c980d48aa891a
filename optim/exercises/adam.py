"""Exercises of the chapter *Adam*: one Adam step, bias correction included."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Adam"
LEARNING_RATES = (0.1, 0.01, 0.001, 0.5)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-8, 1e-6, 1e-3)
STEPS = (2, 3, 5, 10, 100)


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    adam = optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    # The state holds the number of steps *done*, t − 1; this step makes it t.
    new_w, state = one_step(adam, w, g, t=t - 1,
                            m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float))
    return new_w, state.m, state.v


def _adam_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                m=numbers(rng, shape, scale), v=positive(rng, shape, scale**2),
                t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS))


def _adam_cases(rng):
    first = _adam_args(rng, (3,), 1.0)
    still = _adam_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _adam_args) + [
        Case("first step: t = 1, m = v = 0",
             {**first, "t": 1, "m": zeros_like(first["m"]), "v": zeros_like(first["v"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: t = 10000", {**_adam_args(rng, (3,), 1.0), "t": 10_000}),
    ]


def _moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2


def _no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _bias_correction_off_by_one(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _eps_inside_the_root(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), m, v


def _state_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _momentum_sign(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m - (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _returned_corrected_moments(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


register(Exercise(
    name="adam_step", chapter=CHAPTER, reference=adam_step,
    make_cases=_adam_cases, returns=("w", "m", "v"),
    task="""
One step of Adam. `t` is the number of this step (1 for the first):

    m_t = β₁·m + (1 − β₁)·g          v_t = β₂·v + (1 − β₂)·g²
    m̂_t = m_t / (1 − β₁ᵗ)            v̂_t = v_t / (1 − β₂ᵗ)
    w  ← w − lr·m̂_t / (√v̂_t + ε)

`w, g, m, v` are numbers or arrays of one shape; `t` is an int; `lr, beta1, beta2, eps` are
numbers. Return the tuple `(w, m, v)` with the new m_t and v_t (not the corrected m̂_t, v̂_t),
as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("missing bias correction",
                "You used the raw m_t and v_t; divide by (1 − β₁ᵗ) and (1 − β₂ᵗ) first. Early on "
                "(t small) the moments start at 0 and are biased towards it.", _no_bias_correction),
        Mistake("bias correction off by one (t − 1)",
                "`t` is already the number of this step: correct with 1 − β₁ᵗ, not 1 − β₁ᵗ⁻¹ "
                "(which is 0 at the first step).", _bias_correction_off_by_one),
        Mistake("ε inside the square root",
                "ε goes outside the root: √v̂_t + ε, not √(v̂_t + ε). It matters when v̂_t is as "
                "small as ε (tiny gradients).", _eps_inside_the_root),
        Mistake("updated the state in place",
                "`m *= beta1` (or `m[:] = ...`) changes the caller's arrays. Write "
                "`m = beta1 * m + (1 - beta1) * g`: new arrays, the old state untouched.",
                _state_in_place),
        Mistake("the gradient enters m with the wrong sign",
                "The first moment averages the gradient itself: m_t = β₁·m + (1 − β₁)·g.",
                _momentum_sign),
        Mistake("returned the bias-corrected moments as the state",
                "m̂_t and v̂_t are only for this step; the state to keep is the raw m_t and v_t "
                "(the next step corrects them again).", _returned_corrected_moments),
    ),
))
