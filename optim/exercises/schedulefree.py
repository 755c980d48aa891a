"""Exercises of the chapter *Schedule-Free*: one step of Schedule-Free SGD, x, y and z."""

import numpy as np

import optim
from optim.schedulefree import to_y

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Schedule-Free"
LEARNING_RATES = (0.1, 0.5, 0.01, 1.0)
BETAS = (0.9, 0.5, 0.98, 0.7)
STEPS = (2, 3, 5, 10, 100)


def schedulefree_sgd_step(x, z, t, lr, beta, h, w_star):
    opt = optim.ScheduleFreeSGD(lr=lr, momentum=beta)
    # The package keeps y (the parameters) and z; t − 1 steps are done, each with weight lr².
    x, z = np.asarray(x, dtype=float), np.asarray(z, dtype=float)
    y = to_y(x, z, beta, optim.core.PURE)
    g = h * (y - w_star)
    new_y, state = one_step(opt, y, g, t=t - 1, lr_max=lr if t > 1 else -1.0,
                            weight_sum=(t - 1) * lr**2, z=z)
    return opt.eval_params(new_y, state), state.z


def _args(rng, shape, scale):
    return dict(x=numbers(rng, shape, scale), z=numbers(rng, shape, scale), t=pick(rng, STEPS),
                lr=pick(rng, LEARNING_RATES), beta=pick(rng, BETAS), h=positive(rng, shape),
                w_star=numbers(rng, shape, scale))


def _cases(rng):
    first = _args(rng, (3,), 1.0)
    return [
        Case("scalars", _args(rng, (), 1.0)),
        Case("vectors", _args(rng, (3,), 1.0)),
        Case("vectors", _args(rng, (3,), 1.0)),
        Case("vectors", _args(rng, (5,), 1.0)),
        Case("a batch of 4 runs × 3 weights", _args(rng, (4, 3), 1.0)),
        Case("the first step: t = 1, x = z (the start)", {**first, "t": 1, "z": first["x"]}),
        Case("t = 2", {**_args(rng, (3,), 1.0), "t": 2}),
        Case("β = 0.5, t = 4", {**_args(rng, (3,), 1.0), "t": 4, "beta": 0.5}),
        Case("late: t = 1000", {**_args(rng, (3,), 1.0), "t": 1000}),
        Case("huge numbers (≈1e6)", _args(rng, (3,), 1e6)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _step(x, z, t, lr, beta, h, w_star, *, at="y", c=None, y_weights="right", new_z=True):
    y = {"right": (1 - beta) * z + beta * x, "swapped": beta * z + (1 - beta) * x}[y_weights]
    point = {"y": y, "x": x, "z": z}[at]
    g = h * (point - w_star)
    z_next = z - lr * g
    c = 1 / t if c is None else c(t)
    x_next = (1 - c) * x + c * (z_next if new_z else z)
    return x_next, z_next


def _gradient_at_x(*args):
    return _step(*args, at="x")


def _gradient_at_z(*args):
    return _step(*args, at="z")


def _weight_one_over_t_plus_one(*args):
    return _step(*args, c=lambda t: 1 / (t + 1))


def _weights_swapped(*args):
    return _step(*args, y_weights="swapped")


def _old_z_in_the_average(*args):
    return _step(*args, new_z=False)


def _state_in_place(x, z, t, lr, beta, h, w_star):
    y = (1 - beta) * z + beta * x
    z -= lr * h * (y - w_star)
    x *= 1 - 1 / t
    x += z / t
    return x, z


register(Exercise(
    name="schedulefree_sgd_step", chapter=CHAPTER, reference=schedulefree_sgd_step,
    make_cases=_cases, returns=("x", "z"),
    task="""
One step of Schedule-Free SGD on f(w) = ½·Σ h·(w − w_star)², whose gradient at a point w is
h·(w − w_star). `t` is the number of this step (1 for the first, where x = z = the start):

    y = (1 − β)·z + β·x            the point where the gradient is taken
    g = h·(y − w_star)
    z ← z − lr·g                   a plain SGD step on z
    c = 1/t                        (the schedulefree package's weight with a constant lr)
    x ← (1 − c)·x + c·z            x: the running mean of z₂, …, z_t+1, with the new z

Return the new `(x, z)`, as new arrays: leave the inputs unchanged. `x, z, h, w_star` are
numbers or arrays of one shape; `t` is an int; `lr, beta` are numbers.
""",
    mistakes=(
        Mistake("took the gradient at x instead of y",
                "The gradient is taken at y = (1 − β)z + βx, between the average x and the SGD "
                "iterate z. At x (β = 1) the method is primal averaging, which, the paper says, "
                "is generally considered to converge too slowly to be practical.", _gradient_at_x),
        Mistake("took the gradient at z: y not interpolated",
                "y = (1 − β)z + βx. Taking the gradient at z (β = 0) is Polyak–Ruppert averaging "
                "of plain SGD, whose averages, the paper says, do much worse in practice than "
                "SGD's last iterate; keeping y coupled to x is what it credits for stability.",
                _gradient_at_z),
        Mistake("the averaging weight is 1/(t + 1), not 1/t",
                "With the steps numbered from t = 1, this exercise (and the schedulefree code) "
                "uses c = 1/t: at t = 1, c = 1 and x becomes the new z. The README's formula "
                "c_{t+1} = 1/(t + 1) keeps the start x₁ in the mean: a different average, off by "
                "one.", _weight_one_over_t_plus_one),
        Mistake("β and 1 − β swapped in y",
                "y = (1 − β)·z + β·x: with β = 0.9, y sits close to the average x, and only a "
                "tenth of the way towards z.", _weights_swapped),
        Mistake("averaged the old z into x",
                "Update z first, then average the *new* z into x: x ← (1 − c)x + c·z_new.",
                _old_z_in_the_average),
        Mistake("updated x or z in place",
                "`z -= ...` or `x *= ...` changes the caller's arrays. Write `z = z - lr * g` and "
                "`x = (1 - c) * x + c * z`: new arrays, the inputs untouched.", _state_in_place),
    ),
))
