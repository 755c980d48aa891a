"""Exercises of the chapter *Lion*: one Lion step, as lion_pytorch.Lion (and the authors' reference) take it."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Lion"
LEARNING_RATES = (0.1, 0.01, 0.3, 0.03)    # never 1: there, "decay without lr" is right by accident
BETA1S = (0.9, 0.95, 0.5)
BETA2S = (0.99, 0.98, 0.8)                 # never equal to a β₁: swapping them must show
WEIGHT_DECAYS = (0.1, 0.5, 1.0, 2.0)


def lion_step(w, g, m, lr, beta1, beta2, weight_decay):
    lion = optim.Lion(lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)
    new_w, state = one_step(lion, w, g, m=np.asarray(m, dtype=float))
    return new_w, state.m


def _args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale), m=numbers(rng, shape, scale),
                lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S), beta2=pick(rng, BETA2S),
                weight_decay=pick(rng, WEIGHT_DECAYS))


def _cases(rng):
    fresh = _args(rng, (4,), 1.0)
    still = _args(rng, (3,), 1.0)
    balanced = _args(rng, (3,), 1.0)
    against = _args(rng, (4,), 1.0)
    return elementwise_cases(rng, _args) + [
        Case("first step: m = 0, so the step is sign(g)", {**fresh, "m": zeros_like(fresh["m"])}),
        Case("zero gradient and zero memory: sign(0) = 0, only the decay moves w",
             {**still, "g": zeros_like(still["g"]), "m": zeros_like(still["m"])}),
        Case("c = 0 exactly: β₁ = 0.5 and m = −g", {**balanced, "beta1": 0.5, "beta2": 0.9,
                                                     "m": -balanced["g"]}),
        Case("the memory points against the gradient: m = −3g, β₁ = 0.9, β₂ = 0.8",
             {**against, "m": -3 * against["g"], "beta1": 0.9, "beta2": 0.8}),
        Case("weight_decay = 0", {**_args(rng, (3,), 1.0), "weight_decay": 0.0}),
        Case("β₁ = 0: the sign of the gradient alone", {**_args(rng, (3,), 1.0), "beta1": 0.0}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _lion(w, g, m, lr, beta1, beta2, weight_decay, *, new_m_first=False, swap=False, l2=False,
          sign=True, decay="before"):
    if swap:
        beta1, beta2 = beta2, beta1
    if l2:
        g = g + weight_decay * w
    m_new = beta2 * m + (1 - beta2) * g
    c = beta1 * (m_new if new_m_first else m) + (1 - beta1) * g
    u = np.sign(c) if sign else c
    if l2:
        return w - lr * u, m_new
    if decay == "before":
        return w * (1 - lr * weight_decay) - lr * u, m_new
    if decay == "without lr":
        return w * (1 - weight_decay) - lr * u, m_new
    return (w - lr * u) * (1 - lr * weight_decay), m_new          # "after"


def _new_m_first(*args):
    return _lion(*args, new_m_first=True)


def _betas_swapped(*args):
    return _lion(*args, swap=True)


def _l2_in_the_gradient(*args):
    return _lion(*args, l2=True)


def _no_sign(*args):
    return _lion(*args, sign=False)


def _decay_without_lr(*args):
    return _lion(*args, decay="without lr")


def _decay_after_the_step(*args):
    return _lion(*args, decay="after")


def _state_in_place(w, g, m, lr, beta1, beta2, weight_decay):
    c = beta1 * m + (1 - beta1) * g
    m *= beta2
    m += (1 - beta2) * g
    return w * (1 - lr * weight_decay) - lr * np.sign(c), m


register(Exercise(
    name="lion_step", chapter=CHAPTER, reference=lion_step,
    make_cases=_cases, returns=("w", "m"),
    task="""
One step of Lion, as the authors' reference and lion_pytorch.Lion take it:

    c   = β₁·m + (1 − β₁)·g             (the update's interpolation, with the *old* m)
    w  ← (1 − lr·λ)·w − lr·sign(c)      (decoupled weight decay, λ = weight_decay; sign(0) = 0)
    m  ← β₂·m + (1 − β₂)·g              (the memory, updated last)

`w, g, m` are numbers or arrays of one shape; `lr, beta1, beta2, weight_decay` are numbers.
Return the tuple `(w, m)` with the new values, as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("the memory was updated first, and the update used the new m",
                "Lion computes the update from the old memory: c = β₁·m_{t−1} + (1 − β₁)·g_t, and only "
                "then updates m ← β₂·m + (1 − β₂)·g_t. With the new m the gradient enters c twice, "
                "and the two β's no longer do two different jobs.", _new_m_first),
        Mistake("β₁ and β₂ swapped",
                "β₁ (0.9 by default) interpolates the update, β₂ (0.99) is the memory's decay: the "
                "update weighs the new gradient by 1 − β₁ = 0.1, more than the memory does "
                "(1 − β₂ = 0.01).", _betas_swapped),
        Mistake("weight decay added to the gradient (L2) instead of decoupled",
                "λ·w added to g goes through the sign: its size is lost, and it also enters the "
                "memory. Lion's decay is decoupled: multiply w by (1 − lr·λ), apart from the sign step.",
                _l2_in_the_gradient),
        Mistake("no sign: the step is lr·c",
                "The step is lr·sign(c): every coordinate moves by exactly lr (or 0 where c = 0), "
                "whatever the size of the gradient. Use np.sign(c).", _no_sign),
        Mistake("decay without the learning rate: w·(1 − λ)",
                "The weights shrink by the factor (1 − lr·λ): the decay is scaled by the learning "
                "rate (and by its schedule), as in AdamW.", _decay_without_lr),
        Mistake("decay applied after the sign step",
                "Decay first, then the step: w ← (1 − lr·λ)·w − lr·sign(c). Decaying after the step "
                "shrinks the step too, by lr·λ of it.", _decay_after_the_step),
        Mistake("updated the state in place",
                "`m *= beta2` (or `m[:] = ...`) changes the caller's array. Write "
                "`m = beta2 * m + (1 - beta2) * g`: a new array, the old state untouched.",
                _state_in_place),
    ),
))
