"""Exercises of the chapter *Momentum*: one heavy-ball step in torch's convention, and the
largest learning rate at which the heavy ball is stable on a quadratic."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
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


def _nesterov(w, g, v, lr, beta):
    v = beta * v + g
    return w - lr * (g + beta * v), v


def _returned_the_old_velocity(w, g, v, lr, beta):
    return w - lr * (beta * v + g), v


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
        Mistake("moved the position before updating the velocity",
                "Update the velocity first, then step with the new one: w ← w − lr·(β·v + g). "
                "Stepping with the old v lags one step behind (and never moves at the first step).",
                _old_velocity),
        Mistake("the Nesterov look-ahead instead of the heavy ball",
                "w ← w − lr·(g + β·v_new) is Nesterov momentum (torch's nesterov=True, next chapter). "
                "The heavy ball steps with the velocity itself: w ← w − lr·v_new.", _nesterov),
        Mistake("returned the old velocity",
                "The position is right, but return the *new* velocity β·v + g: the next step needs it.",
                _returned_the_old_velocity),
        Mistake("updated the velocity in place",
                "`v *= beta` changes the caller's array. Write `v = beta * v + g`: a new array.",
                _velocity_in_place),
    ),
))


# --- max_stable_lr -------------------------------------------------------------------------

STIFFNESSES = (1.0, 10.0, 0.5, 100.0, 4.0, 2.5)
STABLE_BETAS = (0.9, 0.5, 0.99, 0.8, 0.3)


def max_stable_lr(lam, beta):
    # The heavy ball on f(w) = ½·λ·w² is (w_{t+1}, w_t) = M (w_t, w_{t-1}) with
    # M = [[1 + β − αλ, −β], [1, 0]]; its eigenvalues stay inside the unit circle iff
    # 0 < αλ < 2 + 2β (0 <= β < 1): the chapter derives it, and measures it with `optim`.
    return 2 * (1 + np.asarray(beta, dtype=float)) / np.asarray(lam, dtype=float)


def _max_lr_cases(rng):
    def scalars():
        return dict(lam=pick(rng, STIFFNESSES), beta=pick(rng, STABLE_BETAS))

    def spectrum(n):
        return dict(lam=positive(rng, (n,), 10.0), beta=pick(rng, STABLE_BETAS))

    return [
        Case("scalars", scalars()), Case("scalars", scalars()), Case("scalars", scalars()),
        Case("a spectrum of λ, one β", spectrum(3)), Case("a spectrum of λ, one β", spectrum(5)),
        Case("a sweep of β, one λ", dict(lam=pick(rng, STIFFNESSES),
                                         beta=np.array([0.0, 0.5, 0.9, 0.99]))),
        Case("a batch: 4 β × 3 λ", dict(lam=positive(rng, (3,), 10.0),
                                         beta=np.array([[0.1], [0.5], [0.9], [0.95]]))),
        Case("β = 0 (plain gradient descent)", dict(lam=pick(rng, STIFFNESSES), beta=0.0)),
        Case("a stiff direction, λ = 1e4", dict(lam=1e4, beta=0.9)),
    ]


def _gd_bound(lam, beta):
    return 2 / np.asarray(lam, dtype=float) + 0 * np.asarray(beta, dtype=float)


def _effective_lr_bound(lam, beta):
    return 2 * (1 - np.asarray(beta, dtype=float)) / np.asarray(lam, dtype=float)


def _ema_form_bound(lam, beta):
    beta = np.asarray(beta, dtype=float)
    return 2 * (1 + beta) / ((1 - beta) * np.asarray(lam, dtype=float))


def _times_lambda(lam, beta):
    return 2 * (1 + np.asarray(beta, dtype=float)) * np.asarray(lam, dtype=float)


def _optimal_instead_of_largest(lam, beta):
    return (1 + np.asarray(beta, dtype=float)) / np.asarray(lam, dtype=float)


register(Exercise(
    name="max_stable_lr", chapter=CHAPTER, reference=max_stable_lr,
    make_cases=_max_lr_cases, returns=("lr",),
    task="""
The largest stable learning rate of the heavy ball (torch's form, v ← β·v + g, w ← w − lr·v) on
the quadratic f(w) = ½·λ·w², for momentum 0 <= β < 1: the α such that the iterates shrink to 0
for every 0 < lr < α and do not for lr > α.

`lam` (λ > 0) and `beta` are numbers or arrays that broadcast against each other (a spectrum of
curvatures, a sweep of β); return α, broadcast to their common shape.
""",
    mistakes=(
        Mistake("the bound of plain gradient descent",
                "2/λ is gradient descent's bound (β = 0). With momentum the stable range is wider: "
                "write the iteration as a 2×2 matrix acting on (w_t, w_{t−1}) and ask when both "
                "eigenvalues stay inside the unit circle.", _gd_bound),
        Mistake("shrunk by the effective learning rate",
                "Momentum multiplies the step by about 1/(1 − β) along *flat* directions, but the "
                "stiff direction flips sign each step and momentum damps it: the bound grows "
                "with β, to 2(1 + β)/λ, it does not shrink to 2(1 − β)/λ.", _effective_lr_bound),
        Mistake("the bound of the moving-average form",
                "2(1 + β)/((1 − β)·λ) is the bound for the EMA form v ← β·v + (1 − β)·g, whose "
                "α is 1/(1 − β) times torch's. The exercise asks for torch's form.", _ema_form_bound),
        Mistake("multiplied by λ instead of dividing",
                "A stiffer direction (larger λ) needs a *smaller* learning rate: the bound is "
                "proportional to 1/λ.", _times_lambda),
        Mistake("half the bound",
                "(1 + β)/λ is the middle of the stable range, not its end: the iteration stays "
                "stable up to αλ = 2 + 2β.", _optimal_instead_of_largest),
    ),
))
