"""Exercises of the chapter *RAdam*: one RAdam step, as torch.optim.RAdam takes it."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "RAdam"
LEARNING_RATES = (0.1, 0.01, 0.001, 0.5)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-8, 1e-6, 1e-3)
# both sides of the switch (ρ_t > 5 from t = 6 on for these β₂), and late steps
STEPS = (1, 2, 3, 4, 5, 6, 7, 10, 100, 1000)


def radam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    radam = optim.RAdam(lr=lr, betas=(beta1, beta2), eps=eps)
    # The state holds the number of steps *done*, t − 1; this step makes it t.
    new_w, state = one_step(radam, w, g, t=t - 1,
                            m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float))
    return new_w, state.m, state.v


def _args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                m=numbers(rng, shape, scale), v=positive(rng, shape, scale**2),
                t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS))


def _cases(rng):
    first = _args(rng, (3,), 1.0)
    still = _args(rng, (3,), 1.0)
    tiny = _args(rng, (3,), 1e-8)
    return elementwise_cases(rng, _args) + [
        Case("first step: t = 1, m = v = 0",
             {**first, "t": 1, "m": zeros_like(first["m"]), "v": zeros_like(first["v"])}),
        Case("t = 5, β₂ = 0.999: ρ₅ ≈ 4.996, just below the switch",
             {**_args(rng, (3,), 1.0), "t": 5, "beta2": 0.999}),
        Case("t = 6, β₂ = 0.99: the first adaptive step",
             {**_args(rng, (3,), 1.0), "t": 6, "beta2": 0.99}),
        Case("t = 6, β₂ = 0.8: t > 5 but ρ₆ ≈ 4.74",
             {**_args(rng, (4,), 1.0), "t": 6, "beta2": 0.8}),
        Case("t = 7, β₂ = 0.8: the first adaptive step",
             {**_args(rng, (4,), 1.0), "t": 7, "beta2": 0.8}),
        Case("tiny gradients (≈1e-8), ε = 1e-8, t = 10, β₂ = 0.99",
             {**tiny, "t": 10, "beta2": 0.99, "eps": 1e-8}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: t = 10000", {**_args(rng, (3,), 1.0), "t": 10_000}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------
# Each one is the rule with one thing changed; `_finish` takes the change as an argument.

def _step(w, g, m, v, t, lr, beta1, beta2, eps, **changes):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return _finish(w, m, v, t, lr, beta1, beta2, eps, **changes), m, v


def _finish(w, m, v, t, lr, beta1, beta2, eps, *, threshold=5.0, minus_one=True, root=True,
            below="momentum", denominator="torch", use_rho=True):
    """The new w from the new m_t and v_t."""
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - (1 if minus_one else 0)
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if not (rho_t if use_rho else t) > threshold:
        if below == "momentum":
            return w - lr * m_hat
        if below == "nothing":
            return w + 0 * m
        if below == "raw momentum":
            return w - lr * m
        if below == "adam":
            return w - lr * m_hat / (np.sqrt(v / (1 - beta2**t)) + eps)
    r2 = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    r_t = np.sqrt(r2) if root else r2
    correction = np.sqrt(1 - beta2**t)
    adaptive = {
        "torch": correction / (np.sqrt(v) + eps),            # ε on the uncorrected √v_t
        "twice": correction / (np.sqrt(v) / correction + eps),
        "uncorrected": 1 / (np.sqrt(v) + eps),
        "v_hat": 1 / (np.sqrt(v) / correction + eps),          # Adam's habit: ε on √v̂_t
    }[denominator]
    return w - lr * r_t * m_hat * adaptive


def _threshold_four(*args):
    return _step(*args, threshold=4.0)


def _steps_not_rho(*args):
    return _step(*args, use_rho=False)


def _rho_inf_without_minus_one(*args):
    return _step(*args, minus_one=False)


def _no_square_root(*args):
    return _step(*args, root=False)


def _no_step_below(*args):
    return _step(*args, below="nothing")


def _adam_step_below(*args):
    return _step(*args, below="adam")


def _uncorrected_momentum_below(*args):
    return _step(*args, below="raw momentum")


def _v_corrected_twice(*args):
    return _step(*args, denominator="twice")


def _v_not_corrected(*args):
    return _step(*args, denominator="uncorrected")


def _eps_on_v_hat(*args):
    return _step(*args, denominator="v_hat")


def _state_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    return _finish(w, m, v, t, lr, beta1, beta2, eps), m, v


register(Exercise(
    name="radam_step", chapter=CHAPTER, reference=radam_step,
    make_cases=_cases, returns=("w", "m", "v"),
    task="""
One step of RAdam, as torch.optim.RAdam takes it. `t` is the number of this step (1 for the
first):

    m_t = β₁·m + (1 − β₁)·g          v_t = β₂·v + (1 − β₂)·g²
    m̂_t = m_t / (1 − β₁ᵗ)
    ρ_∞ = 2/(1 − β₂) − 1             ρ_t = ρ_∞ − 2·t·β₂ᵗ / (1 − β₂ᵗ)
    if ρ_t > 5:   r_t = √[(ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)]
                  w ← w − lr·r_t·m̂_t·√(1 − β₂ᵗ) / (√v_t + ε)
    otherwise:    w ← w − lr·m̂_t          (a momentum step, not normalised)

Note where ε goes: it is added to the uncorrected √v_t, as in torch.
`w, g, m, v` are numbers or arrays of one shape; `t` is an int; `lr, beta1, beta2, eps` are
numbers. Return the tuple `(w, m, v)` with the new m_t and v_t, as new arrays: leave the
inputs unchanged.
""",
    mistakes=(
        Mistake("threshold at ρ_t above 4 (the paper), not above 5 (torch)",
                "The paper's Algorithm 2 switches the adaptive step on when ρ_t > 4, but this "
                "exercise follows torch.optim.RAdam, which waits for ρ_t > 5. With β₂ close to 1, "
                "ρ_t is about t − 0.004 early on, so ρ₅ ≈ 4.996: for torch, step 5 is still a "
                "momentum step.",
                _threshold_four),
        Mistake("tested the step t instead of ρ_t",
                "The switch is on ρ_t > 5, not on t > 5. They agree for β₂ ≥ 0.9, but for "
                "smaller β₂ the moving average is shorter and ρ_t reaches 5 later "
                "(β₂ = 0.8: at t = 7).", _steps_not_rho),
        Mistake("ρ_∞ = 2/(1 − β₂), without the − 1",
                "The simple moving average with the same centre of mass as the exponential one "
                "has length ρ_∞ = 2/(1 − β₂) − 1. Without the − 1 every ρ_t is one too large: "
                "the switch comes a step early and r_t is off.", _rho_inf_without_minus_one),
        Mistake("r_t without the square root",
                "r_t is the ratio of two standard deviations, so it is the square root of the "
                "ratio of variances (ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t).",
                _no_square_root),
        Mistake("no step below the threshold",
                "Some implementations skip the update while ρ_t ≤ 5 (pytorch_optimizer's RAdam, "
                "and the authors' code since July 2021, by default); this exercise follows "
                "torch, which takes a momentum step w − lr·m̂_t there. Update m and v in both "
                "cases.",
                _no_step_below),
        Mistake("an Adam step below the threshold",
                "While ρ_t ≤ 5 the adaptive rate is not trusted at all: the step is the "
                "un-normalised w − lr·m̂_t, with no division by √v̂_t.", _adam_step_below),
        Mistake("momentum step without the bias correction of m",
                "Below the threshold the step is w − lr·m̂_t with m̂_t = m_t/(1 − β₁ᵗ); the raw "
                "m_t is far too small in the first steps (1 − β₁ at t = 1).",
                _uncorrected_momentum_below),
        Mistake("bias correction of v applied twice",
                "√(1 − β₂ᵗ)/√v_t already is 1/√v̂_t: multiply by √(1 − β₂ᵗ) or divide v_t by "
                "(1 − β₂ᵗ), not both.", _v_corrected_twice),
        Mistake("no bias correction of v",
                "The adaptive step uses √v̂_t = √(v_t/(1 − β₂ᵗ)): multiply by √(1 − β₂ᵗ) "
                "(torch writes it that way) or divide v_t by 1 − β₂ᵗ before the root.",
                _v_not_corrected),
        Mistake("ε added to √v̂_t (as in Adam) instead of √v_t",
                "torch.optim.RAdam adds ε to the uncorrected root: √(1 − β₂ᵗ)/(√v_t + ε). "
                "Adding it to √v̂_t gives a different step when √v_t is as small as ε.",
                _eps_on_v_hat),
        Mistake("updated the state in place",
                "`m *= beta1` (or `m[:] = ...`) changes the caller's arrays. Write "
                "`m = beta1 * m + (1 - beta1) * g`: new arrays, the old state untouched.",
                _state_in_place),
    ),
))
