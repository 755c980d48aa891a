"""Exercises of the chapter *Which optimizer should I use?*: scoring a benchmark fairly.

Two functions the benchmark's scores rest on: the first step at which a noisy validation
curve reaches its target (`steps_to_target`), and the performance profile of a table of
such steps (`performance_profile`), as AlgoPerf computes them.
"""

import math

import numpy as np

from .. import bench
from .core import Case, Exercise, Mistake, register

CHAPTER = "Which optimizer should I use?"


# ----------------------------------------------------------------- steps to target

def steps_to_target(steps, metric, target):
    return bench.steps_to_target(list(np.asarray(steps, dtype=float)), metric, float(target))


def _curve(rng, n=10, start=0.3, end=0.97, noise=0.03):
    steps = 20.0 * np.arange(1, n + 1)
    clean = end - (end - start) * np.exp(-np.arange(n) / 2.5)
    return steps, np.round(clean + noise * rng.normal(size=n), 3)


def _steps_cases(rng):
    cases = []
    for label, target in (("a noisy accuracy curve", 0.9), ("a noisy accuracy curve", 0.93),
                          ("a noisy accuracy curve", 0.8), ("a noisy accuracy curve", 0.95)):
        steps, metric = _curve(rng)
        cases.append(Case(label, {"steps": steps, "metric": metric, "target": target}))
    steps = 20.0 * np.arange(1, 9)
    return cases + [
        Case("it crosses, dips below, and crosses again",
             {"steps": steps, "metric": np.array([0.5, 0.7, 0.91, 0.88, 0.86, 0.92, 0.95, 0.96]), "target": 0.9}),
        Case("it lands exactly on the target", {"steps": steps, "metric": np.array(
            [0.5, 0.7, 0.85, 0.9, 0.92, 0.89, 0.93, 0.94]), "target": 0.9}),
        Case("it never reaches the target", {"steps": steps, "metric": np.array(
            [0.1, 0.3, 0.5, 0.6, 0.65, 0.7, 0.72, 0.73]), "target": 0.9}),
        Case("the run diverged: its curve stops after three evaluations", {"steps": steps[:3], "metric": np.array(
            [0.4, 0.6, 0.8]), "target": 0.9}),
        Case("the run diverged: nan from the fourth evaluation on", {"steps": steps, "metric": np.array(
            [0.4, 0.6, 0.8, np.nan, np.nan, np.nan, np.nan, np.nan]), "target": 0.9}),
        Case("the first evaluation is already above it", {"steps": 25.0 * np.arange(1, 7), "metric": np.array(
            [0.92, 0.95, 0.9, 0.97, 0.96, 0.98]), "target": 0.9}),
        Case("evaluated every 25 steps", {"steps": 25.0 * np.arange(1, 7), "metric": np.array(
            [0.3, 0.55, 0.61, 0.58, 0.66, 0.7]), "target": 0.6}),
    ]


def _argmax_unchecked(steps, metric, target):
    reached = np.asarray(metric) >= target
    return float(np.asarray(steps)[np.argmax(reached)])


def _strictly_above(steps, metric, target):
    hits = np.flatnonzero(np.asarray(metric) > target)
    return float(np.asarray(steps)[hits[0]]) if hits.size else math.inf


def _index_not_step(steps, metric, target):
    hits = np.flatnonzero(np.asarray(metric) >= target)
    return float(hits[0]) if hits.size else math.inf


def _stays_above(steps, metric, target):
    above = np.asarray(metric) >= target
    if not above[-1]:
        return math.inf
    below = np.flatnonzero(~above)
    first = below[-1] + 1 if below.size else 0
    return float(np.asarray(steps)[first])


def _nan_counts(steps, metric, target):
    hits = np.flatnonzero(~(np.asarray(metric, dtype=float) < target))
    return float(np.asarray(steps)[hits[0]]) if hits.size else math.inf


def _best_metric_step(steps, metric, target):
    metric = np.asarray(metric, dtype=float)
    if not np.any(metric >= target):
        return math.inf
    return float(np.asarray(steps)[np.nanargmax(metric)])


register(Exercise(
    name="steps_to_target", chapter=CHAPTER, reference=steps_to_target, make_cases=_steps_cases,
    returns=("steps",),
    task="""
How many steps a run needed to reach its validation target, as AlgoPerf times a submission:
the *first* evaluated step at which the metric is at least the target, whatever the curve
does afterwards.

`steps`: the steps at which the run was evaluated (floats, increasing); `metric`: the
validation accuracy at each of them (higher is better; `nan` once a run diverged);
`target`: a number. Return that step as a float, and `math.inf` (or `np.inf`) if the
run never reached the target. A `nan` never counts as reaching it.
""",
    mistakes=(
        Mistake("np.argmax of the reached mask, without checking that the target was reached",
                "np.argmax of an all-False array is 0: a run that never reached the target gets the first "
                "evaluated step, the best possible score. Check `reached.any()` first (or use "
                "np.flatnonzero) and return inf when it is False.", _argmax_unchecked),
        Mistake("strictly above the target instead of at least the target",
                "A run that lands exactly on the target has reached it: compare with >=.", _strictly_above),
        Mistake("returned the position in the curve, not the step",
                "The i-th evaluation is at step steps[i], not at step i: return steps[i].", _index_not_step),
        Mistake("waited until the curve stays above the target",
                "AlgoPerf scores the first time the target is met; a dip afterwards does not undo it. "
                "Return the first step at which metric >= target.", _stays_above),
        Mistake("returned the step of the best metric",
                "The best value may come long after the target was first met. Return the first step "
                "at which metric >= target.", _best_metric_step),
        Mistake("counted a nan as reaching the target (not below it is not at least it)",
                "nan < target is False, so ~(metric < target) is True for a diverged run's nan. "
                "Test metric >= target, which is False for nan.", _nan_counts),
    ),
))


# ----------------------------------------------------------------- performance profile

def performance_profile(times, tau):
    times = np.asarray(times, dtype=float)
    names = [f"o{j:03d}" for j in range(times.shape[1])]
    table = {f"w{i}": dict(zip(names, row)) for i, row in enumerate(times)}
    profile = bench.performance_profile(table, [float(tau)])
    return np.array([profile[name][0] for name in names])


TAUS = (1.0, 1.5, 2.0, 3.0, 4.0)


def _table(rng, workloads, optimizers, unsolved=0.2):
    times = 20.0 * rng.integers(1, 21, size=(workloads, optimizers))
    times[rng.random((workloads, optimizers)) < unsolved] = np.inf
    return times


def _profile_cases(rng):
    cases = [Case(f"a table of {w} workloads × {o} optimizers", {"times": _table(rng, w, o), "tau": tau})
             for (w, o), tau in zip([(3, 4), (5, 6), (4, 3), (6, 5), (5, 4)], (2.0, 1.5, 3.0, 4.0, 2.0))]
    nobody = _table(rng, 4, 4, unsolved=0.0)
    nobody[1] = np.inf
    nobody[3, 2] = np.inf
    return cases + [
        Case("a workload nobody solves", {"times": nobody, "tau": 2.0}),
        Case("ratios exactly at τ", {"times": np.array([[10.0, 20.0, 30.0], [40.0, 20.0, 80.0],
                                                        [60.0, np.inf, 120.0]]), "tau": 2.0}),
        Case("τ = 1: the fraction of workloads it is fastest on (ties count for both)",
             {"times": np.array([[60.0, 60.0, 80.0], [100.0, 40.0, np.inf], [40.0, 80.0, 120.0],
                                 [np.inf, 200.0, 100.0]]), "tau": 1.0}),
        Case("an optimizer that solves nothing", {"times": np.array([[60.0, np.inf, 100.0], [80.0, np.inf, 60.0],
                                                                     [120.0, np.inf, 200.0]]), "tau": 1.5}),
        Case("one workload", {"times": np.array([[100.0, 140.0, 260.0, np.inf, 200.0]]), "tau": 2.0}),
    ]


def _ratios(times, fastest):
    with np.errstate(invalid="ignore"):
        r = times / fastest
    return np.where(np.isfinite(times) & np.isfinite(fastest), r, np.inf)


def _to_the_mean(times, tau):
    times = np.asarray(times, dtype=float)
    finite = np.where(np.isfinite(times), times, 0.0)
    count = np.isfinite(times).sum(axis=1, keepdims=True)
    mean = np.where(count > 0, finite.sum(axis=1, keepdims=True) / np.maximum(count, 1), np.inf)
    return (_ratios(times, mean) <= tau).mean(axis=0)


def _unsolved_left_out(times, tau):
    times = np.asarray(times, dtype=float)
    within = _ratios(times, times.min(axis=1, keepdims=True)) <= tau
    solved = np.isfinite(times).sum(axis=0)
    return np.where(solved > 0, within.sum(axis=0) / np.maximum(solved, 1), 0.0)


def _unsolved_counted_as_within(times, tau):
    times = np.asarray(times, dtype=float)
    r = _ratios(times, times.min(axis=1, keepdims=True))
    return ((r <= tau) | ~np.isfinite(times)).mean(axis=0)


def _tau_exclusive(times, tau):
    times = np.asarray(times, dtype=float)
    return (_ratios(times, times.min(axis=1, keepdims=True)) < tau).mean(axis=0)


def _nobody_dropped(times, tau):
    times = np.asarray(times, dtype=float)
    kept = times[np.isfinite(times).any(axis=1)]
    if kept.shape[0] == 0:
        return np.zeros(times.shape[1])
    return (_ratios(kept, kept.min(axis=1, keepdims=True)) <= tau).mean(axis=0)


def _divided_in_place(times, tau):
    fastest = times.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        times /= fastest                    # the caller's table now holds ratios
    return (np.where(np.isfinite(times), times, np.inf) <= tau).mean(axis=0)


register(Exercise(
    name="performance_profile", chapter=CHAPTER, reference=performance_profile,
    make_cases=_profile_cases, returns=("rho",),
    task="""
The performance profile at one τ (Dolan and Moré; AlgoPerf's score integrates it).
`times[w, o]` is the number of steps optimizer o needed to reach workload w's target
(`np.inf` if it never did); `tau` ≥ 1 is a number. For each optimizer, return the
fraction of *all* workloads on which it is within a factor τ of the fastest optimizer on
that workload:

    r[w, o] = times[w, o] / min over o' of times[w, o']      (inf if never reached)
    rho[o]  = (number of workloads w with r[w, o] <= tau) / (number of workloads)

A workload nobody solves stays in the denominator (nobody is within any τ of it), and
a ratio exactly equal to τ counts. Return `rho` as an array with one entry per optimizer
(column), and leave `times` unchanged.
""",
    mistakes=(
        Mistake("ratio to the mean of the workload's times instead of the fastest",
                "Each optimizer is compared with the *best* on that workload: divide by the row's "
                "minimum, times.min(axis=1, keepdims=True). The mean moves with how many slow "
                "optimizers are in the table.", _to_the_mean),
        Mistake("the workloads an optimizer never solved were left out of its fraction",
                "Divide by the number of all workloads, not by the number it solved: a workload "
                "it never solved counts against it (as infinitely slow).", _unsolved_left_out),
        Mistake("a workload never solved was counted as within τ",
                "An infinite time has an infinite ratio: it is within no τ. Only finite ratios "
                "<= τ count.", _unsolved_counted_as_within),
        Mistake("τ exclusive: counted ratios strictly below τ instead of at most τ",
                "ρ(τ) counts ratios *at most* τ: at τ = 1 the fastest optimizer (ratio exactly 1) "
                "must count, and so must a ratio exactly τ.", _tau_exclusive),
        Mistake("a workload nobody solves was dropped from the denominator",
                "Keep every workload in the denominator: one that no optimizer solves counts "
                "against all of them (AlgoPerf divides by the number of all its workloads, and so does the book).",
                _nobody_dropped),
        Mistake("divided the caller's table in place",
                "`times /= ...` turns the caller's table into ratios. Write "
                "`ratios = times / times.min(axis=1, keepdims=True)`: a new array.", _divided_in_place),
    ),
))


# ----------------------------------------------------------------- spot the unfair comparison

def unfair_comparison(trials, seeds, max_steps, lr_on_test):
    trials, seeds = np.asarray(trials), np.asarray(seeds)
    max_steps, lr_on_test = np.asarray(max_steps, dtype=float), np.asarray(lr_on_test, dtype=bool)
    under_tuned = trials < trials.max()               # less tuning than the best-tuned (0: its defaults)
    one_seed = seeds < 2                              # its score is one seed's luck
    stopped_early = max_steps < max_steps.max()       # a smaller budget of steps to reach the target
    return tuple(flag.astype(float) for flag in (under_tuned, one_seed, stopped_early, lr_on_test))


def _records(rng, n):
    return dict(trials=rng.choice([0, 5, 8, 20], size=n), seeds=rng.choice([1, 3, 5], size=n),
                max_steps=rng.choice([1000.0, 2000.0], size=n), lr_on_test=rng.random(n) < 0.25)


def _fair(n, trials=8, seeds=3, max_steps=2000.0):
    return dict(trials=np.full(n, trials), seeds=np.full(n, seeds), max_steps=np.full(n, max_steps),
                lr_on_test=np.zeros(n, dtype=bool))


def _unfair_cases(rng):
    cases = [Case(f"a random comparison of {n} optimizers", _records(rng, n)) for n in (3, 5, 6, 4)]
    everyone_one_seed = _fair(4, seeds=1)
    everyone_one_seed["trials"] = np.array([8, 8, 8, 5])
    shorter = _fair(3)
    shorter["max_steps"] = np.array([2000.0, 1000.0, 2000.0])
    on_test = _fair(3)
    on_test["lr_on_test"] = np.array([False, True, False])
    return cases + [
        Case("the benchmark's own rules: 8 trials, 3 seeds, the same budget, validation", _fair(5)),
        Case("the write-up: yours tuned over 5 rates on one seed, Adam at its defaults", dict(
            trials=np.array([5, 0]), seeds=np.array([1, 1]), max_steps=np.array([1000.0, 1000.0]),
            lr_on_test=np.array([False, False]))),
        Case("the baseline is better tuned than yours; three and five seeds", dict(
            trials=np.array([5, 20, 0]), seeds=np.array([3, 5, 3]), max_steps=np.array([1500.0, 1500.0, 1500.0]),
            lr_on_test=np.array([False, False, False]))),
        Case("everyone on one seed", everyone_one_seed),
        Case("one optimizer stopped at half the steps", shorter),
        Case("one learning rate chosen on the test set", on_test),
        Case("one optimizer alone", dict(trials=np.array([8]), seeds=np.array([1]), max_steps=np.array([500.0]),
                                         lr_on_test=np.array([True]))),
    ]


def _against_the_first(trials, seeds, max_steps, lr_on_test):
    flags = list(unfair_comparison(trials, seeds, max_steps, lr_on_test))
    flags[0] = (np.asarray(trials) < np.asarray(trials)[0]).astype(float)
    return tuple(flags)


def _untuned_missed(trials, seeds, max_steps, lr_on_test):
    flags = list(unfair_comparison(trials, seeds, max_steps, lr_on_test))
    trials = np.asarray(trials)
    flags[0] = ((trials > 0) & (trials < trials.max())).astype(float)
    return tuple(flags)


def _everyone_flagged(trials, seeds, max_steps, lr_on_test):
    flags = list(unfair_comparison(trials, seeds, max_steps, lr_on_test))
    trials = np.asarray(trials)
    flags[0] = np.full(trials.shape, float(np.any(trials != trials[0])))
    return tuple(flags)


def _seeds_equal(trials, seeds, max_steps, lr_on_test):
    flags = list(unfair_comparison(trials, seeds, max_steps, lr_on_test))
    seeds = np.asarray(seeds)
    flags[1] = (seeds < seeds.max()).astype(float)
    return tuple(flags)


def _longer_flagged(trials, seeds, max_steps, lr_on_test):
    flags = list(unfair_comparison(trials, seeds, max_steps, lr_on_test))
    max_steps = np.asarray(max_steps, dtype=float)
    flags[2] = (max_steps > max_steps.min()).astype(float)
    return tuple(flags)


register(Exercise(
    name="unfair_comparison", chapter=CHAPTER, reference=unfair_comparison, make_cases=_unfair_cases,
    returns=("under_tuned", "one_seed", "stopped_early", "lr_on_test"),
    task="""
Audit a comparison of optimizers against the rules of a fair one. Each argument holds one entry
per optimizer of the comparison: `trials`, how many tuning trials it got (integers; 0: it ran at
its defaults, untuned); `seeds`, on how many seeds its score was measured (integers);
`max_steps`, the step at which its runs were stopped if they had not reached the target
(floats); `lr_on_test`, whether its learning rate was chosen on the test set rather than on the
validation split (booleans).

Return four arrays of 0.0 and 1.0, one entry per optimizer, 1.0 where it breaks a rule:
`under_tuned`, it got fewer trials than the best-tuned optimizer of the comparison;
`one_seed`, its score is a single seed's; `stopped_early`, it was stopped before the others
(a smaller step budget than the largest); `lr_on_test`, its learning rate was chosen on the
test set. An optimizer that breaks no rule gets 0.0 everywhere (`flag.astype(float)` turns a
boolean array into one of floats).
""",
    mistakes=(
        Mistake("the budgets were compared with the first optimizer's, not the largest",
                "An optimizer is under-tuned if *any* optimizer of the comparison got more trials: compare "
                "with trials.max(), not with the one you propose (a better-tuned baseline makes yours "
                "the under-tuned one).", _against_the_first),
        Mistake("the untuned baseline was not flagged",
                "0 trials is the least tuning of all: a baseline at its library defaults against a tuned "
                "optimizer is the classic unfair comparison. Flag every trials < trials.max(), 0 included.",
                _untuned_missed),
        Mistake("every optimizer was flagged when the budgets differ",
                "Flag the optimizers that got *fewer* trials than the best-tuned one; the best-tuned "
                "ones had the full budget and broke no rule.", _everyone_flagged),
        Mistake("checked that the seeds are equal, not that there are several",
                "The rule is several seeds, not the same number: three against five seeds are both medians, "
                "while everyone on one seed is a comparison of luck. Flag seeds < 2.", _seeds_equal),
        Mistake("the longer run was flagged instead of the shorter",
                "A run stopped earlier had fewer steps to reach the target and may be counted as failing: "
                "flag max_steps < max_steps.max().", _longer_flagged),
    ),
))
