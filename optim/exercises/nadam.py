"""Exercises of the chapter *Nadam*: one step of Nadam without the momentum schedule, and the
two weights of torch's NAdam step, with Dozat's schedule μ_t and its products."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Nadam"
LEARNING_RATES = (0.1, 0.01, 0.001, 0.5)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-8, 1e-6, 1e-3)
STEPS = (2, 3, 5, 10, 100)


# --- nadam_step: Nadam with a constant μ = β₁ ------------------------------------------------

def nadam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    # momentum_decay = inf turns Dozat's schedule off: μ_t = β₁ at every step, ∏μ = β₁ᵗ.
    nadam = optim.NAdam(lr=lr, betas=(beta1, beta2), eps=eps, momentum_decay=np.inf)
    # The state holds the number of steps *done*, t − 1, and ∏_{i<t} μ_i = β₁^(t−1).
    new_w, state = one_step(nadam, w, g, t=t - 1, mu_product=float(beta1) ** (t - 1),
                            m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float))
    return new_w, state.m, state.v


def _nadam_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                m=numbers(rng, shape, scale), v=positive(rng, shape, scale**2),
                t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS))


def _nadam_cases(rng):
    first = _nadam_args(rng, (3,), 1.0)
    still = _nadam_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _nadam_args) + [
        Case("first step: t = 1, m = v = 0",
             {**first, "t": 1, "m": zeros_like(first["m"]), "v": zeros_like(first["v"])}),
        Case("zero gradient", {**still, "g": zeros_like(still["g"])}),
        Case("late: t = 10000", {**_nadam_args(rng, (3,), 1.0), "t": 10_000}),
    ]


def _moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2


def _finish(w, direction, v, t, lr, beta2, eps):
    return w - lr * direction / (np.sqrt(v / (1 - beta2**t)) + eps)


def _plain_adam(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return _finish(w, m / (1 - beta1**t), v, t, lr, beta2, eps), m, v


def _lookahead_corrected_with_beta_t(w, g, m, v, t, lr, beta1, beta2, eps):
    # Ruder (2016): β₁·m̂_t + (1 − β₁)·g_t/(1 − β₁ᵗ), m̂_t = m_t/(1 − β₁ᵗ)
    m, v = _moments(g, m, v, beta1, beta2)
    direction = beta1 * m / (1 - beta1**t) + (1 - beta1) * g / (1 - beta1**t)
    return _finish(w, direction, v, t, lr, beta2, eps), m, v


def _forgot_the_gradient_term(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return _finish(w, beta1 * m / (1 - beta1 ** (t + 1)), v, t, lr, beta2, eps), m, v


def _gradient_term_uncorrected(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    direction = beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g
    return _finish(w, direction, v, t, lr, beta2, eps), m, v


def _old_momentum_in_the_lookahead(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new, v = _moments(g, m, v, beta1, beta2)
    direction = beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)
    return _finish(w, direction, v, t, lr, beta2, eps), m_new, v


def _nadam_direction(g, m, t, beta1):
    return beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)


def _eps_inside_the_root(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return w - lr * _nadam_direction(g, m, t, beta1) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def _v_uncorrected(w, g, m, v, t, lr, beta1, beta2, eps):
    m, v = _moments(g, m, v, beta1, beta2)
    return w - lr * _nadam_direction(g, m, t, beta1) / (np.sqrt(v) + eps), m, v


def _state_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g**2
    return _finish(w, _nadam_direction(g, m, t, beta1), v, t, lr, beta2, eps), m, v


register(Exercise(
    name="nadam_step", chapter=CHAPTER, reference=nadam_step,
    make_cases=_nadam_cases, returns=("w", "m", "v"),
    task="""
One step of Nadam without the momentum schedule (μ_t = β₁ at every step). `t` is the number
of this step (1 for the first):

    m_t = β₁·m + (1 − β₁)·g          v_t = β₂·v + (1 − β₂)·g²
    m̂_t = β₁·m_t / (1 − β₁ᵗ⁺¹) + (1 − β₁)·g / (1 − β₁ᵗ)       (the look-ahead)
    v̂_t = v_t / (1 − β₂ᵗ)
    w  ← w − lr·m̂_t / (√v̂_t + ε)

`w, g, m, v` are numbers or arrays of one shape; `t` is an int; `lr, beta1, beta2, eps` are
numbers. Return the tuple `(w, m, v)` with the new m_t and v_t (not m̂_t, v̂_t), as new arrays:
leave the inputs unchanged.
""",
    mistakes=(
        Mistake("the plain Adam step (no look-ahead)",
                "Adam steps along m_t/(1 − β₁ᵗ). Nadam looks one step ahead: the momentum part "
                "uses the new m_t as if it were next step's, β₁·m_t/(1 − β₁ᵗ⁺¹), and the "
                "gradient part (1 − β₁)·g/(1 − β₁ᵗ) is added to it.", _plain_adam),
        Mistake("Ruder's simplification: the look-ahead term corrected with 1 − β₁ᵗ, "
                "not 1 − β₁ᵗ⁺¹",
                "You wrote β₁·m̂_t + (1 − β₁)·g/(1 − β₁ᵗ) with m̂_t = m_t/(1 − β₁ᵗ): the form of "
                "Ruder's overview (2016), which simplifies Dozat's. In Dozat's Nadam (and in torch "
                "and Keras) β₁·m_t stands in for next step's momentum, an average of t + 1 "
                "gradients, so its bias correction is 1 − β₁ᵗ⁺¹; the gradient term keeps 1 − β₁ᵗ.",
                _lookahead_corrected_with_beta_t),
        Mistake("forgot the (1 − β₁)·g_t term",
                "The look-ahead has two parts: β₁·m_t/(1 − β₁ᵗ⁺¹) *plus* the fresh gradient "
                "(1 − β₁)·g/(1 − β₁ᵗ). Without the second, the step lags like heavy ball.",
                _forgot_the_gradient_term),
        Mistake("gradient term without its bias correction",
                "Divide the gradient term by 1 − β₁ᵗ as well: (1 − β₁)·g/(1 − β₁ᵗ). At t = 1 that "
                "factor is 1/(1 − β₁), ten times the gradient for β₁ = 0.9.",
                _gradient_term_uncorrected),
        Mistake("used the old momentum (m_t−1) in the look-ahead",
                "Update the average first, m_t = β₁·m + (1 − β₁)·g, and use the *new* m_t in "
                "β₁·m_t/(1 − β₁ᵗ⁺¹): that is what makes it a look-ahead.",
                _old_momentum_in_the_lookahead),
        Mistake("ε inside the square root",
                "ε goes outside the root: √v̂_t + ε, not √(v̂_t + ε). It matters when v̂_t is as "
                "small as ε (tiny gradients).", _eps_inside_the_root),
        Mistake("v without its bias correction",
                "Divide v_t by 1 − β₂ᵗ before the root, as Adam does: early on the uncorrected "
                "√v_t is far too small and the step far too long.", _v_uncorrected),
        Mistake("updated the state in place",
                "`m *= beta1` (or `m[:] = ...`) changes the caller's arrays. Write "
                "`m = beta1 * m + (1 - beta1) * g`: new arrays, the old state untouched.",
                _state_in_place),
    ),
))


# --- nadam_weights: the two weights of torch's step, with Dozat's schedule ------------------

def _mu(i, beta1, momentum_decay):
    return beta1 * (1.0 - 0.5 * 0.96 ** (i * momentum_decay))


def nadam_weights(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    i = np.arange(1, t + 2, dtype=float).reshape(-1, *[1] * beta1.ndim)  # i = 1, …, t + 1
    mu = _mu(i, beta1, momentum_decay)                                    # μ_1, …, μ_{t+1}
    product = np.prod(mu[:t], axis=0)                                     # ∏_{i≤t} μ_i
    weight_g = (1.0 - mu[t - 1]) / (1.0 - product)
    weight_m = mu[t] / (1.0 - product * mu[t])
    return weight_g, weight_m


def _weights_cases(rng):
    decays = (0.004, 0.04, 0.4, 4.0)

    def args(t, beta1):
        return dict(t=t, beta1=beta1, momentum_decay=pick(rng, decays))

    def betas(n):
        return np.array([pick(rng, (0.9, 0.8, 0.99, 0.5, 0.95)) for _ in range(n)])

    return [
        Case("first step, β₁ = 0.9", dict(t=1, beta1=0.9, momentum_decay=0.004)),
        Case("second step, β₁ = 0.9", dict(t=2, beta1=0.9, momentum_decay=0.004)),
        Case("scalars", args(pick(rng, (3, 5, 10)), pick(rng, (0.9, 0.8, 0.5)))),
        Case("scalars", args(pick(rng, (20, 50, 100)), pick(rng, (0.9, 0.99)))),
        Case("an array of β₁", args(pick(rng, (1, 2, 3)), betas(3))),
        Case("an array of β₁", args(pick(rng, (5, 10, 30)), betas(4))),
        Case("a grid of β₁ (2 × 3)", args(7, betas(6).reshape(2, 3))),
        Case("late: t = 1000, torch's ψ", dict(t=1000, beta1=betas(3), momentum_decay=0.004)),
        Case("late: t = 5000", args(5000, 0.9)),
    ]


def _no_schedule(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    return (1 - beta1) / (1 - beta1**t), beta1 / (1 - beta1 ** (t + 1))


def _schedule_without_psi(t, beta1, momentum_decay):
    return nadam_weights(t, beta1, 1.0)


def _mu_t_in_the_momentum_term(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    weight_g, _ = nadam_weights(t, beta1, momentum_decay)
    i = np.arange(1, t + 2, dtype=float).reshape(-1, *[1] * beta1.ndim)
    mu = _mu(i, beta1, momentum_decay)
    return weight_g, mu[t - 1] / (1.0 - np.prod(mu, axis=0))


def _one_product_for_both(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    weight_g, _ = nadam_weights(t, beta1, momentum_decay)
    i = np.arange(1, t + 2, dtype=float).reshape(-1, *[1] * beta1.ndim)
    mu = _mu(i, beta1, momentum_decay)
    return weight_g, mu[t] / (1.0 - np.prod(mu[:t], axis=0))


def _one_minus_beta1(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    _, weight_m = nadam_weights(t, beta1, momentum_decay)
    i = np.arange(1, t + 1, dtype=float).reshape(-1, *[1] * beta1.ndim)
    return (1 - beta1) / (1.0 - np.prod(_mu(i, beta1, momentum_decay), axis=0)), weight_m


def _power_instead_of_product(t, beta1, momentum_decay):
    beta1 = np.asarray(beta1, dtype=float)
    mu_t, mu_next = _mu(t, beta1, momentum_decay), _mu(t + 1, beta1, momentum_decay)
    return (1 - mu_t) / (1 - mu_t**t), mu_next / (1 - mu_next ** (t + 1))


register(Exercise(
    name="nadam_weights", chapter=CHAPTER, reference=nadam_weights,
    make_cases=_weights_cases, returns=("weight_g", "weight_m"),
    task="""
torch's NAdam steps along  weight_g·g_t + weight_m·m_t  (divided by √v̂_t + ε). With Dozat's
momentum schedule, for i = 1, 2, …

    μ_i = β₁·(1 − ½·0.96^(i·ψ))            (ψ = momentum_decay, 0.004 in torch)
    weight_g = (1 − μ_t) / (1 − μ_1·μ_2·…·μ_t)
    weight_m = μ_{t+1} / (1 − μ_1·μ_2·…·μ_t·μ_{t+1})

Return `(weight_g, weight_m)` for step `t` (an int, 1 for the first step). `beta1` is a number
or an array (one run per entry; return arrays of its shape); `momentum_decay` is a number.
""",
    mistakes=(
        Mistake("no schedule (μ_i = β₁)",
                "These are the weights of Nadam without the schedule. torch multiplies β₁ by "
                "(1 − ½·0.96^(i·ψ)): μ_i starts near β₁/2 and reaches β₁ only after many "
                "thousands of steps.", _no_schedule),
        Mistake("the schedule without momentum_decay (0.96^i)",
                "The exponent is i·ψ, not i: with ψ = 0.004 the schedule moves 250 times more "
                "slowly than 0.96^i.", _schedule_without_psi),
        Mistake("μ_t in the momentum weight instead of μ_t+1",
                "The momentum term is the look-ahead: it uses next step's μ_{t+1}, in the "
                "numerator and as the last factor of the product.", _mu_t_in_the_momentum_term),
        Mistake("the momentum weight corrected with the product up to t",
                "The momentum term stands for step t + 1: divide μ_{t+1} by 1 − μ_1·…·μ_{t+1}, "
                "one factor more than the gradient term.", _one_product_for_both),
        Mistake("1 − β₁ in the gradient weight instead of 1 − μ_t",
                "With a schedule, the gradient enters with the current μ_t: (1 − μ_t), "
                "divided by 1 − μ_1·…·μ_t.", _one_minus_beta1),
        Mistake("a power μ_t^t instead of the product of the μ_i",
                "The μ_i change with i, so their product is not a power: multiply "
                "μ_1·μ_2·…·μ_t (a running product, as torch keeps in `mu_product`).",
                _power_instead_of_product),
    ),
))
