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
