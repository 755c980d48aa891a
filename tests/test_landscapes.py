"""The landscapes: every gradient against torch autograd, every minimum, the quadratic's spectrum,
the noise, and the online problem of Reddi et al. (2018)."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from optim import landscapes as L

# Each loss written again, independently, in torch: autograd differentiates these.
TORCH_F = {
    "Rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "Beale": lambda x, y: ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
                           + (2.625 - x + x * y**3) ** 2),
    "Himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "Booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "Saddle": lambda x, y: x**2 - y**2,
    "Rastrigin": lambda x, y: (20 + x**2 - 10 * torch.cos(2 * math.pi * x)
                               + y**2 - 10 * torch.cos(2 * math.pi * y)),
}


def torch_quadratic(kappa, angle):
    """½ wᵀ H w with H = R diag(1, κ) Rᵀ, built in torch."""
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    hessian = rotation @ torch.diag(torch.tensor([1.0, kappa], dtype=torch.float64)) @ rotation.T
    return lambda x, y: 0.5 * (hessian[0, 0] * x * x + 2 * hessian[0, 1] * x * y + hessian[1, 1] * y * y)


QUADRATICS = [(10.0, 0.0), (1.0, 0.0), (100.0, 0.7), (3.0, -2.0)]
CASES = [(L.ALL[name], TORCH_F[name]) for name in TORCH_F] + [
    (L.quadratic(kappa, angle), torch_quadratic(kappa, angle)) for kappa, angle in QUADRATICS]
IDS = list(TORCH_F) + [f"quadratic-{kappa}-{angle}" for kappa, angle in QUADRATICS]


def random_points(landscape, shape, seed=0):
    """Points drawn uniformly in the landscape's window, of shape (*shape, 2)."""
    (x0, x1), (y0, y1) = landscape.bounds
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x0, x1, shape), rng.uniform(y0, y1, shape)], axis=-1)


def torch_value_and_grad(torch_f, xy):
    xy = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    loss = torch_f(xy[..., 0], xy[..., 1])
    (grad,) = torch.autograd.grad(loss.sum(), xy)
    return loss.detach().numpy(), grad.numpy()


def test_the_formula_table_covers_every_landscape():
    assert set(L.ALL) == set(TORCH_F) | {"Quadratic"}


@pytest.mark.parametrize("landscape, torch_f", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(), (7,), (4, 5)])
def test_loss_and_gradient_match_torch_autograd(landscape, torch_f, shape):
    xy = random_points(landscape, shape, seed=len(shape))
    loss, grad = torch_value_and_grad(torch_f, xy)
    assert landscape.f(xy).shape == shape and landscape.grad(xy).shape == (*shape, 2)
    np.testing.assert_allclose(landscape.f(xy), loss, rtol=1e-12, atol=1e-12)
    error = np.linalg.norm(landscape.grad(xy) - grad, axis=-1)
    assert np.all(error <= 1e-10 * np.linalg.norm(grad, axis=-1)), error.max()


@pytest.mark.parametrize("landscape", L.ALL.values(), ids=L.ALL)
def test_no_overflow_warning_well_beyond_the_window(landscape):
    xy = 10 * random_points(landscape, (50, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(landscape.f(xy)).all() and np.isfinite(landscape.grad(xy)).all()


@pytest.mark.parametrize("landscape", L.ALL.values(), ids=L.ALL)
def test_plain_lists_and_a_single_point_are_accepted(landscape):
    point = [float(v) for v in landscape.start]
    assert np.ndim(landscape.f(point)) == 0 and landscape.grad(point).shape == (2,)
    assert landscape.f(point) == landscape.f(landscape.start)


WITH_MINIMA = {name: landscape for name, landscape in L.ALL.items() if len(landscape.minima)}


@pytest.mark.parametrize("landscape", WITH_MINIMA.values(), ids=WITH_MINIMA)
def test_minima_are_stationary_with_the_documented_loss(landscape):
    assert landscape.minima.ndim == 2 and landscape.minima.shape[1] == 2
    np.testing.assert_allclose(landscape.grad(landscape.minima), 0, atol=1e-12)
    np.testing.assert_allclose(landscape.f(landscape.minima), landscape.min_value, atol=1e-24)


@pytest.mark.parametrize("landscape", WITH_MINIMA.values(), ids=WITH_MINIMA)
def test_minima_are_global_in_the_window(landscape):
    (x0, x1), (y0, y1) = landscape.bounds
    for (mx, my) in landscape.minima:
        assert x0 <= mx <= x1 and y0 <= my <= y1
    grid = np.stack(np.meshgrid(np.linspace(x0, x1, 301), np.linspace(y0, y1, 301)), axis=-1)
    assert landscape.f(grid).min() >= landscape.min_value
    nearby = landscape.minima[:, None] + 1e-3 * np.random.default_rng(0).standard_normal((1, 20, 2))
    assert np.all(landscape.f(nearby) > landscape.min_value)


def test_himmelblau_has_four_distinct_minima():
    minima = L.himmelblau.minima
    assert minima.shape == (4, 2)
    distances = np.linalg.norm(minima[:, None] - minima[None], axis=-1)
    assert np.all(distances[~np.eye(4, dtype=bool)] > 1)


def test_saddle_has_no_minimum_and_a_stationary_saddle_point():
    assert L.saddle.minima.shape == (0, 2) and np.isnan(L.saddle.min_value)
    np.testing.assert_array_equal(L.saddle.grad(np.zeros(2)), 0)
    # A minimum along x, a maximum along y: the origin is not a minimum.
    assert L.saddle.f([0.1, 0.0]) > 0 > L.saddle.f([0.0, 0.1])


@pytest.mark.parametrize("landscape", L.ALL.values(), ids=L.ALL)
def test_plotting_metadata(landscape):
    (x0, x1), (y0, y1) = landscape.bounds
    assert x0 < landscape.start[0] < x1 and y0 < landscape.start[1] < y1
    assert landscape.start.shape == (2,) and isinstance(landscape.log_contours, bool)
    assert landscape.dim == 2 and not landscape.time_dependent
    assert L.ALL[landscape.name] is landscape
    assert landscape.name in repr(landscape)


def test_shared_arrays_are_read_only():
    for landscape in L.ALL.values():
        for array in (landscape.minima, landscape.start):
            with pytest.raises(ValueError, match="read-only"):
                array[...] = 0.0


def test_deep_curved_valleys_ask_for_log_contours():
    assert L.rosenbrock.log_contours and L.beale.log_contours and not L.booth.log_contours


# --- The quadratic -------------------------------------------------------------------------------

@pytest.mark.parametrize("kappa, angle", QUADRATICS)
def test_quadratic_spectrum(kappa, angle):
    q = L.quadratic(kappa, angle)
    np.testing.assert_allclose(q.hessian, q.hessian.T, atol=0)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.hessian), [1.0, kappa], rtol=1e-12)
    np.testing.assert_array_equal(q.eigenvalues, [1.0, kappa])
    assert q.condition_number == kappa
    u, v = q.eigenvectors.T  # λ₁ = 1 along u, λ₂ = κ along v
    np.testing.assert_allclose(q.hessian @ u, u, atol=1e-12)
    np.testing.assert_allclose(q.hessian @ v, kappa * v, atol=1e-12 * kappa)
    np.testing.assert_allclose(q.f(np.stack([u, v])), [0.5, 0.5 * kappa], rtol=1e-12)
    w = random_points(q, (10,))
    np.testing.assert_allclose(q.grad(w), w @ q.hessian.T, rtol=1e-12)


def test_unrotated_quadratic_is_flat_along_x_and_steep_along_y():
    q = L.quadratic(kappa=25.0)
    x, y = 0.3, -1.7
    assert q.f([x, y]) == pytest.approx(0.5 * (x**2 + 25.0 * y**2), rel=1e-15)
    assert L.ALL["Quadratic"].condition_number == 10.0


@pytest.mark.parametrize("kappa", [0.5, 0.0, -3.0, np.nan, np.inf])
def test_quadratic_rejects_a_bad_condition_number(kappa):
    with pytest.raises(ValueError, match="kappa"):
        L.quadratic(kappa)


# --- Noise ---------------------------------------------------------------------------------------

def draws(landscape, n=5, shape=(3, 2)):
    xy = np.zeros(shape)
    return np.stack([landscape.grad(xy) for _ in range(n)])


def test_noisy_gradient_is_reproducible_from_its_seed():
    first = draws(L.noisy(L.rosenbrock, 0.3, seed=7))
    np.testing.assert_array_equal(first, draws(L.noisy(L.rosenbrock, 0.3, seed=7)))
    assert not np.allclose(first, draws(L.noisy(L.rosenbrock, 0.3, seed=8)))
    # successive calls draw fresh noise; restarted() goes back to the seed
    noisy = L.noisy(L.rosenbrock, 0.3, seed=7)
    used = draws(noisy)
    assert not np.allclose(used, draws(noisy))
    np.testing.assert_array_equal(draws(noisy.restarted()), first)


def test_noisy_keeps_the_clean_loss_and_adds_noise_of_the_given_std():
    sigma = 0.25
    noisy = L.noisy(L.beale, sigma, seed=0)
    xy = random_points(L.beale, (200_000,))
    np.testing.assert_array_equal(noisy.f(xy), L.beale.f(xy))
    noise = noisy.grad(xy) - L.beale.grad(xy)
    assert abs(noise.mean()) < 0.01 * sigma
    assert noise.std() == pytest.approx(sigma, rel=0.01)
    assert abs(np.corrcoef(noise[:, 0], noise[:, 1])[0, 1]) < 0.01
    np.testing.assert_array_equal(L.noisy(L.beale, 0.0).grad(xy), L.beale.grad(xy))
    assert "noise" in noisy.name
    np.testing.assert_array_equal(noisy.minima, L.beale.minima)


def test_noisy_quadratic_keeps_its_spectrum():
    q = L.noisy(L.quadratic(50.0, 0.4), 0.1)
    assert q.condition_number == 50.0 and q.hessian.shape == (2, 2)


@pytest.mark.parametrize("sigma", [-0.1, np.nan])
def test_noisy_rejects_a_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        L.noisy(L.rosenbrock, sigma)


# --- The online problem of Reddi, Kale & Kumar (2018) --------------------------------------------

def test_amsgrad_problem_follows_the_paper():
    p = L.amsgrad_problem
    t = np.arange(1, 404)
    slopes = p.grad(np.zeros((len(t), 1)), t)[:, 0]  # t broadcasts against x.shape[:-1]
    expected = np.where(np.isin(t, [1, 102, 203, 304]), 1010.0, -10.0)
    np.testing.assert_array_equal(slopes, expected)
    np.testing.assert_array_equal(p.f(np.full((len(t), 1), 0.5), t), 0.5 * expected)
    assert p.period_slope == 10.0  # one period sums to 10x: the best fixed point is x = -1
    np.testing.assert_array_equal(p.minima, [[-1.0]])
    np.testing.assert_array_equal(p.project(np.array([[-3.0], [0.2], [7.0]])), [[-1.0], [0.2], [1.0]])
    assert p.dim == 1 and p.time_dependent


def test_online_gradient_shapes_follow_x():
    p = L.amsgrad_problem
    assert p.grad(np.zeros((4, 3, 1)), 1).shape == (4, 3, 1)
    assert p.f(np.zeros((4, 3, 1)), 1).shape == (4, 3)
    assert p.grad(np.zeros(1), 102).tolist() == [1010.0]


def test_theorem_1_family():
    p = L.OnlineProblem(period=3, high=3.0, low=-1.0)
    assert [float(p.slope(t)) for t in range(1, 7)] == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]
    np.testing.assert_array_equal(p.minima, [[-1.0]])  # C - 2 > 0


def brute_force_regret(problem, xs):
    """R_T = Σ_{t≤T} f_t(x_t) − min over a fine grid of x of Σ_{t≤T} f_t(x), by loops."""
    grid = np.linspace(-1, 1, 2001)
    regrets, incurred, totals = [], 0.0, np.zeros_like(grid)
    for t, x in enumerate(xs, start=1):
        incurred += float(problem.f(np.array([x]), t))
        totals += problem.f(grid[:, None], t)
        regrets.append(incurred - totals.min())
    return np.array(regrets)


@pytest.mark.parametrize("problem", [L.amsgrad_problem, L.OnlineProblem(period=3, high=3.0, low=-1.0)])
def test_regret_matches_a_brute_force_computation(problem):
    xs = np.random.default_rng(0).uniform(-1, 1, 250)
    expected = brute_force_regret(problem, xs)
    np.testing.assert_allclose(problem.regret(xs[:, None]), expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(problem.average_regret(xs[:, None]), expected / np.arange(1, 251),
                               rtol=1e-12, atol=1e-9)
    batch = np.stack([xs, -xs], axis=1)[..., None]  # (T, 2, 1)
    assert problem.regret(batch).shape == (250, 2)
    np.testing.assert_allclose(problem.regret(batch)[:, 0], expected, rtol=1e-12, atol=1e-9)


def test_staying_at_the_optimum_has_bounded_regret():
    p = L.amsgrad_problem
    regret = p.regret(np.full((10 * 101, 1), -1.0))
    assert regret.min() >= 0 and regret[-1] == 0.0  # zero at the end of every full period
    assert p.average_regret(np.full((10 * 101, 1), 1.0))[-1] == pytest.approx(20 / 101)


def test_landscapes_and_engine_import_neither_torch_nor_matplotlib():
    code = ("import sys, optim.landscapes, optim.trajectory; "
            "print(sorted({'torch', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
