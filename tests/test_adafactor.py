"""Adafactor against its oracle, ``torch.optim.Adafactor`` (torch 2.13), and the facts the chapter states.

Scenario: 5 parameters — a number, a vector, a matrix, a 3-D tensor (factored over its last two
axes) and a column matrix (n × 1) — in two param groups with different learning rates, a
parameter without gradient every 7th step, 210 noisy steps; parameters and the whole state
(``step``, ``row_var``, ``col_var``, ``variance``) must agree to 1e-10 (float64) and 1e-5 (float32),
relative, over a grid of every option (``maximize`` included: torch has it).
"""
import copy

import numpy as np
import pytest
import torch

import optim
import optim.torch
from torch_checks import grid, noise_table, rel
from optim.adafactor import factored_second_moment

STEPS = 210
SHAPES = [(), (5,), (4, 6), (2, 3, 4), (5, 1)]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


#: every value of every option, each against the others in a covering grid (the full product takes
#: ~4 minutes on 2 cores for no more coverage of the code's branches)
CONFIGS = (grid(lr=[1e-2, 0.05], beta2_decay=[-0.8, 0.0], eps=[(None, 1e-3), (1e-3, 0.1), (0.0, 0.0)],
                d=[1.0], weight_decay=[0.0], maximize=[False])
           + grid(lr=[0.05], beta2_decay=[-0.5], eps=[(None, 1e-3)], d=[1.0, 3.0], weight_decay=[0.0, 0.1],
                  maximize=[False, True]))


NOISE = noise_table(SHAPES, STEPS)


def run(factory, config, dtype, steps=STEPS):
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in SHAPES]
    opt = factory([{"params": params[:2]}, {"params": params[2:], "lr": config.get("lr", 1e-2) / 2}], **config)
    for step in range(steps):
        for i, p in enumerate(params):
            w = p.detach()
            g = w + 3 * torch.cos(3 * w) + NOISE[step][i].to(dtype)
            p.grad = None if (i == 1 and step % 7 == 3) else g
        opt.step()
    return params, opt


def max_rel_difference(ours, theirs):
    (pa, oa), (pb, ob) = ours, theirs
    worst = 0.0
    for a, b in zip(pa, pb):
        assert set(oa.state[a]) == set(ob.state[b]), (set(oa.state[a]), set(ob.state[b]))
        worst = max(worst, rel(a.detach(), b.detach()))
        for key, value in ob.state[b].items():
            mine = oa.state[a][key]
            assert mine.shape == value.shape and mine.dtype == value.dtype, key
            worst = max(worst, rel(mine, value))
    return worst


def case_id(config):
    return ",".join(f"{k}={v}" for k, v in config.items())


def torch_adafactor(params, **config):
    return torch.optim.Adafactor(params, foreach=False, **config)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=case_id)
def test_torch_face_matches_torch_optim_adafactor(config, dtype):
    err = max_rel_difference(run(optim.torch.Adafactor, config, dtype), run(torch_adafactor, config, dtype))
    assert err <= TOL[dtype], f"relative difference {err:.3g}"


def test_torch_foreach_implementation_is_matched_too():
    config = dict(lr=0.1, weight_decay=0.1, d=2.0)
    ours = run(optim.torch.Adafactor, config, torch.float64)
    theirs = run(lambda ps, **c: torch.optim.Adafactor(ps, foreach=True, **c), config, torch.float64)
    assert max_rel_difference(ours, theirs) <= 1e-10


def test_the_comparison_is_not_trivial():
    """Counter-check: another clipping threshold in the oracle is far outside the tolerance."""
    ours = run(optim.torch.Adafactor, dict(lr=0.3), torch.float64)
    theirs = run(torch_adafactor, dict(lr=0.3, d=1.5), torch.float64)
    assert max_rel_difference(ours, theirs) > 1e-3


def test_state_keys_and_shapes_are_torchs():
    params, opt = run(optim.torch.Adafactor, {}, torch.float64, steps=1)
    shapes = {tuple(p.shape): {k: tuple(v.shape) for k, v in opt.state[p].items()} for p in params}
    assert shapes[()] == {"step": (), "variance": ()}
    assert shapes[(5,)] == {"step": (), "variance": (5,)}
    assert shapes[(4, 6)] == {"step": (), "row_var": (4, 1), "col_var": (1, 6)}
    assert shapes[(2, 3, 4)] == {"step": (), "row_var": (2, 3, 1), "col_var": (2, 1, 4)}


def test_state_dicts_load_across_torch_and_ours_and_continue_identically():
    for first, second in [(optim.torch.Adafactor, torch_adafactor), (torch_adafactor, optim.torch.Adafactor)]:
        params, opt = run(first, dict(lr=0.1), torch.float64, steps=20)
        clone = [p.detach().clone().requires_grad_() for p in params]
        other = second([{"params": clone[:2]}, {"params": clone[2:], "lr": 0.05}], lr=0.1)
        other.load_state_dict(copy.deepcopy(opt.state_dict()))   # torch shares the `step` tensors otherwise
        for step in range(20):
            for p, q in zip(params, clone):
                g = torch.cos(3 * p.detach()) + 0.1 * step
                p.grad, q.grad = g.clone(), g.clone()
            opt.step()
            other.step()
        for p, q in zip(params, clone):
            assert rel(p.detach(), q.detach()) <= 1e-12


def test_signature_and_defaults_are_torchs():
    import inspect
    theirs = inspect.signature(torch.optim.Adafactor).parameters
    ours = inspect.signature(optim.torch.Adafactor).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert ours[key].default == p.default and ours[key].kind == p.kind, key


# --- the NumPy face ------------------------------------------------------------------------------------------------

def numpy_run(opt, w0, steps=60):
    w, state = w0, opt.init(w0)
    for t in range(steps):
        w, state = opt.step(w, w + np.cos(3 * w) + 0.1 * np.sin(t), state)
    return w, state


def torch_run(shape_params, lr, steps=60, **kw):
    ps = [torch.tensor(p, requires_grad=True) for p in shape_params]
    opt = torch.optim.Adafactor(ps, lr=lr, **kw)
    for t in range(steps):
        for p in ps:
            w = p.detach()
            p.grad = w + torch.cos(3 * w) + 0.1 * np.sin(t)
        opt.step()
    return [p.detach().numpy() for p in ps], opt


@pytest.mark.parametrize("kw", [{}, dict(weight_decay=0.1, d=2.0, beta2_decay=-0.5), dict(eps=(1e-3, 0.1))])
def test_numpy_face_matrix_runs_are_torch_matrices_one_by_one(kw):
    """matrix=True: each run (leading axis) is one torch 2-D parameter; lr swept as an array (B, 1, 1)."""
    w0 = np.random.default_rng(0).standard_normal((3, 4, 6))
    lrs = np.array([0.01, 0.1, 0.3])[:, None, None]
    w, state = numpy_run(optim.Adafactor(matrix=True, lr=lrs, **kw), w0)
    assert state.row_var.shape == (3, 4, 1) and state.col_var.shape == (3, 1, 6) and state.variance is None
    for b in range(3):
        (theirs,), topt = torch_run([w0[b]], float(lrs[b, 0, 0]), **kw)
        np.testing.assert_allclose(w[b], theirs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state.row_var[b], topt.state[topt.param_groups[0]["params"][0]]["row_var"],
                                   rtol=1e-12)


def test_numpy_face_vector_runs_are_torch_vectors_one_by_one():
    """The default (matrix=False): each run's last axis is one torch 1-D parameter, full variance."""
    w0 = np.random.default_rng(1).standard_normal((4, 7))
    w, state = numpy_run(optim.Adafactor(lr=0.1), w0)
    assert state.variance.shape == (4, 7) and state.row_var is None
    theirs, _ = torch_run(list(w0), 0.1)
    np.testing.assert_allclose(w, np.stack(theirs), rtol=1e-12, atol=1e-12)


def test_numpy_face_refuses_matrix_mode_for_vectors_and_repr_rebuilds():
    with pytest.raises(ValueError, match="matrix=True"):
        optim.Adafactor(matrix=True).init(np.zeros(3))
    with pytest.raises(TypeError):
        optim.Adafactor(matrix="yes")
    opt = optim.Adafactor(matrix=True, lr=0.1)
    assert repr(opt) == "optim.Adafactor(lr=0.1, matrix=True)"
    assert eval(repr(opt)).matrix and opt.with_hyper(lr=0.2).matrix


# --- the facts the chapter states ---------------------------------------------------------------------------------

def test_means_and_sums_give_the_same_factored_estimate():
    """torch's R C / mean(R) with row/column *means* is the paper's R C / 1ᵀR with *sums*."""
    g2 = np.random.default_rng(2).random((5, 7))
    from optim.core import PURE
    means = factored_second_moment(g2.mean(1, keepdims=True), g2.mean(0, keepdims=True), 0.0, PURE)
    R, C = g2.sum(1, keepdims=True), g2.sum(0, keepdims=True)
    np.testing.assert_allclose(means, R @ C / R.sum(), rtol=1e-14)


def test_factored_estimate_is_exact_for_a_rank_one_second_moment():
    """If E[g²] = a bᵀ (rank 1), R C / 1ᵀR recovers it exactly (the I-divergence minimiser, chapter eq.)."""
    a, b = np.array([[1.0], [2.0], [0.5]]), np.array([[3.0, 1.0, 0.25, 2.0]])
    from optim.core import PURE
    V = a @ b
    np.testing.assert_allclose(factored_second_moment(V.mean(1, keepdims=True), V.mean(0, keepdims=True), 0.0, PURE),
                               V, rtol=1e-14)


def test_update_rms_is_clipped_to_d_and_first_step_sizes():
    """Step 1: β̂₂ = 0, so V̂ = g² and U = sign(g) (vector): RMS(U) = 1 ≤ d, and the step is
    max(ε₂, RMS(w))·min(lr, 1) in every coordinate."""
    w0 = np.array([3.0, -4.0, 0.0, 1.0])
    w1, _ = optim.Adafactor(lr=0.05).step(w0, np.array([2.0, -1e-3, 5.0, -7.0]), optim.Adafactor().init(w0))
    rms = np.sqrt(np.mean(w0**2))
    np.testing.assert_allclose(np.abs(w1 - w0), rms * 0.05, rtol=1e-14)
