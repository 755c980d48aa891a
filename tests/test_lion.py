"""Lion against its oracles: ``lion_pytorch.Lion`` (lucidrains, 0.2.5) and ``pytorch_optimizer.Lion``.

The scenario of tests/test_parity.py: 4 parameters (a scalar among them) in two param groups
with different learning rates, a parameter without gradient every 7th step, 210 noisy steps;
parameters and the state (``exp_avg``) must agree to 1e-10 (float64) and 1e-5 (float32),
relative, over a grid of every option. Neither oracle has ``maximize``: they are fed the negated
gradient instead. Then: the documented differences, the two faces against each other, and the
identities the chapter states (the update's RMS is α; Adam with β₁ = β₂ = ε = 0 is sign descent).
"""

import lion_pytorch
import numpy as np
import pytest
import pytorch_optimizer
import torch

import optim
import optim.torch
from torch_checks import grid, noise_table, rel

STEPS = 210
SHAPES = [(), (3,), (2, 3), (4, 1, 2)]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


CONFIGS = grid(lr=[1e-2, 3e-4], betas=[(0.9, 0.99), (0.95, 0.98), (0.0, 0.5), (0.9, 0.0)],
               weight_decay=[0.0, 1.0], maximize=[False, True])


NOISE = noise_table(SHAPES, STEPS)


def run(factory, config, dtype, negate=False):
    """Standard scenario; ``negate`` feeds −g (the oracle's stand-in for ``maximize``)."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in SHAPES]
    opt = factory([{"params": params[:2]}, {"params": params[2:], "lr": config["lr"] / 2}], **config)
    for step in range(STEPS):
        for i, p in enumerate(params):
            w = p.detach()
            g = w + 3 * torch.cos(3 * w) + NOISE[step][i].to(dtype)
            if config.get("maximize"):
                g = -g                                   # the problem maximized is −f
            if negate:
                g = -g
            p.grad = None if (i == 1 and step % 7 == 3) else g
        opt.step()
    return params, opt


def max_rel_difference(ours, theirs, key="exp_avg", state_floor=1e-300):
    """Max relative difference of parameters and state. ``state_floor``: the smallest scale the state's
    difference is measured against (pytorch_optimizer's lerp rounds m differently, and a scalar m that
    ends near 0 would otherwise turn one ulp of the O(1) gradients into a large relative number)."""
    (pa, oa), (pb, ob) = ours, theirs
    worst = 0.0
    for a, b in zip(pa, pb):
        worst = max(worst, rel(a.detach(), b.detach()), rel(oa.state[a][key], ob.state[b][key], state_floor))
        assert set(oa.state[a]) == {"exp_avg"}
    return worst


def lucidrains(params, maximize=False, **config):
    return lion_pytorch.Lion(params, **config)


def pytorch_optimizer_lion(params, maximize=False, **config):
    return pytorch_optimizer.Lion(params, foreach=False, **config)


def case_id(config):
    return ",".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("oracle", [lucidrains, pytorch_optimizer_lion], ids=["lion_pytorch", "pytorch_optimizer"])
@pytest.mark.parametrize("config", CONFIGS, ids=case_id)
def test_torch_face_matches_the_oracles(config, oracle, dtype):
    ours = run(optim.torch.Lion, config, dtype)
    theirs = run(oracle, config, dtype, negate=config["maximize"])
    # lion_pytorch computes m as we do (mul_, add_): bitwise. pytorch_optimizer lerps: the state is
    # compared on the gradients' scale (1), since m itself may end near 0.
    err = max_rel_difference(ours, theirs, state_floor=1.0 if oracle is pytorch_optimizer_lion else 1e-300)
    assert err <= TOL[dtype], f"relative difference {err:.3g}"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_lion_pytorch_is_matched_bit_for_bit(dtype):
    """The same operations in the same order (w·(1 − αλ); sign(β₁m + (1−β₁)g); m·β₂ + (1−β₂)g): identical
    bits, measured over the whole grid when written (the chapter and the docstring say so)."""
    config = dict(lr=1e-2, betas=(0.95, 0.98), weight_decay=1.0, maximize=True)
    ours = run(optim.torch.Lion, config, dtype)
    theirs = run(lucidrains, config, dtype, negate=True)
    assert max_rel_difference(ours, theirs) == 0.0


def test_the_comparison_is_not_trivial():
    """Counter-check: swapping β₁ and β₂ in the oracle is far outside the tolerance."""
    config = dict(lr=1e-2, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    ours = run(optim.torch.Lion, config, torch.float64)
    swapped = run(lucidrains, {**config, "betas": (0.99, 0.9)}, torch.float64)
    assert max_rel_difference(ours, swapped) > 1e-3


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_lucidrains_decoupled_weight_decay_is_weight_decay_over_lr_here(dtype):
    """lion_pytorch's decoupled_weight_decay=True divides λ by the constructor's lr: with a constant lr
    (one group), weight_decay = λ/lr here is the same run (up to the rounding of λ/lr·lr)."""
    lr, wd = 1e-2, 0.05
    ours = run(lambda ps, **c: optim.torch.Lion(ps[0]["params"] + ps[1]["params"], lr=lr, weight_decay=wd / lr),
               dict(lr=lr), dtype)
    theirs = run(lambda ps, **c: lion_pytorch.Lion(ps[0]["params"] + ps[1]["params"], lr=lr, weight_decay=wd,
                                                   decoupled_weight_decay=True), dict(lr=lr), dtype)
    assert max_rel_difference(ours, theirs) <= (1e-12 if dtype == torch.float64 else 1e-5)


def test_defaults_are_lion_pytorchs_and_the_authors():
    import inspect
    theirs = inspect.signature(lion_pytorch.Lion).parameters
    ours = inspect.signature(optim.torch.Lion).parameters
    for key in ("lr", "betas", "weight_decay"):
        assert ours[key].default == theirs[key].default
    assert list(ours)[:4] == list(theirs)[:4] == ["params", "lr", "betas", "weight_decay"]
    assert optim.Lion.defaults == dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    po = inspect.signature(pytorch_optimizer.Lion).parameters
    assert (po["lr"].default, po["betas"].default, po["weight_decay"].default) == (1e-4, (0.9, 0.99), 0.0)


@pytest.mark.parametrize("lr_dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_a_tensor_lr_gives_lion_pytorchs_numbers(lr_dtype):
    """A 1-element tensor lr (as torch.optim accepts): the decay factor and the step are then computed
    in the tensor's dtype, by both, so a float32 lr gives the same (float32-rounded) numbers as lion_pytorch."""
    config = dict(lr=1e-2, betas=(0.9, 0.99), weight_decay=1.0)

    def build(cls):
        return lambda groups, **c: cls(groups[0]["params"] + groups[1]["params"],
                                       **{**c, "lr": torch.tensor(c["lr"], dtype=lr_dtype)})
    ours = run(build(optim.torch.Lion), config, torch.float64)
    theirs = run(build(lion_pytorch.Lion), config, torch.float64)
    assert max_rel_difference(ours, theirs) <= 1e-15


def test_the_gradient_is_never_touched():
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([0.5, 0.25], dtype=torch.float64)
    p.grad = g.clone()
    optim.torch.Lion([p], lr=0.1, weight_decay=0.1, maximize=True).step()
    assert torch.equal(p.grad, g)


# ---------------------------------------------------------------- the two faces
@pytest.mark.parametrize("config", CONFIGS, ids=case_id)
def test_numpy_face_matches_torch_face(config):
    w0 = np.random.default_rng(1).normal(size=(3, 4))
    noise = np.random.default_rng(2).normal(scale=0.5, size=(STEPS, 3, 4))
    opt = optim.Lion(**config)
    w, state = w0, opt.init(w0)
    p = torch.tensor(w0, requires_grad=True)
    topt = optim.torch.Lion([p], **config)
    for step in range(STEPS):
        g = w + 3 * np.cos(3 * w) + noise[step]
        w, state = opt.step(w, g, state)
        tw = p.detach().numpy()
        p.grad = torch.tensor(tw + 3 * np.cos(3 * tw) + noise[step])
        topt.step()
    np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state.m, topt.state[p]["exp_avg"].numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- what the chapter states
def test_every_coordinate_moves_by_exactly_lr_so_the_update_rms_is_lr():
    rng = np.random.default_rng(0)
    w, g, m = rng.normal(size=(3, 1000)), rng.normal(size=(3, 1000)), rng.normal(size=(3, 1000))
    lr = np.array([[1e-3], [1e-2], [0.3]])
    opt = optim.Lion(lr=lr, betas=(0.9, 0.99))
    state = opt.init(w)
    state.m = m
    new, _ = opt.step(w, g, state)
    np.testing.assert_allclose(np.abs(new - w), np.broadcast_to(lr, w.shape), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.mean((new - w) ** 2, axis=-1)), lr[:, 0], rtol=1e-12)


def test_sign_of_zero_is_zero_no_step():
    opt = optim.Lion(lr=0.1)
    w = np.array([1.0, 2.0])
    new, state = opt.step(w, np.array([0.0, 1.0]), opt.init(w))
    np.testing.assert_array_equal(new, [1.0, 1.9])
    np.testing.assert_allclose(state.m, [0.0, 0.01])


def test_the_update_uses_the_old_memory_and_the_memory_uses_beta2():
    """c = β₁m + (1−β₁)g with the old m; then m ← β₂m + (1−β₂)g. Here the two orders disagree in sign."""
    opt = optim.Lion(lr=1.0, betas=(0.9, 0.5))
    state = opt.init(np.zeros(1))
    state.m = np.array([1.0])
    new, state = opt.step(np.zeros(1), np.array([-5.0]), state)
    assert new[0] == -1.0                                   # c = 0.9 − 0.5 = 0.4 > 0: a step down
    np.testing.assert_allclose(state.m, [0.5 * 1.0 + 0.5 * -5.0])   # with the new m (−2) c would be < 0


def test_weight_decay_shrinks_by_one_minus_lr_lambda_before_the_sign_step():
    opt = optim.Lion(lr=0.1, weight_decay=2.0)
    new, _ = opt.step(np.array([3.0]), np.array([1.0]), opt.init(np.zeros(1)))
    np.testing.assert_allclose(new, [3.0 * (1 - 0.2) - 0.1])


def test_lion_with_beta1_zero_is_adam_with_betas_zero_and_eps_zero():
    """Adam(β₁ = β₂ = 0, ε = 0): m̂ = g, √v̂ = |g|, so every step is α·sign(g); Lion(β₁ = 0) too (g ≠ 0)."""
    rng = np.random.default_rng(5)
    grads = rng.normal(size=(20, 7))
    lion, adam = optim.Lion(lr=0.01, betas=(0.0, 0.9)), optim.Adam(lr=0.01, betas=(0.0, 0.0), eps=0.0)
    wl = wa = np.zeros(7)
    sl, sa = lion.init(wl), adam.init(wa)
    for g in grads:
        wl, sl = lion.step(wl, g, sl)
        wa, sa = adam.step(wa, g, sa)
    np.testing.assert_allclose(wl, wa, rtol=1e-13, atol=1e-15)


def test_state_is_one_buffer_half_of_adams():
    w = np.zeros((10, 10))
    lion_state, adam_state = optim.Lion().init(w), optim.AdamW().init(w)
    lion_bytes = sum(a.nbytes for a in lion_state.fields().values() if isinstance(a, np.ndarray))
    adam_bytes = sum(a.nbytes for a in adam_state.fields().values() if isinstance(a, np.ndarray))
    assert lion_bytes == 8 * w.size and adam_bytes == 2 * lion_bytes
    p = torch.zeros(10, 10, requires_grad=True)
    p.grad = torch.ones(10, 10)
    opt = optim.torch.Lion([p])
    opt.step()
    assert {k: v.nbytes for k, v in opt.state[p].items()} == {"exp_avg": 4 * p.numel()}
    adamw = optim.torch.AdamW([p])
    adamw.step()
    assert {k: v.nbytes for k, v in adamw.state[p].items() if v.dim()} == \
        {"exp_avg": 4 * p.numel(), "exp_avg_sq": 4 * p.numel()}
