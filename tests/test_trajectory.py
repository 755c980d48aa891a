"""The trajectory engine: shapes, batching, divergence, noise, online problems, schedules — and two
results of the literature it must reproduce (gradient descent's rate on a quadratic, Reddi et al.'s
counterexample to Adam)."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import optim
from optim import landscapes as L
from optim.trajectory import DIVERGENCE_FACTOR, Trajectory, run, run_many


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """The engine promises no warning at all, even for runs that blow up."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


class Recorder:
    """A test double of an optimizer: plain gradient descent that records every call it gets."""

    name = "Recorder"

    def __init__(self, lr=0.01):
        self.hyper = {"lr": lr}
        self.calls = []

    def init(self, params):
        return SimpleNamespace(t=0)

    def step(self, params, grads, state):
        self.calls.append((params.copy(), grads.copy(), state.t, self.hyper["lr"]))
        return params - self.hyper["lr"] * grads, SimpleNamespace(t=state.t + 1)

    def with_hyper(self, **changes):
        other = Recorder(**{**self.hyper, **changes})
        other.calls = self.calls  # one log for the whole run
        return other


# --- Shapes and the call protocol ------------------------------------------------------------------

def test_single_run_shapes_and_start():
    traj = run(optim.Adam(lr=0.1), L.rosenbrock, steps=20)
    assert isinstance(traj, Trajectory) and traj.name == "Adam" and traj.steps == 20
    assert traj.positions.shape == (21, 2) and traj.losses.shape == (21,)
    assert traj.diverged.shape == () and not traj.diverged and traj.diverged_at == -1
    assert traj.batch_shape == ()
    np.testing.assert_array_equal(traj.positions[0], L.rosenbrock.start)
    np.testing.assert_array_equal(traj.losses, L.rosenbrock.f(traj.positions))


def test_the_engine_steps_with_the_gradient_at_the_current_point():
    opt = Recorder(lr=0.01)
    traj = run(opt, L.himmelblau, start=[1.0, -1.0], steps=3)
    assert len(opt.calls) == 3
    for k, (params, grads, t, _) in enumerate(opt.calls):
        assert t == k
        np.testing.assert_array_equal(params, traj.positions[k])
        np.testing.assert_array_equal(grads, L.himmelblau.grad(traj.positions[k]))
    np.testing.assert_array_equal(traj.positions[1], traj.positions[0] - 0.01 * opt.calls[0][1])


def test_zero_steps_records_the_start():
    traj = run(optim.SGD(lr=0.1), L.booth, start=np.ones((3, 2)), steps=0)
    assert traj.positions.shape == (1, 3, 2) and traj.losses.shape == (1, 3)


@pytest.mark.parametrize("start_shape, lr_shape, batch", [
    ((2,), (), ()),
    ((5, 2), (), (5,)),
    ((2,), (4, 1), (4,)),
    ((5, 2), (1, 1), (5,)),
    ((3, 1, 2), (4, 1), (3, 4)),
    ((2, 3, 2), (4, 1, 1, 1), (4, 2, 3)),
])
def test_batch_shape_broadcasts_start_and_hyperparameters(start_shape, lr_shape, batch):
    lr = np.full(lr_shape, 1e-3) if lr_shape else 1e-3
    traj = run(optim.Adam(lr=lr), L.rosenbrock, start=np.zeros(start_shape), steps=4)
    assert traj.positions.shape == (5, *batch, 2)
    assert traj.losses.shape == (5, *batch)
    assert traj.diverged.shape == batch and traj.diverged_at.shape == batch
    assert traj.batch_shape == batch


def test_start_is_broadcast_to_every_run_of_a_sweep():
    lrs = np.array([1e-3, 1e-2, 1e-1])[:, None]
    traj = run(optim.SGD(lr=lrs), L.booth, steps=5)
    np.testing.assert_array_equal(traj.positions[0], np.broadcast_to(L.booth.start, (3, 2)))


def test_invalid_arguments_are_explained():
    with pytest.raises(ValueError, match=r"start of shape \(3,\)"):
        run(optim.SGD(lr=0.1), L.booth, start=np.zeros(3))
    with pytest.raises(ValueError, match="steps"):
        run(optim.SGD(lr=0.1), L.booth, steps=-1)
    with pytest.raises(ValueError, match="steps"):
        run(optim.SGD(lr=0.1), L.booth, steps=2.5)
    with pytest.raises(ValueError, match=r"'lr': \(5,\).*trailing axis"):
        run(optim.SGD(lr=np.full(5, 0.1)), L.booth)


# --- Batching: a batched call is the same as separate runs ---------------------------------------------

@pytest.mark.parametrize("landscape", [L.rosenbrock, L.beale, L.rastrigin], ids=lambda l: l.name)
def test_batched_starts_equal_separate_runs(landscape):
    starts = np.random.default_rng(1).uniform(-1, 1, (6, 2))
    opt = optim.Adam(lr=0.05)
    batched = run(opt, landscape, start=starts, steps=100)
    for i, start in enumerate(starts):
        alone = run(opt, landscape, start=start, steps=100)
        np.testing.assert_allclose(batched.positions[:, i], alone.positions, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batched.losses[:, i], alone.losses, rtol=1e-13, atol=1e-15)


def test_a_hyperparameter_sweep_equals_separate_runs():
    lrs, momenta = np.array([1e-4, 3e-4, 1e-3]), np.array([0.0, 0.5, 0.9])
    sweep = run(optim.SGD(lr=lrs[:, None, None], momentum=momenta[:, None]), L.rosenbrock, steps=80)
    assert sweep.positions.shape == (81, 3, 3, 2)
    for i, lr in enumerate(lrs):
        for j, momentum in enumerate(momenta):
            alone = run(optim.SGD(lr=lr, momentum=momentum), L.rosenbrock, steps=80)
            np.testing.assert_allclose(sweep.positions[:, i, j], alone.positions, rtol=1e-13)


# --- Divergence ---------------------------------------------------------------------------------------------

def uncut_sgd(landscape, start, lr, steps):
    """A hand-written gradient descent that records everything, NaN and inf included."""
    x, xs = np.asarray(start, dtype=float), [np.asarray(start, dtype=float)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = x - lr * landscape.grad(x)
            xs.append(x)
        return np.array(xs), landscape.f(np.array(xs))


def test_a_blown_up_run_is_cut_flagged_and_leaves_the_others_alone():
    lrs = np.array([1e-4, 1e-3, 0.05, 0.5])[:, None]  # the last two blow up on Rosenbrock
    traj = run(optim.SGD(lr=lrs), L.rosenbrock, steps=60)  # no warning: see the fixture
    np.testing.assert_array_equal(traj.diverged, [False, False, True, True])
    bound = DIVERGENCE_FACTOR * 3.0  # Rosenbrock's window reaches y = 3
    for i, lr in enumerate(lrs[:, 0]):
        xs, losses = uncut_sgd(L.rosenbrock, L.rosenbrock.start, lr, 60)
        bad = ~(np.isfinite(losses) & (np.abs(xs) <= bound).all(axis=-1))
        first = int(np.argmax(bad)) if bad.any() else -1
        assert traj.diverged_at[i] == first
        end = first if first >= 0 else None
        np.testing.assert_allclose(traj.positions[:end, i], xs[:end], rtol=1e-13)
        np.testing.assert_allclose(traj.losses[:end, i], losses[:end], rtol=1e-13)
        if first >= 0:
            assert np.isnan(traj.positions[first:, i]).all() and np.isnan(traj.losses[first:, i]).all()
            assert np.isfinite(traj.positions[:first, i]).all()


def test_a_finite_run_beyond_the_bound_counts_as_diverged():
    # On the saddle x² − y², gradient descent multiplies y by (1 + 2·lr) each step: it leaves any
    # window, finite all along. It is cut at the first step beyond the bound.
    lr, y0 = 0.6, 1e-3
    traj = run(optim.SGD(lr=lr), L.saddle, start=[0.5, y0], steps=60)
    y = y0 * (1 + 2 * lr) ** np.arange(61)
    first = int(np.argmax(np.abs(y) > DIVERGENCE_FACTOR * 2.0))
    assert 0 < first < 60 and np.isfinite(y).all()
    assert traj.diverged and traj.diverged_at == first
    np.testing.assert_allclose(traj.positions[:first, 1], y[:first], rtol=1e-12)
    assert np.isnan(traj.positions[first:]).all()


def test_a_run_that_starts_at_nan_diverges_at_step_zero():
    traj = run(optim.SGD(lr=0.1), L.booth, start=np.array([[np.nan, 0.0], [1.0, 1.0]]), steps=3)
    np.testing.assert_array_equal(traj.diverged_at, [0, -1])


# --- Noise ---------------------------------------------------------------------------------------------------

def test_runs_on_a_noisy_landscape_repeat_exactly():
    noisy = L.noisy(L.rosenbrock, 1.0, seed=3)
    first = run(optim.SGD(lr=1e-3), noisy, steps=50)
    np.testing.assert_array_equal(run(optim.SGD(lr=1e-3), noisy, steps=50).positions, first.positions)
    other_seed = run(optim.SGD(lr=1e-3), L.noisy(L.rosenbrock, 1.0, seed=4), steps=50)
    assert not np.allclose(other_seed.positions[1:], first.positions[1:])
    clean = run(optim.SGD(lr=1e-3), L.rosenbrock, steps=50)
    assert not np.allclose(clean.positions[1:], first.positions[1:])
    np.testing.assert_array_equal(first.losses, L.rosenbrock.f(first.positions))  # the clean loss


def test_run_many_gives_every_optimizer_the_same_noise():
    noisy = L.noisy(L.quadratic(), 0.5, seed=0)
    runs = run_many({"a": optim.SGD(lr=0.01), "b": optim.SGD(lr=0.01)}, noisy, steps=30)
    np.testing.assert_array_equal(runs["a"].positions, runs["b"].positions)


# --- run_many ------------------------------------------------------------------------------------------------------

def test_run_many_labels():
    opts = [optim.SGD(lr=1e-3), optim.Adam(lr=0.1), optim.SGD(lr=1e-2)]
    runs = run_many(opts, L.himmelblau, steps=10)
    assert list(runs) == ["SGD", "Adam", "SGD #2"]
    assert [t.name for t in runs.values()] == ["SGD", "Adam", "SGD"]
    np.testing.assert_array_equal(runs["SGD #2"].positions, run(opts[2], L.himmelblau, steps=10).positions)
    labelled = run_many({"slow": opts[0], "fast": opts[2]}, L.himmelblau, start=[1.0, 1.0], steps=5)
    assert list(labelled) == ["slow", "fast"] and labelled["fast"].name == "SGD"
    np.testing.assert_array_equal(labelled["slow"].positions[0], [1.0, 1.0])


# --- Schedules -----------------------------------------------------------------------------------------------------

def test_a_schedule_sets_the_hyperparameters_of_each_step():
    opt = Recorder(lr=99.0)
    run(opt, L.booth, steps=4, schedule=lambda t: {"lr": 1.0 / t})
    assert [lr for *_, lr in opt.calls] == [1.0, 0.5, 1 / 3, 0.25]
    scheduled = run(optim.SGD(lr=1.0), L.booth, steps=3, schedule=lambda t: {"lr": 0.01})
    np.testing.assert_array_equal(scheduled.positions, run(optim.SGD(lr=0.01), L.booth, steps=3).positions)


# --- Online problems -------------------------------------------------------------------------------------------------

def test_online_problem_shapes_projection_and_losses():
    p = L.amsgrad_problem
    traj = run(optim.SGD(lr=0.01), p, steps=250)
    assert traj.positions.shape == (251, 1) and traj.losses.shape == (251,)
    assert np.all(np.abs(traj.positions) <= 1)  # projected onto [-1, 1] by the problem itself
    t = np.arange(1, 252)
    np.testing.assert_array_equal(traj.losses, p.f(traj.positions, t))  # losses[k] = f_{k+1}(x_{k+1})
    # Without projection the iterate leaves the feasible set.
    free = run(optim.SGD(lr=0.01), p, steps=250, project=lambda x: x)
    assert np.abs(free.positions).max() > 1
    batched = run(optim.SGD(lr=np.array([0.01, 0.1])[:, None]), p, start=np.zeros(1), steps=20)
    assert batched.positions.shape == (21, 2, 1) and batched.losses.shape == (21, 2)


def test_online_problem_gradients_follow_the_step_count():
    opt = Recorder(lr=1e-4)
    run(opt, L.amsgrad_problem, steps=205)
    slopes = np.array([grads[0] for _, grads, *_ in opt.calls])
    np.testing.assert_array_equal(np.flatnonzero(slopes == 1010.0) + 1, [1, 102, 203])  # t = 1, 2, ...
    assert np.all(np.delete(slopes, [0, 101, 202]) == -10.0)


def test_reddi_et_al_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    """Reddi, Kale & Kumar (2018), section 5: β₁ = 0.9, β₂ = 0.99, step size α/√t."""
    p, steps = L.amsgrad_problem, 20_000
    schedule = lambda t: {"lr": 0.5 / np.sqrt(t)}  # noqa: E731
    adam = run(optim.Adam(lr=0.5, betas=(0.9, 0.99)), p, steps=steps, schedule=schedule)
    amsgrad = run(optim.Adam(lr=0.5, betas=(0.9, 0.99), amsgrad=True), p, steps=steps, schedule=schedule)
    last_period = slice(-p.period, None)
    assert adam.positions[last_period].mean() > 0.95  # the worst point of [-1, 1]
    assert amsgrad.positions[last_period].mean() < -0.9  # near the optimum x* = -1
    assert p.average_regret(amsgrad.positions)[-1] < p.average_regret(adam.positions)[-1]


# --- A rate the literature states exactly ------------------------------------------------------------------------------

@pytest.mark.parametrize("kappa, angle", [(10.0, 0.0), (100.0, 0.6)])
def test_gradient_descent_on_a_quadratic_contracts_by_the_textbook_rate(kappa, angle):
    """With α = 2/(λ₁ + λ₂), each eigen-component is multiplied by 1 − αλᵢ = ∓(κ − 1)/(κ + 1) per step."""
    q = L.quadratic(kappa, angle)
    lam = q.eigenvalues
    alpha = 2 / lam.sum()
    traj = run(optim.SGD(lr=alpha), q, steps=40)
    k = np.arange(41)[:, None]
    u_v = (q.start @ q.eigenvectors) * (1 - alpha * lam) ** k  # coordinates along (u, v)
    np.testing.assert_allclose(traj.positions, u_v @ q.eigenvectors.T, atol=1e-12)
    rate = (kappa - 1) / (kappa + 1)
    norms = np.linalg.norm(traj.positions, axis=-1)
    np.testing.assert_allclose(norms, rate**k[:, 0] * norms[0], rtol=1e-9)
