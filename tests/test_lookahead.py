"""Lookahead and Ranger: against pytorch-optimizer and torch.optim.RAdam, the paper's semantics, checkpoints, bad input.

References: ``pytorch_optimizer.Lookahead`` (``pullback_momentum='none'`` is the
paper's Algorithm 1) and ``pytorch_optimizer.Ranger``; Ranger's inner step is
``torch.optim.RAdam`` on centred gradients. float64, relative 1e-12.
"""
from __future__ import annotations

import copy
import io
import pickle
import re

import numpy as np
import pytest
import pytorch_optimizer
import torch

import optim
import optim.torch
from torch_checks import assert_close

STEPS = 200
SHAPES = [(3, 4), (5,)]
_gen = torch.Generator().manual_seed(11)
NOISE = [[0.5 * torch.randn(s, generator=_gen, dtype=torch.float64) for s in SHAPES] for _ in range(STEPS)]


def make_params(shapes=SHAPES, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]


def grad_of(w, step, i):
    """A noisy gradient of Σ ½w² + sin 3w: stays O(1), so relative errors measure the rule, not rounding."""
    noise = NOISE[step][i] if NOISE[step][i].shape == w.shape else next(n for n in NOISE[step] if n.shape == w.shape)
    return w + 3 * torch.cos(3 * w) + noise


def run(opt, params, steps, start=0):
    for step in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = grad_of(p.detach(), step, i)
        opt.step()
    return params



def checkpoint(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


# ================================================================ Lookahead
BASES = {
    "SGD+momentum": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                     lambda ps: optim.torch.SGD(ps, lr=0.05, momentum=0.9),
                     lambda: optim.SGD(lr=0.05, momentum=0.9)),
    "Adam": (lambda ps: torch.optim.Adam(ps, lr=0.02),
             lambda ps: optim.torch.Adam(ps, lr=0.02),
             lambda: optim.Adam(lr=0.02)),
}
KALPHAS = [(5, 0.5), (3, 0.8), (7, 0.2), (1, 0.3)]
PARITY = [(base, k, alpha) for base in BASES for k, alpha in KALPHAS]


@pytest.mark.parametrize("base,k,alpha", PARITY, ids=[f"{b}-k={k}-alpha={a}" for b, k, a in PARITY])
def test_lookahead_matches_pytorch_optimizer_params_and_slow_weights(base, k, alpha):
    """optim.torch.Lookahead == pytorch_optimizer.Lookahead(pullback_momentum='none'), around the same
    torch.optim base, in parameters, slow weights and the base's state, over 200 steps."""
    torch_base, _, _ = BASES[base]
    ours_p, theirs_p = make_params(), make_params()
    ours_opt = optim.torch.Lookahead(torch_base(ours_p), k=k, alpha=alpha)
    run(ours_opt, ours_p, STEPS)
    theirs_opt = pytorch_optimizer.Lookahead(torch_base(theirs_p), k=k, alpha=alpha, pullback_momentum="none")
    run(theirs_opt, theirs_p, STEPS)
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach(), b.detach(), f"param {i}")
        assert_close(ours_opt.state[a]["slow_param"], theirs_opt.state[b]["slow_params"], f"slow weights {i}")
        for key, value in theirs_opt.optimizer.state[b].items():
            assert_close(ours_opt.base_optimizer.state[a][key], value, f"base state {key!r} of param {i}")


@pytest.mark.parametrize("base", list(BASES))
def test_lookahead_leaves_a_param_without_grad_alone_at_a_sync_like_pytorch_optimizer(base):
    """The bias has no gradient at steps 5 and 10, both syncs (k = 5): it is neither stepped nor synced
    there (as torch.optim skips it, and as pytorch-optimizer's Lookahead does); its slow weights wait
    for the next sync at which it has a gradient."""
    torch_base, _, _ = BASES[base]
    k, alpha, steps = 5, 0.5, 23

    def go(opt, params):
        for step in range(steps):
            for i, p in enumerate(params):
                p.grad = None if (i == 1 and (step + 1) in (5, 10)) else grad_of(p.detach(), step, i)
            bias, slow = params[1].detach().clone(), opt.state[params[1]]
            slow = (slow.get("slow_param", slow.get("slow_params"))).clone()
            opt.step()
            if (step + 1) in (5, 10):
                assert torch.equal(params[1].detach(), bias), f"step {step + 1}: the bias moved"
                now = opt.state[params[1]]
                assert torch.equal(now.get("slow_param", now.get("slow_params")), slow), "its slow weights moved"
        return params

    ours_p, theirs_p = make_params(), make_params()
    ours = optim.torch.Lookahead(torch_base(ours_p), k=k, alpha=alpha)
    theirs = pytorch_optimizer.Lookahead(torch_base(theirs_p), k=k, alpha=alpha, pullback_momentum="none")
    go(theirs, theirs_p)
    go(ours, ours_p)
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach(), b.detach(), f"param {i}")
        assert_close(ours.state[a]["slow_param"], theirs.state[b]["slow_params"], f"slow weights {i}")


@pytest.mark.parametrize("base", list(BASES))
def test_lookahead_slow_weights_start_at_initial_weights_and_sync_at_multiples_of_k(base):
    """Step by step against the definition: the base steps; at t = k, 2k, … φ ← φ + α(θ − φ), θ ← φ."""
    k, alpha = 4, 0.3
    _, _, numpy_base = BASES[base]
    w0 = make_params()[0].detach().numpy()
    la, ref = optim.Lookahead(numpy_base(), k=k, alpha=alpha), numpy_base()
    state = la.init(w0)
    assert np.array_equal(state.slow, w0) and state.slow is not w0 and state.t == 0
    params, syncs = w0, []
    for step in range(3 * k + 1):
        g = grad_of(torch.from_numpy(params), step, 0).numpy()
        fast, base_state = ref.step(params, g, state.base)                # what the base alone does
        slow_before = state.slow
        params, state = la.step(params, g, state)
        assert state.t == step + 1
        assert state.base == base_state, "the base's state is the base's own"
        if (step + 1) % k == 0:
            syncs.append(step + 1)
            expected = slow_before + alpha * (fast - slow_before)
            np.testing.assert_allclose(state.slow, expected, rtol=1e-15, atol=1e-15)
            assert np.array_equal(params, state.slow), "after a sync the fast weights are the slow weights"
        else:
            assert state.slow is slow_before or np.array_equal(state.slow, slow_before)
            assert np.array_equal(params, fast), "between syncs Lookahead is the base optimizer"
    assert syncs == [k, 2 * k, 3 * k]


def test_lookahead_torch_face_slow_weights_are_a_copy_and_sync_at_multiples_of_k():
    k, alpha = 3, 0.5
    params = make_params()
    initial = [p.detach().clone() for p in params]
    opt = optim.torch.Lookahead(torch.optim.SGD(params, lr=0.1), k=k, alpha=alpha)
    for p, w in zip(params, initial):
        slow = opt.state[p]["slow_param"]
        assert torch.equal(slow, w) and slow.data_ptr() != p.data_ptr()
    for step in range(2 * k):
        slow_before = [opt.state[p]["slow_param"].clone() for p in params]
        run(opt, params, 1, start=step)
        for p, before in zip(params, slow_before):
            if (step + 1) % k:
                assert torch.equal(opt.state[p]["slow_param"], before), f"slow weights moved at step {step + 1}"
                assert not torch.equal(p.detach(), opt.state[p]["slow_param"])
            else:
                assert not torch.equal(opt.state[p]["slow_param"], before), f"no sync at step {step + 1}"
                assert torch.equal(p.detach(), opt.state[p]["slow_param"]), "after a sync fast == slow"


@pytest.mark.parametrize("base", list(BASES))
def test_lookahead_with_alpha_one_is_the_base_optimizer(base):
    torch_base, _, numpy_base = BASES[base]
    plain, wrapped = make_params(), make_params()
    run(torch_base(plain), plain, 50)
    run(optim.torch.Lookahead(torch_base(wrapped), k=3, alpha=1.0), wrapped, 50)
    for a, b in zip(wrapped, plain):
        assert torch.equal(a.detach(), b.detach())
    w0 = make_params()[0].detach().numpy()
    ours, ref = optim.Lookahead(numpy_base(), k=3, alpha=1.0), numpy_base()
    s1, s2, p1, p2 = ours.init(w0), ref.init(w0), w0, w0
    for step in range(50):
        g = grad_of(torch.from_numpy(p1), step, 0).numpy()
        (p1, s1), (p2, s2) = ours.step(p1, g, s1), ref.step(p2, g, s2)
    np.testing.assert_allclose(p1, p2, rtol=1e-13)
    # while alpha just below 1 is measurably not the base optimizer
    near = optim.Lookahead(numpy_base(), k=3, alpha=0.99)
    p3, s3 = w0, near.init(w0)
    for step in range(50):
        p3, s3 = near.step(p3, grad_of(torch.from_numpy(p3), step, 0).numpy(), s3)
    assert not np.allclose(p3, p2, rtol=1e-6)


@pytest.mark.parametrize("base", list(BASES))
def test_lookahead_numpy_face_equals_torch_face(base):
    _, torch_face_base, numpy_base = BASES[base]
    k, alpha = 5, 0.4
    w0 = make_params()[0].detach().numpy()
    opt = optim.Lookahead(numpy_base(), k=k, alpha=alpha)
    params, state = w0, opt.init(w0)
    w = torch.tensor(w0, requires_grad=True)
    topt = optim.torch.Lookahead(torch_face_base([w]), k=k, alpha=alpha)
    for step in range(STEPS):
        g = grad_of(torch.from_numpy(params), step, 0).numpy()
        params, state = opt.step(params, g, state)
        w.grad = torch.from_numpy(grad_of(w.detach(), step, 0).numpy())
        topt.step()
    assert_close(params, w.detach(), "params")
    assert_close(state.slow, topt.state[w]["slow_param"], "slow weights")


def test_lookahead_numpy_face_sweeps_alpha_in_one_batched_call():
    """alpha as an array broadcasting over leading run dimensions = one run per alpha."""
    alphas = np.array([[0.2], [0.5], [1.0]])
    w0 = np.tile(make_params()[1].detach().numpy(), (3, 1))
    batched = optim.Lookahead(optim.Adam(lr=0.02), k=3, alpha=alphas)
    p, s = w0, batched.init(w0)
    singles = [optim.Lookahead(optim.Adam(lr=0.02), k=3, alpha=float(a)) for a in alphas[:, 0]]
    runs = [(w0[i], opt.init(w0[i])) for i, opt in enumerate(singles)]
    for step in range(20):
        noise = NOISE[step][1].numpy()
        p, s = batched.step(p, p + 3 * np.cos(3 * p) + noise, s)
        runs = [opt.step(w, w + 3 * np.cos(3 * w) + noise, st) for opt, (w, st) in zip(singles, runs)]
    for i, (w, _) in enumerate(runs):
        np.testing.assert_allclose(p[i], w, rtol=1e-14)
    assert not np.allclose(p[0], p[1])


# ---------------------------------------------------------------- checkpoints
K_CKPT, N_CKPT, M_CKPT = 4, 6, 7     # syncs at 4 (before the restore), 8 and 12 (after)


def lookahead_factory(params):
    return optim.torch.Lookahead(optim.torch.Adam(params, lr=0.02), k=K_CKPT, alpha=0.5)


def restored_run(save, tamper=lambda sd, params: sd):
    params = make_params()
    opt = lookahead_factory(params)
    run(opt, params, N_CKPT)
    saved = save({"params": [p.detach().clone() for p in params], "opt": opt.state_dict()})
    run(opt, params, 3)                                   # the old run goes on, past another sync
    fresh = make_params(seed=42)
    with torch.no_grad():
        for p, value in zip(fresh, saved["params"]):
            p.copy_(value)
    opt = lookahead_factory(fresh)
    opt.load_state_dict(tamper(saved["opt"], fresh))
    return run(opt, fresh, M_CKPT, start=N_CKPT)


@pytest.mark.parametrize("save", [checkpoint, copy.deepcopy], ids=["torch.save", "deepcopy"])
def test_lookahead_state_dict_round_trip_is_bitwise_an_uninterrupted_run(save):
    straight = make_params()
    run(lookahead_factory(straight), straight, N_CKPT + M_CKPT)
    for a, b in zip(restored_run(save), straight):
        assert torch.equal(a.detach(), b.detach())


def test_lookahead_state_dict_carries_the_slow_weights_and_the_step_count():
    """Losing the slow weights (or the count of fast steps) changes the continued run."""
    straight = make_params()
    run(lookahead_factory(straight), straight, N_CKPT + M_CKPT)

    def without_slow(sd, params):       # as if slow weights were re-created from the current weights
        state = {i: {**s, "slow_param": p.detach().clone()} for (i, s), p in zip(sd["state"].items(), params)}
        return {**sd, "state": state}

    def without_count(sd, params):
        return {**sd, "param_groups": [{**g, "lookahead_step": 0} for g in sd["param_groups"]]}

    for tamper in (without_slow, without_count):
        restored = restored_run(checkpoint, tamper)
        assert not all(torch.equal(a.detach(), b.detach()) for a, b in zip(restored, straight)), tamper.__name__


def test_lookahead_load_state_dict_refuses_a_mismatched_state():
    params = make_params()
    sd = lookahead_factory(params).state_dict()
    opt = lookahead_factory(params[:1])
    with pytest.raises(ValueError, match="2 parameters for 1"):
        opt.load_state_dict(sd)


def test_lookahead_numpy_state_pickles_and_continues_bitwise():
    opt = optim.Lookahead(optim.Adam(lr=0.02), k=K_CKPT, alpha=0.5)
    w0 = make_params()[0].detach().numpy()

    def go(params, state, start, steps):
        for step in range(start, start + steps):
            params, state = opt.step(params, grad_of(torch.from_numpy(params), step, 0).numpy(), state)
        return params, state

    straight, _ = go(w0, opt.init(w0), 0, N_CKPT + M_CKPT)
    params, state = go(w0, opt.init(w0), 0, N_CKPT)
    params, state = pickle.loads(pickle.dumps((params, state)))
    restored, _ = go(params, state, N_CKPT, M_CKPT)
    assert np.array_equal(restored, straight)


# ---------------------------------------------------------------- bad input
BAD = [("k", 0), ("k", 2.5), ("k", -1), ("alpha", 0), ("alpha", 1.5), ("alpha", -0.1)]


def check_message(err: ValueError, name, value):
    msg = str(err)
    assert re.search(rf"\b{name}\b", msg) and str(value) in msg, msg
    assert ("<=" in msg or ">=" in msg or "<" in msg), f"{msg!r} does not state the allowed range"


@pytest.mark.parametrize("face", ["numpy", "torch", "numpy Ranger", "torch Ranger"])
@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_bad_k_or_alpha_raises_valueerror_naming_parameter_value_and_range(face, name, value):
    kw = {"k": 5, "alpha": 0.5, name: value}
    build = {
        "numpy": lambda: optim.Lookahead(optim.SGD(lr=0.1), **kw),
        "torch": lambda: optim.torch.Lookahead(torch.optim.SGD(make_params(), lr=0.1), **kw),
        "numpy Ranger": lambda: optim.Ranger(**kw),
        "torch Ranger": lambda: optim.torch.Ranger(make_params(), **kw),
    }[face]
    with pytest.raises(ValueError) as info:
        build()
    check_message(info.value, name, value)
    if name == "k":
        assert "integer" in str(info.value) and ">= 1" in str(info.value)
    else:
        assert "0.0 < alpha <= 1.0" in str(info.value)


# ================================================================ Ranger
RANGER_DEFAULTS = dict(lr=1e-3, betas=(0.95, 0.999), eps=1e-5, weight_decay=0.0, k=6, alpha=0.5,
                       use_gc=True, gc_conv_only=False)


@pytest.mark.parametrize("face", [optim.Ranger, optim.torch.Ranger], ids=["numpy", "torch"])
def test_ranger_defaults_are_less_wrights(face):
    import inspect
    params = inspect.signature(face).parameters
    assert {k: p.default for k, p in params.items() if k != "params"} == RANGER_DEFAULTS
    opt = face(make_params()) if face is optim.torch.Ranger else face()
    assert (opt.k, opt.alpha) == (6, 0.5)
    hyper = opt.param_groups[0] if face is optim.torch.Ranger else opt.hyper
    for key in ("lr", "betas", "eps", "weight_decay", "use_gc", "gc_conv_only"):
        assert hyper[key] == RANGER_DEFAULTS[key], key
    assert hyper["decoupled_weight_decay"] is True


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_ranger_inner_step_is_torch_radam_on_a_vector(weight_decay):
    """With alpha = 1 (every sync is a no-op) Ranger on a 1-D parameter is torch.optim.RAdam with
    betas (0.95, 0.999), eps 1e-5, decoupled weight decay; with the default alpha it is
    Lookahead around that RAdam."""
    radam = dict(lr=0.01, betas=(0.95, 0.999), eps=1e-5, weight_decay=weight_decay, decoupled_weight_decay=True)
    for alpha in (1.0, 0.5):
        ours, theirs = make_params([(5,)]), make_params([(5,)])
        run(optim.torch.Ranger(ours, lr=0.01, weight_decay=weight_decay, alpha=alpha), ours, STEPS)
        ref = torch.optim.RAdam(theirs, **radam)
        run(ref if alpha == 1 else optim.torch.Lookahead(ref, k=6, alpha=alpha), theirs, STEPS)
        assert_close(ours[0].detach(), theirs[0].detach(), f"alpha={alpha}")


GC_CASES = [  # shape, use_gc, gc_conv_only, centred over all axes but the first?
    ((5,), True, False, False),
    ((3, 4), True, False, True),
    ((2, 3, 4), True, False, True),
    ((2, 3, 2, 2), True, False, True),
    ((3, 4), False, False, False),
    ((3, 4), True, True, False),
    ((2, 3, 4), True, True, False),
    ((2, 3, 2, 2), True, True, True),
]


@pytest.mark.parametrize("shape,use_gc,conv_only,centred", GC_CASES,
                         ids=[f"{s}-gc={u}-conv_only={c}" for s, u, c, _ in GC_CASES])
def test_ranger_gradient_centralization_centres_all_axes_but_the_first(shape, use_gc, conv_only, centred):
    """Ranger (alpha = 1) equals torch.optim.RAdam fed g − mean(g over axes 1…) when centred, raw g otherwise."""
    gen = torch.Generator().manual_seed(3)
    w0 = torch.randn(shape, generator=gen, dtype=torch.float64)
    grads = [torch.randn(shape, generator=gen, dtype=torch.float64) + 2.0 for _ in range(30)]
    ours, theirs = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    opt = optim.torch.Ranger([ours], lr=0.01, alpha=1.0, use_gc=use_gc, gc_conv_only=conv_only)
    ref = torch.optim.RAdam([theirs], lr=0.01, betas=(0.95, 0.999), eps=1e-5)
    for g in grads:
        ours.grad = g.clone()
        opt.step()
        theirs.grad = g - g.mean(dim=tuple(range(1, g.dim())), keepdim=True) if centred else g.clone()
        ref.step()
        assert torch.equal(ours.grad, g), "the gradient must not be centred in place"
    assert_close(ours.detach(), theirs.detach(), "params")


def test_ranger_numpy_face_equals_torch_face_for_vectors():
    """Each run of the NumPy face is a vector, which gradient centralization leaves alone: two runs
    batched in one (2, 5) array equal two vectors in the torch face (not one centred matrix)."""
    w0 = torch.randn(2, 5, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    opt = optim.Ranger(lr=0.01, weight_decay=0.01)
    params, state = w0.numpy(), opt.init(w0.numpy())
    vectors = [w0[i].clone().requires_grad_() for i in range(2)]
    topt = optim.torch.Ranger(vectors, lr=0.01, weight_decay=0.01)
    for step in range(STEPS):
        noise = NOISE[step][0].reshape(-1)[:10].reshape(2, 5).numpy()
        params, state = opt.step(params, params + 3 * np.cos(3 * params) + noise, state)
        for i, v in enumerate(vectors):
            v.grad = v.detach() + 3 * torch.cos(3 * v.detach()) + torch.from_numpy(noise[i])
        topt.step()
    for i, v in enumerate(vectors):
        assert_close(params[i], v.detach(), f"run {i}")
        assert_close(state.slow[i], topt.state[v]["slow_param"], f"slow weights {i}")
        assert_close(state.base.m[i], topt.base_optimizer.state[v]["exp_avg"], f"m {i}")


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_ranger_matches_pytorch_optimizer_ranger_as_less_wright_wrote_it(weight_decay):
    """optim.torch.Ranger == pytorch_optimizer.Ranger(degenerated_to_sgd=True), matrices and vectors.

    Where pytorch-optimizer 4.1's Ranger differs (deliberately not followed here):

    * ``degenerated_to_sgd`` defaults to False, and then the steps where ρ_t ≤ 5
      (t = 1…5 for β₂ = 0.999) use a step size of −lr/(1−β₁ᵗ) in an update
      ``p − step_size·m``: they move the weights *up* the gradient. Less Wright's Ranger
      (and torch.optim.RAdam) take the un-normalised momentum step ``p − lr·m̂`` there,
      which is ``degenerated_to_sgd=True``; see the next test;
    * it switches rectification on at ρ_t ≥ 5 (torch, the paper: ρ_t > 5) — equal in
      practice, ρ_t never lands on 5 exactly for the usual β₂;
    * it centres ``p.grad`` in place (ours leaves the caller's gradient alone);
    * one step count per param group (ours: per parameter, as torch.optim) — they
      differ only when some parameter has no gradient on some step.
    """
    ours, theirs = make_params(), make_params()
    run(optim.torch.Ranger(ours, lr=0.01, weight_decay=weight_decay), ours, STEPS)
    ref = pytorch_optimizer.Ranger(theirs, lr=0.01, weight_decay=weight_decay, degenerated_to_sgd=True)
    run(ref, theirs, STEPS)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.detach(), b.detach(), f"param {i}")


def test_pytorch_optimizer_ranger_default_moves_uphill_on_its_first_steps():
    """The documented difference: pytorch_optimizer.Ranger() (degenerated_to_sgd=False) takes its first
    step *along* the gradient, exactly opposite to ours (the momentum step −lr·m̂ = −lr·g at t = 1)."""
    w0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    g = torch.tensor([0.3, -0.1, 2.0], dtype=torch.float64)
    ours, theirs = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    ours.grad, theirs.grad = g.clone(), g.clone()
    optim.torch.Ranger([ours], lr=0.01).step()
    pytorch_optimizer.Ranger([theirs], lr=0.01).step()
    assert_close(ours.detach() - w0, -0.01 * g, "our first step", rtol=1e-14)
    assert_close(theirs.detach() - w0, +0.01 * g, "pytorch-optimizer's first step", rtol=1e-14)


def test_ranger_state_dict_round_trip_carries_inner_and_slow_state():
    """Checkpoint mid-window (step 7, k = 6): syncs at 6 before and 12 after the restore."""
    straight = make_params()
    run(optim.torch.Ranger(straight, lr=0.01), straight, 15)
    params = make_params()
    opt = optim.torch.Ranger(params, lr=0.01)
    run(opt, params, 7)
    saved = checkpoint(opt.state_dict())
    opt = optim.torch.Ranger(params, lr=0.01)
    opt.load_state_dict(saved)
    run(opt, params, 8, start=7)
    for a, b in zip(params, straight):
        assert torch.equal(a.detach(), b.detach())


# ---------------------------------------------------------------- the state dict's layout is torch's
def test_lookahead_state_dict_has_torchs_layout_slow_weights_in_state_k_alpha_in_the_groups():
    """Generic checkpoint tools see ``state`` and ``param_groups`` only: each parameter's state is the base's
    plus its slow weights, each group the base's plus lookahead_k, lookahead_alpha, lookahead_step."""
    params = make_params()
    opt = lookahead_factory(params)
    run(opt, params, N_CKPT)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    base = opt.base_optimizer.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in base["param_groups"]]
    for (i, state), p in zip(sd["state"].items(), params):
        assert set(state) == set(base["state"][i]) | {"slow_param"}
        assert torch.equal(state["slow_param"], opt.state[p]["slow_param"])
    for group in sd["param_groups"]:
        assert (group["lookahead_k"], group["lookahead_alpha"], group["lookahead_step"]) == (K_CKPT, 0.5, N_CKPT)
    # a generic tool: every tensor of the state moved to float32 and back, keyed as torch keys it
    moved = {"state": {i: {k: v.float().double() for k, v in s.items()} for i, s in sd["state"].items()},
             "param_groups": sd["param_groups"]}
    lookahead_factory(make_params()).load_state_dict(moved)
    # its base's part is the base optimizer's own state dict (whose live groups carry Lookahead's keys too)
    inner = optim.torch.Lookahead.base_state_dict(sd)
    assert inner["param_groups"] == [{k: v for k, v in g.items() if not k.startswith("lookahead_")}
                                     for g in base["param_groups"]]
    for i, s in base["state"].items():
        assert inner["state"][i].keys() == s.keys() and all(torch.equal(inner["state"][i][k], v) for k, v in s.items())


def test_lookahead_loads_a_state_dict_in_the_old_layout_and_continues_bitwise():
    """Checkpoints written before the torch layout (``base, k, alpha, fast_steps, slow_params``) still resume."""
    straight = make_params()
    run(lookahead_factory(straight), straight, N_CKPT + M_CKPT)
    params = make_params()
    opt = lookahead_factory(params)
    run(opt, params, N_CKPT)
    old = checkpoint({"base": opt.base_optimizer.state_dict(), "k": K_CKPT, "alpha": 0.5, "fast_steps": N_CKPT,
                      "slow_params": [opt.state[p]["slow_param"].clone() for p in params]})
    fresh = make_params(seed=42)
    with torch.no_grad():
        for p, q in zip(fresh, params):
            p.copy_(q)
    opt = lookahead_factory(fresh)
    opt.load_state_dict(old)
    run(opt, fresh, M_CKPT, start=N_CKPT)
    for a, b in zip(fresh, straight):
        assert torch.equal(a.detach(), b.detach())
    with pytest.raises(ValueError, match="2 slow weights for 1 parameters"):
        lookahead_factory(make_params()[:1]).load_state_dict({**old, "base": {
            "state": {}, "param_groups": [{**old["base"]["param_groups"][0], "params": [0]}]}})


def test_lookahead_refuses_its_base_optimizers_state_dict_saying_where_it_goes():
    params = make_params()
    opt = lookahead_factory(params)
    with pytest.raises(ValueError, match=r"no slow weights.*base_optimizer.load_state_dict"):
        opt.load_state_dict(opt.base_optimizer.state_dict())


def test_lookahead_k_and_alpha_are_per_group_like_any_hyperparameter():
    """A group with lookahead_alpha = 1 is its base optimizer alone; the other group is Lookahead."""
    plain, mixed = make_params(), make_params()
    run(torch.optim.Adam(plain, lr=0.02), plain, 20)
    opt = optim.torch.Lookahead(torch.optim.Adam([{"params": [mixed[0]], "lookahead_alpha": 1.0},
                                                  {"params": [mixed[1]]}], lr=0.02), k=3, alpha=0.5)
    assert [g["lookahead_alpha"] for g in opt.param_groups] == [1.0, 0.5]
    run(opt, mixed, 20)
    assert torch.equal(mixed[0].detach(), plain[0].detach())
    assert not torch.equal(mixed[1].detach(), plain[1].detach())
    opt.alpha = 0.8                                   # the attribute sets every group
    assert [g["lookahead_alpha"] for g in opt.param_groups] == [0.8, 0.8] and opt.alpha == 0.8


def test_lookahead_around_rmsprop_keeps_rmsprops_alpha_apart_from_its_own():
    ours_p, theirs_p = make_params(), make_params()
    run(optim.torch.Lookahead(optim.torch.RMSprop(ours_p, lr=0.01, alpha=0.9), k=4, alpha=0.5), ours_p, 40)
    run(pytorch_optimizer.Lookahead(torch.optim.RMSprop(theirs_p, lr=0.01, alpha=0.9), k=4, alpha=0.5,
                                    pullback_momentum="none"), theirs_p, 40)
    for a, b in zip(ours_p, theirs_p):
        assert_close(a.detach(), b.detach(), "Lookahead(RMSprop)")
