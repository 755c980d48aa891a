"""Seeded inputs for the exercises, chosen so that a report prints them exactly."""

import numpy as np

from .core import Case

# The standard cases of an element-wise update rule: (label, shape, magnitude).
# Scalars come as Python floats (the reader's code must work on plain numbers too);
# the batch is several independent runs, as the `optim` NumPy face allows.
ELEMENTWISE_PLAN = (
    ("scalars", (), 1.0),
    ("vectors", (3,), 1.0),
    ("vectors", (3,), 1.0),
    ("vectors", (5,), 1.0),
    ("vectors", (5,), 1.0),
    ("a batch of 4 runs × 3 weights", (4, 3), 1.0),
    ("tiny numbers (≈1e-8)", (3,), 1e-8),
    ("huge numbers (≈1e8)", (3,), 1e8),
)


def numbers(rng, shape=(), scale=1.0):
    """Normal random numbers with two decimals, times `scale` (a float for shape ())."""
    x = np.round(rng.normal(size=shape), 2) * scale
    return float(x) if shape == () else x


def positive(rng, shape=(), scale=1.0):
    """Random numbers in [0.1, 2] with two decimals, times `scale`."""
    x = np.round(rng.uniform(0.1, 2.0, size=shape), 2) * scale
    return float(x) if shape == () else x


def pick(rng, options):
    """One of `options`, as the plain Python value."""
    return options[int(rng.integers(len(options)))]


def zeros_like(x):
    """Zero of the same kind: 0.0 for a float, an array of zeros for an array."""
    return 0.0 if isinstance(x, float) else np.zeros_like(x)


def elementwise_cases(rng, make_args) -> list[Case]:
    """The standard cases, from `make_args(rng, shape, scale) -> dict of arguments`."""
    return [Case(label, make_args(rng, shape, scale)) for label, shape, scale in ELEMENTWISE_PLAN]
