"""Exercises of the chapter *AdaDelta*: one AdaDelta step, both running averages included."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "AdaDelta"
RHOS = (0.9, 0.95, 0.5, 0.99)
EPSILONS = (1e-6, 1e-4, 1e-2, 1e-8)


def adadelta_step(w, g, v, u, rho, eps):
    adadelta = optim.Adadelta(rho=rho, eps=eps)  # lr = 1: the paper's step, no learning rate
    new_w, state = one_step(adadelta, w, g, v=np.asarray(v, dtype=float),
                            u=np.asarray(u, dtype=float))
    return new_w, state.v, state.u


def _adadelta_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                v=positive(rng, shape, scale**2), u=positive(rng, shape, scale**2),
                rho=pick(rng, RHOS), eps=pick(rng, EPSILONS))


def _adadelta_cases(rng):
    first = _adadelta_args(rng, (3,), 1.0)
    still = _adadelta_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _adadelta_args) + [
        Case("first step: v = u = 0",
             {**first, "v": zeros_like(first["v"]), "u": zeros_like(first["u"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("small averages (≈1e-4) next to ε",
             {**_adadelta_args(rng, (3,), 1.0), "v": positive(rng, (3,), 1e-4),
              "u": positive(rng, (3,), 1e-4), "eps": 1e-4}),
    ]


def _eps_outside_the_roots(w, g, v, u, rho, eps):
    v = rho * v + (1 - rho) * g * g
    delta = (np.sqrt(u) + eps) / (np.sqrt(v) + eps) * g
    return w - delta, v, rho * u + (1 - rho) * delta * delta


def _step_used_the_new_u(w, g, v, u, rho, eps):
    v = rho * v + (1 - rho) * g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta * delta
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g  # ...recomputed with U_t, not U_{t-1}
    return w - delta, v, u


def _v_after_the_step(w, g, v, u, rho, eps):
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    v = rho * v + (1 - rho) * g * g
    return w - delta, v, rho * u + (1 - rho) * delta * delta


def _no_root_below(w, g, v, u, rho, eps):
    v = rho * v + (1 - rho) * g * g
    delta = np.sqrt(u + eps) / (v + eps) * g
    return w - delta, v, rho * u + (1 - rho) * delta * delta


def _no_one_minus_rho(w, g, v, u, rho, eps):
    v = rho * v + g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    return w - delta, v, rho * u + delta * delta


def _g_squared_in_u(w, g, v, u, rho, eps):
    v = rho * v + (1 - rho) * g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    return w - delta, v, rho * u + (1 - rho) * g * g


def _averages_in_place(w, g, v, u, rho, eps):
    v *= rho
    v += (1 - rho) * g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u *= rho
    u += (1 - rho) * delta * delta
    return w - delta, v, u


register(Exercise(
    name="adadelta_step", chapter=CHAPTER, reference=adadelta_step,
    make_cases=_adadelta_cases, returns=("w", "v", "u"),
    task="""
One step of AdaDelta, as in Zeiler's paper (no learning rate). `v` is V_{t−1}, the running
average of squared gradients, and `u` is U_{t−1}, the running average of squared updates
(both 0 before the first step):

    V_t = ρ·V_{t−1} + (1 − ρ)·g²
    Δ   = √(U_{t−1} + ε) / √(V_t + ε) · g
    U_t = ρ·U_{t−1} + (1 − ρ)·Δ²
    w  ← w − Δ

`w, g, v, u` are numbers or arrays of one shape; `rho` and `eps` are numbers. Return the tuple
`(w, v, u)` with the new weights, V_t and U_t, as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("ε outside the square roots",
                "AdaDelta puts ε inside both roots: √(U_{t−1} + ε) / √(V_t + ε). Outside, "
                "(√U + ε) / (√V + ε), the first step (U = 0) is about ε·g/|g| instead of "
                "√ε·g/|g|: a thousand times smaller for ε = 1e-6, and the run barely starts.",
                _eps_outside_the_roots),
        Mistake("the step used U_t instead of U_{t−1}",
                "The numerator is the average of the *previous* updates, U_{t−1}: the update of "
                "this step is not known until it is computed. Compute Δ with the old `u`, and "
                "only then fold Δ² into it.", _step_used_the_new_u),
        Mistake("updated V after computing the step",
                "Fold g² into V first: the denominator is √(V_t + ε), which already contains this "
                "step's gradient. With V_{t−1} the first step divides by √ε alone.",
                _v_after_the_step),
        Mistake("divided by V_t + ε instead of its square root",
                "The denominator is an RMS, the root of the average of squares: √(V_t + ε). "
                "Without the root the step has the wrong units and its size depends on the "
                "scale of g.", _no_root_below),
        Mistake("forgot the (1 − ρ) factor in the averages",
                "A moving average weighs the new term by (1 − ρ): V_t = ρ·V_{t−1} + (1 − ρ)·g², "
                "and the same for U. Without it the averages are about 1/(1 − ρ) times too "
                "large.", _no_one_minus_rho),
        Mistake("accumulated g² in U instead of Δ²",
                "U is the running average of squared *updates*, ρ·U + (1 − ρ)·Δ², where Δ is the "
                "step just computed. With g² the numerator measures the gradients again, and the "
                "ratio loses the units of w.", _g_squared_in_u),
        Mistake("updated the averages in place",
                "`v *= rho` changes the caller's array. Write `v = rho * v + (1 - rho) * g * g`: "
                "a new array, the old state untouched.", _averages_in_place),
    ),
))
