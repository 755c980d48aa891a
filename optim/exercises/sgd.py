"""Exercises of the chapter *SGD*: the plain step, weight decay, a minibatch gradient."""

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "SGD"
LEARNING_RATES = (0.1, 0.01, 0.5, 0.03)
WEIGHT_DECAYS = (0.1, 0.01, 0.5, 0.05)


# --- sgd_step ----------------------------------------------------------------------

def sgd_step(w, g, lr):
    new_w, _ = one_step(optim.SGD(lr=lr), w, g)
    return new_w


def _sgd_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale), lr=pick(rng, LEARNING_RATES))


def _sgd_cases(rng):
    edge = _sgd_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _sgd_args) + [
        Case("zero gradient", {**edge, "g": zeros_like(edge["g"])}),
        Case("w = 0", {**edge, "w": zeros_like(edge["w"])}),
    ]


def _ascent(w, g, lr):
    return w + lr * g


def _forgot_lr(w, g, lr):
    return w - g


def _in_place(w, g, lr):
    w -= lr * g
    return w


def _returns_the_step(w, g, lr):
    return lr * g


register(Exercise(
    name="sgd_step", chapter=CHAPTER, reference=sgd_step, make_cases=_sgd_cases, returns=("w",),
    task="""
One step of gradient descent: return the new weights w − lr·g.
`w` and `g` are numbers or arrays of the same shape (leading dimensions are independent runs);
`lr` is the learning rate. Return a new array: leave `w` and `g` unchanged.
""",
    mistakes=(
        Mistake("gradient ascent (wrong sign)",
                "Descent moves *against* the gradient: w − lr·g, not w + lr·g.", _ascent),
        Mistake("forgot the learning rate",
                "The step is lr·g, not g: without lr every step has the size of the gradient.", _forgot_lr),
        Mistake("updated w in place",
                "`w -= lr * g` changes the caller's array. Write `return w - lr * g`: "
                "a new array, the old weights untouched.", _in_place),
        Mistake("returned the step instead of the new weights",
                "lr·g is how far the weights move; return where they arrive: w − lr·g.", _returns_the_step),
    ),
))


# --- sgd_weight_decay_step -----------------------------------------------------------

def sgd_weight_decay_step(w, g, lr, weight_decay):
    new_w, _ = one_step(optim.SGD(lr=lr, weight_decay=weight_decay), w, g)
    return new_w


def _decay_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                lr=pick(rng, LEARNING_RATES), weight_decay=pick(rng, WEIGHT_DECAYS))


def _decay_cases(rng):
    edge = _decay_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _decay_args) + [
        Case("zero gradient (decay alone)", {**edge, "g": zeros_like(edge["g"])}),
        Case("weight_decay = 0", {**_decay_args(rng, (3,), 1.0), "weight_decay": 0.0}),
    ]


def _decay_sign(w, g, lr, weight_decay):
    return w - lr * (g - weight_decay * w)


def _decay_without_lr(w, g, lr, weight_decay):
    return w - lr * g - weight_decay * w


def _forgot_decay(w, g, lr, weight_decay):
    return w - lr * g


def _decayed_the_gradient(w, g, lr, weight_decay):
    return w - lr * (g + weight_decay * g)


register(Exercise(
    name="sgd_weight_decay_step", chapter=CHAPTER, reference=sgd_weight_decay_step,
    make_cases=_decay_cases, returns=("w",),
    task="""
One step of SGD with weight decay λ (`weight_decay`), in torch's convention: the decay is the
gradient of the L2 penalty ½λ‖w‖², added to the gradient: g ← g + λw, then w ← w − lr·g.
Return the new weights as a new array.
""",
    mistakes=(
        Mistake("weight decay with the wrong sign",
                "The penalty ½λ‖w‖² has gradient +λw: add it to g (g + λw), so the weights shrink.",
                _decay_sign),
        Mistake("weight decay not multiplied by the learning rate",
                "In torch's SGD the decay term λw joins the gradient, so the step is lr·(g + λw): "
                "the decay is scaled by lr too.", _decay_without_lr),
        Mistake("forgot the weight decay", "Add λw to the gradient before the step: g + λw.", _forgot_decay),
        Mistake("decayed the gradient instead of the weights",
                "The decay term is λ·w (it pulls the *weights* to zero), not λ·g.", _decayed_the_gradient),
    ),
))


# --- minibatch_gradient ---------------------------------------------------------------

def minibatch_gradient(w, X, y, batch_idx):
    # The loss is the mean over the batch of ½(x·w − y)²; its gradient is the mean of (x·w − y)·x.
    # (This is the only copy of the formula: `optim` holds update rules, not losses.)
    X_batch, y_batch = X[batch_idx], y[batch_idx]
    residual = X_batch @ w - y_batch
    return X_batch.T @ residual / len(batch_idx)


def _least_squares(rng, n, d, batch_size, scale=1.0):
    return dict(w=numbers(rng, (d,), scale), X=numbers(rng, (n, d)), y=numbers(rng, (n,), scale),
                batch_idx=rng.choice(n, size=batch_size, replace=False))


def _minibatch_cases(rng):
    # Batch sizes avoid 2, where "sum instead of mean" and "doubled" would coincide on every case.
    random = [Case("random batches", _least_squares(rng, n, d, b))
              for n, d, b in [(10, 3, 4), (8, 2, 3), (12, 4, 5), (10, 1, 3), (9, 3, 4)]]
    w_zero = _least_squares(rng, 8, 3, 3)
    return random + [
        Case("a batch of one example", _least_squares(rng, 8, 3, 1)),
        Case("the whole dataset as the batch", _least_squares(rng, 6, 2, 6)),
        Case("w = 0", {**w_zero, "w": np.zeros_like(w_zero["w"])}),
        Case("huge numbers (≈1e8)", _least_squares(rng, 10, 3, 4, scale=1e8)),
        Case("tiny numbers (≈1e-8)", _least_squares(rng, 10, 3, 4, scale=1e-8)),
    ]


def _summed(w, X, y, batch_idx):
    return X[batch_idx].T @ (X[batch_idx] @ w - y[batch_idx])


def _whole_dataset(w, X, y, batch_idx):
    return X.T @ (X @ w - y) / len(y)


def _divided_by_dataset_size(w, X, y, batch_idx):
    return X[batch_idx].T @ (X[batch_idx] @ w - y[batch_idx]) / len(y)


def _kept_the_half(w, X, y, batch_idx):
    return 0.5 * minibatch_gradient(w, X, y, batch_idx)


def _doubled(w, X, y, batch_idx):
    return 2 * minibatch_gradient(w, X, y, batch_idx)


def _residual_sign(w, X, y, batch_idx):
    return X[batch_idx].T @ (y[batch_idx] - X[batch_idx] @ w) / len(batch_idx)


register(Exercise(
    name="minibatch_gradient", chapter=CHAPTER, reference=minibatch_gradient,
    make_cases=_minibatch_cases, returns=("grad",),
    task="""
The minibatch gradient of linear least squares. The data are `X` (n examples × d features) and
`y` (n targets); the batch is the examples `batch_idx` (an array of B row indices). The loss of
the batch is the mean over its examples of ½(x·w − y)². Return its gradient with respect to `w`,
an array of shape (d,).
""",
    mistakes=(
        Mistake("sum instead of mean over the batch",
                "The loss is the *mean* over the batch, so divide the sum of (x·w − y)·x by the batch "
                "size B = len(batch_idx).", _summed),
        Mistake("used the whole dataset instead of the batch",
                "Use only the rows in the batch: `X[batch_idx]` and `y[batch_idx]`.", _whole_dataset),
        Mistake("divided by the dataset size instead of the batch size",
                "The mean is over the B examples of the batch: divide by len(batch_idx), not len(y).",
                _divided_by_dataset_size),
        Mistake("half the gradient (kept the ½)",
                "d/dw ½(x·w − y)² = (x·w − y)·x: the 2 from the square cancels the ½.", _kept_the_half),
        Mistake("twice the gradient (lost the ½)",
                "The loss has a ½ in front: d/dw ½(x·w − y)² = (x·w − y)·x, without a factor 2.", _doubled),
        Mistake("residual with the wrong sign",
                "The residual is x·w − y (prediction minus target); y − x·w gives minus the gradient.",
                _residual_sign),
    ),
))


# --- decay_exponent -------------------------------------------------------------------

def decay_exponent(c, lam):
    # α_t = c/t on a quadratic with gradient noise: in a direction of curvature λ the expected
    # squared error obeys e_{t+1} = (1 − cλ/t)² e_t + c²σ²/t². The start decays like t^(−2cλ)
    # and the noise like 1/t, and the slower of the two sets the rate (the chapter derives it).
    return np.minimum(1.0, 2.0 * np.asarray(c, dtype=float) * lam)


_RATE_CONSTANTS = (0.05, 0.1, 0.2, 0.3, 0.45, 1.0, 2.0, 5.0)


def _exponent_args(rng, shape):
    def draw():
        values = rng.choice(_RATE_CONSTANTS, size=shape)
        return float(values) if shape == () else values
    return dict(c=draw(), lam=draw())


def _exponent_cases(rng):
    # Each case mixes directions below and above the threshold 2cλ = 1, so every catalogued
    # mistake differs from the answer (and from the other mistakes) somewhere.
    plan = [("one direction", ()), ("one direction", ()), ("one direction", ()),
            ("vectors of (c, λ) pairs", (6,)), ("vectors of (c, λ) pairs", (6,)),
            ("a batch of 3 × 4 pairs", (3, 4))]
    return [Case(label, _exponent_args(rng, shape)) for label, shape in plan] + [
        Case("slow: c = 0.1, λ = 1 (2cλ = 0.2)", dict(c=0.1, lam=1.0)),
        Case("fast: c = 1, λ = 1 (2cλ = 2)", dict(c=1.0, lam=1.0)),
        Case("at the threshold: c = 0.5, λ = 1", dict(c=0.5, lam=1.0)),
        Case("a spread of both sides", dict(c=np.array([0.05, 0.2, 0.3, 1.0, 2.0, 5.0]),
                                            lam=np.array([1.0, 1.0, 0.5, 0.3, 2.0, 0.05]))),
    ]


def _no_noise_cap(c, lam):
    return 2.0 * np.asarray(c, dtype=float) * lam


def _always_one(c, lam):
    return np.ones_like(np.asarray(c, dtype=float) * lam)


def _distance_not_loss(c, lam):
    return np.minimum(0.5, np.asarray(c, dtype=float) * lam)


def _forgot_the_square(c, lam):
    return np.minimum(1.0, np.asarray(c, dtype=float) * lam)


def _the_faster_term(c, lam):
    return np.maximum(1.0, 2.0 * np.asarray(c, dtype=float) * lam)


register(Exercise(
    name="decay_exponent", chapter=CHAPTER, reference=decay_exponent,
    make_cases=_exponent_cases, returns=("p",),
    task="""
SGD with the rate α_t = c/t runs on a quadratic with gradient noise. Along a direction of
curvature λ (`lam`) the expected loss falls like t^(−p) for large t. Return the exponent p.
`c` and `lam` are positive numbers, or arrays of one shape (one direction per entry): return p
of that shape. (Hint: the start is forgotten like t^(−2cλ); the noise alone leaves about 1/t.)
""",
    mistakes=(
        Mistake("forgot that the noise caps the rate at 1/t",
                "The start decays like t^(−2cλ), but every step also adds noise α_t²σ² = c²σ²/t², "
                "and that alone leaves an error of order 1/t: p = min(1, 2cλ), never above 1.",
                _no_noise_cap),
        Mistake("assumed c/t always gives 1/t",
                "Only if 2cλ > 1. With a small c the start is forgotten slowly, like t^(−2cλ), and "
                "that is slower than 1/t: p = min(1, 2cλ).", _always_one),
        Mistake("gave the exponent of the distance, not of the loss",
                "min(1/2, cλ) is how fast the distance |w_t − w*| shrinks; the loss is ½λ·distance², "
                "so its exponent is twice that: min(1, 2cλ).", _distance_not_loss),
        Mistake("forgot to square the contraction factor",
                "Each step multiplies the error by (1 − cλ/t), so the *squared* error, and the loss, "
                "by (1 − cλ/t)² ≈ 1 − 2cλ/t: the start decays like t^(−2cλ), not t^(−cλ).",
                _forgot_the_square),
        Mistake("took the faster of the two terms",
                "The loss is a sum of two terms, t^(−2cλ) and 1/t: the *slower* one wins at large t, "
                "so p = min(1, 2cλ), not max.", _the_faster_term),
    ),
))
