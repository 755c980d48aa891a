"""Exercises of the chapter *Nesterov (NAG)*: one Nesterov step in torch's form, and the largest
stable learning rate of NAG on a quadratic."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Nesterov (NAG)"
LEARNING_RATES = (0.1, 0.01, 0.5, 0.03)
BETAS = (0.9, 0.5, 0.99, 0.8)  # torch refuses nesterov=True with momentum 0


# --- nesterov_step ---------------------------------------------------------------------

def nesterov_step(w, g, b, lr, beta):
    nag = optim.SGD(lr=lr, momentum=beta, nesterov=True)
    new_w, state = one_step(nag, w, g, m=np.asarray(b, dtype=float))
    return new_w, state.m


def _nesterov_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale), b=numbers(rng, shape, scale),
                lr=pick(rng, LEARNING_RATES), beta=pick(rng, BETAS))


def _nesterov_cases(rng):
    first = _nesterov_args(rng, (3,), 1.0)
    coasting = _nesterov_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _nesterov_args) + [
        Case("first step: b = 0", {**first, "b": zeros_like(first["b"])}),
        Case("zero gradient (coasting)", {**coasting, "g": zeros_like(coasting["g"])}),
    ]


def _heavy_ball(w, g, b, lr, beta):
    b = beta * b + g
    return w - lr * b, b


def _momentum_term_sign(w, g, b, lr, beta):
    b = g - beta * b
    return w - lr * (g + beta * b), b


def _dampened(w, g, b, lr, beta):
    b = beta * b + (1 - beta) * g
    return w - lr * (g + beta * b), b


def _step_stored_as_the_buffer(w, g, b, lr, beta):
    b = beta * b + g
    b = g + beta * b          # one name for two things: the buffer is overwritten by the step
    return w - lr * b, b


def _sutskever_without_look_ahead(w, g, b, lr, beta):
    b = beta * b - lr * g
    return w + b, b


def _buffer_in_place(w, g, b, lr, beta):
    b *= beta
    b += g
    return w - lr * (g + beta * b), b


register(Exercise(
    name="nesterov_step", chapter=CHAPTER, reference=nesterov_step,
    make_cases=_nesterov_cases, returns=("w", "b"),
    task="""
One step of SGD with Nesterov momentum, in torch's form (the gradient `g` is taken at the
current weights `w`; `b` is the momentum buffer, 0 before the first step):

    b ← β·b + g
    w ← w − lr·(g + β·b)

`w, g, b` are numbers or arrays of one shape; `lr` and `beta` are numbers.
Return the tuple `(w, b)` of new values, as new arrays.
""",
    mistakes=(
        Mistake("plain (heavy-ball) momentum: no look-ahead",
                "w ← w − lr·b (the same as w − lr·(g + β·b_old), the *old* buffer) is heavy-ball momentum. "
                "Nesterov's look-ahead adds one more β: the step is lr·(g + β·b) with the *new* buffer b, "
                "which puts weight (1 + β) on the fresh gradient.",
                _heavy_ball),
        Mistake("the momentum term with the wrong sign",
                "The old buffer is *added*: b ← β·b + g. With −β·b the buffer flips direction at every "
                "step instead of building up speed.", _momentum_term_sign),
        Mistake("a dampened buffer (the moving-average form)",
                "b ← β·b + (1 − β)·g is torch's dampening = β, which torch refuses with nesterov=True. "
                "Nesterov momentum adds the whole gradient: b ← β·b + g.", _dampened),
        Mistake("stored the look-ahead step in the buffer",
                "The step g + β·b is used once and thrown away; the buffer keeps b ← β·b + g. "
                "Give the step its own name (`step = g + beta * b`) and return the buffer.",
                _step_stored_as_the_buffer),
        Mistake("the velocity form with the gradient at w (heavy ball, lr inside)",
                "v ← β·v − lr·g, w ← w + v is heavy ball written with lr inside the velocity: "
                "Sutskever's form needs the gradient at the look-ahead point w + β·v, and torch's form "
                "replaces that by the step g + β·b with lr outside the buffer.",
                _sutskever_without_look_ahead),
        Mistake("updated the buffer in place",
                "`b *= beta` changes the caller's array. Write `b = beta * b + g`: a new array.",
                _buffer_in_place),
    ),
))


# --- nesterov_max_lr -------------------------------------------------------------------

def _iteration_matrix(opt, lam):
    """The 2×2 matrix T with (w_{t+1}, b_t) = T (w_t, b_{t-1}) on f(w) = ½·lam·w², read off `opt`.

    Two runs in one batch: the columns of T are one step from (w, b) = (1, 0) and (0, 1).
    """
    w = np.array([1.0, 0.0])
    new_w, state = one_step(opt, w, lam * w, m=np.array([0.0, 1.0]))
    return np.array([new_w, state.m])


def _stable(lr, lam, beta):
    opt = optim.SGD(lr=lr, momentum=beta, nesterov=True)
    return np.max(np.abs(np.linalg.eigvals(_iteration_matrix(opt, lam)))) < 1


def _max_lr(lam, beta):
    # NAG is stable for lr in (0, lr_max): bisect on the spectral radius of the package's own step.
    low, high = 1e-9 / lam, 2.5 / lam   # stable; unstable (NAG's bound is at most 2/lam)
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if _stable(middle, lam, beta) else (low, middle)
    return high


def nesterov_max_lr(lam, beta):
    lam, beta = np.asarray(lam, dtype=float), np.asarray(beta, dtype=float)
    out = np.vectorize(_max_lr, otypes=[float])(lam, beta)
    return float(out) if out.ndim == 0 else out


def _max_lr_cases(rng):
    lams, betas = (1.0, 2.0, 10.0, 0.5, 100.0, 4.0), (0.9, 0.5, 0.99, 0.8, 0.95)
    scalar = [Case("scalars", dict(lam=pick(rng, lams), beta=pick(rng, betas))) for _ in range(4)]
    return scalar + [
        Case("β = 0.9, λ = 1 (the chapter's setting)", dict(lam=1.0, beta=0.9)),
        Case("curvatures of a spectrum (an array)", dict(lam=np.array([0.5, 2.0, 10.0]), beta=0.9)),
        Case("a sweep over β (an array)", dict(lam=2.0, beta=np.array([0.5, 0.8, 0.9, 0.99]))),
        Case("a grid of λ × β", dict(lam=np.array([[1.0], [4.0]]), beta=np.array([0.5, 0.9, 0.99]))),
        Case("huge curvature (λ = 1e6)", dict(lam=1e6, beta=0.9)),
    ]


def _heavy_ball_bound(lam, beta):
    return (2 + 2 * np.asarray(beta)) / np.asarray(lam)


def _gradient_descent_bound(lam, beta):
    return 2 / np.broadcast_to(np.asarray(lam, dtype=float), np.broadcast(lam, beta).shape)


def _effective_lr_bound(lam, beta):
    return 2 * (1 - np.asarray(beta)) / np.asarray(lam)


def _forgot_the_curvature(lam, beta):
    beta = np.asarray(beta)
    return np.broadcast_to((2 + 2 * beta) / (1 + 2 * beta), np.broadcast(lam, beta).shape) * 1.0


register(Exercise(
    name="nesterov_max_lr", chapter=CHAPTER, reference=nesterov_max_lr,
    make_cases=_max_lr_cases, returns=("lr",),
    task="""
The largest stable learning rate of Nesterov momentum on the quadratic f(w) = ½·λ·w².
NAG (torch's form, momentum β) converges for every lr in (0, lr_max) and diverges beyond:
return lr_max. `lam` (λ > 0) and `beta` (0 < β < 1) are numbers or arrays that broadcast
against each other; return a number or an array of their broadcast shape.
""",
    mistakes=(
        Mistake("the heavy-ball bound",
                "lr < (2 + 2β)/λ is the bound of heavy-ball momentum. NAG's step puts weight (1 + β) on "
                "the fresh gradient, so it overshoots sooner: lr < (2 + 2β)/((1 + 2β)·λ).",
                _heavy_ball_bound),
        Mistake("the bound of plain gradient descent",
                "lr < 2/λ is the bound without momentum (β = 0). With momentum β, NAG's bound is "
                "(2 + 2β)/((1 + 2β)·λ): between 1/λ and 2/λ.", _gradient_descent_bound),
        Mistake("momentum as a larger step (effective learning rate lr/(1 − β))",
                "lr/(1 − β) is the step that momentum builds up under a *constant* gradient; stability "
                "is decided by the fastest oscillation, where the velocity alternates in sign. Solve "
                "|roots| < 1 for the 2×2 iteration matrix instead: lr < (2 + 2β)/((1 + 2β)·λ).",
                _effective_lr_bound),
        Mistake("forgot to divide by the curvature λ",
                "The stability condition bounds the product lr·λ: lr·λ < (2 + 2β)/(1 + 2β). "
                "Divide by λ to get lr.", _forgot_the_curvature),
    ),
))
