"""Results the literature states exactly, reproduced from runs of the package's optimizers.

* Goh, "Why momentum really works" (Distill 2017) and Polyak (1964): the convergence rates of
  gradient descent and heavy ball on a quadratic, and their stability boundaries;
* Reddi, Kale & Kumar, "On the convergence of Adam and beyond" (ICLR 2018), section 5: Adam goes
  to the worst point of the online problem, AMSGrad to the best, and only AMSGrad's average
  regret vanishes;
* Liu et al., "On the variance of the adaptive learning rate and beyond" (ICLR 2020): RAdam's ρ_t,
  its threshold ρ_t > 5 and its rectification r_t;
* Kingma & Ba, "Adam" (ICLR 2015), section 3: the bias-correction factors 1 - βᵗ.

Every rate is *measured* on a trajectory of the package (never computed from the formula alone).
"""
from fractions import Fraction

import numpy as np
import pytest

import optim
from optim.landscapes import amsgrad_problem, quadratic
from optim.radam import rectification
from optim.trajectory import run

KAPPA = 100.0
EPS64 = np.finfo(float).eps
Q = quadratic(kappa=KAPPA)              # eigenvalues λ₁ = 1, λ₂ = κ = 100
L1, L2 = Q.eigenvalues


def norms(traj):
    """‖w_t‖ along a 2-D trajectory, without the underflow of x² + y² below 1e-154."""
    return np.hypot(traj.positions[:, 0], traj.positions[:, 1])


# --- Goh (2017): gradient descent and heavy ball on the κ = 100 quadratic --------------------------------------------

def test_gradient_descent_contracts_by_kappa_minus_1_over_kappa_plus_1_every_step():
    """α = 2/(λ₁+λ₂): both eigen-components are multiplied by ∓(κ−1)/(κ+1), so ‖w_{t+1}‖/‖w_t‖ is that rate exactly."""
    alpha = 2 / (L1 + L2)
    traj = run(optim.SGD(lr=alpha), Q, steps=300)
    n = norms(traj)
    measured = n[1:] / n[:-1]
    rate = (KAPPA - 1) / (KAPPA + 1)
    np.testing.assert_allclose(measured, rate, rtol=1e-12)
    # and over the whole run (300 steps, down to ~1e-2.6·300): the same rate, to 1e-12
    assert abs((n[-1] / n[0]) ** (1 / 300) / rate - 1) < 1e-12


def test_heavy_ball_with_optimal_alpha_beta_converges_at_sqrt_kappa_rate():
    """Heavy ball (torch form v ← βv + g, w ← w − αv, which is Polyak's w_{t+1} = w_t − α∇f + β(w_t − w_{t−1})).

    At α = (2/(√λ₁+√λ₂))², β = ((√κ−1)/(√κ+1))² both eigen-components have a *repeated*
    eigenvalue ±r, r = (√κ−1)/(√κ+1) = 9/11, so ‖w_t‖ = (a + b t)·rᵗ in each coordinate: the
    error is not a pure geometric sequence. Three measurements, each with its honest tolerance:

    1. ‖w_t‖/(t rᵗ) tends to a constant (the t·rᵗ factor is really there): the value at t = 1000
       and at t = 1500 agree to 1e-3 (the correction is a/(bt) ~ 1/t);
    2. the plain contraction over a window, (‖w_{2T}‖/‖w_T‖)^{1/T}, is r·2^{1/T}(1 + O(1/T²)),
       so with T = 1000 it is r to 7e-4 (< 1e-3), the factor 2^{1/T} being the t in t·rᵗ;
    3. removing that factor, (‖w_{2T}‖/(2‖w_T‖))^{1/T} is r to 1e-5 already at T = 500.

    (‖w_t‖ reaches 1e-170 here, far above float64's 1e-308; np.hypot avoids the underflow of
    squaring.) A momentum buffer in the EMA form (1−β)g, a missing β, or a Nesterov look-ahead
    gives another rate and fails 2 and 3.
    """
    alpha = (2 / (np.sqrt(L1) + np.sqrt(L2))) ** 2
    beta = ((np.sqrt(KAPPA) - 1) / (np.sqrt(KAPPA) + 1)) ** 2
    r = (np.sqrt(KAPPA) - 1) / (np.sqrt(KAPPA) + 1)
    traj = run(optim.SGD(lr=alpha, momentum=beta), Q, steps=2000)
    n = norms(traj)
    assert not traj.diverged and np.all(n[1:] > 0)
    shape = lambda t: n[t] / (t * r**t)  # noqa: E731
    assert abs(shape(1500) / shape(1000) - 1) < 1e-3
    T = 1000
    assert abs((n[2 * T] / n[T]) ** (1 / T) / r - 1) < 1e-3
    T = 500
    assert abs((n[2 * T] / (2 * n[T])) ** (1 / T) / r - 1) < 1e-5
    # and heavy ball really is faster: GD's rate at its best α is (κ−1)/(κ+1) = 0.980, not 0.818
    assert r < 0.82 < (KAPPA - 1) / (KAPPA + 1)


def test_heavy_ball_is_polyaks_recursion_with_the_same_alpha():
    """torch's form and Polyak's w_{t+1} = w_t − α∇f(w_t) + β(w_t − w_{t−1}) (w_0 = w_{-1}) give the same path."""
    alpha, beta = 0.017, 0.6
    traj = run(optim.SGD(lr=alpha, momentum=beta), Q, steps=60)
    w_prev = w = np.asarray(Q.start, dtype=float)
    polyak = [w]
    for _ in range(60):
        w, w_prev = w - alpha * Q.grad(w) + beta * (w - w_prev), w
        polyak.append(w)
    np.testing.assert_allclose(traj.positions, polyak, rtol=1e-10, atol=1e-13)


DELTA = 0.01  # 1 % inside / outside the boundary


@pytest.mark.parametrize("side, converges", [(1 - DELTA, True), (1 + DELTA, False)], ids=["inside", "outside"])
def test_gradient_descent_is_stable_exactly_when_alpha_lambda_max_below_2(side, converges):
    """GD on a quadratic: w ← (1 − αλ)w per eigen-direction, stable iff 0 < αλ < 2 for λ = λ_max."""
    alpha = side * 2 / L2
    traj = run(optim.SGD(lr=alpha), Q, steps=3000)
    if converges:
        assert not traj.diverged and norms(traj)[-1] < 1e-9 * norms(traj)[0]
    else:
        assert traj.diverged


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("side, converges", [(1 - DELTA, True), (1 + DELTA, False)], ids=["inside", "outside"])
def test_heavy_ball_is_stable_exactly_when_alpha_lambda_max_below_2_plus_2_beta(beta, side, converges):
    """Heavy ball: z² − (1 + β − αλ)z + β has its roots in the unit disc iff 0 < αλ < 2 + 2β (0 ≤ β < 1).

    At αλ = 2 + 2β the polynomial is (z + 1)(z + β): the root −1 is the boundary.
    """
    alpha = side * (2 + 2 * beta) / L2
    traj = run(optim.SGD(lr=alpha, momentum=beta), Q, steps=6000)
    if converges:
        assert not traj.diverged and norms(traj)[-1] < 1e-6 * norms(traj)[0]
    else:
        assert traj.diverged


def test_heavy_ball_boundary_holds_for_a_batch_of_betas_in_one_run():
    """The same boundary, with β as an array hyperparameter: one vectorised run, every β on both sides."""
    betas = np.linspace(0.0, 0.95, 9)[:, None, None]            # (β, side, coordinate)
    sides = np.array([1 - DELTA, 1 + DELTA])[None, :, None]
    alpha = sides * (2 + 2 * betas) / L2
    traj = run(optim.SGD(lr=alpha, momentum=betas), Q, steps=8000)
    assert traj.diverged.shape == (9, 2)
    assert not traj.diverged[:, 0].any() and traj.diverged[:, 1].all()


# --- Reddi, Kale & Kumar (2018): the AMSGrad counterexample ------------------------------------------------------------

STEPS = 200 * amsgrad_problem.period        # 20,200 steps: 200 periods


@pytest.fixture(scope="module")
def reddi_runs():
    """Section 5's setting: β₁ = 0.9, β₂ = 0.99, step size α/√t (see the landscape's docstring)."""
    schedule = lambda t: {"lr": 0.5 / np.sqrt(t)}  # noqa: E731
    return {name: run(optim.Adam(lr=0.5, betas=(0.9, 0.99), amsgrad=ams), amsgrad_problem, steps=STEPS,
                      schedule=schedule)
            for name, ams in (("adam", False), ("amsgrad", True))}


def test_reddi_adam_ends_near_the_worst_point_and_amsgrad_near_the_best(reddi_runs):
    last = slice(-amsgrad_problem.period, None)
    assert reddi_runs["adam"].positions[last].mean() > 0.95        # x = +1: the worst point
    assert reddi_runs["amsgrad"].positions[last].mean() < -0.9     # x* = -1


def test_reddi_amsgrad_average_regret_vanishes_and_adams_does_not(reddi_runs):
    """R_T/T → 0 iff the regret is o(T). AMSGrad: R_T/√T does not grow (its O(√T) bound), so R_T/T → 0.

    Adam: sitting at x = +1 costs 20 per period of 101 steps (10 incurred against −10 at x* = −1),
    so its regret keeps growing by at least 20/101 per step and R_T/T stays above 20/101.
    """
    p = amsgrad_problem
    regret = {name: p.regret(traj.positions[:-1]) for name, traj in reddi_runs.items()}   # positions[k] = x_{k+1}
    T, half = STEPS, STEPS // 2
    per_step_late = {name: (R[T - 1] - R[half - 1]) / (T - half) for name, R in regret.items()}
    floor = 20 / 101
    assert per_step_late["adam"] > floor and regret["adam"][T - 1] / T > floor
    assert per_step_late["amsgrad"] < 0.75 * floor
    sqrt_growth = {name: (R[T - 1] / np.sqrt(T)) / (R[T // 4 - 1] / np.sqrt(T // 4)) for name, R in regret.items()}
    assert sqrt_growth["amsgrad"] < 1.0 < 1.2 < sqrt_growth["adam"]
    avg = {name: p.average_regret(traj.positions[:-1]) for name, traj in reddi_runs.items()}
    assert avg["amsgrad"][T - 1] < 0.5 * avg["amsgrad"][T // 4 - 1]       # halves when T quadruples
    assert avg["amsgrad"][T - 1] < avg["adam"][T - 1]


# --- Liu et al. (2020): RAdam's ρ_t, its threshold and r_t ------------------------------------------------------------

def rho_direct(t, beta2):
    """ρ_t from its definition, in exact rational arithmetic: the length f of the simple moving average
    whose centre of mass matches that of the bias-corrected EMA of g_1², …, g_t²,

        Σ_i w_i i / Σ_i w_i = t − (f − 1)/2,    w_i = (1 − β₂) β₂^{t−i},

    which Liu et al. solve in closed form as ρ_∞ − 2tβ₂ᵗ/(1 − β₂ᵗ).
    """
    b = Fraction(beta2)
    w = [(1 - b) * b ** (t - i) for i in range(1, t + 1)]
    centre = sum(wi * i for wi, i in zip(w, range(1, t + 1))) / sum(w)
    return 2 * (t - centre) + 1


@pytest.mark.parametrize("beta2", [0.7, 0.9, 0.99, 0.999, 0.9999])
@pytest.mark.parametrize("t", [1, 2, 3, 5, 6, 7, 50, 200])
def test_radam_rho_t_equals_its_direct_evaluation(beta2, t):
    """The closed form agrees with the exact definition, to the rounding of 1 − β₂ᵗ (error ~ ε·ρ_∞/(1 − β₂ᵗ))."""
    rho_t, _ = rectification(t, beta2)
    exact = float(rho_direct(t, beta2))
    rho_inf = 2 / (1 - beta2) - 1
    assert abs(rho_t - exact) <= 16 * np.finfo(float).eps * rho_inf / (1 - beta2**t)
    assert rho_t <= rho_inf


FIRST_ADAPTIVE = {0.999: 6, 0.9999: 6, 0.99: 6, 0.9: 6, 0.8: 7, 0.7: 10}


@pytest.mark.parametrize("beta2, first", list(FIRST_ADAPTIVE.items()))
def test_radam_switches_on_the_adaptive_step_at_the_first_t_with_rho_t_above_5(beta2, first):
    """r_t is None exactly while ρ_t ≤ 5 (checked against the exact ρ_t); for β₂ = 0.999: t = 6 (ρ_5 = 4.996, ρ_6 = 5.994)."""
    exact_first = next(t for t in range(1, 100) if rho_direct(t, beta2) > 5)
    assert exact_first == first
    for t in range(1, first + 5):
        rho_t, r_t = rectification(t, beta2)
        assert (r_t is None) == (t < first), (t, rho_t)


def test_radam_rectification_tends_to_one_from_below():
    r = [rectification(t, 0.999)[1] for t in (6, 10, 100, 1_000, 10_000)]
    assert all(0 < a < b < 1 for a, b in zip(r, r[1:]))
    assert abs(rectification(10**6, 0.999)[1] - 1) < 1e-12
    assert abs(rectification(10**4, 0.9)[1] - 1) < 1e-12


@pytest.mark.parametrize("beta2", [0.999, 0.8])
def test_radam_steps_are_momentum_steps_before_the_switch_and_rectified_adaptive_after(beta2):
    """Before: w ← w − α m̂_t (un-normalised). After: w ← w − α r_t m̂_t √(1−β₂ᵗ)/(√v_t + ε). m, v computed by hand."""
    b1, lr, eps = 0.9, 0.1, 1e-8
    opt = optim.RAdam(lr=lr, betas=(b1, beta2), eps=eps)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(3)
    state = opt.init(w)
    m = v = np.zeros(3)
    first = FIRST_ADAPTIVE[beta2]
    for t in range(1, first + 4):
        g = rng.standard_normal(3)
        m, v = b1 * m + (1 - b1) * g, beta2 * v + (1 - beta2) * g * g
        new, state = opt.step(w, g, state)
        m_hat = m / (1 - b1**t)
        if t < first:
            expected = w - lr * m_hat
        else:
            _, r_t = rectification(t, beta2)
            expected = w - lr * r_t * m_hat * np.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
        np.testing.assert_allclose(new, expected, rtol=1e-13, atol=1e-15, err_msg=f"t={t}")
        w = new


def test_radam_sweep_over_beta2_switches_each_run_at_its_own_t():
    """β₂ as an array: each run switches at its own first t, as the scalar runs do.

    Not bitwise: NumPy's array power and Python's float power may differ by one ulp in β₂ᵗ
    (they do for 0.999⁷), and ρ_t − 4 = ρ_∞ − 4 − 2tβ₂ᵗ/(1−β₂ᵗ) amplifies that by ρ_∞/(1−β₂ᵗ)
    near the switch (r_7 differs by 2e-13 relative); hence 1e-12.
    """
    betas2 = np.array([0.999, 0.8, 0.7])[:, None]
    opt = optim.RAdam(lr=0.1, betas=(0.9, betas2))
    rng = np.random.default_rng(1)
    w = np.broadcast_to(rng.standard_normal(3), (3, 3))
    grads = rng.standard_normal((12, 3))
    state = opt.init(w)
    singles = [(optim.RAdam(lr=0.1, betas=(0.9, float(b))), w[i]) for i, b in enumerate(betas2[:, 0])]
    single_states = [o.init(p) for o, p in singles]
    for g in grads:
        w, state = opt.step(w, g, state)
        for i, (o, p) in enumerate(singles):
            p, single_states[i] = o.step(p, g, single_states[i])
            singles[i] = (o, p)
            np.testing.assert_allclose(w[i], p, rtol=1e-12, atol=1e-15)


def test_radam_never_adapts_when_rho_infinity_is_at_most_5():
    """β₂ ≤ 2/3 gives ρ_∞ = 2/(1−β₂) − 1 ≤ 5: ρ_t never exceeds 5 and RAdam stays a momentum method.

    β₂ = 0.6 (ρ_∞ = 4 exactly) is a valid hyperparameter (torch.optim.RAdam accepts and runs it).
    """
    for beta2 in (0.0, 0.3, 0.5, 0.6, 0.65):
        for t in (1, 2, 10, 1000):
            rho_t, r_t = rectification(t, beta2)
            assert r_t is None and rho_t <= 5
        opt = optim.RAdam(lr=0.1, betas=(0.9, beta2))
        w, state = np.ones(2), opt.init(np.ones(2))
        new, state = opt.step(w, np.array([2.0, -3.0]), state)
        np.testing.assert_allclose(new, w - 0.1 * np.array([2.0, -3.0]), rtol=1e-15)


# --- Kingma & Ba (2015): bias correction ----------------------------------------------------------------------------

@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.99, 0.9999)])
def test_adam_moments_of_a_constant_gradient_are_1_minus_beta_to_the_t_times_g(betas):
    """From zero state, t steps of a constant g give m_t = (1−β₁ᵗ) g and v_t = (1−β₂ᵗ) g² (to rounding),
    so the bias-corrected m̂_t = g, v̂_t = g², and every step is −α·sign(g) up to ε."""
    b1, b2 = betas
    lr, eps = 0.01, 1e-8
    g = np.array([3.0, -0.5, 1e-3, -2e4])
    opt = optim.Adam(lr=lr, betas=betas, eps=eps)
    w = np.zeros(4)
    state = opt.init(w)
    for t in range(1, 41):
        new, state = opt.step(w, g, state)
        # the comparison value is itself rounded: 1 − βᵗ carries a relative error ε/(1 − βᵗ)
        np.testing.assert_allclose(state.m, (1 - b1**t) * g, rtol=4 * EPS64 * t / (1 - b1**t))
        np.testing.assert_allclose(state.v, (1 - b2**t) * g * g, rtol=4 * EPS64 * t / (1 - b2**t))
        step = new - w
        # exactly −α g/(|g| + ε): the ε is the only departure from −α sign(g)
        np.testing.assert_allclose(step, -lr * g / (np.abs(g) + eps), rtol=1e-12)
        np.testing.assert_allclose(step, -lr * np.sign(g), rtol=eps / 1e-3 * 1.01)
        w = new


def test_adam_first_step_is_minus_lr_times_sign_of_g_whatever_the_betas():
    """t = 1: m̂₁ = g, v̂₁ = g², step = −α g/(|g| + ε); with ε = 0 exactly −α sign(g), for any β's."""
    g = np.array([1e-6, -7.0, 123.0])
    for betas in [(0.0, 0.0), (0.9, 0.999), (0.999, 0.5)]:
        opt = optim.Adam(lr=0.3, betas=betas, eps=0.0)
        new, _ = opt.step(np.zeros(3), g, opt.init(np.zeros(3)))
        np.testing.assert_allclose(new, -0.3 * np.sign(g), rtol=1e-15)
