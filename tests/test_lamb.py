"""LARS and LAMB: against pytorch-optimizer (the oracle), the two faces against each other, the guards.

References: ``pytorch_optimizer.LARS`` and ``pytorch_optimizer.Lamb`` (4.1.0), both in their default
(foreach) path and in their per-parameter path (``foreach=False``; Lamb's ``rectify`` always takes it).
float64 after 200 noisy steps: params and state to a relative 1e-10; float32 to 1e-5.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import pytorch_optimizer
import torch

import optim
import optim.torch
from torch_checks import assert_close

STEPS = 200
SHAPES = [(3, 4), (5,), (2, 3, 2)]          # a weight matrix, a bias, a small kernel
_gen = torch.Generator().manual_seed(7)
NOISE = [[0.5 * torch.randn(s, generator=_gen, dtype=torch.float64) for s in SHAPES] for _ in range(STEPS)]


def make_params(dtype=torch.float64, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [(scale * torch.randn(s, generator=gen, dtype=torch.float64)).to(dtype).requires_grad_() for s in SHAPES]


def grad_of(w, step, i):
    """A noisy gradient of Σ ½w² + sin 3w (stays O(1))."""
    return w + 3 * torch.cos(3 * w) + NOISE[step][i].to(w.dtype)


def run(opt, params, steps=STEPS):
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = grad_of(p.detach(), step, i)
        opt.step()
    return params


def compare(ours_cls, theirs_cls, kw, theirs_kw=None, dtype=torch.float64, rtol=1e-10, keys=()):
    ours, theirs = make_params(dtype), make_params(dtype)
    opt_ours = ours_cls(ours, **kw)
    opt_theirs = theirs_cls(theirs, **{**kw, **(theirs_kw or {})})
    run(opt_ours, ours)
    run(opt_theirs, theirs)
    worst = 0.0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.detach(), b.detach(), f"param {i} with {kw}", rtol)
        for key in keys:
            if key in opt_theirs.state[b]:
                assert key in opt_ours.state[a], key
                assert_close(opt_ours.state[a][key], opt_theirs.state[b][key], f"state {key} of {i} with {kw}", rtol)
        worst = max(worst, ((a - b).abs().max() / b.abs().max()).item())
    return worst


# ================================================================ LARS
LARS_GRID = [dict(lr=lr, weight_decay=wd, momentum=mom, dampening=damp, trust_coefficient=tc, nesterov=nest,
                  maximize=mx)
             for lr, tc in [(0.1, 2e-2), (0.05, 1e-3)]     # lr·L ≤ 1 for the unadapted bias (L ≤ 10)
             for wd in (0.0, 1e-2)
             for mom, damp, nest in [(0.0, 0.0, False), (0.9, 0.0, False), (0.9, 0.1, False), (0.8, 0.0, True)]
             for mx in (False, True)]


@pytest.mark.parametrize("foreach", [None, False], ids=["oracle-foreach", "oracle-per-param"])
@pytest.mark.parametrize("kw", LARS_GRID, ids=[str(i) for i in range(len(LARS_GRID))])
def test_lars_matches_pytorch_optimizer_float64(kw, foreach):
    if kw["maximize"]:                    # ascent on Σ ½w² + sin 3w grows without end: shorten the lr
        kw = {**kw, "lr": kw["lr"] / 10}
    compare(optim.torch.LARS, pytorch_optimizer.LARS, kw, dict(foreach=foreach), keys=["momentum_buffer"])


@pytest.mark.parametrize("kw", LARS_GRID, ids=[str(i) for i in range(len(LARS_GRID))])
def test_lars_matches_pytorch_optimizer_float32(kw):
    compare(optim.torch.LARS, pytorch_optimizer.LARS, kw, dtype=torch.float32, rtol=1e-5, keys=["momentum_buffer"])


def test_lars_defaults_and_signature_are_the_oracles():
    import inspect
    theirs = inspect.signature(pytorch_optimizer.LARS.__init__).parameters
    ours = inspect.signature(optim.torch.LARS.__init__).parameters
    assert [k for k in ours] == [k for k in theirs if k != "kwargs"]
    for k in ours:
        if k not in ("self", "params"):
            assert ours[k].default == theirs[k].default, k


def test_lars_leaves_vectors_unadapted_and_undecayed_as_the_oracle():
    bias = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt = optim.torch.LARS([bias], lr=0.1, momentum=0.0, weight_decay=0.5, trust_coefficient=1e-3)
    bias.grad = torch.full((4,), 2.0, dtype=torch.float64)
    opt.step()
    assert torch.equal(bias.detach(), torch.full((4,), 1 - 0.1 * 2.0, dtype=torch.float64))


# ================================================================ LAMB
LAMB_GRID = (
    [dict(lr=lr, weight_decay=wd, weight_decouple=dec, fixed_decay=fix, grad_averaging=ga, adam=adam, eps=eps)
     for lr in (1e-2,)
     for wd, dec, fix in [(0.0, True, False), (0.1, True, False), (0.1, True, True), (0.1, False, False)]
     for ga in (True, False)
     for adam in (False, True)
     for eps in (1e-6, 1e-3)]
    + [dict(lr=2e-2, pre_norm=True, max_grad_norm=mgn, betas=(0.8, 0.99)) for mgn in (1.0, 0.0, 100.0)]
    + [dict(lr=1e-2, maximize=True, weight_decay=0.5), dict(lr=1e-2, betas=(0.0, 0.5)),
       dict(lr=1e-2, betas=(0.95, 0.9), eps=0.0)]
# Not in the grid: β₂ = 0 with ε = 0, where r = m/|g| and the path is chaotic: one ulp of difference (the
# oracle's foreach path multiplies by 1/(√v+ε), ours divides) grows by ~10x per 20 steps (measured: 2e-11 at
# step 80, 7e-5 at step 160), for the oracle's own two paths as much as for ours.
)
RECTIFY_GRID = [dict(lr=1e-2, rectify=True, degenerated_to_sgd=deg, n_sma_threshold=thr, weight_decay=wd,
                     weight_decouple=dec, betas=b)
                for deg in (False, True) for thr in (5, 4)
                for wd, dec in [(0.0, True), (0.1, True), (0.1, False)]
                for b in [(0.9, 0.999), (0.9, 0.9)]]
LAMB_KEYS = ["exp_avg", "exp_avg_sq", "weight_norm", "adam_norm", "trust_ratio"]


def _oracle_kwargs(kw):
    # the oracle takes degenerated_to_sgd and n_sma_threshold as constructor arguments only
    return kw


@pytest.mark.parametrize("foreach", [None, False], ids=["oracle-foreach", "oracle-per-param"])
@pytest.mark.parametrize("kw", LAMB_GRID, ids=[str(i) for i in range(len(LAMB_GRID))])
def test_lamb_matches_pytorch_optimizer_float64(kw, foreach):
    compare(optim.torch.LAMB, pytorch_optimizer.Lamb, kw, dict(foreach=foreach), keys=LAMB_KEYS)


@pytest.mark.parametrize("kw", RECTIFY_GRID, ids=[str(i) for i in range(len(RECTIFY_GRID))])
def test_rectified_lamb_matches_pytorch_optimizer_float64(kw):
    compare(optim.torch.LAMB, pytorch_optimizer.Lamb, kw, keys=LAMB_KEYS)


@pytest.mark.parametrize("kw", LAMB_GRID + RECTIFY_GRID[::3], ids=lambda kw: str(sorted(kw.items())))
def test_lamb_matches_pytorch_optimizer_float32(kw):
    # Against the oracle's per-parameter path, whose operations ours follow. Its foreach path rounds differently
    # (m·(1/(√v+ε)) for m/(√v+ε)): where adam=True leaves the step unnormalised, or ε = 0, the oracle's two paths
    # themselves differ by up to 2.2e-5 in float32 after 200 steps (measured), and so do we from its foreach path.
    # ε = 0 with β₂ = 0.9 (m/√v, sensitive): 1.04e-5 from the per-parameter path (measured), hence 2e-5 there.
    rtol = 2e-5 if kw.get("eps") == 0.0 else 1e-5
    compare(optim.torch.LAMB, pytorch_optimizer.Lamb, kw, dict(foreach=False), dtype=torch.float32, rtol=rtol,
            keys=LAMB_KEYS)


def test_lamb_pre_norm_spans_every_group_as_in_the_oracle():
    ours, theirs = make_params(), make_params()
    opt_ours = optim.torch.Lamb([{"params": ours[:1]}, {"params": ours[1:], "lr": 3e-2}], lr=1e-2, pre_norm=True)
    opt_theirs = pytorch_optimizer.Lamb([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 3e-2}], lr=1e-2,
                                        pre_norm=True)
    run(opt_ours, ours, 50)
    run(opt_theirs, theirs, 50)
    for a, b in zip(ours, theirs):
        assert_close(a.detach(), b.detach(), "pre_norm over two groups", 1e-10)
    assert "pre_norm_scale" not in opt_ours.param_groups[0]


def test_lamb_signature_and_defaults_are_the_oracles():
    import inspect
    theirs = inspect.signature(pytorch_optimizer.Lamb.__init__).parameters
    ours = inspect.signature(optim.torch.Lamb.__init__).parameters
    assert [k for k in ours] == [k for k in theirs if k != "kwargs"]
    for k in ours:
        if k not in ("self", "params"):
            assert ours[k].default == theirs[k].default, k
    assert optim.torch.Lamb is optim.torch.LAMB


def test_weight_norm_is_clamped_at_10_and_the_ratio_is_1_for_zero_weights():
    big = torch.full((4, 4), 10.0, dtype=torch.float64, requires_grad=True)      # ‖w‖ = 40
    zero = torch.zeros((3, 2), dtype=torch.float64, requires_grad=True)
    opt = optim.torch.Lamb([big, zero], lr=0.1)
    big.grad, zero.grad = torch.ones_like(big), torch.ones_like(zero)
    opt.step()
    assert opt.state[big]["weight_norm"].item() == 10.0
    assert opt.state[zero]["trust_ratio"] == 1.0
    # a zero weight moves by lr/(1-β₁)·r with r = m/(√v+ε) ≈ 0.1/(0.0316+1e-6)
    r = 0.1 / (0.1**0.5 * 0.1 + 1e-6)
    np.testing.assert_allclose(zero.detach().numpy(), -0.1 / 0.1 * r, rtol=1e-12)


# ================================================================ the two faces
def _numpy_run(opt, w0, grads):
    w, state = w0, opt.init(w0)
    for g in grads:
        w, state = opt.step(w, g(w), state)
    return w, state


@pytest.mark.parametrize("name,kw", [("LARS", dict(lr=1.0, weight_decay=0.01, trust_coefficient=0.01)),
                                     ("LARS", dict(lr=1.0, momentum=0.8, nesterov=True, maximize=True)),
                                     ("LAMB", dict(lr=1e-2, weight_decay=0.1)),
                                     ("LAMB", dict(lr=1e-2, weight_decay=0.1, weight_decouple=False)),
                                     ("LAMB", dict(lr=1e-2, pre_norm=True)),
                                     ("LAMB", dict(lr=1e-2, rectify=True, degenerated_to_sgd=True))])
def test_numpy_face_runs_each_row_as_one_layer_of_the_torch_face(name, kw):
    """Rows of a (runs, d) array are independent layers: each equals the torch face on a (d,)-matrix."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 6))
    grads = [lambda w, k=k: w + 3 * np.cos(3 * w) + 0.1 * np.sin(k + np.arange(6)) for k in range(60)]
    batched, _ = _numpy_run(getattr(optim, name)(**kw), w0, grads)
    for row in range(3):
        p = torch.tensor(w0[row:row + 1], requires_grad=True)          # (1, 6): a matrix, so LARS adapts it
        opt = getattr(optim.torch, name)([p], **kw)
        for g in grads:
            p.grad = torch.from_numpy(g(p.detach().numpy()))
            opt.step()
        # pre_norm: the torch face computes the clipping factor in float32, as the oracle does
        rtol = 1e-8 if kw.get("pre_norm") else 1e-12
        np.testing.assert_allclose(batched[row], p.detach().numpy()[0], rtol=rtol, atol=rtol)


def test_trust_ratio_makes_lamb_blind_to_the_gradients_scale_per_layer():
    """ε = 0: multiplying one layer's gradients by c > 0 changes nothing (Adam's invariance, then the ratio's)."""
    opt = optim.LAMB(lr=1e-2, eps=0.0)
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((2, 5))
    grads = [rng.standard_normal((2, 5)) for _ in range(20)]
    a, _ = _numpy_run(opt, w0, [lambda w, g=g: g for g in grads])
    b, _ = _numpy_run(opt, w0, [lambda w, g=g: g * np.array([[1e-4], [1e4]]) for g in grads])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_lars_step_length_is_the_trust_coefficient_times_the_weight_norm():
    """No momentum, no decay: ‖Δw‖ = α η ‖w‖ whatever the gradient's size."""
    w = np.array([[3.0, 4.0], [1.0, 0.0]])
    opt = optim.LARS(lr=2.0, momentum=0.0, trust_coefficient=1e-2)
    for g in (np.array([[1e-6, 0.0], [2.0, 5.0]]), np.array([[1e6, 3.0], [0.0, 1e-9]])):
        new, _ = opt.step(w, g, opt.init(w))
        np.testing.assert_allclose(np.linalg.norm(new - w, axis=-1), 2.0 * 1e-2 * np.linalg.norm(w, axis=-1))


@pytest.mark.parametrize("cls,kw,match", [
    (optim.LARS, dict(trust_coefficient=-1.0), "trust_coefficient"),
    (optim.LARS, dict(momentum=1.0), "momentum"),
    (optim.LARS, dict(dampening=-0.1), "dampening"),
    (optim.LAMB, dict(max_grad_norm=-1.0), "max_grad_norm"),
    (optim.LAMB, dict(eps=-1e-6), "eps"),
    (optim.LAMB, dict(betas=(0.9, 1.0)), "beta"),
])
def test_bad_hyperparameters_are_refused_in_both_faces(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)
    with pytest.raises(ValueError, match=match):
        getattr(optim.torch, cls.__name__)([torch.zeros(2, 2, requires_grad=True)], **kw)
