"""Exercises of the chapter *The general framework*: one step of the generic method."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "The general framework"
ALPHAS = (0.1, 0.01, 0.001, 0.5)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-8, 1e-6, 1e-3)

# The framework's step is Adam's without bias correction; at step t = 10⁶ the correction
# 1 − βᵗ is exactly 1.0 in floating point, so Adam's own rule computes the framework's step.
LONG_AFTER_THE_START = 10**6


def framework_step(w, g, m, V, alpha, beta1, beta2, eps):
    adam = optim.Adam(lr=alpha, betas=(beta1, beta2), eps=eps)
    new_w, state = one_step(adam, w, g, t=LONG_AFTER_THE_START,
                            m=np.asarray(m, dtype=float), v=np.asarray(V, dtype=float))
    return new_w, state.m, state.v


def _framework_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                m=numbers(rng, shape, scale), V=positive(rng, shape, scale**2),
                alpha=pick(rng, ALPHAS), beta1=pick(rng, BETA1S), beta2=pick(rng, BETA2S),
                eps=pick(rng, EPSILONS))


def _framework_cases(rng):
    first = _framework_args(rng, (3,), 1.0)
    still = _framework_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _framework_args) + [
        Case("first step: m = V = 0", {**first, "m": zeros_like(first["m"]), "V": zeros_like(first["V"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
    ]


def _eps_inside_the_root(w, g, m, V, alpha, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    V = beta2 * V + (1 - beta2) * g**2
    return w - alpha * m / np.sqrt(V + eps), m, V


def _g_not_squared(w, g, m, V, alpha, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    V = beta2 * V + (1 - beta2) * g
    return w - alpha * m / (np.sqrt(V) + eps), m, V


def _g_instead_of_m(w, g, m, V, alpha, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    V = beta2 * V + (1 - beta2) * g**2
    return w - alpha * g / (np.sqrt(V) + eps), m, V


def _betas_swapped(w, g, m, V, alpha, beta1, beta2, eps):
    m = beta2 * m + (1 - beta2) * g
    V = beta1 * V + (1 - beta1) * g**2
    return w - alpha * m / (np.sqrt(V) + eps), m, V


def _old_moments_in_the_step(w, g, m, V, alpha, beta1, beta2, eps):
    new_w = w - alpha * m / (np.sqrt(V) + eps)
    return new_w, beta1 * m + (1 - beta1) * g, beta2 * V + (1 - beta2) * g**2


register(Exercise(
    name="framework_step", chapter=CHAPTER, reference=framework_step,
    make_cases=_framework_cases, returns=("w", "m", "V"),
    task="""
One step of the general framework. From the gradient g, update the first moment and the second
moment, then step:

    m_t = β₁·m + (1 − β₁)·g
    V_t = β₂·V + (1 − β₂)·g²
    η_t = α·m_t / (√V_t + ε)
    w  ← w − η_t

Arguments: `w, g, m, V` are numbers or arrays of one shape; `alpha, beta1, beta2, eps` are numbers.
Return the tuple `(w, m, V)` of new values, as new arrays (leave the inputs unchanged).
""",
    mistakes=(
        Mistake("ε inside the square root",
                "ε goes *outside* the root: √V_t + ε, not √(V_t + ε). It matters when V_t is as "
                "small as ε (tiny gradients).", _eps_inside_the_root),
        Mistake("forgot to square the gradient in V",
                "V_t averages the *squared* gradient: (1 − β₂)·g², so V_t ≥ 0 and √V_t exists.",
                _g_not_squared),
        Mistake("stepped with g instead of m_t",
                "The step uses the averaged gradient: η_t = α·m_t / (√V_t + ε), not α·g / (…).",
                _g_instead_of_m),
        Mistake("β₁ and β₂ swapped",
                "β₁ belongs to the first moment m, β₂ to the second moment V.", _betas_swapped),
        Mistake("stepped with the old m and V",
                "Update m and V first, then step with the new m_t and V_t (they include this g).",
                _old_moments_in_the_step),
    ),
))
