"""Answers for the exercises of chapter `which_optimizer`: an independent correct solution per
exercise, written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import math

import numpy as np


def _steps_to_target(steps, metric, target):
    for step, value in zip(steps, metric):
        if value >= target:                 # False for nan
            return float(step)
    return math.inf


def _performance_profile(times, tau):
    times = np.asarray(times, dtype=float)
    n_workloads, n_optimizers = times.shape
    rho = np.zeros(n_optimizers)
    for row in times:
        fastest = min(row)
        if math.isinf(fastest):
            continue                        # nobody solved it: it counts for nobody
        for o, t in enumerate(row):
            if math.isfinite(t) and t / fastest <= tau:
                rho[o] += 1
    return rho / n_workloads


SOLUTIONS = {
    "steps_to_target": _steps_to_target,
    "performance_profile": _performance_profile,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "steps_to_target": [
        # 0.91 at step 60 is the first value >= 0.9 (the dip to 0.88 afterwards does not matter)
        ((np.array([20.0, 40.0, 60.0, 80.0]), np.array([0.5, 0.8, 0.91, 0.88]), 0.9), (60.0,)),
        # exactly on the target at step 50
        ((np.array([25.0, 50.0, 75.0]), np.array([0.7, 0.9, 0.95]), 0.9), (50.0,)),
        # never: nan does not count
        ((np.array([20.0, 40.0, 60.0]), np.array([0.5, np.nan, np.nan]), 0.9), (math.inf,)),
    ],
    "performance_profile": [
        # w1: A 10, B 20 -> ratios (1, 2); w2: A 30, B 15 -> (2, 1); w3: A 40, B never -> (1, inf).
        # τ = 1: A 2/3, B 1/3; τ = 2: A 3/3, B 2/3
        ((np.array([[10.0, 20.0], [30.0, 15.0], [40.0, np.inf]]), 1.0), (np.array([2 / 3, 1 / 3]),)),
        ((np.array([[10.0, 20.0], [30.0, 15.0], [40.0, np.inf]]), 2.0), (np.array([1.0, 2 / 3]),)),
        # a second workload nobody solves halves everyone's fraction
        ((np.array([[10.0, 12.0], [np.inf, np.inf]]), 1.5), (np.array([0.5, 0.5]),)),
    ],
}
