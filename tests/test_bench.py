"""optim.bench, the fair-comparison harness: sampling, budgets, time to target and profiles."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optim.bench import (Choice, LogUniform, SearchSpace, Uniform, best_trials, config_hash,
                         performance_profile, steps_to_target, trials)

SPACE = SearchSpace({"lr": LogUniform(1e-4, 1e-1), "beta1": Uniform(0.8, 0.99), "k": Choice((5, 6, 10))},
                    fixed={"betas": (0.9, 0.999), "eps": 1e-8})


def test_trials_stay_in_their_ranges_and_repeat_for_a_seed():
    points = trials(SPACE, 64, seed=3)
    assert len(points) == 64 and points == trials(SPACE, 64, seed=3) and points != trials(SPACE, 64, seed=4)
    lrs = np.array([p["lr"] for p in points])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert all(0.8 <= p["beta1"] <= 0.99 and p["k"] in (5, 6, 10) for p in points)


def test_the_learning_rate_is_log_uniform_and_evenly_spread():
    """Quasi-random: each of 4 decades of lr holds a quarter of the trials, to within one."""
    lrs = np.array([p["lr"] for p in trials(SearchSpace({"lr": LogUniform(1e-4, 1.0)}), 40, seed=0)])
    counts, _ = np.histogram(np.log10(lrs), bins=4, range=(-4, 0))
    assert np.all(np.abs(counts - 10) <= 1), counts


def test_every_optimizer_gets_the_same_budget():
    spaces = {"SGD": SearchSpace({"lr": LogUniform(1e-3, 1.0)}),
              "Adam": SPACE, "Prodigy": SearchSpace({}, fixed={"lr": 1.0})}
    assert {name: len(trials(space, 8)) for name, space in spaces.items()} == {"SGD": 8, "Adam": 8, "Prodigy": 8}
    with pytest.raises(ValueError, match="budget"):
        trials(SPACE, 0)


def test_betas_are_assembled_from_tuned_and_fixed_parts():
    kw = SPACE.kwargs({"lr": 0.01, "beta1": 0.95, "k": 5})
    assert kw == {"betas": (0.95, 0.999), "eps": 1e-8, "lr": 0.01, "k": 5}
    assert SearchSpace({"beta2": Uniform(0.9, 0.999)}).kwargs({"beta2": 0.95}) == {"betas": (0.9, 0.95)}


def test_bad_ranges_are_refused():
    for bad in (lambda: LogUniform(0.0, 1.0), lambda: LogUniform(1.0, 0.1), lambda: Uniform(1, 1),
                lambda: Choice(())):
        with pytest.raises(ValueError):
            bad()


def test_steps_to_target_is_the_first_crossing_of_a_noisy_curve():
    steps = [0, 10, 20, 30, 40, 50]
    accuracy = [0.1, 0.5, 0.91, 0.88, 0.93, 0.95]          # crosses 0.9 at 20, dips, crosses again
    assert steps_to_target(steps, accuracy, 0.9) == 20
    assert steps_to_target(steps, accuracy, 0.99) == math.inf
    loss = [2.0, 1.0, float("nan"), 0.1, 0.05, 0.01]       # NaN never counts as reaching a target
    assert steps_to_target(steps, loss, 0.5, higher_is_better=False) == 30
    assert steps_to_target(steps, [np.nan] * 6, 0.5, higher_is_better=False) == math.inf


def test_best_trial_is_the_fastest_then_the_best_metric():
    records = [
        dict(workload="w", optimizer="A", steps_to_target=30.0, best_metric=0.95),
        dict(workload="w", optimizer="A", steps_to_target=20.0, best_metric=0.92),
        dict(workload="w", optimizer="A", steps_to_target=20.0, best_metric=0.96),
        dict(workload="w", optimizer="B", steps_to_target=math.inf, best_metric=0.97),
    ]
    best = best_trials(records)
    assert best["w", "A"]["best_metric"] == 0.96 and best["w", "B"]["steps_to_target"] == math.inf


def test_performance_profile_by_hand():
    """Three workloads. w1: A 10, B 20. w2: A 30, B 15. w3: A 40, B never.
    Ratios to the fastest: A (1, 2, 1), B (2, 1, inf). At τ = 1: A 2/3, B 1/3; at τ = 2: A 1, B 2/3."""
    times = {"w1": {"A": 10, "B": 20}, "w2": {"A": 30, "B": 15}, "w3": {"A": 40, "B": math.inf}}
    profile = performance_profile(times, [1.0, 1.5, 2.0, 100.0])
    np.testing.assert_allclose(profile["A"], [2 / 3, 2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(profile["B"], [1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_a_workload_nobody_solves_counts_against_everyone():
    profile = performance_profile({"w1": {"A": 1.0}, "w2": {"A": math.inf}}, [1.0, 10.0])
    assert profile["A"] == [0.5, 0.5]


def test_config_hash_is_stable_and_order_free():
    a = config_hash({"optimizer": "Adam", "lr": 0.001, "seed": 0})
    assert a == config_hash({"seed": 0, "lr": 0.001, "optimizer": "Adam"}) and len(a) == 16
    assert a != config_hash({"optimizer": "Adam", "lr": 0.002, "seed": 0})


def test_the_harness_does_not_import_torch():
    code = "import sys, optim.bench; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ the committed results

def test_a_slice_of_the_results_file_reproduces():
    """One workload, two optimizers, one trial each, rerun now: the committed numbers come back.

    Tolerance: a trial is deterministic on one thread, so on the machine that made the file it
    reproduces exactly; another CPU (other SIMD kernels) may round differently, so the best
    metric may move by 0.005 (five validation examples of 1000) and the steps to target by one
    evaluation interval.
    """
    import torch

    from optim.bench import RESULTS, load
    from optim.workloads import WORKLOADS, run_trial

    records = load(Path(__file__).resolve().parents[1] / RESULTS)
    assert records, f"{RESULTS} is missing or empty: run `python -m optim.bench run`"
    workload = WORKLOADS["logreg"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for optimizer in ("SGD", "Adam"):
            stored = next(r for r in records if r["workload"] == workload.name and r["optimizer"] == optimizer
                          and r["role"] == "reseed")
            again = run_trial(workload, optimizer, stored["hyper"], stored["seed"])
            assert abs(again["best_metric"] - stored["best_metric"]) <= 0.005, (optimizer, again, stored)
            if math.isinf(stored["steps_to_target"]):
                assert math.isinf(again["steps_to_target"])
            else:
                assert abs(again["steps_to_target"] - stored["steps_to_target"]) <= workload.eval_every
    finally:
        torch.set_num_threads(threads)


def test_the_results_file_holds_every_trial_of_its_workloads():
    """Every (workload, optimizer) pair in the file has its default trial, the full budget, and the reseeds."""
    from optim.bench import BUDGET, RESULTS, SEEDS, SPACES, applies, load

    records = load(Path(__file__).resolve().parents[1] / RESULTS)
    for workload in sorted({r["workload"] for r in records}):
        for optimizer in SPACES:
            if not applies(optimizer, workload):
                continue
            roles = [r["role"] for r in records if r["workload"] == workload and r["optimizer"] == optimizer]
            assert sorted(roles) == sorted(["default"] + ["tune"] * BUDGET + ["reseed"] * len(SEEDS)), \
                (workload, optimizer, roles)


# ------------------------------------------------------------------ the chapter's analysis

def test_seed_median_counts_a_seed_that_never_reached_the_target():
    from optim.bench import seed_median
    assert seed_median([80.0, 120.0, math.inf]) == 120.0
    assert seed_median([math.inf, math.inf, 60.0]) == math.inf
    assert seed_median([40.0, 60.0]) == 50.0


def test_scores_pick_the_best_tuned_trial_and_its_reseeds():
    from optim.bench import scores
    rec = lambda role, lr, steps, seed=0, metric=0.9: dict(  # noqa: E731
        workload="w", optimizer="A", role=role, hyper={"lr": lr}, seed=seed, steps_to_target=steps,
        best_metric=metric, higher_is_better=True)
    records = [rec("default", 1e-3, math.inf), rec("tune", 1e-2, 100.0), rec("tune", 1e-1, 60.0),
               rec("tune", 1.0, math.inf, metric=0.5), rec("reseed", 1e-1, 80.0, seed=2),
               rec("reseed", 1e-1, math.inf, seed=1)]
    s = scores(records)["w", "A"]
    assert s["default"] == math.inf and s["tuned"] == 60.0 and s["lr"] == 1e-1
    assert s["seeds"] == [60.0, math.inf, 80.0] and s["score"] == 80.0      # seeds in order 0, 1, 2
    assert [t[:2] for t in s["trials"]] == [(1e-2, 100.0), (1e-1, 60.0), (1.0, math.inf)]


def test_within_seed_noise_is_overlap_of_the_seed_ranges():
    from optim.bench import within_seed_noise
    assert within_seed_noise([60, 80, 100], [100, 120, 140])          # they touch at 100
    assert not within_seed_noise([60, 80], [100, 120])
    assert not within_seed_noise([60, 80], [math.inf, math.inf])
    assert within_seed_noise([60, math.inf], [100, 120])


def test_co_fastest_keeps_every_tie():
    from optim.bench import co_fastest
    assert co_fastest({"b": 80.0, "a": 80.0, "c": 100.0}) == ["b", "a"]
    assert co_fastest({"a": math.inf, "b": math.inf}) == []
    assert co_fastest({}) == []


def test_near_fastest_measures_against_every_co_fastest():
    from optim.bench import near_fastest
    seeds = {"a": [60, 60, 60], "b": [40, 60, 100], "c": [100, 100, 100], "d": [140, 160, 180],
             "e": [60, math.inf, math.inf]}
    # a and b tie at a median of 60; c touches b's range (not a's), d touches neither,
    # e overlaps both but failed on two seeds of three
    assert near_fastest(seeds) == ["a", "b", "c"]
    assert near_fastest({"a": [math.inf] * 3}) == []


def test_good_lr_span_in_decades():
    from optim.bench import good_lr_span
    trials = [(1e-4, math.inf), (1e-3, 300.0), (1e-2, 100.0), (1e-1, 150.0), (1.0, math.inf)]
    assert good_lr_span(trials) == pytest.approx(1.0)                 # 1e-2 and 1e-1 are within 2x
    assert good_lr_span(trials, within=3.0) == pytest.approx(2.0)
    assert good_lr_span([(1e-2, 50.0)]) == 0.0
    assert math.isnan(good_lr_span([(1e-2, math.inf), (1e-1, math.inf)]))


def test_benchmark_score_by_hand():
    """Ratios A (1, 2, 1), B (2, 1, inf), r_max = 4: A (1 + 2/3 + 1)/3 = 8/9, B (2/3 + 1 + 0)/3 = 5/9;
    and it is the area under performance_profile, integrated on a fine grid."""
    from optim.bench import benchmark_score
    times = {"w1": {"A": 10, "B": 20}, "w2": {"A": 30, "B": 15}, "w3": {"A": 40, "B": math.inf}}
    score = benchmark_score(times)
    assert score["A"] == pytest.approx(8 / 9) and score["B"] == pytest.approx(5 / 9)
    taus = np.linspace(1, 4, 30001)
    profile = performance_profile(times, taus)
    for o in "AB":
        assert np.trapezoid(profile[o], taus) / 3 == pytest.approx(score[o], abs=1e-3)
    assert benchmark_score({"w": {"A": 10, "B": 50}})["B"] == 0.0        # beyond r_max: no credit
    with pytest.raises(ValueError, match="r_max"):
        benchmark_score(times, r_max=1.0)


def test_every_pair_that_sits_out_says_why():
    from optim.bench import SPACES, applies, why_not
    from optim.workloads import WORKLOADS
    for w in WORKLOADS:
        for o in SPACES:
            assert bool(why_not(o, w)) != applies(o, w), (o, w)


def test_the_file_keeps_only_what_the_plan_asks_for():
    """A grown budget can crown a new best: the reseeds of the former best go, the new best's
    stay; while a pair's tuning is unfinished nothing of it is dropped (its plan is not known)."""
    from optim import bench

    def record(kw, seed, role, steps):
        return dict(workload="w", optimizer="SGD", hyper=kw, seed=seed, role=role, steps_to_target=steps,
                    best_metric=0.0, higher_is_better=True, key=bench.trial_key("w", "SGD", kw, seed))

    plan = bench.plan_trials("SGD")
    tuned = [record(kw, 0, "tune", 100 + i) for i, (kw, _, role) in enumerate(plan) if role == "tune"]
    stale = record(tuned[3]["hyper"], 1, "reseed", 90)            # reseed of a point that is not the best
    fresh = [record(tuned[0]["hyper"], seed, "reseed", 95) for seed in bench.SEEDS]
    kept = {r["key"] for r in bench.planned([*tuned, stale, *fresh])}
    assert kept == {r["key"] for r in [*tuned, *fresh]}
    unfinished = [*tuned[:-1], stale]
    assert {r["key"] for r in bench.planned(unfinished)} == {r["key"] for r in unfinished}
