"""Exercises of the chapter *Adam*: one Adam step, bias correction included, and one AMSGrad step."""

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


# --- adam_step ---------------------------------------------------------------------------

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


def _corrected_with_beta(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _eps_hat_as_given(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - lr_t * m / (np.sqrt(v) + eps), m, v


def _divided_by_v(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (v_hat + eps), m, v


def _corrected_m_only(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return w - lr * m / (1 - beta1**t) / (np.sqrt(v) + eps), m, v


def _corrected_v_only(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return w - lr * m / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


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
        Mistake("bias correction with β instead of βᵗ",
                "The weights of the moving average add up to 1 − βᵗ after t steps, so divide by "
                "1 − β₁**t and 1 − β₂**t. Dividing by 1 − β is right only at t = 1.",
                _corrected_with_beta),
        Mistake("ε added to the uncorrected root (the Keras ε̂ form)",
                "You folded the corrections into the learning rate, lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and "
                "then added ε to √v_t: that is Keras' form, where ε stands for ε̂. To get the step "
                "of this exercise (and of torch) add ε·√(1 − β₂ᵗ) to √v_t, or ε to √v̂_t.",
                _eps_hat_as_given),
        Mistake("divided by v̂_t instead of √v̂_t",
                "The step divides by the root of the second moment, √v̂_t + ε: it then has the "
                "units of lr, whatever the scale of g.", _divided_by_v),
        Mistake("bias correction of m only",
                "Correct both moments: m̂_t = m_t/(1 − β₁ᵗ) and v̂_t = v_t/(1 − β₂ᵗ). Early on the "
                "uncorrected √v_t is far too small, so the step is far too large.",
                _corrected_m_only),
        Mistake("bias correction of v only",
                "Correct both moments: m̂_t = m_t/(1 − β₁ᵗ) and v̂_t = v_t/(1 − β₂ᵗ). Early on the "
                "uncorrected m_t is too small, so the step is too short.", _corrected_v_only),
    ),
))


# --- amsgrad_step ------------------------------------------------------------------------

def amsgrad_step(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    amsgrad = optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps, amsgrad=True)
    new_w, state = one_step(amsgrad, w, g, t=t - 1, m=np.asarray(m, dtype=float),
                            v=np.asarray(v, dtype=float), v_max=np.asarray(v_max, dtype=float))
    return new_w, state.m, state.v, state.v_max


def _amsgrad_args(rng, shape, scale):
    args = _adam_args(rng, shape, scale)
    # A state AMSGrad can reach: the maximum is at least the average it has seen.
    v_max = args["v"] + positive(rng, shape, scale**2)
    return {name: args[name] for name in ("w", "g", "m", "v")} | {"v_max": v_max} | {
        name: args[name] for name in ("t", "lr", "beta1", "beta2", "eps")}


def _amsgrad_cases(rng):
    first = _amsgrad_args(rng, (3,), 1.0)
    still = _amsgrad_args(rng, (3,), 1.0)
    jump = _amsgrad_args(rng, (4,), 1.0)
    return elementwise_cases(rng, _amsgrad_args) + [
        Case("first step: t = 1, m = v = v_max = 0",
             {**first, "t": 1, **{k: zeros_like(first[k]) for k in ("m", "v", "v_max")}}),
        Case("a large gradient: v_t overtakes v_max",
             {**jump, "g": np.array([30.0, -20.0, 0.5, 40.0]), "beta2": 0.9}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: t = 10000", {**_amsgrad_args(rng, (3,), 1.0), "t": 10_000}),
    ]


def _ams_moments(g, m, v, v_max, beta1, beta2):
    m, v = _moments(g, m, v, beta1, beta2)
    return m, v, np.maximum(v_max, v)


def _ams_finish(w, m, v_max, t, lr, beta1, beta2, eps):
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v_max / (1 - beta2**t)) + eps)


def _plain_adam(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v, v_max = _ams_moments(g, m, v, v_max, beta1, beta2)
    return _ams_finish(w, m, v, t, lr, beta1, beta2, eps), m, v, v_max


def _maximum_after_the_step(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    w = _ams_finish(w, m, v_max, t, lr, beta1, beta2, eps)
    return w, m, v, np.maximum(v_max, v)


def _maximum_of_corrected(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    v_max = np.maximum(v_max, v / (1 - beta2**t))
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v_max) + eps), m, v, v_max


def _no_correction_as_in_the_paper(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v, v_max = _ams_moments(g, m, v, v_max, beta1, beta2)
    return w - lr * m / (np.sqrt(v_max) + eps), m, v, v_max


def _maximum_of_g_squared(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    v_max = np.maximum(v_max, g * g)
    return _ams_finish(w, m, v_max, t, lr, beta1, beta2, eps), m, v, v_max


def _averaged_from_the_maximum(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v_max, beta1, beta2)
    v_max = np.maximum(v_max, v)
    return _ams_finish(w, m, v_max, t, lr, beta1, beta2, eps), m, v, v_max


def _maximum_in_place(w, g, m, v, v_max, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    v_max = np.maximum(v_max, v, out=v_max)
    return _ams_finish(w, m, v_max, t, lr, beta1, beta2, eps), m, v, v_max


register(Exercise(
    name="amsgrad_step", chapter=CHAPTER, reference=amsgrad_step,
    make_cases=_amsgrad_cases, returns=("w", "m", "v", "v_max"),
    task="""
One step of AMSGrad, as torch.optim.Adam(amsgrad=True) takes it. `t` is the number of this
step (1 for the first); `v_max` is the largest v seen so far (0 before the first step):

    m_t = β₁·m + (1 − β₁)·g          v_t = β₂·v + (1 − β₂)·g²
    v_max ← max(v_max, v_t)                       (element-wise)
    w  ← w − lr·(m_t / (1 − β₁ᵗ)) / (√(v_max / (1 − β₂ᵗ)) + ε)

`w, g, m, v, v_max` are numbers or arrays of one shape; `t` is an int; `lr, beta1, beta2, eps`
are numbers. Return the tuple `(w, m, v, v_max)`, as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("divided by v_t, not by the maximum (that is Adam)",
                "AMSGrad's whole point is the denominator: use √(v_max/(1 − β₂ᵗ)) with the new "
                "v_max = max(v_max, v_t), so a large gradient of the past keeps the step small.",
                _plain_adam),
        Mistake("took the maximum after the step",
                "Update v_max = max(v_max, v_t) first, then divide by it: the step must already "
                "see this step's v_t (at t = 1 the old v_max is 0).", _maximum_after_the_step),
        Mistake("kept the maximum of the corrected v̂_t",
                "torch keeps the maximum of the raw v_t and divides it by 1 − β₂ᵗ at every step. "
                "The maximum of v̂_t = v_t/(1 − β₂ᵗ) holds on to the large early values of the "
                "correction and is a different state.", _maximum_of_corrected),
        Mistake("no bias correction (as in Algorithm 2 of Reddi et al.)",
                "The paper's AMSGrad has no bias correction; torch's, which this exercise "
                "follows, divides m_t by 1 − β₁ᵗ and v_max by 1 − β₂ᵗ as Adam does.",
                _no_correction_as_in_the_paper),
        Mistake("took the maximum of g² instead of v_t",
                "v_max is the largest *average* v_t seen so far, max(v_max, v_t), not the largest "
                "squared gradient.", _maximum_of_g_squared),
        Mistake("averaged v_t from v_max instead of v",
                "The moving average continues from its own last value: v_t = β₂·v + (1 − β₂)·g². "
                "v_max is kept beside it and only enters the denominator.",
                _averaged_from_the_maximum),
        Mistake("updated v_max in place",
                "`np.maximum(v_max, v, out=v_max)` changes the caller's array (and fails on plain "
                "numbers). Write `v_max = np.maximum(v_max, v)`: a new array, the old state "
                "untouched.", _maximum_in_place),
    ),
))
