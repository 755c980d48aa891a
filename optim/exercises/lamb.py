"""Exercises of the chapter *LARS and LAMB*: one LAMB step over several layers, each with its own trust ratio."""

import numpy as np

import optim

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "LARS and LAMB"
LEARNING_RATES = (0.1, 0.01, 0.001)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-6, 1e-4)
DECAYS = (0.01, 0.1)
STEPS = (1, 2, 3, 10, 100)


def lamb_step(W, G, m, v, t, lr, beta1, beta2, eps, weight_decay):
    # optim.LAMB with the paper's weight decay (inside the ratio); each row of W is one layer
    lamb = optim.LAMB(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, weight_decouple=False)
    new_W, state = one_step(lamb, W, G, t=t - 1, m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float))
    return new_W, state.m, state.v


def _args(rng, layers, size, scales=None, **fixed):
    scales = np.ones((layers, 1)) if scales is None else np.asarray(scales, dtype=float)[:, None]
    args = dict(W=numbers(rng, (layers, size)) * scales, G=numbers(rng, (layers, size)) / scales,
                m=numbers(rng, (layers, size)) * 0.1 / scales, v=positive(rng, (layers, size)) * 0.01 / scales**2,
                t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS), weight_decay=pick(rng, DECAYS))
    return {**args, **fixed}


def _cases(rng):
    first = _args(rng, 2, 4, t=1)
    first.update(m=np.zeros_like(first["m"]), v=np.zeros_like(first["v"]))
    zero = _args(rng, 3, 3)
    zero["W"][1] = 0.0                      # a layer initialised at zero (a last layer, often)
    return [
        Case("two layers of 4 weights", _args(rng, 2, 4)),
        Case("three layers of 3 weights", _args(rng, 3, 3)),
        Case("two layers whose scales differ by 100", _args(rng, 2, 5, scales=[0.05, 5.0])),
        Case("three layers whose scales differ by 1000", _args(rng, 3, 4, scales=[0.01, 0.3, 3.0])),
        Case("first step: t = 1, m = v = 0", first),
        Case("a layer of zeros (the ratio must be 1 there)", zero),
        Case("no weight decay", _args(rng, 2, 3, weight_decay=0.0)),
        Case("one layer only", _args(rng, 1, 6)),
        Case("a large layer, ‖w‖ > 10 (clamped at 10)", _args(rng, 2, 4, scales=[8.0, 0.5])),
        Case("late: t = 1000", _args(rng, 2, 4, t=1000)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _norm(x):
    return np.sqrt(np.sum(x * x, axis=-1, keepdims=True))


def _step(W, G, m, v, t, lr, beta1, beta2, eps, weight_decay, *, ratio_of="update", decay="inside",
          guard=True, norm=_norm, correct=True, paper_moments=False, clamp=10.0, eps_in_ratio=True):
    W, G = np.asarray(W, dtype=float), np.asarray(G, dtype=float)
    m = beta1 * m + (1 - beta1) * G
    v = beta2 * v + (1 - beta2) * G * G
    if paper_moments:                       # the paper's m̂, V̂ inside r, and no correction of the step
        adam = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        correct = False
    else:
        adam = m / (np.sqrt(v) + eps)
    r = adam + weight_decay * W if decay == "inside" else adam
    w_norm = norm(W) if clamp is None else np.minimum(norm(W), clamp)
    u_norm = norm(r if ratio_of == "update" else G)
    with np.errstate(divide="ignore", invalid="ignore"):
        trust = w_norm / (u_norm + eps) if eps_in_ratio else w_norm / u_norm
    if guard:
        trust = np.where((w_norm == 0) | (u_norm == 0), 1.0, trust)
    step = trust * r if decay == "inside" else trust * r + weight_decay * W
    return W - (lr / (1 - beta1**t) if correct else lr) * step, m, v


def _ratio_of_gradient(*args):
    return _step(*args, ratio_of="gradient")


def _decay_after_ratio(*args):
    return _step(*args, decay="after")


def _no_zero_guard(*args):
    return _step(*args, guard=False)


def _global_norm(*args):
    return _step(*args, norm=lambda x: np.sqrt(np.sum(x * x)))


def _no_correction(*args):
    return _step(*args, correct=False)


def _paper_moments(*args):
    return _step(*args, paper_moments=True)


def _no_clamp(*args):
    return _step(*args, clamp=None)


def _no_eps_in_ratio(*args):
    return _step(*args, eps_in_ratio=False)


def _state_in_place(W, G, m, v, t, lr, beta1, beta2, eps, weight_decay):
    new_W, new_m, new_v = _step(W, G, m, v, t, lr, beta1, beta2, eps, weight_decay)
    m[...] = new_m
    v[...] = new_v
    return new_W, m, v


register(Exercise(
    name="lamb_step", chapter=CHAPTER, reference=lamb_step,
    make_cases=_cases, returns=("W", "m", "v"),
    task="""
One step of LAMB with the paper's weight decay (optim.LAMB(weight_decouple=False)), for
several layers at once: each row of `W` (shape layers × weights) is one layer, and each
layer has its own trust ratio. `t` is the number of this step (1 for the first):

    m_t = β₁·m + (1 − β₁)·G          v_t = β₂·v + (1 − β₂)·G²      (element-wise)
    r   = m_t / (√v_t + ε) + λ·W                                   (the update, decay inside)
    for each row (layer):  trust = min(‖w‖, 10) / (‖r‖ + ε),
                           but 1 if ‖w‖ = 0 or ‖r‖ = 0
    W ← W − lr/(1 − β₁ᵗ) · trust · r

‖·‖ is the L2 norm of one row. (The clamp at 10, the ε in the ratio and the correction
1/(1 − β₁ᵗ) of the step are pytorch_optimizer's choices, which optim.LAMB follows.)
`W, G, m, v` are arrays of one shape; `t` is an int; `lr, beta1, beta2, eps, weight_decay`
are numbers. Return the tuple `(W, m, v)` with the new m_t and v_t, as new arrays: leave
the inputs unchanged.
""",
    mistakes=(
        Mistake("trust ratio of the gradient, not of the update",
                "LAMB's ratio is ‖w‖/‖r‖ with r the Adam update m/(√v + ε) + λw, the step that is "
                "actually taken. ‖w‖/‖g‖ is LARS's ratio, made for SGD, where the step is g itself.",
                _ratio_of_gradient),
        Mistake("weight decay added after the trust ratio",
                "In the paper's LAMB, λw is part of r, so the ratio rescales it with the Adam step "
                "and the ratio's norm includes it: W − lr·trust·(m/(√v+ε) + λw), with trust computed "
                "from that sum.", _decay_after_ratio),
        Mistake("no guard for a zero norm",
                "A layer of zeros (‖w‖ = 0) would get trust 0 and never move. The rule sets the "
                "ratio to 1 when ‖w‖ = 0 or ‖r‖ = 0, so a zero-initialised layer takes an unscaled "
                "step lr/(1 − β₁ᵗ)·r.", _no_zero_guard),
        Mistake("one norm over all layers instead of one per layer",
                "The whole point is a ratio per layer: take the norms along the last axis "
                "(np.linalg.norm(W, axis=-1, keepdims=True)), not over the whole array.",
                _global_norm),
        Mistake("the step not divided by 1 − β₁ᵗ",
                "optim.LAMB (as pytorch_optimizer.Lamb) divides the learning rate by 1 − β₁ᵗ after "
                "the trust ratio: lr/(1 − β₁ᵗ)·trust·r. Early steps are up to 1/(1 − β₁) times longer.",
                _no_correction),
        Mistake("bias-corrected m̂, V̂ as in the paper",
                "The paper's form divides m by 1 − β₁ᵗ and v by 1 − β₂ᵗ inside r and leaves the step "
                "alone. optim.LAMB (as pytorch_optimizer.Lamb) does neither: r = m/(√v + ε) + λw from the "
                "raw averages, and the step is divided by 1 − β₁ᵗ after the trust ratio (see the table in "
                "the chapter's section on what the libraries do).",
                _paper_moments),
        Mistake("no clamp at 10",
                "optim.LAMB (as pytorch_optimizer.Lamb) uses min(‖w‖, 10) in the ratio, not ‖w‖: a layer "
                "whose norm exceeds 10 moves by at most about lr·10/(1 − β₁ᵗ) per step.", _no_clamp),
        Mistake("no ε in the ratio",
                "The ratio is min(‖w‖, 10)/(‖r‖ + ε), with the same ε as in m/(√v + ε). Without it the "
                "step is longer by a factor 1 + ε/‖r‖: small, but more than the check tolerates.",
                _no_eps_in_ratio),
        Mistake("updated the state in place",
                "`m[...] = ...` or `m *= beta1` changes the caller's arrays. Write "
                "`m = beta1 * m + (1 - beta1) * G`: new arrays, the old state untouched.",
                _state_in_place),
    ),
))
