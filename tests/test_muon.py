"""Muon against its oracle, ``torch.optim.Muon`` (torch 2.13), and the drop-in corners of its torch face.

Precision. torch's Muon casts the matrix to bfloat16 before Newton–Schulz on every device, CPU
included. Our rule runs it in the parameter's dtype. So the parity grid runs torch's own code with
that one cast made a copy in the same dtype (``Tensor.bfloat16`` patched to ``clone``; a copy, as the
real cast is: torch then divides it in place), and compares params and state after 200 noisy steps:
float64 to 1e-10, float32 to 1e-5. Against torch as shipped the gap is bfloat16's rounding, measured
in ``test_torch_as_shipped_differs_by_bfloat16_rounding``.

The loss is ½‖W‖² + 0.3 Σ(1 − cos W) + noise·W. A loss with sin 3w (the generic suites') makes
Muon chaotic here: a constant spectral step and a Newton–Schulz slope of a⁵ ≈ 486 at σ = 0 grow
a 1e-16 rounding difference to 1e-6 in 200 steps (measured), in float64, for identical algorithms.
"""
from __future__ import annotations

import copy
import inspect
import itertools
from unittest import mock

import numpy as np
import pytest
import torch

import optim
import optim.torch
from optim.muon import NS_COEFFICIENTS, orthogonalize

SHAPES = [(5, 3), (3, 7), (4, 4)]          # tall (transposed inside), wide, square
STEPS = 200


def make(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype).requires_grad_() for s in SHAPES]


def set_grads(params, step, sign=1.0):
    gen = torch.Generator().manual_seed(1000 + step)
    for p in params:
        w = p.detach()
        noise = torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w.dtype)
        p.grad = sign * (w + 0.3 * torch.sin(w) + noise)


def no_bf16():
    """torch's Muon with its bfloat16 cast replaced by a copy in the same dtype."""
    return mock.patch.object(torch.Tensor, "bfloat16", lambda self: self.clone())


def run(opt, params, steps=STEPS, start=0, sign=1.0):
    for step in range(start, start + steps):
        set_grads(params, step, sign)
        opt.step()
    return params


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


GRID = [dict(lr=lr, weight_decay=wd, momentum=mu, nesterov=nest, adjust_lr_fn=fn, ns_steps=k, ns_coefficients=co,
             eps=eps)
        for (lr, wd, mu, nest, fn, k, co, eps) in [
            (0.02, 0.1, 0.95, True, None, 5, NS_COEFFICIENTS, 1e-7),
            (0.02, 0.0, 0.95, False, None, 5, NS_COEFFICIENTS, 1e-7),
            (0.05, 0.01, 0.9, True, "original", 5, NS_COEFFICIENTS, 1e-7),
            (0.02, 0.1, 0.9, False, "match_rms_adamw", 5, NS_COEFFICIENTS, 1e-7),
            (0.01, 0.0, 0.0, True, "match_rms_adamw", 3, NS_COEFFICIENTS, 1e-3),
            (0.02, 0.1, 0.5, True, None, 10, (1.5, -0.5, 0.0), 1e-7),            # the cubic iteration
            (0.02, 0.0, 0.95, True, "original", 0, NS_COEFFICIENTS, 1e-7),       # only the normalisation
            (0.1, 1.0, 0.99, False, None, 7, (2.0, -1.5, 0.5), 0.0),
        ]]


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("options", GRID, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_parity_with_torch_muon_in_the_parameters_dtype(options, dtype, rtol):
    if dtype == torch.float32 and options["lr"] == 0.05:
        # This run is sensitive: in float64 too its gap grows 100x from step 50 to 200 (2e-15 to 1.6e-13,
        # measured); in float32 the same growth takes 1.6e-6 to 2.7e-5. The rule is the same; the run amplifies.
        rtol = 1e-4
    ours, theirs = make(dtype), make(dtype)
    a, b = optim.torch.Muon(ours, **options), torch.optim.Muon(theirs, **options)
    run(a, ours)
    with no_bf16():
        run(b, theirs)
    for p, q in zip(ours, theirs):
        assert p.dtype == q.dtype == dtype
        assert rel(p.detach(), q.detach()) < rtol
        assert set(a.state[p]) == set(b.state[q]) == {"momentum_buffer"}
        assert rel(a.state[p]["momentum_buffer"], b.state[q]["momentum_buffer"]) < rtol


def max_parity_gap(dtype):
    """The largest relative difference over the grid (reported in the chapter's docstring and the report)."""
    worst = 0.0
    for options in GRID:
        ours, theirs = make(dtype), make(dtype)
        run(optim.torch.Muon(ours, **options), ours)
        with no_bf16():
            run(torch.optim.Muon(theirs, **options), theirs)
        worst = max(worst, *(rel(p.detach(), q.detach()) for p, q in zip(ours, theirs)))
    return worst


def test_torch_as_shipped_differs_by_bfloat16_rounding():
    """One step from the same state: torch's bfloat16 update vs ours, relative to the update's size.

    bfloat16 keeps 8 significant bits (a unit roundoff of 2⁻⁸ ≈ 3.9e-3), and Newton–Schulz's five
    steps add their roundings: measured 1.3e-2 to 3.2e-2 here (max |difference| / max |update|). The float64 rule is the exact one.
    """
    ours, theirs = make(torch.float64), make(torch.float64)
    before = [p.detach().clone() for p in ours]
    a = optim.torch.Muon(ours, lr=1.0, weight_decay=0.0)
    b = torch.optim.Muon(theirs, lr=1.0, weight_decay=0.0)
    run(a, ours, steps=1)
    run(b, theirs, steps=1)
    for p, q, w in zip(ours, theirs, before):
        gap = rel(q.detach() - w, p.detach() - w)
        assert 1e-3 < gap < 5e-2, gap


# ---------------------------------------------------------------- the NumPy face
def numpy_run(opt, params, steps=STEPS):
    state = opt.init(params)
    for step in range(steps):
        gen = torch.Generator().manual_seed(1000 + step)
        noise = torch.randn(params.shape[-2:], generator=gen, dtype=torch.float64).numpy()
        params, state = opt.step(params, params + 0.3 * np.sin(params) + noise, state)
    return params, state


@pytest.mark.parametrize("options", GRID[:4], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_numpy_face_gives_the_torch_faces_numbers(options):
    w0 = make(torch.float64)[1]
    ours = [w0.detach().clone().requires_grad_()]
    run(optim.torch.Muon(ours, **options), ours)
    w, state = numpy_run(optim.Muon(**options), w0.detach().numpy())
    np.testing.assert_allclose(w, ours[0].detach().numpy(), rtol=1e-12, atol=1e-12)
    assert set(state.fields()) == {"m"}


def test_a_learning_rate_sweep_is_one_call_and_equals_separate_runs():
    lrs = np.array([0.01, 0.02, 0.05])[:, None, None]
    w0 = np.random.default_rng(0).standard_normal((3, 4, 6))
    batched, _ = numpy_run(optim.Muon(lr=lrs, momentum=0.9), w0, steps=30)
    for i in range(3):
        alone, _ = numpy_run(optim.Muon(lr=float(lrs[i, 0, 0]), momentum=0.9), w0[i], steps=30)
        np.testing.assert_allclose(batched[i], alone, rtol=1e-14, atol=1e-14)
    assert not np.allclose(batched[0], batched[2])


def test_leading_axes_are_runs_and_a_tall_matrix_is_handled_per_run():
    g = np.random.default_rng(1).standard_normal((2, 3, 7, 4))
    out = orthogonalize(g)
    for i, j in itertools.product(range(2), range(3)):
        np.testing.assert_allclose(out[i, j], orthogonalize(g[i, j]), rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------- Newton–Schulz
def test_newton_schulz_keeps_singular_vectors_and_maps_singular_values_by_the_quintic():
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    s = np.array([1.0, 0.5, 0.1, 0.01])
    G = U[:, :4] @ np.diag(s) @ V.T
    a, b, c = NS_COEFFICIENTS
    x = s / np.linalg.norm(s)
    for _ in range(5):
        x = a * x + b * x**3 + c * x**5
    np.testing.assert_allclose(orthogonalize(G), U[:, :4] @ np.diag(x) @ V.T, atol=1e-12)


def test_the_quintic_lands_singular_values_near_one_but_not_on_it():
    """Keller Jordan's coefficients trade accuracy for speed: σ ends in about [0.68, 1.13], not at 1."""
    sigma = np.geomspace(1e-3, 1.0, 2001)
    a, b, c = NS_COEFFICIENTS
    x = sigma.copy()
    for _ in range(5):
        x = a * x + b * x**3 + c * x**5
    assert 0.6 < x[sigma > 0.02].min() < 0.75 and 1.05 < x.max() < 1.25
    y = sigma.copy()
    for _ in range(30):                                  # the convergent cubic: 1.5σ − 0.5σ³
        y = 1.5 * y - 0.5 * y**3
    np.testing.assert_allclose(y[sigma > 0.02], 1.0, atol=1e-9)


def test_zero_gradient_gives_a_zero_update_not_nan():
    opt = optim.Muon(lr=0.1, weight_decay=0.0)
    w = np.ones((3, 2))
    new, _ = opt.step(w, np.zeros((3, 2)), opt.init(w))
    np.testing.assert_array_equal(new, w)


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("shape", [(3,), (), (2, 3, 4)])
def test_torch_face_refuses_non_matrices_saying_to_use_adamw(shape):
    p = torch.zeros(shape, requires_grad=True)
    with pytest.raises(ValueError) as theirs:
        torch.optim.Muon([p])
    with pytest.raises(ValueError, match="Muon only supports 2D parameters") as info:
        optim.torch.Muon([p])
    assert "AdamW" in str(info.value) and "chapter Muon" in str(info.value)
    assert str(theirs.value) in str(info.value)            # torch's own sentence, then the advice


def test_add_param_group_refuses_a_bias_and_keeps_the_optimizer_usable():
    ws = make(torch.float64)
    opt = optim.torch.Muon(ws[:1], lr=0.02)
    with pytest.raises(ValueError, match="AdamW"):
        opt.add_param_group({"params": [torch.zeros(4, requires_grad=True)]})
    assert len(opt.param_groups) == 1
    run(opt, ws[:1], steps=2)


@pytest.mark.parametrize("shape", [(3,), ()])
def test_numpy_face_refuses_non_matrices(shape):
    with pytest.raises(ValueError, match="last two axes.*AdamW"):
        optim.Muon().init(np.zeros(shape))


@pytest.mark.parametrize("kw,fragments", [
    (dict(lr=-0.1), ["lr", "-0.1", "0.0 <= lr"]),
    (dict(weight_decay=-0.01), ["weight_decay", "-0.01", "0.0 <= weight_decay"]),
    (dict(momentum=-0.5), ["momentum", "-0.5", "0.0 <= momentum < 1.0"]),
    (dict(momentum=1.0), ["momentum", "1.0", "0.0 <= momentum < 1.0"]),
    (dict(eps=-1e-7), ["eps", "-1e-07", "0.0 <= eps"]),
    (dict(ns_steps=100), ["ns_steps", "100", "ns_steps < 100"]),
    (dict(ns_steps=-1), ["ns_steps", "-1", "0 <= ns_steps"]),
    (dict(ns_steps=2.5), ["ns_steps", "2.5", "integer"]),
    (dict(ns_coefficients=(1.0, 2.0)), ["ns_coefficients", "(1.0, 2.0)", "three numbers"]),
    (dict(ns_coefficients=(1.0, "x", 2.0)), ["ns_coefficients b", "'x'", "expected a number"]),
    (dict(adjust_lr_fn="spectral"), ["adjust_lr_fn", "'spectral'", "'match_rms_adamw'"]),
    (dict(lr=np.array([[[0.1]], [[-0.2]]])), ["lr", "-0.2", "0.0 <= lr"]),
])
def test_bad_hyperparameters_raise_valueerror_naming_parameter_value_and_range(kw, fragments):
    builds = [lambda: optim.Muon(**kw)]
    if not any(isinstance(v, np.ndarray) for v in kw.values()):
        builds.append(lambda: optim.torch.Muon(make(torch.float64), **kw))
    for build in builds:
        with pytest.raises(ValueError) as info:
            build()
        for fragment in fragments:
            assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("kw", [dict(lr=-0.1), dict(weight_decay=-0.01), dict(momentum=-0.5),
                                dict(adjust_lr_fn="spectral")])
def test_what_torch_refuses_at_construction_we_refuse_too(kw):
    with pytest.raises(ValueError):
        torch.optim.Muon(make(torch.float64), **kw)
    with pytest.raises(ValueError):
        optim.torch.Muon(make(torch.float64), **kw)


# ---------------------------------------------------------------- drop-in
def test_signature_and_defaults_are_torchs_plus_maximize():
    theirs = inspect.signature(torch.optim.Muon.__init__).parameters
    ours = inspect.signature(optim.torch.Muon.__init__).parameters
    assert list(ours)[:len(theirs)] == list(theirs) and list(ours)[len(theirs):] == ["maximize"]
    for name in list(theirs)[2:]:
        assert ours[name].default == theirs[name].default, name
    a, b = optim.torch.Muon(make(torch.float64)), torch.optim.Muon(make(torch.float64))
    assert {k: v for k, v in a.defaults.items() if k != "maximize"} == b.defaults


def test_state_dict_loads_across_the_twins_and_continues_identically():
    straight = make(torch.float64)
    a = optim.torch.Muon(straight, lr=0.02)
    run(a, straight, steps=20)
    with no_bf16():
        theirs = make(torch.float64)
        b = torch.optim.Muon(theirs, lr=0.02)
        run(b, theirs, steps=10)
        ours = [p.detach().clone().requires_grad_() for p in theirs]
        c = optim.torch.Muon(ours, lr=0.02)
        c.load_state_dict(b.state_dict())
        run(c, ours, steps=10, start=10)
    for p, q in zip(ours, straight):
        assert rel(p.detach(), q.detach()) < 1e-12
    again = torch.optim.Muon(make(torch.float64), lr=0.02)
    again.load_state_dict(c.state_dict())          # and back: torch's keys
    assert set(again.state_dict()["state"][0]) == {"momentum_buffer"}


def test_none_gradient_skips_the_parameter_closure_and_maximize():
    ws = make(torch.float64)
    opt = optim.torch.Muon(ws, lr=0.02)
    set_grads(ws, 0)
    ws[1].grad = None
    before = ws[1].detach().clone()
    calls = []
    loss = opt.step(lambda: calls.append(1) or torch.tensor(3.0))
    assert loss.item() == 3.0 and calls == [1]
    assert torch.equal(ws[1].detach(), before) and ws[1] not in opt.state
    up, down = make(torch.float64), make(torch.float64)
    run(optim.torch.Muon(up, lr=0.02, maximize=True), up, steps=20, sign=-1.0)
    run(optim.torch.Muon(down, lr=0.02), down, steps=20)
    for p, q in zip(up, down):
        assert rel(p.detach(), q.detach()) < 1e-13


def test_two_optimizers_muon_for_hidden_matrices_adamw_for_the_rest_train_an_mlp():
    """The usage the error message recommends, on a tiny MLP: both step, the loss falls."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 3))
    hidden = [model[2].weight]
    others = [p for p in model.parameters() if all(p is not q for q in hidden)]
    opts = [optim.torch.Muon(hidden, lr=0.02), optim.torch.AdamW(others, lr=3e-3)]
    X, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        for o in opts:
            o.zero_grad()
        loss.backward()
        for o in opts:
            o.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ---------------------------------------------------------------- the generic drop-in checks, on matrices
# (tests/test_torch_face.py and tests/test_torch_dropin.py train a bias too, which Muon refuses)
@pytest.mark.parametrize("key", ["lr", "weight_decay", "momentum", "eps", "ns_steps"])
@pytest.mark.parametrize("value", ["1e-3", None, b"0.1", [0.1, "x"], 1j], ids=repr)
def test_a_hyperparameter_that_is_not_a_number_is_refused_in_both_faces(key, value):
    for build in (lambda: optim.Muon(**{key: value}), lambda: optim.torch.Muon(make(torch.float64), **{key: value})):
        with pytest.raises(ValueError) as info:
            build()
        assert isinstance(info.value, TypeError) or key == "ns_steps", repr(info.value)
        assert f"Invalid {key}: {value!r}" in str(info.value)


@pytest.mark.parametrize("key", ["nesterov", "maximize"])
@pytest.mark.parametrize("value", ["False", None, 2], ids=repr)
def test_a_switch_that_is_not_a_bool_is_refused(key, value):
    for build in (lambda: optim.Muon(**{key: value}), lambda: optim.torch.Muon(make(torch.float64), **{key: value})):
        with pytest.raises(ValueError, match=f"Invalid {key}"):
            build()


def test_each_param_group_uses_its_own_lr_and_a_scheduler_drives_it_as_torchs():
    ours, theirs = make(torch.float64), make(torch.float64)
    a = optim.torch.Muon([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.05}], lr=0.02)
    b = torch.optim.Muon([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.05}], lr=0.02)
    sa, sb = torch.optim.lr_scheduler.StepLR(a, 5, 0.5), torch.optim.lr_scheduler.StepLR(b, 5, 0.5)
    with no_bf16():
        for step in range(20):
            set_grads(ours, step)
            set_grads(theirs, step)
            a.step(), b.step(), sa.step(), sb.step()
    for p, q in zip(ours, theirs):
        assert rel(p.detach(), q.detach()) < 1e-12
    assert [g["lr"] for g in a.param_groups] == [g["lr"] for g in b.param_groups]


def test_state_dict_round_trip_continues_bitwise_and_gradients_are_never_touched():
    straight = make(torch.float64)
    opt = optim.torch.Muon(straight, lr=0.02, nesterov=True, maximize=True)
    run(opt, straight, steps=10)
    saved = copy.deepcopy(opt.state_dict())
    resumed = [p.detach().clone().requires_grad_() for p in straight]
    other = optim.torch.Muon(resumed, lr=0.02, nesterov=True, maximize=True)
    other.load_state_dict(saved)
    for step in range(10, 20):
        set_grads(straight, step)
        set_grads(resumed, step)
        grads = [p.grad.clone() for p in resumed]
        opt.step()
        other.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(resumed, grads))
    for p, q in zip(straight, resumed):
        assert torch.equal(p, q)
