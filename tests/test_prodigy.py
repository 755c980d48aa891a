"""Prodigy and DAdaptAdam against their oracles, ``prodigyopt.Prodigy`` 1.1.2 and ``dadaptation.DAdaptAdam`` 3.2.

The scenario: 4 parameters (a scalar, a vector, matrices) in two param groups, 210 noisy steps, one
parameter without a gradient every 7th step; parameters, per-parameter state and the group scalars
(d, ...) must agree to 1e-10 (float64) and 1e-5 (float32), relative (they agree bit for bit: the
torch face performs the oracles' operations in their order, down to torch.dot for the numerator). Then: the NumPy face against the
torch face, state dicts across the packages, the skip on a zero gradient, validation.
"""
from __future__ import annotations

import contextlib
import copy
import io

import dadaptation
import numpy as np
import prodigyopt
import pytest
import torch

import optim
import optim.torch
from torch_checks import assert_close, grid

STEPS = 210
SHAPES = [(), (3,), (2, 3), (4, 1, 2)]
_gen = torch.Generator().manual_seed(1)
NOISE = [[0.5 * torch.randn(s, generator=_gen, dtype=torch.float64) for s in SHAPES] for _ in range(STEPS + 50)]
INF = float("inf")


def one_at_a_time(base, **options):
    return [{**base, key: value} for key, values in options.items() for value in values]


PRODIGY = (grid(betas=[(0.9, 0.999), (0.0, 0.99)], weight_decay=[0.0, 0.05], decouple=[True, False],
                use_bias_correction=[False, True])
           + one_at_a_time(dict(), beta3=[0.9], safeguard_warmup=[True], d_coef=[0.5, 2.0], growth_rate=[1.02],
                           slice_p=[3], d0=[1e-3], lr=[0.5], eps=[1e-3])
           + [dict(betas=(0.5, 0.9), beta3=0.8, weight_decay=0.05, decouple=False, use_bias_correction=True,
                   safeguard_warmup=True, d_coef=0.7, growth_rate=1.05, slice_p=2, d0=1e-4)])
DADAPT = (grid(betas=[(0.9, 0.999), (0.0, 0.99)], weight_decay=[0.0, 0.05], decouple=[False, True],
               use_bias_correction=[False, True])
          + one_at_a_time(dict(), growth_rate=[1.02], d0=[1e-3], lr=[0.5], eps=[1e-3])
          + [dict(betas=(0.5, 0.9), weight_decay=0.05, decouple=True, use_bias_correction=True,
                  growth_rate=1.05, d0=1e-4)])
CASES = [("Prodigy", c) for c in PRODIGY] + [("DAdaptAdam", c) for c in DADAPT]
ORACLE = {"Prodigy": prodigyopt.Prodigy, "DAdaptAdam": dadaptation.DAdaptAdam}
#: the group scalars each oracle keeps
SCALARS = {"Prodigy": ("d", "d_max", "d_numerator", "d_denom", "d_hat", "k"),
           "DAdaptAdam": ("d", "numerator_weighted", "k")}


def case_id(case):
    name, config = case
    return name + "-" + (",".join(f"{k}={v}" for k, v in config.items()) or "defaults")


def quiet(factory, *args, **kwargs):
    """The oracles print "Using decoupled weight decay"; keep the test output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        return factory(*args, **kwargs)


def make_params(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype).requires_grad_() for s in SHAPES]


def set_grads(params, step):
    for i, p in enumerate(params):
        w = p.detach()
        p.grad = None if (i == 1 and step % 7 == 3) else w + 3 * torch.cos(3 * w) + NOISE[step][i].to(w.dtype)


def run(factory, config, dtype, steps=STEPS, second_lr=None):
    params = make_params(dtype)
    groups = [{"params": params[:2]}, {"params": params[2:]}]
    if second_lr is not None:
        groups[1]["lr"] = second_lr
    opt = quiet(factory, groups, **config)
    for step in range(steps):
        set_grads(params, step)
        opt.step()
    return params, opt


def compare(name, ours, our_opt, theirs, their_opt, rtol):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.detach(), b.detach(), f"param {i}", rtol)
        sa, sb = our_opt.state[a], their_opt.state[b]
        assert sa.keys() == sb.keys(), f"param {i}: state keys {set(sa)} vs {set(sb)}"
        for key in sb:
            assert_close(sa[key], sb[key], f"param {i} state {key!r}", rtol)
    for ga, gb in zip(our_opt.param_groups, their_opt.param_groups):
        for key in SCALARS[name]:
            # np.float64: torch.as_tensor of a Python float would make a float32 tensor
            assert_close(np.float64(ga[key]), np.float64(gb[key]), f"group {key!r}", rtol)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_torch_face_matches_the_oracle(case, dtype, rtol):
    name, config = case
    ours, our_opt = run(getattr(optim.torch, name), config, dtype)
    theirs, their_opt = run(ORACLE[name], config, dtype)
    compare(name, ours, our_opt, theirs, their_opt, rtol)
    assert our_opt.param_groups[0]["d"] > 10 * config.get("d0", 1e-6), "d never rose: the test would be vacuous"


@pytest.mark.parametrize("name", list(ORACLE))
def test_a_group_with_lr_0_is_left_out_of_the_estimate_as_in_the_oracle(name):
    ours, our_opt = run(getattr(optim.torch, name), {}, torch.float64, steps=60, second_lr=0.0)
    theirs, their_opt = run(ORACLE[name], {}, torch.float64, steps=60, second_lr=0.0)
    compare(name, ours, our_opt, theirs, their_opt, 1e-10)


@pytest.mark.parametrize("name", list(ORACLE))
def test_groups_with_different_nonzero_lr_are_refused_as_in_the_oracle(name):
    for factory in (getattr(optim.torch, name), ORACLE[name]):
        params = make_params(torch.float64)
        opt = quiet(factory, [{"params": params[:2]}, {"params": params[2:], "lr": 0.5}])
        set_grads(params, 0)
        with pytest.raises(RuntimeError, match="lr"):
            opt.step()


@pytest.mark.parametrize("name", list(ORACLE))
def test_same_signature_and_defaults_as_the_oracle_plus_maximize(name):
    import inspect
    ours = inspect.signature(getattr(optim.torch, name)).parameters
    theirs = inspect.signature(ORACLE[name]).parameters
    assert list(ours) == list(theirs) + ["maximize"]
    for key, p in theirs.items():
        assert ours[key].default == p.default, key
    numpy_face = getattr(optim, name).defaults
    torch_only = {"params", "fsdp_in_use", "log_every"}
    assert numpy_face == {k: v.default for k, v in ours.items() if k not in torch_only}


@pytest.mark.parametrize("name", list(ORACLE))
@pytest.mark.parametrize("direction", ["oracle->ours", "ours->oracle"])
def test_state_dicts_load_across_the_packages_and_continue_identically(name, direction):
    first, second = (ORACLE[name], getattr(optim.torch, name))
    if direction == "ours->oracle":
        first, second = second, first
    params, opt = run(first, {}, torch.float64, steps=50)
    saved = copy.deepcopy(opt.state_dict())
    clone = [p.detach().clone().requires_grad_() for p in params]
    other = quiet(second, [{"params": clone[:2]}, {"params": clone[2:]}])
    other.load_state_dict(saved)
    for step in range(50, 120):
        set_grads(params, step)
        opt.step()
        set_grads(clone, step)
        other.step()
    for a, b in zip(clone, params):
        assert_close(a.detach(), b.detach(), "param after the round trip", 1e-10)


def test_prodigy_keeps_p0_of_an_all_zero_parameter_as_one_zero_like_the_oracle():
    for factory in (optim.torch.Prodigy, prodigyopt.Prodigy):
        w = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
        opt = factory([w])
        w.grad = torch.ones_like(w)
        opt.step()
        assert opt.state[w]["p0"].shape == ()


@pytest.mark.parametrize("name", list(ORACLE))
def test_a_zero_gradient_moves_nothing_and_keeps_d_in_both_faces_as_in_the_oracle(name):
    for factory in (getattr(optim.torch, name), ORACLE[name]):
        w = torch.ones(3, dtype=torch.float64, requires_grad=True)
        opt = quiet(factory, [w])
        w.grad = torch.zeros_like(w)
        opt.step()
        assert (w.detach() == 1).all() and opt.param_groups[0]["k"] == 0 and opt.param_groups[0]["d"] == 1e-6
    opt = getattr(optim, name)()
    p = np.ones((2, 3))
    state = opt.init(p)
    new, state = opt.step(p, np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 2.0]]), state)
    assert (new[0] == 1).all() and (new[1] != 1).all()
    assert np.ravel(state.k).tolist() == [0, 1] and np.ravel(state.d)[0] == 1e-6


NP_RTOL = 1e-12


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_numpy_face_matches_torch_face(case):
    """One tensor: the same rule through both faces (float64), on a convex problem, to 1e-12.

    The faces sum ⟨g, w₀ − w⟩ in different orders (NumPy's pairwise sum, torch's BLAS dot). On the
    non-convex landscape of the oracle test some configurations are chaotic (a 1e-15 nudge of w₀ ends
    1e-3 away after 210 steps), so that landscape cannot compare two implementations that round
    differently; on this quadratic they agree to about 3e-14.
    """
    name, config = case
    w0 = np.random.default_rng(1).normal(size=(3, 4))
    noise = np.random.default_rng(2).normal(scale=0.5, size=(STEPS, 3, 4))

    def grad(w, step):
        return 2.0 * w - 1.0 + noise[step]

    opt = getattr(optim, name)(**config)
    w, state = w0, opt.init(w0)
    for step in range(STEPS):
        w, state = opt.step(w, grad(w, step), state)
    # the torch face on the same problem, with the tensor as one run: NumPy's last axis is one run, so
    # compare run by run (each row of w is a separate model with its own d)
    for row in range(3):
        p = torch.tensor(w0[row], requires_grad=True)
        topt = getattr(optim.torch, name)([p], **config)
        for step in range(STEPS):
            v = p.detach().numpy()
            p.grad = torch.from_numpy(2.0 * v - 1.0 + noise[step, row])
            topt.step()
        assert_close(w[row], p.detach(), f"run {row} params", NP_RTOL)
        assert_close(np.ravel(state.d)[row], np.float64(topt.param_groups[0]["d"]), f"run {row} d", NP_RTOL)
        for field, key in opt.torch_keys.items():
            value = getattr(state, field)
            if value is not None and np.ndim(value):
                assert_close(np.asarray(value)[row], topt.state[p][key], f"run {row} state.{field}", NP_RTOL)


def test_numpy_face_slice_p_samples_the_last_axis():
    opt = optim.Prodigy(slice_p=3)
    state = opt.init(np.zeros((2, 7)))
    assert state.s.shape == state.p0.shape == (2, 3)


@pytest.mark.parametrize("name", list(ORACLE))
def test_maximize_is_minimizing_the_negated_loss(name):
    w0 = np.random.default_rng(0).normal(size=(2, 5))
    a, b = getattr(optim, name)(), getattr(optim, name)(maximize=True)
    wa, sa = w0, a.init(w0)
    wb, sb = w0, b.init(w0)
    for _ in range(30):
        wa, sa = a.step(wa, wa - 1.0, sa)
        wb, sb = b.step(wb, -(wb - 1.0), sb)
    np.testing.assert_array_equal(wa, wb)


def test_d_never_decreases_and_stays_below_the_distance_on_a_quadratic():
    """½‖w − w*‖², ‖w₀ − w*‖_∞ = D: Prodigy's d rises from 1e-6, never falls, stays a lower bound on D
    (between D/20 and D here) and the run converges."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=50) * 3.0
    distance = np.abs(target).max()
    opt = optim.Prodigy()
    w, state, ds = np.zeros(50), opt.init(np.zeros(50)), []
    for _ in range(300):
        w, state = opt.step(w, w - target, state)
        ds.append(float(np.ravel(state.d)[0]))
    assert all(b >= a for a, b in zip(ds, ds[1:]))
    assert distance / 20 < ds[-1] <= distance
    assert np.abs(w - target).max() < 1e-4 * distance


# ---------------------------------------------------------------- validation
BAD = [("lr", 0.0, "0.0 < lr"), ("lr", -1.0, "0.0 < lr"), ("eps", 0.0, "0.0 < eps"), ("d0", 0.0, "0.0 < d0"),
       ("weight_decay", -0.1, "0.0 <= weight_decay"), ("growth_rate", 0.5, "1.0 <= growth_rate"),
       ("betas", (1.0, 0.999), "beta parameter at index 0")]
PRODIGY_BAD = [("beta3", 1.5, "beta3 <= 1.0"), ("d_coef", 0.0, "0.0 < d_coef"), ("slice_p", 0, "slice_p >= 1"),
               ("slice_p", 2.5, "slice_p >= 1")]
VALIDATION = [(n, *b) for n in ORACLE for b in BAD] + [("Prodigy", *b) for b in PRODIGY_BAD]


@pytest.mark.parametrize("name,key,value,allowed", VALIDATION)
def test_bad_hyperparameters_raise_valueerror_in_both_faces(name, key, value, allowed):
    with pytest.raises(ValueError, match=key.replace("betas", "beta parameter")) as np_err:
        getattr(optim, name)(**{key: value})
    assert allowed in str(np_err.value)
    with pytest.raises(ValueError) as torch_err:
        getattr(optim.torch, name)([torch.zeros(2, requires_grad=True)], **{key: value})
    assert allowed in str(torch_err.value)


@pytest.mark.parametrize("name", list(ORACLE))
def test_the_gradient_is_not_modified_unlike_the_oracle(name):
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    g = torch.full((3,), 0.5, dtype=torch.float64)
    opt = getattr(optim.torch, name)([w], weight_decay=0.1, decouple=False)
    w.grad = g.clone()
    opt.step()
    assert torch.equal(w.grad, g)
    w2 = torch.ones(3, dtype=torch.float64, requires_grad=True)
    oracle = quiet(ORACLE[name], [w2], weight_decay=0.1, decouple=False)
    w2.grad = g.clone()
    oracle.step()
    assert not torch.equal(w2.grad, g)        # the documented difference


# ---------------------------------------------------------------- the papers' bound, reproduced
def logistic_problem(seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(200, 10))
    labels = np.sign(features @ rng.normal(size=10) + 0.5 * rng.normal(size=200))
    # with an L2 term (0.05·‖w‖²): strongly convex, so w* is found to high accuracy by gradient descent
    loss = lambda w: np.mean(np.logaddexp(0.0, -labels * (features @ w))) + 0.05 * w @ w
    grad = lambda w: -(features * (labels / (1 + np.exp(labels * (features @ w))))[:, None]).mean(0) + 0.1 * w
    return loss, grad


def quadratic_problem(seed):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(10, 10))
    H, w_star = q @ q.T / 10 + 0.1 * np.eye(10), 3 * rng.normal(size=10)
    return (lambda w: 0.5 * (w - w_star) @ H @ (w - w_star)), (lambda w: H @ (w - w_star)), w_star


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_plain_sums_d_never_exceeds_the_distance_on_a_convex_problem(seed):
    """For convex f, Σλ_k⟨g_k, w₀ − w_k⟩ / ‖Σλ_k g_k‖₁ ≤ ‖w₀ − w*‖∞ for any weights and iterates (Hölder):
    Prodigy with β₃ = 1 (the plain sums of the paper's analysis) must keep d ≤ D∞ at every step. On a
    strongly convex quadratic, the solution is known; d must also get within a factor 100 of it.
    (DAdaptAdam 3.x has no plain-sum form: its r and s decay with √β₂ by construction.)"""
    loss, grad, w_star = quadratic_problem(seed)
    distance = np.abs(w_star).max()
    opt = optim.Prodigy(beta3=1.0)
    w, state = np.zeros(10), opt.init(np.zeros(10))
    for _ in range(500):
        w, state = opt.step(w, grad(w), state)
        assert float(np.ravel(state.d)[0]) <= distance * (1 + 1e-12)
    assert float(np.ravel(state.d)[0]) > distance / 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_plain_sums_the_estimate_is_a_lower_bound_on_logistic_regression(seed):
    """The same bound on a regularised logistic regression, with w* from a long run of gradient descent."""
    loss, grad = logistic_problem(seed)
    w_ref = np.zeros(10)
    for _ in range(3000):                          # gradient descent to high accuracy (smooth, strongly convex)
        w_ref = w_ref - 1.0 * grad(w_ref)
    assert np.abs(grad(w_ref)).max() < 1e-8
    distance = np.abs(w_ref).max()
    opt = optim.Prodigy(beta3=1.0)
    w, state = np.zeros(10), opt.init(np.zeros(10))
    for _ in range(300):
        w, state = opt.step(w, grad(w), state)
        assert float(np.ravel(state.d)[0]) <= distance * (1 + 1e-9)


@pytest.mark.parametrize("name", list(ORACLE))
def test_a_cosine_scheduler_drives_the_optimizer_exactly_like_the_oracle(name):
    """The READMEs recommend a scheduler on lr (cosine annealing): lr changes between steps, d follows."""
    def scheduled(factory):
        params = make_params(torch.float64)
        opt = quiet(factory, params, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60)
        for step in range(60):
            set_grads(params, step)
            opt.step()
            sched.step()
        return params, opt
    ours, our_opt = scheduled(getattr(optim.torch, name))
    theirs, their_opt = scheduled(ORACLE[name])
    compare(name, ours, our_opt, theirs, their_opt, 1e-10)


@pytest.mark.parametrize("name", list(ORACLE))
@pytest.mark.parametrize("value", ["1e-3", None, b"0.1", [0.1, "x"]], ids=repr)
def test_a_hyperparameter_that_is_not_a_number_is_refused_in_both_faces(name, value):
    for key in ("lr", "eps", "d0", "weight_decay", "growth_rate"):
        for build in (lambda: getattr(optim, name)(**{key: value}),
                      lambda: getattr(optim.torch, name)([torch.zeros(2, requires_grad=True)], **{key: value})):
            with pytest.raises(ValueError, match=f"Invalid {key}") as err:
                build()
            assert isinstance(err.value, TypeError)       # HyperparameterTypeError: both, as in the book


def test_fsdp_in_use_without_torch_distributed_is_refused_clearly():
    w = torch.ones(3, requires_grad=True)
    opt = optim.torch.Prodigy([w], fsdp_in_use=True)
    w.grad = torch.ones(3)
    with pytest.raises(RuntimeError, match="torch.distributed"):
        opt.step()
