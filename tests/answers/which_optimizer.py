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


def _unfair_comparison(trials, seeds, max_steps, lr_on_test):
    most_trials, longest = max(trials), max(max_steps)
    rows = [(t < most_trials, s <= 1, m < longest, bool(test))
            for t, s, m, test in zip(trials, seeds, max_steps, lr_on_test)]
    return tuple(np.array([float(row[k]) for row in rows]) for k in range(4))


SOLUTIONS["unfair_comparison"] = _unfair_comparison

# the write-up of the chapter's exercise: yours tuned over 5 rates (1 seed), Adam at its defaults (1 seed):
# Adam is under-tuned, both are single seeds, same budget, both chosen on validation
HAND_COMPUTED["unfair_comparison"] = [
    ((np.array([5, 0]), np.array([1, 1]), np.array([1000.0, 1000.0]), np.array([False, False])),
     (np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))),
    # 8, 8, 20 trials; 3, 1, 5 seeds; the second stopped at 500 of 1000 steps; the third tuned on the test set
    ((np.array([8, 8, 20]), np.array([3, 1, 5]), np.array([1000.0, 500.0, 1000.0]), np.array([False, False, True])),
     (np.array([1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))),
]
